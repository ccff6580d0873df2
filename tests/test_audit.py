"""Statistical privacy audit (dptl.audit): sound on the library's releases, sharp on bugs.

For every solver's releases, built from the library's own code at the noise it calibrates
for the claimed epsilon, the audited lower bound stays below the claim; every deliberately
broken variant is caught (lower bound above the claim), so these tests can fail. Seeded:
the same runs every time. Clopper-Pearson bounds are pinned to scipy and to closed forms.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import stats

from dptl.audit import (
    BROKEN,
    MECHANISMS,
    AuditedMechanism,
    ThresholdRule,
    audit,
    audit_curve,
    choose_threshold,
    clopper_pearson,
    dp_sgd_mechanism,
    epsilon_lower_bound,
    fc_sgd_mechanism,
    make_mechanism,
    sample_releases,
)

EPSILON, DELTA, CONFIDENCE = 2.0, 1e-5, 0.95
# "rbg" keys: same statistics, but XLA compiles their random bits ~2x faster on CPU
IMPL = "rbg"
TRIALS_SOUND = 10_000  # fewer runs only lower the bound of a correct mechanism
# runs per dataset that catch each broken variant with a margin (least squares and DP-GD
# double mu, DP-Newton multiplies it by 2.35, DP-FC by 2.24, shared noise makes it infinite;
# sampling costs differ)
TRIALS_BROKEN = {
    "dp_least_squares": 60_000,
    "dp_gd": 60_000,
    "dp_newton": 20_000,
    "dp_fc": 30_000,
    "dp_least_squares_per_class": 4_000,
}


@pytest.fixture(scope="module")
def audits():
    out = {}
    for i, name in enumerate(MECHANISMS):
        for broken in (False, True):
            mech = make_mechanism(name, EPSILON, DELTA, broken=broken)
            trials = TRIALS_BROKEN[name] if broken else TRIALS_SOUND
            out[name, broken] = audit(
                mech,
                jax.random.key(100 + 2 * i + broken, impl=IMPL),
                trials=trials,
                confidence=CONFIDENCE,
            )
    return out


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_library_releases_pass_the_audit(audits, name):
    r = audits[name, False]
    assert r.true_epsilon == pytest.approx(EPSILON, rel=1e-6)  # the canary is worst case
    assert 0 < r.epsilon_lower_bound <= EPSILON, str(r)
    assert not r.caught


@pytest.mark.parametrize("name", list(MECHANISMS))
def test_broken_variants_are_caught(audits, name):
    r = audits[name, True]
    assert r.broken and r.true_epsilon > 1.8 * EPSILON
    assert r.epsilon_lower_bound > EPSILON, str(r)
    assert r.caught and r.epsilon_lower_bound <= r.true_epsilon


def test_poisson_subsampled_dp_sgd():
    """The real Poisson sampling of dpsgd_weights, against the library's PLD accounting."""
    sound = dp_sgd_mechanism(1.0, DELTA)
    r = audit(sound, jax.random.key(200, impl=IMPL), trials=10_000)
    assert 0 < r.epsilon_lower_bound <= sound.epsilon == sound.true_epsilon, str(r)
    broken = dp_sgd_mechanism(1.0, DELTA, broken="overclaimed_amplification")
    assert broken.epsilon < 0.5 * broken.true_epsilon
    r = audit(broken, jax.random.key(201, impl=IMPL), trials=30_000)
    assert r.caught and r.epsilon_lower_bound <= r.true_epsilon, str(r)


def test_poisson_subsampled_fc_sgd():
    """DP-FC-SGD's covariance and Poisson-sampled gradient (the library's own functions)
    against the PLD accounting of fc_sgd_event; leaving the covariance out is caught."""
    sound = fc_sgd_mechanism(delta=DELTA)
    r = audit(sound, jax.random.key(210, impl=IMPL), trials=10_000)
    assert 0 < r.epsilon_lower_bound <= sound.epsilon == sound.true_epsilon, str(r)
    broken = fc_sgd_mechanism(delta=DELTA, broken="covariance_not_accounted")
    assert broken.epsilon < 0.2 * broken.true_epsilon
    r = audit(broken, jax.random.key(211, impl=IMPL), trials=10_000)
    assert r.caught and r.epsilon_lower_bound <= r.true_epsilon, str(r)


def test_broken_variants_are_named():
    assert set(BROKEN) == set(MECHANISMS)
    with pytest.raises(ValueError, match="broken must be None or one of"):
        MECHANISMS["dp_least_squares"](1.0, broken="forgot_square")


def test_more_trials_tighten_the_bound():
    mech = make_mechanism("dp_least_squares", EPSILON, DELTA, broken=True)
    curve = audit_curve(mech, jax.random.key(7, impl=IMPL), [2_000, 40_000])
    assert curve[0].epsilon_lower_bound < curve[1].epsilon_lower_bound
    # runs of a smaller audit are a prefix of a larger one: the curve's point is the audit
    assert audit(mech, jax.random.key(7, impl=IMPL), trials=2_000) == curve[0]


def test_runs_use_fresh_keys_and_are_reproducible():
    mech = make_mechanism("dp_least_squares", EPSILON, DELTA)
    a = sample_releases(mech, jax.random.key(3, impl=IMPL), 50, canary=False)
    b = sample_releases(mech, jax.random.key(3, impl=IMPL), 50, canary=False)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a[:, 0])) == 50  # every run has its own noise
    # the noise has the calibrated std: the diagonal entry (0, 0) of X^T X
    big = sample_releases(mech, jax.random.key(4, impl=IMPL), 20_000, canary=False)
    assert big[:, 0].std() == pytest.approx(mech.scales["cov_std"], rel=0.03)
    # and D' differs from D exactly by the canary: C^2 on that diagonal entry
    with_c = sample_releases(mech, jax.random.key(4, impl=IMPL), 20_000, canary=True)
    np.testing.assert_allclose(with_c[:, 0] - big[:, 0], 1.0, rtol=1e-4)


# --- Clopper-Pearson -------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (17, 1000), (500, 1000), (0, 1)])
def test_clopper_pearson_matches_scipy(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
    lo, hi = clopper_pearson(k, n, 0.9)
    assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_clopper_pearson_known_values():
    # k = 0: one-sided upper bound 1 - (1 - c)^(1/n) ("rule of three": ~3/n at 95%)
    assert clopper_pearson(0, 100, 0.95, side="upper") == (
        0.0,
        pytest.approx(1 - 0.05 ** (1 / 100)),
    )
    assert clopper_pearson(100, 100, 0.95, side="lower") == (pytest.approx(0.05 ** (1 / 100)), 1.0)
    lo, hi = clopper_pearson(5, 10, 0.95)  # textbook: (0.187, 0.813)
    assert (round(lo, 3), round(hi, 3)) == (0.187, 0.813)
    lo, hi = clopper_pearson(np.array([0, 5, 10]), 10, 0.95)
    assert lo[0] == 0 and hi[-1] == 1 and np.all(lo < hi)


def test_epsilon_lower_bound_formula():
    each = 1 - 0.05 / 2
    tpr_lo = stats.beta.ppf(1 - each, 600, 1000 - 600 + 1)
    fpr_hi = stats.beta.ppf(each, 50 + 1, 1000 - 50)
    got = epsilon_lower_bound(600, 1000, 50, 1000, delta=1e-5, confidence=0.95)
    assert got == pytest.approx(math.log((tpr_lo - 1e-5) / fpr_hi))
    assert epsilon_lower_bound(0, 1000, 0, 1000, delta=1e-5) == 0.0  # no evidence, no bound
    # with no false positives at all the bound is finite: log(N / 3)-ish at most
    assert epsilon_lower_bound(1000, 1000, 0, 1000, delta=1e-5) < math.log(1000)


def test_threshold_is_chosen_on_selection_scores():
    rng = np.random.default_rng(0)
    s0, s1 = rng.normal(size=20_000), rng.normal(size=20_000) + 2.0
    best = choose_threshold(s0, s1, delta=1e-5)
    assert best.selection_bound > 1.5
    tp, pos, fp, neg = best.counts(s0, s1)
    assert epsilon_lower_bound(tp, pos, fp, neg, delta=1e-5) == pytest.approx(best.selection_bound)
    # both tails are valid tests: "high score" accuses D', "low score" accuses D
    high = ThresholdRule(threshold=3.0, side=1, selection_bound=0.0)
    assert high.counts(s0, s1) == ((s1 > 3).sum(), 20_000, (s0 > 3).sum(), 20_000)
    low = ThresholdRule(threshold=-1.0, side=-1, selection_bound=0.0)
    assert low.counts(s0, s1) == ((s0 < -1).sum(), 20_000, (s1 < -1).sum(), 20_000)
    # no separation, no bound
    assert choose_threshold(s0, s0[::-1].copy(), delta=1e-5).selection_bound < 0.2


# --- bad input -------------------------------------------------------------------------


def test_bad_input_errors():
    mech = make_mechanism("dp_least_squares", 1.0)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="trials must be >= 2"):
        audit(mech, key, trials=1)
    with pytest.raises(ValueError, match="trials must be >= 2"):
        audit(mech, key, trials=0)
    with pytest.raises(TypeError, match="trials must be an integer"):
        audit(mech, key, trials=1000.0)
    for c in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="confidence must be in the open interval"):
            audit(mech, key, trials=100, confidence=c)
        with pytest.raises(ValueError, match="confidence"):
            clopper_pearson(1, 10, c)
    with pytest.raises(ValueError, match="selection_fraction"):
        audit(mech, key, trials=100, selection_fraction=1.0)
    with pytest.raises(TypeError, match="key must be a jax.random key"):
        audit(mech, 0, trials=100)
    with pytest.raises(TypeError, match="AuditedMechanism"):
        audit("dp_least_squares", key, trials=100)
    with pytest.raises(ValueError, match="successes must lie in"):
        clopper_pearson(11, 10)
    with pytest.raises(TypeError, match="integer counts"):
        clopper_pearson(0.5, 10)
    with pytest.raises(ValueError, match="trials must be >= 1"):
        clopper_pearson(0, 0)
    with pytest.raises(ValueError, match="side must be one of"):
        clopper_pearson(1, 10, side="left")
    with pytest.raises(ValueError, match="delta"):
        epsilon_lower_bound(1, 10, 1, 10, delta=0.0)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        make_mechanism("dp_least_squares", 0.0)
    with pytest.raises(ValueError, match="mechanism must be one of"):
        make_mechanism("sgd", 1.0)
    with pytest.raises(ValueError, match="same shapes"):
        AuditedMechanism(
            name="x",
            release=lambda *a: {},
            without=mech.without,
            with_canary=(mech.with_canary[0][:, :1], mech.with_canary[1]),
            epsilon=1.0,
            delta=1e-5,
            true_epsilon=1.0,
        )
    with pytest.raises(ValueError, match="non-empty"):
        audit_curve(mech, key, [])
