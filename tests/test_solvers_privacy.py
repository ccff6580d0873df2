"""What every solver reports about the privacy it spent.

Full-batch solvers are compositions of Gaussian mechanisms, exactly mu-GDP with
mu = sqrt(sum_i count_i (k_i / s_i)^2); they are calibrated so that mu-GDP gives exactly the
target (epsilon, delta), with delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)
(recomputed here with scipy), and the budget mu^2 is split between the releases by the
share parameters. The reported DpEvent is re-checked with dp_accounting's PLD accountant.
"""

from __future__ import annotations

import math

import dp_accounting as dpa
import jax
import numpy as np
import pytest
from _solver_cases import (  # noqa: E402
    DELTA,
    EPSILON,
    FEATURE_NORM,
    GRAD_CLIP,
    STANDARD_SOLVERS,
    STEPS,
    K,
    standard_data,
    standard_run,
)
from scipy.stats import norm

from dptl.privacy import NEIGHBOURING, epsilon_of_event
from dptl.solvers import dp_fc, dp_least_squares, dp_newton

C, G = FEATURE_NORM, GRAD_CLIP
EXPECTED_RELEASES = {
    "dp_least_squares": [("X^T X", C**2, 1), ("X^T Y", C, 1)],
    "dp_least_squares_alpha": [("per-class X_k^T X_k", C**2, 1), ("X^T Y", C, 1)],
    "dp_gd": [("clipped gradient sum", G, STEPS["dp_gd"])],
    "dp_newton": [
        ("one-vs-all Hessians", math.sqrt(K) * C**2 / 4, STEPS["dp_newton"]),
        ("clipped gradient sum", G, STEPS["dp_newton"]),
    ],
    "dp_fc": [
        ("feature covariance X^T X", C**2, 1),
        ("clipped gradient sum", G, STEPS["dp_fc"]),
        ("feature sum (centre)", C, 1),
    ],
}


def _gdp_delta(eps, mu):
    return norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2)


def _mu(releases):
    return math.sqrt(sum(r.count * (r.sensitivity / r.noise_std) ** 2 for r in releases))


@pytest.mark.parametrize("solver", STANDARD_SOLVERS)
def test_full_batch_solver_spends_exactly_its_target(solver):
    privacy = standard_run(solver).privacy
    assert privacy.accountant == "exact"
    assert privacy.neighbouring == NEIGHBOURING == "add/remove one example"
    assert privacy.delta == DELTA
    assert privacy.epsilon <= EPSILON * (1 + 1e-12)
    assert privacy.epsilon == pytest.approx(EPSILON, rel=1e-6)
    got = [(r.name, r.sensitivity, r.count) for r in privacy.releases]
    assert [g[0] for g in got] == [e[0] for e in EXPECTED_RELEASES[solver]]
    for (_, sens, count), (_, want_sens, want_count) in zip(
        got, EXPECTED_RELEASES[solver], strict=True
    ):
        assert sens == pytest.approx(want_sens) and count == want_count
    assert all(r.sampling_rate == 1 and r.noise_std > 0 for r in privacy.releases)
    assert privacy.noise_stds == {r.name: r.noise_std for r in privacy.releases}
    # the composition is mu-GDP, and mu-GDP at this mu is exactly (epsilon, delta)-DP
    assert _gdp_delta(EPSILON, _mu(privacy.releases)) == pytest.approx(DELTA, rel=1e-5)
    # dp_accounting's PLD accountant agrees on the described event
    assert epsilon_of_event(privacy.dp_event, DELTA) == pytest.approx(EPSILON, rel=1e-3)


def test_dp_event_structure():
    privacy = standard_run("dp_newton").privacy
    event = privacy.dp_event
    assert isinstance(event, dpa.ComposedDpEvent)
    hess, grad = event.events
    assert isinstance(hess, dpa.SelfComposedDpEvent) and hess.count == STEPS["dp_newton"]
    assert isinstance(hess.event, dpa.GaussianDpEvent)
    rel = privacy.releases[0]
    assert hess.event.noise_multiplier == pytest.approx(rel.noise_std / rel.sensitivity)
    ls = standard_run("dp_least_squares").privacy.dp_event
    assert all(isinstance(e, dpa.GaussianDpEvent) for e in ls.events)  # count 1: no wrapper


@pytest.mark.parametrize("share", [0.2, 0.8])
@pytest.mark.parametrize("solver", ["dp_least_squares", "dp_fc", "dp_newton"])
def test_budget_split_between_matrix_and_vector_releases(solver, share):
    """The first (matrix) release gets ``share`` of mu^2, the second the rest."""
    x, y = standard_data()
    kw = dict(epsilon=EPSILON, delta=DELTA, num_classes=K, feature_norm=C)
    if solver == "dp_least_squares":
        res = dp_least_squares(jax.random.key(0), x, y, cov_share=share, **kw)
    elif solver == "dp_fc":
        res = dp_fc(
            jax.random.key(0), x, y, cov_share=share, steps=STEPS["dp_fc"], grad_clip=G, **kw
        )
    else:
        res = dp_newton(
            jax.random.key(0),
            x,
            y,
            hessian_share=share,
            steps=STEPS["dp_newton"],
            grad_clip=G,
            **kw,
        )
    first, second, *center = res.privacy.releases  # DP-FC: the centre's share is its own
    center_share = res.config.get("center_share", 0.0)
    assert len(center) == (solver == "dp_fc") and (solver != "dp_fc" or center_share > 0)
    mu2 = _mu(res.privacy.releases) ** 2
    assert _mu([first]) ** 2 / mu2 == pytest.approx(share, rel=1e-9)
    assert _mu([second]) ** 2 / mu2 == pytest.approx(1 - share - center_share, rel=1e-9)
    assert _mu(center) ** 2 / mu2 == pytest.approx(center_share, rel=1e-9)
    assert res.epsilon == pytest.approx(EPSILON, rel=1e-6)


def test_noise_grows_as_epsilon_shrinks_and_delta_is_passed_through():
    x, y = standard_data()
    stds = []
    for eps in (0.5, 2.0, 8.0):
        res = dp_least_squares(
            jax.random.key(0), x, y, epsilon=eps, delta=1e-3, num_classes=K, feature_norm=C
        )
        assert res.delta == 1e-3 and res.epsilon == pytest.approx(eps, rel=1e-6)
        stds.append(res.privacy.releases[0].noise_std)
    assert stds[0] > stds[1] > stds[2] > 0
    assert np.isfinite(stds).all()
