"""The console's output policy: repeated problems grouped by file, column and kind, with the value the fix gives
where it is unambiguous; --verbose (REPORTGEN_VERBOSE) brings every line back; validation.json keeps them all."""

from __future__ import annotations

import json

import pytest

from reportgen import cli
from reportgen.console import VERBOSE_ENV, group_problems, problem_lines, suggested_value
from reportgen.errors import Problem


def cell(row, value, column="committed", rule="type", severity="error", file="actions.csv"):
    return Problem(file, row, column, value, rule, severity, f"must be a number ≥ 0, got {value!r}; write the "
                                                               "number only")


@pytest.mark.parametrize("value, fixed", [
    ("$330,568", "330568"), ("330,568.50 USD", "330568.50"), ("€ 1 234 567", "1234567"), ("EUR 1200", "1200"),
    ("Not Listed", ""), ("n/a", ""), ("1,5", None), ("12,5O0", None), ("about 300", None),
])
def test_the_fix_gives_a_value_only_where_it_is_unambiguous(value, fixed):
    assert suggested_value(cell(2, value)) == fixed


def test_not_listed_is_left_empty_only_where_the_column_takes_an_empty_cell():
    assert suggested_value(cell(2, "Not Listed", column="year")) is None  # a year is required


def test_repeated_problems_are_one_line_per_file_column_and_kind(monkeypatch):
    monkeypatch.setenv(VERBOSE_ENV, "0")  # restored after the test, which turns it on
    problems = ([cell(r, "$330,568") for r in range(2, 2000, 2)] + [cell(r, "Not Listed") for r in range(3, 900, 2)]
                + [Problem("actions.csv", r, "partner", None, "required", "error", "must not be empty (implementing "
                           "partner)") for r in range(2, 1871)]
                + [Problem("countries.csv", 4, "region", "xx", "reference", "error", "must be a region of "
                           "regions.csv, got 'xx'")])
    groups = group_problems(problems)
    assert [(g.file, g.column, g.count) for g in groups] == [
        ("actions.csv", "committed", 999 + 449), ("actions.csv", "partner", 1869), ("countries.csv", "region", 1)]
    lines = problem_lines(problems, report="out/validation.html")
    assert len(lines) == 4
    assert lines[0].startswith("error: actions.csv: committed: 1,448 rows: must be a number ≥ 0 (rows 2, 3, 4, 5, 6 …)")
    assert "'$330,568' → 330568 ×999" in lines[0]
    assert "'Not Listed' → leave the cell empty (not reported) ×449" in lines[0]
    assert lines[1].startswith("error: actions.csv: partner: 1,869 rows: must not be empty")
    assert lines[2] == "error: countries.csv:4: region: must be a region of regions.csv, got 'xx'"  # alone: as it is
    assert lines[3] == "every row of these is listed in out/validation.html"


def test_verbose_prints_every_problem(monkeypatch):
    problems = [cell(r, "$330,568") for r in range(2, 12)]
    monkeypatch.setenv(VERBOSE_ENV, "1")
    assert problem_lines(problems) == [str(p) for p in problems]


def test_reportgen_validate_groups_and_the_report_keeps_every_problem(tiny_dataset_dir, tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.setenv(VERBOSE_ENV, "0")  # restored after the test, which turns it on
    actions = tiny_dataset_dir / "actions.csv"
    lines = actions.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    at = header.index("committed")
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) == len(header):
            cells[at] = "Not Listed"
        rows.append(",".join(cells))
    actions.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    bad = sum(1 for r in rows if "Not Listed" in r)
    assert bad >= 3
    out = tmp_path / "out"
    assert cli.main(["validate", str(tiny_dataset_dir), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    grouped = [line for line in err.splitlines() if line.startswith("error: actions.csv: committed:")]
    assert len(grouped) == 1 and f"{bad} rows" in grouped[0] and "leave the cell empty" in grouped[0], err
    report = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert sum(1 for p in report if p["column"] == "committed" and p["value"] == "Not Listed") == bad

    assert cli.main(["--verbose", "validate", str(tiny_dataset_dir)]) == 1
    err = capsys.readouterr().err
    assert sum(1 for line in err.splitlines() if line.startswith("error: actions.csv:") and "Not Listed" in line) == bad
