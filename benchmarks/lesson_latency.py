"""What a learner feels: every lesson in JupyterLab and headless Chromium, timed in the page.

Per lesson: the time to run all its cells (started through scripts/lessons.sh, as a
learner does), the kernel's peak memory (ru_maxrss after every cell and slider move), and
the slider latency from the key press in the page to the first animation frame in which
plotly.js holds the new plot, p50 / p95 over ``--presses`` presses spread over every
slider. Beside it, the same moves' Python callback time (the redraw in the kernel), the
baseline the browser adds to. Targets: p50 <= 100 ms, p95 <= 250 ms; memory < 1 GB
(mybinder.org allows at most 2 GB).

    python benchmarks/lesson_latency.py [--presses 40] [--cores 1] [--lessons 01 05]

``--cores 1`` pins JupyterLab and its kernels to one CPU core (mybinder.org gives one;
Chromium keeps the others): the run times then are what a Binder learner waits. Needs Debian's chromium and the
``test`` extra (playwright).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# Press -> first animation frame in which any plot's drawn data (_fullData) is new.
LATENCY_HOOK = """() => {
  if (window.__dptl) return;
  const state = window.__dptl = {times: [], pending: false};
  const snapshot = () => new Map([...document.querySelectorAll('.js-plotly-plot')].map(g => [g, g._fullData]));
  document.addEventListener('keydown', () => {
    const t0 = performance.now(), before = snapshot();
    state.pending = true;
    const poll = () => {
      const now = [...document.querySelectorAll('.js-plotly-plot')];
      if (now.some(g => !before.has(g) ? g._fullData : before.get(g) !== g._fullData)) {
        state.times.push(performance.now() - t0);
        state.pending = false;
      } else if (performance.now() - t0 > 5000) {
        state.times.push(null);
        state.pending = false;
      } else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }, true);
}"""

MEMORY = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def measure(lesson, presses: int) -> dict:
    lesson.page.evaluate(LATENCY_HOOK)
    sliders = lesson.sliders().count()
    callbacks = []
    direction = {}
    for i in range(presses if sliders else 0):
        s = i % sliders
        key = direction.setdefault(s, "ArrowRight")
        before = lesson.readout(s)
        if lesson.press(s, key) == before:  # at an end: turn round
            direction[s] = "ArrowLeft" if key == "ArrowRight" else "ArrowRight"
            lesson.press(s, direction[s])
        lesson.page.wait_for_function("() => !window.__dptl.pending", timeout=10_000)
        lesson.wait_consistent()
        last = lesson.kernel(
            "from dptl.lessons.explorer import Explorer as _E\n"
            "print(max((v for v in Out.values() if isinstance(v, _E)), "
            "key=lambda v: v.redraws).last_redraw_s)"
        )
        callbacks.append(float(last) * 1e3)
    times = lesson.page.evaluate("() => window.__dptl.times")
    return {
        "presses": len(times),
        "missed": sum(t is None for t in times),
        "browser_ms": np.asarray([t for t in times if t is not None], float),
        "callback_ms": np.asarray(callbacks, float),
        "peak_mb": int(lesson.kernel(MEMORY)) / 1024,
    }


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from dptl.lessons.browser import CHROMIUM, CHROMIUM_ARGS, LessonPage, lab_server

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=40, help="key presses per lesson")
    ap.add_argument("--cores", type=int, default=0, help="pin JupyterLab to this many cores")
    ap.add_argument("--lessons", nargs="*", default=None, help="notebook name prefixes")
    args = ap.parse_args(argv)
    names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    if args.lessons:
        names = [n for n in names if any(n.startswith(p) for p in args.lessons)]
    every_core = os.sched_getaffinity(0)
    if args.cores:  # the server and its kernels inherit it; Chromium gets every core back
        os.sched_setaffinity(0, set(sorted(every_core)[: args.cores]))
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} CPU core(s) for JupyterLab and the kernels; chromium {CHROMIUM}")
    print(
        f"{'lesson':26s} {'run s':>6s} {'peak MB':>8s} {'presses':>7s} {'p50 ms':>7s} "
        f"{'p95 ms':>7s} {'max ms':>7s} {'python p50':>10s}   targets p50<=100 p95<=250 <1024 MB"
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp, lab_server(Path(tmp), names) as server:
        os.sched_setaffinity(0, every_core)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
            for name in names:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                lesson = LessonPage(page, server, name)
                run_s = lesson.run_all()
                m = measure(lesson, args.presses)
                t, py = m["browser_ms"], m["callback_ms"]
                if len(t):
                    p50, p95 = np.percentile(t, 50), np.percentile(t, 95)
                    ok &= p50 <= 100 and p95 <= 250 and not m["missed"]
                    lat = f"{len(t):7d} {p50:7.0f} {p95:7.0f} {t.max():7.0f} {np.median(py):10.1f}"
                else:
                    lat = f"{'-':>7s} {'-':>7s} {'-':>7s} {'-':>7s} {'-':>10s}"
                ok &= m["peak_mb"] < 1024
                missed = f"  ({m['missed']} presses drew nothing)" if m["missed"] else ""
                print(f"{name[:-6]:26s} {run_s:6.1f} {m['peak_mb']:8.0f} {lat}{missed}")
                sys.stdout.flush()
                page.evaluate(
                    "() => { window.jupyterapp.shell.currentWidget.sessionContext.shutdown(); }"
                )
                page.close()
                time.sleep(1)
            browser.close()
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
