"""Chunked, sharded sums: the same statistics on 4 simulated CPU devices as on 1.

The multi-device part runs in a subprocess, because the device count is fixed when JAX
starts: XLA_FLAGS=--xla_force_host_platform_device_count=4 is set before jax is imported.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _sharding_helpers import (  # noqa: E402
    assert_close,
    make_data,
    memmap_copy,
    newton_grid,
    reference,
    statistics_of,
)
from _solver_cases import finish_background, scratch_dir, standard_run, start_background  # noqa: E402,E501

from dptl.solvers import statistics

TESTS = Path(__file__).resolve().parent


# ---------------------------------------------------------------- the subprocess

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import jax
    sys.path.insert(0, {tests!r})
    import _sharding_helpers as t
    from dptl.solvers import statistics
    from _solver_cases import run_standard

    out = {{"device_count": jax.device_count()}}
    x, y1h, w = t.make_data()
    want = t.reference(x, y1h, w, 0.5)
    for chunk_rows in (8, 30, 8192):  # many chunks, uneven chunks, one padded chunk
        got, used = t.statistics_of(x, y1h, w, 0.5, chunk_rows)
        t.assert_close(got, want, f"4 devices, chunk_rows={{chunk_rows}}")
        out[f"devices_used_{{chunk_rows}}"] = used
    from dptl.solvers import logistic  # column blocks and row steps of the Hessians, sharded
    logistic._HESSIAN_BLOCK_COLS, logistic._HESSIAN_STEP_ROWS = 2, 3
    for chunk_rows in (8, 8192):
        got, _ = t.statistics_of(x, y1h, w, 0.5, chunk_rows)
        t.assert_close(got, want, f"4 devices, Hessian blocks of 2, chunk_rows={{chunk_rows}}")
    mm = t.memmap_copy(x, os.path.join({tmp!r}, "x.f32"))
    total = statistics.accumulate_host_chunks(statistics.gram, mm, chunk_rows=24)
    np.testing.assert_allclose(total, want["gram"], rtol=1e-5, atol=1e-4)
    np.save(os.path.join({tmp!r}, "newton_grid.npy"), t.newton_grid(x, y1h))
    for name in ("dp_least_squares", "dp_fc"):
        np.save(os.path.join({tmp!r}, name + ".npy"),
                np.asarray(run_standard(name, jax.random.key(0)).weights))
    print("RESULT " + json.dumps(out))
    """
)


def _start_four_device_process():
    """Run SCRIPT on 4 simulated CPU devices, in the background from collection on."""
    tmp = scratch_dir("dptl-sharding-")
    env = dict(os.environ)
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    env["JAX_PLATFORMS"] = "cpu"
    start_background(
        "four_devices", [sys.executable, "-c", SCRIPT.format(tests=str(TESTS), tmp=str(tmp))], env
    )
    return tmp


_FOUR_DEVICE_DIR = _start_four_device_process()


@pytest.fixture(scope="module")
def four_devices():
    code, out, err = finish_background("four_devices")
    assert code == 0, out[-3000:] + err[-5000:]
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :]), _FOUR_DEVICE_DIR


def test_four_simulated_devices_give_the_single_device_statistics(four_devices):
    info, _ = four_devices
    assert info["device_count"] == 4
    # the rows really were spread over all four devices, whatever the chunking
    assert info["devices_used_8"] == info["devices_used_30"] == info["devices_used_8192"] == 4


@pytest.mark.parametrize("name", ["dp_least_squares", "dp_fc"])
def test_solvers_give_the_same_weights_on_four_devices(four_devices, name):
    if jax.device_count() != 1:
        pytest.skip("the comparison needs this process to run on one device")
    _, tmp = four_devices
    four = np.load(tmp / f"{name}.npy")
    one = np.asarray(standard_run(name).weights)
    np.testing.assert_allclose(four, one, rtol=1e-4, atol=1e-5 * np.abs(one).max())


def test_newton_sweep_program_gives_the_same_weights_on_four_devices(four_devices):
    if jax.device_count() != 1:
        pytest.skip("the comparison needs this process to run on one device")
    _, tmp = four_devices
    one = newton_grid(*make_data()[:2])
    np.testing.assert_allclose(
        np.load(tmp / "newton_grid.npy"), one, rtol=1e-4, atol=1e-5 * np.abs(one).max()
    )


# ---------------------------------------------------------------- single device


@pytest.mark.parametrize("chunk_rows", [8, 8192])
def test_statistics_equal_numpy_on_one_device(chunk_rows):
    x, y1h, w = make_data()
    got, _ = statistics_of(x, y1h, w, 0.5, chunk_rows)
    assert_close(got, reference(x, y1h, w, 0.5), f"1 device, chunk_rows={chunk_rows}")


@pytest.mark.parametrize("chunk_rows", [8, 8192])
def test_ova_hessians_in_blocks_and_steps_equal_numpy(monkeypatch, chunk_rows):
    """Column blocks of 2 (the last one narrower) and steps of 3 rows (the last one padded):
    ova_hessians mirrors the blocks above the diagonal and sums the steps of every chunk."""
    from dptl.solvers import logistic

    x, y1h, w = make_data(d=5)
    monkeypatch.setattr(logistic, "_HESSIAN_BLOCK_COLS", 2)
    monkeypatch.setattr(logistic, "_HESSIAN_STEP_ROWS", 3)
    got, _ = statistics_of(x, y1h, w, 0.5, chunk_rows=chunk_rows)
    assert_close(
        got, reference(x, y1h, w, 0.5), f"blocks of 2, steps of 3, chunk_rows={chunk_rows}"
    )


def test_shard_rows_pads_with_zero_rows_and_keeps_rows_aligned():
    x, y1h, _ = make_data(n=10)
    xc, yc = statistics.shard_rows(x, y1h, chunk_rows=4)
    assert xc.shape[0] * xc.shape[1] >= 10 and xc.shape[2:] == (5,) and yc.shape[2:] == (3,)
    flat_x, flat_y = np.asarray(xc).reshape(-1, 5), np.asarray(yc).reshape(-1, 3)
    np.testing.assert_array_equal(flat_x[:10], x)
    np.testing.assert_array_equal(flat_y[:10], y1h)
    assert not flat_x[10:].any() and not flat_y[10:].any()
    with pytest.raises(ValueError, match="share their number of rows"):
        statistics.shard_rows(x, y1h[:9])


def test_accumulate_host_chunks_on_a_memmap(tmp_path):
    x, y1h, _ = make_data(n=103)
    mm = memmap_copy(x, tmp_path / "x.f32")
    ym = memmap_copy(y1h, tmp_path / "y.f32")
    want = reference(x, y1h, np.zeros((5, 3)), 1.0)
    for chunk_rows in (24, 1000):  # several host chunks with a partial last one; one chunk
        gram = statistics.accumulate_host_chunks(statistics.gram, mm, chunk_rows=chunk_rows)
        both = statistics.accumulate_host_chunks(
            lambda xc, yc: (statistics.cross(xc, yc), statistics.class_grams(xc, yc)),
            mm,
            ym,
            chunk_rows=chunk_rows,
        )
        np.testing.assert_allclose(gram, want["gram"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(both[0], want["cross"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(both[1], want["class_grams"], rtol=1e-5, atol=1e-4)
    assert isinstance(gram, jax.Array) and gram.dtype == jnp.float32


def test_chunked_ova_gradient_with_padding_under_jit():
    """Regression: a lax.scan over padded row chunks miscompiled this sum on XLA CPU."""
    import jax
    import jax.numpy as jnp

    from dptl.solvers import statistics
    from dptl.solvers.logistic import clipped_gradient_sum_chunked

    rng = np.random.default_rng(3)
    x = rng.normal(size=(1000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 1000)]
    residual = 0.5 - y  # sigmoid(0) - y
    scale = np.minimum(1, 1 / (np.linalg.norm(x, axis=1) * np.linalg.norm(residual, axis=1)))
    want = x.T.astype(np.float64) @ (residual * scale[:, None])
    xc, yc = statistics.shard_rows(x, y, chunk_rows=384)  # 3 chunks, the last one padded
    w0 = jnp.zeros((16, 5))
    for _ in range(3):
        got = jax.jit(lambda a, b: clipped_gradient_sum_chunked(w0, a, b, 1.0, loss="ova"))(xc, yc)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
