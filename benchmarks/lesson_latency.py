"""Redraw latency of every lesson's sliders, outside the browser.

Builds each lesson's explorer exactly as its notebook does (from the cached sweeps in
dptl/lessons/cache; run `python -m dptl.lessons.precompute` first if one is missing),
then drives every slider through all its values and through seeded random moves
(``dptl.lessons.explorer.drive``), timing each slider move until the FigureWidget has
been updated (callback + trace updates + widget state serialisation). Prints p50/p95 per
lesson. Target: p50 <= 100 ms, p95 <= 300 ms on 2 CPU cores.

    python benchmarks/lesson_latency.py [--moves 40] [--lessons "7 privacy audit"]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("DPTL_LESSONS_NO_COMPUTE", "1")  # never train inside a benchmark


def build(lesson: str):
    from dptl.lessons import lesson_features

    if lesson == "1 noise scaling":
        from dptl.lessons import noise as L

        fs = lesson_features()
        return L.noise_explorer(L.noise_tables(fs.num_train), L.mean_gradient_signal(fs))
    if lesson == "2 transfer learning":
        from dptl.lessons import transfer as L

        return L.transfer_explorer(L.transfer_sweep())
    if lesson == "3 linear vs logistic":
        from dptl.lessons import linear_logistic as L

        return L.linear_logistic_explorer(L.linear_logistic_sweep(lesson_features()))
    if lesson == "4 DP-Newton":
        from dptl.lessons import fc as L5
        from dptl.lessons import newton as L

        fs = lesson_features()
        nw = L.newton_sweep(fs)
        spectra = L.hessian_spectra(
            fs, nw["params"]["epsilons"], num_train=nw["params"]["num_train"]
        )
        return L.newton_explorer(nw, L5.final_sweep(fs), spectra)
    if lesson == "5 DP-FC":
        from dptl.lessons import fc as L

        return L.fc_explorer(L.final_sweep(lesson_features()))
    if lesson == "7 privacy audit":
        from dptl.lessons import audit as L

        return L.audit_explorer(L.audit_sweep())  # computed live (seconds), as in the notebook
    raise ValueError(lesson)


LESSONS = [
    "1 noise scaling",
    "2 transfer learning",
    "3 linear vs logistic",
    "4 DP-Newton",
    "5 DP-FC",
    "7 privacy audit",
]


def main(argv=None) -> int:
    from dptl.lessons.explorer import drive

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=40, help="seeded random moves per lesson")
    ap.add_argument(
        "--lessons",
        nargs="*",
        default=LESSONS,
        choices=LESSONS,
        metavar="LESSON",
        help=f"lessons to time (default: all of {LESSONS})",
    )
    args = ap.parse_args(argv)
    print(
        f"{'lesson':24s} {'moves':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  target p50<=100, p95<=300"
    )
    ok = True
    for lesson in args.lessons:
        try:
            start = time.perf_counter()
            ex = build(lesson)
            setup = time.perf_counter() - start
        except (RuntimeError, FileNotFoundError) as err:
            print(f"{lesson:24s} skipped: {err}")
            ok = False
            continue
        t = np.asarray(drive(ex, random_moves=args.moves)) * 1e3
        p50, p95 = np.percentile(t, 50), np.percentile(t, 95)
        ok &= p50 <= 100 and p95 <= 300
        print(
            f"{lesson:24s} {len(t):5d} {p50:8.1f} {p95:8.1f} {t.max():8.1f}  (setup {setup:.1f} s)"
        )
    print("6 features at scale       no sliders (a live extraction with a progress bar)")
    print("all targets met" if ok else "TARGET MISSED or lesson skipped")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
