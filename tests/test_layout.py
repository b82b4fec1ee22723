"""Layouts that hold for any dataset: every page of publications built from extreme datasets (tests/extreme.py)
is checked from WeasyPrint's own boxes (reportgen.layout): nothing outside the content area, no overlapping words,
no figure split across lines, no heading ending a page, no stranded last page; and no 0 where the data says
"not reported". The checker itself is tested on small pages made to fail."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from datasets import write_dataset
from extreme import dataset

from reportgen import layout
from reportgen.build import stage_prepare
from reportgen.fetcher import SafeFetcher
from reportgen.model import Doc
from reportgen.settings import Settings, templates_root

NB, NNB = "\u00a0", "\u202f"


def _render_html(html: str, tmp_path: Path):
    import weasyprint

    return weasyprint.HTML(string=html, base_url=str(tmp_path)).render()


# ------------------------------------------------------------------------------------------------ the checker itself


@pytest.mark.slow
def test_checker_sees_each_kind_of_problem(tmp_path):
    doc = _render_html(
        "<style>@page { size: 100mm 80mm; margin: 10mm } p { margin: 0 } .num { white-space: normal }</style>"
        "<p style='white-space: nowrap'>" + "Unbreakable " * 20 + "</p>"  # outside, to the right
        "<p style='position: relative'>over<span style='position: absolute; left: 0; top: 0'>lapped</span></p>"
        "<p style='width: 12mm'><span class='num'>1 234 567 890</span></p>"  # a figure on several lines
        "<div style='height: 36mm'></div><h2>Alone</h2><p style='break-before: page'>tail</p>", tmp_path)
    kinds = {p.kind for p in layout.check(doc)}
    assert kinds == {"outside", "overlap", "split-figure", "heading-last", "stranded"}, layout.check(doc)


@pytest.mark.slow
def test_checker_passes_a_clean_page_and_a_page_opening_a_section(tmp_path):
    clean = _render_html("<style>@page { size: A5 }</style><h1>Title</h1><p>Text 1 234 €.</p>", tmp_path)
    assert layout.check(clean) == []
    section = _render_html("<style>@page { size: A5 }</style><p style='height: 150mm'>x</p>"
                           "<section><h2 style='break-before: page'>Own section</h2><p>short</p></section>", tmp_path)
    assert layout.last_page(layout.pages(section)).opens_section
    assert layout.check(section) == []
    notes = _render_html("<style>@page { size: A5 }</style><p style='height: 150mm'>x</p><section id='data-notes'>"
                         "<h2 style='break-before: page'>Data notes</h2><p>short</p></section>", tmp_path)
    assert [p.kind for p in layout.check(notes)] == ["stranded"]  # notes alone are stranded all the same


def test_fitter_tightens_then_stops():
    html = '<html><body class="country" data-x="1"><main></main></body></html>'
    assert layout.with_fit_class(html, "fit-2") == '<html><body class="country fit-2" data-x="1"><main></main></body></html>'
    with pytest.raises(ValueError):
        layout.with_fit_class("<body>", "fit-1")


# ------------------------------------------------------------------------------------------------- extreme datasets

#: case → the publications checked (a few per case keeps the suite's time in bounds)
CHECKED = {
    "long-names": ["fr/country/CIV", "en/region/see", "en/synthesis"],
    "huge-amounts": ["en/synthesis", "fr/country/ALB"],
    "unreported": ["fr/synthesis", "en/country/NGA", "fr/region/west-africa"],
    "empty": ["en/country/NGA", "fr/region/see"],
    "one-action": ["fr/country/NGA", "en/region/west-africa"],
    "many": ["en/region/world", "fr/synthesis"],
    "long-narrative": ["fr/country/NGA"],
}


def _build(tmp_path: Path, case: str, keys: list[str]) -> dict[str, Path]:
    from reportgen.worker import Worker

    data = write_dataset(tmp_path / "data", dataset(case))
    # no time limit of the build here: a loaded CI machine must not fail a layout check
    s = Settings.from_mapping({"data": str(data), "output": str(tmp_path / "out"), "render_timeout": 3600})
    plan = stage_prepare(s, quiet=True)
    worker = Worker(s, plan)
    out = {}
    for key in keys:
        doc = Doc(*key.split("/")) if key.count("/") == 2 else Doc(key.split("/")[0], "synthesis", "")
        result = worker.render(doc.key)
        assert result.status == "built", (key, result.error)
        out[key] = s.output / f"{doc.stem}.html"
    return out, s


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CHECKED))
def test_extreme_dataset_layout(tmp_path, case):
    import weasyprint

    os.environ["SOURCE_DATE_EPOCH"] = "1393632000"
    built, s = _build(tmp_path, case, CHECKED[case])
    roots = [s.output / "assets", templates_root()]
    for key, html_path in built.items():
        document = weasyprint.HTML(filename=str(html_path), url_fetcher=SafeFetcher(roots)).render()
        problems = layout.check(document)
        assert problems == [], f"{case} {key}:\n" + "\n".join(map(str, problems))
        text = " ".join(leaf.text for page in layout.pages(document) for leaf in page.leaves)
        if case == "unreported":
            # not one amount prints as zero: no "0 €" / "€0" anywhere (counts like "0 actions" are words, not money)
            zero = re.search(rf"(?<![\d,.{NNB}])0[{NB} ]?€|€0(?![\d.,])", text)
            assert not zero, (key, text[max(0, zero.start() - 80): zero.end() + 80])
        if case == "many" and "region" in key:
            assert len(document.pages) <= s.max_pages_region, (key, len(document.pages))
