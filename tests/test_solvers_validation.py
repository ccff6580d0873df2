"""Bad input to every public solver and to the sweep raises a clear error naming the argument.

Every check runs before anything is compiled, so these tests are cheap.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from _solver_cases import D, K, N, standard_data, standard_run  # noqa: E402

from dptl.solvers import dp_fc, dp_least_squares, dp_newton, dp_sgd
from dptl.solvers.sweep import privacy_utility

KEY = jax.random.key(0)


def _sweep(method):
    def call(key, x, y, *, epsilon, **kw):
        x_test, y_test = standard_data()
        return privacy_utility(
            method, key, x, y, x_test, y_test, epsilons=(epsilon,), num_seeds=1, **kw
        )

    return call


SOLVERS = {
    "dp_least_squares": (dp_least_squares, "x", "y"),
    "dp_sgd": (dp_sgd, "x", "y"),
    "dp_newton": (dp_newton, "x", "y"),
    "dp_fc": (dp_fc, "x", "y"),
    "sweep least_squares": (_sweep("dp_least_squares"), "x_train", "y_train"),
    "sweep dp_gd": (_sweep("dp_gd"), "x_train", "y_train"),
    "sweep fc": (_sweep("dp_fc"), "x_train", "y_train"),
}


def _x_with(value):
    x = standard_data()[0].copy()
    x[5, 2] = value
    return x


# (description, change to the call, exception, message with {x}/{y} for the argument names)
COMMON = [
    ("NaN feature", dict(x=_x_with(np.nan)), ValueError, "{x} contains NaN or inf"),
    ("inf feature", dict(x=_x_with(np.inf)), ValueError, "{x} contains NaN or inf"),
    ("1-d features", dict(x=np.ones(N, np.float32)), ValueError, "{x} must have 2 dimensions"),
    (
        "3-d features",
        dict(x=np.ones((N, D, 1), np.float32)),
        ValueError,
        "{x} must have 2 dimensions",
    ),
    (
        "no examples",
        dict(x=np.ones((0, D), np.float32), y=np.zeros(0, np.int32)),
        ValueError,
        "{x} is empty",
    ),
    ("no features", dict(x=np.ones((N, 0), np.float32)), ValueError, "{x} is empty"),
    (
        "integer features",
        dict(x=np.ones((N, D), np.int64)),
        TypeError,
        "{x} must be floating point",
    ),
    ("negative label", dict(y=np.full(N, -1)), ValueError, r"{y} must be in"),
    (
        "label >= num_classes",
        dict(y=np.full(N, K), num_classes=K),
        ValueError,
        r"{y} must be in 0\.\.2, got values in 3\.\.3",
    ),
    ("float labels", dict(y=np.zeros(N)), TypeError, "{y} must be integers"),
    (
        "one-hot labels",
        dict(y=np.eye(K, dtype=np.int32)[np.arange(N) % K]),
        ValueError,
        "{y} must be a 1-d array",
    ),
    (
        "too few labels",
        dict(y=np.zeros(N - 1, np.int32)),
        ValueError,
        f"{{y}} has {N - 1} entries but the features have {N} rows",
    ),
    ("no class count", dict(num_classes=None), ValueError, "num_classes is required"),
    ("one class", dict(num_classes=1), ValueError, "num_classes must be >= 2"),
    ("float num_classes", dict(num_classes=3.0), TypeError, "num_classes must be an integer"),
    ("epsilon 0", dict(epsilon=0.0), ValueError, "epsilon must be > 0"),
    ("epsilon < 0", dict(epsilon=-1.0), ValueError, "epsilon must be > 0"),
    ("epsilon NaN", dict(epsilon=math.nan), ValueError, "epsilon must be a number"),
    ("epsilon string", dict(epsilon="1"), TypeError, "epsilon must be a real number"),
    ("delta 0", dict(delta=0.0), ValueError, r"delta must be in the open interval \(0, 1\)"),
    ("delta 1", dict(delta=1.0), ValueError, r"delta must be in the open interval \(0, 1\)"),
    ("delta < 0", dict(delta=-1e-5), ValueError, r"delta must be in the open interval"),
    ("feature_norm 0", dict(feature_norm=0.0), ValueError, "feature_norm must be > 0"),
    ("feature_norm < 0", dict(feature_norm=-1.0), ValueError, "feature_norm must be > 0"),
    ("feature_norm inf", dict(feature_norm=math.inf), ValueError, "feature_norm must be finite"),
    ("bad preprocess", dict(preprocess="whiten"), ValueError, "preprocess must be one of"),
]


def _call(solver, change):
    fn, _, _ = SOLVERS[solver]
    x, y = standard_data()
    kw = dict(epsilon=1.0, num_classes=K)
    kw.update(change)
    return fn(KEY, kw.pop("x", x), kw.pop("y", y), **kw)


@pytest.mark.parametrize("case", COMMON, ids=[c[0] for c in COMMON])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_bad_data_and_privacy_parameters(solver, case):
    _, change, exc, message = case
    _, x_name, y_name = SOLVERS[solver]
    with pytest.raises(exc, match=message.format(x=x_name, y=y_name)):
        _call(solver, change)


SPECIFIC = {
    "dp_least_squares": [
        (dict(ridge=-1.0), ValueError, "ridge must be >= 0"),
        (dict(cov_share=0.0), ValueError, r"cov_share must be in \(0, 1\)"),
        (dict(cov_share=1.0), ValueError, r"cov_share must be in \(0, 1\)"),
        (dict(alpha=0.0), ValueError, "alpha must be > 0"),
    ],
    "dp_sgd": [
        (dict(grad_clip=0.0), ValueError, "grad_clip must be > 0"),
        (dict(grad_clip=-1.0), ValueError, "grad_clip must be > 0"),
        (dict(learning_rate=0.0), ValueError, "learning_rate must be > 0"),
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(steps=2.5), TypeError, "steps must be an integer"),
        (dict(steps=1, optimizer="rmsprop"), ValueError, "optimizer must be one of"),
        (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(batch_size=N + 1), ValueError, r"batch_size / num_examples must be in \(0, 1\]"),
        (dict(physical_batch_size=0), ValueError, "physical_batch_size must be >= 1"),
        (dict(accountant="moments"), ValueError, "accountant must be"),
        (dict(accountant="moments", batch_size=10), ValueError, "accountant must be"),
        (dict(init_scale=-1.0), ValueError, "init_scale must be >= 0"),
    ],
    "dp_newton": [
        (dict(grad_clip=0.0), ValueError, "grad_clip must be > 0"),
        (dict(learning_rate=-1.0), ValueError, "learning_rate must be > 0"),
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(ridge=-1.0), ValueError, "ridge must be >= 0"),
        (dict(hessian_share=1.0), ValueError, r"hessian_share must be in \(0, 1\)"),
    ],
    "dp_fc": [
        (dict(grad_clip=0.0), ValueError, "grad_clip must be > 0"),
        (dict(learning_rate=0.0), ValueError, "learning_rate must be > 0"),
        (dict(steps=0), ValueError, "steps must be >= 1"),
        (dict(ridge=-1.0), ValueError, "ridge must be >= 0"),
        (dict(cov_share=0.0), ValueError, r"cov_share must be in \(0, 1\)"),
        (dict(center_share=-0.1), ValueError, r"center_share must be in \[0, 1\)"),
        (dict(center_share=1.0), ValueError, r"center_share must be in \[0, 1\)"),
        (dict(cov_share=0.96), ValueError, "cov_share \\+ center_share must be < 1"),
    ],
}


@pytest.mark.parametrize(
    "solver,change,exc,message",
    [(s, *case) for s, cases in SPECIFIC.items() for case in cases],
    ids=[
        f"{s}-" + ",".join(f"{k}={v}" for k, v in c[0].items())
        for s, cs in SPECIFIC.items()
        for c in cs
    ],
)
def test_bad_hyperparameters(solver, change, exc, message):
    with pytest.raises(exc, match=message):
        _call(solver, change)


def test_result_rejects_mismatched_features():
    res = standard_run("dp_least_squares")
    x, y = standard_data()
    with pytest.raises(ValueError, match=f"x has {D - 1} features but the model expects {D}"):
        res.accuracy(x[:, : D - 1], y)
    with pytest.raises(ValueError, match=f"x has {D - 1} features but the model expects {D}"):
        res.predict(x[:, : D - 1])
    with pytest.raises(ValueError, match=r"y must be in 0\.\.2"):
        res.accuracy(x, np.full(N, K))
    with pytest.raises(ValueError, match="y has 10 entries"):
        res.accuracy(x, y[:10])
    with pytest.raises(ValueError, match="x contains NaN"):
        res.logits(_x_with(np.nan))
    assert 0.0 <= res.accuracy(x, y) <= 1.0
