"""``extract_dataset``: an image dataset through a backbone, as a feature file's FeatureSet.

What ``dptl extract`` runs, and lesson 8 with it: train and test images through
:func:`dptl.features.extract`, with the provenance a feature file records (dataset,
backbone, weights, resolution, layer, width, preprocessing, dtypes, the dataset's own
metadata such as a folder's split) so that a model trained on the features knows what
backbone its inputs need.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["extract_dataset", "preprocessing_note"]

_COMMON = (
    "bilinear resize to resolution x resolution, grayscale repeated to RGB, "
    "(x/255 - 0.5)/0.5; global average pooling"
)


def preprocessing_note(dataset: str) -> str:
    """The preprocessing sentence of a feature file of ``dataset`` (a ``load_images`` name)."""
    if not dataset.startswith("folder:"):
        return f"uint8 -> {_COMMON}"
    return (
        "files decoded with Pillow (EXIF orientation applied, alpha composited on white, "
        "RGB uint8) and resized on the host to resolution x resolution with the same "
        "antialiased bilinear weights as jax.image.resize, rounded to uint8 (so the "
        f"backbone's resize is then the identity) -> {_COMMON}"
    )


def extract_dataset(
    data,
    backbone,
    *,
    resolution: int,
    layer: str | None = None,
    batch_size: int = 64,
    out_dtype=np.float16,
    limit: int | None = None,
    chunk_dir: str | os.PathLike | None = None,
    chunk_batches: int = 16,
    progress: bool = True,
    metadata: dict | None = None,
):
    """Features of ``data``'s train and test images through ``backbone``.

    Args:
        data: an ``ImageDataset`` (``dptl.data.load_images``).
        backbone: a ``Backbone`` (``dptl.features.get_backbone``).
        resolution, layer, batch_size: as :func:`dptl.features.extract`.
        out_dtype: dtype of the stored features.
        limit: only the first ``limit`` train and test images.
        chunk_dir: resumable chunks go to ``chunk_dir/train`` and ``chunk_dir/test``.
        chunk_batches: batches per chunk.
        progress: tqdm bars.
        metadata: extra provenance (e.g. the command), recorded last.

    Returns:
        A ``dptl.data.FeatureSet`` with the provenance a feature file records.
    """
    import dptl
    from dptl.data import FeatureSet
    from dptl.features.extract import default_compute_dtype, extract

    layer = backbone.check_layer(layer)
    feats = {}
    for split in ("train", "test"):
        feats[split] = extract(
            backbone,
            getattr(data, f"x_{split}")[:limit],
            resolution=resolution,
            layer=layer,
            batch_size=batch_size,
            out_dtype=np.dtype(out_dtype),
            chunk_dir=None if chunk_dir is None else Path(chunk_dir) / split,
            chunk_batches=chunk_batches,
            progress=progress,
            desc=f"{data.name} {split}",
        )
    return FeatureSet(
        feats["train"],
        data.y_train[:limit],
        feats["test"],
        data.y_test[:limit],
        data.class_names,
        metadata={
            "dataset": data.name,
            "backbone": backbone.name,
            "weights": backbone.weights,
            "resolution": resolution,
            "layer": layer,
            "dim": backbone.layers[layer],
            "preprocessing": preprocessing_note(data.name),
            "dtype": np.dtype(out_dtype).name,
            "compute_dtype": np.dtype(default_compute_dtype()).name,
            "row_order": "dataset order (train and test as stored)",
            **data.metadata,
            **(metadata or {}),
            "dptl_version": dptl.__version__,
        },
    )
