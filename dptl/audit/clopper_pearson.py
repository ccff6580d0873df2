"""Exact (Clopper-Pearson) confidence bounds for a binomial proportion.

With k successes in n independent trials of probability p, the Clopper-Pearson bounds are
quantiles of Beta distributions:

    lower(k, n, a) = Beta^{-1}(a; k, n - k + 1)        (0 when k = 0)
    upper(k, n, a) = Beta^{-1}(1 - a; k + 1, n - k)    (1 when k = n)

so that P(p >= lower) >= 1 - a and P(p <= upper) >= 1 - a for every p ("exact": never
below the nominal level, unlike the normal approximation). A two-sided interval at
confidence c puts a = (1 - c) / 2 in each tail; a one-sided bound puts all of 1 - c in
its tail. With k = 0 the one-sided upper bound is 1 - (1 - c)^(1/n) (about 3/n at 95%,
"the rule of three").
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from dptl import _validate

__all__ = ["SIDES", "clopper_pearson", "check_confidence"]

SIDES = ("two-sided", "lower", "upper")


def check_confidence(confidence, name: str = "confidence") -> float:
    """A confidence level strictly inside (0, 1)."""
    return _validate.check_open_unit(name, confidence)


def clopper_pearson(successes, trials, confidence: float = 0.95, *, side: str = "two-sided"):
    """(lower, upper) Clopper-Pearson bounds on p from ``successes`` out of ``trials``.

    ``side="lower"`` returns (lower at level ``confidence``, 1); ``"upper"`` returns
    (0, upper at level ``confidence``); ``"two-sided"`` splits 1 - confidence between both
    tails. Vectorised: ``successes`` may be an array of counts (floats out, same shape).
    """
    confidence = check_confidence(confidence)
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    n = _validate.check_positive_int("trials", trials)
    k = np.asarray(successes)
    if k.dtype == bool or not np.issubdtype(k.dtype, np.integer):
        raise TypeError(f"successes must be integer counts, got dtype {k.dtype}")
    if np.any(k < 0) or np.any(k > n):
        raise ValueError(f"successes must lie in [0, trials={n}], got {successes!r}")
    tail = (1 - confidence) / 2 if side == "two-sided" else 1 - confidence
    k = k.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(tail, np.maximum(k, 1), n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - tail, k + 1, np.maximum(n - k, 1)), 1.0)
    if side == "lower":
        hi = np.ones_like(hi)
    elif side == "upper":
        lo = np.zeros_like(lo)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi
