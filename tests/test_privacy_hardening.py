"""Nothing data-dependent escapes the accounting: a public class count, preprocessing safe
for every finite input, fresh secret keys for commands that train, clear errors on bad input.

Neighbouring relation: add/remove one example. Each test compares a data set D with its
neighbour D' = D + one extreme example and checks that what differs is only the noisy
release, never a shape, a noise scale, or whether the call fails.
"""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest
from _solver_cases import scratch_dir

from dptl import cli
from dptl.data import FeatureSet
from dptl.data.features_file import FeatureFileError
from dptl.data.synthetic import gaussian_mixture_features
from dptl.privacy import SEEDED_WARNING, clip_rows, fresh_key, normalize_rows, training_key
from dptl.solvers import dp_fc, dp_fc_sgd, dp_least_squares, dp_newton, dp_sgd
from dptl.solvers.inputs import preprocess_features
from dptl.solvers.sweep import privacy_utility

N, D, K = 200, 8, 10
SOLVERS = {
    "dp_least_squares": lambda key, x, y, **kw: dp_least_squares(key, x, y, **kw),
    "dp_least_squares_alpha": lambda key, x, y, **kw: dp_least_squares(key, x, y, alpha=0.5, **kw),
    "dp_gd": lambda key, x, y, **kw: dp_sgd(key, x, y, steps=2, **kw),
    "dp_newton": lambda key, x, y, **kw: dp_newton(key, x, y, steps=2, **kw),
    "dp_fc": lambda key, x, y, **kw: dp_fc(key, x, y, steps=2, **kw),
    "dp_fc_sgd": lambda key, x, y, **kw: dp_fc_sgd(key, x, y, steps=2, batch_size=None, **kw),
}


def _rows(seed=0, n=N):
    """n rows of dimension D with labels 0..2 only (classes 3..K-1 have no example)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, D)).astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_solver_needs_the_public_class_count(name):
    x, y = _rows()
    with pytest.raises(ValueError, match="num_classes is required"):
        SOLVERS[name](jax.random.key(0), x, y, epsilon=1.0)


def test_the_sweep_needs_the_public_class_count():
    x, y = _rows()
    with pytest.raises(ValueError, match="num_classes is required"):
        privacy_utility("dp_least_squares", jax.random.key(0), x, y, x, y, epsilons=[1.0])


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_an_example_with_a_new_label_changes_neither_shape_nor_noise(name):
    """The probe's reproducer: D has labels 0..2, D' adds one example labelled 9."""
    x, y = _rows()
    x2, y2 = np.vstack([x, np.ones((1, D), np.float32)]), np.append(y, 9)
    out = [
        SOLVERS[name](jax.random.key(0), a, b, epsilon=1.0, num_classes=K)
        for a, b in ((x, y), (x2, y2))
    ]
    assert out[0].weights.shape == out[1].weights.shape == (D, K)
    assert out[0].privacy.noise_stds == out[1].privacy.noise_stds
    assert out[0].privacy.epsilon == out[1].privacy.epsilon


def test_a_label_beyond_the_class_count_is_an_error_naming_the_labels():
    x, y = _rows()
    with pytest.raises(ValueError, match=r"y must be in 0\.\.2"):
        dp_least_squares(jax.random.key(0), x, np.append(y[:-1], 3), epsilon=1.0, num_classes=3)


# -- preprocessing: every finite row maps to norm C ("normalize") or <= C ("clip") ---------

EXTREME_FLOAT32 = [1e-30, 1e-20, 1e-5, 1.0, 1e20, 1e30, 3e38]
EXTREME_FLOAT64 = [1e-300, 1e-40, 1e39, 1e300]


def _rows_of_norm(norms, dtype, d=5, seed=1):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(len(norms), d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return (u * np.asarray(norms, np.float64)[:, None]).astype(dtype)


@pytest.mark.parametrize(
    "dtype,norms,as_jax",
    [
        (np.float32, EXTREME_FLOAT32, False),
        (np.float32, EXTREME_FLOAT32, True),  # a device array (JAX holds float32 without x64)
        (np.float64, EXTREME_FLOAT32 + EXTREME_FLOAT64, False),
    ],
)
def test_normalize_maps_rows_of_any_norm_to_norm_c(dtype, norms, as_jax):
    x = _rows_of_norm(norms, dtype)
    if as_jax:
        x = jax.numpy.asarray(x)
    for c in (1.0, 2.5):
        out = np.asarray(normalize_rows(x, c), np.float64)
        assert np.isfinite(out).all()
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), c, rtol=1e-6)
        # the direction is kept
        ref = np.asarray(x, np.float64) / np.asarray(norms)[:, None]
        np.testing.assert_allclose(out / c, ref, atol=1e-6)


@pytest.mark.parametrize(
    "dtype,norms", [(np.float32, EXTREME_FLOAT32), (np.float64, EXTREME_FLOAT32 + EXTREME_FLOAT64)]
)
def test_clip_maps_rows_of_any_norm_to_at_most_c(dtype, norms):
    x = _rows_of_norm(norms, dtype)
    c = 2.0
    out = np.asarray(clip_rows(x, c), np.float64)
    assert np.isfinite(out).all()
    got = np.linalg.norm(out, axis=1)
    want = np.minimum(np.asarray(norms), c)
    big = np.asarray(norms) > c
    np.testing.assert_allclose(got[big], c, rtol=1e-6)
    # small rows are kept as they are (to float32 precision; subnormal float32 may flush)
    representable = (np.asarray(norms) <= c) & (np.asarray(norms) > 1e-37)
    np.testing.assert_allclose(got[representable], want[representable], rtol=1e-6)


def test_a_float64_row_beyond_float32_is_handled_the_same_with_or_without_other_rows():
    """The probe's 1e39 row: it used to fail only when present (inf after the float32 cast)."""
    x, y = _rows()
    row = np.full((1, D), 1e39, np.float64)
    alone = np.asarray(preprocess_features(row, 1.0, "normalize"))
    together = np.asarray(
        preprocess_features(np.vstack([x.astype(np.float64), row]), 1.0, "normalize")
    )
    np.testing.assert_array_equal(alone[0], together[-1])
    np.testing.assert_allclose(np.linalg.norm(alone), 1.0, rtol=1e-6)
    for name, solver in SOLVERS.items():
        for preprocess in ("normalize", "clip"):
            res = solver(
                jax.random.key(0),
                np.vstack([x.astype(np.float64), row]),
                np.append(y, 1),
                epsilon=1.0,
                num_classes=K,
                preprocess=preprocess,
            )
            assert np.isfinite(np.asarray(res.weights)).all(), (name, preprocess)


def test_non_finite_input_is_rejected_as_a_whole_at_validation():
    x, y = _rows()
    for bad in (np.inf, np.nan):
        x2 = np.vstack([x, np.full((1, D), bad, np.float32)])
        with pytest.raises(ValueError, match="x contains NaN or inf"):
            dp_fc(jax.random.key(0), x2, np.append(y, 0), epsilon=1.0, num_classes=K)


# -- keys ------------------------------------------------------------------------------


def test_fresh_keys_come_from_os_entropy(monkeypatch):
    a, b = fresh_key(), fresh_key()
    assert not np.array_equal(jax.random.key_data(a), jax.random.key_data(b))
    calls = []

    def fake(n):
        calls.append(n)
        return bytes(range(n))

    monkeypatch.setattr("dptl.privacy.keys.os.urandom", fake)
    k = training_key(None)
    assert calls == [8]
    np.testing.assert_array_equal(jax.random.key_data(k), np.frombuffer(bytes(range(8)), np.uint32))


def test_a_seeded_key_is_reproducible_and_checked():
    np.testing.assert_array_equal(
        jax.random.key_data(training_key(7)), jax.random.key_data(jax.random.key(7))
    )
    with pytest.raises(ValueError, match="seed"):
        training_key(-1)


# -- the command line ------------------------------------------------------------------


@pytest.fixture(scope="module")
def feature_file():
    fs = gaussian_mixture_features(seed=0, num_train=300, num_test=100, dim=8, num_classes=3)
    path = scratch_dir("dptl-hardening-") / "features.npz"
    fs.save(path)
    return path


def _compare(path, *extra):
    return [
        "compare",
        "--features",
        str(path),
        "--epsilons",
        "1",
        "--seeds",
        "1",
        "--methods",
        "dp_least_squares",
        "--json",
        *extra,
    ]


def test_compare_draws_a_fresh_key_by_default(feature_file, capsys, monkeypatch):
    drawn = []
    real = fresh_key

    def spy():
        drawn.append(1)
        return real()

    monkeypatch.setattr("dptl.privacy.keys.fresh_key", spy)
    assert cli.main(_compare(feature_file)) == 0
    report = json.loads(capsys.readouterr().out)
    assert drawn == [1]
    assert report["seed"] is None and "fresh secret key" in report["key"]
    assert report["neighbouring"] == "add/remove one example"


def test_compare_with_a_seed_is_reproducible_and_says_not_for_release(feature_file, capsys):
    outs = []
    for _ in range(2):
        assert cli.main(_compare(feature_file, "--seed", "4")) == 0
        outs.append(json.loads(capsys.readouterr().out))
    accuracies = [[r["accuracy_mean"] for r in out["results"]] for out in outs]
    assert accuracies[0] == accuracies[1]
    assert outs[0]["key"] == SEEDED_WARNING.format(seed=4)
    assert "not for release" in outs[0]["key"]
    assert (
        cli.main([a for a in _compare(feature_file, "--seed", "4") if a != "--json"]) == 0
    )  # the table says it too
    assert "not for release" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-5", "x"])
def test_compare_limit_must_be_positive(feature_file, capsys, value):
    with pytest.raises(SystemExit) as exc:
        cli.main(_compare(feature_file, "--limit", value))
    assert exc.value.code == 2
    assert "--limit" in capsys.readouterr().err


def _write_with_header(path, header):
    fs = gaussian_mixture_features(seed=0, num_train=20, num_test=10, dim=4, num_classes=2)
    arrays = {n: getattr(fs, n) for n in ("x_train", "y_train", "x_test", "y_test")}
    blob = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays, __dptl__=blob)
    return path


@pytest.mark.parametrize(
    "header,message",
    [
        (
            {"format": "dptl-features", "version": 1, "metadata": {}},
            "lacks the field 'class_names'",
        ),
        (["dptl-features", 1], "must be a JSON object, got a list"),
        ({"format": "dptl-features", "version": 1, "class_names": "ab"}, "'class_names' must be"),
        (
            {"format": "dptl-features", "version": 1, "class_names": ["a", "b"], "metadata": 3},
            "'metadata' must be a JSON object",
        ),
    ],
)
def test_a_broken_header_names_the_field(header, message, capsys):
    path = _write_with_header(scratch_dir("dptl-header-") / "f.npz", header)
    with pytest.raises(FeatureFileError, match=message):
        FeatureSet.load(path)
    assert cli.main(_compare(path)) == 2
    assert message.split("'")[0] in capsys.readouterr().err


def test_a_random_bytes_file_says_it_is_not_a_feature_file(capsys):
    path = scratch_dir("dptl-random-") / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FeatureFileError, match=r"not a dptl feature file: it is not an \.npz"):
        FeatureSet.load(path)
    assert cli.main(_compare(path)) == 2
    err = capsys.readouterr().err
    assert "not an .npz" in err and "allow_pickle" not in err


@pytest.mark.parametrize("value", ["no", 1, None])
def test_tail_average_must_be_a_bool(value):
    x, y = _rows()
    with pytest.raises(TypeError, match="tail_average must be True or False"):
        dp_fc_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, tail_average=value)


def test_record_weights_must_be_a_bool():
    x, y = _rows()
    with pytest.raises(TypeError, match="record_weights must be True or False"):
        dp_sgd(jax.random.key(0), x, y, epsilon=1.0, num_classes=K, record_weights="yes")


def test_inf_epsilon_is_still_fine():
    x, y = _rows()
    res = dp_least_squares(jax.random.key(0), x, y, epsilon=math.inf, num_classes=K)
    assert res.weights.shape == (D, K)
