"""Errors and problems a user can fix.

A :class:`Problem` is one finding of validation, named the way a spreadsheet user sees it: file, row (the header is
row 1; for .xlsx the Excel row), column, offending value, the rule broken and a plain-language message.
A problem's ``message`` is English (the command line, ``validation.json``). Where it is a :class:`Msg`, a ``str`` whose
text is that English message, it also carries its translatable form: ``msgid`` (the English template, marked with
``N_`` for extraction, ``%(name)s`` placeholders) and ``args`` (values quoted from the data, numbers, nested
:class:`Msg` pieces such as a "did you mean" hint), so that ``validation.html`` can say it in its own language
(:func:`reportgen.review.message_html`). A message built as a plain ``str`` stays English everywhere.

A :class:`ReportgenError` is any other failure the user can fix (bad config, unwritable output folder, a refused
resource): the command line prints ``ERROR: <message>`` and exits non-zero, without a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


class Msg(str):
    """An English message that knows its translatable form: ``Msg(N_("got %(value)s%(hint)s"), value=…, hint=…)``.

    The string itself is ``msgid % args`` with every argument as English text, so a Msg is used wherever a message
    is (printed, compared, sorted, hashed, written to JSON) and stays a ``str``: concatenating it gives a plain
    ``str``, which is English only. Arguments are: a nested :class:`Msg` (translated too); a plain ``str``, a
    value quoted from the data (a cell, a code, a file or column name: never translated nor typeset); an ``int``
    (a row, a year: printed as it is); a :class:`Number` (written with the language's marks); an
    :class:`English` text (a library's own message, not translatable); a ``str`` with a method
    ``say(gettext, lang)`` that words it in a language (a country's name, a column's description).
    """

    msgid: str
    args: dict

    def __new__(cls, msgid: str, **args: object) -> Msg:
        self = super().__new__(cls, msgid % {k: str(v) for k, v in args.items()})
        self.msgid = msgid
        self.args = args
        return self

    def __reduce__(self):  # pickled (processes, caches) with its translatable form
        return (_msg, (self.msgid, self.args))

    def pieces(self):
        """This message and every nested one (depth first)."""
        yield self
        for value in self.args.values():
            if isinstance(value, Msg):
                yield from value.pieces()


def _msg(msgid: str, args: dict) -> Msg:
    return Msg(msgid, **args)


class Number(str):
    """A number in a message, written with the marks of the page's language: ``Number(1000000)`` is ``1,000,000``
    (fr ``1 000 000``), ``Number(5.24, digits=1, grouped=False)`` is ``5.2`` (fr ``5,2``)."""

    value: float
    digits: int
    grouped: bool

    def __new__(cls, value: float, digits: int = 0, grouped: bool = True) -> Number:
        self = super().__new__(cls, f"{value:{',' if grouped else ''}.{digits}f}")
        self.value, self.digits, self.grouped = value, digits, grouped
        return self

    def __reduce__(self):
        return (Number, (self.value, self.digits, self.grouped))

    @property
    def pattern(self) -> str:
        """The CLDR pattern (Babel's ``format_decimal``)."""
        return ("#,##0" if self.grouped else "0") + ("." + "0" * self.digits if self.digits else "")


class English(str):
    """Text that is English whatever the page's language (a parser's or the system's message): marked so."""

    def __reduce__(self):
        return (English, (str(self),))


class ReportgenError(Exception):
    """A problem the user can fix. Its message says what is wrong and how to fix it."""

    exit_code = 2


class ValidationFailed(ReportgenError):
    """The dataset has errors; ``problems`` lists all of them (warnings included)."""

    exit_code = 1

    def __init__(self, problems: list["Problem"]):
        self.problems = problems
        n = sum(p.severity == "error" for p in problems)
        super().__init__(f"the dataset has {n} error{'s' if n != 1 else ''}; nothing was published")


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        """``error: actions.csv:14: committed: must be a number ≥ 0, got '12,5O0'`` (``warning: …`` for a warning)."""
        where = self.file
        if self.row is not None:
            where += f":{self.row}"
        head = f"{where}: {self.column}: " if self.column else f"{where}: "
        prefix = f"{self.severity}: "  # error: or warning:, as compilers print them
        return f"{prefix}{head}{self.message}"

    def to_dict(self) -> dict:
        return {**asdict(self), "message": str(self.message)}


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def sort_key(p: Problem) -> tuple:
    """Problems in reading order: by file, then row (file-wide problems first), then column."""
    return (p.file, p.row if p.row is not None else 0, p.column or "", p.rule, p.message)
