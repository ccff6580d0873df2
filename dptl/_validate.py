"""Argument checks shared by every public function.

Each helper raises ``ValueError`` (or ``TypeError``) with a message that names the bad
argument and says what was expected, so a learner can fix the call without reading code.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_delta",
    "check_epsilon",
    "check_features",
    "check_fraction",
    "check_labels",
    "check_nonnegative",
    "check_num_classes",
    "check_open_unit",
    "check_positive",
    "check_positive_int",
    "check_public_num_classes",
    "check_bool",
]


def _as_float(name: str, value) -> float:
    # float() would happily turn "1e-5" and True into numbers; a typo should not pass.
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(out):
        raise ValueError(f"{name} must be a number, got NaN")
    return out


def check_positive(name: str, value, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float, requiring ``0 < value`` (and finite unless allowed)."""
    out = _as_float(name, value)
    if not out > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if math.isinf(out) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def check_nonnegative(name: str, value, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float, requiring ``value >= 0``."""
    out = _as_float(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if math.isinf(out) and not allow_inf:
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def check_epsilon(value, name: str = "epsilon", *, allow_inf: bool = True) -> float:
    """Privacy parameter epsilon: > 0; ``inf`` means no privacy (when allowed)."""
    return check_positive(name, value, allow_inf=allow_inf)


def check_open_unit(name: str, value) -> float:
    """A number strictly inside (0, 1) (delta, confidence levels, splits)."""
    out = _as_float(name, value)
    if not 0 < out < 1:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value!r}")
    return out


def check_delta(value, name: str = "delta") -> float:
    """Privacy parameter delta: strictly inside (0, 1)."""
    return check_open_unit(name, value)


def check_fraction(name: str, value, *, open_low: bool = True, open_high: bool = False) -> float:
    """A number in (0, 1] by default (sampling rates, budget shares)."""
    out = _as_float(name, value)
    low_ok = out > 0 if open_low else out >= 0
    high_ok = out < 1 if open_high else out <= 1
    if not (low_ok and high_ok):
        lo = "(0" if open_low else "[0"
        hi = "1)" if open_high else "1]"
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return out


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_steps(steps, learning_rate, grad_clip) -> tuple[int, float, float]:
    """(steps, learning_rate, grad_clip) of an iterative solver: an int >= 1 and two
    positive numbers, checked together."""
    return (
        check_positive_int("steps", steps),
        check_positive("learning_rate", learning_rate),
        check_positive("grad_clip", grad_clip),
    )


def check_features(x, name: str = "features", *, ndim: int = 2) -> np.ndarray | object:
    """A non-empty, finite, floating-point array of shape (n, d).

    Works on NumPy and JAX arrays alike (JAX arrays are checked on the host once; call this
    outside of ``jit``).
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        x = np.asarray(x)
        shape = x.shape
    if len(shape) != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions (examples, features), got shape {shape}"
        )
    if any(s == 0 for s in shape):
        raise ValueError(
            f"{name} is empty (shape {shape}); need at least one example and one feature"
        )
    dtype = np.dtype(x.dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"{name} must be floating point, got dtype {dtype}")
    if not bool(np.isfinite(np.asarray(x)).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def check_labels(y, num_classes: int | None, name: str = "labels", *, n: int | None = None):
    """Integer labels of shape (n,) with values in 0..num_classes-1."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of class indices, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but the features have {n} rows")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be integers (class indices), got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or (num_classes is not None and hi >= num_classes):
        bound = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise ValueError(f"{name} must be in {bound}, got values in {lo}..{hi}")
    return y


def check_num_classes(num_classes, name: str = "num_classes") -> int:
    """At least two classes."""
    return check_positive_int(name, num_classes, minimum=2)


def check_public_num_classes(num_classes, name: str = "num_classes") -> int:
    """The class count K, which a private solver must be given and never reads from labels.

    K sets the shape of every release (and DP-Newton's Hessian sensitivity sqrt(K) C^2 / 4),
    so inferring it from the private labels would let one added example with a new label
    change the output's shape and noise: a leak no accounting covers. K is public input.
    """
    if num_classes is None:
        raise ValueError(
            f"{name} is required: the class count is public input and is never read from the "
            "private labels (one added example with a new label would change the model's "
            f"shape). Pass {name}=K, e.g. {name}=features.num_classes for a FeatureSet"
        )
    return check_num_classes(num_classes, name)


def check_bool(name: str, value) -> bool:
    """A real boolean (``True``/``False``); strings such as "no" are not read as truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)
