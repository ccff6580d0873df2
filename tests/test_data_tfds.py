"""TFDS datasets through tfds.data_source, offline with tfds.testing.mock_data."""

import sys

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")


def test_package_imports_without_tfds():
    import subprocess

    code = (
        "import sys, dptl.data, dptl.features.extract, dptl.features.cli; "
        "assert 'tensorflow_datasets' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cifar10_through_data_source_with_mock_data():
    from dptl.data import load_images

    with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
        ds = load_images("tfds:cifar10")
    assert ds.x_train.shape == (12, 32, 32, 3) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (12, 32, 32, 3)
    assert ds.y_train.dtype == np.int32 and 0 <= ds.y_train.min() and ds.y_train.max() < 10
    assert len(ds.class_names) == 10  # the mock has no label names file: "0".."9"
    assert ds.name == "tfds:cifar10"


def test_unknown_tfds_dataset_is_a_clear_error():
    from dptl.data import load_images

    with pytest.raises(ValueError, match="unknown TFDS dataset 'no_such_set'"):
        load_images("tfds:no_such_set", download=False)
