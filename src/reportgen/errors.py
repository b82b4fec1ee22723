"""Errors and problems a user can fix.

A :class:`Problem` is one finding of validation, named the way a spreadsheet user sees it: file, row (the header is
row 1; for .xlsx the Excel row), column, offending value, the rule broken and a plain-language message.
A :class:`ReportgenError` is any other failure the user can fix (bad config, unwritable output folder, a refused
resource): the command line prints ``ERROR: <message>`` and exits non-zero, without a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


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
        return asdict(self)


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def sort_key(p: Problem) -> tuple:
    """Problems in reading order: by file, then row (file-wide problems first), then column."""
    return (p.file, p.row if p.row is not None else 0, p.column or "", p.rule, p.message)
