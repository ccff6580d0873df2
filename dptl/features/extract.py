"""Batched, sharded, resumable feature extraction.

``extract(backbone, images, resolution=...)`` runs the backbone's feature function

- jit-compiled once, on fixed-size batches (the last one padded, padding dropped);
- in bfloat16 on GPU/TPU and float32 on CPU (``compute_dtype`` overrides);
- with each batch sharded across all local devices (``NamedSharding`` over a 1-d mesh),
  while under ``jax.distributed`` every process takes its own share of the chunks;
- with a tqdm bar showing images/s;
- resumably, when ``chunk_dir`` is given: every chunk of rows is written as it finishes
  (temp file + atomic rename, so a half-written chunk never has a chunk's name), a run
  skips the chunks already on disk, and a ``manifest.json`` pins what the chunks are
  of, so chunks of a different extraction are never mixed in.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from dptl.features.backbones import Backbone
from dptl.features.preprocess import check_resolution

__all__ = ["ExtractionError", "default_compute_dtype", "extract"]


class ExtractionError(RuntimeError):
    """Resumed chunks that do not belong to this extraction, or a damaged chunk."""


def default_compute_dtype() -> jnp.dtype:
    """bfloat16 on accelerators, float32 on CPU."""
    return jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16


def _fingerprint(images: np.ndarray, variables) -> str:
    h = hashlib.sha256()
    h.update(f"{images.dtype.str}|{images.shape}|".encode())
    h.update(np.ascontiguousarray(images).data)
    for leaf in jax.tree.leaves(variables):
        h.update(np.ascontiguousarray(np.asarray(leaf)).data)
    return h.hexdigest()


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _ChunkStore:
    """Chunks ``chunk_<k>.npy`` of one extraction in a directory, pinned by a manifest."""

    def __init__(self, directory: Path, manifest: dict):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / "manifest.json"
        if path.exists():
            found = json.loads(path.read_text())
            if found != manifest:
                diff = sorted(
                    k for k in set(found) | set(manifest) if found.get(k) != manifest.get(k)
                )
                raise ExtractionError(
                    f"{self.dir} holds chunks of a different extraction (differs in {diff}); "
                    "delete the directory or choose another chunk_dir"
                )
        elif jax.process_index() == 0:
            _atomic_write(path, lambda f: f.write(json.dumps(manifest, sort_keys=True).encode()))
        for stale in self.dir.glob("*.partial"):  # leftovers of a killed run: never chunks
            stale.unlink(missing_ok=True)

    def path(self, k: int) -> Path:
        return self.dir / f"chunk_{k:06d}.npy"

    def done(self) -> set[int]:
        return {
            int(m.group(1))
            for p in self.dir.iterdir()
            if (m := re.fullmatch(r"chunk_(\d{6})\.npy", p.name))
        }

    def save(self, k: int, rows: np.ndarray) -> None:
        _atomic_write(self.path(k), lambda f: np.save(f, rows, allow_pickle=False))

    def load(self, k: int, shape: tuple[int, int], dtype) -> np.ndarray:
        try:
            rows = np.load(self.path(k), allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ExtractionError(
                f"chunk {self.path(k)} is damaged ({err}); delete it and rerun"
            ) from None
        if rows.shape != shape or rows.dtype != dtype:
            raise ExtractionError(
                f"chunk {self.path(k)} has {rows.dtype}{rows.shape}, expected "
                f"{np.dtype(dtype)}{shape}; delete it and rerun"
            )
        return rows


def extract(
    backbone: Backbone,
    images: np.ndarray,
    *,
    resolution: int,
    layer: str | None = None,
    batch_size: int = 64,
    compute_dtype=None,
    out_dtype=np.float32,
    chunk_dir: str | os.PathLike | None = None,
    chunk_batches: int = 16,
    progress: bool = True,
    desc: str = "extract",
) -> np.ndarray:
    """Features (N, width) of uint8 ``images`` (N, H, W[, C]) in their order, as ``out_dtype``.

    ``batch_size`` is the global batch, rounded up to a multiple of the local device
    count; a chunk is ``chunk_batches`` batches. With ``chunk_dir`` the run is resumable;
    under ``jax.distributed`` (with ``chunk_dir`` on a shared filesystem) each process
    extracts its own chunks and every process returns the whole array.
    """
    resolution = check_resolution(resolution)
    layer = backbone.check_layer(layer)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (N, H, W[, C]), got {images.dtype} {images.shape}")
    if isinstance(batch_size, bool) or int(batch_size) < 1 or int(chunk_batches) < 1:
        raise ValueError(
            f"batch_size and chunk_batches must be >= 1, got {batch_size}, {chunk_batches}"
        )
    compute_dtype = jnp.dtype(compute_dtype or default_compute_dtype())
    out_dtype = np.dtype(out_dtype)
    n, width = images.shape[0], backbone.layers[layer]

    devices = jax.local_devices()
    batch = -(-int(batch_size) // len(devices)) * len(devices)
    chunk = batch * int(chunk_batches)
    num_chunks = -(-n // chunk)
    mine = [k for k in range(num_chunks) if k % jax.process_count() == jax.process_index()]

    if jax.process_count() > 1 and chunk_dir is None:
        raise ValueError("under jax.distributed, pass a chunk_dir on a shared filesystem")
    store = None
    if chunk_dir is not None:
        store = _ChunkStore(
            Path(chunk_dir),
            {
                "backbone": backbone.name,
                "weights": backbone.weights,
                "layer": layer,
                "resolution": resolution,
                "compute_dtype": compute_dtype.name,
                "out_dtype": out_dtype.name,
                "num_images": n,
                "chunk_size": chunk,
                "fingerprint": _fingerprint(images, backbone.variables),
            },
        )
    done = store.done() if store else set()
    todo = [k for k in mine if k not in done]

    out = np.empty((n, width), out_dtype)
    if todo:
        fn, rows, replicated = _sharded(
            backbone.feature_fn(resolution, layer, compute_dtype), tuple(devices)
        )
        variables = jax.device_put(backbone.variables, replicated)
        pad = np.zeros((batch, *images.shape[1:]), np.uint8)
        bar = tqdm(
            total=sum(min(chunk, n - k * chunk) for k in mine),
            unit="img",
            unit_scale=True,
            desc=desc,
            disable=not progress,
            smoothing=0.1,
        )
        bar.update(sum(min(chunk, n - k * chunk) for k in mine if k in done))
        for k in todo:
            start, stop = k * chunk, min((k + 1) * chunk, n)
            pending: collections.deque = collections.deque()
            parts = []
            for b in range(start, stop, batch):  # keep one batch in flight while fetching the last
                x = images[b : min(b + batch, stop)]
                if len(x) < batch:
                    x = np.concatenate([x, pad[: batch - len(x)]])
                pending.append((min(b + batch, stop) - b, fn(variables, jax.device_put(x, rows))))
                if len(pending) > 1:
                    parts.append(_fetch(*pending.popleft(), out_dtype, bar))
            while pending:
                parts.append(_fetch(*pending.popleft(), out_dtype, bar))
            out[start:stop] = np.concatenate(parts)
            if store:
                store.save(k, out[start:stop])
        bar.close()

    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("dptl.extract: all chunks written")
    for k in range(num_chunks):
        if store and (k in done or k not in mine):
            start, stop = k * chunk, min((k + 1) * chunk, n)
            out[start:stop] = store.load(k, (stop - start, width), out_dtype)
    return out


@functools.lru_cache(maxsize=32)
def _sharded(feature_fn, devices: tuple):
    """``feature_fn`` jitted over a 1-d mesh of ``devices`` (batch rows split, variables
    replicated), with the two shardings; one jitted function per (function, devices), so
    a second extraction reuses the compiled code."""
    mesh = Mesh(np.asarray(devices), ("batch",))
    rows, replicated = (
        NamedSharding(mesh, PartitionSpec("batch")),
        NamedSharding(mesh, PartitionSpec()),
    )
    fn = jax.jit(feature_fn, in_shardings=(replicated, rows), out_shardings=rows)
    return fn, rows, replicated


def _fetch(count: int, feats: jax.Array, out_dtype, bar) -> np.ndarray:
    rows = np.asarray(feats)[:count].astype(out_dtype)
    bar.update(count)
    return rows
