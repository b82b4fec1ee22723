"""What changed since the previous build: snapshots, their comparison, the report files and the build history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from reportgen import state
from reportgen.aggregate import compute_figures
from reportgen.changes import (
    compare,
    render_changes_html,
    report_text,
    snapshot,
    update_changes,
)
from reportgen.i18n import Formatter
from reportgen.settings import Settings
from reportgen.validate import validate_dataset

#: Tests that validate and compute the figures of a dataset several times: the full tier's (the fast tier keeps the
#: report's logic, tested on hand-made snapshots).
SEVERAL_BUILDS = pytest.mark.slow

FR = Formatter("fr", "EUR")
EN = Formatter("en", "EUR")


# ----------------------------------------------------------------------------------------------------------------
# Hand-made snapshots
# ----------------------------------------------------------------------------------------------------------------

def fig(fid: str, label: str, kind: str, value, text: str) -> dict:
    return {"id": fid, "label": label, "kind": kind, "value": value, "text": text}


def pub(lang: str, kind: str, code: str | None, title: str, figures: list[dict], recs: dict | None = None,
        narrative: str | None = None) -> dict:
    import hashlib

    return {
        "lang": lang, "kind": kind, "code": code, "title": title, "figures": figures,
        "recommendations": recs or {},
        "narrative": None if narrative is None else {
            "sha256": hashlib.sha256(narrative.encode()).hexdigest(), "text": narrative},
    }


def snap(pubs: dict[str, dict], languages=("fr", "en")) -> dict:
    return {"version": 1, "evaluation": {"id": "128", "currency": "EUR", "title": {"fr": "T", "en": "T"}},
            "languages": list(languages), "publications": pubs}


def nga(lang: str, total: float, share: float, *, recs=None, narrative=None, title="Nigeria") -> dict:
    f = FR if lang == "fr" else EN
    return pub(lang, "country", "NGA", title, [
        fig("total.committed", "total committed", "money", total, f.money(total)),
        fig("total.actions", "actions", "count", 3, "3"),
        fig("share", "share of the evaluation's total", "share", share, f.percent(share)),
    ], recs, narrative)


def test_first_build_says_there_is_nothing_to_compare_with():
    new = snap({"fr/countries/NGA": nga("fr", 1_234_567.0, 0.1)})
    report = compare(None, new)
    assert report["first_build"] is True
    assert report["publications"] == []
    assert report["counts"]["publications"] == 1
    assert "no earlier build" in report_text(report)
    html = render_changes_html(report, lang="en")
    assert "first build" in BeautifulSoup(html, "html.parser").get_text()
    # By default in the evaluation's main language (the report's first language)
    assert "première production" in BeautifulSoup(render_changes_html(report), "html.parser").get_text()


def test_a_changed_amount_gives_old_new_and_the_difference_as_printed():
    old = snap({"fr/countries/NGA": nga("fr", 1_234_567.0, 0.1)})
    new = snap({"fr/countries/NGA": nga("fr", 1_334_567.0, 0.1)})
    report = compare(old, new)
    assert report["first_build"] is False
    assert report["counts"] == {"publications": 1, "changed": 1, "added": 0, "removed": 0, "unchanged": 0}
    [p] = report["publications"]
    assert p["key"] == "fr/countries/NGA" and p["status"] == "changed" and p["title"] == "Nigeria"
    [f] = p["figures"]  # the share did not move at the printed precision: not listed
    assert f["id"] == "total.committed"
    assert f["old"] == {"value": 1_234_567.0, "text": FR.money(1_234_567)}
    assert f["new"] == {"value": 1_334_567.0, "text": FR.money(1_334_567)}
    assert f["difference"] == {"value": 100_000.0, "text": "+" + FR.money(100_000)}
    assert f["difference"]["text"] == "+100\u202f000\u00a0€"
    line = f"fr/countries/NGA: total committed {FR.money(1_234_567)} → {FR.money(1_334_567)} (+{FR.money(100_000)})"
    assert line in report_text(report).splitlines()


def test_decreases_use_a_minus_sign_and_shares_differ_in_points_of_the_printed_values():
    old = snap({"en/countries/NGA": nga("en", 2000.0, 0.0274)})
    new = snap({"en/countries/NGA": nga("en", 1500.0, 0.0264)})  # 2.7% → 2.6%: exact difference is 0.1 pp
    [p] = compare(old, new)["publications"]
    by_id = {f["id"]: f for f in p["figures"]}
    assert by_id["total.committed"]["difference"]["text"] == "\u2212€500"
    assert by_id["total.committed"]["difference"]["value"] == -500.0
    assert by_id["share"]["old"]["text"] == "2.7%" and by_id["share"]["new"]["text"] == "2.6%"
    assert by_id["share"]["difference"]["text"] == "\u22120.1 pp"
    assert by_id["share"]["difference"]["value"] == pytest.approx(-0.001)


def test_changes_below_the_printed_precision_are_not_reported():
    old = snap({"fr/countries/NGA": nga("fr", 1000.2, 0.10001)})
    new = snap({"fr/countries/NGA": nga("fr", 1000.4, 0.10002)})
    report = compare(old, new)
    assert report["publications"] == []
    assert report["counts"]["unchanged"] == 1


def test_publications_added_removed_and_sorted_synthesis_regions_countries_languages_together():
    def synth(lang, total):
        f = FR if lang == "fr" else EN
        return pub(lang, "synthesis", None, "Synthèse", [fig("total.committed", "total committed", "money", total,
                                                            f.money(total))])

    def region(lang, code, total):
        f = FR if lang == "fr" else EN
        return pub(lang, "region", code, code.upper(), [fig("total.committed", "total committed", "money", total,
                                                           f.money(total))])

    old = snap({
        "fr/synthesis": synth("fr", 10), "en/synthesis": synth("en", 10),
        "fr/regions/see": region("fr", "see", 5), "en/regions/see": region("en", "see", 5),
        "fr/regions/asia": region("fr", "asia", 5), "en/regions/asia": region("en", "asia", 5),
        "fr/countries/NGA": nga("fr", 1, 0.1), "en/countries/NGA": nga("en", 1, 0.1),
    })
    new = snap({
        "fr/synthesis": synth("fr", 12), "en/synthesis": synth("en", 12),
        "fr/regions/see": region("fr", "see", 7), "en/regions/see": region("en", "see", 7),
        "fr/regions/west-africa": region("fr", "west-africa", 5),
        "en/regions/west-africa": region("en", "west-africa", 5),
        "fr/countries/NGA": nga("fr", 1, 0.1), "en/countries/NGA": nga("en", 1, 0.1),
    })
    report = compare(old, new)
    keys = [(p["key"], p["status"]) for p in report["publications"]]
    assert keys == [
        ("fr/synthesis", "changed"), ("en/synthesis", "changed"),
        ("fr/regions/asia", "removed"), ("en/regions/asia", "removed"),
        ("fr/regions/see", "changed"), ("en/regions/see", "changed"),
        ("fr/regions/west-africa", "added"), ("en/regions/west-africa", "added"),
    ]
    assert report["counts"] == {"publications": 8, "changed": 4, "added": 2, "removed": 2, "unchanged": 2}
    text = report_text(report)
    assert "fr/regions/asia: publication removed" in text
    assert "en/regions/west-africa: publication added" in text


def test_publications_of_languages_not_built_are_removed():
    """A build of fewer languages publishes only those: the others leave the output folder."""
    old = snap({"fr/countries/NGA": nga("fr", 1, 0.1), "en/countries/NGA": nga("en", 1, 0.1)})
    new = snap({"fr/countries/NGA": nga("fr", 1, 0.1)}, languages=("fr",))
    report = compare(old, new)
    assert [(p["key"], p["status"]) for p in report["publications"]] == [("en/countries/NGA", "removed")]
    assert report["counts"] == {"publications": 1, "changed": 0, "added": 0, "removed": 1, "unchanged": 1}


def test_figures_that_appear_or_disappear_are_listed_without_difference():
    old = snap({"fr/countries/NGA": nga("fr", 1, 0.1)})
    new_pub = nga("fr", 1, 0.1)
    new_pub["figures"] = new_pub["figures"][:2] + [fig("year.2011.committed", "committed in 2011", "money", 5.0,
                                                       FR.money(5))]
    [p] = compare(old, snap({"fr/countries/NGA": new_pub}))["publications"]
    by_id = {f["id"]: f for f in p["figures"]}
    assert by_id["year.2011.committed"]["old"] is None and by_id["year.2011.committed"]["difference"] is None
    assert by_id["share"]["new"] is None


def test_recommendations_added_removed_and_reworded():
    old = snap({"fr/countries/NGA": nga("fr", 1, 0.1, recs={"R2": "Suivre", "R10": "Évaluer", "R5": "Appuyer"})})
    new = snap({"fr/countries/NGA": nga("fr", 1, 0.1, recs={"R2": "Suivre", "R5": "Appuyer davantage",
                                                           "R11": "Former"})})
    [p] = compare(old, new)["publications"]
    assert p["figures"] == []
    assert p["recommendations"] == {
        "added": [{"rec_id": "R11", "text": "Former"}],
        "removed": [{"rec_id": "R10", "text": "Évaluer"}],
        "changed": [{"rec_id": "R5", "old": "Appuyer", "new": "Appuyer davantage"}],
    }
    text = report_text(compare(old, new))
    assert "fr/countries/NGA: recommendation R5 changed" in text
    assert "    + Appuyer davantage" in text
    soup = BeautifulSoup(render_changes_html(compare(old, new)), "html.parser")
    assert [i.get_text() for i in soup.find_all("ins")] == ["davantage", "Former"]


def test_actions_of_a_country_brief_added_removed_and_edited_field_by_field():
    def act(title, committed, partner="UNODC", year=2008):
        return {"year": year, "title": title, "partner": partner, "channel": "bilateral",
                "themes": "protection", "committed": committed}

    old_pub = nga("fr", 1, 0.1)
    old_pub["actions"] = {"A-2": act("Refuges", 1000.4), "A-10": act("Formation", 5000.0),
                          "A-1": act("Appui", 150000.0)}
    new_pub = nga("fr", 1, 0.1)
    new_pub["actions"] = {"A-2": act("Refuges", 1000.2), "A-1": act("Appui renforcé", 250000.0, partner="IOM"),
                          "A-11": act("Retour", None, year=2011)}
    report = compare(snap({"fr/countries/NGA": old_pub}), snap({"fr/countries/NGA": new_pub}))
    [p] = report["publications"]
    a = p["actions"]
    assert a["added"] == [{"action_id": "A-11", "year": 2011, "title": "Retour", "committed": "–"}]
    assert a["removed"] == [{"action_id": "A-10", "year": 2008, "title": "Formation", "committed": FR.money(5000)}]
    [changed] = a["changed"]  # A-2's amount moved below the printed precision: not listed
    assert changed["action_id"] == "A-1" and changed["title"] == "Appui renforcé"
    assert changed["fields"] == [
        {"field": "title", "label": "title", "old": "Appui", "new": "Appui renforcé", "difference": None},
        {"field": "partner", "label": "partner", "old": "UNODC", "new": "IOM", "difference": None},
        {"field": "committed", "label": "amount committed", "old": FR.money(150000), "new": FR.money(250000),
         "difference": "+" + FR.money(100000)},
    ]
    lines = report_text(report).splitlines()
    assert "fr/countries/NGA: action A-1 title: Appui → Appui renforcé" in lines
    assert (f"fr/countries/NGA: action A-1 amount committed: {FR.money(150000)} → {FR.money(250000)} "
            f"(+{FR.money(100000)})") in lines
    assert "fr/countries/NGA: action A-11 added: 2011, Retour, –" in lines
    soup = BeautifulSoup(render_changes_html(report, lang="en"), "html.parser")
    caption = next(c for c in soup.find_all("caption") if c.get_text().startswith("Actions"))
    rows = caption.find_parent("table").tbody.find_all("tr")
    assert [r.td.get_text() for r in rows] == ["title", "partner", "amount committed", "action added",
                                               "action removed"]


def test_narrative_changes_name_the_changed_paragraphs():
    before = "## Contexte\n\nPremier paragraphe.\n\nLe Nigeria est un pays d'origine.\n\nDernier.\n"
    after = "## Contexte\n\nPremier paragraphe.\n\nLe Nigeria est un pays d'origine majeur.\n\nDernier.\n"
    old = snap({"fr/countries/NGA": nga("fr", 1, 0.1, narrative=before)})
    new = snap({"fr/countries/NGA": nga("fr", 1, 0.1, narrative=after)})
    [p] = compare(old, new)["publications"]
    n = p["narrative"]
    assert n["status"] == "changed"
    assert n["paragraphs"] == [{"old": "Le Nigeria est un pays d'origine.",
                                "new": "Le Nigeria est un pays d'origine majeur."}]
    assert "-Le Nigeria est un pays d'origine." in n["diff"]
    assert "+Le Nigeria est un pays d'origine majeur." in n["diff"]
    assert n["old_sha256"] != n["new_sha256"]
    soup = BeautifulSoup(render_changes_html(compare(old, new)), "html.parser")
    assert [i.get_text() for i in soup.find_all("ins")] == ["majeur"]
    # A narrative that appears
    [p] = compare(snap({"fr/countries/NGA": nga("fr", 1, 0.1)}), new)["publications"]
    assert p["narrative"]["status"] == "added"


def test_html_report_is_in_the_main_language_escaped_and_accessible():
    evil = "<script>alert(1)</script> & « guillemets »"
    old = snap({"fr/countries/NGA": nga("fr", 1, 0.1, recs={"R1": "a"})})
    new = snap({"fr/countries/NGA": nga("fr", 2, 0.1, recs={"R1": evil}, title="Nigéria <b>")})
    html = render_changes_html(compare(old, new), link_publications=True, stylesheet="assets/css/index.css")
    assert "<script>" not in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == "fr"  # the evaluation's main language
    assert soup.title.get_text().startswith("Ce qui a changé")
    assert soup.find("meta", attrs={"name": "robots", "content": "noindex"}) and not soup.select(".site-header")
    assert soup.find("link", rel="stylesheet")["href"] == "assets/css/index.css"
    section = soup.find("section")
    assert section.h2.span["lang"] == "fr" and section.h2.span.get_text() == "Nigéria <b>"
    assert section.find("a", href="fr/countries/NGA.html")
    table = section.find("table")
    assert table.caption and [th["scope"] for th in table.thead.find_all("th")] == ["col"] * 4
    assert table.tbody.th["scope"] == "row"
    assert "«\u00a0guillemets\u00a0»" in soup.get_text()  # a French part: French typography
    assert soup.find("h1") and soup.find("main")


# ----------------------------------------------------------------------------------------------------------------
# Snapshots of a real (tiny) dataset
# ----------------------------------------------------------------------------------------------------------------

def load(folder: Path):
    result = validate_dataset(folder)
    assert result.ok, [str(p) for p in result.problems]
    return result.dataset


def test_snapshot_of_the_tiny_dataset(tiny_dataset_dir):
    ds = load(tiny_dataset_dir)
    figures = compute_figures(ds)
    s = snapshot(ds, figures, ("fr", "en"))
    assert json.loads(json.dumps(s, allow_nan=False)) == s  # JSON types only, no NaN: equal once read back
    pubs = s["publications"]
    assert set(pubs) == {f"{lang}/{k}" for lang in ("fr", "en") for k in (
        "synthesis", "regions/see", "regions/west-africa", "regions/asia",
        "countries/ALB", "countries/XKX", "countries/NGA", "countries/CIV", "countries/CHN")}
    synth = {f["id"]: f for f in pubs["fr/synthesis"]["figures"]}
    total = figures.totals.committed
    assert synth["total.committed"]["value"] == total
    assert synth["total.committed"]["text"] == FR.money(total)
    assert synth["total.actions"]["value"] == 8
    assert synth["total.actions_without_amount"]["value"] == 1
    assert {"year.2007.committed", "channel.bilateral.committed", "region.see.committed",
            "theme.prevention.committed", "rating.relevance.mean"} <= set(synth)
    assert synth["rating.relevance.mean"]["text"] == FR.number(4.0, 1)
    # every recommendation in the synthesis, in its language
    assert pubs["en/synthesis"]["recommendations"]["R1"] == "Define an overall strategy"
    assert set(pubs["fr/synthesis"]["recommendations"]) == {"R1", "R2", "R3", "R4", "R5", "R6"}
    # region: its own and its countries' recommendations; its countries' totals
    assert set(pubs["fr/regions/west-africa"]["recommendations"]) == {"R4", "R5"}
    region = {f["id"]: f for f in pubs["en/regions/west-africa"]["figures"]}
    assert region["country.NGA.committed"]["value"] == pytest.approx(350_000.0)
    assert region["total.countries"]["value"] == 2
    assert "rank" in region and "share" in region
    # country: its recommendations, figures, narrative
    nga_pub = pubs["fr/countries/NGA"]
    assert nga_pub["title"] == "Nigeria"
    assert nga_pub["recommendations"] == {"R5": "Renforcer l'appui à la NAPTIP"}
    country = {f["id"]: f for f in nga_pub["figures"]}
    assert country["total.committed"]["text"] == FR.money(350_000)
    assert country["rank"]["value"] == 1
    assert country["year.2008.committed"]["value"] == 150_000.0
    assert nga_pub["narrative"]["text"] == "Le Nigeria est un pays d'origine majeur.\n"
    assert nga_pub["actions"]["A-001"] == {"year": 2008, "title": "Appui à l'agence nationale NAPTIP",
                                           "partner": "UNODC", "channel": "bilateral",
                                           "themes": "protection;prosecution", "committed": 150000.0}
    assert set(nga_pub["actions"]) == {"A-001", "A-008"}
    assert pubs["fr/countries/CIV"]["actions"]["A-005"]["committed"] is None
    assert "actions" not in pubs["fr/synthesis"] and "actions" not in pubs["fr/regions/see"]
    assert pubs["fr/countries/CIV"]["narrative"] is None
    assert pubs["en/countries/CIV"]["title"] == "Côte d'Ivoire"
    # deterministic
    assert snapshot(ds, figures, ("fr", "en")) == s


def test_the_report_labels_figures_and_columns_in_the_page_language(tiny_dataset_dir):
    """Figure labels are messages translated into the report's language (the evaluation's main one), with names,
    themes, channels and criteria from the dataset in the publication's language; a snapshot of an older version
    (English labels only) shows its labels marked as English."""
    ds = load(tiny_dataset_dir)
    figures = compute_figures(ds)
    old = snapshot(ds, figures, ("fr", "en"))
    for p in old["publications"].values():
        for f in p["figures"]:
            f["value"] = (f["value"] or 0) + 1 if f["kind"] == "count" else f["value"]
            f["text"] = f["text"] + "x"
    old["publications"]["fr/countries/NGA"]["actions"]["A-001"]["partner"] = "OIM"
    new = snapshot(ds, figures, ("fr", "en"))
    region = {f["id"]: f for f in new["publications"]["fr/regions/west-africa"]["figures"]}
    assert region["country.NGA.committed"]["label"] == "committed, Nigeria (NGA)"  # changes.json: English
    soup = BeautifulSoup(render_changes_html(compare(old, new), lang="fr"), "html.parser")
    rows = {tr.th.get_text(" ", strip=True): tr.th.get("lang") for sec in soup.find_all("section")
            for tr in sec.select("tbody tr")}
    assert "total engagé" in rows and "engagé, Nigeria (NGA)" in rows and "rang parmi les pays" in rows
    assert "note moyenne, pertinence" in {k.lower() for k in rows}
    assert all(lang is None for lang in rows.values())  # in the page's language: no lang="en" island
    nga = soup.find("section", attrs={"aria-labelledby": "p-fr-countries-NGA"})
    assert [td.get_text() for td in nga.select("table")[-1].select("tbody td")][:2] == ["partenaire", "OIM"]
    en_page = BeautifulSoup(render_changes_html(compare(old, new), lang="en"), "html.parser")
    assert "committed, Nigeria (NGA)" in en_page.get_text()
    # an older snapshot's figures have an English label only: shown as is, marked English
    legacy = {f["id"]: {k: v for k, v in f.items() if k not in ("msg", "args")} for f in region.values()}
    old_pub = old["publications"]["fr/regions/west-africa"]
    old_pub["figures"] = [f for f in old_pub["figures"] if f["id"] != "country.NGA.actions"]
    new["publications"]["fr/regions/west-africa"]["figures"] = list(legacy.values())
    soup = BeautifulSoup(render_changes_html(compare(old, new), lang="fr"), "html.parser")
    th = [t for t in soup.select("section tbody th") if t.get_text() == "actions, Nigeria (NGA)"]
    assert th and th[0]["lang"] == "en"


# ----------------------------------------------------------------------------------------------------------------
# Build history: update_changes
# ----------------------------------------------------------------------------------------------------------------

def prepare(files: dict, root: Path, output: Path, write_dataset, languages=("fr", "en")):
    """What the prepare stage does for the report: validate, figures, update_changes."""
    import shutil

    data = root / "data"
    if data.exists():
        shutil.rmtree(data)
    write_dataset(data, files)
    ds = load(data)
    s = Settings.from_mapping({"data": str(data), "output": str(output)})
    report = update_changes(s, ds, compute_figures(ds), tuple(languages))
    state.commit_snapshot(output)  # the index stage, once the publications are published
    return report


@SEVERAL_BUILDS
def test_update_changes_keeps_the_report_of_the_last_change_across_reruns(tmp_path, tiny_dataset_files,
                                                                          write_dataset):
    out = tmp_path / "output"
    first = prepare(tiny_dataset_files, tmp_path, out, write_dataset)
    assert first["first_build"] is True
    assert json.loads((out / "changes.json").read_text())["first_build"] is True
    assert state.snapshot_path(out).is_file()
    assert not state.snapshot_path(out, previous=True).exists()

    # A rerun of the first build: still the first build.
    assert prepare(tiny_dataset_files, tmp_path, out, write_dataset)["first_build"] is True

    # A data change: NGA's 2008 action 150 000 → 250 000, and its title.
    changed = dict(tiny_dataset_files)
    changed["actions.csv"] = changed["actions.csv"].replace("2008,150 000,", "2008,250 000,").replace(
        "Appui à l'agence nationale NAPTIP", "Appui renforcé à la NAPTIP")
    report = prepare(changed, tmp_path, out, write_dataset)
    assert report["first_build"] is False
    keys = [p["key"] for p in report["publications"]]
    assert keys[:2] == ["fr/synthesis", "en/synthesis"]
    assert {"fr/regions/west-africa", "en/countries/NGA"} <= set(keys)
    nga_fr = next(p for p in report["publications"] if p["key"] == "fr/countries/NGA")
    total = next(f for f in nga_fr["figures"] if f["id"] == "total.committed")
    assert (total["old"]["text"], total["new"]["text"]) == (FR.money(350_000), FR.money(450_000))
    assert total["difference"]["text"] == "+" + FR.money(100_000)
    assert [f["field"] for f in nga_fr["actions"]["changed"][0]["fields"]] == ["title", "committed"]
    json_bytes = (out / "changes.json").read_bytes()
    html_bytes = (out / "changes.html").read_bytes()
    assert state.snapshot_path(out, previous=True).is_file()
    html_text = BeautifulSoup(html_bytes, "html.parser").get_text()
    assert "Nigeria" in html_text and FR.money(450_000) in html_text

    # A rerun with the same data: the report is still the comparison with the build before the change.
    mtime = (out / "changes.json").stat().st_mtime_ns
    again = prepare(changed, tmp_path, out, write_dataset)
    assert again == report
    assert (out / "changes.json").read_bytes() == json_bytes
    assert (out / "changes.html").read_bytes() == html_bytes
    assert (out / "changes.json").stat().st_mtime_ns == mtime  # not even rewritten

    # A further change compares with the build just before it (the first change is no longer listed).
    changed2 = dict(changed)
    changed2["recommendations.csv"] = changed2["recommendations.csv"].replace(
        "Evaluate police cooperation", "Evaluate the police cooperation")
    report2 = prepare(changed2, tmp_path, out, write_dataset)
    assert [p["key"] for p in report2["publications"]] == ["en/synthesis", "en/regions/asia",
                                                         "en/countries/CHN"]
    assert report2["publications"][2]["recommendations"]["changed"] == [
        {"rec_id": "R6", "old": "Evaluate police cooperation", "new": "Evaluate the police cooperation"}]


@SEVERAL_BUILDS
def test_report_files_are_deterministic_and_carry_no_clock_time(tmp_path, tiny_dataset_files, write_dataset):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name / "output"
        prepare(tiny_dataset_files, tmp_path / name, out, write_dataset)
        changed = dict(tiny_dataset_files)
        changed["actions.csv"] = changed["actions.csv"].replace("2011,200000,50000", "2011,210000,50000")
        prepare(changed, tmp_path / name, out, write_dataset)
        outs.append(out)
    for f in ("changes.json", "changes.html"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    raw = (outs[0] / "changes.json").read_text()
    assert raw == json.dumps(json.loads(raw), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


@SEVERAL_BUILDS
def test_a_build_restricted_to_one_language_reports_the_others_removed_then_added(tmp_path, tiny_dataset_files,
                                                                                 write_dataset):
    """The history follows what the output folder publishes: a build of fewer languages publishes only those."""
    out = tmp_path / "output"
    prepare(tiny_dataset_files, tmp_path, out, write_dataset)
    report = prepare(tiny_dataset_files, tmp_path, out, write_dataset, languages=("fr",))
    assert report["first_build"] is False
    assert {p["status"] for p in report["publications"]} == {"removed"}
    assert {p["key"] for p in report["publications"]} == {k for k in snapshot_keys(tiny_dataset_files, tmp_path)
                                                          if k.startswith("en/")}
    stored = json.loads(state.snapshot_path(out).read_text())
    assert stored["languages"] == ["fr"] and not [k for k in stored["publications"] if k.startswith("en/")]
    changed = dict(tiny_dataset_files)
    changed["actions.csv"] = changed["actions.csv"].replace("2008,150 000,", "2008,250 000,")
    report = prepare(changed, tmp_path, out, write_dataset, languages=("fr",))
    assert report["languages"] == ["fr"]
    assert all(p["lang"] == "fr" and p["status"] == "changed" for p in report["publications"])
    report = prepare(changed, tmp_path, out, write_dataset)
    assert {p["status"] for p in report["publications"]} == {"added"}
    assert all(p["lang"] == "en" for p in report["publications"])


def snapshot_keys(files: dict, root: Path) -> set[str]:
    from datasets import write_dataset

    data = write_dataset(root / "keys-data", files)
    ds = load(data)
    return set(snapshot(ds, compute_figures(ds), ("fr", "en"))["publications"])


@SEVERAL_BUILDS
def test_a_snapshot_is_committed_only_by_the_index_stage(tmp_path, tiny_dataset_files, write_dataset):
    """A build killed or failed after its report was written commits nothing: the history stays what is
    published, and the next build compares with that."""
    out = tmp_path / "output"
    prepare(tiny_dataset_files, tmp_path, out, write_dataset)
    committed = state.snapshot_path(out).read_bytes()
    changed = dict(tiny_dataset_files)
    changed["actions.csv"] = changed["actions.csv"].replace("2008,150 000,", "2008,250 000,")
    data = write_dataset(tmp_path / "changed", changed)
    ds = load(data)
    s = Settings.from_mapping({"data": str(data), "output": str(out)})
    update_changes(s, ds, compute_figures(ds), ("fr", "en"))  # a build killed before its index stage
    assert state.snapshot_path(out).read_bytes() == committed
    assert state.pending_snapshot_path(out).is_file()
    # The next build is of the first data again: nothing it publishes differs from what is published.
    report = prepare(tiny_dataset_files, tmp_path, out, write_dataset)
    assert report["first_build"] is True and report["publications"] == []
    assert not state.pending_snapshot_path(out).exists()


def test_an_unreadable_snapshot_counts_as_no_earlier_build(tmp_path, tiny_dataset_files, write_dataset):
    out = tmp_path / "output"
    (out / ".reportgen").mkdir(parents=True)
    state.snapshot_path(out).write_text("{not json")
    assert prepare(tiny_dataset_files, tmp_path, out, write_dataset)["first_build"] is True
