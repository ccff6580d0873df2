"""CIFAR python-version archives, tested on a small archive of the same format."""

import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

from dptl.data import load_images
from dptl.data.cifar import load_cifar


def _add(tar, name, obj):
    blob = pickle.dumps(obj, protocol=2)
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tar.addfile(info, io.BytesIO(blob))


def _make_cifar10(path, per_batch=3):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5 * per_batch + 2, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, len(images))
    flat = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # the archive's CHW rows
    with tarfile.open(path, "w:gz") as tar:
        for i in range(5):
            s = slice(i * per_batch, (i + 1) * per_batch)
            _add(
                tar,
                f"cifar-10-batches-py/data_batch_{i + 1}",
                {b"data": flat[s], b"labels": labels[s].tolist()},
            )
        _add(
            tar,
            "cifar-10-batches-py/test_batch",
            {b"data": flat[-2:], b"labels": labels[-2:].tolist()},
        )
        _add(
            tar,
            "cifar-10-batches-py/batches.meta",
            {b"label_names": [f"class{i}".encode() for i in range(10)]},
        )
    return images, labels


def test_reads_a_generated_archive(tmp_path):
    images, labels = _make_cifar10(tmp_path / "c.tar.gz")
    ds = load_cifar("cifar10", archive=tmp_path / "c.tar.gz")
    np.testing.assert_array_equal(ds.x_train, images[:15])
    np.testing.assert_array_equal(ds.y_test, labels[-2:])
    assert ds.class_names[3] == "class3" and ds.x_train.dtype == np.uint8


def test_downloads_once_and_checks_the_md5(tmp_path):
    archive = tmp_path / "src.tar.gz"
    _make_cifar10(archive)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    url = archive.as_uri()
    ds = load_images("cifar10", url=url, md5=md5, cache_dir=tmp_path / "cache")
    assert ds.x_train.shape == (15, 32, 32, 3)
    assert (tmp_path / "cache" / "cifar-10-python.tar.gz").is_file()
    with pytest.raises(OSError, match="MD5"):
        load_cifar("cifar10", url=url, md5="0" * 32, cache_dir=tmp_path / "other")
    assert not list((tmp_path / "other").iterdir())  # no half-downloaded file left


def test_rejects_foreign_archives_and_pickled_code(tmp_path):
    with tarfile.open(tmp_path / "evil.tar.gz", "w:gz") as tar:
        _add(tar, "cifar-10-batches-py/data_batch_1", print)
    with pytest.raises(ValueError, match="not a valid cifar10 python-version archive"):
        load_cifar("cifar10", archive=tmp_path / "evil.tar.gz")
    with pytest.raises(ValueError, match="name must be one of"):
        load_cifar("cifar1000")
