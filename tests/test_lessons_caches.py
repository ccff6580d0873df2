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
