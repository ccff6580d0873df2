"""``Classifier``: a saved private head plus the backbone it expects, predicting on images.

Prediction is post-processing of the released head: it costs no privacy. Images run through
the same backbone, weights, resolution and layer as the features the head was trained on
(the model file names them), batched and compiled once (:func:`dptl.features.extract`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dptl.model import ModelFileError, PrivateModel

__all__ = ["FILES_PER_CHUNK", "Classifier", "Prediction"]

FILES_PER_CHUNK = 2048  # images decoded and classified at a time by predict_files


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The top classes of one image, most likely first."""

    source: str  # file name or "image <i>"
    classes: tuple[str, ...]
    probabilities: tuple[float, ...]

    def as_dict(self) -> dict:
        return {
            "image": self.source,
            "top": [
                {"class": c, "probability": p}
                for c, p in zip(self.classes, self.probabilities, strict=True)
            ],
        }


class Classifier:
    """A :class:`PrivateModel` with its backbone loaded: images in, class probabilities out.

    Args:
        model: the private head (``PrivateModel.load(path)`` or ``from_result``).
        batch_size: images per compiled batch.
    """

    def __init__(self, model: PrivateModel, *, batch_size: int = 64):
        from dptl.features.backbones import get_backbone

        missing = [
            k for k in ("backbone", "weights", "resolution", "layer") if k not in model.backbone
        ]
        if missing:
            raise ValueError(
                f"the model does not say which backbone made its features (missing {missing}): "
                "it predicts on features (model.predict) but not on images"
            )
        self.model = model
        self.batch_size = int(batch_size)
        self.resolution = int(model.backbone["resolution"])
        self.layer = str(model.backbone["layer"])
        self.backbone = get_backbone(model.backbone["backbone"], weights=model.backbone["weights"])
        width = self.backbone.layers.get(self.layer)
        if width != model.dim:
            raise ModelFileError(
                f"{model.backbone['backbone']} layer {self.layer!r} gives {width} features but "
                f"the model's head takes {model.dim}: the model was built for another backbone"
            )

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs) -> Classifier:
        """The classifier of the model file at ``path`` (validated, see ``PrivateModel.load``)."""
        return cls(PrivateModel.load(path), **kwargs)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.model.class_names

    def features(self, images, *, progress: bool = False) -> np.ndarray:
        """(N, d) backbone features of ``images``.

        Args:
            images: uint8 array (N, H, W[, C]) (the backbone resizes it), or a sequence of
                uint8 (H, W[, C]) images of any sizes (each brought to the resolution on the
                host with the backbone's own bilinear weights, see
                ``dptl.features.preprocess.resize_image``).
            progress: show a progress bar.
        """
        from dptl.features.extract import extract

        batch = self._as_batch(images)
        return extract(
            self.backbone,
            batch,
            resolution=self.resolution,
            layer=self.layer,
            batch_size=self.batch_size,
            progress=progress,
            desc="predict",
        )

    def probabilities(self, images, *, progress: bool = False) -> np.ndarray:
        """(N, K) class probabilities of ``images`` (see :meth:`features`)."""
        return self.model.probabilities(self.features(images, progress=progress))

    def predict(self, images, *, progress: bool = False) -> np.ndarray:
        """(N,) most likely class index of each image."""
        return np.argmax(self.probabilities(images, progress=progress), axis=1)

    def top_k(self, images, k: int = 3, *, sources: Sequence[str] | None = None, progress=False):
        """The ``k`` most likely classes of each image, as :class:`Prediction` records."""
        probs = self.probabilities(images, progress=progress)
        k = max(1, min(int(k), probs.shape[1]))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        names = sources or [f"image {i}" for i in range(len(probs))]
        return [
            Prediction(
                str(names[i]),
                tuple(self.class_names[j] for j in order[i]),
                tuple(float(probs[i, j]) for j in order[i]),
            )
            for i in range(len(probs))
        ]

    def predict_files(self, paths, k: int = 3, *, progress: bool = True) -> list[Prediction]:
        """Top-``k`` predictions for image files and folders (folders searched recursively),
        decoded and classified ``FILES_PER_CHUNK`` at a time.

        Raises:
            FileNotFoundError: a path does not exist; ValueError: a file named explicitly is
            not an image, no image files were found, or a file cannot be decoded (named).
        """
        from dptl.data.folder import list_image_files, read_images

        paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        files = list_image_files(paths)
        named = [Path(p) for p in paths if Path(p).is_file()]
        if not_images := [str(p) for p in named if p not in files]:
            raise ValueError(f"not image files (by their suffix): {not_images}")
        if not files:
            raise ValueError(f"no image files in {[str(p) for p in paths]}")
        out = []
        for start in range(0, len(files), FILES_PER_CHUNK):  # bounded memory for any folder
            chunk = files[start : start + FILES_PER_CHUNK]
            images = np.stack(read_images(chunk, size=self.resolution, progress=progress))
            out += self.top_k(images, k, sources=[str(f) for f in chunk], progress=progress)
        return out

    def _as_batch(self, images) -> np.ndarray:
        from dptl.features.preprocess import resize_image

        if isinstance(images, np.ndarray):
            return images
        out = []
        for img in images:
            img = np.asarray(img)
            if img.dtype != np.uint8 or img.ndim not in (2, 3):
                raise ValueError(
                    f"each image must be uint8 (H, W[, C]), got {img.dtype} {img.shape}"
                )
            if img.ndim == 2:
                img = img[..., None]
            if img.shape[-1] == 1:
                img = np.repeat(img, 3, axis=-1)
            if img.shape[:2] != (self.resolution, self.resolution):
                img = resize_image(img, self.resolution)
            out.append(img)
        if not out:
            raise ValueError("no images given")
        return np.stack(out)

    def __repr__(self) -> str:
        return f"Classifier({self.model!r})"
