"""DP-FC: one noisy feature covariance, shared across all classes and all steps.

The Hessian of a linear last layer's logistic loss is bounded by a matrix that depends on
the inputs only, not on the labels or the parameters:

- multinomial ("softmax", the default): Boehning's bound H <= 1/2 (I_K - 1 1^T / K) (x) X^T X;
- one-vs-all ("ova", as in the papers' reference code): every class's H_k <= X^T X / 4.

DP-FC releases A~ = X^T X + N once (sensitivity C^2), projects it to the PSD cone, factors
(c A~ + ridge I) once (one eigendecomposition; c = 1/2 or 1/4), and uses it to precondition
every noisy clipped gradient step of every class: w <- w - lr (c A~ + ridge I)^{-1} g~.
The ridge only damps the preconditioner against the covariance noise; the loss itself is
not regularised (a penalty ridge/2 ||w||^2 tied to that damping cost 1-3 points at every
tuning target, see ``benchmarks/tune_defaults.py``). For the softmax loss the noisy gradient
is first projected onto the zero-sum columns (softmax is invariant to a shift shared by all
classes, and (I - 1 1^T/K) is the identity there): post-processing, free. With lr = 1 and no
noise every step is a majorise-minimise step, so the loss decreases monotonically. It pays
for the second-order information once, like least squares, yet fits the logistic loss.

Centring (``center_share`` > 0, the default): before anything else DP-FC releases the feature
sum sum_i x_i + N(0, s^2 I) (sensitivity C under add/remove-one), divides it by the public n
into a noisy mean c, and trains on the rows x_i - c rescaled to norm C
(:func:`dptl.solvers.inputs.center_features`); the model keeps c and applies the same map at
prediction. Unit-norm features share a large common direction (mean norm 0.62 on the shipped
set); removing it is worth up to several points at small n mu for a few percent of the budget.

Defaults (:data:`DEFAULTS`) were chosen by ``benchmarks/tune_defaults.py`` on a public data
set; the ridge is a rule in public quantities.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from dptl import _validate
from dptl.privacy import (
    calibrate_full_batch,
    gaussian_noise,
    symmetric_gaussian_noise,
)
from dptl.solvers import statistics
from dptl.solvers.inputs import center_scales, prepare_inputs, resolve_ridge
from dptl.solvers.logistic import noisy_gradient_sum, scan_steps
from dptl.solvers.plan import Plan
from dptl.solvers.psd_inverse import RidgeInverse, psd_ridge_inverse
from dptl.solvers.result import LastLayerResult

__all__ = [
    "CENTER_SHARE",
    "CURVATURE_BOUND",
    "DEFAULTS",
    "LOSSES",
    "dp_fc",
    "fc_centering",
    "fc_fit",
    "fc_plan",
    "fc_releases",
    "fc_weights",
    "noisy_covariance",
    "noisy_feature_mean",
    "noisy_preconditioner_inverse",
]

LOSSES = ("softmax", "ova")
# c in the curvature bound c X^T X of each loss (Boehning's 1/2 for softmax, 1/4 one-vs-all)
CURVATURE_BOUND = {"softmax": 0.5, "ova": 0.25}

# The share of mu^2 of the feature-mean release (0: no centring), chosen after the others by
# benchmarks/tune_defaults.py (--only-centring) on the public set at the same four targets.
CENTER_SHARE = 0.05
# The defaults of dp_fc, in one place (the sweep, the CLI and the lessons read them here),
# chosen by benchmarks/tune_defaults.py on a public data set (scikit-learn's digits through
# the same backbone), never on Fashion-MNIST: the one setting with the best mean accuracy
# over four deployments (n, epsilon). The same 50 steps serve at epsilon = inf (the
# non-private frontier's step count). ridge None means the rule default_ridge(n, d,
# covariance noise std, C, noise_multiple=RIDGE_NOISE_MULTIPLE, minimum=RIDGE_MINIMUM).
DEFAULTS = {
    "loss": "softmax",
    "steps": 50,
    "learning_rate": 1.0,
    "cov_share": 0.1,
    "center_share": CENTER_SHARE,
    "grad_clip": 1.0,
    "ridge": None,
}
RIDGE_NOISE_MULTIPLE = 1.0
# The damping's lower bound, in units of C^2 (one example's x x^T), chosen by
# benchmarks/tune_defaults.py (--only-ridge-minimum) on the public set without privacy at
# n = 200 to 1,437: the covariance noise's scale is larger at every private target, so it
# acts only without privacy (or at an epsilon so large the noise is negligible), where the
# tiny floor 1e-4 n C^2 / d let 50 nearly Newton steps over-fit a few hundred rows.
RIDGE_MINIMUM = 0.1


def fc_releases(
    epsilon,
    delta,
    *,
    steps,
    feature_norm=1.0,
    grad_clip=DEFAULTS["grad_clip"],
    cov_share=DEFAULTS["cov_share"],
    center_share=0.0,
):
    """The covariance release (once), the gradient releases (``steps``) and, where
    ``center_share`` > 0, the feature-sum release (once), calibrated in that order.

    Shares of the GDP budget mu^2: ``cov_share`` to the covariance (sensitivity C^2),
    ``center_share`` to the feature sum (sensitivity C), the rest to the gradients.
    """
    share = _validate.check_fraction("cov_share", cov_share, open_high=True)
    center = _validate.check_fraction("center_share", center_share, open_low=False, open_high=True)
    if share + center >= 1:
        raise ValueError(
            f"cov_share + center_share must be < 1 (the gradients need a share), got "
            f"{share} + {center}"
        )
    releases = [
        ("feature covariance X^T X", feature_norm**2, 1, share),
        ("clipped gradient sum", grad_clip, steps, 1 - share - center),
    ]
    if center > 0:
        releases.append(("feature sum (centre)", feature_norm, 1, center))
    return calibrate_full_batch(epsilon, delta, releases)


def fc_plan(
    epsilon,
    delta,
    *,
    num_examples,
    dim,
    num_classes=None,
    feature_norm=1.0,
    loss=DEFAULTS["loss"],
    steps=DEFAULTS["steps"],
    learning_rate=DEFAULTS["learning_rate"],
    ridge=DEFAULTS["ridge"],
    cov_share=DEFAULTS["cov_share"],
    center_share=DEFAULTS["center_share"],
    grad_clip=DEFAULTS["grad_clip"],
) -> Plan:
    """The releases and resolved hyperparameters of :func:`dp_fc`.

    ``ridge=None`` is the rule ``default_ridge(n, d, covariance noise std, C,
    noise_multiple=RIDGE_NOISE_MULTIPLE, minimum=RIDGE_MINIMUM)``. ``num_classes`` is unused
    (the releases' noise does not depend on K).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    steps, learning_rate, grad_clip = _validate.check_steps(steps, learning_rate, grad_clip)
    releases = fc_releases(
        epsilon,
        delta,
        steps=steps,
        feature_norm=feature_norm,
        grad_clip=grad_clip,
        cov_share=cov_share,
        center_share=center_share,
    )
    ridge = resolve_ridge(
        ridge,
        num_examples=num_examples,
        dim=dim,
        noise_std=releases[0].noise_std,
        feature_norm=feature_norm,
        noise_multiple=RIDGE_NOISE_MULTIPLE,
        minimum=RIDGE_MINIMUM,
    )
    return Plan(
        hyperparameters={
            "loss": loss,
            "steps": steps,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "cov_share": cov_share,
            "center_share": center_share,
            "grad_clip": grad_clip,
        },
        releases=releases,
    )


def noisy_feature_mean(key, xc, yc, std) -> jax.Array:
    """(sum_i x_i + N(0, std^2 I)) / n: the feature-sum release (sensitivity C under
    add/remove-one, ||x_i|| <= C) over the public n. Rows are chunked (``xc``: (chunks,
    rows, d)); padding rows are zero and count for nothing (n counts the labels' rows)."""
    total = statistics.chunked_sum(lambda x: x.sum(axis=0), xc)
    n = jnp.sum(yc)
    return (total + gaussian_noise(key, total.shape, std, dtype=xc.dtype)) / n


def fc_centering(xc, yc, center, feature_norm):
    """(c, s, r) for the centred rows x_i' = s_i (x_i - c) of norm r_i = C (the rows of
    :func:`dptl.solvers.inputs.center_features`); padding rows (all-zero labels) get s_i =
    r_i = 0. The solver keeps X and carries (c, s, r): see
    :func:`dptl.solvers.logistic.clipped_gradient_sum`."""
    scale = center_scales(xc, center, feature_norm, rows=jnp.sum(yc, axis=-1) > 0)
    return center, scale, jnp.where(scale > 0, feature_norm, 0.0).astype(xc.dtype)


def noisy_covariance(key, xc, cov_std, centering=None):
    """X'^T X' + N, N symmetric Gaussian: DP-FC's single release (sensitivity C^2). X' = X,
    or the centred rows x_i' = s_i (x_i - c) of ``centering`` = (c, s, r)."""
    d = xc.shape[-1]
    if centering is None:
        gram = statistics.gram(xc)
    else:
        center, row_scale, _ = centering

        def chunk(x, s):
            rows = s[:, None] * (x - center)
            return rows.T @ rows

        gram = statistics.chunked_sum(chunk, xc, row_scale)
    return gram + symmetric_gaussian_noise(key, d, cov_std, dtype=xc.dtype)


def noisy_preconditioner_inverse(key, xc, cov_std, ridge, scale, centering=None) -> RidgeInverse:
    """(scale P(X'^T X' + N) + ridge I)^{-1}, factored once from :func:`noisy_covariance`."""
    return psd_ridge_inverse(noisy_covariance(key, xc, cov_std, centering), ridge, scale=scale)


@functools.partial(jax.jit, static_argnames=("steps", "loss"))
def fc_weights(
    key,
    xc,
    yc,
    cov_std,
    grad_std,
    grad_clip,
    ridge,
    learning_rate,
    *,
    steps,
    loss,
    center=None,
    feature_norm=1.0,
):
    """Pure core: one noisy covariance, then ``steps`` preconditioned noisy gradient steps.

    ``loss`` is "softmax" or "ova" (see the module docstring). With a ``center`` c (the
    released noisy mean) it trains on the rows x_i - c rescaled to norm ``feature_norm``,
    carried as (c, s) beside X (:func:`fc_centering`), never materialised for the steps.
    vmap-able over key, stds and centre; products with X (X^T X without a centre, the
    first gradient at w = 0) are then shared by all points.
    """
    d, num_classes = xc.shape[-1], yc.shape[-1]
    centering = None if center is None else fc_centering(xc, yc, center, feature_norm)
    k_cov, k_steps = jax.random.split(key)
    precond_inverse = noisy_preconditioner_inverse(
        k_cov, xc, cov_std, ridge, CURVATURE_BOUND[loss], centering
    )

    def step(w, step_key):
        grad = noisy_gradient_sum(
            step_key, w, xc, yc, grad_clip, grad_std, loss=loss, centering=centering
        )
        if loss == "softmax":  # onto the zero-sum columns: post-processing
            grad = grad - grad.mean(axis=1, keepdims=True)
        w = w - learning_rate * (precond_inverse @ grad)
        return w, {"noisy_grad_norm": jnp.linalg.norm(grad)}

    w0 = jnp.zeros((d, num_classes), xc.dtype)
    return scan_steps(step, w0, jax.random.split(k_steps, steps))


def fc_fit(
    key, xc, yc, noise_stds, grad_clip, ridge, learning_rate, *, steps, loss, feature_norm=1.0
):
    """DP-FC's whole pure core, as :func:`dp_fc`, the sweep and the benchmarks run it: the
    centre first where the plan releases one (``noise_stds`` = the plan's (covariance,
    gradient[, feature sum]) stds; its key split off first), then :func:`fc_weights` with
    that centre.

    Returns:
        (weights (d, K), history, centre (d,) or None).
    """
    cov_std, grad_std, *center_std = noise_stds
    center = None
    if center_std:
        key, k_center = jax.random.split(key)
        center = noisy_feature_mean(k_center, xc, yc, center_std[0])
    w, history = fc_weights(
        key,
        xc,
        yc,
        cov_std,
        grad_std,
        grad_clip,
        ridge,
        learning_rate,
        steps=steps,
        loss=loss,
        center=center,
        feature_norm=feature_norm,
    )
    return w, history, center


def dp_fc(
    key: jax.Array,
    x,
    y,
    *,
    epsilon: float,
    delta: float = 1e-5,
    num_classes: int | None = None,
    loss: str = DEFAULTS["loss"],
    steps: int = DEFAULTS["steps"],
    learning_rate: float = DEFAULTS["learning_rate"],
    ridge: float | None = DEFAULTS["ridge"],
    cov_share: float = DEFAULTS["cov_share"],
    center_share: float = DEFAULTS["center_share"],
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
) -> LastLayerResult:
    """(epsilon, delta)-DP DP-FC on the softmax (default) or one-vs-all logistic loss.

    Releases (add/remove one): where ``center_share`` > 0 first the feature sum once
    (sensitivity C; the rows are then centred on it, see the module docstring), X^T X once
    (sensitivity C^2) and the clipped gradient sum ``steps`` times (sensitivity
    ``grad_clip``); ``cov_share`` and ``center_share`` of the GDP budget mu^2 go to the
    covariance and the feature sum, the rest to the gradients.

    Args:
        key: PRNG key; a released model assumes it is secret and used once.
        x, y: features (n, d) and integer labels (n,).
        epsilon, delta: the privacy target (``epsilon=inf``: no noise).
        num_classes: the public class count K (required).
        loss: "softmax" (Boehning's bound X^T X / 2) or "ova" (one-vs-all, X^T X / 4).
        steps: gradient steps (each a release of the clipped gradient sum).
        learning_rate: step size of the preconditioned step (1 = majorise-minimise).
        ridge: the preconditioner's damping (not a penalty on the loss). None: the rule
            ``default_ridge(..., noise_multiple=1, minimum=0.1)``, the covariance noise's
            spectral scale (std sqrt(d), half the noise's norm) plus a tiny floor, and at
            least 0.1 C^2 (which acts only without privacy or at a very large epsilon).
        cov_share, center_share, grad_clip, feature_norm, preprocess: as named.

    Returns:
        A :class:`LastLayerResult` whose ``config`` holds the resolved hyperparameters.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    n, d = xp.shape
    plan = fc_plan(
        epsilon,
        delta,
        num_examples=n,
        dim=d,
        feature_norm=feature_norm,
        loss=loss,
        steps=steps,
        learning_rate=learning_rate,
        ridge=ridge,
        cov_share=cov_share,
        center_share=center_share,
        grad_clip=grad_clip,
    )
    hp = plan.hyperparameters
    xc, yc = statistics.shard_rows(xp, y1h)
    w, history, center = fc_fit(
        key,
        xc,
        yc,
        plan.noise_stds,
        hp["grad_clip"],
        hp["ridge"],
        hp["learning_rate"],
        steps=hp["steps"],
        loss=hp["loss"],
        feature_norm=feature_norm,
    )
    return LastLayerResult(
        method="dp_fc",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        center=center,
        history=history,
        config=hp,
    )
