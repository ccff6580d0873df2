"""Every lesson as a learner sees it: JupyterLab (started by scripts/lessons.sh) in headless
Chromium runs all cells, then every plot plotly.js drew is compared with the figure the
kernel holds (each trace's type, name, x and y), at the first display and after moving
every slider to two other values. Also checked in the page: no error output, the notebook
opens unmodified, figures fill the output width, subplot and axis titles do not overlap,
slider readouts do not run into the next label, check cells print feedback only and no
numpy reprs are printed. Screenshots of every figure go to artifacts/browser/ (override:
$DPTL_ARTIFACTS). Needs Debian's chromium at /usr/bin/chromium (never `playwright install`).
"""

import os
from pathlib import Path

import pytest

from dptl.lessons.browser import CHROMIUM, CHROMIUM_ARGS, LessonPage, lab_server

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = Path(os.environ.get("DPTL_ARTIFACTS", ROOT / "artifacts")) / "browser"

# one JupyterLab and one Chromium for the whole module, on one xdist worker
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

PAGE_TEXT_PROBLEMS = """() => {
  const problems = [];
  const outputs = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')];
  for (const o of outputs) {
    const t = o.innerText || '';
    if (/np\\.(float|int|bool)\\w*\\(/.test(t)) problems.push('numpy repr printed: ' + t.slice(0, 120));
    if (o.closest('.jp-OutputArea-executeResult') && /^(True|False)$/.test(t.trim()))
      problems.push('a bare ' + t.trim() + ' under a cell');
  }
  return problems;
}"""

# Each slider's value readout against the next slider's label: overlapping boxes.
SLIDER_OVERLAPS = """() => {
  const box = e => { const r = e.getBoundingClientRect();  // text overflowing its box counts
    return {left: r.left, top: r.top, bottom: r.bottom, right: r.left + Math.max(r.width, e.scrollWidth)}; };
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const sliders = [...document.querySelectorAll('.jp-Notebook .widget-slider')];
  const problems = [];
  sliders.forEach((s, i) => {
    const r = s.querySelector('.widget-readout');
    sliders.forEach((o, j) => {
      const label = o.querySelector('label');
      if (i !== j && r && label && label.textContent && hit(box(r), box(label)))
        problems.push(`readout ${r.textContent} overlaps label ${label.textContent}`);
    });
  });
  return problems;
}"""


@pytest.fixture(scope="module")
def browser_and_lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="python playwright not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with lab_server(tmp_path_factory.mktemp("lab")) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser, server
        finally:
            browser.close()


def _overlapping_titles(figure: dict) -> list[str]:
    boxes = figure["texts"]
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["rect"], b["rect"]
            if l1 < r2 - 1 and l2 < r1 - 1 and t1 < b2 - 1 and t2 < b1 - 1:
                out.append(f"{a['text']!r} overlaps {b['text']!r}")
    return out


def _layout_problems(lesson: LessonPage) -> list[str]:
    problems = list(lesson.page.evaluate(SLIDER_OVERLAPS))
    for i, fig in enumerate(lesson.page_figures()):
        if fig["width"] < 0.95 * fig["output_width"]:
            problems.append(
                f"figure {i + 1} is {fig['width']:.0f} px wide in a {fig['output_width']:.0f} px output"
            )
        problems += [f"figure {i + 1}: {p}" for p in _overlapping_titles(fig)]
    return problems


def _screenshots(lesson: LessonPage, stem: str, tag: str) -> None:
    outputs = lesson.page.locator(".jp-Notebook .jp-Cell-outputArea:has(.js-plotly-plot)")
    for i in range(outputs.count()):
        outputs.nth(i).scroll_into_view_if_needed()
        outputs.nth(i).screenshot(path=str(ARTIFACTS / f"{stem}_figure{i + 1}_{tag}.png"))


@pytest.mark.parametrize("notebook", LESSONS)
def test_lesson_figures_in_browser(browser_and_lab, notebook):
    browser, server = browser_and_lab
    stem = notebook.removesuffix(".ipynb")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        lesson = LessonPage(page, server, notebook)
        assert not lesson.dirty(), "the notebook opens modified (incomplete metadata?)"
        lesson.run_all()
        assert lesson.errors() == []
        assert page.evaluate(PAGE_TEXT_PROBLEMS) == []

        figures = lesson.python_figures()
        assert figures, "no figure found"
        assert lesson.wait_consistent() == [], "at first display"
        _screenshots(lesson, stem, "first")
        assert _layout_problems(lesson) == []

        sizes = [n for fig in figures for n in fig.get("sizes", [])]
        assert len(sizes) == lesson.sliders().count()
        for s, size in enumerate(sizes):
            visited = {lesson.readout(s)}
            for key in ("ArrowRight", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowLeft"):
                before = lesson.readout(s)
                if lesson.press(s, key) == before:
                    continue  # at the end of its range
                visited.add(lesson.readout(s))
                problems = lesson.wait_consistent()
                assert problems == [], f"slider {s} moved to {lesson.readout(s)}"
                if len(visited) == 3 or len(visited) == size:
                    _screenshots(lesson, stem, f"slider{s + 1}")
                    break
            # every control at two values besides its first (or all it has)
            assert len(visited) >= min(3, size), f"slider {s} reached only {visited}"
        assert _layout_problems(lesson) == []
    finally:
        lesson_shutdown(page)
        page.close()


def lesson_shutdown(page) -> None:
    """Stop the lesson's kernel (not awaited: the page closes next)."""
    page.evaluate(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " if (w && w.sessionContext) w.sessionContext.shutdown(); }"
    )


def test_lessons_sh_without_display_and_with_its_port_taken(tmp_path):
    """The README's first command as a newcomer on a server meets it: root (CI runs as
    root) or not, no display, the asked-for port already in use."""
    import socket
    import urllib.request

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with lab_server(tmp_path, ["01_noise_scaling.ipynb"], port=port) as server:
            assert not server.url.endswith(f":{port}"), "JupyterLab should take the next port"
            with urllib.request.urlopen(f"{server.url}/api/status?token={server.token}") as r:
                assert r.status == 200
            log = server.log.read_text()
    assert "no display here; open the http://" in log
    if os.geteuid() == 0:
        assert "Running as root is not recommended" not in log


READ_REPORT = """() => {
  const gd = document.getElementById('confusion');
  const t = gd._fullData[0];
  return {type: t.type, x: t.x, y: t.y, z: t.z.map(r => Array.from(r)),
          width: gd.getBoundingClientRect().width,
          body: document.body.getBoundingClientRect().width,
          text: document.body.innerText};
}"""


def test_model_report_in_browser(browser_and_lab, tmp_path):
    """The HTML report of `dptl report` as its reader sees it: offline (plotly.js inlined),
    the confusion matrix drawn with the model's classes and counts, the guarantee named."""
    import dataclasses

    import jax
    import numpy as np

    from dptl.data.synthetic import gaussian_mixture_features
    from dptl.model import PrivateModel
    from dptl.report import confusion_matrix, model_report_html
    from dptl.solvers import dp_sgd

    browser, _ = browser_and_lab
    fs = gaussian_mixture_features(seed=0, num_train=600, num_test=200, dim=16, num_classes=3)
    fs = dataclasses.replace(fs, metadata={**fs.metadata, "backbone": "efficientnet_lite0"})
    res = dp_sgd(jax.random.key(0), fs.x_train, fs.y_train, epsilon=1.0, num_classes=3)
    model = PrivateModel.from_result(res, fs, features_path="f.npz", key="test")
    path = tmp_path / "report.html"
    path.write_text(model_report_html(model, fs, features_path="f.npz"))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.route(
            "**/*", lambda r: r.abort() if not r.request.url.startswith("file:") else r.continue_()
        )
        page.goto(path.as_uri())
        page.wait_for_function("() => document.getElementById('confusion')._fullData")
        drawn = page.evaluate(READ_REPORT)
        counts = confusion_matrix(fs.y_test, model.predict(fs.x_test), 3)
        assert drawn["type"] == "heatmap"
        assert drawn["x"] == list(fs.class_names) and drawn["y"] == list(fs.class_names)
        np.testing.assert_allclose(drawn["z"], counts / counts.sum(1, keepdims=True), rtol=1e-6)
        assert drawn["width"] >= 0.9 * min(drawn["body"], 960 - 32)
        assert "add/remove one example" in drawn["text"]
        assert f"{100 * res.accuracy(fs.x_test, fs.y_test):.2f}%" in drawn["text"]
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        page.close()
