"""DP-Newton for one-vs-all logistic regression: noisy per-class Hessians at every step.

Class k minimises sum_i [log(1 + exp(w_k^T x_i)) - y_ik w_k^T x_i] + ridge/2 ||w_k||^2. Each
step releases the K Hessians H_k = sum_i p_ik (1 - p_ik) x_i x_i^T (all together,
sensitivity sqrt(K) C^2 / 4) and the clipped gradient sum (sensitivity G), projects each
noisy Hessian to the PSD cone and takes w_k <- w_k - lr (H~_k + ridge I)^{-1} (g~_k + ridge w_k).
The Hessian release is what makes DP-Newton expensive: K d x d matrices of noise every step.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from dptl import _validate
from dptl.privacy import calibrate_full_batch, symmetric_gaussian_noise
from dptl.solvers import statistics
from dptl.solvers.inputs import prepare_inputs, resolve_ridge
from dptl.solvers.logistic import noisy_gradient_sum, ova_hessians, scan_steps
from dptl.solvers.plan import Plan
from dptl.solvers.psd_inverse import psd_ridge_inverse
from dptl.solvers.result import LastLayerResult

__all__ = [
    "DEFAULTS",
    "RIDGE_NOISE_MULTIPLE",
    "dp_newton",
    "newton_grid_weights",
    "newton_plan",
    "newton_releases",
    "newton_step_releases",
    "newton_update",
    "newton_weights",
]


# The defaults of dp_newton, in one place (the sweep and the lessons read them here),
# chosen by benchmarks/tune_defaults.py on a public set (scikit-learn's digits). ridge None
# is the rule default_ridge(n, d, Hessian noise std, C, noise_multiple=RIDGE_NOISE_MULTIPLE).
DEFAULTS = {"steps": 3, "learning_rate": 1.0, "hessian_share": 0.3, "grad_clip": 1.0, "ridge": None}
RIDGE_NOISE_MULTIPLE = 0.3


def newton_releases(
    epsilon,
    delta,
    *,
    num_classes,
    steps,
    feature_norm=1.0,
    grad_clip=DEFAULTS["grad_clip"],
    hessian_share=DEFAULTS["hessian_share"],
):
    """The Hessian and gradient releases of ``steps`` DP-Newton steps, calibrated."""
    share = _validate.check_fraction("hessian_share", hessian_share, open_high=True)
    hess_sens = math.sqrt(num_classes) * feature_norm**2 / 4
    return calibrate_full_batch(
        epsilon,
        delta,
        [
            ("one-vs-all Hessians", hess_sens, steps, share),
            ("clipped gradient sum", grad_clip, steps, 1 - share),
        ],
    )


def newton_plan(
    epsilon,
    delta,
    *,
    num_examples,
    dim,
    num_classes,
    feature_norm=1.0,
    steps=DEFAULTS["steps"],
    learning_rate=DEFAULTS["learning_rate"],
    ridge=DEFAULTS["ridge"],
    hessian_share=DEFAULTS["hessian_share"],
    grad_clip=DEFAULTS["grad_clip"],
) -> Plan:
    """The releases and resolved hyperparameters of :func:`dp_newton`.

    ``ridge=None`` is the rule ``default_ridge(n, d, Hessian noise std, C,
    noise_multiple=RIDGE_NOISE_MULTIPLE)``.
    """
    steps, learning_rate, grad_clip = _validate.check_steps(steps, learning_rate, grad_clip)
    releases = newton_releases(
        epsilon,
        delta,
        num_classes=num_classes,
        steps=steps,
        feature_norm=feature_norm,
        grad_clip=grad_clip,
        hessian_share=hessian_share,
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
            "steps": steps,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "hessian_share": hessian_share,
            "grad_clip": grad_clip,
        },
        releases=releases,
    )


def newton_step_releases(key, w, xc, yc, hess_std, grad_std, grad_clip, *, hessians=ova_hessians):
    """One step's releases at ``w``: the K Hessians and the clipped gradient sum, noised.

    Sensitivities (add/remove one): sqrt(K) C^2 / 4 for the K Hessians together (each gets
    its own symmetric noise), ``grad_clip`` for the gradient. ``hessians(w, xc)`` may replace
    the computation of the Hessians (same values: at w = 0, or computed beforehand).
    """
    d, num_classes = xc.shape[-1], yc.shape[-1]
    k_hess, k_grad = jax.random.split(key)
    noise = symmetric_gaussian_noise(k_hess, d, hess_std, (num_classes,), dtype=xc.dtype)
    grad = noisy_gradient_sum(k_grad, w, xc, yc, grad_clip, grad_std, loss="ova")
    return hessians(w, xc) + noise, grad


def newton_update(
    w,
    step_key,
    xc,
    yc,
    hess_std,
    grad_std,
    grad_clip,
    ridge,
    learning_rate,
    *,
    hessians=ova_hessians,
):
    """One noisy Newton step: w_k <- w_k - lr (P(H~_k) + ridge I)^{-1} (g~_k + ridge w_k).

    The releases are :func:`newton_step_releases`'s (``hessians`` as there).
    """
    hess, grad = newton_step_releases(
        step_key, w, xc, yc, hess_std, grad_std, grad_clip, hessians=hessians
    )
    inverse = psd_ridge_inverse(hess, ridge)  # (P(H~_k) + ridge I)^{-1}, every class
    grad = grad + ridge * w
    direction = (inverse @ grad.T[..., None])[..., 0].T
    return w - learning_rate * direction, {"noisy_grad_norm": jnp.linalg.norm(grad)}


def _hessians_at_zero(w, xc):
    """The K Hessians at w = 0, where sigmoid(0) = 1/2: every one is X^T X / 4."""
    g = statistics.gram(xc)
    return jnp.broadcast_to(g / 4, (w.shape[1], *g.shape))


@functools.partial(jax.jit, static_argnames=("steps",))
def newton_weights(
    key,
    xc,
    yc,
    hess_std,
    grad_std,
    grad_clip,
    ridge,
    learning_rate,
    *,
    steps,
):
    """Pure core: ``steps`` noisy Newton steps from zero, step t with ``split(key, steps)[t]``;
    (weights, history)."""
    d, num_classes = xc.shape[-1], yc.shape[-1]
    step = functools.partial(
        newton_update,
        xc=xc,
        yc=yc,
        hess_std=hess_std,
        grad_std=grad_std,
        grad_clip=grad_clip,
        ridge=ridge,
        learning_rate=learning_rate,
    )
    first_step = functools.partial(step, hessians=_hessians_at_zero)
    w0 = jnp.zeros((d, num_classes), xc.dtype)
    return scan_steps(step, w0, jax.random.split(key, steps), first_step=first_step)


@functools.partial(jax.jit, static_argnames=("steps",))
def newton_grid_weights(
    keys, xc, yc, hess_std, grad_std, grad_clip, ridge, learning_rate, *, steps
):
    """:func:`newton_weights` for P points at once (keys, hess_std, grad_std, ridge: (P,)),
    same keys, same weights: (P, d, K).

    Everything but the Hessians is batched over the points: the gradients of all points are
    two products with P K columns, and what the first step takes from the data alone (X^T X,
    the gradient at w = 0) is computed once. The Hessians of later steps go one point at a
    time (a vmapped grid of them ran 1.6x slower: it holds every point's weighted copies).
    """
    d, num_classes = xc.shape[-1], yc.shape[-1]
    step_keys = jax.vmap(lambda k: jax.random.split(k, steps))(keys)
    per_point = (hess_std, grad_std, ridge)

    def update(w, step_key, hess_std, grad_std, ridge, hessians):
        return newton_update(
            w,
            step_key,
            xc,
            yc,
            hess_std,
            grad_std,
            grad_clip,
            ridge,
            learning_rate,
            hessians=lambda w, xc: hessians,
        )

    def first_step(w0, step_keys):  # every point's Hessians at w = 0: X^T X / 4, shared
        batched = jax.vmap(update, in_axes=(None, 0, 0, 0, 0, None))
        return batched(w0, step_keys, *per_point, _hessians_at_zero(w0, xc))

    def step(w, step_keys):
        hessians = jax.lax.map(lambda w: ova_hessians(w, xc), w)
        return jax.vmap(update)(w, step_keys, *per_point, hessians)

    w0 = jnp.zeros((d, num_classes), xc.dtype)
    return scan_steps(step, w0, jnp.swapaxes(step_keys, 0, 1), first_step=first_step)[0]


def dp_newton(
    key: jax.Array,
    x,
    y,
    *,
    epsilon: float,
    delta: float = 1e-5,
    num_classes: int | None = None,
    steps: int = DEFAULTS["steps"],
    learning_rate: float = DEFAULTS["learning_rate"],
    ridge: float | None = DEFAULTS["ridge"],
    hessian_share: float = DEFAULTS["hessian_share"],
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
) -> LastLayerResult:
    """(epsilon, delta)-DP Newton's method on the one-vs-all logistic loss.

    Releases (add/remove one), each ``steps`` times: the K one-vs-all Hessians (sensitivity
    sqrt(K) C^2 / 4) and the clipped gradient sum (sensitivity ``grad_clip``); the GDP budget
    is split by ``hessian_share``.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    n, d = xp.shape
    plan = newton_plan(
        epsilon,
        delta,
        num_examples=n,
        dim=d,
        num_classes=num_classes,
        feature_norm=feature_norm,
        steps=steps,
        learning_rate=learning_rate,
        ridge=ridge,
        hessian_share=hessian_share,
        grad_clip=grad_clip,
    )
    hp = plan.hyperparameters
    xc, yc = statistics.shard_rows(xp, y1h)
    w, history = newton_weights(
        key,
        xc,
        yc,
        *plan.noise_stds,
        hp["grad_clip"],
        hp["ridge"],
        hp["learning_rate"],
        steps=hp["steps"],
    )
    return LastLayerResult(
        method="dp_newton",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        history=history,
        config=hp,
    )
