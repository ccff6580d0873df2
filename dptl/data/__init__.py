"""Datasets and feature files.

``FeatureSet`` is how feature files on disk meet the solvers (plain arrays);
``load_images`` gives uint8 image datasets (Fashion-MNIST, CIFAR archives, TFDS);
``load_shipped`` the feature files in data/ and ``raw_pixel_features`` a cheap baseline.
TFDS is imported lazily, so this package imports without tensorflow_datasets.
"""

from dptl.data.features_file import FORMAT_NAME, FORMAT_VERSION, FeatureFileError, FeatureSet
from dptl.data.images import ImageDataset
from dptl.data.registry import DATASETS, load_images
from dptl.data.shipped import (
    COMPARISONS,
    SHIPPED,
    load_comparison,
    load_shipped,
    raw_pixel_features,
    shipped_dir,
)

__all__ = [
    "DATASETS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FeatureFileError",
    "FeatureSet",
    "ImageDataset",
    "load_images",
    "COMPARISONS",
    "SHIPPED",
    "load_comparison",
    "load_shipped",
    "raw_pixel_features",
    "shipped_dir",
]
