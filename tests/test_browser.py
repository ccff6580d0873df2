"""Lesson 1 in a real browser: JupyterLab on 127.0.0.1, headless Chromium via playwright.

Runs all cells of notebooks/01_noise_scaling.ipynb (a copy, so the committed notebook stays
output-free), moves the epsilon slider with the keyboard, checks that the plotly figure's
data changed and saves screenshots under artifacts/browser/ (override: $DPTL_ARTIFACTS).
Needs the Debian `chromium` at /usr/bin/chromium (never `playwright install`).
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("DPTL_ARTIFACTS", ROOT / "artifacts")) / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.context && w.context.isReady && k && k.status === 'idle');
}"""

# The explorer's "noise per example" trace (index 7) depends on the epsilon slider.
READ_FIGURE = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.data && p.data.length >= 13);
  return plots.length ? JSON.stringify(Array.from(plots[0].data[7].y)) : null;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="python playwright not installed")
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_noise_scaling.ipynb", work)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
        "--ServerApp.port_retries=0",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        cmd.append("--allow-root")
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        "JupyterLab did not start:\n"
                        + (tmp_path / "server.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.5)
        yield url, token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_lesson1_epsilon_slider_redraws_in_browser(jupyterlab):
    from playwright.sync_api import sync_playwright

    url, token = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/01_noise_scaling.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            # the notebook panel is current, its context ready and its kernel idle
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(READ_FIGURE, timeout=240_000)  # truthy once drawn
            page.wait_for_function(KERNEL_IDLE, timeout=240_000)  # every cell has run
            before_raw = page.evaluate(READ_FIGURE)  # compare JS strings with JS strings
            before = json.loads(before_raw)
            page.screenshot(path=str(ARTIFACTS / "lesson1_before.png"), full_page=False)
            # The epsilon slider is the first SelectionSlider of the explorer; its label is "ε".
            slider = page.locator(".widget-slider", has=page.locator("label", has_text="ε")).first
            slider.scroll_into_view_if_needed()
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            handle.press("ArrowRight")
            changed = f"() => {{ const v = ({READ_FIGURE})(); return v !== null && v !== {json.dumps(before_raw)}; }}"
            page.wait_for_function(changed, timeout=60_000)
            after = json.loads(page.evaluate(READ_FIGURE))
            page.screenshot(path=str(ARTIFACTS / "lesson1_after_slider.png"), full_page=False)
        finally:
            browser.close()
    assert after != before
    # a larger epsilon needs less noise: every point of the noise-per-example curve falls
    assert all(a < b for a, b in zip(after, before, strict=True))
    assert (ARTIFACTS / "lesson1_after_slider.png").stat().st_size > 10_000
