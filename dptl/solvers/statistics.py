"""Sums over examples, the only way solvers touch the private data.

Every statistic a solver releases is a sum over examples (X^T X, X^T Y, clipped gradient
sums, Hessians), so it can be computed in row chunks and with the rows sharded across all
local devices: :func:`shard_rows` pads the rows with zeros (a zero feature row adds nothing
to any of these sums) and lays them out over a 1-d device mesh; :func:`chunked_sum` sums
over row chunks so that the (n, ...) intermediates of a big feature set never materialise
at once; XLA inserts the cross-device reduction. :func:`accumulate_host_chunks` streams
feature sets that do not fit in device memory (e.g. ImageNet, 1.28M x 1664) from the host.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "accumulate_host_chunks",
    "chunked_sum",
    "class_grams",
    "cross",
    "data_mesh",
    "gram",
    "shard_rows",
]

DEFAULT_CHUNK_ROWS = 16384


def data_mesh(devices=None) -> Mesh:
    """A 1-d mesh named "data" over all local devices (or the given ones)."""
    devices = jax.local_devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("data",))


def _chunk_layout(n: int, num_devices: int, chunk_rows: int) -> tuple[int, int]:
    """(num_chunks, rows_per_chunk): the fewest chunks of at most ``chunk_rows`` rows, of
    equal size, rows_per_chunk a multiple of the device count (so padding stays small)."""
    num_chunks = -(-n // max(num_devices, chunk_rows))
    rows = -(-n // num_chunks)
    return num_chunks, -(-rows // num_devices) * num_devices


def shard_rows(*arrays, chunk_rows: int = DEFAULT_CHUNK_ROWS, mesh: Mesh | None = None):
    """Zero-pad rows and reshape each (n, ...) array to (chunks, rows, ...), rows sharded.

    The same layout is used for every array so rows stay aligned. Returns a tuple of
    device arrays. Zero rows are harmless: every statistic multiplies by the features.
    """
    mesh = data_mesh() if mesh is None else mesh
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError(f"arrays must share their number of rows, got {[a.shape for a in arrays]}")
    num_chunks, rows = _chunk_layout(n, mesh.devices.size, chunk_rows)
    out = []
    for a in arrays:
        a = np.asarray(a) if not isinstance(a, jax.Array) else a
        pad = num_chunks * rows - n
        a = jnp.pad(jnp.asarray(a), [(0, pad)] + [(0, 0)] * (a.ndim - 1))
        a = a.reshape(num_chunks, rows, *a.shape[1:])
        spec = P(None, "data", *([None] * (a.ndim - 2)))
        out.append(jax.device_put(a, NamedSharding(mesh, spec)))
    return tuple(out)


def chunked_sum(fn: Callable, *chunked):
    """sum_c fn(*chunk_c) over the leading (chunk) axis of the arrays.

    ``fn`` maps row chunks to a pytree of sums; the result has the same structure. The loop
    over chunks is unrolled at trace time (the chunk count is static). A ``lax.scan`` here
    gave wrong, run-to-run varying sums for the one-vs-all gradient under ``jit`` on XLA
    CPU (jax 0.10.2); ``tests/test_statistics_sharding.py`` pins the unrolled sum.
    """
    total = fn(*(a[0] for a in chunked))
    for c in range(1, chunked[0].shape[0]):
        total = jax.tree.map(jnp.add, total, fn(*(a[c] for a in chunked)))
    return total


def gram(xc: jax.Array) -> jax.Array:
    """X^T X from chunked features (chunks, rows, d). Sensitivity C^2 for ||x|| <= C."""
    return chunked_sum(lambda x: x.T @ x, xc)


def cross(xc: jax.Array, yc: jax.Array) -> jax.Array:
    """X^T Y from chunked features and one-hot labels. Sensitivity C for ||x|| <= C."""
    return chunked_sum(lambda x, y: x.T @ y, xc, yc)


def class_grams(xc: jax.Array, yc: jax.Array) -> jax.Array:
    """Per-class Gram matrices sum_{i in k} x_i x_i^T, shape (K, d, d).

    Each example lies in exactly one class, so all K matrices together have sensitivity C^2.
    """
    return chunked_sum(lambda x, y: jnp.einsum("nk,nd,ne->kde", y, x, x), xc, yc)


def accumulate_host_chunks(
    fn: Callable, *arrays, chunk_rows: int = 65536, mesh: Mesh | None = None
):
    """sum over host-side row chunks of ``fn(*device_chunks)``, for data larger than memory.

    ``arrays`` may be NumPy memmaps; each chunk is copied to the devices sharded by rows,
    reduced by the jitted ``fn`` (which receives (1, rows, ...) chunked arrays, as from
    :func:`shard_rows`), and added to a running total on the device.
    """
    n = arrays[0].shape[0]
    total = None
    jfn = jax.jit(fn)
    for start in range(0, n, chunk_rows):
        parts = [np.asarray(a[start : start + chunk_rows], dtype=np.float32) for a in arrays]
        chunked = shard_rows(*parts, chunk_rows=chunk_rows, mesh=mesh)
        part = jfn(*chunked)
        total = part if total is None else jax.tree.map(jnp.add, total, part)
    return total
