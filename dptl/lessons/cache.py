"""Cached sweeps: what the sliders scrub through, computed once and stored as JSON.

Some lesson tables cost minutes (PLD calibration of thousands of DP-SGD steps, DP-SGD
trained for every epsilon x batch size). They are computed by the functions in the lesson
modules and stored in ``dptl/lessons/cache/<name>.json`` together with the *spec* they
were computed from (parameters, data fingerprint, format version). A cache whose spec
differs from what the lesson asks for is stale and is recomputed, never silently used.

Regenerate every cache (the documented command)::

    python -m dptl.lessons.precompute            # all lessons
    python -m dptl.lessons.precompute noise      # one cache

Numbers in the lessons therefore always come from a computation, never from typing.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CACHE_DIR",
    "CACHE_VERSION",
    "cached",
    "cache_path",
    "load_cache",
    "to_json",
    "from_json",
]

CACHE_VERSION = 1
CACHE_DIR = Path(os.environ.get("DPTL_LESSONS_CACHE", Path(__file__).resolve().parent / "cache"))


def cache_path(name: str) -> Path:
    return CACHE_DIR / f"{name}.json"


def to_json(value: Any) -> Any:
    """Numpy arrays/scalars to lists/floats; inf/nan to strings JSON can hold."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
    return value


def from_json(value: Any) -> Any:
    """Inverse of :func:`to_json` for floats (lists stay lists; callers make arrays)."""
    if isinstance(value, dict):
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def load_cache(name: str) -> dict | None:
    """The stored ``{"spec", "data", "seconds"}`` of cache ``name``, or None."""
    path = cache_path(name)
    if not path.exists():
        return None
    return from_json(json.loads(path.read_text()))


def cached(name: str, spec: dict, compute: Callable[[], dict], *, recompute: bool = False) -> dict:
    """``compute()`` stored under ``name`` for ``spec``; reused while the spec matches.

    ``DPTL_LESSONS_RECOMPUTE=1`` forces recomputation (as does ``recompute=True``);
    ``DPTL_LESSONS_NO_COMPUTE=1`` makes a missing or stale cache an error (used by the test
    that the committed caches are up to date).
    The result is written atomically so an interrupted run never leaves half a cache.
    """
    spec = from_json(to_json({**spec, "cache_version": CACHE_VERSION}))
    force = recompute or os.environ.get("DPTL_LESSONS_RECOMPUTE") == "1"
    found = None if force else load_cache(name)
    if found is not None and found.get("spec") == spec:
        return found["data"]
    if os.environ.get("DPTL_LESSONS_NO_COMPUTE") == "1":
        raise RuntimeError(
            f"cache {name!r} is missing or stale and DPTL_LESSONS_NO_COMPUTE=1; regenerate it "
            f"with `python -m dptl.lessons.precompute {name.split('_n')[0]}`"
        )
    start = time.perf_counter()
    data = compute()
    record = {"spec": spec, "seconds": round(time.perf_counter() - start, 2), "data": data}
    text = json.dumps(to_json(record), sort_keys=True, separators=(",", ":"))
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=name + ".", suffix=".partial", dir=CACHE_DIR)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, cache_path(name))
    except OSError:  # a read-only install: use the result without storing it
        pass
    return from_json(json.loads(text))["data"]
