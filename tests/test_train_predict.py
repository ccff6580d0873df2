"""From a folder of images to a private classifier: `dptl extract` (folder), `dptl train`,
`dptl predict`, `dptl report` end to end on a PNG folder the test writes (Fashion-MNIST
images by class), checked against the same steps run in memory."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from dptl.classifier import Classifier
from dptl.cli import main
from dptl.data import FeatureSet, list_image_files, read_image
from dptl.features import extract, get_backbone
from dptl.lessons.own_images import demo_folder
from dptl.model import PrivateModel
from dptl.solvers import METHODS, dp_fc

RESOLUTION = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A PNG folder (10 classes x 12), its features (random-weight backbone), one model."""
    tmp = tmp_path_factory.mktemp("own")
    folder = demo_folder(tmp / "images", per_class=12)
    feats, model = tmp / "feats.npz", tmp / "model.npz"
    extract_argv = ["extract", "--dataset", f"folder:{folder}", "--backbone"]
    extract_argv += ["efficientnet_lite0", "--weights", "random", "--seed", "0"]
    extract_argv += ["--resolution", str(RESOLUTION), "--dtype", "float32", "--no-progress"]
    assert main([*extract_argv, "--out", str(feats)]) == 0
    train = ["train", "--features", str(feats), "--epsilon", "2", "--seed", "0"]
    assert main([*train, "--out", str(model)]) == 0
    return {"folder": folder, "features": feats, "model": model, "tmp": tmp}


def _backbone():
    return get_backbone("efficientnet_lite0", weights="random", key=jax.random.key(0))


def test_train_saves_what_the_solver_returns_in_memory(trained, capsys):
    fs = FeatureSet.load(trained["features"])
    assert "T-shirt-top" in fs.class_names and fs.num_classes == 10  # sorted folder names
    assert fs.metadata["dataset"].startswith("folder:") and "split" in fs.metadata
    res = dp_fc(
        jax.random.key(0), fs.x_train, fs.y_train, epsilon=2.0, num_classes=fs.num_classes
    )  # --method auto is DP-FC
    model = PrivateModel.load(trained["model"])
    assert model.method == "dp_fc" and model.privacy == res.privacy
    np.testing.assert_allclose(model.center, np.asarray(res.center), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.weights, np.asarray(res.weights), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(model.predict(fs.x_test), res.predict(fs.x_test))
    assert model.backbone["weights"] == "random(key_data=[0, 0])"
    assert model.backbone["resolution"] == RESOLUTION


def test_train_prints_the_guarantee_and_the_releases(trained, capsys):
    out = trained["tmp"] / "again.npz"
    assert main(["train", "--features", str(trained["features"]), "--epsilon", "2",
                 "--seed", "0", "--out", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr()
    assert "(2, 1e-05)-differentially private" in text.out
    assert "neighbouring relation: add/remove one example" in text.out
    assert "clipped gradient sum" in text.out and "test accuracy" in text.out
    assert "--method auto" in text.err and "not for release" in text.err
    # the same seed gives the same file, byte for byte
    assert out.read_bytes() == trained["model"].read_bytes()


def test_predict_on_image_files_matches_the_model_in_memory(trained, capsys):
    files = list_image_files(trained["folder"])
    images = np.stack([read_image(f, RESOLUTION) for f in files])
    model = PrivateModel.load(trained["model"])
    want = model.predict(extract(_backbone(), images, resolution=RESOLUTION, progress=False))
    argv = ["predict", "--model", str(trained["model"]), str(trained["folder"])]
    assert main([*argv, "--json", "--top-k", "2", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = out["predictions"]
    assert [p["image"] for p in got] == [str(f) for f in files]
    assert [p["top"][0]["class"] for p in got] == [model.class_names[k] for k in want]
    assert all(len(p["top"]) == 2 and p["top"][0]["probability"] >= p["top"][1]["probability"]
               for p in got)  # fmt: skip
    # the Python classifier on the arrays, and on images of other sizes (resized on the host)
    clf = Classifier.load(trained["model"])
    np.testing.assert_array_equal(clf.predict(images), want)
    big = [np.kron(img, np.ones((3, 3, 1), np.uint8)) for img in images[:5]]
    assert clf.predict(big).shape == (5,)
    assert main(["predict", "--model", str(trained["model"]), str(files[0])]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{files[0]}: {model.class_names[want[0]]} ")


def test_predict_names_bad_inputs(trained, capsys):
    bad = trained["tmp"] / "bad.png"
    bad.write_bytes(b"not a png")
    note = trained["tmp"] / "notes.txt"
    note.write_text("hello")
    model = str(trained["model"])
    for path, message in ((bad, "bad.png"), (note, "not image files"), ("/nonexistent", "no such")):
        assert main(["predict", "--model", model, str(path)]) == 2
        err = capsys.readouterr().err
        assert "dptl predict: error" in err and message in err, err


def test_report_names_the_guarantee_and_scores_the_test_rows(trained, capsys):
    html = trained["tmp"] / "report.html"
    argv = ["report", "--model", str(trained["model"]), "--features", str(trained["features"])]
    assert main([*argv, "--out", str(html)]) == 0
    page = html.read_text()
    assert "add/remove one example" in page and "differentially private" in page
    assert "Top-1 accuracy" in page and 'id="confusion"' in page
    assert "clipped gradient sum" in page


def test_report_refuses_features_of_another_backbone(trained, capsys, tmp_path):
    fs = FeatureSet.load(trained["features"])
    other = tmp_path / "other.npz"
    FeatureSet(fs.x_train, fs.y_train, fs.x_test, fs.y_test, fs.class_names,
               metadata={**fs.metadata, "weights": "imagenet"}).save(other)  # fmt: skip
    assert main(["report", "--model", str(trained["model"]), "--features", str(other)]) == 2
    assert "another backbone" in capsys.readouterr().err


def test_a_corrupt_model_file_stops_every_command(trained, capsys, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    data = bytearray(trained["model"].read_bytes())
    data[200] ^= 0xFF  # inside the weights
    corrupt.write_bytes(bytes(data))
    for cmd in (["predict", "--model", str(corrupt), str(trained["folder"])],
                ["report", "--model", str(corrupt)]):  # fmt: skip
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert "corrupt" in err or "SHA-256" in err, err


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_trains_on_a_small_folder(trained, method, tmp_path, capsys):
    out = tmp_path / "m.npz"
    argv = ["train", "--features", str(trained["features"]), "--method", method]
    assert main([*argv, "--epsilon", "1", "--seed", "1", "--out", str(out)]) == 0
    assert PrivateModel.load(out).privacy.epsilon == pytest.approx(1.0, rel=1e-6)


def test_auto_without_privacy_trains_dp_fc_and_says_not_private(trained, tmp_path, capsys):
    out = tmp_path / "m.npz"
    argv = ["train", "--features", str(trained["features"]), "--epsilon", "inf"]
    assert main([*argv, "--seed", "1", "--out", str(out)]) == 0
    assert PrivateModel.load(out).method == "dp_fc"
    assert "inf (not private)" in capsys.readouterr().out


def test_train_on_a_float16_feature_file_matches_the_solver_on_its_float32_copy(tmp_path, capsys):
    """Feature files are float16 by default; training casts a copy, as the lesson does."""
    from dptl.data.synthetic import gaussian_mixture_features

    fs = gaussian_mixture_features(seed=0, num_train=300, num_test=50, dim=8, num_classes=3)
    fs = fs.astype("float16")
    fs.save(tmp_path / "f16.npz")
    argv = ["train", "--features", str(tmp_path / "f16.npz"), "--epsilon", "1", "--seed", "0"]
    assert main([*argv, "--out", str(tmp_path / "m.npz")]) == 0
    x = fs.x_train.astype("float32")
    res = dp_fc(jax.random.key(0), x, fs.y_train, epsilon=1.0, num_classes=3)  # auto: DP-FC
    model = PrivateModel.load(tmp_path / "m.npz")
    np.testing.assert_allclose(model.weights, res.weights, atol=1e-6)
    np.testing.assert_allclose(model.center, res.center, atol=1e-6)


def test_a_model_for_another_backbone_width_is_refused(trained, tmp_path):
    import dataclasses

    model = PrivateModel.load(trained["model"])
    with pytest.raises(ValueError, match="dimensions but the head takes"):
        dataclasses.replace(model, backbone={**model.backbone, "dim": 1280})
    other = dataclasses.replace(model, backbone={**model.backbone, "layer": "head"})
    with pytest.raises(ValueError, match="built for another backbone"):
        Classifier(other)


def test_predict_files_in_chunks_gives_the_same_predictions(trained, monkeypatch):
    import dptl.classifier

    clf = Classifier.load(trained["model"])
    whole = clf.predict_files([trained["folder"]], progress=False)
    monkeypatch.setattr(dptl.classifier, "FILES_PER_CHUNK", 7)
    chunked = clf.predict_files([trained["folder"]], progress=False)
    assert [p.classes for p in chunked] == [p.classes for p in whole]
    assert [p.source for p in chunked] == [p.source for p in whole]
