"""Shared small data sets and solver runs for the tests/test_solvers_*.py files.

Cached per process so that the jit-compiled solvers (same shapes, same static arguments)
are compiled once and reused by every test file that asks for the same run.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import jax
import numpy as np

from dptl.solvers import dp_fc, dp_least_squares, dp_newton, dp_sgd

N, D, K = 240, 6, 3
FEATURE_NORM = 1.5  # not 1, so that C and C^2 cannot be confused
GRAD_CLIP = 0.4
EPSILON, DELTA = 1.0, 1e-6
STEPS = {"dp_gd": 3, "dp_newton": 2, "dp_fc": 3}

# The Poisson-subsampled DP-SGD run on all-zero features (its PLD calibration is the
# expensive part, so it is done once): n, d, K, batch, steps, epsilon.
POISSON = dict(
    n=400, d=16, k=4, batch_size=40, steps=10, epsilon=0.3, delta=1e-5, learning_rate=1.0
)


@functools.cache
def standard_data():
    """Raw (not normalised) features of norm about sqrt(D), labels in 0..K-1."""
    rng = np.random.default_rng(12345)
    return rng.normal(size=(N, D)).astype(np.float32), rng.integers(0, K, N).astype(np.int32)


def run_standard(name, key):
    """One solver on the standard data at (EPSILON, DELTA) with the standard settings."""
    x, y = standard_data()
    kw = dict(epsilon=EPSILON, delta=DELTA, num_classes=K, feature_norm=FEATURE_NORM)
    if name == "dp_least_squares":
        return dp_least_squares(key, x, y, **kw)
    if name == "dp_least_squares_alpha":
        return dp_least_squares(key, x, y, alpha=0.5, **kw)
    if name == "dp_gd":
        return dp_sgd(
            key,
            x,
            y,
            steps=STEPS["dp_gd"],
            grad_clip=GRAD_CLIP,
            learning_rate=1.0,
            optimizer="sgd",
            **kw,
        )
    if name == "dp_newton":
        return dp_newton(key, x, y, steps=STEPS["dp_newton"], grad_clip=GRAD_CLIP, **kw)
    if name == "dp_fc":
        return dp_fc(key, x, y, steps=STEPS["dp_fc"], grad_clip=GRAD_CLIP, **kw)
    raise KeyError(name)


STANDARD_SOLVERS = ("dp_least_squares", "dp_least_squares_alpha", "dp_gd", "dp_newton", "dp_fc")


@functools.cache
def standard_run(name):
    """The standard run with key 0, cached."""
    return run_standard(name, jax.random.key(0))


@functools.cache
def poisson_run():
    """DP-SGD with real Poisson sampling (q = 0.1), PLD-calibrated, on all-zero features.

    With zero features every clipped gradient is zero, so the weight updates are exactly
    the noise divided by the expected batch size: w_{t+1} - w_t = -lr N_t / (q n).
    """
    p = POISSON
    x = np.zeros((p["n"], p["d"]), np.float32)
    y = np.arange(p["n"]) % p["k"]
    return dp_sgd(
        jax.random.key(3),
        x,
        y,
        epsilon=p["epsilon"],
        delta=p["delta"],
        num_classes=p["k"],
        batch_size=p["batch_size"],
        steps=p["steps"],
        learning_rate=p["learning_rate"],
        optimizer="sgd",
        record_weights=True,
    )


def release(result, name):
    """The one release of ``result`` called ``name``."""
    matches = [r for r in result.privacy.releases if r.name == name]
    assert len(matches) == 1, [r.name for r in result.privacy.releases]
    return matches[0]


# ---------------------------------------------------------------- background subprocesses

_BACKGROUND: dict[str, tuple[subprocess.Popen, Path]] = {}


def scratch_dir(prefix: str) -> Path:
    """A temporary directory removed when the test process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def start_background(name: str, args, env=None) -> None:
    """Start a subprocess now and let it run while other tests use the main process.

    Test modules call this when they are imported (at collection), so the slow subprocess
    tests (a second JAX process: import + compilation, ~10 s each) overlap with the rest
    of the session on the second core; :func:`finish_background` collects the result.
    """
    if name in _BACKGROUND:
        return
    out = scratch_dir(f"dptl-{name}-")
    with open(out / "stdout", "w") as so, open(out / "stderr", "w") as se:
        proc = subprocess.Popen(args, env=env, stdout=so, stderr=se, text=True)
    _BACKGROUND[name] = (proc, out)
    atexit.register(lambda: proc.poll() is None and proc.kill())


def finish_background(name: str, timeout: float = 300) -> tuple[int, str, str]:
    """(returncode, stdout, stderr) of a background subprocess, waiting for it."""
    proc, out = _BACKGROUND[name]
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, (out / "stdout").read_text(), (out / "stderr").read_text()
