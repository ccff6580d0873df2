"""Datasets and feature files.

``FeatureSet`` is how feature files on disk meet the solvers (plain arrays);
``load_images`` gives uint8 image datasets (Fashion-MNIST, CIFAR archives, TFDS, a folder
of one's own images: ``load_folder``, ``read_image``, ``list_image_files``);
``load_shipped`` the feature files in data/ and ``raw_pixel_features`` a cheap baseline.
TFDS and Pillow are imported lazily, so this package imports without tensorflow_datasets
or Pillow (the folder names are loaded on first use).
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

_FOLDER_NAMES = (
    "ImageFolderError",
    "list_image_files",
    "load_folder",
    "read_image",
    "read_images",
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
    *_FOLDER_NAMES,
]


def __getattr__(name: str):
    """The folder loader's names, imported on first use (it needs Pillow)."""
    if name in _FOLDER_NAMES:
        from dptl.data import folder

        return getattr(folder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
