"""Reading a dataset folder as text, the way users write it.

Tables (CSV or the first sheet of an .xlsx workbook), ``evaluation.yaml`` and Markdown narratives are read into raw
text, with their spreadsheet row numbers, and every reading failure (a missing or unreadable file, a wrong encoding,
a ragged row, an outsized workbook, broken YAML) becomes a :class:`~reportgen.errors.Problem`: nothing here raises on
bad data and nothing is converted (``NA``, ``001`` or ``None`` stay text). Typing and checking are
:mod:`reportgen.validate`'s business.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .errors import English, Msg, Number, Problem, Severity
from .i18n import N_

MAX_CSV_BYTES = 100_000_000
MAX_YAML_BYTES = 1_000_000
MAX_MARKDOWN_BYTES = 1_000_000
MAX_XLSX_UNCOMPRESSED = 500_000_000  # bytes declared by the zip entries of a workbook, all together
MAX_XLSX_RATIO = 20  # declared size / file size above which a workbook (over the floor below) is refused
XLSX_RATIO_FLOOR = 10_000_000  # below this declared size, any ratio is harmless
SEPARATORS = (",", ";")

RESAVE_HINT = Msg(N_("re-save it as UTF-8: in Excel, Save As ▸ %(excel)s; in LibreOffice, Save As ▸ %(calc)s with "
                      "character set %(charset)s"), excel="'CSV UTF-8 (Comma delimited)'", calc="'Text CSV'",
                  charset="'Unicode (UTF-8)'")


def problem(file: str, rule: str, message: str, *, row: int | None = None, column: str | None = None,
            value: str | None = None, severity: Severity = "error") -> Problem:
    """A :class:`Problem`, arguments by name."""
    return Problem(file=file, row=row, column=column, value=value, rule=rule, severity=severity, message=message)


def column_letter(position: int) -> str:
    """Spreadsheet letter of a 1-based column position: 1 → A, 28 → AB."""
    letters = ""
    while position > 0:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ---------------------------------------------------------------------------------------------------------------
# Bytes
# ---------------------------------------------------------------------------------------------------------------


def exists(root: Path, rel: str) -> bool:
    """Whether ``rel`` names something in ``root`` (a broken link counts: reading it will say why it fails)."""
    path = root / rel
    try:
        return path.exists() or path.is_symlink()
    except OSError:  # e.g. a folder that cannot be searched: reading will report it
        return True


def read_bytes(root: Path, rel: str, *, limit: int) -> tuple[bytes | None, list[Problem]]:
    """The bytes of ``root/rel``, or None and a problem: not a regular file, a link out of ``root``, over
    ``limit`` bytes (refused before reading), or any OSError."""
    path = root / rel
    try:
        resolved = path.resolve(strict=True)
        if not resolved.is_relative_to(root.resolve(strict=True)):
            return None, [problem(rel, "outside_folder", Msg(N_("is a link to %(target)s, outside the dataset "
                                                                "folder; copy the file into the folder instead"),
                                                             target=str(resolved)))]
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None, [problem(rel, "unreadable", Msg(N_("is not a regular file; replace it with a file")))]
        if info.st_size > limit:
            return None, [problem(rel, "file_too_large",
                                  Msg(N_("is %(size)s bytes, over the limit of %(limit)s bytes; make it smaller"),
                                      size=Number(info.st_size), limit=Number(limit)))]
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            return None, [problem(rel, "file_too_large", Msg(N_("is over the limit of %(limit)s bytes; make it "
                                                                "smaller"), limit=Number(limit)))]
        return data, []
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on some Python versions
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return None, [problem(rel, "unreadable", Msg(N_("cannot be read: %(reason)s; check that it is a readable "
                                                        "file"), reason=English(reason)))]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_utf8(data: bytes, rel: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text (a BOM is dropped), or None and one ``encoding`` problem naming the line of the first bad byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [problem(rel, "encoding", Msg(N_("is saved as UTF-16 (%(name)s), not UTF-8; %(fix)s"),
                                                   name="'Unicode text'", fix=RESAVE_HINT), row=1)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        return None, [problem(rel, "encoding",
                              Msg(N_("is not UTF-8 text (line %(line)s has the byte %(byte)s, perhaps an accented "
                                     "letter saved as Latin-1 or Windows-1252); %(fix)s"), line=line,
                                  byte=f"0x{byte:02x}", fix=RESAVE_HINT), row=line)]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return None, [problem(rel, "encoding", Msg(N_("contains a NUL character on line %(line)s, so it is not a "
                                                      "text file; %(fix)s"), line=line, fix=RESAVE_HINT), row=line)]
    return text, []


# ---------------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class RawTable:
    """A table as text.

    ``frame`` has one column per (distinct, named) header cell, every cell a stripped ``str`` ("" when empty), and
    as index the row numbers a spreadsheet shows (header = ``header_row``, usually 1). Blank rows are left out.
    ``ragged_rows`` are rows with too many or too few cells: they are reported, kept (padded or cut) for references
    and not checked cell by cell.
    """

    name: str
    file: str
    frame: pd.DataFrame
    header_row: int = 1
    ragged_rows: frozenset[int] = frozenset()
    sha256: str = ""
    columns_seen: tuple[str, ...] = field(default_factory=tuple)  # header names in order, duplicates included


Record = tuple[int, list[str]]  # (row number, cells)


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == char and not quoted:
            count += 1
    return count


def sniff_separator(text: str) -> str:
    """``;`` when the header line has more semicolons than commas (outside quotes), else ``,``."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return ";" if _count_outside_quotes(first, ";") > _count_outside_quotes(first, ",") else ","


def parse_csv(text: str, rel: str) -> tuple[list[Record] | None, list[Problem]]:
    """Records of a CSV text with their row numbers (blank lines count, as in a spreadsheet)."""
    separator = sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    records: list[Record] = []
    try:
        for number, cells in enumerate(reader, start=1):
            records.append((number, cells))
    except csv.Error as exc:
        row = len(records) + 1
        return None, [problem(rel, "format", Msg(N_("cannot be read as CSV at row %(row)s: %(reason)s; check the "
                                                    "quotes (a value with a quote or a separator must be in double "
                                                    "quotes, inner quotes doubled)"), row=row,
                                                 reason=English(str(exc))),
                              row=row)]
    return records, []


def excel_text(value: object) -> str:
    """An Excel cell value as the user sees it: ``2009`` not ``2009.0``, dates as ISO, booleans as TRUE/FALSE."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def parse_xlsx(data: bytes, rel: str) -> tuple[list[Record] | None, list[Problem]]:
    """Records of the first sheet of a workbook, with Excel row numbers; refuses outsized or invalid files."""
    not_xlsx = problem(rel, "format", Msg(N_("is not a valid Excel workbook; open it in Excel or LibreOffice and save "
                                             "it again as %(format)s, or save the sheet as CSV UTF-8"),
                                          format="'Excel Workbook (.xlsx)'"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None, [not_xlsx]
    if declared > MAX_XLSX_UNCOMPRESSED or (declared > XLSX_RATIO_FLOOR and declared > MAX_XLSX_RATIO * len(data)):
        return None, [problem(rel, "file_too_large",
                              Msg(N_("declares %(declared)s bytes of content in a %(size)s-byte file, which is out "
                                     "of proportion for a workbook; it was not opened. Save the sheet again (or as "
                                     "CSV UTF-8)"), declared=Number(declared), size=Number(len(data))))]
    records: list[Record] = []
    import openpyxl  # here: only a workbook needs it, and it is 0.1 s of the start of every process that loads data

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not workbook.worksheets:
                return None, [problem(rel, "format", Msg(N_("has no worksheet; put the table on the first sheet")))]
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # do not trust the size the file declares
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
                records.append((number, [excel_text(v) for v in values]))
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - openpyxl raises many exception types on malformed (untrusted) files
        return None, [not_xlsx]
    return records, []


def build_table(name: str, rel: str, records: list[Record], *, required: bool, digest: str,
                spreadsheet: bool = False) -> tuple[RawTable | None, list[Problem]]:
    """A :class:`RawTable` from records: header checks (empty, unnamed or duplicated columns), ragged rows.

    ``spreadsheet`` records (from .xlsx) have no separators: a short row is a row whose last cells are empty, and a
    value right of the header is a value in a column without a name.
    """
    problems: list[Problem] = []
    records = [(n, [c.strip() for c in cells]) for n, cells in records]
    nonblank = [(n, cells) for n, cells in records if any(cells)]
    if not nonblank:
        severity: Severity = "error" if required else "warning"
        return None, [problem(rel, "empty_file", Msg(N_("is empty: it needs at least the header row with the column "
                                                        "names")) if required else
                              Msg(N_("is empty: it needs at least the header row with the column names; delete the "
                                     "file if the table has no rows")), severity=severity)]
    (header_row, header), rows = nonblank[0], nonblank[1:]
    if len(header) == 1 and "\t" in header[0]:
        return None, [problem(rel, "format", Msg(N_("seems separated by tabs; save it as CSV with commas or "
                                                    "semicolons (in Excel: %(format)s)"), format="'CSV UTF-8'"),
                              row=header_row)]
    if spreadsheet:
        full = max(len(cells) for _, cells in nonblank)
        header = header + [""] * (full - len(header))
        rows = [(n, cells + [""] * (full - len(cells))) for n, cells in rows]
    width = len(header)
    keep: list[int] = []  # positions of the header cells that become columns
    seen: set[str] = set()
    for position, name_ in enumerate(header):
        letter = column_letter(position + 1)
        if not name_:
            if any(position < len(cells) and cells[position] for _, cells in rows):
                problems.append(problem(rel, "unknown_column", Msg(N_("column %(letter)s has values but no name in "
                                                                      "the header row; name it or delete the column"),
                                                                   letter=letter), row=header_row))
            continue
        if name_ in seen:
            problems.append(problem(rel, "duplicate_column", Msg(N_("appears twice in the header row (again in "
                                                                    "column %(letter)s); keep one column of that "
                                                                    "name"), letter=letter),
                                    row=header_row, column=name_, value=name_))
            continue
        seen.add(name_)
        keep.append(position)
    ragged: set[int] = set()
    data: list[list[str]] = []
    index: list[int] = []
    # Trailing cells without a column name may be missing, and extra trailing cells may be empty (spreadsheets
    # export both); anything else is a shifted row.
    named_width = max((p for p, n in enumerate(header) if n), default=-1) + 1
    for number, cells in rows:
        if any(cells[width:]) or len(cells) < named_width:
            ragged.add(number)
            problems.append(_ragged(rel, number, len(cells), width))
        padded = cells[:width] + [""] * (width - len(cells))
        data.append([padded[p] for p in keep])
        index.append(number)
    columns = [header[p] for p in keep]
    frame = pd.DataFrame(data, columns=columns, index=pd.Index(index, dtype="int64"), dtype=object)
    if not data:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}, index=pd.Index([], dtype="int64"))
    return RawTable(name, rel, frame, header_row, frozenset(ragged), digest, tuple(header)), problems


def _ragged(rel: str, row: int, cells: int, width: int) -> Problem:
    if cells > width:
        detail = Msg(N_("has %(cells)s cells but the header has %(width)s columns: a separator too many, perhaps a "
                        "comma inside an unquoted value (such as %(example)s in a comma-separated file); put that "
                        "value in double quotes or separate the file with %(separator)s"), cells=cells, width=width,
                     example="1234,5", separator="';'")
    else:
        detail = Msg(N_("has %(cells)s cells but the header has %(width)s columns: a separator is missing; add the "
                        "missing (possibly empty) cells"), cells=cells, width=width)
    return problem(rel, "ragged_row", detail, row=row)


def read_table(root: Path, name: str, *, required: bool, max_xlsx_bytes: int = 50_000_000
               ) -> tuple[RawTable | None, list[Problem]]:
    """Read ``{name}.csv`` or ``{name}.xlsx`` of ``root``.

    Returns (None, []) when neither exists (the caller decides whether that is a problem), (None, problems) when
    the file cannot be read as a table, else the table and the problems found while reading it.
    """
    csv_name, xlsx_name = f"{name}.csv", f"{name}.xlsx"
    has_csv, has_xlsx = exists(root, csv_name), exists(root, xlsx_name)
    if has_csv and has_xlsx:
        return None, [problem(csv_name, "duplicate_file", Msg(N_("exists both as %(csv)s and %(xlsx)s; keep only "
                                                                 "one of the two files"), csv=csv_name,
                                                              xlsx=xlsx_name))]
    if not (has_csv or has_xlsx):
        return None, []
    rel = csv_name if has_csv else xlsx_name
    data, problems = read_bytes(root, rel, limit=MAX_CSV_BYTES if has_csv else max_xlsx_bytes)
    if data is None:
        return None, problems
    if has_csv:
        text, problems = decode_utf8(data, rel)
        if text is None:
            return None, problems
        records, problems = parse_csv(text, rel)
    else:
        records, problems = parse_xlsx(data, rel)
    if records is None:
        return None, problems
    return build_table(name, rel, records, required=required, digest=sha256(data), spreadsheet=not has_csv)


# ---------------------------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, the line of each key (path of keys → 1-based line) and its digest."""

    data: object
    lines: dict[tuple[str, ...], int]
    sha256: str


def _walk(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int], problems: list[Problem],
          rel: str, depth: int = 0, seen_nodes: set[int] | None = None) -> None:
    """Record key lines and report duplicated keys, down to a few levels (all evaluation.yaml needs); a node
    reached again through an alias is not walked again."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if depth > 4 or not isinstance(node, yaml.MappingNode) or id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
        line = key_node.start_mark.line + 1
        if key in seen:
            where = ".".join((*path, key))
            problems.append(problem(rel, "yaml", Msg(N_("the key %(key)s is given twice (lines %(first)s and "
                                                        "%(second)s); keep one"), key=repr(where), first=seen[key],
                                                     second=line), row=line, column=where))
            continue
        seen[key] = line
        lines[(*path, key)] = line
        _walk(value_node, (*path, key), lines, problems, rel, depth + 1, seen_nodes)


def read_yaml(root: Path, rel: str = "evaluation.yaml") -> tuple[YamlDocument | None, list[Problem]]:
    """Parse ``root/rel`` safely (``yaml.SafeLoader``, as ``yaml.safe_load``; at most :data:`MAX_YAML_BYTES`).

    Returns (None, []) when the file does not exist, (None, problems) when it cannot be parsed.
    """
    if not exists(root, rel):
        return None, []
    data, problems = read_bytes(root, rel, limit=MAX_YAML_BYTES)
    if data is None:
        return None, problems
    text, problems = decode_utf8(data, rel)
    if text is None:
        return None, problems
    try:
        # One parse: the node tree (its lines name problems) and the value built from it, as yaml.safe_load builds
        # it (SafeLoader's constructors); parsing twice was a tenth of a cell save's validation in the preview.
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            value = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "syntax error"
        where = f" (line {line}, column {mark.column + 1})" if mark else ""
        return None, [problem(rel, "yaml", Msg(N_("is not valid YAML: %(reason)s; check the indentation (spaces, "
                                                  "not tabs), the colons after keys and the quotes"),
                                               reason=English(f"{what}{where}")), row=line)]
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError, TypeError) as exc:
        return None, [problem(rel, "yaml", Msg(N_("is not valid YAML: %(reason)s; check the values (dates, numbers, "
                                                  "nesting)"), reason=English(str(exc))))]
    lines: dict[tuple[str, ...], int] = {}
    problems = []
    if node is not None:
        _walk(node, (), lines, problems, rel)
    return YamlDocument(value, lines, sha256(data)), problems


# ---------------------------------------------------------------------------------------------------------------
# Markdown and other text files
# ---------------------------------------------------------------------------------------------------------------


def list_files(root: Path, folder: str) -> tuple[list[str], list[Problem]]:
    """Every file (or link) under ``root/folder``, as sorted POSIX paths relative to ``root``, and a problem for
    each sub-folder that cannot be listed; links to folders are listed, not followed."""
    base = root / folder
    problems: list[Problem] = []
    try:
        if not base.is_dir() or base.is_symlink():
            return [], []
    except OSError as exc:
        return [], [problem(folder, "unreadable", Msg(N_("cannot be read: %(reason)s"),
                                                      reason=English(str(exc.strerror or exc))))]

    def failed(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(root).as_posix() if exc.filename else folder
        problems.append(problem(rel, "unreadable", Msg(N_("cannot be listed: %(reason)s; check its permissions"),
                                                       reason=English(str(exc.strerror or exc)))))

    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False, onerror=failed):
        dirnames.sort()
        here = Path(dirpath)
        for name_ in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            found.append((here / name_).relative_to(root).as_posix())
    return sorted(found), problems


def read_text(root: Path, rel: str, *, limit: int = MAX_MARKDOWN_BYTES
              ) -> tuple[str | None, str | None, list[Problem]]:
    """UTF-8 text of a file (text, sha256), or (None, None, problems)."""
    data, problems = read_bytes(root, rel, limit=limit)
    if data is None:
        return None, None, problems
    text, problems = decode_utf8(data, rel)
    if text is None:
        return None, None, problems
    return text, sha256(data), []

