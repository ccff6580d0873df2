"""The committed caches are exactly what the notebooks ask for (else they would retrain).

Skipped without the shipped features (data/). Regenerate stale caches with
``python -m dptl.lessons.precompute``.
"""

import pytest

from dptl.lessons import shipped_available


@pytest.fixture(autouse=True)
def no_compute(monkeypatch):
    if not shipped_available():
        pytest.skip("shipped features not in data/ (see data/README.md)")
    monkeypatch.setenv("DPTL_LESSONS_NO_COMPUTE", "1")
    monkeypatch.delenv("DPTL_LESSONS_RECOMPUTE", raising=False)


@pytest.mark.parametrize("name", ["noise", "transfer", "linear_logistic", "fc", "newton"])
def test_committed_cache_is_up_to_date(name):
    from dptl.lessons.precompute import CACHES

    CACHES[name](False)  # raises RuntimeError naming the command if missing or stale


def test_exercises_and_findings_on_the_committed_caches():
    """Every exercise is decided beyond the seeds' spread on the data the learner sees,
    and the findings tables are made from the same numbers."""
    from dptl.lessons import fc as L5
    from dptl.lessons import lesson_features
    from dptl.lessons import linear_logistic as L3
    from dptl.lessons import newton as L4
    from dptl.lessons import transfer as L2

    fs = lesson_features()
    transfer = L2.transfer_sweep()
    assert L2.exercise_answer(transfer) in transfer.features
    assert "| features | private | non-private | linear probe |" in L2.findings(transfer).data
    ll = L3.linear_logistic_sweep(fs)
    assert L3.exercise_answer(ll) in ("least squares", "logistic")
    assert "least squares wins at ε" in L3.findings(ll).data
    final = L5.final_sweep(fs)
    nw = L4.newton_sweep(fs)
    assert L4.exercise_answer(nw, final) in ("dp_newton", "dp_gd")
    assert L5.exercise_answer(final, 4.0) in final.methods
    table = L5.findings(final).data
    assert table.count("\n| ") == len(final.epsilons) + 1  # header and one row per epsilon
    assert f"{final.mean('dp_fc')[0]:.3f}" in table
    assert "best step count" in L4.findings(nw, final).data
