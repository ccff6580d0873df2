"""Input checks and data-independent preprocessing shared by the solvers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import clip_rows, normalize_rows

__all__ = [
    "PREPROCESSING",
    "center_features",
    "center_scales",
    "default_ridge",
    "prepare_inputs",
    "preprocess_features",
    "resolve_ridge",
]

PREPROCESSING = ("normalize", "clip")


def preprocess_features(
    x, feature_norm: float = 1.0, preprocess: str = "normalize", center=None
) -> jax.Array:
    """Per-example map to ||x|| <= feature_norm: "normalize" (= norm) or "clip" (<= norm),
    then, where a model has a ``center``, :func:`center_features`.

    Each row is transformed on its own, with no statistic of other rows, so this is not a
    release and costs no privacy (a ``center`` is a release of its own, accounted where it
    is made). Safe for every finite input: norms are computed after an exact power-of-two
    rescaling of each row, so no row overflows or underflows (see
    :func:`dptl.privacy.normalize_rows`); the result is float32.
    """
    if preprocess not in PREPROCESSING:
        raise ValueError(f"preprocess must be one of {PREPROCESSING}, got {preprocess!r}")
    xp = (
        normalize_rows(x, feature_norm) if preprocess == "normalize" else clip_rows(x, feature_norm)
    )
    return xp if center is None else center_features(xp, center, feature_norm)


def center_features(x, center, feature_norm: float = 1.0) -> jax.Array:
    """Rows x_i - c rescaled to norm ``feature_norm`` (a row equal to c becomes zero).

    ``c`` is a released noisy feature mean (DP-FC's :func:`dptl.solvers.fc.noisy_feature_mean`):
    given c the map is per example, so every later release keeps its sensitivity
    (||x_i'|| = C) and the composition accounts for c.
    """
    return normalize_rows(
        jnp.asarray(x, jnp.float32) - jnp.asarray(center, jnp.float32), feature_norm
    )


def center_scales(x, center, feature_norm: float = 1.0, rows=None) -> jax.Array:
    """The factors s_i = C / ||x_i - c|| with which the centred rows of
    :func:`center_features` are s_i (x_i - c), so a solver can keep x and work with (c, s).

    Zero where x_i = c, and where ``rows`` (a boolean mask over the rows) is False: padding
    rows (DP-FC's chunked layout) stay zero. Rows and centre are float32 features of norm at
    most about C and a released noisy mean, far from float32's range.
    """
    dist = jnp.linalg.norm(jnp.asarray(x, jnp.float32) - center, axis=-1)
    keep = dist > 0 if rows is None else (dist > 0) & rows
    return jnp.where(keep, feature_norm / jnp.where(keep, dist, 1.0), 0.0)


def prepare_inputs(x, y, num_classes, feature_norm, preprocess, *, x_name="x", y_name="y"):
    """Validate (x, y) and the public class count K; return (x preprocessed, y one-hot, K).

    ``x_name``/``y_name`` are the caller's argument names, used in error messages.
    """
    x = _validate.check_features(x, x_name)
    y_np = np.asarray(y)
    num_classes = _validate.check_public_num_classes(num_classes)
    _validate.check_labels(y_np, num_classes, y_name, n=x.shape[0])
    feature_norm = _validate.check_positive("feature_norm", feature_norm)
    xp = preprocess_features(x, feature_norm, preprocess)
    return xp, jax.nn.one_hot(jnp.asarray(y_np), num_classes, dtype=jnp.float32), num_classes


def default_ridge(
    num_examples: int,
    dim: int,
    cov_std: float,
    feature_norm: float = 1.0,
    *,
    noise_multiple: float = 1.0,
    minimum: float = 0.0,
) -> float:
    """A data-independent ridge: a multiple of the noise scale of A~ plus a tiny floor, and
    at least ``minimum`` C^2.

    The spectral norm of the symmetric Gaussian noise is about 2 std sqrt(d); the ridge is
    ``noise_multiple`` std sqrt(d) (half that norm by default) plus the non-private floor
    1e-4 n C^2 / d, and no less than ``minimum`` C^2 (a bound in the units of one example's
    x x^T: it matters where the noise is small, without privacy or at very large epsilon).
    ``num_examples`` is treated as public.
    """
    rule = noise_multiple * cov_std * math.sqrt(dim) + 1e-4 * num_examples * feature_norm**2 / dim
    return max(rule, minimum * feature_norm**2)


def resolve_ridge(
    ridge: float | None,
    *,
    num_examples: int,
    dim: int,
    noise_std: float,
    feature_norm: float = 1.0,
    noise_multiple: float = 1.0,
    minimum: float = 0.0,
) -> float:
    """``ridge`` checked (>= 0), or where it is None the rule :func:`default_ridge` with the
    noise std of the matrix release it damps (public quantities only)."""
    if ridge is None:
        return default_ridge(
            num_examples,
            dim,
            noise_std,
            feature_norm,
            noise_multiple=noise_multiple,
            minimum=minimum,
        )
    return _validate.check_nonnegative("ridge", ridge)
