"""One description per method: the dp_* signatures, the sweep and the CLI use the same
defaults, read from each solver module's DEFAULTS."""

from __future__ import annotations

import inspect
import math

import jax
import numpy as np
import pytest
from _solver_cases import K, standard_data

from dptl.solvers import dp_fc, dp_least_squares, dp_newton, dp_sgd, dpsgd, fc, least_squares
from dptl.solvers import newton as newton_module
from dptl.solvers.sweep import DEFAULTS, privacy_utility

SIGNATURES = {
    "least_squares": (dp_least_squares, least_squares.DEFAULTS),
    "dp_gd": (dp_sgd, dpsgd.DEFAULTS),
    "newton": (dp_newton, newton_module.DEFAULTS),
    "fc": (dp_fc, fc.DEFAULTS),
}


@pytest.mark.parametrize("method", sorted(SIGNATURES))
def test_signature_defaults_are_the_sweep_defaults(method):
    solver, module_defaults = SIGNATURES[method]
    params = inspect.signature(solver).parameters
    assert DEFAULTS[method] == module_defaults
    for name, value in module_defaults.items():
        assert params[name].default == value, (method, name)


def test_the_subsampled_sweep_is_dp_sgd_with_its_recorded_configuration():
    assert DEFAULTS["dp_sgd"] == dpsgd.SUBSAMPLED_DEFAULTS
    params = inspect.signature(dp_sgd).parameters
    assert set(DEFAULTS["dp_sgd"]) <= set(params)


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


def test_subsampled_dp_sgd_default_learning_rate_rule():
    assert dpsgd.SUBSAMPLED_DEFAULTS["learning_rate"] is None  # the rule
    assert dpsgd.default_sgd_learning_rate(10_000, 0.1, 1e-5) == 1.0  # n mu = 325
    assert dpsgd.default_sgd_learning_rate(60_000, 0.1, 1e-5) == 8.0  # n mu = 1,950
    assert dpsgd.default_sgd_learning_rate(60_000, 1.0, 1e-5) == 32.0  # n mu = 16,100
    assert dpsgd.default_sgd_learning_rate(60_000, 8.0, 1e-5) == 32.0
    assert dpsgd.default_sgd_learning_rate(60_000, math.inf, 1e-5) == 64.0
    x, y = standard_data()
    res = dp_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, batch_size=50, steps=2)
    assert res.config["learning_rate"] == dpsgd.default_sgd_learning_rate(len(y), 1.0, 1e-5)
    # the rates are rules for these optimizers: plain SGD with a batch, momentum full batch
    assert res.config["optimizer"] == dpsgd.SUBSAMPLED_DEFAULTS["optimizer"] == "sgd"
    full = dp_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, steps=2)
    assert full.config["optimizer"] == "momentum"


# sweep name -> (solver, arguments beyond its defaults, resolved values both must agree on).
# The subsampled sweep passes its recorded configuration (all but the learning-rate rule),
# with a small batch and few steps for the test's data.
_SWEEP_VS_SOLVER = {
    "dp_gd": (dp_sgd, {}, ("learning_rate", "steps", "optimizer")),
    "dp_sgd": (
        dp_sgd,
        {
            **{k: v for k, v in DEFAULTS["dp_sgd"].items() if k != "learning_rate"},
            "batch_size": 50,
            "steps": 4,
        },
        ("learning_rate",),
    ),
    "fc": (dp_fc, {}, ("steps",)),
}


@pytest.mark.parametrize("epsilon", [1.0, math.inf])
@pytest.mark.parametrize("method", list(_SWEEP_VS_SOLVER))
def test_the_solver_at_its_defaults_is_the_sweep_at_its_defaults(method, epsilon):
    """Same key, same defaults (rules resolved per epsilon): same resolved values and the
    same accuracy."""
    solver, cfg, resolved = _SWEEP_VS_SOLVER[method]
    x, y = standard_data()
    key = jax.random.key(3)
    sweep = privacy_utility(
        method, key, x, y, x, y, epsilons=[epsilon], num_seeds=1, num_classes=K, **cfg
    )
    res = solver(jax.random.split(key, (1, 1))[0, 0], x, y, epsilon=epsilon, num_classes=K, **cfg)
    for name in resolved:
        assert sweep.resolved[0][name] == res.config[name], name
    np.testing.assert_allclose(sweep.accuracy[0, 0], res.accuracy(x, y), atol=1e-6)
