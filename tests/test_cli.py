"""`dptl compare`: every solver at every epsilon on a feature file, as JSON or a table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from _solver_cases import finish_background, scratch_dir, start_background  # noqa: E402

from dptl.cli import main
from dptl.data.synthetic import gaussian_mixture_features
from dptl.solvers.sweep import METHODS

EPSILONS = (0.5, 8.0)


def _write_features():
    """A small feature file: 600 train x 16 dims, 3 classes (below the default DP-SGD batch)."""
    fs = gaussian_mixture_features(seed=0, num_train=600, num_test=200, dim=16, num_classes=3)
    path = scratch_dir("dptl-cli-") / "features.npz"
    fs.save(path)
    return path


FEATURES = _write_features()
SCRIPT = Path(sys.executable).with_name("dptl")
if SCRIPT.exists():  # the console-script run goes on in the background from collection on
    start_background(
        "console_script",
        [
            str(SCRIPT),
            "compare",
            "--features",
            str(FEATURES),
            "--epsilons",
            "0.5",
            "inf",
            "--seeds",
            "2",
            "--methods",
            "dp_least_squares",
        ],
        {**os.environ, "JAX_PLATFORMS": "cpu"},
    )


@pytest.fixture(scope="module")
def features():
    return FEATURES


def test_compare_json_has_every_method_and_epsilon(features, capsys):
    code = main(
        [
            "compare",
            "--features",
            str(features),
            "--epsilons",
            *map(str, EPSILONS),
            "--seeds",
            "2",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["num_train"] == 600 and report["num_test"] == 200 and report["seeds"] == 2
    rows = report["results"]
    assert {(r["method"], r["target_epsilon"]) for r in rows} == {
        (m, e) for m in METHODS for e in EPSILONS
    }
    assert len(rows) == len(METHODS) * len(EPSILONS)
    for r in rows:
        assert 0.0 <= r["accuracy_mean"] <= 1.0 and r["accuracy_std"] >= 0.0
        assert r["spent_epsilon"] <= r["target_epsilon"] * (1 + 1e-9)
        assert r["spent_epsilon"] >= 0.99 * r["target_epsilon"]
        assert r["spent_delta"] == 1e-5
        assert r["accountant"] in ("exact", "pld")
        assert r["noise_stds"] and all(s > 0 for s in r["noise_stds"].values())
    # an easy problem: at epsilon 8 every method is far above chance (1/3)
    assert all(r["accuracy_mean"] > 0.8 for r in rows if r["target_epsilon"] == 8.0)


def test_console_script_prints_a_table():
    assert SCRIPT.exists(), "the dptl console script is not installed"
    code, out, err = finish_background("console_script")
    assert code == 0, err[-3000:]
    lines = out.splitlines()
    assert any("neighbouring: add/remove one example" in ln for ln in lines)
    assert any(ln.split()[:1] == ["method"] for ln in lines)
    rows = [ln.split() for ln in lines if ln.startswith("dp_least_squares")]
    assert len(rows) == 2
    assert [row[1] for row in rows] == ["0.5", "inf"]
    table = "\n".join(lines)
    assert "(0.5, 1e-05)" in table and "(inf, 1e-05)" in table
    for row in rows:
        assert 0.0 <= float(row[2]) <= 100.0  # test accuracy in percent


def test_missing_file_exits_2_with_a_clear_message(tmp_path, capsys):
    missing = tmp_path / "nope.npz"
    code = main(["compare", "--features", str(missing), "--methods", "dp_least_squares"])
    err = capsys.readouterr().err
    assert code == 2
    assert "dptl compare: error" in err and "does not exist" in err and str(missing) in err


def test_bad_epsilon_is_an_argument_error(features, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--features", str(features), "--epsilons", "0"])
    assert exit_info.value.code == 2
    assert "epsilon must be > 0" in capsys.readouterr().err
