"""Lessons 2-5 on small synthetic data: sweeps, explorers, simulation, spectra."""

import math

import jax
import numpy as np
import pytest

from dptl.data.synthetic import gaussian_mixture_features
from dptl.lessons import cache as cache_mod
from dptl.lessons import fc as L5
from dptl.lessons import linear_logistic as L3
from dptl.lessons import newton as L4
from dptl.lessons import transfer as L2
from dptl.lessons.explorer import drive
from dptl.solvers import dp_sgd
from dptl.solvers.sweep import privacy_utility


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CACHE_DIR", tmp_path)
    monkeypatch.delenv("DPTL_LESSONS_NO_COMPUTE", raising=False)
    monkeypatch.delenv("DPTL_LESSONS_RECOMPUTE", raising=False)


@pytest.fixture(scope="module")
def fs():
    return gaussian_mixture_features(0, 400, 200, 16, 4, separation=1.5)


def test_lesson_two_runs_are_dp_sgd_with_the_sweeps_key(fs):
    """Lesson 2's curves (one sweep per batch size, its own lr and a random init for the
    init panel) are dp_sgd called with the sweep's split key: one DP-SGD path."""
    key, eps = jax.random.key(0), (1.0, math.inf)
    hp = dict(batch_size=100, steps=20, learning_rate=4.0, optimizer="sgd", init_scale=0.3)
    res = privacy_utility(
        "dp_sgd",
        key,
        fs.x_train,
        fs.y_train,
        fs.x_test,
        fs.y_test,
        epsilons=eps,
        num_seeds=2,
        num_classes=fs.num_classes,
        **hp,
    )
    keys = jax.random.split(key, (2, 2))
    for e, epsilon in enumerate(eps):
        for s in range(2):
            ref = dp_sgd(keys[e, s], fs.x_train, fs.y_train, epsilon=epsilon, num_classes=4, **hp)
            assert res.accuracy[e, s] == pytest.approx(ref.accuracy(fs.x_test, fs.y_test), abs=1e-6)
    assert res.resolved[0]["init_scale"] == 0.3


def test_transfer_sweep_and_explorer(fs):
    sets = {
        "raw_pixels": fs,
        "efficientnet_lite0_112": gaussian_mixture_features(1, 400, 200, 16, 4, 3.0),
    }
    sw = L2.transfer_sweep(
        sets,
        gaussian_mixture_features(3, 400, 200, 16, 4, 3.0),
        epsilons=[1.0, math.inf],
        batch_sizes=[100, 400],
        batch_epochs=2,
        batch_steps=4,
        num_seeds=2,
        init_scales=[0.0, 0.5],
    )
    assert sw.features["raw_pixels"].shape == (2, 2) and set(sw.probe) == set(sets)
    assert sw.batch_fixed_steps.shape == (2, 2, 2) and sw.batch_fixed_epochs.shape == (2, 2, 2)
    assert sw.init.shape == (2, 2, 2)
    assert list(sw.steps_fixed_epochs) == [8, 2]
    # the feature comparison is DP-GD at its defaults: its record's rules, same key
    fs112 = sets["efficientnet_lite0_112"]
    ref = privacy_utility(
        "dp_gd",
        jax.random.key(0),
        fs112.x_train,
        fs112.y_train,
        fs112.x_test,
        fs112.y_test,
        epsilons=[1.0, math.inf],
        num_seeds=2,
        num_classes=4,
    )
    np.testing.assert_allclose(sw.features["efficientnet_lite0_112"], ref.accuracy, atol=1e-6)
    assert sw.feature_steps == [r["steps"] for r in ref.resolved]
    ex = L2.transfer_explorer(sw)
    times = drive(ex, random_moves=5)
    assert len(times) >= 4 and "accuracy lost to privacy" in ex.status.value
    assert sw.gap("raw_pixels", 1.0) == pytest.approx(
        sw.accuracy("raw_pixels", math.inf) - sw.accuracy("raw_pixels", 1.0)
    )
    assert len(L2.init_figure(sw).data) == 2
    text = L2.findings(sw).data
    assert "| features | private | non-private | linear probe |" in text
    assert "Batch size" in text


def test_transfer_sweep_reuses_unchanged_feature_sets(fs, monkeypatch):
    """Replacing one feature file retrains on that one only; the rest come from the cache."""
    sets = {
        "raw_pixels": fs,
        "efficientnet_lite0_112": gaussian_mixture_features(1, 400, 200, 16, 4, 3.0),
    }
    p = dict(epsilons=[1.0, math.inf], batch_sizes=[100, 400], batch_epochs=1, batch_steps=2)
    p.update(num_seeds=1, init_scales=[0.0])
    batch = gaussian_mixture_features(3, 400, 200, 16, 4, 3.0)
    first = L2.transfer_sweep(sets, batch, **p)
    probed = []
    monkeypatch.setattr(L2, "linear_probe_accuracy", lambda x, *a: probed.append(x.shape) or 0.5)
    changed = {**sets, "raw_pixels": gaussian_mixture_features(2, 400, 200, 16, 4, 1.5)}
    second = L2.transfer_sweep(changed, batch, **p)
    assert probed == [(400, 16)]  # only the changed set was trained again
    assert second.probe["raw_pixels"] == 0.5
    np.testing.assert_array_equal(
        second.features["efficientnet_lite0_112"], first.features["efficientnet_lite0_112"]
    )
    np.testing.assert_array_equal(second.batch_fixed_steps, first.batch_fixed_steps)
    np.testing.assert_array_equal(second.init, first.init)


def test_per_class_subset_and_simulation():
    real = gaussian_mixture_features(0, 2000, 400, 16, 10, separation=1.0)
    x, y = L3.per_class_subset(real.x_train, real.y_train, 7, 10)
    assert np.bincount(y, minlength=10).tolist() == [7] * 10
    sim = L3.calibrated_simulation(real, 30, 5, 3)
    assert sim.x_train.shape == (150, 16) and sim.num_classes == 30 and sim.x_test.shape == (90, 16)
    assert np.bincount(sim.y_train).tolist() == [5] * 30
    assert "simulation" in sim.metadata["dataset"]


def test_linear_logistic_sweep_and_explorer():
    real = gaussian_mixture_features(0, 2000, 400, 16, 10, separation=1.0)
    sw = L3.linear_logistic_sweep(
        real,
        epsilons=[1.0, math.inf],
        settings=["real, 10 classes", "simulated, 20 classes"],
        n_per_class=[5, 20],
        logistic_steps=[3],
        num_test_per_class=5,
        num_seeds=1,
    )
    assert sw.accuracy("simulated, 20 classes", 5, "dp_least_squares").shape == (2,)
    ex = L3.linear_logistic_explorer(sw)
    drive(ex, random_moves=4)
    assert "least squares wins" in ex.status.value


def test_final_sweep_newton_and_spectra(fs):
    final = L5.final_sweep(
        fs,
        epsilons=[1.0, 8.0],
        methods=["dp_least_squares", "dp_gd", "dp_fc"],
        cov_shares=[0.3, 0.7],
        num_train=300,
        num_seeds=1,
    )
    assert final.methods["dp_fc"].shape == (2, 1) and final.fc_share.shape == (2, 2, 1)
    assert final.best_method(8.0) in final.methods
    assert final.best_share(1.0) in (0.3, 0.7)
    ex = L5.fc_explorer(final)
    drive(ex, random_moves=4)
    assert "Best covariance share" in ex.status.value
    assert len(L5.summary_table(final).data) == 1
    nw = L4.newton_sweep(fs, epsilons=[1.0, 8.0], steps=[1, 2], num_train=300, num_seeds=1)
    assert nw["accuracy"].shape == (2, 2, 1)
    spectra = L4.hessian_spectra(fs, [1.0, 8.0], steps=[1, 2], num_train=300)
    x = fs.x_train[:300] / np.linalg.norm(fs.x_train[:300], axis=1, keepdims=True)
    np.testing.assert_allclose(
        spectra["true"], np.linalg.eigvalsh(x.T @ x / 4)[::-1], rtol=1e-3, atol=1e-4
    )
    std = spectra["noise_std"]  # (steps, epsilons)
    assert std.shape == (2, 2) and spectra["noisy"].shape == (2, 2, x.shape[1])
    assert np.all(std[:, 0] > std[:, 1])  # smaller epsilon, more noise
    assert np.all(std[1] > std[0])  # more steps, more noise on each Hessian
    assert np.all(spectra["noisy"] >= -1e-4)  # PSD-projected
    ex4 = L4.newton_explorer(nw, final, spectra)
    drive(ex4, random_moves=4)
    assert "Hessian noise std" in ex4.status.value
    # the spectrum panel follows the steps slider
    ex4.set(epsilon=1.0, steps=1)
    one = np.asarray(ex4.figure.data[6].y)
    ex4.set(steps=2)
    assert not np.allclose(one, ex4.figure.data[6].y) and "(2 steps)" in ex4.status.value
    with pytest.raises(ValueError, match="spectra for steps"):
        L4.newton_explorer(nw, final, L4.hessian_spectra(fs, [1.0, 8.0], num_train=300))


def test_noise_cost_table_shared_covariance_is_cheaper():
    costs = L5.noise_cost_table([0.5, 2.0], num_classes=10)
    assert np.all(costs["dp_newton"] > costs["dp_fc"])  # K Hessians every step vs one covariance
    assert np.all(np.diff(costs["dp_fc"]) < 0)
