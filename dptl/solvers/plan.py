"""A method's run before it reads the data: every hyperparameter resolved, every release
calibrated.

Each solver module has one ``*_plan`` function. It checks the hyperparameters, applies the
method's rules (defaults given as None, functions of the public n, d, K, epsilon and delta
only: never of the data) and calibrates the noise of each release. The ``dp_*`` function and
the sweep (:mod:`dptl.solvers.sweep`) both call it, so a method's rules live in one place.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dptl.privacy import GaussianRelease, PrivacySpent, spent

__all__ = ["Plan"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """What a method will release and with which settings.

    Attributes:
        hyperparameters: every hyperparameter, rules resolved (no None left where a rule
            applies); what a result's ``config`` records.
        releases: the calibrated Gaussian releases, in the order the method's core takes
            their noise stds.
        accountant: how the releases compose: "exact" (GDP, full batch) or the
            ``dp_accounting`` accountant ("pld", "rdp") of Poisson-subsampled releases.
    """

    hyperparameters: dict[str, Any]
    releases: tuple[GaussianRelease, ...]
    accountant: str = "exact"

    @property
    def noise_stds(self) -> tuple[float, ...]:
        """The noise std of each release, in order."""
        return tuple(r.noise_std for r in self.releases)

    def spent(self, delta: float) -> PrivacySpent:
        """The (epsilon, delta) the releases cost together."""
        return spent(self.releases, delta, self.accountant)
