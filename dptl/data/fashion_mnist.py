"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (gzipped IDX files)."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from dptl.data.images import ImageDataset

__all__ = ["CLASS_NAMES", "FASHION_MNIST_DIR", "load_fashion_mnist", "read_idx"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes into an array of its stored shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(
            f"{path} is truncated: expected {int(np.prod(shape))} values, got {body.size}"
        )
    return body.reshape(shape)


def load_fashion_mnist(directory: str | os.PathLike | None = None) -> ImageDataset:
    """60k train + 10k test 28x28 uint8 images in the files' order, labels 0..9."""
    directory = Path(directory or os.environ.get("DPTL_FASHION_MNIST_DIR", FASHION_MNIST_DIR))
    missing = [f for f in _FILES.values() if not (directory / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST files {missing} are not in {directory}; "
            "install with: sudo apt-get install dataset-fashion-mnist"
        )
    arrays = {k: read_idx(directory / f) for k, f in _FILES.items()}
    return ImageDataset(
        "fashion_mnist",
        arrays["x_train"],
        arrays["y_train"].astype(np.int32),
        arrays["x_test"],
        arrays["y_test"].astype(np.int32),
        CLASS_NAMES,
    )
