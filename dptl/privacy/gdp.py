"""Exact accounting of Gaussian mechanisms through Gaussian differential privacy (GDP).

A Gaussian mechanism with L2 sensitivity k and noise std s is exactly mu-GDP with
mu = k / s (Dong, Roth, Su 2019). A composition of such mechanisms, adaptive or not, is
exactly mu-GDP with mu = sqrt(sum_i (k_i / s_i)^2), and mu-GDP is equivalent to the family
of (epsilon, delta(epsilon))-DP guarantees with

    delta(epsilon) = Phi(-epsilon/mu + mu/2) - exp(epsilon) * Phi(-epsilon/mu - mu/2).

This is tight (no slack at all), which is why full-batch methods (DP least squares, DP-GD,
DP-Newton, DP-FC) are calibrated with it rather than with RDP. Every function here works
on plain floats on the host; results agree with ``dp_accounting``'s PLD accountant up to its
discretisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, special

from dptl import _validate

__all__ = [
    "composed_mu",
    "gaussian_mu",
    "gdp_delta",
    "gdp_epsilon",
    "gdp_mu",
    "rdp_closed_form_epsilon",
    "rdp_closed_form_mu",
    "signal_to_noise",
]

_MU_MAX = 1e4  # beyond this, delta(epsilon) is 1 for any epsilon a person would ask for


def gaussian_mu(sensitivity: float, noise_std: float) -> float:
    """mu of one Gaussian release: sensitivity / noise_std (``inf`` when noise_std is 0)."""
    k = _validate.check_nonnegative("sensitivity", sensitivity)
    s = _validate.check_nonnegative("noise_std", noise_std)
    if s == 0:
        return math.inf if k > 0 else 0.0
    return k / s


def composed_mu(
    sensitivities: Sequence[float], noise_stds: Sequence[float], counts: Sequence[int] | None = None
) -> float:
    """mu of a composition: sqrt(sum_i count_i * (k_i / s_i)^2)."""
    if len(sensitivities) != len(noise_stds):
        raise ValueError(
            f"sensitivities has {len(sensitivities)} entries but noise_stds has {len(noise_stds)}"
        )
    counts = [1] * len(sensitivities) if counts is None else list(counts)
    if len(counts) != len(sensitivities):
        raise ValueError(f"counts has {len(counts)} entries, expected {len(sensitivities)}")
    total = 0.0
    for k, s, c in zip(sensitivities, noise_stds, counts, strict=True):
        mu = gaussian_mu(k, s)
        if math.isinf(mu):
            return math.inf
        total += _validate.check_positive_int("counts", c, minimum=0) * mu * mu
    return math.sqrt(total)


def _log_delta(epsilon: float, mu: float) -> float:
    """log delta(epsilon) of mu-GDP, stable for large epsilon and small mu."""
    a = special.log_ndtr(-epsilon / mu + mu / 2)
    b = epsilon + special.log_ndtr(-epsilon / mu - mu / 2)
    if b >= a:  # only by rounding: the true value is tiny and non-negative
        return -math.inf
    return a + math.log1p(-math.exp(b - a))


def gdp_delta(epsilon: float, mu: float) -> float:
    """delta(epsilon) of a mu-GDP mechanism."""
    eps = _validate.check_nonnegative("epsilon", epsilon, allow_inf=True)
    mu = _validate.check_nonnegative("mu", mu, allow_inf=True)
    if mu == 0 or math.isinf(eps):
        return 0.0
    if math.isinf(mu):
        return 1.0
    return math.exp(_log_delta(eps, mu))


def gdp_epsilon(mu: float, delta: float) -> float:
    """Smallest epsilon with delta(epsilon) <= delta for a mu-GDP mechanism.

    ``mu = 0`` (no release) gives 0; ``mu = inf`` (a release without noise) gives ``inf``.
    """
    mu = _validate.check_nonnegative("mu", mu, allow_inf=True)
    delta = _validate.check_delta(delta)
    if mu == 0:
        return 0.0
    if math.isinf(mu):
        return math.inf
    if gdp_delta(0.0, mu) <= delta:
        return 0.0
    log_target = math.log(delta)
    hi = max(1.0, mu * mu / 2 + mu * math.sqrt(2 * math.log(1 / delta)))  # RDP bound >= exact
    while _log_delta(hi, mu) > log_target:
        hi *= 2
    eps = optimize.brentq(lambda e: _log_delta(e, mu) - log_target, 0.0, hi, xtol=1e-12, rtol=1e-12)
    # Round up: the returned epsilon must satisfy the guarantee, never undershoot it.
    while _log_delta(eps, mu) > log_target:
        eps = np.nextafter(eps, math.inf) * (1 + 1e-12)
    return float(eps)


def gdp_mu(epsilon: float, delta: float) -> float:
    """Largest mu whose mu-GDP guarantee implies (epsilon, delta)-DP.

    delta(epsilon) grows with mu, so this is a one-dimensional root; the result is rounded
    down so that a mechanism calibrated to it never spends more than the target.
    """
    eps = _validate.check_epsilon(epsilon)
    delta = _validate.check_delta(delta)
    if math.isinf(eps):
        return math.inf
    log_target = math.log(delta)
    f = lambda m: _log_delta(eps, m) - log_target
    lo, hi = 1e-12, 1.0
    while f(hi) < 0:
        lo, hi = hi, hi * 2
        if hi > _MU_MAX:
            if f(_MU_MAX) <= 0:
                return _MU_MAX
            hi = _MU_MAX  # the root lies in (lo, _MU_MAX): returning _MU_MAX would overshoot
            break
    mu = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-13)
    while f(mu) > 0:
        mu = np.nextafter(mu, 0.0) * (1 - 1e-12)
    # Headroom for the float round trip sigma = k / mu -> mu' = k / sigma -> gdp_epsilon(mu'),
    # which rounds up: without it the spent epsilon came out ~1e-12 above the target.
    return float(mu * (1 - 1e-9))


def signal_to_noise(num_examples: int, epsilon: float, delta: float) -> float:
    """n mu, the public signal-to-noise scale of full-batch releases (inf without privacy).

    A sum over n examples grows with n while a release's noise is fixed by mu, the GDP mu of
    (epsilon, delta), so two deployments with the same n mu see the same relative noise.
    The solvers' default rules are bands in it. Public: n is public under add/remove-one.
    """
    return num_examples * gdp_mu(epsilon, delta)


def rdp_closed_form_epsilon(mu: float, delta: float) -> float:
    """The classic RDP conversion for a Gaussian composition with total mu.

    RDP of order a is a*mu^2/2; converting with eps = rdp + log(1/delta)/(a-1) and
    optimising a gives eps = mu^2/2 + mu*sqrt(2 log(1/delta)). This is the closed form used
    by the papers' reference code; it is looser than :func:`gdp_epsilon`.
    """
    mu = _validate.check_nonnegative("mu", mu, allow_inf=True)
    delta = _validate.check_delta(delta)
    return mu * mu / 2 + mu * math.sqrt(2 * math.log(1 / delta))


def rdp_closed_form_mu(epsilon: float, delta: float) -> float:
    """Inverse of :func:`rdp_closed_form_epsilon`: the mu it allows at (epsilon, delta)."""
    eps = _validate.check_epsilon(epsilon)
    delta = _validate.check_delta(delta)
    if math.isinf(eps):
        return math.inf
    b = math.sqrt(2 * math.log(1 / delta))
    return -b + math.sqrt(b * b + 2 * eps)
