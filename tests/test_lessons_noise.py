"""Lesson 1 tables: accountants ordered as theory says, noise per example falls with B."""

import math

import numpy as np
import pytest

from dptl.data.synthetic import gaussian_mixture_features
from dptl.lessons import cache as cache_mod
from dptl.lessons import noise as L1
from dptl.privacy import gdp_mu

SMALL = dict(
    epsilons=[1.0, 4.0],
    batch_sizes=[50, 200],
    epochs=2,
    delta=1e-5,
    composition_sigma=1.0,
    composition_steps=[1, 10],
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(cache_mod, "CACHE_DIR", tmp_path_factory.mktemp("cache"))
    mp.delenv("DPTL_LESSONS_NO_COMPUTE", raising=False)
    yield L1.noise_tables(1000, **SMALL)
    mp.undo()


def test_full_batch_accountants(tables):
    fb = tables.full_batch
    for i, eps in enumerate(SMALL["epsilons"]):
        assert fb["exact"][i] == pytest.approx(math.sqrt(SMALL["epochs"]) / gdp_mu(eps, 1e-5))
        assert fb["pld"][i] == pytest.approx(fb["exact"][i], rel=0.02)  # PLD ~ exact
        assert fb["rdp"][i] > fb["exact"][i] and fb["rdp_closed_form"][i] >= fb["rdp"][i] * 0.99


def test_subsampled_tables(tables):
    assert list(tables.batch_sizes) == [50, 200, 1000]
    assert list(tables.steps) == [40, 10, 2]
    assert np.all(tables.sigma_rdp >= tables.sigma_pld * 0.999)
    # noise per example falls with the batch size at fixed epsilon and epochs
    assert np.all(np.diff(tables.per_example_noise_table, axis=1) < 0)
    # full batch column is the exact full-batch value
    np.testing.assert_allclose(tables.sigma_pld[:, -1], tables.full_batch["exact"])
    assert tables.per_example_noise(1.0, 200) == pytest.approx(tables.sigma(1.0, 200) / 200)


def test_composition_and_amplification(tables):
    comp = tables.composition_sub
    assert np.all(np.diff(tables.composition_full) > 0)  # epsilon grows with steps
    assert np.all(comp[0] < tables.composition_full)  # q = 0.05 amplifies
    np.testing.assert_allclose(comp[-1], tables.composition_full)


def test_signal_matches_closed_form():
    fs = gaussian_mixture_features(0, 300, 10, 8, 3)
    s = L1.mean_gradient_signal(fs)
    x = fs.x_train / np.linalg.norm(fs.x_train, axis=1, keepdims=True)
    y = np.eye(3)[fs.y_train]
    np.testing.assert_allclose(s["signal"], np.linalg.norm(x.T @ (1 / 3 - y) / 300), rtol=1e-5)
    assert s["per_example_norm"] == pytest.approx(math.sqrt(1 - 1 / 3), rel=1e-5)


def test_explorer_redraws_on_both_sliders(tables):
    fs = gaussian_mixture_features(0, 1000, 10, 8, 3)
    ex = L1.noise_explorer(tables, L1.mean_gradient_signal(fs))
    ex.set(epsilon=1.0, batch_size=50)
    before = np.array(ex.figure.data[7].y)
    ex.set(epsilon=4.0)
    after = np.array(ex.figure.data[7].y)
    assert np.all(after < before)  # more epsilon, less noise
    ex.set(batch_size=1000)
    assert ex.figure.data[8].x == pytest.approx((1000,))
    assert "B = 1000" in ex.status.value


def test_gaussian_mechanism_numbers():
    g = L1.gaussian_mechanism_numbers(2.0, 1.0, 1e-5)
    assert g["std_exact"] == pytest.approx(2.0 / gdp_mu(1.0, 1e-5))
    assert g["std_rdp_closed_form"] > g["std_exact"]
