"""CIFAR-10 / CIFAR-100 from the official "python version" archives (Krizhevsky).

The archive is downloaded once into a cache directory and checked against its published
MD5; members are read straight from the tar file. The batches are Python-2 pickles of
dicts holding NumPy arrays; they are read with a restricted unpickler that allows only
the NumPy array constructors.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from dptl.data.images import ImageDataset

__all__ = ["ARCHIVES", "load_cifar", "default_cache_dir"]

# name -> (url, md5, top folder, train members, test member, label key, meta member, names key)
ARCHIVES = {
    "cifar10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        "test_batch",
        b"labels",
        "batches.meta",
        b"label_names",
    ),
    "cifar100": (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85",
        "cifar-100-python",
        ["train"],
        "test",
        b"fine_labels",
        "meta",
        b"fine_label_names",
    ),
}

_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]


class _NumpyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _RECONSTRUCT
        if (module, name) in (("numpy", "ndarray"), ("numpy", "dtype")):
            return getattr(np, name)
        if (module, name) == ("_codecs", "encode"):  # bytes in protocol-2 pickles from Python 3
            return codecs.encode
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def default_cache_dir() -> Path:
    """Where downloads go: $DPTL_DATA_DIR, else ~/.cache/dptl."""
    return Path(os.environ.get("DPTL_DATA_DIR", Path.home() / ".cache" / "dptl"))


def _md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 (the published checksum of the archive)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(url: str, md5: str, dest: Path) -> Path:
    if dest.is_file() and _md5(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".partial", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url) as r:  # noqa: S310
            shutil.copyfileobj(r, f)
        got = _md5(Path(tmp))
        if got != md5:
            raise OSError(f"download of {url} has MD5 {got}, expected {md5}; try again")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _read_batch(tar: tarfile.TarFile, member: str) -> dict:
    f = tar.extractfile(member)
    if f is None:
        raise ValueError(f"{member} is not a file in the archive")
    return _NumpyUnpickler(io.BytesIO(f.read()), encoding="bytes").load()


def load_cifar(
    name: str = "cifar10",
    *,
    archive: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    url: str | None = None,
    md5: str | None = None,
    download: bool = True,
) -> ImageDataset:
    """CIFAR-10/100 as uint8 (N, 32, 32, 3) images in the archive's order.

    ``archive`` reads a local copy of the official ``.tar.gz`` as is; otherwise the
    archive is downloaded (once, ``url``/``md5`` override the official ones) into
    ``cache_dir``.
    """
    if name not in ARCHIVES:
        raise ValueError(f"name must be one of {sorted(ARCHIVES)}, got {name!r}")
    off_url, off_md5, top, train_members, test_member, label_key, meta, names_key = ARCHIVES[name]
    if archive is None:
        dest = Path(cache_dir or default_cache_dir()) / Path(off_url).name
        if not download and not dest.is_file():
            raise FileNotFoundError(f"{dest} is missing and download=False; get it from {off_url}")
        archive = _download(url or off_url, md5 or off_md5, dest)
    try:
        with tarfile.open(archive, "r:gz") as tar:

            def split(members):
                batches = [_read_batch(tar, f"{top}/{m}") for m in members]
                x = np.concatenate([np.asarray(b[b"data"], np.uint8) for b in batches])
                y = np.concatenate([np.asarray(b[label_key], np.int32) for b in batches])
                return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), y

            x_train, y_train = split(train_members)
            x_test, y_test = split([test_member])
            class_names = [n.decode() for n in _read_batch(tar, f"{top}/{meta}")[names_key]]
    except (tarfile.TarError, KeyError, EOFError, pickle.UnpicklingError, OSError) as err:
        raise ValueError(
            f"{archive} is not a valid {name} python-version archive: {err!r}"
        ) from None
    return ImageDataset(
        name,
        np.ascontiguousarray(x_train),
        y_train,
        np.ascontiguousarray(x_test),
        y_test,
        class_names,
    )
