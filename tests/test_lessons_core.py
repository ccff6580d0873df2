"""dptl.lessons: caches, self-checks and the slider/figure plumbing."""

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from dptl.lessons import cache as cache_mod
from dptl.lessons import check, check_choice
from dptl.lessons.explorer import Control, Explorer


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "CACHE_DIR", tmp_path)
    monkeypatch.delenv("DPTL_LESSONS_RECOMPUTE", raising=False)
    monkeypatch.delenv("DPTL_LESSONS_NO_COMPUTE", raising=False)
    return tmp_path


def test_cache_reuses_matching_spec_and_recomputes_stale(tmp_cache):
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3.0), "b": math.inf}

    first = cache_mod.cached("t", {"x": 1}, compute)
    again = cache_mod.cached("t", {"x": 1}, compute)
    assert len(calls) == 1 and first == again == {"a": [0.0, 1.0, 2.0], "b": math.inf}
    cache_mod.cached("t", {"x": 2}, compute)  # stale spec: recomputed
    assert len(calls) == 2
    stored = json.loads((tmp_cache / "t.json").read_text())
    assert stored["spec"]["x"] == 2 and stored["data"]["b"] == "inf"
    assert not list(tmp_cache.glob("*.partial"))


def test_cache_no_compute_mode_names_the_command(tmp_cache, monkeypatch):
    monkeypatch.setenv("DPTL_LESSONS_NO_COMPUTE", "1")
    with pytest.raises(RuntimeError, match="dptl.lessons.precompute noise"):
        cache_mod.cached("noise_n10", {"x": 1}, lambda: {})


def test_cache_force_recompute(tmp_cache, monkeypatch):
    calls = []
    cache_mod.cached("t", {}, lambda: calls.append(1) or {})
    monkeypatch.setenv("DPTL_LESSONS_RECOMPUTE", "1")
    cache_mod.cached("t", {}, lambda: calls.append(1) or {})
    assert len(calls) == 2


def test_check_prints_feedback_only(capsys):
    cases = [
        (lambda: check(None, 2.0, hint="think"), "No answer yet"),
        (lambda: check(2.01, 2.0, rtol=0.01), "Correct"),
        (lambda: check(3.0, 2.0), "Not quite"),
        (lambda: check("abc", 2.0), "Expected a number"),
        (lambda: check_choice(None, "a", options=["a", "b"]), "No answer yet"),
        (lambda: check_choice("c", "a", options=["a", "b"]), "is not one of the options"),
        (lambda: check_choice("a", "a", options=["a", "b"]), "Correct"),
        (lambda: check_choice("b", "a", options=["a", "b"]), "Not quite"),
    ]
    for call, feedback in cases:
        assert call() is None  # nothing for the notebook to show under the feedback
        assert feedback in capsys.readouterr().out


def _explorer():
    ys = {v: np.arange(5.0) * v for v in (1, 2, 3)}
    fig = go.Figure(go.Scatter(x=np.arange(5), y=ys[1]))

    def draw(f, s):
        f.data[0].y = ys[s["k"]]
        return f"k = {s['k']}"

    return Explorer(fig, [Control("k", [1, 2, 3], initial=1)], draw), ys


def test_explorer_slider_redraws_figure():
    ex, ys = _explorer()
    assert ex.redraws == 1
    ex.set(k=3)
    np.testing.assert_allclose(ex.figure.data[0].y, ys[3])
    assert ex.state == {"k": 3} and ex.redraws == 2 and "k = 3" in ex.status.value
    ex.controls["k"].slider.value = 2  # what a browser slider move does
    np.testing.assert_allclose(ex.figure.data[0].y, ys[2])
    assert ex.widget().children[-2] is ex.figure
    with pytest.raises(KeyError, match="no control"):
        ex.set(z=1)


def test_control_validates_initial():
    with pytest.raises(ValueError, match="not one of"):
        Control("k", [1, 2], initial=5)
    with pytest.raises(ValueError, match="at least one"):
        Control("k", [])


def test_decided_winner_needs_a_lead_beyond_the_seeds_spread():
    from dptl.lessons.checks import UndecidedError, decided_winner, is_decided

    assert decided_winner({"a": [0.80, 0.81], "b": [0.70, 0.71]}) == "a"
    with pytest.raises(UndecidedError, match="do not decide"):
        decided_winner({"a": [0.80, 0.84], "b": [0.79, 0.80]})  # lead 0.025, spread 0.025
    assert is_decided({"a": [0.800, 0.800], "b": [0.797, 0.797]}) is None  # under half a point
    assert is_decided({"a": [0.1, 0.1], "b": [0.5, 0.5], "c": [0.2, 0.2]}) == "b"


def test_pretraining_verdict_reads_the_order_of_the_gaps():
    """Lesson 2 and claim (a) decide "better pretraining shrinks the gap" by one rule."""
    from dptl.lessons.checks import gap_rank_correlation, pretraining_verdict

    assert gap_rank_correlation([0.04, 0.03, 0.02, 0.01]) == pytest.approx(-1.0)
    assert pretraining_verdict(gap_rank_correlation([0.04, 0.03, 0.02, 0.01])) == "holds"
    assert pretraining_verdict(-0.4) == "partly holds"
    # lesson 2's gaps at eps 1 on the full data: up, up, down
    assert pretraining_verdict(gap_rank_correlation([0.020, 0.029, 0.041, 0.023])) == (
        "does not hold"
    )
