"""The embedded dataset (data/) builds, in both languages, into publications whose every page passes the layout
checks of reportgen.layout, and none of which ends on a stranded page (49 of its 96 PDFs did before the fit).

The check runs on the very document the build keeps (the fitter's last measure), so each publication is rendered
once, as the build renders it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen import layout
from reportgen.build import stage_prepare
from reportgen.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data"


class _CheckingFitter(layout.Fitter):
    """The build's fitter, which also lists the layout problems of the document it keeps."""

    seen: dict[int, list] = {}

    def __call__(self, document):
        refit = super().__call__(document)
        if refit is None:
            _CheckingFitter.seen[id(self)] = (len(document.pages), layout.check(document))
        return refit


@pytest.mark.slow
def test_embedded_build_has_no_stranded_page_and_no_layout_problem(tmp_path, monkeypatch):
    from reportgen.worker import Worker

    monkeypatch.setattr(layout, "Fitter", _CheckingFitter)
    s = Settings.from_mapping({"data": str(DATA), "output": str(tmp_path / "out"), "render_timeout": 3600})
    plan = stage_prepare(s, quiet=True)
    worker = Worker(s, plan)
    keys = [d["key"] for d in plan["documents"]]
    assert len(keys) == 96
    problems, stranded, over = {}, [], []
    for key in keys:
        _CheckingFitter.seen.clear()
        result = worker.render(key)
        assert result.status == "built", (key, result.error)
        ((pages, found),) = _CheckingFitter.seen.values()
        assert pages == result.pages
        if found:
            problems[key] = [str(p) for p in found]
        if result.stranded is not None:
            stranded.append(key)
        kind = key.split("/")[1] if "/" in key else "synthesis"
        budget = {"countries": s.max_pages_country, "regions": s.max_pages_region}.get(kind, s.max_pages_synthesis)
        if result.pages > budget:
            over.append((key, result.pages))
    assert stranded == []
    assert problems == {}
    assert over == []
