"""The lessons as a learner sees them: JupyterLab in headless Chromium, driven by playwright.

Used by ``tests/test_browser.py`` (every figure of every lesson, as drawn in the page,
against what the Python side says it shows) and ``benchmarks/lesson_latency.py`` (from the
key press in the page to the redrawn plot). JupyterLab is started through
``scripts/lessons.sh``, the command a newcomer types, on a copy of the notebooks so the
committed ones stay output-free. Needs Debian's ``chromium`` (never ``playwright install``)
and the ``test`` extra (playwright).

The page side reads each plot's ``_fullData`` (what plotly.js actually drew, after its
defaults: a trace that lost its ``x`` has none there, a trace that lost its name reads
"trace N"). The kernel side is read through the notebook's own kernel:
:func:`dptl.lessons.explorer.shown_figures` lists the figures the cells displayed.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LabServer",
    "compare_figures",
    "free_port",
    "lab_server",
    "LessonPage",
]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.context && w.context.isReady && k && k.status === 'idle');
}"""

# Every plot in the notebook, in page order: what plotly.js drew (_fullData) and where.
READ_PLOTS = """() => {
  const arr = v => {
    if (v === undefined || v === null) return null;
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (Array.isArray(v)) return v.map(e => ArrayBuffer.isView(e) ? Array.from(e) : e);
    return v;
  };
  const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return JSON.stringify([...document.querySelectorAll('.jp-Notebook .js-plotly-plot')].map(gd => {
    const out = gd.closest('.jp-OutputArea-output') || gd.parentElement;
    const texts = [...gd.querySelectorAll('g.annotation, g.g-gtitle, g.g-xtitle, g.g-ytitle')]
      .filter(g => g.getBoundingClientRect().width > 0);
    return {
      traces: (gd._fullData || []).map(t => ({
        name: t.name === undefined ? null : t.name, type: t.type,
        x: t.type === 'table' ? null : arr(t.x), y: t.type === 'table' ? null : arr(t.y),
        cells: t.type === 'table' ? arr(t.cells && t.cells.values) : null,
      })),
      width: (gd.querySelector('.main-svg') || gd).getBoundingClientRect().width,
      output_width: out.getBoundingClientRect().width,
      texts: texts.map(g => ({text: g.textContent, rect: rect(g)})),
    };
  }));
}"""

# Run code in the notebook's kernel (outside the notebook's history) and return its stdout.
KERNEL_EXEC = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = k.requestExecute({code, silent: false, store_history: false});
  let out = '', err = '';
  future.onIOPub = msg => {
    if (msg.header.msg_type === 'stream') out += msg.content.text;
    if (msg.header.msg_type === 'error') err += msg.content.ename + ': ' + msg.content.evalue;
  };
  await future.done;
  if (err) throw new Error(err);
  return out;
}"""

SHOWN_FIGURES = (
    "from dptl.lessons.explorer import shown_figures as _dptl_shown\nprint(_dptl_shown(Out))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class LabServer:
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        """The notebook alone in a fresh workspace of its own (no other tabs restored)."""
        stem = Path(name).stem
        return f"{self.url}/lab/workspaces/{stem}/tree/{name}?reset&token={self.token}"


@contextmanager
def lab_server(
    workdir: Path, notebooks: list[str] | None = None, *, port: int | None = None
) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 through ``scripts/lessons.sh``, serving copies of the lessons.

    Args:
      workdir: an empty scratch folder; the notebooks are copied to ``workdir/notebooks``.
      notebooks: file names under ``notebooks/`` (default: all lessons).
      port: the port to ask for (default: a free one).

    Yields a :class:`LabServer`; the server and its kernels are stopped on exit.
    """
    root = workdir / "notebooks"
    root.mkdir(parents=True)
    names = notebooks or sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name in names:
        shutil.copy(ROOT / "notebooks" / name, root)
    port = port or free_port()
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env |= {
        "DPTL_NOTEBOOKS": str(root),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
    }
    # no "get notified about Jupyter news?" toast over the screenshots
    notify = workdir / "settings" / "@jupyterlab" / "apputils-extension"
    notify.mkdir(parents=True)
    (notify / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    log_path = workdir / "lab.log"
    cmd = [
        "bash",
        str(ROOT / "scripts" / "lessons.sh"),
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={workdir / 'settings'}",
    ]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        url = _wait_for_url(proc, log_path, token)
        yield LabServer(url=url, token=token, root=root, log=log_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_for_url(proc: subprocess.Popen, log_path: Path, token: str, timeout: float = 600):
    """The server's URL, read from its log (it may have moved to another port)."""
    deadline = time.time() + timeout  # lessons.sh may first install what is missing
    while time.time() < deadline:
        text = log_path.read_text()
        for line in text.splitlines():
            if "http://127.0.0.1:" in line and "/lab" in line:  # the token shows as "..."
                url = line[line.index("http://127.0.0.1:") :].split("/lab")[0].split("/?")[0]
                try:
                    with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                        return url
                except OSError:
                    break
        if proc.poll() is not None:
            raise RuntimeError(f"scripts/lessons.sh exited {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.5)
    raise RuntimeError("JupyterLab did not start:\n" + log_path.read_text()[-3000:])


# The first error output of the open notebook ("ename: evalue"), or "": read from the
# notebook's model (the page renders errors and stderr alike).
RAISED = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      const out = cell.outputs.get(j).toJSON();
      if (out.output_type === 'error') return out.ename + ': ' + out.evalue;
    }
  }
  return '';
}"""
# Whether every code cell of the open notebook has run (an execution count in its prompt).
CELLS_RUN = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  return cells.length && cells.every(c => {
    const p = c.querySelector('.jp-InputPrompt');
    return p && /\\[\\d+\\]/.test(p.textContent);
  });
}"""


class LessonPage:
    """One lesson open in the browser, its cells run, with helpers to read and drive it."""

    def __init__(self, page, server: LabServer, notebook: str):
        self.page = page
        self.notebook = notebook
        page.goto(server.notebook_url(notebook))
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        page.wait_for_function(KERNEL_IDLE, timeout=180_000)

    def run_all(self, timeout_s: float = 900) -> float:
        """Run every cell; return the seconds until the kernel was idle again.

        A cell that raises stops JupyterLab's run-all: that fails at once with the error's
        text, instead of waiting out the timeout for cells that will never run.
        """
        start = time.perf_counter()
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_function(
            "() => (" + RAISED + ")() || (" + CELLS_RUN + ")()",
            timeout=timeout_s * 1000,
            polling=500,
        )
        raised = self.page.evaluate(RAISED)
        if raised:
            raise RuntimeError(f"{self.notebook}: a cell raised during run-all: {raised}")
        self.page.wait_for_function(KERNEL_IDLE, timeout=timeout_s * 1000)
        return time.perf_counter() - start

    def dirty(self) -> bool:
        """Whether JupyterLab marks the open notebook as modified."""
        return self.page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")

    def readout(self, slider_index: int) -> str:
        return self.sliders().nth(slider_index).locator(".widget-readout").inner_text()

    def errors(self) -> list[str]:
        return self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="
            '"application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type='
            '"application/vnd.jupyter.error"]\')].map(e => e.textContent.slice(0, 500))'
        )

    def kernel(self, code: str) -> str:
        return self.page.evaluate(KERNEL_EXEC, code)

    def python_figures(self) -> list[dict]:
        return json.loads(self.kernel(SHOWN_FIGURES))

    def page_figures(self) -> list[dict]:
        return json.loads(self.page.evaluate(READ_PLOTS))

    def sliders(self):
        return self.page.locator(".jp-Notebook .widget-slider")

    def readouts(self) -> list[str]:
        return self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .widget-slider .widget-readout')]"
            ".map(r => r.textContent)"
        )

    def mismatches(self) -> list[str]:
        """Every difference between the figures in the page and on the Python side; first,
        whether the kernel has seen the slider values the page shows (a move in flight)."""
        python = self.python_figures()
        controls = [label for fig in python for label in fig.get("controls", [])]
        if controls != self.readouts():
            return [f"sliders read {self.readouts()} in the page, {controls} in the kernel"]
        return compare_figures(python, self.page_figures())

    def wait_consistent(self, timeout_s: float = 15.0) -> list[str]:
        """Poll until page and kernel agree (a redraw in flight), or return the differences."""
        deadline = time.perf_counter() + timeout_s
        while True:
            problems = self.mismatches()
            if not problems or time.perf_counter() > deadline:
                return problems
            time.sleep(0.2)

    def press(self, slider_index: int, key: str) -> str:
        """Press ``key`` on a slider's handle; return the slider's readout afterwards."""
        slider = self.sliders().nth(slider_index)
        slider.scroll_into_view_if_needed()
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        handle.press(key)
        return self.readout(slider_index)


def _numbers_equal(a, b, rtol: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)
    return a == b


def _series_equal(python, page) -> bool:
    if python is None or page is None:
        return python is None and page is None
    python = [float("nan") if v is None else v for v in python]
    page = [float("nan") if v is None else v for v in page]
    return len(python) == len(page) and all(map(_numbers_equal, python, page))


def compare_figures(python: list[dict], page: list[dict]) -> list[str]:
    """Differences between the kernel's figures and the page's plots (both in page order).

    Checks the count of figures, and per trace its type, name, x and y (numbers to 1e-6
    relative). A trace without a name on the Python side may carry plotly's default.
    """
    problems = []
    if len(python) != len(page):
        return [f"{len(python)} figures in the kernel, {len(page)} plots in the page"]
    for i, (fp, fb) in enumerate(zip(python, page, strict=True)):
        where = f"figure {i + 1} ({fp['kind']})"
        if len(fp["traces"]) != len(fb["traces"]):
            problems.append(f"{where}: {len(fp['traces'])} traces, page has {len(fb['traces'])}")
            continue
        for j, (tp, tb) in enumerate(zip(fp["traces"], fb["traces"], strict=True)):
            label = f"{where}, trace {j} {tp['name']!r}"
            if tp["type"] != tb["type"]:
                problems.append(f"{label}: type {tp['type']} drawn as {tb['type']}")
            if tp["name"] is not None and tp["name"] != tb["name"]:
                problems.append(f"{label}: drawn with name {tb['name']!r}")
            for axis in ("x", "y"):
                if not _series_equal(tp[axis], tb[axis]):
                    shown = "none" if tb[axis] is None else _head(tb[axis])
                    problems.append(f"{label}: {axis} = {_head(tp[axis])}, page draws {shown}")
    return problems


def _head(values) -> str:
    if values is None:
        return "None"
    text = ", ".join(f"{v:.4g}" if isinstance(v, float) else repr(v) for v in values[:4])
    return f"[{text}{', ...' if len(values) > 4 else ''}] ({len(values)} values)"
