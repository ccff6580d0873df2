"""Regenerate the lessons' cached sweeps (dptl/lessons/cache/*.json).

    python -m dptl.lessons.precompute                 # missing or stale caches only
    python -m dptl.lessons.precompute --force         # recompute everything
    python -m dptl.lessons.precompute noise fc        # some of them

Each cache records the parameters and the data fingerprint it was computed from; the
notebooks recompute a cache whose record does not match instead of using it.
"""

from __future__ import annotations

import argparse
import time

__all__ = ["CACHES", "main"]


def _noise(force):
    from dptl.lessons.data import lesson_features
    from dptl.lessons.noise import noise_tables

    noise_tables(lesson_features(allow_synthetic=False).num_train, recompute=force)


def _transfer(force):
    from dptl.lessons.transfer import transfer_sweep

    transfer_sweep(recompute=force)


def _linear_logistic(force):
    from dptl.lessons.data import lesson_features
    from dptl.lessons.linear_logistic import linear_logistic_sweep

    linear_logistic_sweep(lesson_features(allow_synthetic=False), recompute=force)


def _fc(force):
    from dptl.lessons.data import lesson_features
    from dptl.lessons.fc import final_sweep

    final_sweep(lesson_features(allow_synthetic=False), recompute=force)


def _newton(force):
    from dptl.lessons.data import lesson_features
    from dptl.lessons.newton import newton_sweep

    newton_sweep(lesson_features(allow_synthetic=False), recompute=force)


CACHES = {
    "noise": _noise,
    "transfer": _transfer,
    "linear_logistic": _linear_logistic,
    "fc": _fc,
    "newton": _newton,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m dptl.lessons.precompute",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("names", nargs="*", choices=[*CACHES, []], help="caches (default: all)")
    ap.add_argument("--force", action="store_true", help="recompute even if up to date")
    args = ap.parse_args(argv)
    for name in args.names or list(CACHES):
        start = time.perf_counter()
        CACHES[name](args.force)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
