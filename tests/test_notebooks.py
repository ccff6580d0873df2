"""The lesson notebooks' structure. Running them is nbval's job:

pytest --nbval-lax notebooks/
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_eight_numbered_lessons():
    assert [p.name[:3] for p in NOTEBOOKS] == [f"0{i}_" for i in range(1, 9)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for c in code:  # committed without outputs
        assert c.get("outputs", []) == [] and c.get("execution_count") is None, path.name
    assert "Learning objectives" in "".join(cells[0]["source"])
    assert "## Summary" in "".join(cells[-1]["source"])
    assert "## Exercise" in text and "$" in text  # an exercise and some mathematics
    sources = ["".join(c["source"]) for c in code]
    assert any("check(" in s or "check_choice(" in s for s in sources), "no self-check cell"
    assert any("answer = None" in s for s in sources), "exercise has no default answer"
    # thin: logic lives in dptl.lessons
    assert sum(len(s.splitlines()) for s in sources) < 60
    assert not any(s.lstrip().startswith("def ") or "\ndef " in s for s in sources)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_clean(path):
    """Complete kernelspec and language_info, so JupyterLab does not mark a freshly opened
    lesson as modified (and closing it never asks to save outputs into the repository)."""
    meta = json.loads(path.read_text())["metadata"]
    assert meta["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    info = meta["language_info"]
    for key in ("codemirror_mode", "file_extension", "mimetype", "name", "nbconvert_exporter"):
        assert key in info, key
    assert info["version"].startswith("3.")
    nb = json.loads(path.read_text())
    if (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5):  # else JupyterLab adds cell ids
        ids = [c.get("id") for c in nb["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_graded_by_the_library(path):
    """A check cell takes its expected answer from dptl.lessons (decided beyond the seeds'
    spread there), never from a comparison written in the notebook."""
    cells = json.loads(path.read_text())["cells"]
    for c in cells:
        s = "".join(c["source"])
        if c["cell_type"] == "code" and "check_choice(" in s:
            assert "exercise_answer(" in s, s
            assert " if " not in s, s
