"""A corpus of broken datasets, made from the tiny valid dataset by declared mutations.

Each case applies one defect (the last one several, in several files) and states exactly which problems it must
produce, as (file, row, column, rule). Each run also plays what a build does on failure: validate, then write the
validation report into an output folder that already holds publications, which must stay byte-for-byte (and
modification-time) identical.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from reportgen.load import sniff_separator
from reportgen.review import is_translated
from reportgen.review import write_validation_report as write_report
from reportgen.validate import validate_dataset

Files = dict[str, "str | bytes"]
Mutation = Callable[[Files], None]
Key = tuple[str, "int | None", "str | None", str]

BASELINE_WARNING: Key = ("actions.csv", 6, "committed", "no_amount")  # A-005 has no amount in the tiny dataset


# ---------------------------------------------------------------------------------------------------------------
# Mutations
# ---------------------------------------------------------------------------------------------------------------


def _rows(text: str) -> tuple[str, list[list[str]]]:
    separator = sniff_separator(text)
    return separator, list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))


def _csv(separator: str, rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=separator, lineterminator="\n").writerows(rows)
    return out.getvalue()


def set_cell(file: str, row: int, column: str, value: str) -> Mutation:
    """Set the cell at spreadsheet ``row`` (header = 1) of ``column``."""
    def mutate(files: Files) -> None:
        separator, rows = _rows(files[file])
        rows[row - 1][rows[0].index(column)] = value
        files[file] = _csv(separator, rows)
    return mutate


def append_row(file: str, *cells: str) -> Mutation:
    def mutate(files: Files) -> None:
        separator, rows = _rows(files[file])
        files[file] = _csv(separator, [*rows, list(cells)])
    return mutate


def rename_column(file: str, old: str, new: str) -> Mutation:
    return set_cell(file, 1, old, new)


def drop_column(file: str, column: str) -> Mutation:
    def mutate(files: Files) -> None:
        separator, rows = _rows(files[file])
        position = rows[0].index(column)
        files[file] = _csv(separator, [r[:position] + r[position + 1:] for r in rows])
    return mutate


def replace(file: str, old: str, new: str) -> Mutation:
    def mutate(files: Files) -> None:
        assert old in files[file], (file, old)
        files[file] = files[file].replace(old, new, 1)
    return mutate


def write(file: str, content: str | bytes) -> Mutation:
    def mutate(files: Files) -> None:
        files[file] = content
    return mutate


def delete(file: str) -> Mutation:
    def mutate(files: Files) -> None:
        del files[file]
    return mutate


def encode(file: str, encoding: str) -> Mutation:
    def mutate(files: Files) -> None:
        files[file] = files[file].encode(encoding)
    return mutate


def to_xlsx(file: str) -> Mutation:
    """Replace ``x.csv`` with ``x.xlsx`` holding the same cells (header on Excel row 1)."""
    def mutate(files: Files) -> None:
        _, rows = _rows(files.pop(file))
        workbook = openpyxl.Workbook()
        for row in rows:
            workbook.active.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        files[file.replace(".csv", ".xlsx")] = buffer.getvalue()
    return mutate


def copy_as_xlsx(file: str) -> Mutation:
    """Add ``x.xlsx`` next to ``x.csv``."""
    def mutate(files: Files) -> None:
        keep = files[file]
        to_xlsx(file)(files)
        files[file] = keep
    return mutate


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    mutations: list[Mutation]
    errors: set[Key]
    warnings: set[Key] = field(default_factory=lambda: {BASELINE_WARNING})
    message: str | None = None  # a phrase the (first) error message must contain
    max_xlsx_bytes: int = 50_000_000


A, C, E, R = "actions.csv", "countries.csv", "evaluation.yaml", "regions.csv"
RAT, REC, IND = "ratings.csv", "recommendations.csv", "indicators.csv"

CASES = [
    # files
    Case("evaluation-missing", [delete(E)], {(E, None, None, "missing_file")}),
    Case("regions-missing", [delete(R)], {(R, None, None, "missing_file")}),
    Case("countries-missing", [delete(C)], {(C, None, None, "missing_file")}),
    Case("actions-missing", [delete(A)], {(A, None, None, "missing_file")}, warnings=set()),
    Case("actions-csv-and-xlsx", [copy_as_xlsx(A)], {(A, None, None, "duplicate_file")}, warnings=set(),
         message="keep only one"),
    Case("actions-empty-file", [write(A, "")], {(A, None, None, "empty_file")}, warnings=set()),
    Case("actions-header-only", [write(A, "action_id,title,country,region,channel,partner,pillars,year,committed\n")],
         {(A, None, None, "no_actions")}, warnings=set()),
    Case("ratings-empty-file", [write(RAT, "")], set(), {BASELINE_WARNING, (RAT, None, None, "empty_file")}),
    Case("actions-latin1", [encode(A, "latin-1")], {(A, 2, None, "encoding")}, warnings=set(),
         message="CSV UTF-8"),
    Case("countries-utf16", [encode(C, "utf-16")], {(C, 1, None, "encoding")}, message="UTF-16"),
    Case("actions-random-bytes", [write(A, b"\x89PNG\r\n\x1a\n\x00\x00")], {(A, 1, None, "encoding")},
         warnings=set()),
    Case("actions-xlsx-too-large", [to_xlsx(A)], {("actions.xlsx", None, None, "file_too_large")},
         warnings=set(), max_xlsx_bytes=1000),
    Case("actions-xlsx-not-a-workbook", [delete(A), write("actions.xlsx", b"PK\x03\x04 not really")],
         {("actions.xlsx", None, None, "format")}, warnings=set()),
    # evaluation.yaml
    Case("yaml-syntax", [replace(E, "currency: EUR", "currency: [EUR")], {(E, 17, None, "yaml")}),
    Case("yaml-not-a-mapping", [write(E, "- id\n- title\n")], {(E, None, None, "type")}),
    Case("yaml-duplicate-key", [replace(E, "currency: EUR", "currency: EUR\nid: '129'")], {(E, 17, "id", "yaml")}),
    Case("yaml-missing-title", [replace(E, "title:\n  fr:", "titles:\n  fr:")],
         {(E, None, "title", "required"), (E, 3, "titles", "unknown_key")}, message="did you mean title?"),
    Case("yaml-title-missing-language", [replace(E, "  en: Cooperation against trafficking in human beings\n", "")],
         {(E, 3, "title.en", "missing_language")}),
    Case("yaml-published", [replace(E, 'published: "2014-03"', "published: March 2014")],
         {(E, 13, "published", "pattern")}),
    Case("yaml-period-reversed", [replace(E, "period_start: 2007", "period_start: 2012")],
         {(E, 15, "period_end", "range")}),
    Case("yaml-period-quoted", [replace(E, "period_end: 2011", 'period_end: "2011"')],
         {(E, 15, "period_end", "type")}),
    Case("yaml-currency", [replace(E, "currency: EUR", "currency: euro")], {(E, 16, "currency", "allowed")},
         message="did you mean EUR?"),
    Case("yaml-language-twice", [replace(E, "[fr, en]", "[fr, en, fr]")], {(E, 2, "languages", "unique")}),
    Case("yaml-language-unknown", [replace(E, "[fr, en]", "[fr, en, es]")], {(E, 2, "languages", "allowed")}),
    Case("yaml-indicator-label", [replace(E, "label: {fr: Victimes identifiées, en: Victims identified}",
                                          "label: {fr: Victimes identifiées}")],
         {(E, 23, "indicators.victims_identified.label.en", "missing_language")}),
    # structure
    Case("actions-misspelled-column", [rename_column(A, "committed", "comitted")],
         {(A, 1, "comitted", "unknown_column"), (A, 1, "committed", "missing_column")}, warnings=set(),
         message="did you mean committed?"),
    Case("actions-missing-column", [drop_column(A, "partner")], {(A, 1, "partner", "missing_column")}),
    Case("countries-duplicate-column", [rename_column(C, "name_en", "name_fr")],
         {(C, 1, "name_fr", "duplicate_column")}),
    Case("regions-missing-language-column", [drop_column(R, "name_en")], {(R, 1, "name_en", "missing_language")}),
    Case("actions-ragged-decimal-comma", [replace(A, "45000.5,45000.5", "45000,5,45000.5")],
         {(A, 4, None, "ragged_row")}, message="1234,5"),
    Case("actions-missing-cells", [replace(A, "2011,200000,50000", "2011")], {(A, 9, None, "ragged_row")}),
    # cells
    Case("amount-letter-o", [set_cell(A, 3, "committed", "12,5O0")], {(A, 3, "committed", "type")},
         message="must be a number ≥ 0, got '12,5O0'"),
    Case("amount-currency-sign", [set_cell(A, 3, "committed", "$1,000")], {(A, 3, "committed", "type")},
         message="currency sign"),
    Case("amount-negative", [set_cell(A, 3, "disbursed", "-5")], {(A, 3, "disbursed", "range")}),
    Case("amount-two-marks", [set_cell(A, 3, "committed", "1.234.567,89")], {(A, 3, "committed", "type")}),
    Case("year-outside-period", [set_cell(A, 8, "year", "2013")], {(A, 8, "year", "range")},
         message="2007 to 2011"),
    Case("year-not-a-number", [set_cell(A, 8, "year", "2O10")], {(A, 8, "year", "type")}),
    Case("channel-misspelled", [set_cell(A, 7, "channel", "multilaterla")], {(A, 7, "channel", "allowed")},
         message="did you mean multilateral?"),
    Case("pillar-unknown", [set_cell(A, 2, "pillars", "protection;punishment")], {(A, 2, "pillars", "allowed")}),
    Case("action-id-duplicated", [set_cell(A, 8, "action_id", "A-006")], {(A, 8, "action_id", "unique")},
         message="row 7"),
    Case("action-title-empty", [set_cell(A, 2, "title", "")], {(A, 2, "title", "required")}),
    Case("action-country-name", [set_cell(A, 6, "country", "Cote d'Ivoire")], {(A, 6, "country", "pattern")},
         message="did you mean CIV (Côte d’Ivoire)?"),
    Case("action-country-not-listed", [set_cell(A, 5, "country", "BEN")], {(A, 5, "country", "reference")},
         message="not in countries.csv"),
    Case("action-region-mismatch", [set_cell(A, 2, "region", "see")], {(A, 2, "region", "region_mismatch")},
         message="west-africa"),
    Case("action-region-required", [set_cell(A, 5, "country", "")], {(A, 5, "region", "required")}),
    Case("action-region-unknown", [set_cell(A, 3, "region", "south-east-europe")], {(A, 3, "region", "reference")}),
    Case("disbursed-over-committed", [set_cell(A, 4, "disbursed", "50000")],
         {(A, 4, "disbursed", "disbursed_gt_committed")}),
    Case("country-code-invalid", [set_cell(C, 6, "country", "XYZ")],
         {(C, 6, "country", "allowed"), (A, 8, "country", "reference"), (REC, 7, "scope", "reference")},
         message="not an ISO code"),
    Case("country-region-unknown", [set_cell(C, 6, "region", "asie")], {(C, 6, "region", "reference")},
         message="did you mean asia?"),
    Case("country-duplicated", [append_row(C, "NGA", "west-africa", "", "")], {(C, 7, "country", "unique")}),
    Case("region-duplicated", [append_row(R, "see", "x", "y")], {(R, 5, "region", "unique")}),
    Case("region-name-missing", [set_cell(R, 3, "name_en", "")], {(R, 3, "name_en", "missing_language")}),
    Case("region-global", [append_row(R, "global", "Monde", "World")], {(R, 5, "region", "reserved")}),
    Case("region-code-form", [append_row(R, "Latin America", "Amérique latine", "Latin America")],
         {(R, 5, "region", "pattern")}),
    Case("rating-score", [set_cell(RAT, 2, "score", "5")], {(RAT, 2, "score", "range")}),
    Case("rating-duplicated", [set_cell(RAT, 6, "criterion", "relevance")], {(RAT, 6, "action_id", "unique")},
         message="row 5"),
    Case("rating-unknown-action", [set_cell(RAT, 9, "action_id", "A-099")], {(RAT, 9, "action_id", "reference")}),
    Case("rating-criterion", [set_cell(RAT, 3, "criterion", "efficacy")], {(RAT, 3, "criterion", "allowed")}),
    Case("recommendation-scope", [set_cell(REC, 7, "scope", "Chine")], {(REC, 7, "scope", "reference")},
         message="did you mean CHN (China)?"),
    Case("recommendation-text-missing", [set_cell(REC, 4, "text_en", "")], {(REC, 4, "text_en", "missing_language")}),
    Case("recommendation-priority", [set_cell(REC, 2, "priority", "urgent")], {(REC, 2, "priority", "allowed")}),
    Case("recommendation-id-duplicated", [set_cell(REC, 3, "rec_id", "R1")], {(REC, 3, "rec_id", "unique")}),
    Case("indicator-undeclared", [set_cell(IND, 6, "indicator", "victims")], {(IND, 6, "indicator", "reference")},
         message="did you mean victims_identified?"),
    Case("indicator-duplicated", [set_cell(IND, 3, "year", "2008")], {(IND, 3, "country", "unique")}),
    Case("indicator-value", [set_cell(IND, 2, "value", "n/a")], {(IND, 2, "value", "type")}),
    # Excel rows
    Case("xlsx-year", [set_cell(A, 5, "year", "2013"), to_xlsx(A)], {("actions.xlsx", 5, "year", "range")},
         warnings={("actions.xlsx", 6, "committed", "no_amount")}),
    # narratives
    Case("narrative-latin1", [write("narrative/fr/regions/asia.md", "Coopération".encode("latin-1"))],
         {("narrative/fr/regions/asia.md", 1, None, "encoding")}),
    Case("narrative-too-large", [write("narrative/en/synthesis.md", "x" * 1_000_001)],
         {("narrative/en/synthesis.md", None, None, "file_too_large")}),
    Case("narrative-unknown-region", [write("narrative/fr/regions/sea.md", "x")], set(),
         {BASELINE_WARNING, ("narrative/fr/regions/sea.md", None, None, "unknown_narrative")}),
    # several defects in several files
    Case(
        "several",
        [
            replace(E, "currency: EUR", "currency: eur"),
            set_cell(A, 3, "committed", "12,5O0"),
            set_cell(A, 8, "year", "2013"),
            set_cell(C, 6, "region", "asie"),
            set_cell(RAT, 2, "score", "0"),
            set_cell(REC, 7, "scope", "Chine"),
            write("narrative/fr/synthesis.md", "Évaluation".encode("cp1252")),
            write("narrative/fr/regions/sea.md", "x"),
        ],
        {(E, 16, "currency", "allowed"), (A, 3, "committed", "type"), (A, 8, "year", "range"),
         (C, 6, "region", "reference"), (RAT, 2, "score", "range"), (REC, 7, "scope", "reference"),
         ("narrative/fr/synthesis.md", 1, None, "encoding")},
        {BASELINE_WARNING, ("narrative/fr/regions/sea.md", None, None, "unknown_narrative")},
    ),
]


# ---------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------


def test_the_corpus_is_made_of_distinct_cases():
    assert len({case.id for case in CASES}) == len(CASES) >= 60


def build_output(output: Path) -> dict[str, tuple[bytes, int]]:
    """An output folder with publications of an earlier build; returns its snapshot."""
    for rel, content in {"index.html": "<!DOCTYPE html><title>index</title>", "fr/synthesis.pdf": "%PDF-1.7 …",
                         "fr/synthesis.html": "<p>synthèse</p>", "data/figures.xlsx": "PK"}.items():
        path = output / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return snapshot(output)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_broken_dataset(case: Case, tiny_dataset_files, write_dataset, tmp_path):
    for mutation in case.mutations:
        mutation(tiny_dataset_files)
    data = write_dataset(tmp_path / "data", tiny_dataset_files)
    data_before = snapshot(data)
    output = tmp_path / "output"
    publications = build_output(output)

    result = validate_dataset(data, max_xlsx_bytes=case.max_xlsx_bytes)
    write_report(result.problems, output, data)

    errors = {(p.file, p.row, p.column, p.rule) for p in result.errors}
    warnings = {(p.file, p.row, p.column, p.rule) for p in result.warnings}
    assert errors == case.errors, "\n".join(map(str, result.problems))
    assert warnings == case.warnings, "\n".join(map(str, result.problems))
    assert (result.dataset is None) == bool(case.errors)
    if case.message:
        assert any(case.message in p.message for p in result.errors or result.warnings), \
            "\n".join(map(str, result.problems))
    # every problem says where and what; the report lists them all; nothing else moved
    for p in result.problems:
        assert p.message and str(p).startswith(f"{p.severity}: {p.file}")
    # every message of the corpus is said in French on a French validation page (issue 15)
    untranslated = [str(p) for p in result.problems if not is_translated(p.message, "fr")]
    assert not untranslated, "\n".join(untranslated)
    report = json.loads((output / "validation.json").read_text(encoding="utf-8"))
    assert {(r["file"], r["row"], r["column"], r["rule"]) for r in report} == errors | warnings
    after = snapshot(output)
    assert {k: v for k, v in after.items() if not k.startswith("validation.")} == publications
    assert snapshot(data) == data_before
