"""Property tests: whatever a user (or a broken program) puts in a dataset folder, validation answers with a clean
result or a list of problems, never an exception.

Datasets are the tiny valid one mangled by random mutations: random cell values and types, encodings (Latin-1,
UTF-16, random bytes), missing, extra and duplicated columns, other separators, empty and truncated files, Excel
workbooks with random cells, random YAML.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from tiers import examples

from reportgen.errors import Problem, sort_key
from reportgen.fields import CellError, parse_amount, parse_integer, parse_number
from reportgen.load import sniff_separator
from reportgen.review import is_translated
from reportgen.review import render_validation_page as render_report
from reportgen.review import validation_json as report_json
from reportgen.schema import RULES
from reportgen.validate import DATASET_COLUMNS, ValidationResult, validate_dataset

TABLE_FILES = ["regions.csv", "countries.csv", "actions.csv", "ratings.csv", "recommendations.csv", "indicators.csv"]
COLUMN_NAMES = ["action_id", "country", "region", "committed", "name_fr", "name_en", "text_fr", "year", "comitted",
                "extra", "", " ", "Country", "name_de"]

cell_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "NA", "None", "001", "-1", "1,5", "1 234,50", "$1,000", "12,5O0", "1e308", "nan", "inf",
                     "global", "XKX", "see", "A-001", "2007", "2013", "prevention;;", ";", '"', "\n", "\u00a0",
                     "=1+1", "<script>", "a" * 300]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
excel_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.dates(min_value=dt.date(1900, 3, 1)), st.sampled_from(["2009", "bilateral", "NGA", "see"]),
)
yaml_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["id", "fr", "en", "title", "unit", "label", "x"]),
                                               children, max_size=3)),
    max_leaves=10,
)


def excel_row(values: list) -> list:
    """Values openpyxl accepts (it refuses control characters in text)."""
    return [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values]


def rows_of(text: str) -> tuple[str, list[list[str]]]:
    separator = sniff_separator(text)
    return separator, list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))


def csv_text(separator: str, rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=separator, lineterminator="\n").writerows(rows)
    return out.getvalue()


@st.composite
def mutation(draw, files: dict) -> None:
    """Apply one random mutation to ``files`` (path → str or bytes)."""
    kind = draw(st.sampled_from(["cell", "cell", "cell", "encoding", "column", "separator", "truncate", "bytes",
                                 "yaml", "xlsx", "delete", "row", "narrative"]))
    text_files = [f for f in TABLE_FILES if isinstance(files.get(f), str)]
    if kind in ("cell", "column", "separator", "row") and text_files:
        name = draw(st.sampled_from(text_files))
        separator, rows = rows_of(files[name])
        rows = [row or [""] for row in rows] or [[""]]
        if kind == "cell" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = draw(cell_text)
        elif kind == "column":
            op = draw(st.sampled_from(["drop", "add", "rename", "duplicate"]))
            c = draw(st.integers(0, len(rows[0]) - 1))
            if op == "drop":
                rows = [row[:c] + row[c + 1:] for row in rows]
            elif op == "add":
                rows = [row + [draw(st.sampled_from(COLUMN_NAMES)) if i == 0 else draw(cell_text)]
                        for i, row in enumerate(rows)]
            elif op == "rename":
                rows[0][c] = draw(st.sampled_from(COLUMN_NAMES))
            else:
                rows = [row + row[c:c + 1] for row in rows]
        elif kind == "row":
            op = draw(st.sampled_from(["ragged", "duplicate", "header-only"]))
            if op == "ragged" and len(rows) > 1:
                r = draw(st.integers(1, len(rows) - 1))
                rows[r] = rows[r][: draw(st.integers(0, len(rows[r]) + 2))] + draw(st.lists(cell_text, max_size=2))
            elif op == "duplicate" and len(rows) > 1:
                rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
            else:
                rows = rows[:1]
        if kind == "separator":
            separator = draw(st.sampled_from([",", ";", "\t", "|"]))
        files[name] = csv_text(separator, rows)
    elif kind == "encoding":
        name = draw(st.sampled_from(TABLE_FILES + ["evaluation.yaml", "narrative/fr/synthesis.md"]))
        if isinstance(files.get(name), str):
            codec = draw(st.sampled_from(["latin-1", "utf-16", "utf-16-le", "cp1252", "utf-8-sig", "utf-32"]))
            files[name] = files[name].encode(codec, errors="replace")
    elif kind == "truncate":
        name = draw(st.sampled_from(TABLE_FILES + ["evaluation.yaml"]))
        if name in files:
            content = files[name]
            files[name] = content[: draw(st.integers(0, len(content)))]
    elif kind == "bytes":
        name = draw(st.sampled_from(TABLE_FILES + ["evaluation.yaml", "actions.xlsx", "narrative/en/synthesis.md"]))
        files[name] = draw(st.binary(max_size=200))
    elif kind == "yaml":
        if draw(st.booleans()):
            files["evaluation.yaml"] = yaml.safe_dump(draw(yaml_value), allow_unicode=True)
        else:
            files["evaluation.yaml"] = draw(st.text(max_size=200))
    elif kind == "xlsx":
        name = draw(st.sampled_from(TABLE_FILES))
        if isinstance(files.get(name), str):
            _, rows = rows_of(files.pop(name))
            workbook = openpyxl.Workbook()
            for row in rows:
                workbook.active.append(excel_row([draw(excel_value) if draw(st.integers(0, 9)) == 0 else v
                                                  for v in row]))
            if draw(st.booleans()):
                workbook.active.append(excel_row(draw(st.lists(excel_value, max_size=12))))
            buffer = io.BytesIO()
            workbook.save(buffer)
            files[name.replace(".csv", ".xlsx")] = buffer.getvalue()
    elif kind == "delete":
        name = draw(st.sampled_from(sorted(files)))
        del files[name]
    elif kind == "narrative":
        rel = draw(st.sampled_from(["narrative/fr/regions/asia.md", "narrative/xx/synthesis.md", "narrative/a.md",
                                    "narrative/en/countries/ZZZ.md", "narrative/fr/countries/CHN.md"]))
        files[rel] = draw(st.one_of(st.text(max_size=50), st.binary(max_size=50)))


def write(root: Path, files: dict) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", errors="surrogatepass"))


def assert_well_formed(result: ValidationResult) -> None:
    assert isinstance(result, ValidationResult)
    for p in result.problems:
        assert isinstance(p, Problem)
        assert p.rule in RULES, p
        assert p.severity == RULES[p.rule].severity or p.rule == "empty_file", p
        assert isinstance(p.file, str) and p.file and isinstance(p.message, str) and p.message
        assert p.row is None or (isinstance(p.row, int) and p.row >= 1), p
        assert p.column is None or isinstance(p.column, str)
        assert p.value is None or isinstance(p.value, str)
        assert is_translated(p.message, "fr"), p  # said in French on a French validation page (issue 15)
        str(p)
    assert result.problems == sorted(result.problems, key=sort_key)
    assert result.ok == (result.dataset is not None)
    if result.dataset is not None:
        for name in DATASET_COLUMNS:
            frame = getattr(result.dataset, name)
            assert isinstance(frame, pd.DataFrame) and frame.index.equals(pd.RangeIndex(len(frame)))
        assert str(result.dataset.actions["committed"].dtype) == "Float64"
        assert result.dataset.actions["region"].notna().all()
    json.loads(report_json(result.problems))
    render_report(result.problems, Path("data"))


@pytest.mark.slow  # the fast tier's longest test (~6 s idle even with a tenth of the examples): the full tier's
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_datasets_never_raise(tiny_dataset_files, data):
    files = dict(tiny_dataset_files)
    for _ in range(data.draw(st.integers(1, 4))):
        data.draw(mutation(files))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root, files)
        result = validate_dataset(root)
    assert_well_formed(result)
    for rule in sorted({p.rule for p in result.problems}):
        event(rule)
    event("valid" if result.ok else "invalid")


# ---------------------------------------------------------------------------------------------------------------
# Cell parsers (cheap, so many examples)
# ---------------------------------------------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=40))
def test_parsers_never_raise(text):
    for parse in (parse_amount, parse_number, parse_integer):
        result = parse(text)
        assert result is None or isinstance(result, (int, float, CellError))
    amount = parse_amount(text)
    if isinstance(amount, float):
        assert amount >= 0


@settings(max_examples=examples(300), deadline=None)
@given(units=st.integers(0, 10**12), cents=st.integers(0, 99), mark=st.sampled_from([".", ","]),
       group=st.sampled_from(["", " ", "\u00a0", "\u202f"]))
def test_amounts_written_as_documented_are_read_exactly(units, cents, mark, group):
    digits = f"{units:,}".replace(",", group) if group else str(units)
    assert parse_amount(f"{digits}{mark}{cents:02d}") == float(f"{units}.{cents:02d}")
    assert parse_amount(digits) == float(units)
