"""Helpers for tests/test_statistics_sharding.py, importable by its 4-device subprocess
(which must not import the test module: that would start another subprocess)."""

from __future__ import annotations

import jax
import numpy as np

from dptl.solvers import statistics
from dptl.solvers.logistic import clipped_gradient_sum_chunked, ova_hessians
from dptl.solvers.newton import newton_grid_weights


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reference(x, y1h, w, clip):
    """Every statistic in float64 NumPy, straight from its definition."""
    x, y1h, w = (np.asarray(a, np.float64) for a in (x, y1h, w))
    out = {
        "gram": x.T @ x,
        "cross": x.T @ y1h,
        "class_grams": np.stack(
            [x[y1h[:, k] == 1].T @ x[y1h[:, k] == 1] for k in range(y1h.shape[1])]
        ),
    }
    for loss, p in (("softmax", _softmax(x @ w)), ("ova", 1 / (1 + np.exp(-(x @ w))))):
        r = p - y1h
        norms = np.linalg.norm(x, axis=1) * np.linalg.norm(r, axis=1)
        scale = np.minimum(1.0, clip / norms)
        out[f"grad_{loss}"] = x.T @ (r * scale[:, None])
    p = 1 / (1 + np.exp(-(x @ w)))
    out["hessians"] = np.stack(
        [(x * (p[:, k] * (1 - p[:, k]))[:, None]).T @ x for k in range(w.shape[1])]
    )
    return out


def statistics_of(x, y1h, w, clip, chunk_rows):
    """The library's statistics on ``shard_rows`` layouts, and the number of devices used."""
    xc, yc = statistics.shard_rows(x, y1h, chunk_rows=chunk_rows)
    stats = jax.jit(
        lambda xc, yc: {
            "gram": statistics.gram(xc),
            "cross": statistics.cross(xc, yc),
            "class_grams": statistics.class_grams(xc, yc),
            "grad_softmax": clipped_gradient_sum_chunked(w, xc, yc, clip, loss="softmax"),
            "grad_ova": clipped_gradient_sum_chunked(w, xc, yc, clip, loss="ova"),
            "hessians": ova_hessians(w, xc),
        }
    )(xc, yc)
    return {k: np.asarray(v, np.float64) for k, v in stats.items()}, len(xc.sharding.device_set)


def newton_grid(x, y1h):
    """DP-Newton's sweep program (3 points, 3 steps) on ``shard_rows`` layouts."""
    xc, yc = statistics.shard_rows(x / np.linalg.norm(x, axis=1, keepdims=True), y1h)
    stds = np.float32([0.0, 0.5, 2.0])
    keys = jax.random.split(jax.random.key(3), 3)
    return np.asarray(newton_grid_weights(keys, xc, yc, stds, stds, 1.0, stds + 1, 0.8, steps=3))


def make_data(n=103, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y1h = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    w = rng.normal(size=(d, k)).astype(np.float32)
    return x, y1h, w


def assert_close(got, want, label):
    for name in want:
        scale = np.abs(want[name]).max()
        np.testing.assert_allclose(
            got[name], want[name], rtol=1e-5, atol=1e-5 * scale, err_msg=f"{label}: {name}"
        )


def memmap_copy(x, path):
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=x.shape)
    mm[:] = x
    mm.flush()
    return np.memmap(path, dtype=np.float32, mode="r", shape=x.shape)
