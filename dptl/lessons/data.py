"""The feature sets the lessons run on, and a fingerprint that ties caches to them.

Lessons use the shipped Fashion-MNIST features (data/, see data/README.md). When they are
missing (a fresh checkout before extraction, or a unit test), :func:`lesson_features` can
fall back to a seeded synthetic Gaussian mixture of the same shape, and says so loudly.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from dptl.data import FeatureSet
from dptl.data.shipped import SHIPPED, load_shipped, shipped_dir
from dptl.data.synthetic import gaussian_mixture_features

__all__ = ["DEFAULT_FEATURES", "fingerprint", "lesson_features", "shipped_available"]

DEFAULT_FEATURES = "efficientnet_lite0_112"


def shipped_available(name: str = DEFAULT_FEATURES) -> bool:
    """Whether the shipped feature file ``name`` is in data/."""
    return (shipped_dir() / SHIPPED[name]).exists()


@functools.lru_cache(maxsize=4)
def _load(name: str) -> FeatureSet:
    return load_shipped(name).astype(np.float32)


def lesson_features(
    name: str = DEFAULT_FEATURES,
    *,
    num_train: int | None = None,
    num_test: int | None = None,
    allow_synthetic: bool = True,
) -> FeatureSet:
    """The shipped features ``name`` (float32), optionally the first rows only.

    Files are stored in shuffled order, so the first rows are a uniform random subset.
    Without the file, ``allow_synthetic`` gives a 10-class synthetic stand-in (320-d,
    seed 0) with a warning; otherwise the loader's FileNotFoundError explains what to do.
    """
    if shipped_available(name):
        fs = _load(name)
    elif allow_synthetic:
        warnings.warn(
            f"shipped features {SHIPPED[name]!r} not found in {shipped_dir()}; using a synthetic "
            "Gaussian mixture instead (numbers will differ from the lesson text)",
            stacklevel=2,
        )
        fs = gaussian_mixture_features(0, 6000, 1000, 320, 10, separation=1.0)
    else:
        fs = _load(name)
    if num_train is None and num_test is None:
        return fs
    return fs.subset(num_train, num_test)


def fingerprint(fs: FeatureSet) -> str:
    """A short content hash of a feature set, recorded in caches computed from it."""
    return fs.checksum()[:16]
