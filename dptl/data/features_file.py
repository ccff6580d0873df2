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
import os
from pathlib import Path
from typing import Any

import numpy as np

from dptl import _validate
from dptl.archive import arrays_sha256, read_archive, write_archive

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "FeatureFileError", "FeatureSet"]

FORMAT_NAME = "dptl-features"
FORMAT_VERSION = 1
_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


class FeatureFileError(ValueError):
    """A feature file is missing, corrupt, foreign or inconsistent."""


def _check_header(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The feature-specific header fields, checked: a damaged one names what is wrong."""
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
        return arrays_sha256({name: getattr(self, name) for name in _ARRAYS})

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
        digest = self.checksum()
        header = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "class_names": list(self.class_names),
            "metadata": self.metadata,
            "sha256": digest,
        }
        write_archive(
            path, {name: getattr(self, name) for name in _ARRAYS}, header, compress=compress
        )
        return digest

    @classmethod
    def load(cls, path: str | os.PathLike, *, verify: bool = True) -> FeatureSet:
        """Read and validate a feature file; ``verify`` also checks the SHA-256."""
        path = Path(path)
        header, arrays = read_archive(
            path,
            format_name=FORMAT_NAME,
            version=FORMAT_VERSION,
            members=_ARRAYS,
            what="dptl feature file",
            error=FeatureFileError,
            missing_hint="; the shipped files are in data/ (see data/README.md), new ones "
            "are made with `dptl extract`",
        )
        header = _check_header(path, header)
        out = cls(**arrays, class_names=header["class_names"], metadata=header["metadata"])
        if verify and out.checksum() != header.get("sha256"):
            raise FeatureFileError(
                f"{path} failed its SHA-256 check: the arrays were altered or damaged"
            )
        return out
