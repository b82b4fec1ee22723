"""Template contexts: what each publication is given, computed from the tiny dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets import TINY_DATASET, write_dataset

from reportgen import context as context_module
from reportgen.aggregate import compute_figures
from reportgen.context import (
    RenderSettings,
    build_context,
    chart_svg,
    href_of,
    normalise_headings,
    split_narrative,
)
from reportgen.errors import ReportgenError
from reportgen.model import Doc
from reportgen.typography import Verbatim
from reportgen.validate import validate_dataset


def load(root: Path):
    result = validate_dataset(root)
    assert result.dataset is not None, [str(p) for p in result.problems]
    return result.dataset, compute_figures(result.dataset)


@pytest.fixture
def tiny(tiny_validated):
    return tiny_validated


SETTINGS = RenderSettings(data_date="2014-03")


# --- pure helpers ----------------------------------------------------------------------------------------------


def test_links_between_publications_are_relative():
    syn, region, country = Doc("fr", "synthesis"), Doc("fr", "region", "see"), Doc("fr", "country", "NGA")
    assert href_of(region, frm=syn) == "../fr/regions/see.html"
    assert href_of(syn, frm=country) == "../../fr/synthesis.html"
    assert href_of(Doc("en", "country", "NGA"), frm=country) == "../../en/countries/NGA.html"


def test_split_narrative_by_heading():
    text = (
        "*Notice: figures are illustrative.*\n\n"
        "## Context\n\nSome context.\n\n"
        "## History\n\nA part with its own heading.\n\n"
        "## Conclusions\n\nWe conclude.\n\n### Detail\n\nMore.\n"
    )
    parts = split_narrative(text)
    assert parts["notice"] == [(None, "*Notice: figures are illustrative.*")]
    assert parts["context"] == [(None, "Some context."), ("History", "A part with its own heading.")]
    assert parts["conclusions"] == [(None, "We conclude.\n\n### Detail\n\nMore.")]
    assert parts["method"] == []
    # French headings; no heading at all
    assert split_narrative("## Méthode\n\nx\n\n## Contexte\n\ny")["method"] == [(None, "x")]
    assert split_narrative("Just text.") == {"notice": [], "method": [], "context": [(None, "Just text.")],
                                             "conclusions": []}


def test_split_narrative_ignores_headings_in_code():
    parts = split_narrative("## Context\n\n```\n## Conclusions\n```\n")
    assert parts["conclusions"] == []
    assert "## Conclusions" in parts["context"][0][1]


def test_normalise_headings_makes_the_highest_heading_level_one():
    assert normalise_headings("## A\n\n### B\n") == "# A\n\n## B\n"
    assert normalise_headings("# A\n\n### B\n") == "# A\n\n### B\n"
    assert normalise_headings("text only") == "text only"
    assert normalise_headings("### A\n```\n### code\n```\n") == "# A\n```\n### code\n```\n"


def test_chart_svg_is_cached_by_inputs(monkeypatch):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return "<svg/>"

    from reportgen import charts

    monkeypatch.setattr(charts, "fake_chart_svg", fake, raising=False)
    monkeypatch.setattr(context_module, "_CHART_CACHE", {})
    a = chart_svg("fake_chart_svg", categories=["2007"], values=[1.0], lang="fr")
    b = chart_svg("fake_chart_svg", lang="fr", values=[1.0], categories=["2007"])
    c = chart_svg("fake_chart_svg", categories=["2007"], values=[2.0], lang="fr")
    assert a == b == c == b"<svg/>"
    assert len(calls) == 2


# --- contexts ------------------------------------------------------------------------------------------------------


def test_common_keys(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("fr", "country", "NGA"), ds, figures, settings=SETTINGS)
    assert ctx["lang"] == "fr" and ctx["kind"] == "country" and ctx["currency"] == "EUR"
    assert ctx["root"] == "../../"
    assert ctx["stylesheet"] == "../../assets/css/country.css"
    assert ctx["links"]["index"] == "../../fr/index.html"  # the index of the publication's language
    assert ctx["links"]["data"] == "../../fr/index.html#data"
    assert ctx["links"]["synthesis"] == "../../fr/synthesis.html"
    assert ctx["links"]["workbook"] == "../../data/figures.xlsx"
    assert ctx["links"]["languages"] == [{"lang": "en", "label": "English", "href": "../../en/countries/NGA.html"}]
    assert ctx["series"] == "Évaluation n° 128"
    assert ctx["data_date"] == "2014-03"
    assert isinstance(ctx["root"], Verbatim) and isinstance(ctx["stylesheet"], Verbatim)
    syn = build_context(Doc("en", "synthesis"), ds, figures, settings=SETTINGS)
    assert syn["root"] == "../" and syn["links"]["languages"][0]["label"] == "Français"


def test_a_publication_links_its_versions_in_the_published_languages_only(tiny):
    """A build of fewer languages (config ``languages``) publishes no other version: none is linked."""
    ds, figures = tiny
    doc = Doc("fr", "country", "NGA")
    wide = build_context(doc, ds, figures, settings=RenderSettings(languages=("fr", "en")))
    assert [o["lang"] for o in wide["links"]["languages"]] == ["en"]
    assert build_context(doc, ds, figures, settings=RenderSettings())["links"] == wide["links"]  # () = all
    narrowed = build_context(doc, ds, figures, settings=RenderSettings(languages=("fr",)))
    assert narrowed["links"]["languages"] == []
    assert {k: v for k, v in narrowed["links"].items() if k != "languages"} == {
        k: v for k, v in wide["links"].items() if k != "languages"}


def test_published_languages_are_the_configured_ones_within_the_evaluations(tiny):
    from reportgen.settings import Settings
    from reportgen.worker import published_languages

    ds, _ = tiny
    s = Settings.from_mapping({"data": "d", "output": "o"})
    assert published_languages(s, ds) == ("fr", "en")
    assert published_languages(Settings.from_mapping({"data": "d", "output": "o", "languages": ["en"]}), ds) == ("en",)
    assert published_languages(Settings.from_mapping({"data": "d", "output": "o", "languages": ["en", "fr"]}),
                               ds) == ("fr", "en")  # the evaluation's order


def test_data_date_defaults_to_the_evaluation_month(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("en", "country", "NGA"), ds, figures, settings=RenderSettings())
    assert ctx["data_date"] == "2014-03"
    ctx = build_context(Doc("en", "country", "NGA"), ds, figures, settings=RenderSettings(data_date="2015-06-30"))
    assert ctx["data_note"]["date"] == "2015-06-30"


def test_country_context(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("en", "country", "NGA"), ds, figures, settings=SETTINGS)
    assert ctx["country"]["name"] == "Nigeria" and ctx["country"]["region"] == "west-africa"
    assert ctx["country"]["region_href"] == "../../en/regions/west-africa.html"
    assert ctx["totals"]["committed"] == 350000.0 and ctx["totals"]["actions"] == 2
    assert ctx["rank"] == 1 and ctx["of"] == 5
    assert [a["action_id"] for a in ctx["actions"]["rows"]] == ["A-001", "A-008"]
    assert ctx["actions"]["more"] == 0
    assert [r["rec_id"] for r in ctx["recommendations"]] == ["R5"]
    assert {i["indicator"] for i in ctx["indicators"]} == {"tip_tier", "victims_identified"}
    assert ctx["narrative"] is not None and "major country of origin" in ctx["narrative"]
    assert ctx["charts"]["by_year"]["uri"].startswith("data:image/svg+xml;base64,")
    assert ctx["charts"]["by_year"]["summary"]["max_year"] == 2011
    assert ctx["doc_title"] == "Nigeria: country brief"


def test_country_actions_are_bounded(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("en", "country", "NGA"), ds, figures, settings=RenderSettings(max_country_actions=1))
    assert len(ctx["actions"]["rows"]) == 1 and ctx["actions"]["more"] == 1 and ctx["actions"]["total"] == 2


def test_region_context(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("fr", "region", "see"), ds, figures, settings=SETTINGS)
    assert ctx["region"]["name"] == "Europe du Sud-Est"
    assert ctx["regional_actions"] == 1
    assert {c["code"] for c in ctx["countries"]} == {"ALB", "XKX"}
    assert {c["name"] for c in ctx["countries"]} == {"Albanie", "Kosovo"}
    # Recommendations scoped to the region (R3) or one of its countries (none here)
    assert [r["rec_id"] for r in ctx["recommendations"]] == ["R3"]
    assert ctx["data_note"]["regional_actions"] == 1


def test_synthesis_context(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("en", "synthesis"), ds, figures, settings=SETTINGS)
    assert ctx["totals"]["actions"] == 8 and ctx["totals"]["actions_without_amount"] == 1
    assert [c["code"] for c in ctx["year_channel"]["channels"]] == ["bilateral", "regional", "multilateral"]
    assert ctx["year_channel"]["total"] == pytest.approx(figures.totals.committed)
    assert [r["year"] for r in ctx["year_channel"]["rows"]] == [2007, 2008, 2009, 2010, 2011]
    assert {r["code"] for r in ctx["regions"]} == {"see", "west-africa", "asia"}
    assert all(r["href"] == f"../en/regions/{r['code']}.html" for r in ctx["regions"])
    # Global recommendations first, then regional, then country ones
    assert [r["rec_id"] for r in ctx["recommendations"]] == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert ctx["annex"]["truncated"] is False and ctx["annex"]["shown"] == 8
    assert [p["heading"] for p in ctx["narrative"]["context"]] == [None]
    assert set(ctx["charts"]) == {"year_channel", "regions", "partners", "themes"}


def test_synthesis_annex_is_bounded(tiny):
    ds, figures = tiny
    ctx = build_context(Doc("en", "synthesis"), ds, figures, settings=RenderSettings(max_annex_rows=3))
    annex = ctx["annex"]
    assert annex["truncated"] and annex["shown"] == 3 and annex["total"] == 8
    # The largest commitments, listed by year
    assert {a["action_id"] for a in annex["rows"]} == {"A-002", "A-008", "A-001"}
    assert [a["year"] for a in annex["rows"]] == sorted(a["year"] for a in annex["rows"])


def test_a_language_the_evaluation_does_not_have_is_refused(tmp_path):
    files = dict(TINY_DATASET)
    ds, figures = load(write_dataset(tmp_path / "data", files))
    ds.evaluation = type(ds.evaluation)(**{**ds.evaluation.__dict__, "languages": ("fr",)})
    with pytest.raises(ReportgenError, match="'en'"):
        build_context(Doc("en", "synthesis"), ds, figures, settings=SETTINGS)


def test_narrative_images_are_shown_only_where_the_build_publishes_them(tmp_path):
    files = dict(TINY_DATASET)
    files["narrative/en/countries/NGA.md"] = "![Map of the routes](assets/map.png)\n\n![Missing](assets/none.png)\n"
    files["assets/map.png"] = b"\x89PNG\r\n\x1a\n"
    ds, figures = load(write_dataset(tmp_path / "data", files))
    doc = Doc("en", "country", "NGA")
    plain = build_context(doc, ds, figures, settings=SETTINGS)["narrative"]
    assert "<img" not in plain and "Map of the routes" in plain
    shown = build_context(doc, ds, figures, settings=RenderSettings(narrative_images=frozenset({"map.png"})))["narrative"]
    assert '<img src="../../assets/data/map.png" alt="Map of the routes"' in shown
    assert shown.count("<img") == 1 and "Missing" in shown


def _wide_dataset(n: int) -> dict[str, str]:
    """The tiny dataset with ``n`` regions and ``n`` partners: one regional action each, amounts 1,000 to n,000."""
    files = dict(TINY_DATASET)
    codes = ["see", "west-africa", "asia"] + [f"r{i:02d}" for i in range(3, n)]
    files["regions.csv"] = "region,name_fr,name_en\n" + "".join(
        f"{code},Région {i:02d},Region {i:02d}\n" for i, code in enumerate(codes))
    files["actions.csv"] = ("action_id,title,country,region,channel,instrument,partner,pillars,year,committed,"
                            "disbursed\n") + "".join(
        f"A-{i + 1:03d},Action {i},,{code},regional,,Partner {i:02d},prevention,{2007 + i % 5},{1000 * (i + 1)},\n"
        for i, code in enumerate(codes))
    files["ratings.csv"] = "action_id;criterion;score;comment\n"
    files["recommendations.csv"] = "rec_id,scope,priority,addressee,text_fr,text_en\n"
    files["indicators.csv"] = "country,indicator,year,value,source\n"
    return {k: v for k, v in files.items() if not k.startswith("narrative/") or k.endswith("synthesis.md")}


def _chart_labels(chart: dict, *prefixes: str) -> list[str]:
    """The category labels a chart draws (matplotlib keeps each string drawn as a path in an SVG comment)."""
    import base64
    import html
    import re

    svg = base64.b64decode(chart["uri"].split(",", 1)[1]).decode("utf-8")
    return [t for t in (html.unescape(c) for c in re.findall(r"<!-- (.*?) -->", svg, re.S)) if t.startswith(prefixes)]


def test_charts_of_many_categories_show_the_largest_and_one_others_bar(tmp_path):
    """40 regions and 40 partners: each horizontal chart has at most MAX_BARS bars, the largest and one last bar
    that adds up the others (its caption says how many, in each language), while the tables keep every row."""
    from reportgen.charts import MAX_BARS
    from reportgen.render import make_environment, render_html
    from reportgen.settings import templates_root

    ds, figures = load(write_dataset(tmp_path / "data", _wide_dataset(40)))
    rest = 40 - (MAX_BARS - 1)
    for lang, other_regions, other_partners, caption in (
            ("en", "Other regions", "Other partners", f"The last bar adds up the {rest} other regions"),
            ("fr", "Autres régions", "Autres partenaires", f"La dernière barre additionne les {rest} autres régions")):
        doc = Doc(lang, "synthesis")
        ctx = build_context(doc, ds, figures, settings=RenderSettings(top_partners=40))
        assert len(ctx["regions"]) == 40 and len(ctx["partners"]["rows"]) == 40 and ctx["partners"]["other"] is None
        regions = _chart_labels(ctx["charts"]["regions"], "Region", "Région", other_regions)
        # the largest regions (the last ones here) in the table's order, then the others' bar
        assert regions == [r["name"] for r in ctx["regions"][: MAX_BARS - 1]] + [f"{other_regions} ({rest})"]
        partners = _chart_labels(ctx["charts"]["partners"], "Partner", other_partners)
        assert len(partners) == MAX_BARS and partners[-1] == f"{other_partners} ({rest})"
        assert ctx["charts"]["regions"]["others"] == ctx["charts"]["partners"]["others"] == rest
        page = render_html(doc, ctx, make_environment(lang, template_dirs=[templates_root()]))
        assert caption in page.replace("\u00a0", " ").replace("\u202f", " ")
        for table in ("t-regions", "t-partners"):
            body = page.split(f'id="{table}"', 1)[1].split("</tbody>", 1)[0]
            assert body.count('<th scope="row"') == 40, table  # the table keeps every row
    # With the default top_partners (10), the chart follows the table: its 10 rows, then the 30 other partners.
    ctx = build_context(Doc("en", "synthesis"), ds, figures, settings=RenderSettings())
    assert ctx["partners"]["other"]["partners"] == 30
    assert _chart_labels(ctx["charts"]["partners"], "Partner", "Other")[-1] == "Other partners (30)"
    assert len(_chart_labels(ctx["charts"]["partners"], "Partner")) == 10
    # A few categories keep a bar each, and no caption note.
    tiny = build_context(Doc("en", "synthesis"), *load(write_dataset(tmp_path / "few", _wide_dataset(5))),
                         settings=SETTINGS)
    assert tiny["charts"]["regions"]["others"] == tiny["charts"]["partners"]["others"] == 0
    assert len(_chart_labels(tiny["charts"]["regions"], "Region")) == 5


def test_a_hair_of_change_to_the_total_leaves_other_briefs_contexts_as_they_were(tmp_path):
    """Any amount changes the total, so every share; shares are carried to six decimals, so the briefs whose printed
    figures did not move keep the same context (and a build takes their HTML from the published file)."""
    from reportgen.context import context_digest

    before = load(write_dataset(tmp_path / "a", TINY_DATASET))
    edited = dict(TINY_DATASET)
    edited["actions.csv"] = TINY_DATASET["actions.csv"].replace(",2010,80000,", ",2010,80000.01,")
    assert edited["actions.csv"] != TINY_DATASET["actions.csv"]
    after = load(write_dataset(tmp_path / "b", edited))
    assert after[1].totals.committed != before[1].totals.committed  # the total moved

    def digest(data, doc):
        return context_digest(build_context(doc, *data, settings=SETTINGS))

    for doc in (Doc("en", "country", "NGA"), Doc("fr", "country", "ALB"), Doc("en", "region", "see")):
        assert digest(before, doc) == digest(after, doc), doc.key
    for doc in (Doc("en", "country", "CHN"), Doc("en", "synthesis")):  # the edited one, and the totals
        assert digest(before, doc) != digest(after, doc), doc.key
    nga = build_context(Doc("en", "country", "NGA"), *before, settings=SETTINGS)["share"]
    assert nga == round(350000 / before[1].totals.committed, 6)


def test_a_share_is_rounded_to_six_decimals_but_never_to_zero():
    from reportgen.context import _share

    assert _share(0.123456789) == 0.123457
    assert _share(3e-8) == 3e-8  # still "< 0.1 %", not "0.0 %"
    assert _share(0) == 0 and _share(None) is None and _share(float("nan")) is None
