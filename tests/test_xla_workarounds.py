"""dptl turns off XLA CPU's YNNPACK reduce fusion, which returned NaN for solver statistics.

The reproducer: per-example residual norms at the zero start, w0 = 0 built inside ``jit``,
on one 10,000 x 320 chunk in the row-major (n, K) layout the solvers used before. With the
fusion on (jaxlib 0.10.2) every norm came out NaN, and DP-Newton's first gradient had a
wrong norm on a 60,000-row chunk. The solvers now compute class-major (K, n) intermediates,
which the fusion happens to get right, so the minimal reproducer is kept on its own: run
this file with XLA_FLAGS=--xla_cpu_experimental_ynn_fusion_type=+reduce to see it fail.
"""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dptl import _xla_workarounds
from dptl.solvers import statistics
from dptl.solvers.logistic import clipped_gradient_sum_chunked

needs_flag = pytest.mark.skipif(
    not _xla_workarounds._jaxlib_knows_flag(), reason="the flag is set for jaxlib 0.10 only"
)


def _data(n=10_000, d=320, k=10):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


@needs_flag
def test_importing_dptl_sets_the_flag():
    assert _xla_workarounds.FLAG in os.environ.get("XLA_FLAGS", "").split()


def test_row_norms_after_a_product_with_a_constant_zero_matrix_are_right():
    x, y1h = _data()

    @jax.jit
    def residual_norms(x, y1h):  # the minimal reproducer: NaN everywhere with the fusion on
        p = jax.nn.sigmoid(x @ jnp.zeros((x.shape[1], y1h.shape[1])))
        return jnp.linalg.norm(p - y1h, axis=-1)

    want = np.linalg.norm(0.5 - y1h, axis=-1)
    np.testing.assert_allclose(np.asarray(residual_norms(x, y1h)), want, rtol=1e-5)


@pytest.mark.parametrize("loss", ["ova", "softmax"])
def test_gradient_at_a_constant_zero_start_on_one_chunk_is_right(loss):
    x, y1h = _data()
    xc, yc = statistics.shard_rows(x, y1h, chunk_rows=len(x))
    assert xc.shape[0] == 1  # the failing layout: one chunk, a bare parameter

    @jax.jit
    def grad_at_zero(xc, yc):  # w0 is a compile-time constant, as in every solver
        return clipped_gradient_sum_chunked(
            jnp.zeros((x.shape[1], y1h.shape[1])), xc, yc, 1.0, loss
        )

    residual = (0.5 if loss == "ova" else 1 / y1h.shape[1]) - y1h
    scale = np.minimum(1.0, 1.0 / np.linalg.norm(residual, axis=1))
    want = x.T @ (residual * scale[:, None])
    np.testing.assert_allclose(np.asarray(grad_at_zero(xc, yc)), want, rtol=1e-4, atol=1e-3)


def _run(code, xla_flags):
    env = {**os.environ, "XLA_FLAGS": xla_flags, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), out.stderr


@needs_flag
def test_a_users_own_setting_of_the_option_is_left_alone():
    stdout, _ = _run(
        "import os, dptl; print(os.environ['XLA_FLAGS'])",
        "--xla_cpu_experimental_ynn_fusion_type=+reduce",
    )
    assert stdout == "--xla_cpu_experimental_ynn_fusion_type=+reduce"


@needs_flag
def test_importing_dptl_after_jax_started_warns():
    _, stderr = _run(
        """
        import jax.numpy as jnp
        jnp.zeros(1).block_until_ready()  # starts the CPU backend
        import dptl
        """,
        "",
    )
    assert "import dptl first" in stderr
