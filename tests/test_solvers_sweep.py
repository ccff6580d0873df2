"""sweep.privacy_utility: one compiled call per method, the same numbers as the solvers.

The training set has the standard shapes of ``_solver_cases`` and the sweeps use the
standard step counts, so the solver calls reuse the compiled solvers.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from _solver_cases import STEPS, D, K, N  # noqa: E402

from dptl.solvers import statistics
from dptl.solvers.newton import newton_grid_weights, newton_weights
from dptl.solvers.sweep import DEFAULTS, METHODS, privacy_utility

EPSILONS = (0.05, 1.0, math.inf)
SEEDS = 2
OVERRIDES = {
    "dp_least_squares": {},
    "dp_gd": {"steps": STEPS["dp_gd"], "learning_rate": 2.0},
    "dp_fc": {"steps": STEPS["dp_fc"]},
    # DP-Newton's grid is its own program (newton_grid_weights), not the solver's core
    "dp_newton": {"steps": STEPS["dp_newton"]},
    # the Poisson-subsampled methods run point by point: a small batch, few steps
    "dp_sgd": {"batch_size": 60, "steps": 20, "learning_rate": 2.0},
    "dp_fc_sgd": {"batch_size": 60, "steps": 6},
}


@pytest.fixture(scope="module")
def data():
    """An easy mixture: K well-separated clusters in D dimensions."""
    rng = np.random.default_rng(21)
    means = rng.normal(0, 2.0, (K, D))

    def draw(n):
        y = rng.integers(0, K, n).astype(np.int32)
        return (means[y] + rng.normal(size=(n, D))).astype(np.float32), y

    return (*draw(N), *draw(150))


def _solver_result(method, key, x, y, epsilon, hp):
    """The method's solver, called with the sweep's hyperparameters (its record's defaults
    and the overrides)."""
    return METHODS[method].solver(key, x, y, epsilon=epsilon, num_classes=K, **hp)


@pytest.mark.parametrize("method", list(OVERRIDES))
def test_sweep_matches_the_solver_called_with_the_split_key(data, method):
    x, y, xt, yt = data
    key = jax.random.key(42)
    res = privacy_utility(
        method,
        key,
        x,
        y,
        xt,
        yt,
        epsilons=EPSILONS,
        num_seeds=SEEDS,
        num_classes=K,
        **OVERRIDES[method],
    )
    assert res.method == method
    assert res.accuracy.shape == (len(EPSILONS), SEEDS)
    assert res.mean.shape == res.std.shape == (len(EPSILONS),)
    np.testing.assert_array_equal(res.epsilons, EPSILONS)
    assert len(res.privacy) == len(EPSILONS)
    hp = {**DEFAULTS[method], **OVERRIDES[method]}
    assert res.config == hp
    keys = jax.random.split(key, (len(EPSILONS), SEEDS))
    for e, eps in enumerate(EPSILONS):
        for s in range(SEEDS):
            solo = _solver_result(method, keys[e, s], x, y, eps, hp)
            assert res.accuracy[e, s] == pytest.approx(solo.accuracy(xt, yt), abs=1e-6), (e, s)
        assert res.privacy[e].epsilon == solo.privacy.epsilon
        assert res.privacy[e].noise_stds == solo.privacy.noise_stds
    # seeds matter where there is noise, and accuracy grows from eps = 0.05 to no noise
    assert res.accuracy[1, 0] != res.accuracy[1, 1] or res.accuracy[0, 0] != res.accuracy[0, 1]
    assert res.mean[-1] >= 0.9
    assert res.mean[-1] > res.mean[0] + 0.15


def test_newton_grid_weights_equal_the_point_by_point_core(data):
    """Three points with different noise (one noiseless), three steps: the grid's batched
    gradients and eigendecompositions and its point-by-point Hessians give the weights of
    newton_weights called with each point's key."""
    x, y = data[:2]
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    xc, yc = statistics.shard_rows(x, np.asarray(jax.nn.one_hot(y, K)))
    keys = jax.random.split(jax.random.key(7), 3)
    hess_std, grad_std, ridge = (
        np.float32([0.5, 2.0, 0.0]),
        np.float32([0.3, 1.0, 0.0]),
        np.float32([1.0, 4.0, 0.5]),
    )
    grid = newton_grid_weights(keys, xc, yc, hess_std, grad_std, 1.0, ridge, 0.8, steps=3)
    for p in range(3):
        solo = newton_weights(
            keys[p], xc, yc, hess_std[p], grad_std[p], 1.0, ridge[p], 0.8, steps=3
        )[0]
        np.testing.assert_allclose(grid[p], solo, rtol=1e-4, atol=1e-5 * np.abs(solo).max())


def test_sweep_rejects_bad_arguments(data):
    x, y, xt, yt = data
    key = jax.random.key(0)
    call = lambda method="dp_least_squares", **kw: privacy_utility(  # noqa: E731
        method,
        key,
        kw.pop("x", x),
        kw.pop("y", y),
        kw.pop("xt", xt),
        kw.pop("yt", yt),
        **{"epsilons": (1.0,), "num_seeds": 1, "num_classes": K, **kw},
    )
    with pytest.raises(ValueError, match="method must be one of"):
        call("ridge")
    assert (
        list(METHODS)
        == list(DEFAULTS)
        == [
            "dp_least_squares",
            "dp_gd",
            "dp_sgd",
            "dp_newton",
            "dp_fc",
            "dp_fc_sgd",
        ]
    )
    with pytest.raises(ValueError, match=r"unknown hyperparameters for 'dp_fc': \['alpha'\]"):
        call("dp_fc", alpha=0.5)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        call("dp_least_squares", steps=3)
    with pytest.raises(ValueError, match="epsilons must list at least one"):
        call(epsilons=())
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        call(epsilons=(1.0, 0.0))
    with pytest.raises(ValueError, match="num_seeds must be >= 1"):
        call(num_seeds=0)
    with pytest.raises(ValueError, match="delta must be in the open interval"):
        call(delta=1.0)
    with pytest.raises(ValueError, match="x_train contains NaN"):
        call(x=np.where(np.arange(N)[:, None] == 3, np.nan, x).astype(np.float32))
    with pytest.raises(ValueError, match="y_train has 239 entries"):
        call(y=y[:-1])
    with pytest.raises(ValueError, match=f"x_test has {D + 1} features but x_train has {D}"):
        call(xt=np.hstack([xt, xt[:, :1]]))
    with pytest.raises(ValueError, match="x_test contains NaN"):
        call(xt=np.full_like(xt, np.inf))
    with pytest.raises(ValueError, match=r"y_test must be in 0\.\.2"):
        call(yt=np.full_like(yt, K))
    with pytest.raises(ValueError, match="steps must be >= 1"):
        call("dp_fc", steps=0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        call("dp_newton", learning_rate=-1.0)
    with pytest.raises(ValueError, match="grad_clip must be > 0"):
        call("dp_gd", grad_clip=0.0)
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        call("dp_least_squares", ridge=-1.0)
    with pytest.raises(ValueError, match="cov_share must be in"):
        call("dp_fc", cov_share=1.0)
    with pytest.raises(ValueError, match="preprocess must be one of"):
        call(preprocess="whiten")
    with pytest.raises(ValueError, match="batch_size / num_examples must be in"):
        call("dp_sgd", batch_size=N + 1)
