"""Validation rules on small inline tables, the Dataset it returns, and the validation report."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from reportgen.errors import Problem
from reportgen.load import build_table, parse_csv
from reportgen.review import validation_json as report_json
from reportgen.review import write_validation_report as write_report
from reportgen.schema import RULES, TABLES, Context
from reportgen.validate import (
    DATASET_COLUMNS,
    ValidationResult,
    check_actions,
    check_evaluation,
    check_table,
    validate_dataset,
)

ROOT = Path(__file__).resolve().parents[1]
CTX = Context(
    languages=("fr", "en"),
    period=(2007, 2011),
    references={
        "regions.region": frozenset({"see", "west-africa"}),
        "countries.country": frozenset({"NGA", "ALB", "CIV"}),
        "actions.action_id": frozenset({"A-1", "A-2"}),
        "indicators": frozenset({"tip_tier"}),
    },
)


def check(name: str, text: str, ctx: Context = CTX):
    """Check ``text`` as ``{name}.csv``: (CheckedTable, problems as (row, column, rule))."""
    records, problems = parse_csv(text, f"{name}.csv")
    raw, problems = build_table(name, f"{name}.csv", records, required=True, digest="")
    checked, more = check_table(TABLES[name], raw, ctx)
    return checked, {(p.row, p.column, p.rule) for p in problems + more}


def problems_of(name: str, text: str, ctx: Context = CTX) -> set[tuple]:
    return check(name, text, ctx)[1]


def messages(name: str, text: str, ctx: Context = CTX) -> list[str]:
    records, _ = parse_csv(text, f"{name}.csv")
    raw, _ = build_table(name, f"{name}.csv", records, required=True, digest="")
    return [str(p) for p in check_table(TABLES[name], raw, ctx)[1]]


# ---------------------------------------------------------------------------------------------------------------
# regions.csv, countries.csv
# ---------------------------------------------------------------------------------------------------------------


def test_valid_regions():
    assert problems_of("regions", "region,name_fr,name_en\nsee,Europe du Sud-Est,South-East Europe\n") == set()


@pytest.mark.parametrize(
    "row, expected",
    [
        ("West Africa,a,b", (2, "region", "pattern")),
        ("global,a,b", (2, "region", "reserved")),
        ("see,,b", (2, "name_fr", "missing_language")),
        ("see,a,", (2, "name_en", "missing_language")),
        (",a,b", (2, "region", "required")),
        ("x" * 41 + ",a,b", (2, "region", "pattern")),
    ],
)
def test_region_rules(row, expected):
    assert problems_of("regions", f"region,name_fr,name_en\n{row}\n") == {expected}


def test_duplicate_region_is_reported_on_the_second_row_naming_the_first():
    text = "region,name_fr,name_en\nsee,a,b\nwa,c,d\nsee,e,f\n"
    assert problems_of("regions", text) == {(4, "region", "unique")}
    assert any("(row 2)" in m for m in messages("regions", text))


def test_a_language_column_is_required_per_language():
    assert problems_of("regions", "region,name_fr\nsee,a\n") == {(1, "name_en", "missing_language")}


def test_columns_of_other_languages_are_ignored_with_a_warning():
    ctx = Context(languages=("fr",))
    checked, problems = check("regions", "region,name_fr,name_en\nsee,a,\n", ctx)
    assert problems == {(1, "name_en", "ignored_column")}
    assert list(checked.fields) == ["region", "name_fr"]


def test_unknown_and_misspelled_columns():
    text = "region,nom_fr,name_fr,name_en,name_de\nsee,x,a,b,c\n"
    assert problems_of("regions", text) == {(1, "nom_fr", "unknown_column"), (1, "name_de", "unknown_column")}
    assert any("did you mean name_fr?" in m for m in messages("regions", text))


@pytest.mark.parametrize(
    "row, expected",
    [
        ("XYZ,see", {(2, "country", "allowed")}),
        ("nga,see", {(2, "country", "pattern")}),
        ("Nigeria,see", {(2, "country", "pattern")}),
        ("NGA,sea", {(2, "region", "reference")}),
        ("NGA,", {(2, "region", "required")}),
        ("XKX,see", set()),
    ],
)
def test_country_rules(row, expected):
    assert problems_of("countries", f"country,region\n{row}\n") == expected


def test_country_hints():
    text = "country,region\nCote d'Ivoire,west-africa\nnga,west-africa\n"
    found = messages("countries", text)
    assert any("did you mean CIV (Côte d’Ivoire)?" in m for m in found)
    assert any("did you mean NGA (Nigeria)?" in m for m in found)


def test_country_name_overrides_are_optional_columns():
    assert problems_of("countries", "country,region,name_en\nNGA,west-africa,\nALB,see,Albania (override)\n") == set()


# ---------------------------------------------------------------------------------------------------------------
# actions.csv
# ---------------------------------------------------------------------------------------------------------------

ACTIONS_HEADER = "action_id,title,country,region,channel,instrument,partner,pillars,year,committed,disbursed"
GOOD_ACTION = "A-1,Appui,NGA,west-africa,bilateral,FSP,UNODC,prevention,2009,1000,500"


def action(**changes: str) -> str:
    cells = dict(zip(ACTIONS_HEADER.split(","), GOOD_ACTION.split(",")))
    cells.update(changes)
    return ACTIONS_HEADER + "\n" + ",".join(f'"{v}"' if "," in v else v for v in cells.values()) + "\n"


def test_valid_action():
    assert problems_of("actions", action()) == set()


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"action_id": ""}, (2, "action_id", "required")),
        ({"title": " "}, (2, "title", "required")),
        ({"country": "Nigeria"}, (2, "country", "pattern")),
        ({"country": "BEN"}, (2, "country", "reference")),
        ({"region": "nowhere"}, (2, "region", "reference")),
        ({"channel": "bilaterla"}, (2, "channel", "allowed")),
        ({"channel": ""}, (2, "channel", "required")),
        ({"partner": ""}, (2, "partner", "required")),
        ({"pillars": "prevention;fun"}, (2, "pillars", "allowed")),
        ({"pillars": ""}, (2, "pillars", "required")),
        ({"year": "2006"}, (2, "year", "range")),
        ({"year": "2012"}, (2, "year", "range")),
        ({"year": "2009.5"}, (2, "year", "type")),
        ({"year": "deux mille"}, (2, "year", "type")),
        ({"year": ""}, (2, "year", "required")),
        ({"committed": "12,5O0"}, (2, "committed", "type")),
        ({"committed": "$1,000"}, (2, "committed", "type")),
        ({"committed": "-1"}, (2, "committed", "range")),
        ({"disbursed": "1.234.567,89"}, (2, "disbursed", "type")),
    ],
)
def test_action_cell_rules(changes, expected):
    assert problems_of("actions", action(**changes)) == {expected}


def test_allowed_values_are_accepted_in_any_case():
    checked, problems = check("actions", action(channel="Bilateral", pillars="Protection; PREVENTION"))
    assert problems == set()
    assert checked.typed.at[2, "pillars"] == "prevention;protection"


def test_duplicate_action_ids():
    text = action() + GOOD_ACTION + "\n"
    assert problems_of("actions", text) == {(3, "action_id", "unique")}


def test_year_is_not_checked_against_an_unknown_period():
    assert problems_of("actions", action(year="1999"), Context(languages=("fr", "en"))) == set()


def test_missing_and_misspelled_columns():
    text = action().replace("committed", "comitted")
    assert problems_of("actions", text) == {(1, "comitted", "unknown_column"), (1, "committed", "missing_column")}
    assert any("did you mean committed?" in m for m in messages("actions", text))


def test_optional_columns_may_be_left_out():
    text = ("action_id,title,country,region,channel,partner,pillars,year,committed\n"
            "A-1,t,NGA,,bilateral,p,prevention,2009,1\n")
    assert problems_of("actions", text) == set()


def test_ragged_rows_are_not_checked_cell_by_cell():
    text = action(committed="1234,5").replace('"1234,5"', "1234,5")
    assert problems_of("actions", text) == {(2, None, "ragged_row")}


def cross(text: str, countries: str = "country,region\nNGA,west-africa\nALB,see\n") -> set[tuple]:
    actions, _ = check("actions", text)
    checked_countries, _ = check("countries", countries)
    return {(p.row, p.column, p.rule) for p in check_actions(actions, checked_countries)}


def test_region_must_be_the_region_of_the_country():
    assert cross(action(region="see")) == {(2, "region", "region_mismatch")}
    assert cross(action(region="")) == set()


def test_region_is_required_without_a_country():
    assert cross(action(country="", region="")) == {(2, "region", "required")}
    assert cross(action(country="", region="see")) == set()


def test_disbursed_must_not_exceed_committed():
    assert cross(action(committed="1 000", disbursed="1 000,01")) == {(2, "disbursed", "disbursed_gt_committed")}
    assert cross(action(committed="1 000", disbursed="1000")) == set()
    assert cross(action(committed="", disbursed="10")) == {(2, "committed", "no_amount")}


def test_no_amount_is_one_warning_per_action():
    text = action(committed="", disbursed="") + "A-2,t,ALB,see,bilateral,,p,prevention,2010,,\n"
    actions, _ = check("actions", text)
    found = check_actions(actions, None)
    assert [(p.row, p.column, p.rule, p.severity) for p in found] == [
        (2, "committed", "no_amount", "warning"), (3, "committed", "no_amount", "warning")]


def test_a_header_without_actions_is_an_error():
    actions, _ = check("actions", ACTIONS_HEADER + "\n")
    [p] = check_actions(actions, None)
    assert (p.file, p.row, p.rule, p.severity) == ("actions.csv", None, "no_actions", "error")


def test_a_bad_country_region_does_not_cascade():
    # the country's own region is wrong (reported in countries.csv): the action's region is not compared with it
    assert cross(action(region="see"), countries="country,region\nNGA,nowhere\n") == set()
    assert cross(action(region="see"), countries="country,region\nNGA,\n") == set()
    assert cross(action(region="see"), countries="country,region\nNGA,west-africa\n") == {
        (2, "region", "region_mismatch")}


# ---------------------------------------------------------------------------------------------------------------
# ratings, recommendations, indicators
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, expected",
    [
        ("A-1,relevance,4,", set()),
        ("A-1,Relevance,1,Good", set()),
        ("A-9,relevance,4,", {(2, "action_id", "reference")}),
        ("A-1,beauty,4,", {(2, "criterion", "allowed")}),
        ("A-1,relevance,5,", {(2, "score", "range")}),
        ("A-1,relevance,0,", {(2, "score", "range")}),
        ("A-1,relevance,3.5,", {(2, "score", "type")}),
        ("A-1,relevance,,", {(2, "score", "required")}),
    ],
)
def test_rating_rules(row, expected):
    assert problems_of("ratings", f"action_id,criterion,score,comment\n{row}\n") == expected


def test_one_rating_per_action_and_criterion():
    text = "action_id,criterion,score\nA-1,impact,3\nA-2,impact,3\nA-1,impact,2\n"
    assert problems_of("ratings", text) == {(4, "action_id", "unique")}
    assert any("row 2" in m and "action_id and criterion" in m for m in messages("ratings", text))


REC_HEADER = "rec_id,scope,priority,addressee,text_fr,text_en"


@pytest.mark.parametrize(
    "row, expected",
    [
        ("R1,global,high,DGM,a,b", set()),
        ("R1,see,low,DGM,a,b", set()),
        ("R1,NGA,medium,DGM,a,b", set()),
        ("R1,Nigeria,high,DGM,a,b", {(2, "scope", "reference")}),
        ("R1,world,high,DGM,a,b", {(2, "scope", "reference")}),
        ("R1,global,urgent,DGM,a,b", {(2, "priority", "allowed")}),
        ("R1,global,high,,a,b", {(2, "addressee", "required")}),
        ("R1,global,high,DGM,a,", {(2, "text_en", "missing_language")}),
        (",global,high,DGM,a,b", {(2, "rec_id", "required")}),
    ],
)
def test_recommendation_rules(row, expected):
    assert problems_of("recommendations", f"{REC_HEADER}\n{row}\n") == expected


def test_recommendation_scope_hint():
    found = messages("recommendations", f"{REC_HEADER}\nR1,Cote d'Ivoire,high,DGM,a,b\nR2,sea,high,DGM,a,b\n")
    assert any("did you mean CIV (Côte d’Ivoire)?" in m for m in found)
    assert any("did you mean see?" in m for m in found)


def test_duplicate_recommendation_ids():
    assert problems_of("recommendations", f"{REC_HEADER}\nR1,global,high,D,a,b\nR1,see,low,D,a,b\n") == {
        (3, "rec_id", "unique")}


@pytest.mark.parametrize(
    "row, expected",
    [
        ("NGA,tip_tier,2008,2,TIP", set()),
        ("NGA,tip_tier,1995,-1.5,TIP", set()),
        ("NGA,tiptier,2008,2,TIP", {(2, "indicator", "reference")}),
        ("BEN,tip_tier,2008,2,TIP", {(2, "country", "reference")}),
        ("NGA,tip_tier,1850,2,TIP", {(2, "year", "range")}),
        ("NGA,tip_tier,2008,deux,TIP", {(2, "value", "type")}),
        ("NGA,tip_tier,2008,,TIP", {(2, "value", "required")}),
        ("NGA,tip_tier,2008,2,", {(2, "source", "required")}),
    ],
)
def test_indicator_rules(row, expected):
    assert problems_of("indicators", f"country,indicator,year,value,source\n{row}\n") == expected


def test_one_indicator_value_per_country_and_year():
    text = "country,indicator,year,value,source\nNGA,tip_tier,2008,2,a\nNGA,tip_tier,2008,3,b\nNGA,tip_tier,2009,3,b\n"
    assert problems_of("indicators", text) == {(3, "country", "unique")}


# ---------------------------------------------------------------------------------------------------------------
# evaluation.yaml
# ---------------------------------------------------------------------------------------------------------------

GOOD_EVALUATION = {
    "id": "128",
    "languages": ["fr", "en"],
    "title": {"fr": "Titre", "en": "Title"},
    "commissioner": {"fr": "Ministère", "en": "Ministry"},
    "evaluator": "Team",
    "published": "2014-03",
    "period_start": 2007,
    "period_end": 2011,
    "currency": "EUR",
    "indicators": {"tip_tier": {"unit": "tier", "label": {"fr": "Rang", "en": "Tier"}}},
}


def test_valid_evaluation():
    result = check_evaluation(dict(GOOD_EVALUATION))
    assert result.problems == []
    assert result.evaluation.languages == ("fr", "en") and result.evaluation.period_start == 2007
    assert result.evaluation.indicators["tip_tier"].label["en"] == "Tier"
    assert result.evaluation.subtitle is None


def test_a_numeric_id_is_read_as_text():
    assert check_evaluation({**GOOD_EVALUATION, "id": 128}).evaluation.id == "128"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"id": None}, ("id", "required")),
        ({"id": ["x"]}, ("id", "type")),
        ({"languages": ["fr", "de"]}, ("languages", "allowed")),
        ({"languages": ["fr", "fr"]}, ("languages", "unique")),
        ({"languages": []}, ("languages", "required")),
        ({"languages": "fr, en"}, ("languages", "type")),
        ({"title": {"fr": "Titre"}}, ("title.en", "missing_language")),
        ({"title": {"fr": "Titre", "en": " "}}, ("title.en", "missing_language")),
        ({"title": "Titre"}, ("title", "type")),
        ({"commissioner": None}, ("commissioner", "required")),
        ({"subtitle": {"fr": "Sous-titre"}}, ("subtitle.en", "missing_language")),
        ({"evaluator": 3}, ("evaluator", "type")),
        ({"published": "2014-13"}, ("published", "pattern")),
        ({"published": "March 2014"}, ("published", "pattern")),
        ({"period_start": "2007"}, ("period_start", "type")),
        ({"period_start": True}, ("period_start", "type")),
        ({"period_end": 3000}, ("period_end", "range")),
        ({"period_start": 2012}, ("period_end", "range")),
        ({"currency": "eur"}, ("currency", "allowed")),
        ({"currency": "EURO"}, ("currency", "allowed")),
        ({"currency": 978}, ("currency", "type")),
        ({"indicators": ["tip_tier"]}, ("indicators", "type")),
        ({"indicators": {"tip tier": {"unit": "x", "label": {"fr": "a", "en": "b"}}}},
         ("indicators.tip tier", "pattern")),
        ({"indicators": {"t": {"label": {"fr": "a", "en": "b"}}}}, ("indicators.t.unit", "required")),
        ({"indicators": {"t": {"unit": "x", "label": {"fr": "a"}}}}, ("indicators.t.label.en", "missing_language")),
        ({"indicators": {"t": {"unit": "x", "lable": {}, "label": {"fr": "a", "en": "b"}}}},
         ("indicators.t.lable", "unknown_key")),
        ({"perod_start": 2007}, ("perod_start", "unknown_key")),
    ],
)
def test_evaluation_rules(changes, expected):
    data = {**GOOD_EVALUATION, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    result = check_evaluation(data)
    assert {(p.column, p.rule) for p in result.problems if p.severity == "error"} == {expected}
    assert result.evaluation is None


def test_texts_for_other_languages_are_ignored_with_a_warning():
    result = check_evaluation({**GOOD_EVALUATION, "title": {"fr": "T", "en": "T", "de": "T"}})
    assert [(p.column, p.rule, p.severity) for p in result.problems] == [("title.de", "ignored_language", "warning")]
    assert result.evaluation is not None and "de" not in result.evaluation.title


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_evaluation_must_be_a_mapping(data):
    [p] = check_evaluation(data).problems
    assert p.rule == "type"


def test_evaluation_problems_carry_the_line_of_the_key():
    text = "id: '1'\nlanguages: [fr]\ntitle:\n  en: T\n"
    doc = yaml.safe_load(text)
    lines = {("id",): 1, ("languages",): 2, ("title",): 3, ("title", "en"): 4}
    found = {(p.column, p.row) for p in check_evaluation(doc, lines).problems}
    assert ("title.fr", 3) in found and ("title.en", 4) in found


def test_partial_evaluation_still_gives_languages_and_period():
    result = check_evaluation({**GOOD_EVALUATION, "currency": "XXXX"})
    assert result.evaluation is None and result.languages == ("fr", "en") and result.period == (2007, 2011)


# ---------------------------------------------------------------------------------------------------------------
# The whole folder and the Dataset
# ---------------------------------------------------------------------------------------------------------------


def test_tiny_dataset_is_valid_with_one_warning(tiny_dataset_dir):
    result = validate_dataset(tiny_dataset_dir)
    assert result.ok and isinstance(result, ValidationResult)
    assert [(p.file, p.row, p.column, p.rule) for p in result.problems] == [
        ("actions.csv", 6, "committed", "no_amount")]
    assert result.warnings == result.problems and result.errors == []


def test_dataset_frames_follow_the_model(tiny_dataset_dir):
    ds = validate_dataset(tiny_dataset_dir).dataset
    assert ds.root == tiny_dataset_dir
    for name, columns in DATASET_COLUMNS.items():
        expected: list[str] = []
        for c in columns:
            expected.extend([c.replace("{lang}", "fr"), c.replace("{lang}", "en")] if "{lang}" in c else [c])
        frame = getattr(ds, name)
        assert list(frame.columns) == expected, name
        assert frame.index.equals(pd.RangeIndex(len(frame))), name
    assert str(ds.actions["year"].dtype) == "Int64"
    assert str(ds.actions["committed"].dtype) == "Float64" and str(ds.actions["disbursed"].dtype) == "Float64"
    assert str(ds.ratings["score"].dtype) == "Int64" and str(ds.indicators["value"].dtype) == "Float64"
    assert str(ds.actions["country"].dtype) == "string"
    assert ds.actions["committed"].isna().sum() == 1 and ds.actions["committed"][0] == 150000.0
    assert ds.actions["disbursed"][0] == 120000.5
    assert ds.actions["country"].isna().sum() == 2


def test_dataset_fills_regions_names_and_scopes(tiny_dataset_dir):
    ds = validate_dataset(tiny_dataset_dir).dataset
    actions = ds.actions.set_index("action_id")
    assert actions.at["A-004", "region"] == "see"  # region left empty, filled from Kosovo's
    assert actions.at["A-002", "themes"] == "prevention;partnership"  # the legacy column pillars
    countries = ds.countries.set_index("country")
    assert countries.at["CIV", "name_fr"] == "Côte d’Ivoire" and countries.at["CIV", "name_en"] == "Côte d'Ivoire"
    assert countries.at["XKX", "name_en"] == "Kosovo" and countries.at["CHN", "name_fr"] == "Chine"
    kinds = dict(zip(ds.recommendations["rec_id"], ds.recommendations["scope_kind"]))
    assert kinds == {"R1": "global", "R2": "global", "R3": "region", "R4": "region", "R5": "country",
                     "R6": "country"}
    assert ds.evaluation.currency == "EUR" and ds.evaluation.published == "2014-03"


def test_dataset_keeps_narratives_and_digests(tiny_dataset_dir, tiny_dataset_files):
    ds = validate_dataset(tiny_dataset_dir).dataset
    assert ds.narratives[("fr", "synthesis", None)].startswith("## Contexte")
    assert set(ds.narratives) == {(lang, kind, code) for lang in ("fr", "en")
                                  for kind, code in (("synthesis", None), ("region", "see"), ("country", "NGA"))}
    assert set(ds.source_files) == set(tiny_dataset_files)
    assert all(len(d) == 64 for d in ds.source_files.values())


def test_optional_tables_may_be_absent(tiny_dataset_files, write_dataset, tmp_path):
    for name in ("ratings.csv", "recommendations.csv", "indicators.csv"):
        del tiny_dataset_files[name]
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    assert result.ok
    ds = result.dataset
    assert len(ds.ratings) == 0 and list(ds.ratings.columns) == ["action_id", "criterion", "score", "comment",
                                                                    "comment_fr", "comment_en"]
    assert str(ds.ratings["score"].dtype) == "Int64" and str(ds.indicators["value"].dtype) == "Float64"
    assert "scope_kind" in ds.recommendations.columns


def test_optional_tables_may_have_no_rows(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["ratings.csv"] = "action_id;criterion;score;comment\n"
    assert validate_dataset(write_dataset(tmp_path, tiny_dataset_files)).ok


def test_one_language_dataset(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["evaluation.yaml"] = tiny_dataset_files["evaluation.yaml"].replace("[fr, en]", "[fr]")
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    assert result.ok
    rules = {p.rule for p in result.problems}
    assert rules == {"no_amount", "ignored_column", "ignored_language", "unknown_narrative"}
    assert list(result.dataset.regions.columns) == ["region", "name_fr"]


def to_xlsx(text: str) -> bytes:
    records, _ = parse_csv(text, "x.csv")
    workbook = openpyxl.Workbook()
    for _, cells in records:
        workbook.active.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_tables_validate_like_csv(tiny_dataset_files, write_dataset, tmp_path):
    text = tiny_dataset_files.pop("actions.csv")
    tiny_dataset_files["actions.xlsx"] = to_xlsx(text.replace("2010,60000", "2013,60000"))
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    assert {(p.file, p.row, p.column, p.rule) for p in result.errors} == {("actions.xlsx", 5, "year", "range")}
    assert result.dataset is None


def test_xlsx_dataset_gives_the_same_frames(tiny_dataset_files, write_dataset, tmp_path):
    xlsx = dict(tiny_dataset_files)
    for name in ("actions", "countries", "indicators"):
        xlsx[f"{name}.xlsx"] = to_xlsx(xlsx.pop(f"{name}.csv"))
    a = validate_dataset(write_dataset(tmp_path / "csv", tiny_dataset_files)).dataset
    b = validate_dataset(write_dataset(tmp_path / "xlsx", xlsx)).dataset
    pd.testing.assert_frame_equal(a.actions, b.actions)
    pd.testing.assert_frame_equal(a.indicators, b.indicators)


def test_missing_data_folder(tmp_path):
    result = validate_dataset(tmp_path / "nowhere")
    assert [(p.rule, p.severity) for p in result.problems] == [("missing_file", "error")]


def test_empty_data_folder_lists_every_required_file(tmp_path):
    result = validate_dataset(tmp_path)
    assert {(p.file, p.rule) for p in result.problems} == {
        ("evaluation.yaml", "missing_file"), ("regions.csv", "missing_file"), ("countries.csv", "missing_file"),
        ("actions.csv", "missing_file")}


# ---------------------------------------------------------------------------------------------------------------
# Narratives
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel, content, expected",
    [
        ("narrative/fr/regions/sea.md", "x", ("narrative/fr/regions/sea.md", "unknown_narrative", "warning")),
        ("narrative/fr/countries/BEN.md", "x", ("narrative/fr/countries/BEN.md", "unknown_narrative", "warning")),
        ("narrative/de/synthesis.md", "x", ("narrative/de/synthesis.md", "unknown_narrative", "warning")),
        ("narrative/fr/notes.txt", "x", ("narrative/fr/notes.txt", "unknown_narrative", "warning")),
        ("narrative/synthesis.md", "x", ("narrative/synthesis.md", "unknown_narrative", "warning")),
        ("narrative/fr/regions/asia.md", "Société".encode("latin-1"),
         ("narrative/fr/regions/asia.md", "encoding", "error")),
        ("narrative/en/countries/CHN.md", "x" * 1_000_001,
         ("narrative/en/countries/CHN.md", "file_too_large", "error")),
    ],
)
def test_narrative_files(tiny_dataset_files, write_dataset, tmp_path, rel, content, expected):
    tiny_dataset_files[rel] = content
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    found = {(p.file, p.rule, p.severity) for p in result.problems if p.rule != "no_amount"}
    assert found == {expected}


def test_hidden_files_under_narrative_are_ignored(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["narrative/fr/.DS_Store"] = b"\x00\x01"
    tiny_dataset_files["narrative/.gitkeep"] = ""
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    assert [p.rule for p in result.problems] == ["no_amount"]


# ---------------------------------------------------------------------------------------------------------------
# Reading only; the report
# ---------------------------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"", p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_validation_writes_nothing(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["actions.csv"] += "A-009,x,ZZZ,,bilateral,,p,fun,1999,$5,\n"
    root = write_dataset(tmp_path / "data", tiny_dataset_files)
    before = snapshot(tmp_path)
    cwd = snapshot(Path.cwd()) if Path.cwd() != ROOT else None
    result = validate_dataset(root)
    assert not result.ok
    assert snapshot(tmp_path) == before
    if cwd is not None:
        assert snapshot(Path.cwd()) == cwd


PROBLEMS = [
    Problem("actions.csv", 14, "committed", "12,5O0", "type", "error", "must be a number ≥ 0, got '12,5O0'"),
    Problem("actions.csv", None, None, None, "no_actions", "error", "has no actions"),
    Problem("countries.csv", 3, "name_fr", "<script>alert(1)</script>", "type", "warning", "Côte & <b>"),
]


def test_report_json_is_deterministic(tmp_path):
    write_report(PROBLEMS, tmp_path / "out", tmp_path)
    data = (tmp_path / "out" / "validation.json").read_bytes()
    assert data == report_json(sorted(PROBLEMS, key=lambda p: (p.file, p.row or 0, p.column or ""))).encode()
    assert data.endswith(b"]\n") and "Côte".encode() in data
    records = json.loads(data)
    assert [r["row"] for r in records] == [None, 14, 3]
    assert list(records[0]) == sorted(records[0]) == ["column", "file", "message", "row", "rule", "severity",
                                                      "value"]
    write_report(list(reversed(PROBLEMS)), tmp_path / "out", tmp_path)
    assert (tmp_path / "out" / "validation.json").read_bytes() == data


def test_report_json_when_no_problem(tmp_path):
    write_report([], tmp_path, tmp_path)
    assert (tmp_path / "validation.json").read_text(encoding="utf-8") == "[]\n"
    soup = BeautifulSoup((tmp_path / "validation.html").read_text(encoding="utf-8"), "html.parser")
    assert "no problem" in soup.get_text()


def test_report_html_is_grouped_escaped_and_accessible(tmp_path):
    write_report(PROBLEMS, tmp_path, tmp_path / "my <data>")
    html = (tmp_path / "validation.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "my &lt;data&gt;" in html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == "en" and soup.title.string == "Dataset validation"
    assert [h.get_text() for h in soup.find_all("h2")] == ["actions.csv", "countries.csv"]
    tables = soup.find_all("table")
    assert len(tables) == 2 and all(t.caption for t in tables)
    headers = [th.get_text() for th in tables[0].find_all("th")]
    assert headers == ["Row", "Column", "Value", "Severity", "Problem", "Rule"]
    assert all(th["scope"] == "col" for th in soup.find_all("th"))
    assert "2 errors and 1 warning" in soup.get_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_every_rule_has_the_documented_severity(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["regions.csv"] += "global,a,\n"
    tiny_dataset_files["narrative/xx.md"] = "x"
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    for p in result.problems:
        assert p.severity == RULES[p.rule].severity or p.rule == "empty_file"


@pytest.mark.skipif(not (ROOT / "data" / "evaluation.yaml").exists(), reason="no embedded dataset yet")
def test_embedded_dataset_validates_with_no_error():
    result = validate_dataset(ROOT / "data")
    assert result.errors == [], "\n".join(map(str, result.errors))
    assert result.dataset is not None
    assert len(result.dataset.actions) >= 150


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_report_into_an_unwritable_place_is_a_reportgen_error(tmp_path):
    from reportgen.errors import ReportgenError

    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportgenError):
        write_report([], tmp_path / "file" / "out", tmp_path)


def test_a_misnamed_table_is_suggested(tiny_dataset_files, write_dataset, tmp_path):
    tiny_dataset_files["Action.csv"] = tiny_dataset_files.pop("actions.csv")
    result = validate_dataset(write_dataset(tmp_path, tiny_dataset_files))
    [p] = result.errors
    assert (p.file, p.rule) == ("actions.csv", "missing_file") and "Action.csv" in p.message


def test_a_yaml_alias_bomb_is_not_expanded(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines += ["id: *a11", "title: {fr: *a11, en: *a11}", "currency: *a11", "languages: *a11"]
    (tmp_path / "evaluation.yaml").write_text("\n".join(lines) + "\n")
    result = validate_dataset(tmp_path)
    assert {(p.column, p.rule) for p in result.errors} >= {("id", "type"), ("currency", "type"),
                                                            ("languages", "allowed")}
    assert all(len(p.message) < 1000 for p in result.problems)


def test_the_dataset_survives_pickling(tiny_dataset_dir):
    import pickle

    ds = validate_dataset(tiny_dataset_dir).dataset
    again = pickle.loads(pickle.dumps(ds, protocol=pickle.HIGHEST_PROTOCOL))
    pd.testing.assert_frame_equal(again.actions, ds.actions)
    assert again.evaluation == ds.evaluation and again.narratives == ds.narratives
