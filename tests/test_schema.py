"""The contract as data: fields and their parsers, ISO codes, tables, pandera checks and docs/dataset.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from babel.core import get_global

from reportgen.fields import (
    CellError,
    did_you_mean,
    parse_amount,
    parse_cell,
    parse_column,
    parse_integer,
    parse_list,
    parse_number,
)
from reportgen.iso3166 import (
    ALPHA3_TO_ALPHA2,
    country_name,
    describe,
    is_country_code,
    suggest_countries,
    suggest_country,
)
from reportgen.model import PILLARS
from reportgen.schema import (
    EVALUATION_KEYS,
    RULES,
    TABLES,
    Context,
    explain,
    pandera_schema,
    render_dataset_doc,
    run_checks,
)

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------------------------
# Amounts and numbers
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1234", 1234.0),
        ("1234.5", 1234.5),
        ("1234,5", 1234.5),
        ("1 234,50", 1234.5),
        ("1 234.50", 1234.5),
        ("1\u00a0234\u00a0567,89", 1234567.89),
        ("1\u202f234", 1234.0),
        ("0", 0.0),
        ("0,125", 0.125),
        ("0.500", 0.5),
        ("  42  ", 42.0),
        ("12345,678", 12345.678),
        ("", None),
        ("   ", None),
    ],
)
def test_amounts_users_type_are_read(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text, rule, words",
    [
        ("$1,000", "type", "currency sign"),
        ("1000 €", "type", "currency sign"),
        ("EUR 1000", "type", "currency"),
        ("12,5O0", "type", "letter O"),
        ("1.234.567,89", "type", "one decimal mark"),
        ("1,234.50", "type", "one decimal mark"),
        ("-5", "range", "≥ 0"),
        ("abc", "type", "letters"),
        ("1,234", "type", "ambiguous"),
        ("12.500", "type", "ambiguous"),
        ("1234 567", "type", "group digits by three"),
        ("1 23", "type", "by three"),
        (".5", "type", "decimal mark"),
        ("5.", "type", "decimal mark"),
        ("1e6", "type", "letters"),
        ("NA", "type", "letters"),
        ("inf", "type", "letters"),
    ],
)
def test_amounts_that_are_not_unambiguous_are_refused_naming_the_value(text, rule, words):
    error = parse_amount(text)
    assert isinstance(error, CellError)
    assert error.rule == rule
    assert f"'{text.strip()}'" in error.message
    assert words in error.message


def test_amount_message_reads_like_the_contract():
    error = parse_amount("12,5O0")
    assert error.message.startswith("must be a number ≥ 0, got '12,5O0'")


def test_no_break_spaces_are_made_visible_in_messages():
    error = parse_amount("1\u00a0000 $")
    assert "\\u00a0" in error.message


@pytest.mark.parametrize("text, expected", [("-1,5", -1.5), ("1,234", 1.234), ("3", 3.0), ("-1 000", -1000.0)])
def test_numbers_allow_a_minus_sign(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", ["1 2", "--1", "one", "1.2.3"])
def test_bad_numbers_are_type_errors(text):
    assert isinstance(parse_number(text), CellError)


@pytest.mark.parametrize("text, expected", [("2009", 2009), (" 3 ", 3), ("0003", 3), ("", None)])
def test_whole_numbers(text, expected):
    assert parse_integer(text) == expected


@pytest.mark.parametrize("text", ["2009.0", "2009.5", "-3", "3 ", "deux", "1" * 20])
def test_whole_numbers_are_digits_only(text):
    result = parse_integer(text)
    if text.strip() == "3":
        assert result == 3
    else:
        assert isinstance(result, CellError) and result.rule == "type"


def test_pillars_are_normalised():
    assert parse_list("Protection ; prevention;protection;", PILLARS) == "prevention;protection"
    assert parse_list(" ; ", PILLARS) is None
    error = parse_list("prevention;partnershp", PILLARS)
    assert isinstance(error, CellError) and error.rule == "allowed"
    assert "did you mean partnership?" in error.message


def test_allowed_values_match_regardless_of_case():
    channel = TABLES["actions"].field("channel")
    assert parse_cell(channel, " Bilateral ") == "bilateral"
    assert parse_cell(channel, "bilaterla") == "bilaterla"  # left for the 'allowed' check, which suggests


def test_text_is_never_converted():
    title = TABLES["actions"].field("title")
    for text in ("NA", "None", "001", "null", "TRUE", "1e3"):
        assert parse_cell(title, text) == text


def test_parse_column_gives_nullable_dtypes_and_errors_by_row():
    committed = TABLES["actions"].field("committed")
    series, errors = parse_column(committed, pd.Series(["1 000", "", "x"], index=[2, 3, 4]))
    assert str(series.dtype) == "Float64"
    assert series[2] == 1000.0 and pd.isna(series[3]) and pd.isna(series[4])
    assert list(errors) == [4]


def test_did_you_mean():
    assert did_you_mean("comitted", ["committed", "disbursed"]) == "committed"
    assert did_you_mean("Committed", ["committed"]) == "committed"
    assert did_you_mean("a b", ["a b", "see"]) is None  # never the value itself ("got 'a b'; did you mean a b?")
    assert did_you_mean("victims", ["tip_tier", "victims_identified"]) == "victims_identified"
    assert did_you_mean("zzz", ["committed"]) is None


# ---------------------------------------------------------------------------------------------------------------
# ISO 3166
# ---------------------------------------------------------------------------------------------------------------


def test_iso_table_has_every_current_code_and_kosovo():
    assert len(ALPHA3_TO_ALPHA2) == 250
    assert ALPHA3_TO_ALPHA2["XKX"] == "XK"
    assert len(set(ALPHA3_TO_ALPHA2.values())) == 250


def test_iso_table_agrees_with_cldr():
    aliases = get_global("territory_aliases")
    for alpha3, alpha2 in ALPHA3_TO_ALPHA2.items():
        if alpha3 != "XKX":
            assert aliases[alpha3] == [alpha2], alpha3
        assert country_name(alpha3, "en") and country_name(alpha3, "fr"), alpha3


def test_country_names_from_cldr():
    assert country_name("CIV", "fr") == "Côte d’Ivoire"
    assert country_name("XKX", "en") == "Kosovo"
    assert country_name("DEU", "fr") == "Allemagne"
    assert country_name("ZZZ", "fr") is None
    assert is_country_code("NGA") and not is_country_code("nga")
    assert describe("CIV") == "CIV (Côte d’Ivoire)"


@pytest.mark.parametrize(
    "text, code",
    [("Cote d'Ivoire", "CIV"), ("Côte d’Ivoire", "CIV"), ("civ", "CIV"), ("CI", "CIV"), ("Nigéria", "NGA"),
     ("Turkey", "TUR"), ("Allemagne", "DEU"), ("Bosnia", "BIH"), ("Kosovo", "XKX"), ("Macedonia", "MKD"),
     ("xyzzy", None), ("", None)],
)
def test_country_suggestions(text, code):
    assert suggest_country(text) == code


def test_a_code_that_could_mean_several_countries_suggests_them_all():
    """NIG (on a row about Lagos) is Niger's name start as much as Nigeria's: both are suggested, by code and name."""
    assert suggest_countries("NIG") == ["NER", "NGA"]
    assert suggest_countries("NIG", among={"NGA", "CIV"}) == ["NGA"]
    assert suggest_countries("civ") == ["CIV"] and suggest_countries("xyzzy") == []
    table = TABLES["actions"]
    ctx = Context(references={"countries.country": frozenset({"NER", "NGA"})})
    message = explain(table.field("country"), "reference", "NIG", ctx)
    assert message.endswith("did you mean NER (Niger) or NGA (Nigeria)?"), message


# ---------------------------------------------------------------------------------------------------------------
# Tables and checks
# ---------------------------------------------------------------------------------------------------------------


def test_every_field_is_documented_and_its_example_is_valid():
    for table in TABLES.values():
        assert table.description
        for f in table.fields:
            assert f.description and f.example, (table.name, f.name)
            parsed = parse_cell(f, f.example)
            assert not isinstance(parsed, CellError), (table.name, f.name, parsed)
            assert parsed is not None
        header, *rows = table.example
        assert all(len(row) == len(header) for row in rows)
        for column in header:
            assert table.field(column) is not None, (table.name, column)


def test_the_examples_of_each_table_pass_its_checks():
    ctx = Context(languages=("fr", "en"), period=(2007, 2011))
    for table in TABLES.values():
        header, *rows = table.example
        raw = pd.DataFrame(rows, columns=header, index=range(2, 2 + len(rows)))
        fields = [table.field(c) for c in header]
        typed = pd.DataFrame({f.name: parse_column(f, raw[f.name])[0] for f in fields})
        assert run_checks(table, typed, fields, ctx) == [], table.name


def test_per_language_fields_expand():
    regions = TABLES["regions"]
    assert [f.name for f in regions.columns(("fr", "en"))] == ["region", "name_fr", "name_en"]
    assert regions.language_of("name_en") == "en" and regions.language_of("region") is None
    assert regions.field("name_fr").required


def test_pandera_schema_is_named_after_rules():
    table = TABLES["ratings"]
    fields = [f for f in table.fields if not f.per_language]  # comment_{lang} stands for comment_fr, comment_en…
    schema = pandera_schema(table, fields, Context())
    assert set(schema.columns) == {"action_id", "criterion", "score", "comment"}
    typed = pd.DataFrame(
        {
            "action_id": pd.array(["A", "A", None], dtype="string"),
            "criterion": pd.array(["impact", "impact", "beauty"], dtype="string"),
            "score": pd.array([1, 9, 2], dtype="Int64"),
            "comment": pd.array([None, None, None], dtype="string"),
        },
        index=[2, 3, 4],
    )
    failures = set(run_checks(table, typed, fields, Context()))
    assert failures == {(3, "score", "range"), (3, "action_id", "unique"), (4, "action_id", "required"),
                        (4, "criterion", "allowed")}


def test_references_are_checked_only_when_their_target_is_known():
    table = TABLES["countries"]
    fields = [table.field("country"), table.field("region")]
    typed = pd.DataFrame({"country": pd.array(["NGA"], dtype="string"),
                          "region": pd.array(["nowhere"], dtype="string")}, index=[2])
    assert run_checks(table, typed, fields, Context()) == []
    ctx = Context(references={"regions.region": frozenset({"west-africa"})})
    assert run_checks(table, typed, fields, ctx) == [(2, "region", "reference")]


def test_messages_give_hints():
    actions = TABLES["actions"]
    ctx = Context(period=(2007, 2011), references={"countries.country": frozenset({"CIV", "NGA"}),
                                                   "regions.region": frozenset({"see"})})
    assert "did you mean CIV (Côte d’Ivoire)?" in explain(actions.field("country"), "pattern", "Cote d'Ivoire", ctx)
    assert "2007 to 2011" in explain(actions.field("year"), "range", "2013", ctx)
    assert "did you mean see?" in explain(actions.field("region"), "reference", "sea", ctx)
    assert "(row 4)" in explain(actions.field("action_id"), "unique", "A-1", ctx, first_row=4)
    assert "not in countries.csv" in explain(actions.field("country"), "reference", "BEN", ctx)


def test_rules_are_documented():
    for name, rule in RULES.items():
        assert name.isidentifier() and rule.severity in ("error", "warning") and rule.description


def test_evaluation_keys_are_documented():
    names = [k.name for k in EVALUATION_KEYS]
    assert len(names) == len(set(names))
    assert {"id", "languages", "title", "commissioner", "published", "period_start", "period_end",
            "currency"} <= {k.name for k in EVALUATION_KEYS if k.required}


# ---------------------------------------------------------------------------------------------------------------
# docs/dataset.md
# ---------------------------------------------------------------------------------------------------------------


def test_dataset_doc_is_generated_from_the_schema():
    committed = (ROOT / "docs" / "dataset.md").read_text(encoding="utf-8")
    assert committed == render_dataset_doc(), (
        "docs/dataset.md is out of date: run `python -m reportgen.schema > docs/dataset.md`"
    )


def test_dataset_doc_names_every_file_column_and_rule():
    doc = render_dataset_doc()
    for table in TABLES.values():
        assert f"## {table.name}.csv" in doc
        for f in table.fields:
            assert f"`{f.name}" in doc
    for rule in RULES:
        assert f"| `{rule}` |" in doc
    for key in EVALUATION_KEYS:
        assert f"| `{key.name}` |" in doc
