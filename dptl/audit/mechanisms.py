"""The solvers' releases as mechanisms to audit, and deliberately broken variants.

Each builder returns an :class:`AuditedMechanism`: a pure JAX ``release(key, x, y, scales)``
that calls the functions the solvers themselves release through (``least_squares_statistics``,
``newton_step_releases``, DP-FC's ``noisy_covariance`` and ``noisy_gradient_sum``, and
``dpsgd_weights`` itself for DP-GD and Poisson-subsampled DP-SGD) with the noise std the
solvers' ``*_releases`` calibrate, the claimed (epsilon, delta), and two neighbouring
datasets (add/remove one example):

- D' holds a *canary* x* = C e_1 (norm C, along the first axis), label 0 (1 for DP-GD/SGD);
- D is D' with the canary row set to zero. A zero row adds nothing to any statistic the
  solvers release (every one is a sum of terms that are multiples of x_i), so running a
  solver on D is running it on D' without the canary, with the same array shapes.

Why this canary is the most distinguishable one: symmetric matrices are released as their
upper triangle, where x x^T has norm sqrt((||x||^4 + sum_j x_j^4) / 2) <= ||x||^2 with
equality for an axis-aligned x; the canary's contribution to X^T Y has norm ||x|| ||y|| = C;
its one-vs-all Hessian contributions at W = 0 are all x x^T / 4 (p = 1/2), jointly
sqrt(K) C^2 / 4; its gradient x (p - y)^T is longer than the clip norm G for the settings
below, so it is clipped to exactly G. Every release therefore moves by exactly its stated
sensitivity k_i, the composition of one step is mu-GDP with mu = sqrt(sum_i k_i^2 / s_i^2)
with *equality*, and the optimal test (likelihood ratio) reaches the claimed epsilon: an
audit of a correct mechanism can approach the claim from below but never exceed it.

Broken variants (what an audit must catch):

- ``noise_halved``: least squares with both noise stds halved (mu doubles);
- ``shared_noise``: least squares with per-class Grams (alpha != 1), one noise matrix added
  to every class (a known flaw of the papers' reference code): the differences between
  classes' Grams come out noise-free, so epsilon is infinite;
- ``batch_clipping``: DP-GD clipping the *sum* of the gradients to G instead of each
  example's gradient. One example can then flip the clipped sum from G u to -G u: the
  sensitivity is 2G, not G. D holds one example whose gradient opposes the canary's;
- ``forgot_sqrt_k``: DP-Newton calibrated with Hessian sensitivity C^2/4 instead of
  sqrt(K) C^2/4 (K = 6, 90% of the budget on the Hessians: mu grows by 2.35);
- ``forgot_square``: DP-FC calibrated with covariance sensitivity C instead of C^2
  (C = 3: mu grows by sqrt(0.5 * 9 + 0.5) = 2.24);
- ``overclaimed_amplification`` (Poisson-subsampled DP-SGD, :func:`dp_sgd_mechanism`):
  accounted at sampling rate q/10 while the loader samples at q;
- ``covariance_not_accounted`` (DP-FC-SGD, :func:`fc_sgd_mechanism`): the feature
  covariance is released but left out of the accounting.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from dptl import _validate
from dptl.privacy import (
    calibrate_full_batch,
    clip_rows,
    composed_mu,
    dpsgd_epsilon,
    epsilon_of_event,
    gaussian_noise,
    gdp_epsilon,
    symmetric_gaussian_noise,
)
from dptl.solvers import statistics
from dptl.solvers.dpsgd import dpsgd_release, dpsgd_weights, physical_chunk
from dptl.solvers.fc import fc_releases, noisy_covariance
from dptl.solvers.fc_sgd import fc_sgd_event, poisson_noisy_gradient
from dptl.solvers.inputs import preprocess_features
from dptl.solvers.least_squares import least_squares_releases, least_squares_statistics
from dptl.solvers.logistic import clipped_gradient_sum_chunked, noisy_gradient_sum
from dptl.solvers.newton import newton_releases, newton_step_releases

__all__ = [
    "BROKEN",
    "MECHANISMS",
    "AuditedMechanism",
    "canary_pair",
    "dp_gd_batch_clipping_release",
    "dp_gd_mechanism",
    "dp_gd_release",
    "dp_sgd_mechanism",
    "dp_sgd_release",
    "fc_release",
    "fc_mechanism",
    "fc_sgd_mechanism",
    "fc_sgd_release",
    "least_squares_mechanism",
    "least_squares_per_class_mechanism",
    "least_squares_per_class_release",
    "least_squares_release",
    "make_mechanism",
    "newton_mechanism",
    "newton_release",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditedMechanism:
    """A randomised release, the (epsilon, delta) claimed for it, and a neighbouring pair.

    ``release(key, x, y, scales)`` maps a key, chunked data (see ``statistics.shard_rows``)
    and the dict ``scales`` (noise stds, clip norms: traced, so the library's mechanism and
    its broken variant share one compilation) to a dict of arrays; it must be pure JAX so
    runs can be vmapped over keys. ``symmetric`` names the releases that are symmetric
    matrices (observed through their upper triangle). ``true_epsilon`` is what the
    mechanism really spends on this pair, from the GDP formula (PLD for Poisson sampling)
    with the noise actually added and the sensitivity actually reached: equal to the claim
    for the library's mechanisms, above it for the broken ones.
    """

    name: str
    release: Callable
    without: tuple
    with_canary: tuple
    epsilon: float
    delta: float
    true_epsilon: float
    scales: dict = dataclasses.field(default_factory=dict)
    symmetric: tuple[str, ...] = ()
    broken: str = ""

    def __post_init__(self):
        _validate.check_epsilon(self.epsilon, allow_inf=False)
        _validate.check_delta(self.delta)
        if not callable(self.release):
            raise TypeError(f"release must be callable, got {self.release!r}")
        if len(self.without) != 2 or len(self.with_canary) != 2:
            raise ValueError("without and with_canary must each be a pair (x, y) of chunked arrays")
        for a, b in zip(self.without, self.with_canary, strict=True):
            if a.shape != b.shape:
                raise ValueError(
                    f"the two datasets must have the same shapes, got {a.shape} and {b.shape}"
                )

    def observe(self, release: dict) -> jax.Array:
        """The release as one flat vector (upper triangles of the symmetric matrices)."""
        parts = []
        for name in sorted(release):
            value = release[name]
            if name in self.symmetric:
                i, j = np.triu_indices(value.shape[-1])
                value = value[..., i, j]
            parts.append(jnp.ravel(value))
        return jnp.concatenate(parts)


def canary_pair(rows, *, feature_norm: float, num_classes: int, canary_label: int = 0):
    """Chunked (D, D') from the other examples ``rows = (x, labels)`` and a canary C e_1.

    The other examples go through the solvers' own per-example clipping to norm C.
    """
    x, labels = rows
    d = x.shape[1]
    x = np.asarray(preprocess_features(np.asarray(x, np.float32), feature_norm, "clip"))
    canary = np.zeros((1, d), np.float32)
    canary[0, 0] = feature_norm
    labels = np.concatenate([[canary_label], np.asarray(labels, int)])
    y1h = np.eye(num_classes, dtype=np.float32)[labels]
    x_with = np.concatenate([canary, x])
    x_without = np.concatenate([np.zeros_like(canary), x])
    return statistics.shard_rows(x_without, y1h), statistics.shard_rows(x_with, y1h)


def _random_rows(n, d, num_classes, feature_norm, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    x *= feature_norm / np.linalg.norm(x, axis=1, keepdims=True)
    return x, rng.integers(num_classes, size=n)


def _mu(pairs) -> float:
    """mu of a composition from (sensitivity reached, noise std actually added) pairs."""
    return composed_mu(*zip(*pairs, strict=True))


def _check_broken(broken, allowed):
    if broken not in (None, *allowed):
        raise ValueError(f"broken must be None or one of {allowed}, got {broken!r}")


def _shape(x, y):
    return x.shape[-1], y.shape[-1]


def least_squares_release(key, x, y, scales):
    """X^T X and X^T Y as ``dp_least_squares`` releases them (``least_squares_statistics``)."""
    a, b = least_squares_statistics(key, x, y, scales["cov_std"], scales["xty_std"])
    return {"X^T X": a, "X^T Y": b}


def least_squares_mechanism(
    epsilon: float,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    num_classes: int = 2,
    num_examples: int = 16,
    feature_norm: float = 1.0,
    broken: str | None = None,
    seed: int = 0,
) -> AuditedMechanism:
    """DP least squares: X^T X (sensitivity C^2) and X^T Y (sensitivity C), released once.

    Noise from ``least_squares_releases``; ``broken="noise_halved"`` halves both stds.
    """
    _check_broken(broken, ("noise_halved",))
    rel = least_squares_releases(epsilon, delta, feature_norm=feature_norm)
    factor = 0.5 if broken else 1.0
    cov_std, xty_std = factor * rel[0].noise_std, factor * rel[1].noise_std
    without, with_canary = canary_pair(
        _random_rows(num_examples, dim, num_classes, feature_norm, seed),
        feature_norm=feature_norm,
        num_classes=num_classes,
    )
    c = feature_norm
    return AuditedMechanism(
        name="least squares",
        release=least_squares_release,
        without=without,
        with_canary=with_canary,
        epsilon=epsilon,
        delta=delta,
        symmetric=("X^T X",),
        scales={"cov_std": cov_std, "xty_std": xty_std},
        true_epsilon=gdp_epsilon(_mu([(c * c, cov_std), (c, xty_std)]), delta),
        broken="noise std halved" if broken else "",
    )


def least_squares_per_class_release(key, x, y, scales):
    """The per-class Grams and X^T Y as ``dp_least_squares(alpha != 1)`` releases them."""
    a, b = least_squares_statistics(key, x, y, scales["cov_std"], scales["xty_std"], per_class=True)
    return {"per-class X_k^T X_k": a, "X^T Y": b}


def least_squares_shared_noise_release(key, x, y, scales):
    """BROKEN: one noise matrix added to every class's Gram, as in the papers' reference code.

    G_j~ - G_k~ = G_j - G_k is then released without noise: the canary shows exactly.
    """
    d, k = _shape(x, y)
    k_cov, k_xty = jax.random.split(key)
    noise = symmetric_gaussian_noise(k_cov, d, scales["cov_std"])  # broadcast over classes
    return {
        "per-class X_k^T X_k": statistics.class_grams(x, y) + noise,
        "X^T Y": statistics.cross(x, y) + gaussian_noise(k_xty, (d, k), scales["xty_std"]),
    }


def least_squares_per_class_mechanism(
    epsilon: float,
    delta: float = 1e-5,
    *,
    dim: int = 6,
    num_classes: int = 3,
    num_examples: int = 16,
    feature_norm: float = 1.0,
    broken: str | None = None,
    seed: int = 0,
) -> AuditedMechanism:
    """The papers' least squares variant (alpha != 1): the K per-class Grams X_k^T X_k
    (sensitivity C^2 together: the canary is in one class) and X^T Y (sensitivity C).

    Noise from ``least_squares_releases(alpha != 1)``; ``broken="shared_noise"`` adds the
    same noise matrix to every class (noise not independent across classes): epsilon = inf.
    """
    _check_broken(broken, ("shared_noise",))
    rel = least_squares_releases(epsilon, delta, feature_norm=feature_norm, alpha=0.5)
    cov_std, xty_std = rel[0].noise_std, rel[1].noise_std
    without, with_canary = canary_pair(
        _random_rows(num_examples, dim, num_classes, feature_norm, seed),
        feature_norm=feature_norm,
        num_classes=num_classes,
    )
    c = feature_norm
    return AuditedMechanism(
        name="least squares, per-class Grams",
        release=least_squares_shared_noise_release if broken else least_squares_per_class_release,
        without=without,
        with_canary=with_canary,
        epsilon=epsilon,
        delta=delta,
        symmetric=("per-class X_k^T X_k",),
        scales={"cov_std": cov_std, "xty_std": xty_std},
        true_epsilon=math.inf
        if broken
        else gdp_epsilon(_mu([(c * c, cov_std), (c, xty_std)]), delta),
        broken="one noise matrix shared by all classes" if broken else "",
    )


def dp_gd_release(key, x, y, scales):
    """One step of the library's ``dpsgd_weights`` (full batch, SGD, lr 1, W_0 = 0).

    W_1 = -(clipped sum + noise) / n, so the release is -n W_1 (n cancels exactly).
    """
    d, k = _shape(x, y)
    n = x.shape[0] * x.shape[1]
    w0 = jnp.zeros((d, k), x.dtype)
    w1, _ = dpsgd_weights(
        key,
        (x, y),
        w0,
        scales["std"],
        scales["grad_clip"],
        1.0,
        steps=1,
        optimizer="sgd",
        sampling_rate=1.0,
        num_examples=n,
    )
    return {"clipped gradient sum": -n * w1}


def dp_gd_batch_clipping_release(key, x, y, scales):
    """BROKEN: the gradient *sum* is clipped to G, each example's gradient is not."""
    d, k = _shape(x, y)
    w0 = jnp.zeros((d, k), x.dtype)
    total = clipped_gradient_sum_chunked(w0, x, y, jnp.inf)  # no per-example clipping
    total = clip_rows(total.reshape(1, -1), scales["grad_clip"]).reshape(total.shape)
    return {"clipped gradient sum": total + gaussian_noise(key, total.shape, scales["std"])}


def dp_gd_mechanism(
    epsilon: float,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    grad_clip: float = 0.25,
    broken: str | None = None,
) -> AuditedMechanism:
    """One full-batch DP-GD step (softmax loss, K = 2, C = 1, W = 0): the clipped gradient sum.

    The library's mechanism is ``dpsgd_weights`` itself (:func:`dp_gd_release`), noise from
    ``dpsgd_release(steps=1)``. D holds one example 0.5 e_1 of class 0, whose gradient (norm
    0.35 > G) opposes the canary's (class 1, norm 0.71). ``broken="batch_clipping"`` clips
    the gradient *sum* to G instead of each gradient: the canary then flips the clipped sum
    from G u to -G u, a change of 2G.
    """
    _check_broken(broken, ("batch_clipping",))
    g = _validate.check_positive("grad_clip", grad_clip)
    if g > 0.35:
        raise ValueError(
            f"grad_clip must be <= 0.35 so both gradients get clipped, got {grad_clip!r}"
        )
    x = np.zeros((1, dim), np.float32)
    x[0, 0] = 0.5
    without, with_canary = canary_pair((x, [0]), feature_norm=1.0, num_classes=2, canary_label=1)
    std = dpsgd_release(epsilon, delta, num_examples=2, steps=1, grad_clip=g).noise_std
    return AuditedMechanism(
        name="DP-GD",
        release=dp_gd_batch_clipping_release if broken else dp_gd_release,
        without=without,
        with_canary=with_canary,
        epsilon=epsilon,
        delta=delta,
        scales={"std": std, "grad_clip": g},
        true_epsilon=gdp_epsilon((2 * g if broken else g) / std, delta),
        broken="per-batch instead of per-example clipping" if broken else "",
    )


def newton_release(key, x, y, scales):
    """One DP-Newton step's releases at W = 0 (``newton_step_releases``)."""
    d, k = _shape(x, y)
    hess, grad = newton_step_releases(
        key,
        jnp.zeros((d, k), x.dtype),
        x,
        y,
        scales["hess_std"],
        scales["grad_std"],
        scales["grad_clip"],
    )
    return {"one-vs-all Hessians": hess, "clipped gradient sum": grad}


def newton_mechanism(
    epsilon: float,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    num_classes: int = 6,
    num_examples: int = 16,
    grad_clip: float = 0.5,
    hessian_share: float = 0.9,
    broken: str | None = None,
    seed: int = 0,
) -> AuditedMechanism:
    """One DP-Newton step at W = 0 (C = 1): the K one-vs-all Hessians and the gradient sum.

    Noise from ``newton_releases(steps=1)``; ``broken="forgot_sqrt_k"`` calibrates with
    Hessian sensitivity C^2/4 instead of sqrt(K) C^2/4 (K = 6, 90% of the budget on the
    Hessians: mu grows by sqrt(0.9 K + 0.1) = 2.35).
    """
    _check_broken(broken, ("forgot_sqrt_k",))
    k, g = num_classes, grad_clip
    if g > math.sqrt(k) / 2:
        raise ValueError(f"grad_clip must be <= sqrt(K)/2 = {math.sqrt(k) / 2:.3g}, got {g!r}")
    if broken:
        rel = calibrate_full_batch(
            epsilon,
            delta,
            [
                ("one-vs-all Hessians", 0.25, 1, hessian_share),
                ("clipped gradient sum", g, 1, 1 - hessian_share),
            ],
        )
    else:
        rel = newton_releases(
            epsilon, delta, num_classes=k, steps=1, grad_clip=g, hessian_share=hessian_share
        )
    hess_std, grad_std = rel[0].noise_std, rel[1].noise_std
    without, with_canary = canary_pair(
        _random_rows(num_examples, dim, k, 1.0, seed), feature_norm=1.0, num_classes=k
    )
    return AuditedMechanism(
        name="DP-Newton",
        release=newton_release,
        without=without,
        with_canary=with_canary,
        epsilon=epsilon,
        delta=delta,
        symmetric=("one-vs-all Hessians",),
        scales={"hess_std": hess_std, "grad_std": grad_std, "grad_clip": g},
        true_epsilon=gdp_epsilon(_mu([(math.sqrt(k) / 4, hess_std), (g, grad_std)]), delta),
        broken="Hessian sensitivity without sqrt(K)" if broken else "",
    )


def fc_release(key, x, y, scales):
    """DP-FC's covariance and first gradient release at W = 0 (keys as in fc_weights)."""
    d, k = _shape(x, y)
    k_cov, k_steps = jax.random.split(key)
    grad = noisy_gradient_sum(
        jax.random.split(k_steps, 1)[0],
        jnp.zeros((d, k), x.dtype),
        x,
        y,
        scales["grad_clip"],
        scales["grad_std"],
        loss="ova",
    )
    return {
        "feature covariance X^T X": noisy_covariance(k_cov, x, scales["cov_std"]),
        "clipped gradient sum": grad,
    }


def fc_mechanism(
    epsilon: float,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    num_classes: int = 2,
    num_examples: int = 16,
    feature_norm: float = 3.0,
    grad_clip: float = 1.0,
    cov_share: float = 0.5,
    broken: str | None = None,
    seed: int = 0,
) -> AuditedMechanism:
    """DP-FC's covariance X^T X and its first gradient sum (one-vs-all loss, W = 0).

    Noise from ``fc_releases(steps=1)``; ``broken="forgot_square"`` calibrates the
    covariance with sensitivity C instead of C^2 (C = 3: mu grows by sqrt(0.5 * 9 + 0.5)).
    """
    _check_broken(broken, ("forgot_square",))
    c, g = feature_norm, grad_clip
    if g > c * math.sqrt(num_classes) / 2:
        raise ValueError(
            f"grad_clip must be <= C sqrt(K)/2 so the canary's gradient is clipped, got {g!r}"
        )
    if broken:
        rel = calibrate_full_batch(
            epsilon,
            delta,
            [
                ("feature covariance X^T X", c, 1, cov_share),
                ("clipped gradient sum", g, 1, 1 - cov_share),
            ],
        )
    else:
        rel = fc_releases(epsilon, delta, steps=1, feature_norm=c, grad_clip=g, cov_share=cov_share)
    cov_std, grad_std = rel[0].noise_std, rel[1].noise_std
    without, with_canary = canary_pair(
        _random_rows(num_examples, dim, num_classes, c, seed),
        feature_norm=c,
        num_classes=num_classes,
    )
    return AuditedMechanism(
        name="DP-FC",
        release=fc_release,
        without=without,
        with_canary=with_canary,
        epsilon=epsilon,
        delta=delta,
        symmetric=("feature covariance X^T X",),
        scales={"cov_std": cov_std, "grad_std": grad_std, "grad_clip": g},
        true_epsilon=gdp_epsilon(_mu([(c * c, cov_std), (g, grad_std)]), delta),
        broken="covariance sensitivity C instead of C^2" if broken else "",
    )


def dp_sgd_release(key, x, y, scales, *, sampling_rate):
    """One Poisson-subsampled step of the library's ``dpsgd_weights`` (SGD, lr 1, W_0 = 0).

    W_1 = -(sum over the Poisson sample + noise) / (q n): the release is -q n W_1.
    ``x``/``y`` are flat here (the Poisson path of ``dpsgd_weights`` samples rows itself);
    the sampling rate is static (it shapes the sampling code), see :func:`_dp_sgd_release_at`.
    """
    n, d = x.shape
    k = y.shape[-1]
    q = sampling_rate
    w1, _ = dpsgd_weights(
        key,
        (x, y),
        jnp.zeros((d, k), x.dtype),
        scales["std"],
        scales["grad_clip"],
        1.0,
        steps=1,
        optimizer="sgd",
        sampling_rate=q,
        num_examples=n,
        physical_batch_size=physical_chunk(q, n),
    )
    return {"clipped gradient sum": -q * n * w1}


@functools.cache
def _release_at(release: Callable, sampling_rate: float):
    """One release function per sampling rate, so audits at one rate share a compilation."""
    return functools.partial(release, sampling_rate=sampling_rate)


def _poisson_canary_pair(num_examples, dim, grad_clip, canary_label):
    """(D, D', grad_clip as a float) for the Poisson audits: flat zero rows plus the canary
    C e_1 (C = 1, K = 2), whose gradient (norm sqrt(1/2) at W = 0) must be clipped to
    ``grad_clip``."""
    g = _validate.check_positive("grad_clip", grad_clip)
    if g > math.sqrt(0.5):
        raise ValueError(
            f"grad_clip must be <= sqrt(1/2) so the canary's gradient is clipped, got {grad_clip!r}"
        )
    x = np.zeros((num_examples - 1, dim), np.float32)
    pairs = canary_pair(
        (x, [0] * (num_examples - 1)), feature_norm=1.0, num_classes=2, canary_label=canary_label
    )
    without, with_canary = (
        tuple(a.reshape(-1, a.shape[-1])[:num_examples] for a in pair) for pair in pairs
    )
    return without, with_canary, g


def dp_sgd_mechanism(
    noise_multiplier: float = 1.0,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    sampling_rate: float = 0.5,
    num_examples: int = 4,
    grad_clip: float = 0.5,
    broken: str | None = None,
) -> AuditedMechanism:
    """One Poisson-subsampled DP-SGD step (softmax loss, K = 2, C = 1, W = 0).

    The mechanism is ``dpsgd_weights`` with its real Poisson sampling (each row in with
    probability q); the claim is the library's PLD accounting of one step,
    ``dpsgd_epsilon(noise_multiplier, q, 1, delta)`` (calibrating the noise to an epsilon
    with PLD takes ~20 s, so this builder goes the other way). The other rows are zero, so
    the only randomness besides the noise is whether the canary is in the batch.
    ``broken="overclaimed_amplification"``: the accountant is told the sampling rate is q/10
    while the loader samples at q (e.g. a batch size / dataset size mix-up), so the claim
    is far below what the mechanism spends.
    """
    _check_broken(broken, ("overclaimed_amplification",))
    sigma = _validate.check_positive("noise_multiplier", noise_multiplier)
    q = _validate.check_fraction("sampling_rate", sampling_rate)
    without, with_canary, g = _poisson_canary_pair(num_examples, dim, grad_clip, canary_label=1)
    true_epsilon = dpsgd_epsilon(sigma, q, 1, delta, "pld")
    return AuditedMechanism(
        name="DP-SGD (Poisson)",
        release=_release_at(dp_sgd_release, q),
        without=without,
        with_canary=with_canary,
        delta=delta,
        epsilon=dpsgd_epsilon(sigma, q / 10, 1, delta, "pld") if broken else true_epsilon,
        true_epsilon=true_epsilon,
        scales={"std": sigma * g, "grad_clip": g},
        broken="accounted at q/10, sampled at q" if broken else "",
    )


def fc_sgd_release(key, x, y, scales, *, sampling_rate):
    """DP-FC-SGD's covariance and first Poisson-subsampled gradient at W = 0 (keys as in
    fc_sgd_weights). ``x``/``y`` are flat; the release is q times the step's unbiased
    estimate, i.e. the noisy sum (post-processing)."""
    n, d = x.shape
    q = sampling_rate
    k_cov, k_steps = jax.random.split(key)
    grad = poisson_noisy_gradient(
        jax.random.split(k_steps, 1)[0],
        jnp.zeros((d, y.shape[-1]), x.dtype),
        x,
        y,
        scales["grad_clip"],
        scales["grad_std"],
        q,
        physical_chunk(q, n),
    )
    return {
        "feature covariance X^T X": noisy_covariance(k_cov, x[None], scales["cov_std"]),
        "clipped gradient sum": q * grad,
    }


def fc_sgd_mechanism(
    cov_noise_multiplier: float = 0.5,
    noise_multiplier: float = 2.0,
    delta: float = 1e-5,
    *,
    dim: int = 8,
    sampling_rate: float = 0.5,
    num_examples: int = 4,
    grad_clip: float = 0.5,
    broken: str | None = None,
) -> AuditedMechanism:
    """DP-FC-SGD (C = 1, K = 2, W = 0): X^T X once, then one Poisson-subsampled gradient sum.

    The claim is the library's PLD accounting of ``fc_sgd_event`` at these noise
    multipliers (as :func:`dp_sgd_mechanism`, this builder fixes the noise). The other rows
    are zero. ``broken="covariance_not_accounted"``: the claim leaves out the covariance
    release (preprocessing on private data treated as free), so it is far below what the
    mechanism spends.
    """
    _check_broken(broken, ("covariance_not_accounted",))
    cov_nm = _validate.check_positive("cov_noise_multiplier", cov_noise_multiplier)
    sigma = _validate.check_positive("noise_multiplier", noise_multiplier)
    q = _validate.check_fraction("sampling_rate", sampling_rate)
    without, with_canary, g = _poisson_canary_pair(num_examples, dim, grad_clip, canary_label=0)
    true_epsilon = epsilon_of_event(fc_sgd_event(cov_nm, sigma, q, 1), delta, "pld")
    return AuditedMechanism(
        name="DP-FC-SGD (Poisson)",
        release=_release_at(fc_sgd_release, q),
        without=without,
        with_canary=with_canary,
        delta=delta,
        symmetric=("feature covariance X^T X",),
        epsilon=dpsgd_epsilon(sigma, q, 1, delta, "pld") if broken else true_epsilon,
        true_epsilon=true_epsilon,
        scales={"cov_std": cov_nm, "grad_std": sigma * g, "grad_clip": g},
        broken="covariance release not accounted" if broken else "",
    )


MECHANISMS = {
    "dp_least_squares": least_squares_mechanism,
    "dp_gd": dp_gd_mechanism,
    "dp_newton": newton_mechanism,
    "dp_fc": fc_mechanism,
    "dp_least_squares_per_class": least_squares_per_class_mechanism,
}
BROKEN = {
    "dp_least_squares": "noise_halved",
    "dp_gd": "batch_clipping",
    "dp_newton": "forgot_sqrt_k",
    "dp_fc": "forgot_square",
    "dp_least_squares_per_class": "shared_noise",
}


def make_mechanism(
    name: str, epsilon: float, delta: float = 1e-5, *, broken: bool = False, **options
) -> AuditedMechanism:
    """``MECHANISMS[name]`` at (epsilon, delta), or its broken variant ``BROKEN[name]``."""
    if name not in MECHANISMS:
        raise ValueError(f"mechanism must be one of {list(MECHANISMS)}, got {name!r}")
    return MECHANISMS[name](epsilon, delta, broken=BROKEN[name] if broken else None, **options)
