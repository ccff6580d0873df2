"""The on-disk format of a feature set: how extracted features meet the solvers.

A feature file is a NumPy ``.npz`` archive (a zip file, so every member carries a CRC) with
exactly these members:

==================  =======================  ==============================================
member              dtype / shape            meaning
==================  =======================  ==============================================
``x_train``         float16/32/64, (n, d)    training features, one row per image
``y_train``         int32/int64, (n,)        training labels in 0..K-1
``x_test``          same dtype, (m, d)       test features
``y_test``          int32/int64, (m,)        test labels in 0..K-1
``__dptl__``        uint8, (bytes,)          UTF-8 JSON header (below)
==================  =======================  ==============================================

The header is ``{"format": "dptl-features", "version": 1, "class_names": [...],
"metadata": {...}, "sha256": "..."}``. ``metadata`` records the provenance: ``dataset``,
``backbone``, ``resolution``, ``preprocessing``, ``layer`` and anything else the producer
knows; ``sha256`` is the hash of the four arrays (name, dtype, shape and bytes, in the
order above), so a file that was altered after writing is rejected on load.

Features in the file are *raw* backbone outputs; per-example clipping or normalisation to
norm C happens in the solvers (it is data-independent per example, so it costs no privacy).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from dptl import _validate

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "FeatureFileError", "FeatureSet"]

FORMAT_NAME = "dptl-features"
FORMAT_VERSION = 1
_HEADER = "__dptl__"
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


class FeatureFileError(ValueError):
    """A feature file is missing, corrupt, foreign or inconsistent."""


def _write_npz(f, arrays: dict[str, np.ndarray], compress: bool) -> None:
    """Like ``np.savez`` but byte-for-byte deterministic (fixed zip timestamps), so the
    same features always give the same file."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, "w", compression=method, allowZip64=True) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def _parse_header(path: Path, blob: bytes) -> dict[str, Any]:
    """The JSON header, checked field by field: a foreign or damaged one names what is wrong."""
    try:
        header = json.loads(blob.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FeatureFileError(
            f"{path}: the {_HEADER!r} header is not valid JSON ({err})"
        ) from None
    if not isinstance(header, dict):
        raise FeatureFileError(
            f"{path}: the {_HEADER!r} header must be a JSON object, got a {type(header).__name__}"
        )
    names = header.get("class_names")
    if names is None:
        raise FeatureFileError(
            f"{path}: the header lacks the field 'class_names' (the public list of class names)"
        )
    if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
        raise FeatureFileError(f"{path}: the header field 'class_names' must be a list of strings")
    header.setdefault("metadata", {})
    if not isinstance(header["metadata"], dict):
        raise FeatureFileError(f"{path}: the header field 'metadata' must be a JSON object")
    return header


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureSet:
    """Train/test features with integer labels, class names and provenance metadata."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "metadata", dict(self.metadata))
        self.validate()

    # -- shape facts ---------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def dim(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        src = self.metadata.get("dataset", "?")
        bb = self.metadata.get("backbone", "?")
        return (
            f"FeatureSet({src} via {bb}: train {self.x_train.shape}, test {self.x_test.shape},"
            f" {self.num_classes} classes, {self.x_train.dtype})"
        )

    # -- checks --------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``FeatureFileError`` unless shapes, dtypes, labels and values are sound."""
        if self.num_classes < 2:
            raise FeatureFileError(
                f"class_names must name at least 2 classes, got {self.class_names}"
            )
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
                raise FeatureFileError(f"x_{split} and y_{split} must be NumPy arrays")
            if x.dtype.type not in _FLOAT_DTYPES:
                raise FeatureFileError(f"x_{split} must be float16/32/64, got {x.dtype}")
            if not np.issubdtype(y.dtype, np.integer):
                raise FeatureFileError(f"y_{split} must hold integer labels, got {y.dtype}")
            try:
                _validate.check_features(x, f"x_{split}")
                _validate.check_labels(y, self.num_classes, f"y_{split}", n=x.shape[0])
            except (ValueError, TypeError) as err:
                raise FeatureFileError(str(err)) from None
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise FeatureFileError(
                f"x_train has {self.x_train.shape[1]} features but x_test has {self.x_test.shape[1]}"
            )
        if self.x_train.dtype != self.x_test.dtype:
            raise FeatureFileError(
                f"x_train is {self.x_train.dtype} but x_test is {self.x_test.dtype}"
            )

    def checksum(self) -> str:
        """SHA-256 over the four arrays (name, dtype, shape, bytes)."""
        h = hashlib.sha256()
        for name in _ARRAYS:
            a = np.ascontiguousarray(getattr(self, name))
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    # -- conversions ---------------------------------------------------------------------
    def astype(self, dtype) -> FeatureSet:
        """The same set with features cast to ``dtype`` (e.g. float32 for the solvers)."""
        return dataclasses.replace(
            self, x_train=self.x_train.astype(dtype), x_test=self.x_test.astype(dtype)
        )

    def subset(self, num_train: int | None = None, num_test: int | None = None) -> FeatureSet:
        """The first ``num_train`` / ``num_test`` rows (files are written in shuffled order)."""
        return dataclasses.replace(
            self,
            x_train=self.x_train[:num_train],
            y_train=self.y_train[:num_train],
            x_test=self.x_test[:num_test],
            y_test=self.y_test[:num_test],
        )

    # -- disk ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, compress: bool = False) -> str:
        """Write atomically (temp file + rename) and return the checksum."""
        path = Path(path)
        digest = self.checksum()
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "class_names": list(self.class_names),
            "metadata": self.metadata,
            "sha256": digest,
        }
        blob = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                _write_npz(f, {**arrays, _HEADER: blob}, compress)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a feature file is for everyone to read
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    @classmethod
    def load(cls, path: str | os.PathLike, *, verify: bool = True) -> FeatureSet:
        """Read and validate a feature file; ``verify`` also checks the SHA-256."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"feature file {str(path)!r} does not exist; the shipped files are in data/ "
                "(see data/README.md), new ones are made with `dptl extract`"
            )
        if not zipfile.is_zipfile(path):
            raise FeatureFileError(
                f"{path} is not a dptl feature file: it is not an .npz (zip) archive"
            )
        try:
            with np.load(path, allow_pickle=False) as npz:
                names = set(npz.files)
                if _HEADER not in names:
                    raise FeatureFileError(
                        f"{path} is not a dptl feature file (no {_HEADER!r} header member); "
                        f"members found: {sorted(names)}"
                    )
                header = _parse_header(path, bytes(npz[_HEADER]))
                missing = [a for a in _ARRAYS if a not in names]
                if missing:
                    raise FeatureFileError(f"{path} lacks the arrays {missing}")
                arrays = {a: npz[a] for a in _ARRAYS}
        except FeatureFileError:
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as err:
            raise FeatureFileError(
                f"{path} is corrupt or not an .npz feature file: {err}"
            ) from None
        if header.get("format") != FORMAT_NAME:
            raise FeatureFileError(
                f"{path} has format {header.get('format')!r}, expected {FORMAT_NAME!r}"
            )
        if header.get("version") != FORMAT_VERSION:
            raise FeatureFileError(
                f"{path} is format version {header.get('version')!r}; this dptl reads version {FORMAT_VERSION}"
            )
        out = cls(**arrays, class_names=header["class_names"], metadata=header["metadata"])
        if verify and out.checksum() != header.get("sha256"):
            raise FeatureFileError(
                f"{path} failed its SHA-256 check: the arrays were altered or damaged"
            )
        return out
