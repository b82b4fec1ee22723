"""Data files: CSV format, the workbook, formula-injection neutralisation, reproducible bytes, write-if-changed."""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from reportgen.errors import ReportgenError
from reportgen.export import neutralise, render_csv, render_xlsx, write_data

EPOCH = 1_394_000_000  # 2014-03-05T06:13:20Z


def tables() -> dict[str, pd.DataFrame]:
    return {
        "commitments_by_country": pd.DataFrame(
            {
                "country": pd.array(["NGA", "ALB", "SRB"], dtype="string"),
                "name_fr": pd.array(["Nigéria", "Albanie", "=cmd|' /C calc'!A0"], dtype="string"),
                "committed": [1_000_000.0, 1234.5678, 0.0],
                "actions": np.array([3, 1, 0], dtype="int64"),
                "share": [0.8, 1 / 3, 0.0],
                "rank": np.array([1, 2, 3], dtype="int64"),
            }
        ),
        "actions": pd.DataFrame(
            {
                "action_id": ["A1", "A2", "A3", "A4"],
                "title": pd.array(["+SUM(A1:A2)", "-2+3", "@here", 'Say "hi", then\nleave'], dtype="string"),
                "partner": pd.array(["\tTAB", "\rCR", "IOM", None], dtype="string"),
                "year": pd.array([2007, 2008, 2009, 2010], dtype="Int64"),
                "committed": pd.array([-5.0, None, 12_345_678.9, 1e-3], dtype="Float64"),
                "disbursed": [np.nan, 2.0, 3.006, 1e15],
            }
        ),
    }


# --------------------------------------------------------------------------------------------------------------------
# Neutralisation
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "  =1+1", "\n=cmd", "\x00-x"])
def test_text_that_a_spreadsheet_would_evaluate_is_prefixed(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["IOM", "", "a=b", "1-2", "'=already", " text", "Côte d'Ivoire"])
def test_other_text_is_unchanged(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-5, -5.5, 0, 3.0, np.float64(-1.0), np.int64(-7), None, pd.NA, True])
def test_numbers_and_missing_values_are_never_touched(value):
    assert neutralise(value) is value


def parse(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_neutralises_text_but_not_negative_numbers():
    rows = parse(render_csv(tables()["actions"]))
    assert rows[1] == ["A1", "'+SUM(A1:A2)", "'\tTAB", "2007", "-5", ""]  # -5: a number, untouched
    assert rows[2][:3] == ["A2", "'-2+3", "'\rCR"]
    assert rows[3][1] == "'@here"


def test_xlsx_neutralises_text_but_not_numbers(tmp_path):
    path = tmp_path / "f.xlsx"
    path.write_bytes(render_xlsx(tables(), epoch=EPOCH))
    wb = openpyxl.load_workbook(path)
    ws = wb["actions"]
    assert ws["B2"].value == "'+SUM(A1:A2)" and ws["B2"].data_type == "s"
    assert ws["B3"].value == "'-2+3"
    assert ws["C2"].value == "'\tTAB"
    assert ws["E2"].value == -5 and ws["E2"].data_type == "n"
    by_country = wb["commitments_by_country"]
    assert by_country["B4"].value == "'=cmd|' /C calc'!A0" and by_country["B4"].data_type == "s"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"


# --------------------------------------------------------------------------------------------------------------------
# CSV format
# --------------------------------------------------------------------------------------------------------------------


def test_csv_format():
    data = render_csv(tables()["commitments_by_country"])
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r\n" not in data
    assert data.decode("utf-8") == (
        "country,name_fr,committed,actions,share,rank\n"
        "NGA,Nigéria,1000000,3,0.8,1\n"
        "ALB,Albanie,1234.57,1,0.333333,2\n"
        "SRB,'=cmd|' /C calc'!A0,0,0,0,3\n"
    )


def test_csv_numbers_are_plain_and_na_is_empty():
    data = render_csv(tables()["actions"])
    text = data.decode("utf-8")
    assert "e+" not in text and "E+" not in text and "e-" not in text
    rows = parse(data)
    assert [r[3] for r in rows[1:]] == ["2007", "2008", "2009", "2010"]  # integers as integers
    assert [r[4] for r in rows[1:]] == ["-5", "", "12345678.9", "0"]  # 0.001 at two decimals: "0", not "0.00"
    assert [r[5] for r in rows[1:]] == ["", "2", "3.01", "1000000000000000"]  # never 1e+15
    assert rows[4][2] == ""  # NA text: an empty field


def test_csv_quotes_separators_quotes_and_line_breaks():
    data = render_csv(tables()["actions"])
    assert b'"Say ""hi"", then\nleave"' in data
    assert b'"\'\rCR"' in data  # a bare CR is quoted too
    assert b"\r\n" not in data
    assert len(parse(data)) == 5


def test_csv_object_columns_with_numbers_stay_numbers():
    t = pd.DataFrame({"v": pd.Series([-1, 2.5, "-x", None], dtype=object)})
    assert render_csv(t).decode() == 'v\n-1\n2.5\n\'-x\n""\n'  # a lone empty field is written ""


# --------------------------------------------------------------------------------------------------------------------
# Workbook
# --------------------------------------------------------------------------------------------------------------------


def test_xlsx_sheets_values_header_and_formats(tmp_path):
    written = write_data(tables(), tmp_path, epoch=EPOCH)
    wb = openpyxl.load_workbook(tmp_path / "figures.xlsx")
    assert wb.sheetnames == ["commitments_by_country", "actions"]
    ws = wb["commitments_by_country"]
    assert [c.value for c in ws[1]] == ["country", "name_fr", "committed", "actions", "share", "rank"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[2]] == ["NGA", "Nigéria", 1_000_000, 3, 0.8, 1]
    assert ws["C3"].value == pytest.approx(1234.57) and ws["C3"].number_format == "#,##0.00"
    assert ws["E3"].number_format == "0.00%" and ws["F3"].number_format == "0"
    assert 8 <= ws.column_dimensions["B"].width <= 60
    a = wb["actions"]
    assert a["D2"].value == 2007 and a["D2"].number_format == "0"  # years never grouped
    assert a["E3"].value is None  # NA: an empty cell
    assert a["C5"].value is None
    assert written == [tmp_path / "commitments_by_country.csv", tmp_path / "actions.csv", tmp_path / "figures.xlsx"]


def test_long_table_names_become_valid_unique_sheet_names(tmp_path):
    t = pd.DataFrame({"x": [1]})
    names = {"a" * 40: t, "a" * 35: t, "b": t}
    write_data(names, tmp_path, epoch=EPOCH)
    sheetnames = openpyxl.load_workbook(tmp_path / "figures.xlsx").sheetnames
    assert all(len(n) <= 31 for n in sheetnames)
    assert len({n.lower() for n in sheetnames}) == 3


def test_unsafe_table_names_are_refused(tmp_path):
    with pytest.raises(ReportgenError, match="table name"):
        write_data({"../evil": pd.DataFrame({"x": [1]})}, tmp_path, epoch=EPOCH)
    assert list(tmp_path.iterdir()) == []  # checked before anything is written


def test_characters_xml_cannot_hold_do_not_break_the_workbook(tmp_path):
    t = pd.DataFrame({"title": ["a\x01b", "\x02=1+1"]})
    write_data({"t": t}, tmp_path, epoch=EPOCH)
    ws = openpyxl.load_workbook(tmp_path / "figures.xlsx")["t"]
    assert [ws["A2"].value, ws["A3"].value] == ["ab", "'=1+1"]


# --------------------------------------------------------------------------------------------------------------------
# Reproducible bytes, write-if-changed, stale files
# --------------------------------------------------------------------------------------------------------------------


def test_two_runs_in_different_folders_give_identical_bytes(tmp_path):
    a, b = tmp_path / "a" / "data", tmp_path / "b" / "data"
    write_data(tables(), a, epoch=EPOCH)
    time.sleep(1.1)  # core.xml has a one-second resolution: a clock leak would show (zip dates: next test)
    write_data(tables(), b, epoch=EPOCH)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) == ["actions.csv", "commitments_by_country.csv",
                                                            "figures.xlsx"]
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_workbook_dates_come_from_epoch(tmp_path):
    data = render_xlsx(tables(), epoch=EPOCH)
    (tmp_path / "f.xlsx").write_bytes(data)
    with zipfile.ZipFile(tmp_path / "f.xlsx") as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(2014, 3, 5, 6, 13, 20)}
        core = z.read("docProps/core.xml").decode()
    assert core.count("2014-03-05T06:13:20Z") == 2
    props = openpyxl.load_workbook(tmp_path / "f.xlsx").properties
    assert props.created.year == props.modified.year == 2014
    assert render_xlsx(tables(), epoch=EPOCH + 86_400) != data  # the epoch, not the clock, decides


def test_epoch_before_1980_is_clamped_for_zip(tmp_path):
    (tmp_path / "f.xlsx").write_bytes(render_xlsx(tables(), epoch=0))
    with zipfile.ZipFile(tmp_path / "f.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_unchanged_files_keep_their_mtime(tmp_path):
    write_data(tables(), tmp_path, epoch=EPOCH)
    past = 1_000_000_000
    for p in tmp_path.iterdir():
        os.utime(p, (past, past))
    changed = tables()
    changed["actions"].loc[0, "title"] = "new title"
    written = write_data(changed, tmp_path, epoch=EPOCH)
    assert len(written) == 3
    mtimes = {p.name: p.stat().st_mtime for p in tmp_path.iterdir()}
    assert mtimes["commitments_by_country.csv"] == past
    assert mtimes["actions.csv"] != past and mtimes["figures.xlsx"] != past


def test_stale_csvs_are_removed_and_nothing_else(tmp_path):
    (tmp_path / "old_table.csv").write_text("x\n1\n")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "sub").mkdir()
    write_data(tables(), tmp_path, epoch=EPOCH)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "actions.csv", "commitments_by_country.csv", "figures.xlsx", "notes.txt", "sub",
    ]


def test_no_temporary_files_left(tmp_path):
    write_data(tables(), tmp_path, epoch=EPOCH)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_empty_tables_and_no_tables(tmp_path):
    empty = pd.DataFrame({"country": pd.Series(dtype="str"), "committed": pd.Series(dtype="float64")})
    assert render_csv(empty) == b"country,committed\n"
    write_data({"empty": empty}, tmp_path / "a", epoch=EPOCH)
    ws = openpyxl.load_workbook(tmp_path / "a" / "figures.xlsx")["empty"]
    assert [c.value for c in ws[1]] == ["country", "committed"] and ws.max_row == 1
    assert write_data({}, tmp_path / "b", epoch=EPOCH) == [tmp_path / "b" / "figures.xlsx"]
    assert openpyxl.load_workbook(tmp_path / "b" / "figures.xlsx").sheetnames == ["figures"]


def test_tables_to_csv_bytes_matches_the_written_files(tmp_path):
    from reportgen.export import tables_to_csv_bytes

    write_data(tables(), tmp_path, epoch=EPOCH)
    as_bytes = tables_to_csv_bytes(tables())
    assert list(as_bytes) == list(tables())
    for name, data in as_bytes.items():
        assert (tmp_path / f"{name}.csv").read_bytes() == data


def test_the_illegal_characters_are_openpyxls():
    """reportgen.export keeps its own copy of the pattern (importing openpyxl for it slowed every render job)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as openpyxls

    from reportgen.export import ILLEGAL_CHARACTERS_RE

    assert ILLEGAL_CHARACTERS_RE.pattern == openpyxls.pattern
    every_char = "".join(map(chr, range(0x110000 // 64)))
    assert ILLEGAL_CHARACTERS_RE.sub("", every_char) == openpyxls.sub("", every_char)
