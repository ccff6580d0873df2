"""Fashion-MNIST loader (Debian package dataset-fashion-mnist) and the IDX reader."""

import gzip
import struct

import numpy as np
import pytest

from dptl.data import load_images
from dptl.data.fashion_mnist import FASHION_MNIST_DIR, load_fashion_mnist, read_idx

needs_package = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason="sudo apt-get install dataset-fashion-mnist"
)


@needs_package
def test_loads_all_images_in_file_order():
    ds = load_images("fashion_mnist")
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int32
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.y_train[:5].tolist() == [9, 0, 0, 3, 0]  # the published file order


def test_missing_package_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="unknown dataset 'mnist_fashion'.*fashion_mnist"):
        load_images("mnist_fashion")


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_round_trip_and_truncation(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), a)
    header = bytes([0, 0, 8, 1]) + struct.pack(">I", 10)
    (tmp_path / "bad").write_bytes(header + b"\0" * 3)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "bad")
    (tmp_path / "foreign").write_bytes(b"PK\3\4 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "foreign")


def test_loads_from_a_generated_directory(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 7), ("t10k", 3)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    ds = load_fashion_mnist(tmp_path)
    assert ds.x_train.shape == (7, 28, 28) and ds.y_test.shape == (3,)
