"""What a solver released, and what it cost.

Every noisy release is a :class:`GaussianRelease`: a statistic with stated L2 sensitivity
(under add/remove-one neighbours), the std of the Gaussian noise added to it, how many times
it was released with that std, and the Poisson sampling rate (1 for full batch). A
:class:`PrivacySpent` holds a solver's releases and the (epsilon, delta) they cost, and
describes them as a ``dp_accounting`` DpEvent so any accountant can re-check the claim.

Two ways to account:

- full batch (every release sees all the data): exact Gaussian DP, mu = sqrt(sum c k^2/s^2)
  (:mod:`dptl.privacy.gdp`), the tightest possible;
- Poisson-subsampled releases (DP-SGD): ``dp_accounting``'s PLD accountant (default) or RDP.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence

import dp_accounting as dpa

from dptl import _validate
from dptl.privacy import gdp

__all__ = [
    "NEIGHBOURING",
    "PLD_MIN_NOISE_MULTIPLIER",
    "GaussianRelease",
    "PrivacySpent",
    "calibrate_full_batch",
    "calibrate_noise_multiplier",
    "dpsgd_epsilon",
    "dpsgd_event",
    "dpsgd_noise_multiplier",
    "epsilon_of_event",
    "make_accountant",
    "spent",
]

NEIGHBOURING = "add/remove one example"
_ACCOUNTANTS = ("exact", "pld", "rdp")
# Below this noise multiplier the PLD grid (~1/sigma^2 points per unit of sensitivity) makes
# each epsilon evaluation take seconds to minutes and GBs of memory (epsilon=1000 ran > 5 min).
PLD_MIN_NOISE_MULTIPLIER = 0.3


@dataclasses.dataclass(frozen=True, kw_only=True)
class GaussianRelease:
    """A statistic released ``count`` times with N(0, noise_std^2) noise on each entry.

    ``sensitivity`` is its L2 sensitivity under add/remove one example; with Poisson
    sampling at ``sampling_rate`` < 1 each release sees an independent random subset.
    """

    name: str
    sensitivity: float
    noise_std: float
    count: int = 1
    sampling_rate: float = 1.0

    def __post_init__(self):
        _validate.check_positive("sensitivity", self.sensitivity)
        _validate.check_nonnegative("noise_std", self.noise_std)
        _validate.check_positive_int("count", self.count, minimum=0)
        _validate.check_fraction("sampling_rate", self.sampling_rate)

    @property
    def noise_multiplier(self) -> float:
        """noise_std / sensitivity: the std per unit of sensitivity."""
        return self.noise_std / self.sensitivity

    @property
    def mu(self) -> float:
        """GDP mu of all ``count`` releases together (full batch only)."""
        if self.count == 0:
            return 0.0  # nothing released; sqrt(0) * inf would be NaN when noise_std is 0
        return math.sqrt(self.count) * gdp.gaussian_mu(self.sensitivity, self.noise_std)

    def dp_event(self) -> dpa.DpEvent:
        if self.count == 0:
            return dpa.NoOpDpEvent()
        if self.noise_std == 0:
            return dpa.NonPrivateDpEvent()
        event: dpa.DpEvent = dpa.GaussianDpEvent(self.noise_multiplier)
        if self.sampling_rate < 1:
            event = dpa.PoissonSampledDpEvent(self.sampling_rate, event)
        return event if self.count == 1 else dpa.SelfComposedDpEvent(event, self.count)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PrivacySpent:
    """The releases of one training run and the (epsilon, delta)-DP they cost."""

    epsilon: float
    delta: float
    releases: tuple[GaussianRelease, ...]
    accountant: str
    neighbouring: str = NEIGHBOURING

    @property
    def dp_event(self) -> dpa.DpEvent:
        """All releases as one composed ``dp_accounting`` event."""
        return dpa.ComposedDpEvent([r.dp_event() for r in self.releases])

    @property
    def noise_stds(self) -> dict[str, float]:
        return {r.name: r.noise_std for r in self.releases}

    def __str__(self) -> str:
        parts = ", ".join(
            f"{r.name}: sens {r.sensitivity:.3g}, std {r.noise_std:.3g}"
            + (f" x{r.count}" if r.count != 1 else "")
            + (f" @q={r.sampling_rate:.3g}" if r.sampling_rate < 1 else "")
            for r in self.releases
        )
        return f"({self.epsilon:.4g}, {self.delta:.3g})-DP [{self.accountant}; {parts}]"


def make_accountant(accountant: str = "pld") -> dpa.PrivacyAccountant:
    """A fresh ``dp_accounting`` accountant ("pld" or "rdp"), add/remove-one neighbours."""
    if accountant == "pld":
        return dpa.pld.PLDAccountant(dpa.NeighboringRelation.ADD_OR_REMOVE_ONE)
    if accountant == "rdp":
        return dpa.rdp.RdpAccountant(neighboring_relation=dpa.NeighboringRelation.ADD_OR_REMOVE_ONE)
    raise ValueError(f"accountant must be 'pld' or 'rdp', got {accountant!r}")


def epsilon_of_event(event: dpa.DpEvent, delta: float, accountant: str = "pld") -> float:
    """epsilon of any DpEvent at ``delta`` according to a ``dp_accounting`` accountant."""
    delta = _validate.check_delta(delta)
    acc = make_accountant(accountant)
    acc.compose(event)
    return float(acc.get_epsilon(delta))


def spent(
    releases: Sequence[GaussianRelease], delta: float, accountant: str = "auto"
) -> PrivacySpent:
    """Account for a set of releases.

    ``accountant="auto"`` uses exact GDP when every release is full batch, PLD otherwise.
    """
    delta = _validate.check_delta(delta)
    releases = tuple(releases)
    full_batch = all(r.sampling_rate == 1 for r in releases)
    if accountant == "auto":
        accountant = "exact" if full_batch else "pld"
    if accountant not in _ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {_ACCOUNTANTS} or 'auto', got {accountant!r}")
    if any(r.noise_std == 0 and r.count > 0 for r in releases):
        eps = math.inf
    elif accountant == "exact":
        if not full_batch:
            raise ValueError(
                "the exact GDP accountant needs full-batch releases (sampling_rate=1); use 'pld'"
            )
        eps = gdp.gdp_epsilon(math.sqrt(sum(r.mu**2 for r in releases)), delta)
    else:
        event = dpa.ComposedDpEvent([r.dp_event() for r in releases])
        eps = epsilon_of_event(event, delta, accountant)
    return PrivacySpent(epsilon=eps, delta=delta, releases=releases, accountant=accountant)


def calibrate_full_batch(
    epsilon: float,
    delta: float,
    parts: Sequence[tuple[str, float, int, float]],
) -> tuple[GaussianRelease, ...]:
    """Noise stds so that full-batch releases together are exactly (epsilon, delta)-DP.

    ``parts`` lists ``(name, sensitivity, count, share)``; the shares (positive, any scale)
    split the GDP budget mu^2: part i gets count_i * (k_i / s_i)^2 = share_i / sum(shares) *
    mu^2, i.e. s_i = k_i * sqrt(count_i * sum(shares) / share_i) / mu, with mu the largest
    value whose mu-GDP implies (epsilon, delta)-DP. ``epsilon = inf`` gives zero noise.
    """
    epsilon = _validate.check_epsilon(epsilon)
    delta = _validate.check_delta(delta)
    if not parts:
        raise ValueError("parts must list at least one release")
    total = sum(_validate.check_positive(f"share of {p[0]!r}", p[3]) for p in parts)
    mu = gdp.gdp_mu(epsilon, delta)
    out = []
    for name, sensitivity, count, share in parts:
        sensitivity = _validate.check_positive(f"sensitivity of {name!r}", sensitivity)
        count = _validate.check_positive_int(f"count of {name!r}", count)
        std = 0.0 if math.isinf(mu) else sensitivity * math.sqrt(count * total / share) / mu
        out.append(GaussianRelease(name=name, sensitivity=sensitivity, noise_std=std, count=count))
    return tuple(out)


def dpsgd_event(noise_multiplier: float, sampling_rate: float, steps: int) -> dpa.DpEvent:
    """DP-SGD as a DpEvent: ``steps`` Poisson-sampled Gaussian releases of the gradient sum."""
    _validate.check_positive("noise_multiplier", noise_multiplier)
    return GaussianRelease(
        name="clipped gradient sum",
        sensitivity=1.0,
        noise_std=noise_multiplier,
        count=_validate.check_positive_int("steps", steps),
        sampling_rate=_validate.check_fraction("sampling_rate", sampling_rate),
    ).dp_event()


def dpsgd_epsilon(
    noise_multiplier: float, sampling_rate: float, steps: int, delta: float, accountant: str = "pld"
) -> float:
    """epsilon of DP-SGD with Poisson sampling at ``sampling_rate`` for ``steps`` steps.

    ``accountant`` is "pld" (tight, default), "rdp", or "exact" (only for sampling_rate=1).
    ``noise_multiplier = 0`` means no noise and gives ``inf``.
    """
    delta = _validate.check_delta(delta)
    noise_multiplier = _validate.check_nonnegative("noise_multiplier", noise_multiplier)
    sampling_rate = _validate.check_fraction("sampling_rate", sampling_rate)
    steps = _validate.check_positive_int("steps", steps)
    if accountant not in _ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {_ACCOUNTANTS}, got {accountant!r}")
    if noise_multiplier == 0:
        return math.inf
    if accountant == "exact":
        if sampling_rate != 1:
            raise ValueError(
                "accountant='exact' needs sampling_rate=1 (full batch); use 'pld' or 'rdp'"
            )
        return gdp.gdp_epsilon(math.sqrt(steps) / noise_multiplier, delta)
    return epsilon_of_event(dpsgd_event(noise_multiplier, sampling_rate, steps), delta, accountant)


@functools.lru_cache(maxsize=4096)  # PLD calibration takes seconds; sweeps ask again
def dpsgd_noise_multiplier(
    epsilon: float, delta: float, sampling_rate: float, steps: int, accountant: str = "pld"
) -> float:
    """Smallest noise multiplier (std / clip norm) that keeps DP-SGD within (epsilon, delta).

    Calibrated with ``dp_accounting.calibrate_dp_mechanism`` (PLD or RDP), or in closed form
    with exact GDP for full batch; the result never overshoots the target epsilon.
    """
    epsilon = _validate.check_epsilon(epsilon)
    delta = _validate.check_delta(delta)
    sampling_rate = _validate.check_fraction("sampling_rate", sampling_rate)
    steps = _validate.check_positive_int("steps", steps)
    if accountant not in _ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {_ACCOUNTANTS}, got {accountant!r}")
    if math.isinf(epsilon):
        return 0.0
    if accountant == "exact":
        if sampling_rate != 1:
            raise ValueError(
                "accountant='exact' needs sampling_rate=1 (full batch); use 'pld' or 'rdp'"
            )
        return math.sqrt(steps) / gdp.gdp_mu(epsilon, delta)
    # Bracket: full-batch exact noise (no amplification) nearly meets the target, and RDP
    # meets it for PLD.
    upper = math.sqrt(steps) / gdp.gdp_mu(epsilon, delta)
    if accountant == "pld":
        upper = min(upper, dpsgd_noise_multiplier(epsilon, delta, sampling_rate, steps, "rdp"))
        if upper < PLD_MIN_NOISE_MULTIPLIER:
            raise ValueError(
                f"epsilon={epsilon:g} is out of reach of PLD calibration: it needs a noise "
                f"multiplier near {upper:.3g} < {PLD_MIN_NOISE_MULTIPLIER}, where the PLD accountant takes "
                "minutes and GBs per evaluation; use accountant='rdp'"
                + (" or 'exact'" if sampling_rate == 1 else "")
                + " or a smaller epsilon"
            )
    return calibrate_noise_multiplier(
        lambda s: dpsgd_event(s, sampling_rate, steps), epsilon, delta, upper, accountant
    )


def calibrate_noise_multiplier(
    event_of: Callable[[float], dpa.DpEvent],
    epsilon: float,
    delta: float,
    upper: float,
    accountant: str = "pld",
) -> float:
    """Smallest noise multiplier s with epsilon(event_of(s)) <= epsilon, searched from ``upper``.

    ``upper`` should nearly meet the target (e.g. the full-batch exact noise, or the RDP
    answer for PLD): it is grown until it does, a lower end that misses is found by stepping
    down, and ``dp_accounting.calibrate_dp_mechanism`` finishes the search. Starting from
    tiny multipliers would make the PLD discretisation explode. Never overshoots.
    """
    eps_of = lambda s: epsilon_of_event(event_of(s), delta, accountant)
    while eps_of(upper) > epsilon:
        upper *= 1.5
    # PLD needs at most ~10% less noise than RDP, and PLD cost grows like 1/sigma^2, so step
    # down gently (the loop below still halves as far as needed).
    lower = upper * 0.75
    while eps_of(lower) <= epsilon:
        upper, lower = lower, lower / 2
        if lower < 1e-3:
            return float(upper)
    sigma = dpa.calibrate_dp_mechanism(
        lambda: make_accountant(accountant),
        event_of,
        epsilon,
        delta,
        bracket_interval=dpa.ExplicitBracketInterval(lower, upper),
        tol=1e-5 * upper,
    )
    # calibrate_dp_mechanism returns the bracket endpoint that meets the target, but guard it.
    while eps_of(sigma) > epsilon:
        sigma *= 1 + 1e-4
    return float(sigma)
