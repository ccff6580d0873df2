"""The committed claims report (docs/claims.md, written by benchmarks/claims.py) is whole.

Structure only, no computation: every claim a-i has a summary row with a number and a
verdict, a section, a figure file that exists and loads plotly from the CDN, and an entry
in docs/claims.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
CLAIMS = "abcdefghi"

pytestmark = pytest.mark.skipif(
    not (DOCS / "claims.md").exists(), reason="docs/claims.md not generated"
)


def _report():
    return (DOCS / "claims.md").read_text()


def test_summary_has_every_claim_with_number_and_verdict():
    text = _report()
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| ([a-i]) \|.*$", summary, re.M)}
    assert sorted(rows) == list(CLAIMS)
    for row in rows.values():
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells)
        assert re.search(r"\d", cells[2]), row  # a number
        assert cells[3].startswith("**") and cells[3].endswith("**"), row  # a verdict


def test_every_claim_has_a_section_and_a_figure():
    text = _report()
    for k in CLAIMS:
        section = re.search(rf"^## \({k}\) .*?(?=^## |\Z)", text, re.M | re.S)
        assert section, k
        assert "**Verdict:" in section.group(0)
        fig = re.search(r"Figure: \[(figures/claims_[a-z0-9_]+\.html)\]", section.group(0))
        assert fig, k
        html = (DOCS / fig.group(1)).read_text()
        assert "cdn.plot.ly" in html and len(html) < 2_000_000  # CDN, not inlined plotly.js


def test_json_matches_the_report():
    data = json.loads((DOCS / "claims.json").read_text())
    assert sorted(data) == list(CLAIMS)
    text = _report()
    for k, v in data.items():
        assert v["verdict"] in text and v["number"] in text, k


def test_accounting_claim_numbers():
    """(g) is pure arithmetic: exact GDP saves ~13% of the noise at eps 8, ~36% at eps 0.1."""
    g = {row["epsilon"]: row for row in json.loads((DOCS / "claims.json").read_text())["g"]["data"]}
    assert g[8.0]["exact_less_noise"] == pytest.approx(0.131, abs=0.002)
    assert g[0.1]["exact_less_noise"] == pytest.approx(0.361, abs=0.002)
    assert g[8.0]["rdp_closed_form_more_noise"] == pytest.approx(0.150, abs=0.002)
    assert g[0.1]["rdp_closed_form_more_noise"] == pytest.approx(0.564, abs=0.002)
