"""Turn off an XLA CPU fusion that computes wrong numbers, before JAX starts its backends.

jaxlib 0.10 fuses a matrix product whose operand is a compile-time constant (the zero
start ``w0 = 0`` of every last-layer solver) with the elementwise ops and row reductions
that follow it into one YNNPACK "reduce" fusion, and that fusion returns NaN or garbage on
XLA CPU: the per-example norms ``||sigmoid(X w0) - y||`` of a 10,000-row set came out NaN,
DP-Newton's first gradient had a wrong norm. ``tests/test_xla_workarounds.py`` pins the
reproducer. XLA reads ``XLA_FLAGS`` once, when the first computation starts its backends,
so ``dptl`` adds the flag on import; a flag for the same option already set by the user
is left alone.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings

FLAG = "--xla_cpu_experimental_ynn_fusion_type=-reduce"
_OPTION = FLAG.split("=")[0]


def _jaxlib_knows_flag() -> bool:
    """jaxlib aborts the process on an unknown XLA flag: add it only to the releases known
    to have both the flag and the bug (0.10.x); ``tests/test_xla_workarounds.py`` runs the
    reproducer on any release, so a newer one that still has the bug fails the tests."""
    try:
        major, minor = importlib.metadata.version("jaxlib").split(".")[:2]
        return (int(major), int(minor)) == (0, 10)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False


def apply() -> bool:
    """Add :data:`FLAG` to ``XLA_FLAGS``; True if it is (or already was) in effect."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _OPTION in flags:
        return FLAG in flags.split()
    if not _jaxlib_knows_flag():
        return False
    if "jax" in sys.modules:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            warnings.warn(
                "JAX started before dptl was imported, so XLA CPU's faulty YNNPACK reduce "
                "fusion is on and some solvers may return NaN or wrong numbers on CPU; import "
                f"dptl first or set XLA_FLAGS={FLAG}",
                RuntimeWarning,
                stacklevel=3,
            )
            return False
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}".strip()
    return True
