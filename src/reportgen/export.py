"""The figures as data files: one CSV per table and one XLSX workbook, safe to open and byte-reproducible.

``{output}/data/{table}.csv`` and ``{output}/data/figures.xlsx`` (a sheet per table) carry every table that the
publications show (:func:`reportgen.aggregate.data_tables`), so that any figure can be checked and reused.

- **Formula injection** (OWASP "CSV injection"): text from the dataset is untrusted. A text cell whose first
  character is ``=``, ``+``, ``-``, ``@``, TAB or CR — or whose first character after leading spaces and control
  characters is ``=``, ``+``, ``-`` or ``@`` — is prefixed with ``'`` in both the CSV and the workbook, so that a
  spreadsheet shows it as text instead of evaluating it. Numbers are never touched: a negative amount stays a
  number. In the workbook a neutralised text is a plain string cell (never a formula cell).
- **CSV**: UTF-8 without BOM, a header row, ``,`` separator, LF line endings, minimal quoting; NA as an empty field;
  integers as integers; floats in fixed notation (never ``1e+06``), at most 2 decimals for amounts
  (:data:`AMOUNT_COLUMNS`) and 6 for other floats (shares, means, indicator values), trailing zeros dropped.
- **XLSX**: one sheet per table (name ≤ 31 characters), header row bold and frozen, reasonable column widths, numbers
  as numbers with a number format (amounts ``#,##0.00``, shares ``0.00%``, integers ``0`` so that years are never
  grouped). Bytes are reproducible: the document properties' created/modified times come from ``epoch``, and the
  zip is rewritten with every entry dated ``epoch`` (UTC; 1980-01-01 at the earliest, the zip format's limit),
  in name order, deflated at a fixed level, with fixed attributes.
- Every file goes through :func:`reportgen.atomic.write_if_changed` (an unchanged file keeps its bytes and mtime),
  and CSV files of tables no longer produced are removed from ``data_dir`` (only ``*.csv``: nothing else there is
  touched). Everything is rendered in memory before anything is written.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .atomic import write_if_changed
from .errors import ReportgenError

#: The control characters a workbook cell cannot hold (openpyxl's ``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``,
#: compared in tests/test_export.py): copied, because importing openpyxl for it cost 0.1 s of every render job.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

__all__ = [
    "AMOUNT_COLUMNS", "WORKBOOK_NAME", "neutralise", "render_csv", "render_xlsx", "tables_to_csv_bytes", "write_data",
]

WORKBOOK_NAME = "figures.xlsx"
#: Columns holding amounts in the evaluation's currency: at most 2 decimals.
AMOUNT_COLUMNS = frozenset({"committed", "disbursed"})
AMOUNT_DIGITS = 2
OTHER_DIGITS = 6
TABLE_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,99}")

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_LEADING = "".join(chr(c) for c in range(0x21)) + "\x7f"  # spaces and control characters
_MAX_SHEET_NAME = 31
_MAX_CELL_TEXT = 32_767  # Excel's limit for the text of a cell
_ZIP_EPOCH_MIN = (1980, 1, 1, 0, 0, 0)

AMOUNT_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.00%"
INTEGER_FORMAT = "0"
FLOAT_FORMAT = "0.00####"


# --------------------------------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Prefix a text that a spreadsheet would read as a formula with ``'``; return anything else unchanged.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-5"), neutralise(-5), neutralise("IOM")
    ('\\'=HYPERLINK("http://x")', "'-5", -5, 'IOM')
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_TRIGGERS) or value.lstrip(_LEADING).startswith(_TRIGGERS[:4]):
        return "'" + value
    return value


def _is_amount(column: str) -> bool:
    return column in AMOUNT_COLUMNS or column.startswith(tuple(f"{c}_" for c in AMOUNT_COLUMNS))


def _digits(column: str) -> int:
    return AMOUNT_DIGITS if _is_amount(column) else OTHER_DIGITS


def _format_float(x: float, digits: int) -> str:
    """Fixed notation with at most ``digits`` decimals, trailing zeros dropped: 1000000.0 -> "1000000"."""
    if math.isnan(x):
        return ""
    if math.isinf(x):
        raise ReportgenError(f"cannot export an infinite number ({x}); this is a bug in the figures, please report it")
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


def _kind(series: pd.Series) -> str:
    """"int", "float", "bool" or "other" (text or mixed: decided cell by cell)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "other"


def _values(series: pd.Series) -> list[Any]:
    """Python values with every missing value as None."""
    return [None if _missing(v) else v for v in series.astype(object).tolist()]


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


# --------------------------------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------------------------------


def _csv_column(series: pd.Series, column: str) -> list[str]:
    kind = _kind(series)
    digits = _digits(column)
    values = _values(series)
    if kind == "int":
        return ["" if v is None else str(int(v)) for v in values]
    if kind == "float":
        return ["" if v is None else _format_float(float(v), digits) for v in values]
    if kind == "bool":
        return ["" if v is None else ("true" if v else "false") for v in values]
    out = []
    texts: dict[str, str] = {}  # a column repeats its texts (codes, channels, partners): each is neutralised once
    for v in values:
        if v is None:
            out.append("")
        elif _is_number(v):
            out.append(str(int(v)) if isinstance(v, (numbers.Integral, np.integer)) else _format_float(float(v), digits))
        elif isinstance(v, str):
            text = texts.get(v)
            if text is None:
                text = texts[v] = neutralise(v)
            out.append(text)
        else:
            out.append(neutralise(str(v)))
    return out


def _csv_cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The header and the columns, as the CSV shows them."""
    header = [neutralise(str(c)) for c in table.columns]
    columns = [_csv_column(table.iloc[:, i], str(c)) for i, c in enumerate(table.columns)]
    return header, columns


_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_field(text: str) -> str:
    """RFC 4180 quoting: a field with a comma, a quote, a CR or a LF is quoted, its quotes doubled."""
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def _csv_line(fields: Iterable[str]) -> str:
    fields = list(fields)
    if fields == [""]:
        return '""\n'  # a lone empty field: a blank line would be skipped by readers
    return ",".join(map(_csv_field, fields)) + "\n"


def render_csv(table: pd.DataFrame) -> bytes:
    """One table as UTF-8 CSV bytes (header, ``,``, LF, minimal quoting, NA empty, numbers unchanged).

    Quoting is done here rather than by the csv module, whose writer leaves a bare CR unquoted when the line
    terminator is LF (Python < 3.12), which readers would take for a line break.
    """
    return _csv_bytes(*_csv_cells(table))


def tables_to_csv_bytes(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """Every table as CSV bytes, by name (same bytes as :func:`write_data` writes), e.g. for PDF/A attachments."""
    return {name: render_csv(table) for name, table in tables.items()}


def _csv_bytes(header: list[str], columns: list[list[str]]) -> bytes:
    return "".join([_csv_line(header), *map(_csv_line, zip(*columns))]).encode("utf-8")


# --------------------------------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------------------------------


def _sheet_names(names: Iterable[str]) -> list[str]:
    """Excel sheet names: ≤ 31 characters, no []:*?/\\ , unique without regard to case."""
    used: set[str] = set()
    out = []
    for name in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", name)[:_MAX_SHEET_NAME] or "sheet"
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            suffix = f"~{n}"
            candidate = base[: _MAX_SHEET_NAME - len(suffix)] + suffix
        used.add(candidate.lower())
        out.append(candidate)
    return out


def _number_format(column: str, kind: str) -> str:
    if column == "share" or column.startswith("share_"):
        return SHARE_FORMAT
    if _is_amount(column):
        return AMOUNT_FORMAT
    if kind == "int":
        return INTEGER_FORMAT
    return FLOAT_FORMAT


def _xlsx_text(v: Any) -> str:
    """Text for a cell: characters XML cannot hold removed, Excel's length limit, then neutralised."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(v))[:_MAX_CELL_TEXT]
    return neutralise(text)


def _xlsx_column(series: pd.Series, column: str) -> list[tuple[str, Any, str | None]]:
    """Each cell of a column as (kind, value, number format): kind is "blank", "number", "bool" or "text"."""
    kind = _kind(series)
    digits = _digits(column)
    values = _values(series)

    def number(v: Any, fmt: str) -> tuple[str, Any, str | None]:
        if isinstance(v, (numbers.Integral, np.integer)):
            value: Any = int(v)
        else:
            value = round(float(v), digits)
            if math.isinf(value) or math.isnan(value):
                raise ReportgenError(f"cannot export an infinite number in {column}; this is a bug, please report it")
        return ("number", value, fmt)

    blank = ("blank", None, None)
    if kind in ("int", "float"):
        fmt = _number_format(column, kind)
        return [blank if v is None else number(v, fmt) for v in values]
    if kind == "bool":
        return [blank if v is None else ("bool", bool(v), None) for v in values]
    out: list[tuple[str, Any, str | None]] = []
    texts: dict[str, tuple[str, Any, str | None]] = {}  # each repeated text of the column made a cell once
    for v in values:
        if v is None:
            out.append(blank)
        elif _is_number(v):
            k = "int" if isinstance(v, (numbers.Integral, np.integer)) else "float"
            out.append(number(v, _number_format(column, k)))
        elif isinstance(v, str):
            cell = texts.get(v)
            if cell is None:
                cell = texts[v] = ("text", _xlsx_text(v), None)
            out.append(cell)
        else:
            out.append(("text", _xlsx_text(v), None))
    return out


def _width(header: str, cells: list[str]) -> float:
    longest = max([len(header), *(len(c) for c in cells)]) if cells else len(header)
    return float(min(60, max(8, longest + 2)))


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    t = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    return max(_ZIP_EPOCH_MIN, (t.year, t.month, t.day, t.hour, t.minute, t.second))


def _reproducible_zip(data: bytes, epoch: int) -> bytes:
    """The same archive with fixed entry order, dates, attributes and compression."""
    when = _zip_time(epoch)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in sorted(src.namelist()):
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(name), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def render_xlsx(tables: dict[str, pd.DataFrame], *, epoch: int) -> bytes:
    """The workbook: a sheet per table, header bold and frozen, numbers as numbers; reproducible bytes."""
    return _xlsx_bytes(tables, {name: _csv_cells(t) for name, t in tables.items()}, epoch)


def _xlsx_bytes(
    tables: dict[str, pd.DataFrame], cells: dict[str, tuple[list[str], list[list[str]]]], epoch: int
) -> bytes:
    """``cells``: each table as the CSV shows it, for the column widths.

    Written with XlsxWriter in constant-memory mode (rows streamed to the sheet as they come): on a 20,000-action
    dataset it takes about half the time of openpyxl's write-only mode. Cells are written by type, never guessed
    from text (no string becomes a number, a formula or a link).
    """
    import xlsxwriter  # start-up time: only the data job writes the workbook

    stamp = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).replace(tzinfo=None)
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"author": "reportgen", "created": stamp})
    bold = wb.add_format({"bold": True})
    formats: dict[str, Any] = {}

    def fmt(number_format: str):
        if number_format not in formats:
            formats[number_format] = wb.add_format({"num_format": number_format})
        return formats[number_format]

    items = list(tables.items()) or [("figures", pd.DataFrame())]  # a workbook needs a sheet
    for sheet, (name, table) in zip(_sheet_names(name for name, _ in items), items):
        ws = wb.add_worksheet(sheet)
        header, csv_columns = cells[name] if name in cells else _csv_cells(table)
        for i, (title, shown) in enumerate(zip(header, csv_columns)):
            ws.set_column(i, i, _width(title, shown))
        ws.freeze_panes(1, 0)
        for i, title in enumerate(header):
            ws.write_string(0, i, _xlsx_text(title), bold)
        columns = [_xlsx_column(table.iloc[:, i], str(c)) for i, c in enumerate(table.columns)]
        for r, row in enumerate(zip(*columns), start=1):
            for c, (kind, value, number_format) in enumerate(row):
                if kind == "number":
                    ws.write_number(r, c, value, fmt(number_format))  # type: ignore[arg-type]
                elif kind == "text":
                    ws.write_string(r, c, value)
                elif kind == "bool":
                    ws.write_boolean(r, c, value)
    wb.close()
    return _reproducible_zip(buffer.getvalue(), epoch)


# --------------------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------------------


def write_data(tables: dict[str, pd.DataFrame], data_dir: Path, *, epoch: int) -> list[Path]:
    """Write ``{name}.csv`` for every table and ``figures.xlsx``, each only if changed; remove stale CSVs.

    Returns the paths of the files produced (written or left unchanged), CSVs in table order, then the workbook.
    """
    data_dir = Path(data_dir)
    for name in tables:
        if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
            raise ReportgenError(
                f"cannot export table {name!r}: a table name must be lower-case letters, digits and '_' "
                "(it becomes a file name)"
            )
    cells = {name: _csv_cells(table) for name, table in tables.items()}
    files: dict[Path, bytes] = {data_dir / f"{name}.csv": _csv_bytes(*cells[name]) for name in tables}
    files[data_dir / WORKBOOK_NAME] = _xlsx_bytes(tables, cells, epoch)
    for path, data in files.items():
        write_if_changed(path, data)
    produced = {p.name for p in files}
    for stale in sorted(data_dir.glob("*.csv")):
        if stale.name not in produced and stale.is_file():
            try:
                stale.unlink()
            except OSError as exc:
                raise ReportgenError(f"cannot remove the stale data file {stale}: {exc.strerror or exc}") from None
    return list(files)
