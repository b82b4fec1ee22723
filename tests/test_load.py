"""Reading files the way users write them: encodings, separators, quotes, ragged rows, Excel, YAML, limits."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from reportgen.load import (
    build_table,
    column_letter,
    decode_utf8,
    excel_text,
    list_files,
    parse_csv,
    read_bytes,
    read_table,
    read_text,
    read_yaml,
    sniff_separator,
)


def table(text: str, *, required: bool = True, name: str = "actions"):
    """Read a CSV text as ``{name}.csv``: (RawTable or None, problems as (row, column, rule))."""
    records, problems = parse_csv(text, f"{name}.csv")
    assert records is not None, problems
    raw, problems = build_table(name, f"{name}.csv", records, required=required, digest="")
    return raw, [(p.row, p.column, p.rule) for p in problems]


def xlsx_bytes(rows: list[list[object]], *, start_row: int = 1) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=start_row + offset, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, separator",
    [("a,b,c", ","), ("a;b;c", ";"), ('"a;x",b,c', ","), ('"a,b,c";d;e', ";"), ("a", ","), ("\r\na;b", ";")],
)
def test_separator_is_sniffed_from_the_header_line(header, separator):
    assert sniff_separator(header + "\n1,2;3\n") == separator


def test_cells_are_text_stripped_and_never_converted():
    raw, problems = table("a;b;c\n NA ; 001 ;None\n")
    assert problems == []
    assert raw.frame.loc[2].tolist() == ["NA", "001", "None"]


def test_rows_are_numbered_as_in_a_spreadsheet():
    text = 'a,b\n1,"two\nlines"\n\n3,4\n\n\n'
    raw, problems = table(text)
    assert problems == []
    assert raw.frame.index.tolist() == [2, 4]  # blank line 3 skipped but counted; trailing blanks ignored
    assert raw.frame.at[2, "b"] == "two\nlines"


def test_quoted_fields_may_hold_separators_and_quotes():
    raw, _ = table('a,b\n"1,5","say ""hi"""\n')
    assert raw.frame.loc[2].tolist() == ["1,5", 'say "hi"']


def test_a_bom_is_dropped():
    text, problems = decode_utf8("\ufeffa,b\n".encode("utf-8"), "x.csv")
    assert text == "a,b\n" and problems == []


def test_a_latin1_file_is_one_problem_naming_the_line():
    data = "a,b\n1,2\n3,Côte\n".encode("latin-1")
    text, problems = decode_utf8(data, "countries.csv")
    assert text is None
    [p] = problems
    assert (p.file, p.row, p.rule) == ("countries.csv", 3, "encoding")
    assert "CSV UTF-8" in p.message and "Unicode (UTF-8)" in p.message


def test_utf16_is_recognised():
    _, [p] = decode_utf8("a,b\n".encode("utf-16"), "x.csv")
    assert p.rule == "encoding" and "UTF-16" in p.message


def test_nul_characters_are_an_encoding_problem():
    _, [p] = decode_utf8(b"a,b\n1,\x00\n", "x.csv")
    assert (p.row, p.rule) == (2, "encoding")


def test_an_empty_file_is_an_error_for_required_tables_a_warning_for_optional_ones():
    raw, problems = table("")
    assert raw is None and problems == [(None, None, "empty_file")]
    records, _ = parse_csv("\n \n", "ratings.csv")
    raw, [p] = build_table("ratings", "ratings.csv", records, required=False, digest="")
    assert raw is None and p.severity == "warning"


def test_a_header_without_rows_is_an_empty_table():
    raw, problems = table("a,b\n")
    assert problems == [] and len(raw.frame) == 0 and list(raw.frame.columns) == ["a", "b"]


def test_ragged_rows_are_reported_and_kept_out_of_cell_checks():
    raw, problems = table("a,b,c\n1,2,3\n1,2\n1,2,3,4\n1,2,3,,\n")
    assert problems == [(3, None, "ragged_row"), (4, None, "ragged_row")]
    assert raw.ragged_rows == {3, 4}
    assert raw.frame.loc[3].tolist() == ["1", "2", ""]
    assert raw.frame.index.tolist() == [2, 3, 4, 5]


def test_ragged_message_explains_the_decimal_comma():
    records, _ = parse_csv("a,b\nx,1234,5\n", "actions.csv")
    _, [p] = build_table("actions", "actions.csv", records, required=True, digest="")
    assert "1234,5" in p.message and "quotes" in p.message


def test_unnamed_trailing_columns_are_ignored_unless_they_hold_values():
    raw, problems = table("a,b,,\n1,2,,\n3,4\n")
    assert problems == [] and list(raw.frame.columns) == ["a", "b"]
    _, problems = table("a,b,\n1,2,x\n")
    assert problems == [(1, None, "unknown_column")]


def test_duplicated_columns_are_reported_once_each():
    raw, problems = table("a,b,a\n1,2,3\n")
    assert problems == [(1, "a", "duplicate_column")]
    assert list(raw.frame.columns) == ["a", "b"] and raw.frame.at[2, "a"] == "1"


def test_header_may_follow_blank_lines():
    raw, problems = table("\n\na,b\n1,2\n")
    assert problems == [] and raw.header_row == 3 and raw.frame.index.tolist() == [4]


def test_a_tab_separated_file_is_explained():
    records, _ = parse_csv("a\tb\n1\t2\n", "actions.csv")
    raw, [p] = build_table("actions", "actions.csv", records, required=True, digest="")
    assert raw is None and p.rule == "format" and "tabs" in p.message


def test_an_unclosed_quote_is_a_format_problem():
    records, [p] = parse_csv('a,b\n1,"2\n3,4\n', "actions.csv")
    assert records is None and p.rule == "format"


def test_column_letters():
    assert [column_letter(n) for n in (1, 26, 27, 28, 702, 703)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


# ---------------------------------------------------------------------------------------------------------------
# Files and limits
# ---------------------------------------------------------------------------------------------------------------


def test_read_table_finds_csv_or_xlsx(tmp_path):
    assert read_table(tmp_path, "actions", required=True) == (None, [])
    (tmp_path / "actions.csv").write_text("a\n1\n", encoding="utf-8")
    raw, problems = read_table(tmp_path, "actions", required=True)
    assert raw.file == "actions.csv" and problems == [] and len(raw.sha256) == 64
    (tmp_path / "actions.xlsx").write_bytes(xlsx_bytes([["a"], [1]]))
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and (p.file, p.rule) == ("actions.csv", "duplicate_file")


def test_a_folder_in_place_of_a_file_is_a_problem(tmp_path):
    (tmp_path / "actions.csv").mkdir()
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and p.rule == "unreadable"


def test_an_unreadable_file_is_a_problem(tmp_path, monkeypatch):
    # CI runs as root, which reads any file: simulate what the kernel answers to a normal user.
    import builtins

    path = tmp_path / "actions.csv"
    path.write_text("a\n1\n")
    real_open = builtins.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and p.rule == "unreadable" and "ermission" in p.message


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    data = tmp_path / "data"
    data.mkdir()
    (data / "actions.csv").symlink_to(secret)
    raw, [p] = read_table(data, "actions", required=True)
    assert raw is None and p.rule == "outside_folder"
    (data / "evaluation.yaml").symlink_to(data / "missing")
    doc, [p] = read_yaml(data)
    assert doc is None and p.rule == "unreadable"


def test_files_over_the_limit_are_not_read(tmp_path):
    (tmp_path / "big.md").write_text("x" * 100)
    data, [p] = read_bytes(tmp_path, "big.md", limit=10)
    assert data is None and p.rule == "file_too_large"
    text, digest, problems = read_text(tmp_path, "big.md", limit=1000)
    assert text == "x" * 100 and len(digest) == 64 and problems == []


# ---------------------------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------------------------


def test_xlsx_values_read_as_the_user_sees_them(tmp_path):
    rows = [["year", "committed", "title", "when", "flag", "empty"],
            [2009.0, 1234.5, "  Appui  ", dt.datetime(2010, 3, 1), True, None],
            [2010, 0.1, "001", dt.date(2011, 1, 2), False, None]]
    (tmp_path / "actions.xlsx").write_bytes(xlsx_bytes(rows))
    raw, problems = read_table(tmp_path, "actions", required=True)
    assert problems == []
    assert raw.frame.loc[2].tolist() == ["2009", "1234.5", "Appui", "2010-03-01", "TRUE", ""]
    assert raw.frame.loc[3].tolist() == ["2010", "0.1", "001", "2011-01-02", "FALSE", ""]


def test_xlsx_rows_are_excel_rows(tmp_path):
    (tmp_path / "actions.xlsx").write_bytes(xlsx_bytes([["a", "b"], [1, 2], [None, None], [3, 4]], start_row=3))
    raw, problems = read_table(tmp_path, "actions", required=True)
    assert problems == [] and raw.header_row == 3 and raw.frame.index.tolist() == [4, 6]


@pytest.mark.parametrize("value, text", [(3.0, "3"), (1e14, "100000000000000"), (1e20, "1e+20"), (0.5, "0.5"),
                                         (dt.time(12, 30), "12:30:00"),
                                         (dt.datetime(2010, 3, 1, 8, 5), "2010-03-01 08:05:00")])
def test_excel_text(value, text):
    assert excel_text(value) == text


def test_xlsx_over_the_size_cap_is_refused_unopened(tmp_path):
    (tmp_path / "actions.xlsx").write_bytes(xlsx_bytes([["a"], [1]]))
    raw, [p] = read_table(tmp_path, "actions", required=True, max_xlsx_bytes=100)
    assert raw is None and p.rule == "file_too_large"


def test_xlsx_declaring_outsized_content_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)
    (tmp_path / "actions.xlsx").write_bytes(buffer.getvalue())
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and p.rule == "file_too_large" and "out of proportion" in p.message


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_invalid_xlsx_is_a_format_problem(tmp_path, content):
    (tmp_path / "actions.xlsx").write_bytes(content)
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and p.rule == "format"


def test_a_zip_that_is_not_a_workbook_is_a_format_problem(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    (tmp_path / "actions.xlsx").write_bytes(buffer.getvalue())
    raw, [p] = read_table(tmp_path, "actions", required=True)
    assert raw is None and p.rule == "format"


# ---------------------------------------------------------------------------------------------------------------
# YAML and narratives
# ---------------------------------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "evaluation.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return tmp_path


def test_yaml_keys_have_lines(tmp_path):
    doc, problems = read_yaml(write(tmp_path, "id: '1'\ntitle:\n  fr: x\n  en: y\n"))
    assert problems == [] and doc.data["title"] == {"fr": "x", "en": "y"}
    assert doc.lines[("title", "en")] == 4 and len(doc.sha256) == 64


@pytest.mark.parametrize(
    "text, row",
    [("id: [1\n", 2), ("a: b\n\tc: d\n", 2), ("a: 1\n  b: 2\n", 2), ("a: !!python/object:os.system x\n", 1)],
)
def test_broken_yaml_is_one_problem_with_its_line(tmp_path, text, row):
    doc, [p] = read_yaml(write(tmp_path, text))
    assert doc is None and p.rule == "yaml" and p.row == row


def test_yaml_values_python_cannot_build_are_problems(tmp_path):
    doc, [p] = read_yaml(write(tmp_path, "published: 2014-02-30\n"))
    assert doc is None and p.rule == "yaml"


@pytest.mark.slow  # a YAML bomb on purpose (~3 s): the full tier's
def test_deeply_nested_yaml_is_a_problem(tmp_path):
    doc, [p] = read_yaml(write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert doc is None and p.rule == "yaml"


def test_duplicated_yaml_keys_are_reported(tmp_path):
    doc, [p] = read_yaml(write(tmp_path, "id: '1'\ntitle: {fr: a}\nid: '2'\n"))
    assert (p.row, p.column, p.rule) == (3, "id", "yaml")


def test_yaml_in_latin1_is_an_encoding_problem(tmp_path):
    doc, [p] = read_yaml(write(tmp_path, "evaluator: Société\n".encode("latin-1")))
    assert doc is None and (p.row, p.rule) == (1, "encoding")


def test_missing_yaml_is_none_without_problem(tmp_path):
    assert read_yaml(tmp_path) == (None, [])


def test_list_files_walks_without_following_folder_links(tmp_path):
    (tmp_path / "narrative" / "fr" / "regions").mkdir(parents=True)
    (tmp_path / "narrative" / "fr" / "synthesis.md").write_text("x")
    (tmp_path / "narrative" / "fr" / "regions" / "see.md").write_text("x")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.md").write_text("x")
    (tmp_path / "narrative" / "en").symlink_to(tmp_path / "elsewhere")
    assert list_files(tmp_path, "narrative") == (["narrative/en", "narrative/fr/regions/see.md",
                                                  "narrative/fr/synthesis.md"], [])
    assert list_files(tmp_path, "nothing") == ([], [])


def test_xlsx_short_rows_are_padded_and_values_without_a_column_name_reported(tmp_path):
    (tmp_path / "actions.xlsx").write_bytes(xlsx_bytes([["a", "b"], [1], [1, 2, None], [1, 2, 3]]))
    raw, problems = read_table(tmp_path, "actions", required=True)
    assert [(p.row, p.rule) for p in problems] == [(1, "unknown_column")]
    assert "column C" in problems[0].message
    assert raw.frame.loc[2].tolist() == ["1", ""]


def test_a_folder_that_cannot_be_listed_is_a_problem(tmp_path, monkeypatch):
    (tmp_path / "narrative" / "fr").mkdir(parents=True)

    def walk(top, followlinks, onerror):
        onerror(PermissionError(13, "Permission denied", str(Path(top) / "fr")))
        return iter(())

    monkeypatch.setattr("reportgen.load.os.walk", walk)
    files, [p] = list_files(tmp_path, "narrative")
    assert files == [] and (p.file, p.rule) == ("narrative/fr", "unreadable")
