"""Datasets and feature files.

``FeatureSet`` is how feature files on disk meet the solvers (plain arrays).
"""

from dptl.data.features_file import FORMAT_NAME, FORMAT_VERSION, FeatureFileError, FeatureSet

__all__ = ["FeatureSet", "FeatureFileError", "FORMAT_NAME", "FORMAT_VERSION"]
