"""Argument checks: the shared helpers, and every public privacy function naming its bad argument."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dptl import _validate as v
from dptl.privacy import (
    GaussianRelease,
    calibrate_full_batch,
    clip_rows,
    composed_mu,
    dpsgd_epsilon,
    dpsgd_event,
    dpsgd_noise_multiplier,
    epsilon_of_event,
    gaussian_mu,
    gaussian_noise,
    gdp_delta,
    gdp_epsilon,
    gdp_mu,
    make_accountant,
    normalize_rows,
    rdp_closed_form_epsilon,
    rdp_closed_form_mu,
    spent,
    symmetric_gaussian_noise,
)

NAN, INF = math.nan, math.inf

# ---------------------------------------------------------------------------------- helpers


def test_check_positive():
    assert v.check_positive("x", 2) == 2.0 and isinstance(v.check_positive("x", 2), float)
    assert v.check_positive("x", np.float32(0.5)) == 0.5
    assert v.check_positive("x", INF, allow_inf=True) == INF
    for bad in (0, -1.0, -INF):
        with pytest.raises(ValueError, match=r"^x must be > 0"):
            v.check_positive("x", bad)
    with pytest.raises(ValueError, match="x must be finite"):
        v.check_positive("x", INF)
    with pytest.raises(ValueError, match="x must be a number, got NaN"):
        v.check_positive("x", NAN)
    for bad in ("1", b"1", True, np.bool_(True), None, [1.0], 1j):
        with pytest.raises(TypeError, match="x must be a real number"):
            v.check_positive("x", bad)


def test_check_nonnegative():
    assert v.check_nonnegative("s", 0) == 0.0
    assert v.check_nonnegative("s", INF, allow_inf=True) == INF
    with pytest.raises(ValueError, match="s must be >= 0"):
        v.check_nonnegative("s", -1e-300)
    with pytest.raises(ValueError, match="s must be finite"):
        v.check_nonnegative("s", INF)
    with pytest.raises(ValueError, match="s must be a number"):
        v.check_nonnegative("s", NAN)


def test_check_epsilon():
    assert v.check_epsilon(1) == 1.0
    assert v.check_epsilon(INF) == INF  # no privacy, allowed by default
    with pytest.raises(ValueError, match="epsilon must be finite"):
        v.check_epsilon(INF, allow_inf=False)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="epsilon must be > 0"):
            v.check_epsilon(bad)
    with pytest.raises(ValueError, match="epsilon must be a number"):
        v.check_epsilon(NAN)
    with pytest.raises(ValueError, match="target_eps"):
        v.check_epsilon(0.0, "target_eps")


def test_check_delta():
    assert v.check_delta(1e-5) == 1e-5
    assert v.check_delta(np.float64(0.5)) == 0.5
    for bad in (0.0, 1.0, -1e-5, 1.5, INF, -INF):
        with pytest.raises(ValueError, match=r"delta must be in the open interval \(0, 1\)"):
            v.check_delta(bad)
    with pytest.raises(ValueError, match="delta must be a number"):
        v.check_delta(NAN)
    with pytest.raises(TypeError, match="delta"):
        v.check_delta("1e-5")


def test_check_fraction():
    assert v.check_fraction("q", 1.0) == 1.0
    assert v.check_fraction("q", 1e-9) == 1e-9
    for bad in (0.0, -0.1, 1.0001, INF):
        with pytest.raises(ValueError, match=r"q must be in \(0, 1\]"):
            v.check_fraction("q", bad)
    assert v.check_fraction("q", 0.0, open_low=False) == 0.0
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\)"):
        v.check_fraction("q", 1.0, open_low=False, open_high=True)
    with pytest.raises(ValueError, match="q must be a number"):
        v.check_fraction("q", NAN)


def test_check_positive_int():
    assert v.check_positive_int("steps", 3) == 3
    assert v.check_positive_int("steps", np.int64(3)) == 3
    assert type(v.check_positive_int("steps", np.int64(3))) is int
    assert v.check_positive_int("count", 0, minimum=0) == 0
    for bad in (0, -2):
        with pytest.raises(ValueError, match="steps must be >= 1"):
            v.check_positive_int("steps", bad)
    for bad in (3.0, True, "3", None, np.float64(3)):
        with pytest.raises(TypeError, match="steps must be an integer"):
            v.check_positive_int("steps", bad)


def test_check_num_classes():
    assert v.check_num_classes(2) == 2
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        v.check_num_classes(1)
    with pytest.raises(TypeError, match="num_classes"):
        v.check_num_classes(2.0)


def test_check_features():
    x = np.ones((3, 2), np.float32)
    assert v.check_features(x) is x
    jx = jnp.ones((3, 2))
    assert v.check_features(jx, "x") is jx
    assert v.check_features([[1.0, 2.0]]).shape == (1, 2)  # lists are converted
    with pytest.raises(ValueError, match=r"x must have 2 dimensions.*\(3,\)"):
        v.check_features(np.ones(3), "x")
    with pytest.raises(ValueError, match="x is empty"):
        v.check_features(np.ones((0, 4)), "x")
    with pytest.raises(ValueError, match="x is empty"):
        v.check_features(np.ones((4, 0)), "x")
    with pytest.raises(TypeError, match="x must be floating point.*int"):
        v.check_features(np.ones((2, 2), np.int32), "x")
    for bad in (NAN, INF, -INF):
        x = np.ones((2, 2))
        x[1, 0] = bad
        with pytest.raises(ValueError, match="x contains NaN or inf"):
            v.check_features(x, "x")
    assert v.check_features(np.ones((2, 3, 4)), ndim=3).shape == (2, 3, 4)


def test_check_labels():
    y = np.array([0, 2, 1])
    assert v.check_labels(y, 3) is y
    assert v.check_labels(y, None) is y
    with pytest.raises(ValueError, match=r"y must be in 0\.\.1, got values in 0\.\.2"):
        v.check_labels(y, 2, "y")
    with pytest.raises(ValueError, match="y must be in >= 0"):
        v.check_labels(np.array([-1, 0]), None, "y")
    with pytest.raises(ValueError, match="y must be a 1-d array"):
        v.check_labels(np.zeros((2, 2), int), 3, "y")
    with pytest.raises(ValueError, match="y has 3 entries but the features have 4 rows"):
        v.check_labels(y, 3, "y", n=4)
    with pytest.raises(ValueError, match="y is empty"):
        v.check_labels(np.array([], int), 3, "y")
    with pytest.raises(TypeError, match="y must be integers"):
        v.check_labels(np.array([0.0, 1.0]), 3, "y")


# --------------------------------------------------------------- the privacy API, bad arguments

REL = GaussianRelease(name="r", sensitivity=1.0, noise_std=2.0)

# (call, exception type, the argument name its message must contain)
BAD_CALLS = {
    # epsilon <= 0 / NaN
    "gdp_mu eps 0": (lambda: gdp_mu(0.0, 1e-5), ValueError, "epsilon"),
    "gdp_mu eps -1": (lambda: gdp_mu(-1.0, 1e-5), ValueError, "epsilon"),
    "gdp_mu eps nan": (lambda: gdp_mu(NAN, 1e-5), ValueError, "epsilon"),
    "gdp_delta eps -1": (lambda: gdp_delta(-1.0, 1.0), ValueError, "epsilon"),
    "rdp_mu eps 0": (lambda: rdp_closed_form_mu(0.0, 1e-5), ValueError, "epsilon"),
    "calibrate eps 0": (
        lambda: calibrate_full_batch(0.0, 1e-5, [("a", 1.0, 1, 1.0)]),
        ValueError,
        "epsilon",
    ),
    "calibrate eps -1": (
        lambda: calibrate_full_batch(-1.0, 1e-5, [("a", 1.0, 1, 1.0)]),
        ValueError,
        "epsilon",
    ),
    "calibrate eps nan": (
        lambda: calibrate_full_batch(NAN, 1e-5, [("a", 1.0, 1, 1.0)]),
        ValueError,
        "epsilon",
    ),
    "calibrate eps str": (
        lambda: calibrate_full_batch("1", 1e-5, [("a", 1.0, 1, 1.0)]),
        TypeError,
        "epsilon",
    ),
    "dpsgd_nm eps 0": (lambda: dpsgd_noise_multiplier(0.0, 1e-5, 0.1, 10), ValueError, "epsilon"),
    "dpsgd_nm eps -1": (lambda: dpsgd_noise_multiplier(-1.0, 1e-5, 0.1, 10), ValueError, "epsilon"),
    "dpsgd_nm eps nan": (lambda: dpsgd_noise_multiplier(NAN, 1e-5, 0.1, 10), ValueError, "epsilon"),
    # mu
    "gdp_epsilon mu -1": (lambda: gdp_epsilon(-1.0, 1e-5), ValueError, "mu"),
    "gdp_epsilon mu nan": (lambda: gdp_epsilon(NAN, 1e-5), ValueError, "mu"),
    "gdp_delta mu -1": (lambda: gdp_delta(1.0, -1.0), ValueError, "mu"),
    "rdp_eps mu -1": (lambda: rdp_closed_form_epsilon(-1.0, 1e-5), ValueError, "mu"),
    # noise and sensitivity
    "gaussian_mu std -1": (lambda: gaussian_mu(1.0, -1.0), ValueError, "noise_std"),
    "gaussian_mu sens -1": (lambda: gaussian_mu(-1.0, 1.0), ValueError, "sensitivity"),
    "composed_mu std -1": (lambda: composed_mu([1.0], [-1.0]), ValueError, "noise_std"),
    "composed_mu lengths": (lambda: composed_mu([1.0], [1.0, 2.0]), ValueError, "noise_stds"),
    "composed_mu counts": (lambda: composed_mu([1.0], [1.0], [1, 2]), ValueError, "counts"),
    "release std -1": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=-1.0),
        ValueError,
        "noise_std",
    ),
    "release std nan": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=NAN),
        ValueError,
        "noise_std",
    ),
    "release sens 0": (
        lambda: GaussianRelease(name="r", sensitivity=0.0, noise_std=1.0),
        ValueError,
        "sensitivity",
    ),
    "release count -1": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=1.0, count=-1),
        ValueError,
        "count",
    ),
    "release count 1.5": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=1.0, count=1.5),
        TypeError,
        "count",
    ),
    "release q 0": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=1.0, sampling_rate=0.0),
        ValueError,
        "sampling_rate",
    ),
    "release q 2": (
        lambda: GaussianRelease(name="r", sensitivity=1.0, noise_std=1.0, sampling_rate=2.0),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_eps noise -1": (
        lambda: dpsgd_epsilon(-1.0, 0.1, 10, 1e-5),
        ValueError,
        "noise_multiplier",
    ),
    "dpsgd_eps noise nan": (
        lambda: dpsgd_epsilon(NAN, 0.1, 10, 1e-5),
        ValueError,
        "noise_multiplier",
    ),
    "dpsgd_eps noise inf": (
        lambda: dpsgd_epsilon(INF, 0.1, 10, 1e-5),
        ValueError,
        "noise_multiplier",
    ),
    "dpsgd_event noise 0": (lambda: dpsgd_event(0.0, 0.1, 10), ValueError, "noise_multiplier"),
    "dpsgd_event noise -1": (lambda: dpsgd_event(-1.0, 0.1, 10), ValueError, "noise_multiplier"),
    "calibrate sens 0": (
        lambda: calibrate_full_batch(1.0, 1e-5, [("a", 0.0, 1, 1.0)]),
        ValueError,
        "sensitivity",
    ),
    "calibrate sens -1": (
        lambda: calibrate_full_batch(1.0, 1e-5, [("a", -1.0, 1, 1.0)]),
        ValueError,
        "sensitivity",
    ),
    "calibrate sens str": (
        lambda: calibrate_full_batch(1.0, 1e-5, [("a", "x", 1, 1.0)]),
        TypeError,
        "sensitivity",
    ),
    "calibrate share 0": (
        lambda: calibrate_full_batch(1.0, 1e-5, [("a", 1.0, 1, 0.0)]),
        ValueError,
        "share",
    ),
    "calibrate count 0": (
        lambda: calibrate_full_batch(1.0, 1e-5, [("a", 1.0, 0, 1.0)]),
        ValueError,
        "count",
    ),
    "calibrate no parts": (lambda: calibrate_full_batch(1.0, 1e-5, []), ValueError, "parts"),
    # mechanisms: clip norm and noise std (concrete values; traced ones are checked by callers)
    "clip_rows 0": (lambda: clip_rows(jnp.ones((2, 3)), 0.0), ValueError, "clip_norm"),
    "clip_rows -1": (lambda: clip_rows(jnp.ones((2, 3)), -1.0), ValueError, "clip_norm"),
    "clip_rows nan": (lambda: clip_rows(jnp.ones((2, 3)), NAN), ValueError, "clip_norm"),
    "normalize_rows 0": (lambda: normalize_rows(jnp.ones((2, 3)), 0.0), ValueError, "norm"),
    "normalize_rows -1": (lambda: normalize_rows(jnp.ones((2, 3)), -2.0), ValueError, "norm"),
    "gaussian_noise -1": (lambda: gaussian_noise(jax.random.key(0), (2,), -1.0), ValueError, "std"),
    "gaussian_noise nan": (lambda: gaussian_noise(jax.random.key(0), (2,), NAN), ValueError, "std"),
    "gaussian_noise array": (
        lambda: gaussian_noise(jax.random.key(0), (2,), np.array([1.0, -1.0])),
        ValueError,
        "std",
    ),
    "symmetric -1": (
        lambda: symmetric_gaussian_noise(jax.random.key(0), 3, -1.0),
        ValueError,
        "std",
    ),
    # accountant names
    "spent accountant": (lambda: spent([REL], 1e-5, accountant="PLD"), ValueError, "accountant"),
    "dpsgd_eps accountant": (
        lambda: dpsgd_epsilon(1.0, 0.1, 10, 1e-5, "moments"),
        ValueError,
        "accountant",
    ),
    "dpsgd_eps accountant, no noise": (
        lambda: dpsgd_epsilon(0.0, 0.1, 10, 1e-5, "moments"),
        ValueError,
        "accountant",
    ),
    "dpsgd_nm accountant": (
        lambda: dpsgd_noise_multiplier(1.0, 1e-5, 0.1, 10, "gdp"),
        ValueError,
        "accountant",
    ),
    "make_accountant": (lambda: make_accountant("exact"), ValueError, "accountant"),
    "epsilon_of_event accountant": (
        lambda: epsilon_of_event(REL.dp_event(), 1e-5, "x"),
        ValueError,
        "accountant",
    ),
    # exact accounting needs full batch
    "dpsgd_eps exact q<1": (
        lambda: dpsgd_epsilon(1.0, 0.5, 10, 1e-5, "exact"),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_nm exact q<1": (
        lambda: dpsgd_noise_multiplier(1.0, 1e-5, 0.5, 10, "exact"),
        ValueError,
        "sampling_rate",
    ),
    # steps
    "dpsgd_eps steps 0": (lambda: dpsgd_epsilon(1.0, 0.1, 0, 1e-5), ValueError, "steps"),
    "dpsgd_eps steps 0 exact": (
        lambda: dpsgd_epsilon(1.0, 1.0, 0, 1e-5, "exact"),
        ValueError,
        "steps",
    ),
    "dpsgd_eps steps -3 exact": (
        lambda: dpsgd_epsilon(1.0, 1.0, -3, 1e-5, "exact"),
        ValueError,
        "steps",
    ),
    "dpsgd_eps steps 2.5 exact": (
        lambda: dpsgd_epsilon(1.0, 1.0, 2.5, 1e-5, "exact"),
        TypeError,
        "steps",
    ),
    "dpsgd_eps steps 0, no noise": (lambda: dpsgd_epsilon(0.0, 0.1, 0, 1e-5), ValueError, "steps"),
    "dpsgd_nm steps 0": (lambda: dpsgd_noise_multiplier(1.0, 1e-5, 0.1, 0), ValueError, "steps"),
    "dpsgd_nm steps 10.0": (
        lambda: dpsgd_noise_multiplier(1.0, 1e-5, 0.1, 10.0),
        TypeError,
        "steps",
    ),
    "dpsgd_event steps 0": (lambda: dpsgd_event(1.0, 0.1, 0), ValueError, "steps"),
    # sampling rate
    "dpsgd_eps q 0": (lambda: dpsgd_epsilon(1.0, 0.0, 10, 1e-5), ValueError, "sampling_rate"),
    "dpsgd_eps q 1.5": (lambda: dpsgd_epsilon(1.0, 1.5, 10, 1e-5), ValueError, "sampling_rate"),
    "dpsgd_eps q 1.5 rdp": (
        lambda: dpsgd_epsilon(1.0, 1.5, 10, 1e-5, "rdp"),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_eps q 0, no noise": (
        lambda: dpsgd_epsilon(0.0, 0.0, 10, 1e-5),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_nm q 0": (
        lambda: dpsgd_noise_multiplier(1.0, 1e-5, 0.0, 10),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_nm q 1.5": (
        lambda: dpsgd_noise_multiplier(1.0, 1e-5, 1.5, 10),
        ValueError,
        "sampling_rate",
    ),
    "dpsgd_event q 0": (lambda: dpsgd_event(1.0, 0.0, 10), ValueError, "sampling_rate"),
    "dpsgd_event q 1.5": (lambda: dpsgd_event(1.0, 1.5, 10), ValueError, "sampling_rate"),
}

DELTA_CALLS = {
    "gdp_epsilon": lambda d: gdp_epsilon(1.0, d),
    "gdp_mu": lambda d: gdp_mu(1.0, d),
    "rdp_closed_form_epsilon": lambda d: rdp_closed_form_epsilon(1.0, d),
    "rdp_closed_form_mu": lambda d: rdp_closed_form_mu(1.0, d),
    "calibrate_full_batch": lambda d: calibrate_full_batch(1.0, d, [("a", 1.0, 1, 1.0)]),
    "spent": lambda d: spent([REL], d),
    "epsilon_of_event": lambda d: epsilon_of_event(REL.dp_event(), d),
    "dpsgd_epsilon": lambda d: dpsgd_epsilon(1.0, 0.1, 10, d),
    "dpsgd_epsilon no noise": lambda d: dpsgd_epsilon(0.0, 0.1, 10, d),
    "dpsgd_noise_multiplier": lambda d: dpsgd_noise_multiplier(1.0, d, 0.1, 10),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_argument_is_named(name):
    call, exc, arg = BAD_CALLS[name]
    with pytest.raises(exc, match=arg):
        call()


@pytest.mark.parametrize("delta", [0.0, 1.0, -1e-5, 1.5, NAN])
@pytest.mark.parametrize("name", list(DELTA_CALLS))
def test_bad_delta_is_named(name, delta):
    with pytest.raises(ValueError, match="delta"):
        DELTA_CALLS[name](delta)


def test_mechanisms_accept_traced_and_zero_scales():
    # noise std 0 is the non-private limit (epsilon = inf), not an error
    np.testing.assert_array_equal(np.asarray(gaussian_noise(jax.random.key(0), (2,), 0.0)), 0.0)
    # traced values are not inspected (they cannot be): jit/vmap over stds keeps working
    out = jax.jit(lambda s: gaussian_noise(jax.random.key(0), (2,), s))(1.0)
    assert out.shape == (2,)
    out = jax.vmap(lambda s: symmetric_gaussian_noise(jax.random.key(0), 3, s))(
        jnp.array([0.0, 1.0])
    )
    assert out.shape == (2, 3, 3)
