"""DP-FC-SGD: DP-FC's noisy feature covariance as preconditioner for Poisson-subsampled steps.

Beyond the papers. DP-FC (:mod:`dptl.solvers.fc`) releases A~ = X^T X + N once (sensitivity
C^2) and then takes full-batch noisy gradient steps, each paying for the whole data set.
DP-FC-SGD keeps the one covariance release but takes *subsampled* steps: at step t every
example is in the batch B_t independently with probability q (real Poisson sampling), and

    g~_t = (sum_{i in B_t} clip_G(grad_i(W)) + N(0, (sigma G)^2 I)) / q,
    W <- W - lr (A~_+/4 + ridge I)^{-1} g~_t,

with g~_t an unbiased estimate of the full clipped gradient sum (noise on the sum, divided
by the expected batch size qn, then rescaled by n to match the sum-scale preconditioner).
Subsampling amplifies privacy, so the gradient steps can be many and cheap. The returned
weights average the iterates of the second half of the steps (post-processing).

Privacy (add/remove one example): ComposedDpEvent([GaussianDpEvent(cov_std / C^2),
SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), T)]), accounted with
``dp_accounting`` (PLD by default). The covariance gets the same noise as DP-FC with the same
``cov_share`` (that share of the GDP budget mu^2); sigma is then the smallest noise
multiplier that keeps the composition within (epsilon, delta). With q = 1 this is exactly
DP-FC with the one-vs-all loss, no centring (``center_share=0``) and the same settings
(exact GDP accounting, same releases, same weights for the same key).
"""

from __future__ import annotations

import functools
import math

import dp_accounting as dpa
import jax
import jax.numpy as jnp

from dptl import _validate
from dptl.privacy import (
    GaussianRelease,
    calibrate_noise_multiplier,
    gaussian_noise,
    gdp_mu,
)
from dptl.privacy.accounting import PLD_MIN_NOISE_MULTIPLIER
from dptl.solvers import statistics
from dptl.solvers.dpsgd import physical_chunk, poisson_gradient_sum
from dptl.solvers.fc import CURVATURE_BOUND, fc_releases, fc_weights, noisy_preconditioner_inverse
from dptl.solvers.inputs import prepare_inputs, resolve_ridge
from dptl.solvers.plan import Plan
from dptl.solvers.result import LastLayerResult

__all__ = [
    "DEFAULTS",
    "dp_fc_sgd",
    "fc_sgd_core",
    "fc_sgd_event",
    "fc_sgd_plan",
    "fc_sgd_releases",
    "fc_sgd_weights",
    "poisson_noisy_gradient",
]

# The defaults of dp_fc_sgd, in one place (its signature and the sweep read them here),
# chosen on the synthetic proxy of benchmarks/tune_defaults.py (see dp_fc_sgd). ridge None
# is the rule default_ridge(n, d, covariance noise std, C).
DEFAULTS = {
    "steps": 10,
    "batch_size": 6000,
    "learning_rate": 0.5,
    "ridge": None,
    "cov_share": 0.5,
    "grad_clip": 1.0,
    "accountant": "pld",
    "tail_average": True,
}
COV_NAME = "feature covariance X^T X"
GRAD_NAME = "clipped gradient sum"
_ACCOUNTANTS = ("pld", "rdp")


def fc_sgd_event(
    cov_noise_multiplier: float, noise_multiplier: float, sampling_rate: float, steps: int
) -> dpa.DpEvent:
    """The releases of DP-FC-SGD as one DpEvent (noise multipliers = std / sensitivity)."""
    return dpa.ComposedDpEvent(
        [
            dpa.GaussianDpEvent(cov_noise_multiplier),
            dpa.SelfComposedDpEvent(
                dpa.PoissonSampledDpEvent(sampling_rate, dpa.GaussianDpEvent(noise_multiplier)),
                steps,
            ),
        ]
    )


def _calibrate_sigma(epsilon, delta, cov_nm, q, steps, accountant, share):
    """Smallest gradient noise multiplier with eps(fc_sgd_event) <= epsilon.

    Bracketing as :func:`dptl.privacy.dpsgd_noise_multiplier`: the full-batch noise for the
    rest of the GDP budget meets the target up to the accountant's slack; RDP (looser) gives
    the upper end for PLD; ``dp_accounting.calibrate_dp_mechanism`` finishes the search.
    """
    upper = math.sqrt(steps / (1 - share)) / gdp_mu(epsilon, delta)
    if accountant == "pld":
        upper = min(upper, _calibrate_sigma(epsilon, delta, cov_nm, q, steps, "rdp", share))
        if upper < PLD_MIN_NOISE_MULTIPLIER:
            raise ValueError(
                f"epsilon={epsilon:g} is out of reach of PLD calibration: the gradient noise "
                f"multiplier would be near {upper:.3g} < {PLD_MIN_NOISE_MULTIPLIER}; use accountant='rdp' "
                "or a smaller epsilon"
            )
    return calibrate_noise_multiplier(
        lambda s: fc_sgd_event(cov_nm, s, q, steps), epsilon, delta, upper, accountant
    )


@functools.lru_cache(maxsize=256)
def fc_sgd_releases(
    epsilon,
    delta,
    *,
    num_examples,
    steps,
    batch_size=None,
    feature_norm=1.0,
    grad_clip=1.0,
    cov_share=0.5,
    accountant="pld",
):
    """(covariance release, gradient release), calibrated to (epsilon, delta) together.

    The covariance X^T X (sensitivity C^2) gets the noise of DP-FC at ``cov_share``; the
    clipped gradient sum (sensitivity G) is released ``steps`` times at sampling rate
    q = batch_size / num_examples with the smallest noise that fits the rest. ``batch_size
    = None`` (q = 1) is DP-FC itself (one-vs-all, uncentred):
    :func:`dptl.solvers.fc.fc_releases`, exact GDP.
    """
    if accountant not in _ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {_ACCOUNTANTS}, got {accountant!r}")
    epsilon = _validate.check_epsilon(epsilon)
    delta = _validate.check_delta(delta)
    num_examples = _validate.check_positive_int("num_examples", num_examples)
    steps = _validate.check_positive_int("steps", steps)
    share = _validate.check_fraction("cov_share", cov_share, open_high=True)
    feature_norm = _validate.check_positive("feature_norm", feature_norm)
    grad_clip = _validate.check_positive("grad_clip", grad_clip)
    q = 1.0
    if batch_size is not None:
        batch_size = _validate.check_positive_int("batch_size", batch_size)
        if batch_size > num_examples:
            raise ValueError(
                f"batch_size must be at most the number of examples ({num_examples}), got "
                f"{batch_size}; use batch_size=None for full batch"
            )
        q = batch_size / num_examples
    if q == 1.0:
        return fc_releases(
            epsilon,
            delta,
            steps=steps,
            feature_norm=feature_norm,
            grad_clip=grad_clip,
            cov_share=share,
        )
    if math.isinf(epsilon):
        sigma, cov_std = 0.0, 0.0
    else:
        mu = gdp_mu(epsilon, delta)
        cov_nm = 1 / (math.sqrt(share) * mu)  # DP-FC's covariance noise at this share
        cov_std = feature_norm**2 * cov_nm
        sigma = _calibrate_sigma(epsilon, delta, cov_nm, q, steps, accountant, share)
    return (
        GaussianRelease(name=COV_NAME, sensitivity=feature_norm**2, noise_std=cov_std),
        GaussianRelease(
            name=GRAD_NAME,
            sensitivity=grad_clip,
            noise_std=sigma * grad_clip,
            count=steps,
            sampling_rate=q,
        ),
    )


def fc_sgd_plan(
    epsilon,
    delta,
    *,
    num_examples,
    dim,
    num_classes=None,
    feature_norm=1.0,
    steps=DEFAULTS["steps"],
    batch_size=DEFAULTS["batch_size"],
    learning_rate=DEFAULTS["learning_rate"],
    ridge=DEFAULTS["ridge"],
    cov_share=DEFAULTS["cov_share"],
    grad_clip=DEFAULTS["grad_clip"],
    accountant=DEFAULTS["accountant"],
    tail_average=DEFAULTS["tail_average"],
) -> Plan:
    """The releases and resolved hyperparameters of :func:`dp_fc_sgd`.

    ``ridge=None`` is the rule ``default_ridge(n, d, covariance noise std, C)``;
    ``tail_average`` resolves to False at full batch (DP-FC takes no average).
    """
    steps, learning_rate, grad_clip = _validate.check_steps(steps, learning_rate, grad_clip)
    tail_average = _validate.check_bool("tail_average", tail_average)
    releases = fc_sgd_releases(
        _validate.check_epsilon(epsilon),
        _validate.check_delta(delta),
        num_examples=num_examples,
        steps=steps,
        batch_size=batch_size,
        feature_norm=feature_norm,
        grad_clip=grad_clip,
        cov_share=cov_share,
        accountant=accountant,
    )
    ridge = resolve_ridge(
        ridge,
        num_examples=num_examples,
        dim=dim,
        noise_std=releases[0].noise_std,
        feature_norm=feature_norm,
    )
    full_batch = releases[1].sampling_rate == 1.0
    return Plan(
        hyperparameters={
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "ridge": ridge,
            "cov_share": cov_share,
            "grad_clip": grad_clip,
            "accountant": accountant,
            "tail_average": tail_average and not full_batch,
        },
        releases=releases,
        accountant="exact" if full_batch else accountant,
    )


def poisson_noisy_gradient(key, w, x, y1h, grad_clip, grad_std, sampling_rate, physical_batch_size):
    """(clipped one-vs-all gradient sum over a Poisson sample + N(0, grad_std^2)) / q.

    Each row is in the sample independently with probability q; the sum has sensitivity G
    (add/remove one). The exact batch size is not released: it is not an accounted release.
    """
    k_sample, k_noise = jax.random.split(key)
    total, _ = poisson_gradient_sum(
        k_sample, w, x, y1h, grad_clip, sampling_rate, physical_batch_size, "ova"
    )
    return (total + gaussian_noise(k_noise, w.shape, grad_std, dtype=w.dtype)) / sampling_rate


@functools.partial(
    jax.jit, static_argnames=("steps", "sampling_rate", "physical_batch_size", "tail_average")
)
def fc_sgd_weights(
    key,
    x,
    y1h,
    xc,
    cov_std,
    grad_std,
    grad_clip,
    ridge,
    learning_rate,
    *,
    steps,
    sampling_rate,
    physical_batch_size,
    tail_average=True,
):
    """Pure core (q < 1): one noisy covariance, then ``steps`` subsampled preconditioned steps.

    ``x, y1h`` are the flat preprocessed rows (for Poisson sampling), ``xc`` the same rows
    chunked (see ``statistics``) for X^T X.
    """
    d, num_classes = x.shape[1], y1h.shape[1]
    k_cov, k_steps = jax.random.split(key)
    precond_inverse = noisy_preconditioner_inverse(
        k_cov, xc, cov_std, ridge, CURVATURE_BOUND["ova"]
    )

    start = steps // 2 if tail_average else steps - 1  # iterates averaged from here on

    def step(carry, step_key):
        w, avg, t = carry
        grad = poisson_noisy_gradient(
            step_key, w, x, y1h, grad_clip, grad_std, sampling_rate, physical_batch_size
        )
        w = w - learning_rate * (precond_inverse @ grad)
        avg = jnp.where(t >= start, avg + (w - avg) / jnp.maximum(t - start + 1, 1), avg)
        return (w, avg, t + 1), {"noisy_grad_norm": jnp.linalg.norm(grad)}

    w0 = jnp.zeros((d, num_classes), x.dtype)
    (_, avg, _), history = jax.lax.scan(
        step, (w0, w0, jnp.int32(0)), jax.random.split(k_steps, steps)
    )
    return avg, history


def fc_sgd_core(
    key, data, cov_std, grad_std, ridge, *, hyperparameters, num_examples, physical_batch_size=4096
):
    """(weights, history) of one DP-FC-SGD run: DP-FC's core (one-vs-all) at full batch,
    :func:`fc_sgd_weights` otherwise.

    Args:
        key: the run's PRNG key.
        data: (x, y1h, xc, yc): the preprocessed rows flat (for Poisson sampling) and the
            same rows chunked by ``statistics.shard_rows`` (for X^T X).
        cov_std, grad_std, ridge: the plan's noise stds and ridge (may be traced).
        hyperparameters: the plan's resolved hyperparameters (steps, batch_size,
            learning_rate, grad_clip, tail_average).
        num_examples: n.
        physical_batch_size: the most rows summed at once.
    """
    x, y1h, xc, yc = data
    hp = hyperparameters
    q = 1.0 if hp["batch_size"] is None else hp["batch_size"] / num_examples
    if q == 1.0:
        return fc_weights(
            key,
            xc,
            yc,
            cov_std,
            grad_std,
            hp["grad_clip"],
            ridge,
            hp["learning_rate"],
            steps=hp["steps"],
            loss="ova",
        )
    return fc_sgd_weights(
        key,
        x,
        y1h,
        xc,
        cov_std,
        grad_std,
        hp["grad_clip"],
        ridge,
        hp["learning_rate"],
        steps=hp["steps"],
        sampling_rate=q,
        physical_batch_size=physical_chunk(q, num_examples, physical_batch_size),
        tail_average=hp["tail_average"],
    )


def dp_fc_sgd(
    key: jax.Array,
    x,
    y,
    *,
    epsilon: float,
    delta: float = 1e-5,
    num_classes: int | None = None,
    steps: int = DEFAULTS["steps"],
    batch_size: int | None = DEFAULTS["batch_size"],
    learning_rate: float = DEFAULTS["learning_rate"],
    ridge: float | None = DEFAULTS["ridge"],
    cov_share: float = DEFAULTS["cov_share"],
    grad_clip: float = DEFAULTS["grad_clip"],
    feature_norm: float = 1.0,
    preprocess: str = "normalize",
    accountant: str = DEFAULTS["accountant"],
    tail_average: bool = DEFAULTS["tail_average"],
    physical_batch_size: int = 4096,
) -> LastLayerResult:
    """(epsilon, delta)-DP DP-FC-SGD on the one-vs-all logistic loss of a zero-init last layer.

    Releases (add/remove one): X^T X once (sensitivity C^2, DP-FC's noise at ``cov_share``)
    and ``steps`` times the clipped gradient sum of a Poisson sample with rate
    q = batch_size / n (sensitivity ``grad_clip``); accounted with ``accountant`` ("pld" or
    "rdp"). ``batch_size=None`` is full batch, identical to ``dp_fc(loss="ova",
    center_share=0)``.
    ``batch_size`` larger than n is an error (q would exceed 1). ``tail_average`` returns
    the mean of the iterates of the second half of the steps (post-processing, free).

    Defaults (10 steps, B = 6000, lr 0.5, tail averaging) were chosen on the synthetic proxy
    of ``benchmarks/tune_defaults.py`` (60000 x 320, K = 10; epsilon 0.3, 1, 8; grid steps
    {10, 30, 100} x B {3000, 6000, 15000} x lr {0.5, 1} x averaging on/off), never on the
    shipped features.
    """
    xp, y1h, num_classes = prepare_inputs(x, y, num_classes, feature_norm, preprocess)
    n, d = xp.shape
    plan = fc_sgd_plan(
        epsilon,
        delta,
        num_examples=n,
        dim=d,
        feature_norm=feature_norm,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        ridge=ridge,
        cov_share=cov_share,
        grad_clip=grad_clip,
        accountant=accountant,
        tail_average=tail_average,
    )
    physical = _validate.check_positive_int("physical_batch_size", physical_batch_size)
    data = (xp, y1h, *statistics.shard_rows(xp, y1h))
    hp = plan.hyperparameters
    w, history = fc_sgd_core(
        key,
        data,
        *plan.noise_stds,
        hp["ridge"],
        hyperparameters=hp,
        num_examples=n,
        physical_batch_size=physical,
    )
    return LastLayerResult(
        method="dp_fc_sgd",
        weights=w,
        bias=jnp.zeros(num_classes),
        privacy=plan.spent(delta),
        feature_norm=feature_norm,
        preprocess=preprocess,
        history=history,
        config=hp,
    )
