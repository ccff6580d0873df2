"""DP-FC: one noisy feature covariance, shared across all classes and all steps.

The one-vs-all logistic Hessian of every class is at most X^T X / 4 (p (1 - p) <= 1/4), and
X^T X depends on the inputs only, not on the labels or the parameters. DP-FC releases it
once (sensitivity C^2), projects it to the PSD cone, factors (A~/4 + ridge I) once (one
eigendecomposition), and uses it to precondition every noisy clipped gradient step of every
class: w <- w - lr (A~/4 + ridge I)^{-1} (g~ + ridge w). With lr = 1 and no noise this is a
majorise-minimise step, so the loss decreases monotonically. It pays for the
second-order information once, like least squares, yet fits the logistic loss.
"""

from __future__ import annotations

import functools

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

__all__ = ["dp_fc", "fc_releases", "fc_weights", "noisy_covariance", "noisy_preconditioner_inverse"]


def fc_releases(epsilon, delta, *, steps, feature_norm=1.0, grad_clip=1.0, cov_share=0.5):
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


def noisy_preconditioner_inverse(key, xc, cov_std, ridge) -> RidgeInverse:
    """(P(X^T X + N) / 4 + ridge I)^{-1}, factored once from :func:`noisy_covariance`."""
    return psd_ridge_inverse(noisy_covariance(key, xc, cov_std), ridge, scale=0.25)


@functools.partial(jax.jit, static_argnames=("steps",))
def fc_weights(key, xc, yc, cov_std, grad_std, grad_clip, ridge, learning_rate, *, steps):
    """Pure core: one noisy covariance, then ``steps`` preconditioned noisy gradient steps.

    vmap-able over key and the stds; X^T X (and the first gradient, at w = 0) are then
    computed once for all points.
    """
    d, num_classes = xc.shape[-1], yc.shape[-1]
    k_cov, k_steps = jax.random.split(key)
    precond_inverse = noisy_preconditioner_inverse(k_cov, xc, cov_std, ridge)

    def step(w, step_key):
        grad = noisy_gradient_sum(step_key, w, xc, yc, grad_clip, grad_std, loss="ova") + ridge * w
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
    steps: int = 10,
    learning_rate: float = 1.0,
    ridge: float | None = None,
    cov_share: float = 0.5,
    grad_clip: float = 1.0,
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
) -> LastLayerResult:
    """(epsilon, delta)-DP DP-FC on the one-vs-all logistic loss.

    Releases (add/remove one): X^T X once (sensitivity C^2) and the clipped gradient sum
    ``steps`` times (sensitivity ``grad_clip``); ``cov_share`` of the GDP budget goes to the
    covariance.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    steps = _validate.check_positive_int("steps", steps)
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
    n, d = xp.shape
    cov_std, grad_std = releases[0].noise_std, releases[1].noise_std
    ridge = (
        default_ridge(n, d, cov_std, feature_norm)
        if ridge is None
        else (_validate.check_nonnegative("ridge", ridge))
    )
    xc, yc = statistics.shard_rows(xp, y1h)
    w, history = fc_weights(
        key, xc, yc, cov_std, grad_std, grad_clip, ridge, learning_rate, steps=steps
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
            "steps": steps,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "cov_share": cov_share,
            "grad_clip": grad_clip,
        },
    )
