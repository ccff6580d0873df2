"""Model files (dptl.model), DpEvent JSON, the auto rule, the report: no backbone needed."""

from __future__ import annotations

import dataclasses
import json
import math
import zipfile
from pathlib import Path

import dp_accounting as dpa
import jax
import numpy as np
import pytest

from dptl.archive import HEADER_MEMBER, write_archive
from dptl.data.synthetic import gaussian_mixture_features
from dptl.model import ModelFileError, PrivateModel
from dptl.privacy import spent
from dptl.privacy.events import event_from_json, event_to_json
from dptl.report import confusion_matrix, model_report_html, recheck_epsilon
from dptl.solvers import METHODS
from dptl.solvers.choice import choose_method

BACKBONE = {
    "backbone": "efficientnet_lite0",
    "weights": "random(key_data=[0, 0])",
    "resolution": 32,
    "layer": "block",
    "dim": 16,
}


@pytest.fixture(scope="module")
def features():
    fs = gaussian_mixture_features(seed=0, num_train=600, num_test=200, dim=16, num_classes=3)
    return dataclasses.replace(fs, metadata={**fs.metadata, **BACKBONE})


def _model(features, method="dp_gd", epsilon=1.0):
    kw = {"batch_size": 200} if method in ("dp_sgd", "dp_fc_sgd") else {}
    res = METHODS[method].solver(
        jax.random.key(0),
        features.x_train,
        features.y_train,
        epsilon=epsilon,
        num_classes=features.num_classes,
        **kw,
    )
    return res, PrivateModel.from_result(res, features, features_path="f.npz", key="test key")


@pytest.mark.parametrize("method", list(METHODS))
def test_saved_model_predicts_as_the_result_and_keeps_its_privacy_record(
    features, method, tmp_path
):
    res, model = _model(features, method)
    digest = model.save(tmp_path / "m.npz")
    loaded = PrivateModel.load(tmp_path / "m.npz")
    assert loaded.checksum() == digest
    np.testing.assert_array_equal(loaded.predict(features.x_test), res.predict(features.x_test))
    np.testing.assert_allclose(
        loaded.logits(features.x_test), res.logits(features.x_test), rtol=1e-6, atol=1e-6
    )
    assert loaded.privacy == res.privacy  # every release, epsilon, delta, accountant
    assert loaded.privacy.dp_event == res.privacy.dp_event
    assert loaded.class_names == features.class_names
    assert loaded.backbone == BACKBONE
    assert loaded.training["num_train"] == features.num_train
    assert "add/remove one example" in loaded.guarantee()
    probs = loaded.probabilities(features.x_test)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_a_centred_model_keeps_its_centre_and_version_1_files_still_load(features, tmp_path):
    """DP-FC's released centre travels in the file (version 2) and is applied at prediction;
    a version-1 file (no centre) still loads with its own checksum."""
    res, model = _model(features, "dp_fc")
    assert res.center is not None and model.format_version == 2
    model.save(tmp_path / "c.npz")
    loaded = PrivateModel.load(tmp_path / "c.npz")
    np.testing.assert_array_equal(loaded.center, np.asarray(res.center, np.float32))
    uncentred = dataclasses.replace(model, center=None, format_version=1)
    digest = uncentred.save(tmp_path / "v1.npz")
    old = PrivateModel.load(tmp_path / "v1.npz")
    assert old.format_version == 1 and old.center is None and old.checksum() == digest
    assert not np.allclose(old.logits(features.x_test), loaded.logits(features.x_test))
    with pytest.raises(ModelFileError, match="version-1 model file cannot hold a centre"):
        dataclasses.replace(model, format_version=1)


def test_the_file_runs_no_code_and_holds_no_pickle(features, tmp_path):
    _, model = _model(features)
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(["weights.npy", "bias.npy", f"{HEADER_MEMBER}.npy"])
    with np.load(path, allow_pickle=False) as npz:  # would raise on an object array
        header = json.loads(bytes(npz[HEADER_MEMBER]).decode())
    assert header["format"] == "dptl-model" and header["privacy"]["dp_event"]["class_name"]


def _rewrite(path, out, edit_header=None, edit_arrays=None):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in ("weights", "bias")}
        header = json.loads(bytes(npz[HEADER_MEMBER]).decode())
    if edit_header:
        edit_header(header)
    if edit_arrays:
        edit_arrays(arrays)
    write_archive(out, arrays, header)
    return out


def _set(path_keys, value):
    def edit(header):
        node = header
        for k in path_keys[:-1]:
            node = node[k]
        node[path_keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    "edit_header,edit_arrays,message",
    [
        (_set(["privacy", "epsilon"], 0.01), None, "SHA-256"),  # a better-looking claim
        (_set(["class_names"], ["a", "b", "c"]), None, "SHA-256"),
        (None, lambda a: a["weights"].__setitem__((0, 0), 5.0), "SHA-256"),
        (_set(["privacy", "releases"], []), None, "DpEvent does not match"),
        (
            _set(["privacy", "dp_event"], {"class_name": "system", "command": "rm"}),
            None,
            "not a dp_accounting DpEvent",
        ),
        (_set(["format"], "dptl-features"), None, "not a dptl model file"),
        (_set(["version"], 7), None, "version 7"),
        (lambda h: h.pop("head"), None, "missing or malformed"),
        (_set(["class_names"], ["a"]), None, "1 class names for a head with 3"),
    ],
)
def test_an_altered_or_foreign_model_file_is_refused(
    features, tmp_path, edit_header, edit_arrays, message
):
    _, model = _model(features)
    model.save(tmp_path / "m.npz")
    bad = _rewrite(tmp_path / "m.npz", tmp_path / "bad.npz", edit_header, edit_arrays)
    with pytest.raises(ModelFileError, match=message):
        PrivateModel.load(bad)


def test_missing_random_and_feature_files_are_named(features, tmp_path):
    with pytest.raises(FileNotFoundError, match="dptl train"):
        PrivateModel.load(tmp_path / "none.npz")
    (tmp_path / "r.npz").write_bytes(np.random.default_rng(0).bytes(2048))
    with pytest.raises(ModelFileError, match=r"not an \.npz"):
        PrivateModel.load(tmp_path / "r.npz")
    features.save(tmp_path / "f.npz")
    with pytest.raises(ModelFileError, match="format is 'dptl-features'"):
        PrivateModel.load(tmp_path / "f.npz")


def test_dp_events_round_trip_through_json_and_refuse_other_classes():
    event = dpa.ComposedDpEvent(
        [
            dpa.GaussianDpEvent(1.5),
            dpa.SelfComposedDpEvent(dpa.PoissonSampledDpEvent(0.05, dpa.GaussianDpEvent(2.0)), 300),
            dpa.NoOpDpEvent(),
            dpa.NonPrivateDpEvent(),
        ]
    )
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event
    for bad in ({"class_name": "DpEventNamedTuple"}, {"class_name": "importlib"}, [], {"x": 1}):
        with pytest.raises(ValueError):
            event_from_json(bad)


def test_the_report_names_the_guarantee_the_releases_and_scores_the_test_rows(features):
    res, model = _model(features)
    page = model_report_html(model, features, features_path="f.npz")
    assert "add/remove one example" in page and "differentially private" in page
    for r in res.privacy.releases:
        assert r.name in page
    acc = res.accuracy(features.x_test, features.y_test)
    assert f"{100 * acc:.2f}%" in page
    assert 'id="confusion"' in page and "<script" in page  # the figure, plotly.js inlined
    assert "cdn" not in page.lower().split("<body>")[1][:2000]  # works offline
    checks = recheck_epsilon(model)
    assert checks["recomputed"] == pytest.approx(model.privacy.epsilon, rel=1e-9)
    assert checks["pld"] == pytest.approx(model.privacy.epsilon, rel=0.02)  # dp_accounting


def test_the_report_refuses_features_of_another_backbone(features):
    _, model = _model(features)
    other = dataclasses.replace(features, metadata={**features.metadata, "resolution": 112})
    with pytest.raises(ModelFileError, match="another backbone.*resolution"):
        model_report_html(model, other)


def test_confusion_matrix_counts_rows_as_true_classes():
    got = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 0], 3)
    np.testing.assert_array_equal(got, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])


def _frontier_files():
    return sorted((Path(__file__).parents[1] / "docs" / "results").glob("frontier*.json"))


@pytest.mark.parametrize("path", _frontier_files(), ids=lambda p: p.stem)
def test_the_auto_rule_picks_the_best_measured_default(path):
    """``choose_method`` agrees with the measurements it cites (dptl.solvers.choice's
    docstring and the pick's reason): its pick's default accuracy is the best in every
    measured cell, private or not."""
    data = json.loads(path.read_text())
    n = data["num_train"]
    for e, eps in enumerate([*data["epsilons"], math.inf]):
        means = {m: v["default_mean"][e] for m, v in data["methods"].items()}
        pick = choose_method(num_examples=n, num_classes=10, epsilon=eps, delta=data["delta"])
        assert "within the measured range" in pick.reason
        assert means[pick.method] == max(means.values()), (eps, means, pick)


def test_the_auto_rule_says_when_it_extrapolates():
    pick = choose_method(num_examples=300, num_classes=4, epsilon=1.0, delta=1e-5)
    assert pick.method in METHODS and "extrapolation" in pick.reason


def test_the_privacy_record_is_what_the_accountant_computes(features):
    res, model = _model(features, "dp_fc")
    again = spent(model.privacy.releases, model.privacy.delta, model.privacy.accountant)
    assert again.epsilon == pytest.approx(res.privacy.epsilon, rel=1e-12)


def test_the_model_file_records_nothing_of_the_rows_beyond_the_release(features):
    """Neighbouring datasets (one training row replaced), the same key: the headers differ
    only where the released weights do (no hash or statistic of the rows is recorded)."""
    other = dataclasses.replace(features, x_train=features.x_train.copy())
    other.x_train[0] = -other.x_train[0]
    a, b = (_model(fs)[1] for fs in (features, other))
    assert not np.array_equal(a.weights, b.weights)
    assert a.header() == b.header()
    assert "sha256" not in json.dumps(a.header()["training"])
