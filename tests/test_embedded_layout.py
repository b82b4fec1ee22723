"""The embedded dataset (data/) builds, in both languages, into publications whose every page passes the layout
checks of reportgen.layout, within their page budgets, and none of which ends on a stranded page (49 of its 96 PDFs
did before the fit of the last page).

The check runs on the very document the build keeps (tests/layoutcheck.py), so each publication is rendered once,
as the build renders it (conftest's ``embedded_checked``, whose PDFs tests/test_typography_check.py reads too)."""

from __future__ import annotations


import pytest

from reportgen.model import Doc


@pytest.mark.slow
@pytest.mark.xdist_group("embedded")
def test_embedded_build_has_no_stranded_page_and_no_layout_problem(embedded_checked):
    s, checked = embedded_checked
    assert len(checked) == 96
    assert {c.key.split("/")[0] for c in checked} == {"fr", "en"}
    assert [c.key for c in checked if c.stranded is not None] == []
    # Each is laid out once: the country brief keeps its data note with the end of the section before it (34 of
    # its 80 country briefs needed the fit's second render when the note was set in two columns at the end).
    assert [c.key for c in checked if c.fitted] == []
    assert {c.key: [str(p) for p in c.problems] for c in checked if c.problems} == {}
    budget = {"country": s.max_pages_country, "region": s.max_pages_region, "synthesis": s.max_pages_synthesis}
    assert [(c.key, c.pages) for c in checked if c.pages > budget[Doc.from_key(c.key).kind]] == []
