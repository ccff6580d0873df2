"""Read PyTorch ``.pth`` state dicts into NumPy arrays without importing torch.

Both on-disk layouts are supported: the legacy one (a sequence of pickles followed by raw
storages, torch < 1.6) and the zip one (``archive/data.pkl`` + ``archive/data/<key>``).
Unpickling is restricted to the handful of globals a state dict needs, so a checkpoint
cannot run arbitrary code.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "read_torch_state_dict"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, or not a plain tensor state dict."""


class _StorageType:
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)


class _TensorRef:
    """A tensor whose storage is read later: (storage key, offset, shape, stride)."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = (
            storage,
            offset,
            tuple(shape),
            tuple(stride),
        )


def _rebuild_tensor(storage, offset, shape, stride, *unused):
    return _TensorRef(storage, offset, shape, stride)


class _Unpickler(pickle.Unpickler):
    """Allows only OrderedDict, tensor rebuilding and storage types; storages are keys."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if (module, name) == ("torch", "Size"):
            return tuple
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a state dict")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
        self._storages.setdefault(str(key), (storage_type.dtype, int(numel)))
        return str(key)


class _PlainUnpickler(pickle.Unpickler):
    """For the legacy header pickles (magic, version, sys info, keys): no globals at all."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            f"global {module}.{name} is not allowed in a checkpoint header"
        )


def _materialize(ref: _TensorRef, buffers: dict[str, np.ndarray]) -> np.ndarray:
    flat = buffers[ref.storage]
    itemsize = flat.dtype.itemsize
    out = np.lib.stride_tricks.as_strided(
        flat[ref.offset :], shape=ref.shape, strides=[s * itemsize for s in ref.stride]
    )
    return np.array(out)  # own, contiguous copy


def _read_legacy(f) -> tuple[dict, dict[str, np.ndarray]]:
    magic = _PlainUnpickler(f).load()
    if magic != _LEGACY_MAGIC:
        raise CheckpointError("not a PyTorch checkpoint (bad magic number)")
    _PlainUnpickler(f).load()  # protocol version
    sys_info = _PlainUnpickler(f).load()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", True):
        raise CheckpointError("big-endian checkpoints are not supported")
    storages: dict = {}
    obj = _Unpickler(f, storages).load()
    keys = _PlainUnpickler(f).load()
    buffers = {}
    for key in keys:
        dtype, numel = storages[str(key)]
        (size,) = struct.unpack("<q", f.read(8))
        data = f.read(size * dtype.itemsize)
        if size != numel or len(data) != size * dtype.itemsize:
            raise CheckpointError(f"storage {key} is truncated")
        buffers[str(key)] = np.frombuffer(data, dtype=dtype)
    return obj, buffers


def _read_zip(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise CheckpointError("zip checkpoint without a single data.pkl")
        root = pkl[0][: -len("data.pkl")]
        storages: dict = {}
        obj = _Unpickler(io.BytesIO(zf.read(pkl[0])), storages).load()
        buffers = {}
        for key, (dtype, numel) in storages.items():
            data = zf.read(f"{root}data/{key}")
            if len(data) != numel * dtype.itemsize:
                raise CheckpointError(f"storage {key} is truncated")
            buffers[key] = np.frombuffer(data, dtype=dtype)
    return obj, buffers


def read_torch_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Return ``{name: array}`` from a PyTorch ``.pth`` state dict (legacy or zip layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        if zipfile.is_zipfile(path):
            obj, buffers = _read_zip(path)
        else:
            with open(path, "rb") as f:
                obj, buffers = _read_legacy(f)
        if isinstance(obj, dict) and "state_dict" in obj:
            obj = obj["state_dict"]
        if not isinstance(obj, dict) or not all(isinstance(v, _TensorRef) for v in obj.values()):
            raise CheckpointError("the checkpoint is not a plain {name: tensor} state dict")
        return {str(k): _materialize(v, buffers) for k, v in obj.items()}
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except (
        pickle.UnpicklingError,
        EOFError,
        KeyError,
        ValueError,
        struct.error,
        zipfile.BadZipFile,
        AttributeError,
        TypeError,
        IndexError,
    ) as err:
        raise CheckpointError(f"{path} is corrupt or not a PyTorch state dict: {err!r}") from None
