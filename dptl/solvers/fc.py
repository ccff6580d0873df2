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
    symmetric_gaussian_noise,
)
from dptl.solvers import statistics
from dptl.solvers.inputs import prepare_inputs, resolve_ridge
from dptl.solvers.logistic import noisy_gradient_sum, scan_steps
from dptl.solvers.plan import Plan
from dptl.solvers.psd_inverse import RidgeInverse, psd_ridge_inverse
from dptl.solvers.result import LastLayerResult

__all__ = [
    "CURVATURE_BOUND",
    "DEFAULTS",
    "LOSSES",
    "dp_fc",
    "fc_plan",
    "fc_releases",
    "fc_weights",
    "noisy_covariance",
    "noisy_preconditioner_inverse",
]

LOSSES = ("softmax", "ova")
# c in the curvature bound c X^T X of each loss (Boehning's 1/2 for softmax, 1/4 one-vs-all)
CURVATURE_BOUND = {"softmax": 0.5, "ova": 0.25}

# The defaults of dp_fc, in one place (the sweep, the CLI and the lessons read them here),
# chosen by benchmarks/tune_defaults.py on a public data set (scikit-learn's digits through
# the same backbone), never on Fashion-MNIST: the one setting with the best mean accuracy
# over four deployments (n, epsilon). The same 50 steps serve at epsilon = inf (the
# non-private frontier's step count). ridge None means the rule default_ridge(n, d,
# covariance noise std, C, noise_multiple=RIDGE_NOISE_MULTIPLE).
DEFAULTS = {
    "loss": "softmax",
    "steps": 50,
    "learning_rate": 1.0,
    "cov_share": 0.1,
    "grad_clip": 1.0,
    "ridge": None,
}
RIDGE_NOISE_MULTIPLE = 1.0


def fc_releases(
    epsilon,
    delta,
    *,
    steps,
    feature_norm=1.0,
    grad_clip=DEFAULTS["grad_clip"],
    cov_share=DEFAULTS["cov_share"],
):
    """The covariance release (once) and the gradient releases (``steps``), calibrated."""
    share = _validate.check_fraction("cov_share", cov_share, open_high=True)
    return calibrate_full_batch(
        epsilon,
        delta,
        [
            ("feature covariance X^T X", feature_norm**2, 1, share),
            ("clipped gradient sum", grad_clip, steps, 1 - share),
        ],
    )


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
    grad_clip=DEFAULTS["grad_clip"],
) -> Plan:
    """The releases and resolved hyperparameters of :func:`dp_fc`.

    ``ridge=None`` is the rule ``default_ridge(n, d, covariance noise std, C,
    noise_multiple=RIDGE_NOISE_MULTIPLE)``. ``num_classes`` is unused (the releases' noise
    does not depend on K).
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
    )
    ridge = resolve_ridge(
        ridge,
        num_examples=num_examples,
        dim=dim,
        noise_std=releases[0].noise_std,
        feature_norm=feature_norm,
        noise_multiple=RIDGE_NOISE_MULTIPLE,
    )
    return Plan(
        hyperparameters={
            "loss": loss,
            "steps": steps,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "cov_share": cov_share,
            "grad_clip": grad_clip,
        },
        releases=releases,
    )


def noisy_covariance(key, xc, cov_std):
    """X^T X + N, N symmetric Gaussian: DP-FC's single release (sensitivity C^2)."""
    d = xc.shape[-1]
    return statistics.gram(xc) + symmetric_gaussian_noise(key, d, cov_std, dtype=xc.dtype)


def noisy_preconditioner_inverse(key, xc, cov_std, ridge, scale) -> RidgeInverse:
    """(scale P(X^T X + N) + ridge I)^{-1}, factored once from :func:`noisy_covariance`."""
    return psd_ridge_inverse(noisy_covariance(key, xc, cov_std), ridge, scale=scale)


@functools.partial(jax.jit, static_argnames=("steps", "loss"))
def fc_weights(key, xc, yc, cov_std, grad_std, grad_clip, ridge, learning_rate, *, steps, loss):
    """Pure core: one noisy covariance, then ``steps`` preconditioned noisy gradient steps.

    ``loss`` is "softmax" or "ova" (see the module docstring). vmap-able over key and the
    stds; X^T X (and the first gradient, at w = 0) are then computed once for all points.
    """
    d, num_classes = xc.shape[-1], yc.shape[-1]
    k_cov, k_steps = jax.random.split(key)
    precond_inverse = noisy_preconditioner_inverse(k_cov, xc, cov_std, ridge, CURVATURE_BOUND[loss])

    def step(w, step_key):
        grad = noisy_gradient_sum(step_key, w, xc, yc, grad_clip, grad_std, loss=loss)
        if loss == "softmax":  # onto the zero-sum columns: post-processing
            grad = grad - grad.mean(axis=1, keepdims=True)
        w = w - learning_rate * (precond_inverse @ grad)
        return w, {"noisy_grad_norm": jnp.linalg.norm(grad)}

    w0 = jnp.zeros((d, num_classes), xc.dtype)
    return scan_steps(step, w0, jax.random.split(k_steps, steps))


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
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
) -> LastLayerResult:
    """(epsilon, delta)-DP DP-FC on the softmax (default) or one-vs-all logistic loss.

    Releases (add/remove one): X^T X once (sensitivity C^2) and the clipped gradient sum
    ``steps`` times (sensitivity ``grad_clip``); ``cov_share`` of the GDP budget mu^2 goes to
    the covariance.

    Args:
        key: PRNG key; a released model assumes it is secret and used once.
        x, y: features (n, d) and integer labels (n,).
        epsilon, delta: the privacy target (``epsilon=inf``: no noise).
        num_classes: the public class count K (required).
        loss: "softmax" (Boehning's bound X^T X / 2) or "ova" (one-vs-all, X^T X / 4).
        steps: gradient steps (each a release of the clipped gradient sum).
        learning_rate: step size of the preconditioned step (1 = majorise-minimise).
        ridge: the preconditioner's damping (not a penalty on the loss). None: the rule
            ``default_ridge(..., noise_multiple=1)``, the covariance noise's spectral scale
            (std sqrt(d), half the noise's norm) plus a tiny non-private floor.
        cov_share, grad_clip, feature_norm, preprocess: as named.

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
        grad_clip=grad_clip,
    )
    hp = plan.hyperparameters
    xc, yc = statistics.shard_rows(xp, y1h)
    w, history = fc_weights(
        key,
        xc,
        yc,
        *plan.noise_stds,
        hp["grad_clip"],
        hp["ridge"],
        hp["learning_rate"],
        steps=hp["steps"],
        loss=hp["loss"],
    )
    return LastLayerResult(
        method="dp_fc",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        history=history,
        config=hp,
    )
