"""DP-FC: one noisy feature covariance, shared across all classes and all steps.

The Hessian of a linear last layer's logistic loss is bounded by a matrix that depends on
the inputs only, not on the labels or the parameters:

- one-vs-all ("ova", the default, as in the papers' reference code): every class's
  H_k <= X^T X / 4;
- multinomial ("softmax"): Boehning's bound H <= 1/2 (I_K - 1 1^T / K) (x) X^T X.

DP-FC releases A~ = X^T X + N once (sensitivity C^2), projects it to the PSD cone, factors
(c A~ + ridge I) once (one eigendecomposition; c = 1/2 or 1/4), and uses it to precondition
every noisy clipped gradient step of every class: w <- w - lr (c A~ + ridge I)^{-1}
(g~ + ridge w). For the softmax loss the noisy gradient is first projected onto the
zero-sum columns (softmax is invariant to a shift shared by all classes, and (I - 1 1^T/K)
is the identity there): post-processing, free. With lr = 1 and no noise every step is a
majorise-minimise step, so the loss decreases monotonically. It pays for the second-order
information once, like least squares, yet fits the logistic loss.

Defaults (:data:`DEFAULTS`, :func:`default_steps`) are rules in public quantities; see
``benchmarks/tune_defaults.py`` for how they were chosen and on which data.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from dptl import _validate
from dptl.privacy import (
    calibrate_full_batch,
    spent,
    symmetric_gaussian_noise,
)
from dptl.solvers import statistics
from dptl.solvers.inputs import default_ridge, prepare_inputs
from dptl.solvers.logistic import noisy_gradient_sum, scan_steps
from dptl.solvers.psd_inverse import RidgeInverse, psd_ridge_inverse
from dptl.solvers.result import LastLayerResult

__all__ = [
    "CURVATURE_BOUND",
    "DEFAULTS",
    "LOSSES",
    "default_steps",
    "dp_fc",
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
# the same backbone), never on Fashion-MNIST. None means a rule in public quantities:
# steps -> default_steps(n, epsilon, delta), ridge -> default_ridge(n, d, covariance noise
# std, C, noise_multiple=RIDGE_NOISE_MULTIPLE).
DEFAULTS = {
    "loss": "ova",
    "steps": None,
    "learning_rate": 0.5,
    "cov_share": 0.3,
    "grad_clip": 1.0,
    "ridge": None,
}
RIDGE_NOISE_MULTIPLE = 0.1
PRIVATE_STEPS, NONPRIVATE_STEPS = 3, 20


def default_steps(num_examples: int, epsilon: float, delta: float) -> int:
    """DP-FC's default step count: 3 under privacy, 20 without (epsilon = inf).

    On the public tuning set (``benchmarks/tune_defaults.py``: digits at the n mu of four
    deployments, 10,000 rows at epsilon 0.1 and 60,000 rows at 0.1, 1 and 8) the best single
    setting takes 3 steps; the best step count per target moves within the tuning set's
    noise (3-10). With no noise there is nothing to trade against, and the
    majorise-minimise steps run to convergence. A rule in public quantities (``num_examples`` and ``delta`` do not change
    it today; they are kept so that a finer rule needs no new signature).
    """
    del num_examples, delta
    return NONPRIVATE_STEPS if math.isinf(epsilon) else PRIVATE_STEPS


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
        grad = grad + ridge * w
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
    steps: int | None = DEFAULTS["steps"],
    learning_rate: float = DEFAULTS["learning_rate"],
    ridge: float | None = DEFAULTS["ridge"],
    cov_share: float = DEFAULTS["cov_share"],
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
) -> LastLayerResult:
    """(epsilon, delta)-DP DP-FC on the one-vs-all (default) or softmax logistic loss.

    Releases (add/remove one): X^T X once (sensitivity C^2) and the clipped gradient sum
    ``steps`` times (sensitivity ``grad_clip``); ``cov_share`` of the GDP budget mu^2 goes to
    the covariance.

    Args:
        key: PRNG key; a released model assumes it is secret and used once.
        x, y: features (n, d) and integer labels (n,).
        epsilon, delta: the privacy target (``epsilon=inf``: no noise).
        num_classes: the public class count K (required).
        loss: "ova" (one-vs-all, bound X^T X / 4) or "softmax" (Boehning's, X^T X / 2).
        steps: gradient steps; None: :func:`default_steps` (3 under privacy, 20 without).
        learning_rate: step size of the preconditioned step (1 = majorise-minimise).
        ridge: None: the rule ``default_ridge(..., noise_multiple=0.1)``, a tenth of the
            covariance noise's spectral scale plus a tiny non-private floor.
        cov_share, grad_clip, feature_norm, preprocess: as named.

    Returns:
        A :class:`LastLayerResult` whose ``config`` holds the resolved hyperparameters.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    n, d = xp.shape
    steps = (
        default_steps(n, _validate.check_epsilon(epsilon), _validate.check_delta(delta))
        if steps is None
        else _validate.check_positive_int("steps", steps)
    )
    _validate.check_positive("learning_rate", learning_rate)
    grad_clip = _validate.check_positive("grad_clip", grad_clip)
    releases = fc_releases(
        epsilon,
        delta,
        steps=steps,
        feature_norm=feature_norm,
        grad_clip=grad_clip,
        cov_share=cov_share,
    )
    cov_std, grad_std = releases[0].noise_std, releases[1].noise_std
    ridge = (
        default_ridge(n, d, cov_std, feature_norm, noise_multiple=RIDGE_NOISE_MULTIPLE)
        if ridge is None
        else (_validate.check_nonnegative("ridge", ridge))
    )
    xc, yc = statistics.shard_rows(xp, y1h)
    w, history = fc_weights(
        key, xc, yc, cov_std, grad_std, grad_clip, ridge, learning_rate, steps=steps, loss=loss
    )
    return LastLayerResult(
        method="dp_fc",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=spent(releases, delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        history=history,
        config={
            "loss": loss,
            "steps": steps,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "cov_share": cov_share,
            "grad_clip": grad_clip,
        },
    )
