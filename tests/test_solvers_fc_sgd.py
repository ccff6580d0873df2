"""DP-FC-SGD: one noisy covariance (sensitivity C^2) + Poisson-subsampled gradient steps (G).

Pins: the stated and measured sensitivity of each release, the DpEvent it describes
(ComposedDpEvent of a GaussianDpEvent and a SelfComposedDpEvent of a PoissonSampledDpEvent),
epsilon spent <= target and tight, the q = 1 limit (exactly DP-FC, exact GDP; PLD on the
same event agrees), real Poisson sampling, bad input, determinism and speed.
"""

from __future__ import annotations

import math

import dp_accounting as dpa
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dptl.privacy import epsilon_of_event, gdp_epsilon
from dptl.solvers import dp_fc, dp_fc_sgd, statistics
from dptl.solvers.dpsgd import poisson_gradient_sum
from dptl.solvers.fc import fc_releases
from dptl.solvers.fc_sgd import fc_sgd_event, fc_sgd_releases
from dptl.solvers.inputs import prepare_inputs
from dptl.solvers.logistic import clipped_gradient_sum

N, D, K = 400, 8, 3
C, G = 1.5, 0.4  # feature norm and clip norm, distinct so that C, C^2 and G cannot be confused
EPS, DELTA = 0.5, 1e-5
RUN = dict(
    epsilon=EPS,
    delta=DELTA,
    num_classes=K,
    feature_norm=C,
    grad_clip=G,
    steps=6,
    batch_size=40,
    learning_rate=0.5,
)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, N)
    centres = rng.normal(size=(K, D)) * 2
    return (centres[y] + rng.normal(size=(N, D))).astype(np.float32), y.astype(np.int32)


_RUNS = {}


def _run(seed=0, **overrides):
    kw = {**RUN, **overrides}
    key = (seed, tuple(sorted(kw.items())))
    if key not in _RUNS:
        x, y = _data()
        _RUNS[key] = dp_fc_sgd(jax.random.key(seed), x, y, **kw)
    return _RUNS[key]


def test_releases_and_their_sensitivities():
    cov, grad = _run().privacy.releases
    assert cov.name == "feature covariance X^T X" and cov.sensitivity == pytest.approx(C**2)
    assert cov.count == 1 and cov.sampling_rate == 1.0
    assert grad.name == "clipped gradient sum" and grad.sensitivity == pytest.approx(G)
    assert grad.count == RUN["steps"] and grad.sampling_rate == pytest.approx(40 / N)
    # The covariance gets exactly DP-FC's noise at the same share of the budget.
    fc_cov = fc_releases(
        EPS, DELTA, steps=RUN["steps"], feature_norm=C, grad_clip=G, cov_share=0.5
    )[0]  # dp_fc_sgd's default share
    assert cov.noise_std == pytest.approx(fc_cov.noise_std, rel=1e-12)


def test_measured_sensitivity_with_an_extreme_example():
    """Adding one example (raw norm 1e6, preprocessed to norm <= C) moves X^T X by at most
    C^2 (Frobenius, upper triangle) and any batch's clipped gradient sum by at most G."""
    x, y = _data()
    rng = np.random.default_rng(1)
    for preprocess in ("normalize", "clip"):
        extra = np.zeros((1, D), np.float32)
        extra[0, 2] = 1e6  # axis-aligned: the worst case for the Gram matrix
        xs, ys = np.concatenate([x, extra]), np.concatenate([y, [1]])
        xp, y1h, _ = prepare_inputs(xs, ys, K, C, preprocess)
        g0 = statistics.gram(statistics.shard_rows(xp[:-1])[0])
        g1 = statistics.gram(statistics.shard_rows(xp)[0])
        diff = np.triu(np.asarray(g1 - g0, np.float64))
        assert np.linalg.norm(diff) <= C**2 * (1 + 2e-3)
        assert np.linalg.norm(diff) >= C**2 * (1 - 2e-3)  # the bound is attained
        w = jnp.asarray(rng.normal(size=(D, K)), jnp.float32)
        mask = jnp.asarray(rng.random(N + 1) < 0.3, jnp.float32)
        with_it = clipped_gradient_sum(w, xp, y1h, G, mask.at[-1].set(1.0), "ova")
        without = clipped_gradient_sum(w, xp, y1h, G, mask.at[-1].set(0.0), "ova")
        assert float(jnp.linalg.norm(with_it - without)) <= G * (1 + 1e-4)


def test_poisson_sum_is_the_masked_sum_over_a_bernoulli_sample():
    x, y = _data()
    xp, y1h, _ = prepare_inputs(x, y, K, C, "normalize")
    w = jnp.asarray(np.random.default_rng(2).normal(size=(D, K)), jnp.float32)
    key = jax.random.key(7)
    total, size = poisson_gradient_sum(key, w, xp, y1h, G, 0.1, 16, "ova")  # several chunks
    chosen = jax.random.bernoulli(key, 0.1, (N,))
    expected = clipped_gradient_sum(w, xp, y1h, G, chosen.astype(jnp.float32), "ova")
    assert int(size) == int(chosen.sum())
    np.testing.assert_allclose(total, expected, rtol=1e-4, atol=1e-5)
    sizes = [
        int(poisson_gradient_sum(k, w, xp, y1h, G, 0.1, 16, "ova")[1])
        for k in jax.random.split(key, 8)
    ]
    assert len(set(sizes)) > 1  # the batch size varies: real sampling
    # the exact batch size is data-dependent and unaccounted: the result must not release it
    assert set(_run().history) == {"noisy_grad_norm"}


def test_event_structure_and_epsilon_spent_at_most_target():
    res = _run()
    event = res.privacy.dp_event
    cov_ev, grad_ev = event.events
    assert isinstance(cov_ev, dpa.GaussianDpEvent)
    assert isinstance(grad_ev, dpa.SelfComposedDpEvent) and grad_ev.count == RUN["steps"]
    assert isinstance(grad_ev.event, dpa.PoissonSampledDpEvent)
    assert grad_ev.event.sampling_probability == pytest.approx(0.1)
    assert isinstance(grad_ev.event.event, dpa.GaussianDpEvent)
    assert res.privacy.accountant == "pld"
    assert res.epsilon <= EPS
    recheck = epsilon_of_event(event, DELTA, "pld")  # a fresh accountant agrees
    assert recheck == pytest.approx(res.epsilon, rel=1e-9) and recheck <= EPS
    # Tight: 2% less gradient noise would overspend.
    cov, grad = res.privacy.releases
    less = fc_sgd_event(cov.noise_multiplier, 0.98 * grad.noise_multiplier, 0.1, RUN["steps"])
    assert epsilon_of_event(less, DELTA, "pld") > EPS


def test_rdp_accountant_needs_more_noise_than_pld():
    kw = dict(num_examples=N, steps=6, batch_size=40, feature_norm=C, grad_clip=G)
    pld = fc_sgd_releases(EPS, DELTA, accountant="pld", **kw)[1]
    rdp = fc_sgd_releases(EPS, DELTA, accountant="rdp", **kw)[1]
    assert rdp.noise_std > pld.noise_std
    rdp_event = fc_sgd_event(
        C**-2 * fc_sgd_releases(EPS, DELTA, accountant="rdp", **kw)[0].noise_std,
        rdp.noise_multiplier,
        0.1,
        6,
    )
    assert epsilon_of_event(rdp_event, DELTA, "rdp") <= EPS


def test_full_batch_is_exactly_dp_fc():
    """q = 1 (batch_size None or n): DP-FC's releases, exact GDP, same weights per key
    (DP-FC one-vs-all, at DP-FC-SGD's budget share and ridge)."""
    x, y = _data()
    kw = {k: v for k, v in RUN.items() if k != "batch_size"} | {"cov_share": 0.5, "ridge": 0.3}
    ref = dp_fc(jax.random.key(4), x, y, loss="ova", center_share=0.0, **kw)  # no centre
    for b in (None, N):
        res = dp_fc_sgd(jax.random.key(4), x, y, **{**kw, "batch_size": b})
        assert res.privacy.accountant == "exact"
        assert res.epsilon == pytest.approx(ref.epsilon, rel=1e-12) and res.epsilon <= EPS
        assert [r.noise_std for r in res.privacy.releases] == [
            r.noise_std for r in ref.privacy.releases
        ]
        np.testing.assert_array_equal(res.weights, ref.weights)


def test_q_one_pld_matches_the_exact_gdp_family():
    """The same DpEvent with q = 1 under PLD gives DP-FC's exact-GDP epsilon (up to PLD's
    pessimistic discretisation): the subsampled accounting is the same family."""
    cov, grad = fc_releases(EPS, DELTA, steps=6, feature_norm=C, grad_clip=G)
    event = fc_sgd_event(cov.noise_multiplier, grad.noise_multiplier, 1.0, 6)
    mu = math.sqrt(1 / cov.noise_multiplier**2 + 6 / grad.noise_multiplier**2)
    assert gdp_epsilon(mu, DELTA) == pytest.approx(EPS, rel=1e-6)
    assert epsilon_of_event(event, DELTA, "pld") == pytest.approx(EPS, rel=1e-2)


def test_subsampling_buys_less_noise_per_step():
    """At the same epsilon and steps, q = 0.1 needs a smaller noise multiplier than q = 1."""
    kw = dict(num_examples=N, steps=6, feature_norm=C, grad_clip=G)
    full = fc_sgd_releases(EPS, DELTA, batch_size=None, **kw)[1]
    sub = fc_sgd_releases(EPS, DELTA, batch_size=40, **kw)[1]
    assert sub.noise_multiplier < full.noise_multiplier


def test_without_noise_it_learns():
    res = _run(epsilon=math.inf, steps=20)
    assert res.epsilon == math.inf
    x, y = _data()
    assert res.accuracy(x, y) > 0.9


def test_same_key_same_result_other_key_other_result():
    x, y = _data()
    a = dp_fc_sgd(jax.random.key(5), x, y, **RUN)
    b = dp_fc_sgd(jax.random.key(5), x, y, **RUN)
    c = dp_fc_sgd(jax.random.key(6), x, y, **RUN)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"delta": 1.0}, "delta"),
        ({"delta": 0.0}, "delta"),
        ({"grad_clip": 0.0}, "grad_clip"),
        ({"feature_norm": -1.0}, "feature_norm"),
        ({"steps": 0}, "steps"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": N + 1}, "batch_size"),
        ({"cov_share": 1.0}, "cov_share"),
        ({"cov_share": 0.0}, "cov_share"),
        ({"accountant": "exact"}, "accountant"),
        ({"ridge": -1.0}, "ridge"),
        ({"num_classes": 2}, "y"),
    ],
)
def test_bad_input_is_named(overrides, match):
    x, y = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        dp_fc_sgd(jax.random.key(0), x, y, **{**RUN, **overrides})


def test_bad_features_are_named():
    x, y = _data()
    x = x.copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="x"):
        dp_fc_sgd(jax.random.key(0), x, y, **RUN)
    with pytest.raises(ValueError, match="y"):
        dp_fc_sgd(jax.random.key(0), np.nan_to_num(x)[:10], y, **RUN)


def test_fresh_configuration_calibrates_and_runs():
    """A fresh configuration (calibration + compilation + run) on small data; speed is a
    benchmark's business, not a test's (no timing thresholds here)."""
    x, y = _data()
    res = dp_fc_sgd(jax.random.key(9), x, y, **{**RUN, "steps": 11, "epsilon": 0.7})
    assert res.epsilon <= 0.7
    assert np.all(np.isfinite(res.weights))
