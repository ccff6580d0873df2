"""scikit-learn's bundled handwritten digits: a small, public tuning set (no download).

``sklearn.datasets.load_digits`` reads 1,797 8x8 grayscale digit images (the UCI "optical
recognition of handwritten digits" test set, 10 classes) from a file shipped inside the
scikit-learn wheel. Nothing in it comes from Fashion-MNIST or from any private or
evaluation set, so dptl tunes its solver defaults on features of these images.

Pixels: the bundled values are integers 0..16 (counts of set pixels in 4x4 blocks of the
original 32x32 bitmaps); they become uint8 by the exact integer map ``x * 255 // 16``
(0 -> 0, 8 -> 127, 16 -> 255), so the usual ``x / 255`` preprocessing applies.

Split: fixed, no shuffle. The first 1,437 rows in the bundled order are the training
split and the last 360 the test split (``SPLIT``); ``METADATA`` records this for the
feature file's provenance and comes with the loaded ``ImageDataset`` as its ``metadata``.
"""

from __future__ import annotations

import numpy as np

from dptl.data.images import ImageDataset

__all__ = ["CLASS_NAMES", "METADATA", "NUM_TRAIN", "SPLIT", "load_sklearn_digits"]

CLASS_NAMES = tuple(str(d) for d in range(10))
NUM_IMAGES = 1_797
NUM_TRAIN = 1_437  # the last 360 rows are the test split
SPLIT = {"train": (0, NUM_TRAIN), "test": (NUM_TRAIN, NUM_IMAGES)}  # [start, stop) rows
METADATA = {
    "source": "sklearn.datasets.load_digits (bundled with scikit-learn, no download)",
    "pixels": "integers 0..16 mapped to uint8 by x * 255 // 16 (exact)",
    "split": "bundled order, no shuffle: rows 0..1436 train (1,437), rows 1437..1796 test (360)",
}


def load_sklearn_digits() -> ImageDataset:
    """1,437 train + 360 test 8x8 uint8 images in the bundled order, labels 0..9.

    Needs scikit-learn (``pip install -e '.[data]'``); reads only files inside its wheel.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "the sklearn_digits dataset needs scikit-learn; install with: pip install -e '.[data]'"
        ) from None
    bunch = load_digits()
    images, labels = np.asarray(bunch.images), np.asarray(bunch.target)
    if images.shape != (NUM_IMAGES, 8, 8) or labels.shape != (NUM_IMAGES,):
        raise ValueError(
            f"sklearn load_digits returned images {images.shape} and labels {labels.shape}; "
            f"expected ({NUM_IMAGES}, 8, 8) and ({NUM_IMAGES},)"
        )
    pixels = images.astype(np.int64)
    if not (np.array_equal(pixels, images) and pixels.min() >= 0 and pixels.max() <= 16):
        raise ValueError("sklearn load_digits pixels are not integers in 0..16")
    x = (pixels * 255 // 16).astype(np.uint8)
    y = labels.astype(np.int32)
    return ImageDataset(
        "sklearn_digits",
        x[:NUM_TRAIN],
        y[:NUM_TRAIN],
        x[NUM_TRAIN:],
        y[NUM_TRAIN:],
        CLASS_NAMES,
        metadata=METADATA,
    )
