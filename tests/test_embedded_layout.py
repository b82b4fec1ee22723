"""The embedded dataset (data/) builds, in both languages, into publications whose every page passes the layout
checks of reportgen.layout, within their page budgets, and none of which ends on a stranded page (49 of its 96 PDFs
did before the fit of the last page).

The check runs on the very document the build keeps (tests/layoutcheck.py), so each publication is rendered once,
as the build renders it."""

from __future__ import annotations

from pathlib import Path

import pytest
from layoutcheck import render_and_check

from reportgen.model import Doc
from reportgen.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.slow
def test_embedded_build_has_no_stranded_page_and_no_layout_problem(tmp_path, monkeypatch):
    s = Settings.from_mapping({"data": str(DATA), "output": str(tmp_path / "out"), "render_timeout": 3600})
    checked = render_and_check(s, None, monkeypatch)
    assert len(checked) == 96
    assert {c.key.split("/")[0] for c in checked} == {"fr", "en"}
    assert [c.key for c in checked if c.stranded is not None] == []
    assert {c.key: [str(p) for p in c.problems] for c in checked if c.problems} == {}
    budget = {"country": s.max_pages_country, "region": s.max_pages_region, "synthesis": s.max_pages_synthesis}
    assert [(c.key, c.pages) for c in checked if c.pages > budget[Doc.from_key(c.key).kind]] == []
