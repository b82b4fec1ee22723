"""What reportgen prints while it works, and how much: the one home of the console's output policy.

- :func:`say`: one progress or warning line on stderr (every stage prints through it).
- :func:`verbose`: whether every line is wanted (``reportgen --verbose``, ``reportgen build --verbose``, or the
  environment variable ``REPORTGEN_VERBOSE=1``, which the workflow's jobs inherit). By default a build prints its
  progress and its summary, and repeated problems once per kind.
- :func:`problem_lines`: validation problems as the console shows them: grouped by file, column and kind (count,
  first rows and values, the fix, and the value the fix gives where it is unambiguous), or one line each when
  verbose. The validation report (``validation.html`` and ``.json``) always lists every problem.

Pandas-free (the index and summary stages import this and must start fast).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem, sort_key

#: The environment variable that asks every stage for every line (set by ``--verbose``; jobs inherit it).
VERBOSE_ENV = "REPORTGEN_VERBOSE"

#: Rows and values named in a grouped line; the rest are counted.
FIRST_ROWS = 5
FIRST_VALUES = 3


def say(msg: str) -> None:
    """One line on stderr, flushed at once (the workflow's log interleaves several processes)."""
    print(msg, file=sys.stderr, flush=True)


def verbose() -> bool:
    """Whether the user asked for every line (see the module docstring)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def set_verbose(on: bool) -> None:
    """Ask this process and the processes it starts (the workflow's jobs) for every line, or not."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)


# ----------------------------------------------------------------------------------------------------------------
# Grouping problems
# ----------------------------------------------------------------------------------------------------------------

#: Words that mean "no value" in exported spreadsheets: the fix is an empty cell (not reported), where the column
#: allows one.
NOT_REPORTED = {"not listed", "not reported", "n/a", "na", "n.a.", "none", "unknown", "-", "--", "—", "–", "tbd",
                "tbc", "null", "nil", "?", "not available", "not applicable", "pending", "#n/a", "nan"}

_CURRENCY = r"(?:[$€£¥]|US\$|USD|EUR|GBP|CHF|CAD|AUD|XOF|XAF)"
# '$330,568', '330,568.50 EUR', '€ 1 234 567': grouped thousands with commas or spaces, an optional decimal point
# after comma groups. '1,5' or '1.234' are left alone: a decimal comma or a thousands point cannot be told apart.
_GROUPED = re.compile(rf"^\s*{_CURRENCY}?\s*(\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d{{1,3}}(?:[ \u00a0\u202f]\d{{3}})+)"
                      rf"\s*{_CURRENCY}?\s*$", re.I)
_CURRENCY_ONLY = re.compile(rf"^\s*{_CURRENCY}\s*(\d+(?:\.\d+)?)\s*$|^\s*(\d+(?:\.\d+)?)\s*{_CURRENCY}\s*$", re.I)


def suggested_value(p: Problem) -> str | None:
    """What the fix of ``p`` makes of its value, when that is unambiguous: ``'$330,568'`` → ``330568``,
    ``'Not Listed'`` → an empty cell (returned as ``""``) where the column allows it; None otherwise."""
    if p.value is None or p.rule != "type":
        return None
    text = p.value.strip()
    if text.lower() in NOT_REPORTED:
        return "" if _may_be_empty(p.file, p.column) else None
    m = _GROUPED.match(text)
    if m:
        return re.sub(r"[,\s\u00a0\u202f]", "", m.group(1))
    m = _CURRENCY_ONLY.match(text)
    if m:
        return m.group(1) or m.group(2)
    return None


def _may_be_empty(file: str, column: str | None) -> bool:
    """Whether the column of a table of the contract takes an empty cell (an amount not reported)."""
    if not column:
        return False
    # Imported here for start-up time: the contract imports pandas, and only validation problems reach this.
    from .schema import TABLES

    table = TABLES.get(Path(file).stem)
    f = table.field(column) if table is not None else None
    return f is not None and not f.required


@dataclass
class ProblemGroup:
    """Problems of one kind in one column of one file."""

    severity: str
    file: str
    column: str | None
    rule: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.problems)

    def summary(self) -> str:
        """What the problems say, without their values: the first message, its value and hint left out."""
        return _general(self.problems[0].message)

    def fixes(self) -> list[tuple[str, str | None, int]]:
        """(a value, what the fix makes of it or None, how many problems have it), most frequent first."""
        counts: dict[str, int] = {}
        for p in self.problems:
            if p.value is not None:
                counts[p.value] = counts.get(p.value, 0) + 1
        ordered = sorted(counts.items(), key=lambda item: -item[1])
        by_value = {p.value: p for p in self.problems}
        return [(value, suggested_value(by_value[value]), n) for value, n in ordered]

    def line(self) -> str:
        first = self.problems[0]
        if self.count == 1:
            return str(first)
        rows = [p.row for p in self.problems if p.row is not None]
        where = f"{self.file}: {self.column}: " if self.column else f"{self.file}: "
        text = f"{self.severity}: {where}{self.count:,} rows: {self.summary()}"
        if rows:
            shown = ", ".join(str(r) for r in rows[:FIRST_ROWS])
            text += f" (rows {shown}{' …' if len(rows) > FIRST_ROWS else ''})"
        fixes = self.fixes()
        if fixes:
            parts = []
            for value, fixed, n in fixes[:FIRST_VALUES]:
                if fixed is None:
                    parts.append(f"{value!r}" + (f" ×{n:,}" if n > 1 else ""))
                elif fixed == "":
                    parts.append(f"{value!r} → leave the cell empty (not reported)" + (f" ×{n:,}" if n > 1 else ""))
                else:
                    parts.append(f"{value!r} → {fixed}" + (f" ×{n:,}" if n > 1 else ""))
            more = len(fixes) - FIRST_VALUES
            text += "; " + ", ".join(parts) + (f" and {more:,} other value(s)" if more > 0 else "")
        hint = _hint(first.message)
        if hint and not any(fixed is not None for _, fixed, _ in fixes[:FIRST_VALUES]):
            text += f"; {'fix: ' if self.severity == 'error' else ''}{hint}"
        return text


def _general(message: str) -> str:
    """``must be a number ≥ 0, got 'X'; write the number only…`` → ``must be a number ≥ 0``."""
    head = message.split("; ", 1)[0]
    head = re.sub(r",? got '.*'$", "", head)
    head = re.sub(r": action [^ ]+ has", ": an action has", head)
    return head


def _hint(message: str) -> str:
    return message.split("; ", 1)[1] if "; " in message else ""


def group_problems(problems: Iterable[Problem]) -> list[ProblemGroup]:
    """Problems grouped by severity (errors first), file, column and kind, each group in reading order."""
    groups: dict[tuple, ProblemGroup] = {}
    for p in sorted(problems, key=sort_key):
        k = (p.severity != "error", p.file, p.column or "", p.rule)
        if k not in groups:
            groups[k] = ProblemGroup(p.severity, p.file, p.column, p.rule)
        groups[k].problems.append(p)
    return [groups[k] for k in sorted(groups, key=lambda k: (k[0], k[1], groups[k].problems[0].row or 0, k[2], k[3]))]


def problem_lines(problems: Iterable[Problem], *, report: Path | None = None) -> list[str]:
    """The console's lines for ``problems``: every problem when :func:`verbose`, else one line per group (a
    group of one is the problem's own line) and, when a group stands for several, where the full list is
    (``report``)."""
    problems = list(problems)
    if verbose():
        return [str(p) for p in sorted(problems, key=sort_key)]
    groups = group_problems(problems)
    lines = [g.line() for g in groups]
    if report is not None and any(g.count > 1 for g in groups):
        lines.append(f"every row of these is listed in {report}")
    return lines
