"""Lesson 8's library (dptl.lessons.own_images) on a folder the test writes: photos of
mixed sizes and modes, as a teacher's own folder would be, and the zip upload."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
from PIL import Image

from dptl.classifier import Classifier
from dptl.lessons import own_images as L8
from dptl.model import PrivateModel
from dptl.privacy import gdp_mu


def _own_folder(root, per_class=24):
    """Three classes of coloured noise images, JPEG and PNG, of different sizes and modes."""
    rng = np.random.default_rng(0)
    colours = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
    for name, colour in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            h, w = rng.integers(40, 90, size=2)
            pixels = np.clip(rng.normal(colour, 40, (h, w, 3)), 0, 255).astype(np.uint8)
            img = Image.fromarray(pixels)
            if i % 3 == 0:
                img.convert("RGBA").save(root / name / f"{i}.png")
            elif i % 3 == 1:
                img.save(root / name / f"{i}.jpg", quality=90)
            else:
                img.convert("P").save(root / name / f"{i}.gif")
    return root


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    folder = _own_folder(tmp_path_factory.mktemp("own") / "photos")
    data = L8.load(folder, resolution=32)
    features = L8.extract_features(data, resolution=32, progress=False)
    sweep = L8.privacy_sweep(features, epsilons=(1.0, 8.0, math.inf), seeds=2, gallery=4)
    return {"folder": folder, "data": data, "features": features, "sweep": sweep}


def test_a_teachers_folder_goes_through_the_lesson(lesson, tmp_path):
    data, sweep = lesson["data"], lesson["sweep"]
    assert data.class_names == ("blue", "green", "red")
    assert data.x_train.shape[1:] == (32, 32, 3)
    assert "green" in L8.class_counts(data)
    assert sweep["accuracy"].shape == (3, 2)
    assert sweep["methods"] == ["dp_fc", "dp_fc", "dp_fc"]  # --method auto: DP-FC throughout
    # the gallery takes one test image of each class in turn
    assert [int(data.y_test[i]) for i in sweep["gallery"][:3]] == [0, 1, 2]
    np.testing.assert_allclose(sweep["probabilities"].sum(-1), 1, rtol=1e-5)
    assert sweep["accuracy"][-1].mean() > 0.9  # colours are easy without noise
    for explorer in (L8.sweep_explorer(sweep), L8.prediction_explorer(sweep, data)):
        for control in explorer.controls.values():
            for value in control.values:
                explorer.set(**{control.name: value})
    model, path = L8.train_and_save(lesson["features"], 8.0, tmp_path / "m.npz", seed=0)
    assert PrivateModel.load(path).privacy == model.privacy
    # the releases' composed mu is the GDP mu of the target (exact full-batch accounting)
    mu = gdp_mu(model.privacy.epsilon, model.privacy.delta)
    assert L8.exercise_answer(model) == pytest.approx(mu, rel=1e-6)
    lines = L8.predictions_on_test_images(Classifier(model), data, count=3).splitlines()
    assert [line.split("(true: ")[1].split(")")[0] for line in lines] == ["blue", "green", "red"]
    report = L8.write_report(model, lesson["features"], tmp_path / "r.html").read_text()
    assert "Top-1 accuracy" in report and "add/remove one example" in report
    assert f"folder:{lesson['folder']}" in L8.commands(lesson["folder"], 8.0)


def test_a_zip_upload_unpacks_and_refuses_paths_that_leave_its_folder(lesson, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(lesson["folder"].rglob("*.png")):
            zf.write(p, f"photos/{p.relative_to(lesson['folder'])}")
    folder = L8.unpack_zip(buf.getvalue(), tmp_path / "up")
    assert folder == (tmp_path / "up" / "photos").resolve()
    assert sorted(p.name for p in folder.iterdir()) == ["blue", "green", "red"]
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.png", b"x")
    with pytest.raises(ValueError, match="outside"):
        L8.unpack_zip(evil.getvalue(), tmp_path / "evil")
    assert not (tmp_path / "outside.png").exists()


def test_the_demo_folder_is_deterministic(tmp_path):
    a = L8.demo_folder(tmp_path / "a", per_class=3)
    b = L8.demo_folder(tmp_path / "b", per_class=3)
    files = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert len(files) == 30 and files == sorted(p.relative_to(b) for p in b.rglob("*.png"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
