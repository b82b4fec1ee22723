"""The dictionary of fields: what a column holds, how its text becomes a value, and how a bad value is explained.

A :class:`Field` is declared once (in :mod:`reportgen.schema`) and serves three purposes: it converts the text of a
cell into a typed value (:func:`parse_cell`), it feeds the pandera checks of its table, and it documents itself in
``docs/dataset.md``. Cells are always read as text first, so nothing (``NA``, ``001``, ``None``) is converted behind
the user's back; the conversions accepted here are the whole story.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from .errors import Msg
from .i18n import N_

Kind = Literal["text", "code", "enum", "list", "integer", "amount", "number"]

# What each kind of cell may contain, in the words of docs/dataset.md.
KIND_LABEL: dict[str, str] = {
    "text": "text",
    "code": "code",
    "enum": "one value of a list",
    "list": "values of a list, separated by `;`",
    "integer": "whole number",
    "amount": "amount ≥ 0",
    "number": "number",
}

# Spaces that may group thousands: ordinary, no-break (U+00A0) and narrow no-break (U+202F).
GROUP_SPACES = " \u00a0\u202f"
_DIGITS = r"(?:\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+)"
AMOUNT_RE = re.compile(rf"{_DIGITS}(?:[.,]\d+)?")
NUMBER_RE = re.compile(rf"-?{_DIGITS}(?:[.,]\d+)?")
INTEGER_RE = re.compile(r"\d+")
# "1,234" or "1.234": a thousands separator in English (or German), a decimal mark in French. Refused for amounts.
AMBIGUOUS_AMOUNT_RE = re.compile(r"[1-9]\d{0,2}[.,]\d{3}")
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Field:
    """One column of a table, declared as data.

    ``name`` may contain ``{lang}`` for a column repeated per language (``name_{lang}`` → ``name_fr``, ``name_en``).
    ``column_required`` says whether the column must be in the file; ``required`` whether every row needs a value.
    """

    name: str
    kind: Kind
    description: str
    example: str
    column_required: bool = True
    required: bool = False
    unique: bool = False
    pattern: str | None = None  # a full match on the text, e.g. model.REGION_CODE
    pattern_hint: str | None = None  # the pattern in words, for messages: "a code of 1 to 40 …"
    allowed: tuple[str, ...] = ()  # enum/list: the values allowed (matched regardless of case, stored lower-case)
    reserved: tuple[str, ...] = ()  # values that may not be used
    minimum: float | None = None
    maximum: float | None = None
    within_period: bool = False  # integer: from evaluation.yaml period_start to period_end
    reference: str | None = None  # "regions.region", "countries.country", "actions.action_id", "indicators", "scope"
    country_code: bool = False  # an ISO 3166-1 alpha-3 code (or XKX)
    rule: str = ""  # the contract for this column in one sentence, for docs (generated when empty)
    vocabulary: str | None = None  # the key of evaluation.yaml that declares the allowed values (or the bounds)

    @property
    def per_language(self) -> bool:
        return "{lang}" in self.name

    def for_language(self, lang: str) -> Field:
        """The concrete column of a per-language field."""
        return Field(**{**self.__dict__, "name": self.name.replace("{lang}", lang), "example": self.example})

    @property
    def dtype(self) -> str:
        """The pandas dtype of the parsed column."""
        return {"integer": "Int64", "amount": "Float64", "number": "Float64"}.get(self.kind, "string")


@dataclass(frozen=True)
class CellError:
    """Why a cell's text is not a value of its field: a rule identifier and a message (``must be …, got '…'``)."""

    rule: str
    message: str


_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxlist, _PREVIEW.maxdict, _PREVIEW.maxstring, _PREVIEW.maxother = 2, 4, 4, 40, 40


def preview(value: object) -> str:
    """A short text for any value; containers are abbreviated (a YAML alias bomb must not be expanded)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict, set)):
        return _PREVIEW.repr(value)
    return str(value)


def _visible(ch: str) -> str:
    """Invisible characters (no-break spaces, zero-width spaces, controls) as ``\\u00a0``; others unchanged."""
    if ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Zs", "Cf")):
        return ch
    return f"\\u{ord(ch):04x}"


def quote(value: object) -> str:
    """A value as messages show it: ``'12,5O0'``, with invisible characters made visible."""
    text = preview(value)
    if len(text) > 80:
        text = text[:77] + "…"
    return "'" + "".join(_visible(ch) for ch in text) + "'"


def did_you_mean(value: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The choice closest to ``value`` (case-insensitive), or None when nothing is close or the closest is the value
    itself (a code that breaks a rule in every file it is in would otherwise be suggested to itself)."""
    choices = [c for c in choices if c]
    lowered = {c.lower(): c for c in choices}
    key = value.strip().lower()
    if key in lowered:
        return lowered[key] if lowered[key] != value.strip() else None
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=cutoff)
    if close:
        return lowered[close[0]]
    extending = [c for c in lowered if len(key) >= 3 and (c.startswith(key) or key.startswith(c))]
    return lowered[extending[0]] if len(extending) == 1 else None


def hint(suggestion: str | None) -> str:
    """``"; did you mean committed?"`` (a :class:`~reportgen.errors.Msg`) or nothing."""
    return Msg(N_("; did you mean %(suggestion)s?"), suggestion=suggestion) if suggestion else ""


def _series(items: list, last: str) -> str:
    """``items`` as a list in a sentence: ``"a, b, c"`` then ``last`` (a message joining the last two)."""
    out = items[0] if items else ""
    for i, item in enumerate(items[1:], start=2):
        out = (Msg(last, first=out, second=item) if i == len(items)
               else Msg(N_("%(first)s, %(second)s"), first=out, second=item))
    return out


def either(choices: list) -> str:
    """``"NER (Niger), NGA (Nigeria) or TCD (Chad)"``: choices joined by commas, the last by "or" (a Msg for two or
    more), ``""`` for none."""
    return _series(choices, N_("%(first)s or %(second)s"))


def both(items: list) -> str:
    """``"action_id, criterion and year"``: items joined by commas, the last by "and" (a Msg for two or more), ``""``
    for none."""
    return _series(items, N_("%(first)s and %(second)s"))


def _number_hint(text: str) -> str:
    """Why ``text`` is not a number as users type them, in words."""
    if re.search(r"\d[oO]|[oO]\d", text):
        return Msg(N_("the letter O is used where a zero is meant"))
    if re.search(r"\d[lI]|[lI]\d", text):
        return Msg(N_("the letter l or I is used where a one is meant"))
    if re.search(r"[$€£¥]|\b(?:EUR|USD|GBP|CHF|XOF|XAF)\b", text, re.IGNORECASE):
        return Msg(N_("write the number only, without a currency sign or code"))
    if re.search(r"[A-Za-z]", text):
        return Msg(N_("write the number only, without letters"))
    marks = re.findall(r"[.,']", text)
    if len(marks) > 1:
        return Msg(N_("use one decimal mark (a dot or a comma) and, if you wish, spaces to group thousands: "
                      "%(dot)s or %(comma)s"), dot="1234567.89", comma="1 234 567,89")
    if re.search(r"\s", text):
        return Msg(N_("spaces may only group digits by three, as in %(example)s"), example="1 234 567")
    return Msg(N_("use a dot or a comma as decimal mark, no currency sign"))


def parse_amount(text: str) -> float | None | CellError:
    """An amount ≥ 0 as users type it; None when empty.

    Accepted: ``1234``, ``1234.5``, ``1234,5``, ``1 234,50`` (groups of three digits separated by an ordinary,
    no-break or narrow no-break space). Refused: anything else, including ``1,234`` and ``1.234`` (a thousands
    separator in English, a decimal mark in French: write ``1234`` or ``1 234``), ``$1,000``, ``1.234.567,89``,
    negative numbers and letters.
    """
    value = text.strip()
    if not value:
        return None
    if value.startswith("-") and AMOUNT_RE.fullmatch(value[1:].strip()):
        return CellError("range", Msg(N_("must be a number ≥ 0, got %(value)s"), value=quote(value)))
    if AMBIGUOUS_AMOUNT_RE.fullmatch(value):
        digits = re.sub(r"[.,]", "", value)
        return CellError(
            "type",
            Msg(N_("must be a number ≥ 0, got %(value)s, which is ambiguous (a thousands separator in English, a "
                   "decimal mark in French): write %(digits)s or %(grouped)s for thousands"),
                value=quote(value), digits=digits, grouped=f"{value[:-4]} {value[-3:]}"),
        )
    if not AMOUNT_RE.fullmatch(value):
        return CellError("type", Msg(N_("must be a number ≥ 0, got %(value)s; %(hint)s"), value=quote(value),
                                     hint=_number_hint(value)))
    return _to_float(value)


def parse_number(text: str) -> float | None | CellError:
    """A number (negative allowed): the same forms as amounts with an optional leading minus; None when empty."""
    value = text.strip()
    if not value:
        return None
    if not NUMBER_RE.fullmatch(value):
        return CellError("type", Msg(N_("must be a number, got %(value)s; %(hint)s"), value=quote(value),
                                     hint=_number_hint(value)))
    return _to_float(value)


def _to_float(value: str) -> float | CellError:
    number = float(re.sub(f"[{GROUP_SPACES}]", "", value).replace(",", "."))
    if not math.isfinite(number):
        return CellError("type", Msg(N_("must be a number, got %(value)s, which is too large"), value=quote(value)))
    return number


def parse_integer(text: str) -> int | None | CellError:
    """A whole number written with digits only (``2009``, ``3``); None when empty."""
    value = text.strip()
    if not value:
        return None
    if not INTEGER_RE.fullmatch(value) or len(value) > 15:
        return CellError("type", Msg(N_("must be a whole number, got %(value)s"), value=quote(value)))
    return int(value)


def parse_list(text: str, allowed: tuple[str, ...], vocabulary: str | None = None) -> str | None | CellError:
    """``;``-separated values of ``allowed``, any case and spacing; normalised to ``allowed`` order, no duplicates.

    ``vocabulary``: the key of evaluation.yaml that declares ``allowed`` (named in the message, with the fix)."""
    items = [item.strip().lower() for item in text.split(LIST_SEPARATOR)]
    items = [item for item in items if item]
    if not items:
        return None
    for item in items:
        if item not in allowed:
            if vocabulary and not allowed:
                return CellError("allowed", Msg(N_("has %(value)s, but evaluation.yaml declares no %(key)s: declare "
                                                   "it under %(quoted_key)s in evaluation.yaml, or leave the cell "
                                                   "empty"), value=quote(item), key=vocabulary,
                                                quoted_key=f"'{vocabulary}'"))
            if vocabulary:
                return CellError(
                    "allowed",
                    Msg(N_("has %(value)s, which is not declared under %(key)s in evaluation.yaml (declared: "
                           "%(declared)s)%(hint)s; correct the cell or declare %(value)s under %(key)s"),
                        value=quote(item), key=f"'{vocabulary}'", declared=", ".join(allowed),
                        hint=hint(did_you_mean(item, allowed))),
                )
            return CellError(
                "allowed",
                Msg(N_("must be one or more of %(allowed)s separated by %(separator)s, got %(value)s%(hint)s"),
                    allowed=", ".join(allowed), separator="';'", value=quote(item),
                    hint=hint(did_you_mean(item, allowed))),
            )
    return LIST_SEPARATOR.join(a for a in allowed if a in items)


def parse_cell(field: Field, text: str) -> object:
    """The typed value of a cell: a value, None (empty) or a :class:`CellError`."""
    value = text.strip()
    if field.kind == "amount":
        return parse_amount(value)
    if field.kind == "number":
        return parse_number(value)
    if field.kind == "integer":
        return parse_integer(value)
    if not value:
        return None
    if field.kind == "list":
        return parse_list(value, field.allowed, field.vocabulary)
    if field.kind == "enum" and value.lower() in field.allowed:
        return value.lower()
    return value


def parse_column(field: Field, texts: pd.Series) -> tuple[pd.Series, dict[object, CellError]]:
    """Parse a column of text; return the typed column (``field.dtype``, NA where empty or wrong) and the errors.

    Each distinct text is parsed once (columns such as year or channel repeat a few values many times).
    """
    cache: dict[str, object] = {}
    values: list[object] = []
    errors: dict[object, CellError] = {}
    for index, text in zip(texts.index, texts.tolist()):
        key = text if isinstance(text, str) else ""
        parsed = cache.get(key, cache)
        if parsed is cache:
            parsed = cache[key] = parse_cell(field, key)
        if isinstance(parsed, CellError):
            errors[index] = parsed
            parsed = None
        values.append(pd.NA if parsed is None else parsed)
    return pd.Series(pd.array(values, dtype=field.dtype), index=texts.index, name=field.name), errors
