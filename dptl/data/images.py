"""``ImageDataset``: uint8 images with integer labels and class names, train and test."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["ImageDataset"]


@dataclasses.dataclass(frozen=True, eq=False)
class ImageDataset:
    """uint8 images (N, H, W) or (N, H, W, C) with int labels in 0..K-1, as loaded from disk.

    Preprocessing (resize, grayscale to RGB, scaling) belongs to the backbone, not here.
    ``metadata`` is provenance (source, split rule, ...) that a feature file extracted from
    these images records; it must be JSON-serialisable.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "metadata", dict(self.metadata))
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim not in (3, 4):
                raise ValueError(
                    f"{self.name}: x_{split} must be uint8 (N, H, W[, C]), got {x.dtype} {x.shape}"
                )
            if y.shape != (x.shape[0],):
                raise ValueError(
                    f"{self.name}: y_{split} must have shape ({x.shape[0]},), got {y.shape}"
                )
            if y.size and not (0 <= y.min() and y.max() < len(self.class_names)):
                raise ValueError(
                    f"{self.name}: y_{split} has labels outside 0..{len(self.class_names) - 1}"
                )

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name}: train {self.x_train.shape}, test {self.x_test.shape},"
            f" {len(self.class_names)} classes)"
        )
