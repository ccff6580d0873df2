"""Synthetic feature sets for tests, benchmarks and simulations (seeded, no download)."""

from __future__ import annotations

import numpy as np

from dptl import _validate
from dptl.data.features_file import FeatureSet

__all__ = ["gaussian_mixture_features"]


def gaussian_mixture_features(
    seed: int = 0,
    num_train: int = 6000,
    num_test: int = 1000,
    dim: int = 64,
    num_classes: int = 10,
    separation: float = 2.0,
    dtype=np.float32,
) -> FeatureSet:
    """K Gaussian clusters in d dimensions: means ~ N(0, separation^2/d I), unit noise.

    Non-negative features (like pooled ReLU outputs) are not needed by any solver, so the
    clusters are centred anywhere; ``separation`` sets how easy the problem is.
    """
    num_classes = _validate.check_num_classes(num_classes)
    rng = np.random.default_rng(seed)
    means = rng.normal(0, separation / np.sqrt(dim), (num_classes, dim)) * np.sqrt(dim)
    scale = 1.0

    def draw(n):
        y = rng.integers(0, num_classes, n)
        x = means[y] + scale * rng.normal(0, 1, (n, dim))
        return x.astype(dtype), y.astype(np.int32)

    x_tr, y_tr = draw(num_train)
    x_te, y_te = draw(num_test)
    return FeatureSet(
        x_tr,
        y_tr,
        x_te,
        y_te,
        class_names=tuple(f"class {k}" for k in range(num_classes)),
        metadata={
            "dataset": "synthetic gaussian mixture",
            "backbone": "none",
            "seed": seed,
            "separation": separation,
        },
    )
