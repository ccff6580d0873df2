"""The feature sets shipped in data/ and the comparison sets computed on the fly.

For the lesson "better pretraining helps", all on the same Fashion-MNIST images:

====================================  =========================================  ========
name                                  what                                       where
====================================  =========================================  ========
``efficientnet_lite0_112``            ImageNet EfficientNet-Lite0, 112 px, 320-d  data/
``efficientnet_lite0_32``             the same network at 32 px (less detail)     data/
``efficientnet_lite0_random_112``     the same architecture, random weights       data/
``raw_pixels``                        the 784 pixel values / 255                  computed
====================================  =========================================  ========

Every set holds all 60,000 training and 10,000 test images, in the dataset's order, so the
sets compare on the same rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dptl.data.features_file import FeatureSet

__all__ = [
    "SHIPPED",
    "COMPARISONS",
    "shipped_dir",
    "load_shipped",
    "raw_pixel_features",
    "load_comparison",
]

SHIPPED = {
    "efficientnet_lite0_112": "fashion_mnist_efficientnet_lite0_112.npz",
    "efficientnet_lite0_32": "fashion_mnist_efficientnet_lite0_32.npz",
    "efficientnet_lite0_random_112": "fashion_mnist_efficientnet_lite0_random_112.npz",
    "sklearn_digits_efficientnet_lite0_112": "sklearn_digits_efficientnet_lite0_112.npz",
}
COMPARISONS = (
    "raw_pixels",
    "efficientnet_lite0_random_112",
    "efficientnet_lite0_32",
    "efficientnet_lite0_112",
)


def shipped_dir() -> Path:
    """The data/ folder of the repository ($DPTL_SHIPPED_DIR overrides)."""
    return Path(os.environ.get("DPTL_SHIPPED_DIR", Path(__file__).resolve().parents[2] / "data"))


def load_shipped(name: str = "efficientnet_lite0_112") -> FeatureSet:
    """A shipped Fashion-MNIST feature set (checksum-verified); see data/README.md."""
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped feature set {name!r}; choose one of {sorted(SHIPPED)}")
    return FeatureSet.load(shipped_dir() / SHIPPED[name])


def raw_pixel_features(num_train: int | None = None, num_test: int | None = None) -> FeatureSet:
    """Fashion-MNIST pixels as features: 784-d float32 rows x/255, in the dataset order."""
    from dptl.data.fashion_mnist import load_fashion_mnist

    ds = load_fashion_mnist()
    flat = lambda x: (x.reshape(len(x), -1) / np.float32(255)).astype(np.float32)  # noqa: E731
    return FeatureSet(
        flat(ds.x_train[:num_train]),
        ds.y_train[:num_train],
        flat(ds.x_test[:num_test]),
        ds.y_test[:num_test],
        ds.class_names,
        {
            "dataset": "fashion_mnist",
            "backbone": "raw_pixels",
            "resolution": 28,
            "layer": "pixels",
            "preprocessing": "x / 255, flattened",
            "dim": 784,
        },
    )


def load_comparison(name: str) -> FeatureSet:
    """One of ``COMPARISONS``: all 60,000 training and 10,000 test images, the same rows in
    every set."""
    if name == "raw_pixels":
        return raw_pixel_features()
    if name not in COMPARISONS:
        raise ValueError(f"unknown comparison {name!r}; choose one of {list(COMPARISONS)}")
    return load_shipped(name)
