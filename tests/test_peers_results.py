"""The committed peer comparison (benchmarks/peers.py) is whole and well formed.

Only the results files are read: the peer libraries (the ``bench`` extra) are not needed.
"""

import json
import math
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
DPTL = {"dptl DP least squares", "dptl DP-GD", "dptl DP-SGD", "dptl DP-Newton", "dptl DP-FC"}
PEERS = {
    "Opacus DP-SGD",
    "JAX Privacy DP-SGD",
    "diffprivlib LogisticRegression",
    "diffprivlib LogisticRegression at 2 eps",
    "diffprivlib LinearRegression",
}


@pytest.fixture(scope="module")
def results():
    return json.loads((RESULTS / "peers.json").read_text())


def test_every_method_at_every_epsilon(results):
    setup, methods = results["setup"], results["methods"]
    assert setup["epsilons"] == [0.1, 1.0, 8.0] and setup["delta"] == 1e-5
    assert {m["name"] for m in methods} == DPTL | PEERS
    for m in methods:
        assert [r["epsilon"] for r in m["results"]] == setup["epsilons"], m["name"]
        assert m["neighbouring"] and m["hyperparameters"], m["name"]
        for r in m["results"]:
            acc = r["accuracy"]
            assert len(acc) == setup["seeds"] >= 1, m["name"]
            assert all(0.0 <= a <= 1.0 for a in acc), m["name"]
            mean = sum(acc) / len(acc)
            assert math.isclose(r["mean"], mean, abs_tol=1e-9), m["name"]
            assert r["seconds_per_fit"] > 0, m["name"]
            if r["epsilon_spent"] is not None:  # what the method's own accountant reports
                assert r["epsilon_spent"] <= r["epsilon_run"] * 1.001, m["name"]


def test_peers_at_twice_epsilon_say_so(results):
    for m in results["methods"]:
        factor = 2.0 if m["name"].endswith("at 2 eps") else 1.0
        for r in m["results"]:
            assert r["epsilon_run"] == pytest.approx(factor * r["epsilon"]), m["name"]


def test_table_and_figure_match(results):
    table = (RESULTS / "peers.md").read_text()
    html = (RESULTS / "peers.html").read_text()
    for m in results["methods"]:
        assert f"| {m['name']} |" in table
        assert m["name"] in html
    assert "cdn.plot.ly" in html and len(html) < 200_000  # plotly.js from the CDN, not inlined
