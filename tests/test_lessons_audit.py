"""Lesson 7 (privacy audit): the sweep's numbers and the explorer's redraws."""

import math

import numpy as np
import pytest

from dptl.lessons import audit as L7
from dptl.lessons.explorer import drive
from dptl.privacy import gdp_epsilon, gdp_mu

EPS = 2.0
TRIALS = [1_000, 30_000]


@pytest.fixture(scope="module")
def sweep():
    return L7.audit_sweep(epsilons=[EPS], trials=TRIALS, seed=1)


def test_sweep_numbers(sweep):
    assert sweep.bounds.shape == (1, 2, 2) and list(sweep.trials) == TRIALS
    lib, halved = L7.VARIANTS
    # the library's release: the true epsilon is the claim, the audit stays below it
    assert sweep.true_epsilon[0, 0] == pytest.approx(EPS, rel=1e-6)
    assert all(sweep.bound(EPS, lib, t) <= EPS for t in TRIALS)
    # noise std halved doubles mu; enough runs catch it, few do not
    assert sweep.true_epsilon[0, 1] == pytest.approx(
        gdp_epsilon(2 * gdp_mu(EPS, 1e-5), 1e-5), rel=1e-3
    )
    assert sweep.caught(EPS, halved, 30_000) and not sweep.caught(EPS, halved, 1_000)
    assert sweep.bound(EPS, halved, 30_000) < sweep.true_epsilon[0, 1]
    # counts: a quarter of the runs choose the test, the rest evaluate it
    tp, pos, fp, neg = sweep.counts[0, 1, 1]
    assert pos == neg == 22_500 and 0 <= fp < tp <= pos


def test_score_histograms_are_standardised(sweep):
    centers = (L7.BINS[:-1] + L7.BINS[1:]) / 2
    h0, h1 = sweep.hist[0, 0, 1]
    assert h0.sum() <= 22_500 and h0.sum() > 0.99 * 22_500  # bins hold almost every run
    assert abs((h0 * centers).sum() / h0.sum()) < 0.05  # runs on D: mean 0
    mu = gdp_mu(EPS, 1e-5)
    shift = (h1 * centers).sum() / h1.sum()
    assert shift == pytest.approx(mu, abs=0.1)  # D': shifted by mu (the GDP parameter)
    assert np.isfinite(sweep.threshold).all()


def test_explorer_redraws_from_the_sweep(sweep):
    ex = L7.audit_explorer(sweep)
    assert set(ex.controls) == {"trials", "epsilon", "variant"}
    ex.set(trials=30_000, variant="noise std halved")
    d = ex.figure.data
    assert d[4].y[0] == pytest.approx(sweep.bound(EPS, "noise std halved", 30_000))
    assert list(d[2].y) == [EPS, EPS]
    assert d[3].y[0] == pytest.approx(sweep.true_epsilon[0, 1])
    assert "CAUGHT" in ex.status.value
    ex.set(variant="library")
    assert "CAUGHT" not in ex.status.value and "consistent with the claim" in ex.status.value
    np.testing.assert_array_equal(np.nan_to_num(d[5].y), sweep.hist[0, 0, 1, 0])
    times = drive(ex, random_moves=10)
    assert times and max(times) < 2.0  # no computation in a redraw


def test_bad_options_and_lookups(sweep):
    with pytest.raises(ValueError, match="unknown audit_sweep options"):
        L7.audit_sweep(epsilon=[1.0])
    with pytest.raises(IndexError):
        sweep.bound(3.0, "library", 1_000)
    with pytest.raises(ValueError):
        sweep.bound(EPS, "broken", 1_000)
    assert math.isfinite(sweep.bound(EPS, "library", 1_000))
