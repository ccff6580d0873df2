"""DP least squares from noisy sufficient statistics, released once.

With features ||x_i|| <= C and one-hot labels y_i, least squares needs only
A = X^T X (sensitivity C^2) and B = X^T Y (sensitivity C). Both are released once with
Gaussian noise, A is projected to the PSD cone (post-processing), and
W = (A~ + ridge I)^{-1} B~. Any number of classes costs the same privacy: the reason least
squares wins under DP when logistic regression must pay for every step.

The papers' variant (``alpha`` != 1) down-weights the negatives of each one-vs-all problem:
class k minimises sum_{i in k} (1 - w_k^T x_i)^2 + alpha * sum_{i not in k} (w_k^T x_i)^2, so
(G_k + alpha (G - G_k)) w_k = B[:, k] with per-class Grams G_k released together
(sensitivity C^2: each example is in one class) and G = sum_k G_k (post-processing).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dptl import _validate
from dptl.privacy import (
    calibrate_full_batch,
    gaussian_noise,
    project_psd,
    symmetric_gaussian_noise,
)
from dptl.solvers import statistics
from dptl.solvers.inputs import prepare_inputs, resolve_ridge
from dptl.solvers.plan import Plan
from dptl.solvers.psd_inverse import psd_ridge_inverse
from dptl.solvers.result import LastLayerResult

__all__ = [
    "DEFAULTS",
    "dp_least_squares",
    "least_squares_plan",
    "least_squares_releases",
    "least_squares_statistics",
    "least_squares_weights",
]


# The defaults of dp_least_squares, in one place (the sweep and the lessons read them here).
DEFAULTS = {"cov_share": 0.5, "alpha": 1.0, "ridge": None}


def least_squares_releases(
    epsilon, delta, *, feature_norm=1.0, cov_share=DEFAULTS["cov_share"], alpha=DEFAULTS["alpha"]
):
    """The two Gaussian releases and their calibrated noise for (epsilon, delta)."""
    share = _validate.check_fraction("cov_share", cov_share, open_high=True)
    c = feature_norm
    cov_name = "X^T X" if alpha == 1.0 else "per-class X_k^T X_k"
    return calibrate_full_batch(
        epsilon, delta, [(cov_name, c * c, 1, share), ("X^T Y", c, 1, 1 - share)]
    )


def least_squares_plan(
    epsilon,
    delta,
    *,
    num_examples,
    dim,
    num_classes=None,
    feature_norm=1.0,
    cov_share=DEFAULTS["cov_share"],
    alpha=DEFAULTS["alpha"],
    ridge=DEFAULTS["ridge"],
) -> Plan:
    """The releases and resolved hyperparameters of :func:`dp_least_squares`.

    ``ridge=None`` is the rule ``default_ridge(n, d, X^T X noise std, C)``. ``num_classes``
    is unused (any K costs the same privacy).
    """
    alpha = _validate.check_positive("alpha", alpha)
    releases = least_squares_releases(
        epsilon, delta, feature_norm=feature_norm, cov_share=cov_share, alpha=alpha
    )
    ridge = resolve_ridge(
        ridge,
        num_examples=num_examples,
        dim=dim,
        noise_std=releases[0].noise_std,
        feature_norm=feature_norm,
    )
    return Plan(
        hyperparameters={"cov_share": cov_share, "alpha": alpha, "ridge": ridge},
        releases=releases,
    )


def least_squares_statistics(key, x, y1h, cov_std, xty_std, *, per_class=False, class_grams=None):
    """The noisy releases (A~, B~): X^T X (or the K per-class Grams) and X^T Y, plus noise.

    Sensitivities (add/remove one, ||x|| <= C): C^2 for X^T X, and for all K per-class Grams
    together (each example lies in one class); C for X^T Y. Each class's Gram gets its own
    noise. ``x``/``y1h`` are chunked as by :func:`statistics.shard_rows`; ``class_grams``
    may be precomputed (it does not depend on the noise).
    """
    k_cov, k_xty = jax.random.split(key)
    d, num_classes = x.shape[-1], y1h.shape[-1]
    b = statistics.cross(x, y1h) + gaussian_noise(k_xty, (d, num_classes), xty_std)
    if not per_class:
        return statistics.gram(x) + symmetric_gaussian_noise(k_cov, d, cov_std), b
    grams = statistics.class_grams(x, y1h) if class_grams is None else class_grams
    return grams + symmetric_gaussian_noise(k_cov, d, cov_std, (num_classes,)), b


def least_squares_weights(key, x, y1h, cov_std, xty_std, ridge, alpha=1.0, class_grams=None):
    """Pure core: noisy statistics and the ridge solve. vmap-able over key and the stds."""
    a, b = least_squares_statistics(
        key, x, y1h, cov_std, xty_std, per_class=alpha != 1.0, class_grams=class_grams
    )
    if alpha == 1.0:
        return psd_ridge_inverse(a, ridge) @ b
    grams = project_psd(a)
    total = grams.sum(0)
    d = grams.shape[-1]
    systems = grams + alpha * (total - grams) + ridge * jnp.eye(d, dtype=b.dtype)
    return jax.vmap(jnp.linalg.solve)(systems, b.T[..., None])[..., 0].T


_least_squares_weights = jax.jit(least_squares_weights, static_argnames=("alpha",))


def dp_least_squares(
    key: jax.Array,
    x,
    y,
    *,
    epsilon: float,
    delta: float = 1e-5,
    num_classes: int | None = None,
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
    ridge: float | None = DEFAULTS["ridge"],
    cov_share: float = DEFAULTS["cov_share"],
    alpha: float = DEFAULTS["alpha"],
) -> LastLayerResult:
    """(epsilon, delta)-DP least squares on features mapped to norm ``feature_norm``.

    Releases (add/remove one): X^T X (or the per-class Grams when ``alpha`` != 1) with
    sensitivity C^2 and X^T Y with sensitivity C, once each, noise split by ``cov_share``
    of the GDP budget. ``epsilon=inf`` gives ordinary ridge regression.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    n, d = xp.shape
    plan = least_squares_plan(
        epsilon,
        delta,
        num_examples=n,
        dim=d,
        feature_norm=feature_norm,
        cov_share=cov_share,
        alpha=alpha,
        ridge=ridge,
    )
    hp = plan.hyperparameters
    xc, yc = statistics.shard_rows(xp, y1h)
    w = _least_squares_weights(key, xc, yc, *plan.noise_stds, hp["ridge"], alpha=hp["alpha"])
    return LastLayerResult(
        method="dp_least_squares",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        config=hp,
    )
