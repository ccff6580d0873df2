"""One description per method: the dp_* signatures, the sweep and the CLI use the same
defaults, read from each solver module's DEFAULTS."""

from __future__ import annotations

import inspect
import math

import jax
import numpy as np
import pytest
from _solver_cases import K, standard_data

from dptl.solvers import dp_sgd, dpsgd, fc, fc_sgd, least_squares
from dptl.solvers import newton as newton_module
from dptl.solvers.methods import METHODS, defaults_for
from dptl.solvers.sweep import DEFAULTS, privacy_utility


@pytest.mark.parametrize("method", list(METHODS))
def test_each_record_is_its_solver_at_the_signature_defaults(method):
    """One description per method: a record's defaults are its solver's signature defaults,
    but for the arguments that select it (``dp_sgd``'s batch and accountant); the sweep
    reads the same record."""
    record = METHODS[method]
    params = inspect.signature(record.solver).parameters
    assert DEFAULTS[method] == dict(record.defaults)
    assert record.name == method and record.label
    selecting = {"dp_sgd": {"batch_size", "accountant"}}.get(method, set())
    for name, value in record.defaults.items():
        assert name in params, (method, name)
        if name not in selecting:
            assert params[name].default == value, (method, name)
    # the plan is the solver module's, and the solver calls it
    module = inspect.getmodule(record.solver)
    assert inspect.getmodule(record.make_plan) is module
    assert record.make_plan.__name__ in inspect.getsource(record.solver)


def test_the_records_modules_hold_the_defaults():
    assert METHODS["dp_least_squares"].defaults == least_squares.DEFAULTS
    assert METHODS["dp_gd"].defaults == dpsgd.DEFAULTS
    assert METHODS["dp_newton"].defaults == newton_module.DEFAULTS
    assert METHODS["dp_fc"].defaults == fc.DEFAULTS
    assert METHODS["dp_fc_sgd"].defaults == fc_sgd.DEFAULTS
    # subsampled DP-SGD is DP-GD's record with a batch: the rules do the rest
    assert dict(METHODS["dp_sgd"].defaults) == {
        **dpsgd.DEFAULTS,
        "batch_size": dpsgd.SUBSAMPLED_BATCH_SIZE,
        "accountant": "pld",
    }


def test_a_default_batch_larger_than_n_becomes_full_batch():
    hp, note = defaults_for("dp_sgd", 800)
    assert hp["batch_size"] is None and "exceeds n = 800: full batch" in note
    assert defaults_for("dp_sgd", 60_000) == (dict(METHODS["dp_sgd"].defaults), "")
    assert defaults_for("dp_fc_sgd", 5_000)[0]["batch_size"] is None
    with pytest.raises(ValueError, match="method must be one of"):
        defaults_for("fc", 100)
    # full batch, the subsampled record's rules give DP-GD's settings
    gd = METHODS["dp_gd"].plan(1.0, 1e-5, num_examples=800, dim=8, num_classes=K)
    sub = METHODS["dp_sgd"].plan(
        1.0, 1e-5, num_examples=800, dim=8, num_classes=K, **{**hp, "accountant": "pld"}
    )
    assert sub.hyperparameters == gd.hyperparameters and sub.accountant == "exact"


def test_dp_gd_default_steps_rule():
    assert dpsgd.default_gd_steps(10_000, 0.1, 1e-5) == 30  # n mu = 325
    assert dpsgd.default_gd_steps(60_000, 0.1, 1e-5) == 100  # n mu = 1,950
    assert dpsgd.default_gd_steps(60_000, 1.0, 1e-5) == 300  # n mu = 16,100
    assert dpsgd.default_gd_steps(60_000, math.inf, 1e-5) == 300
    res = dp_sgd(jax.random.key(0), *standard_data(), epsilon=0.1, num_classes=K)
    assert res.config["steps"] == dpsgd.default_gd_steps(len(standard_data()[1]), 0.1, 1e-5)


def test_dp_gd_default_learning_rate_rule():
    assert dpsgd.default_gd_learning_rate(0.1) == dpsgd.PRIVATE_LEARNING_RATE == 4.0
    assert dpsgd.default_gd_learning_rate(8.0) == 4.0
    assert dpsgd.default_gd_learning_rate(math.inf) == dpsgd.NONPRIVATE_LEARNING_RATE == 64.0
    x, y = standard_data()
    for eps in (1.0, math.inf):
        res = dp_sgd(jax.random.key(0), x, y, epsilon=eps, num_classes=K)
        assert res.config["learning_rate"] == dpsgd.default_gd_learning_rate(eps)
    sub = dp_sgd(jax.random.key(0), x, y, epsilon=math.inf, num_classes=K, batch_size=50, steps=2)
    assert sub.config["learning_rate"] == dpsgd.NONPRIVATE_SGD_LEARNING_RATE


def test_dp_fc_ridge_rule_and_its_lower_bound():
    """DP-FC's ridge rule: the covariance noise's spectral scale plus the tiny floor, and at
    least RIDGE_MINIMUM C^2, which acts without privacy only (at every lesson's and target's
    epsilon, up to 200 here, the noise term is larger)."""
    d, c = 320, 2.0
    for n in (200, 800, 60_000):
        for eps in (0.1, 1.0, 8.0, 200.0):
            plan = fc.fc_plan(eps, 1e-5, num_examples=n, dim=d, feature_norm=c)
            noise_rule = plan.noise_stds[0] * math.sqrt(d) + 1e-4 * n * c**2 / d
            assert plan.hyperparameters["ridge"] == pytest.approx(noise_rule)
            assert noise_rule > fc.RIDGE_MINIMUM * c**2
        plan = fc.fc_plan(math.inf, 1e-5, num_examples=n, dim=d, feature_norm=c)
        floor = max(1e-4 * n * c**2 / d, fc.RIDGE_MINIMUM * c**2)
        assert plan.hyperparameters["ridge"] == pytest.approx(floor)
    assert fc.RIDGE_MINIMUM == 0.1  # benchmarks/tune_defaults.py --only-ridge-minimum
    assert (
        fc.fc_plan(math.inf, 1e-5, num_examples=800, dim=d, ridge=0.0).hyperparameters["ridge"] == 0
    )


def test_subsampled_dp_sgd_default_learning_rate_rule():
    assert METHODS["dp_sgd"].defaults["learning_rate"] is None  # the rule
    assert dpsgd.default_sgd_learning_rate(10_000, 0.1, 1e-5) == 1.0  # n mu = 325
    assert dpsgd.default_sgd_learning_rate(60_000, 0.1, 1e-5) == 8.0  # n mu = 1,950
    assert dpsgd.default_sgd_learning_rate(60_000, 1.0, 1e-5) == 32.0  # n mu = 16,100
    assert dpsgd.default_sgd_learning_rate(60_000, 8.0, 1e-5) == 32.0
    assert dpsgd.default_sgd_learning_rate(60_000, math.inf, 1e-5) == 64.0
    x, y = standard_data()
    res = dp_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, batch_size=50, steps=2)
    assert res.config["learning_rate"] == dpsgd.default_sgd_learning_rate(len(y), 1.0, 1e-5)
    # the rates are rules for these optimizers: plain SGD with a batch, momentum full batch
    assert res.config["optimizer"] == dpsgd.SUBSAMPLED_OPTIMIZER == "sgd"
    assert res.config["steps"] == 2  # given; the rule's 300 where None
    assert dpsgd.default_optimizer(50) == "sgd"
    full = dp_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, steps=2)
    assert full.config["optimizer"] == "momentum"


# method -> arguments beyond its solver's signature defaults (a small batch and few steps
# for the test's data where it samples batches); the rules resolve the rest.
_SWEEP_VS_SOLVER = {
    "dp_gd": {},
    "dp_sgd": {"batch_size": 50, "steps": 4},
    "dp_fc": {},
    "dp_fc_sgd": {"batch_size": 50, "steps": 4},
}


@pytest.mark.parametrize("epsilon", [1.0, math.inf])
@pytest.mark.parametrize("method", list(_SWEEP_VS_SOLVER))
def test_the_solver_at_its_defaults_is_the_sweep_at_its_defaults(method, epsilon):
    """Same key, same defaults (rules resolved per epsilon by the same plan): the same
    resolved values and the same accuracy."""
    cfg = _SWEEP_VS_SOLVER[method]
    x, y = standard_data()
    key = jax.random.key(3)
    sweep = privacy_utility(
        method, key, x, y, x, y, epsilons=[epsilon], num_seeds=1, num_classes=K, **cfg
    )
    res = METHODS[method].solver(
        jax.random.split(key, (1, 1))[0, 0], x, y, epsilon=epsilon, num_classes=K, **cfg
    )
    assert {k: res.config[k] for k in sweep.resolved[0]} == sweep.resolved[0]
    np.testing.assert_allclose(sweep.accuracy[0, 0], res.accuracy(x, y), atol=1e-6)
