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
    offset: float = 0.0,
    spectrum_decay: float = 0.0,
    dtype=np.float32,
) -> FeatureSet:
    """K Gaussian clusters in d dimensions, optionally shaped like pretrained features.

    x = offset * u + R (m_y + z) with class means m_k ~ N(0, separation^2 s) and noise
    z ~ N(0, s), per-coordinate scales s_i = (d / i)^spectrum_decay / mean, a random rotation R
    and a fixed unit direction u. ``offset`` > 0 and ``spectrum_decay`` > 0 mimic real backbone
    features (a large common component, a fast-decaying spectrum); the defaults give isotropic
    clusters. ``separation`` sets how easy the problem is.
    """
    num_classes = _validate.check_num_classes(num_classes)
    rng = np.random.default_rng(seed)
    scale = (dim / np.arange(1, dim + 1)) ** (spectrum_decay / 2)
    scale /= np.sqrt(np.mean(scale**2))
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    means = separation * scale * rng.normal(size=(num_classes, dim))
    direction = rng.normal(size=dim)
    shift = offset * np.sqrt(dim) * direction / np.linalg.norm(direction)

    def draw(n):
        y = rng.integers(0, num_classes, n)
        x = shift + (means[y] + scale * rng.normal(size=(n, dim))) @ rotation.T
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
