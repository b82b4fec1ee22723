"""Languages: numbers, amounts, dates and names formatted by Babel (CLDR), and the gettext catalogs.

Formatting (:class:`Formatter`, one per language and currency) follows the locale's CLDR patterns, never
hand-written ones:

========================  =====================================  ==================
what                      fr                                     en
========================  =====================================  ==================
``money(1234567.4)``      ``1 234 567 €`` (U+202F groups,         ``€1,234,567``
                          U+00A0 before €)
``percent(0.125)``        ``12,5 %`` (U+00A0 before %: CLDR's     ``12.5%``
                          French percent pattern)
``number(1234.5, 1)``     ``1 234,5`` (U+202F groups)             ``1,234.5``
``year(2014.0)``          ``2014`` (never grouped; also for page numbers and codes)
``month("2014-03")``      ``mars 2014``                           ``March 2014``
``day("2014-03-01")``     ``1er mars 2014``                       ``March 1, 2014``
``country("XKX")``        ``Kosovo``                              ``Kosovo``
========================  =====================================  ==================

Amounts are rounded to the currency unit (half away from zero), whatever the currency's own minor unit; decimals
are fixed (``percent(0.12)`` is ``12,0 %``, ``percent(0.12, 0)`` is ``12 %``) so that columns line up.

A missing value (``None``, NaN, ``pd.NA``) is printed as :data:`MISSING` (an en dash, ``–``) by ``money``,
``percent`` and ``number``, never as ``0``: a reader can tell a missing amount from zero, and a table stays narrow.
A table that may show one explains it in a note (message ``– : amount not reported.``); prose says it in words
(message ``not reported``).

Catalogs: ``src/reportgen/locale/{lang}/LC_MESSAGES/messages.po`` are the only source. :func:`translations`
compiles a catalog in memory the first time a process asks for it (no ``.mo`` file is read or committed) and first
checks it with :func:`check_catalog`: an untranslated or fuzzy message fails the build with a message naming every
one. How to extract and update messages: ``docs/translations.md``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import gettext
import io
import re
import unicodedata
from copy import copy
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import babel
from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_compact_currency, format_decimal

from . import atomic, usercache
from .errors import ReportgenError
from .iso3166 import country_name
from .model import LANGUAGES, is_missing

#: What money(), percent() and number() print for a missing value.
MISSING = "–"

def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a message for extraction (babel.cfg's default keywords); it is translated where it is shown."""
    return message

#: Folder of the catalogs: {LOCALE_DIR}/{lang}/LC_MESSAGES/messages.po
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


_is_missing = is_missing


def _decimal(value: float | int | Decimal | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def _round(value: Decimal, digits: int) -> Decimal:
    rounded = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return rounded if rounded != 0 else abs(rounded)  # no "-0 €"


class Formatter:
    """Formats figures for one publication language and one currency (ISO 4217 code)."""

    def __init__(self, lang: str, currency: str):
        try:
            self.locale = Locale.parse(lang)
        except (ValueError, TypeError) as exc:
            raise ReportgenError(f"unknown language {lang!r}: use a code such as 'fr' or 'en'") from exc
        if currency not in self.locale.currencies:
            raise ReportgenError(f"unknown currency {currency!r}: use an ISO 4217 code such as 'EUR'")
        self.lang = lang
        self.currency = currency
        self._money = copy(self.locale.currency_formats["standard"])
        self._money.frac_prec = (0, 0)
        self._patterns: dict[tuple[str, int], object] = {}

    def __repr__(self) -> str:
        return f"Formatter({self.lang!r}, {self.currency!r})"

    def _pattern(self, kind: str, digits: int):
        key = (kind, digits)
        if key not in self._patterns:
            base = self.locale.percent_formats[None] if kind == "percent" else self.locale.decimal_formats[None]
            pattern = copy(base)
            pattern.frac_prec = (digits, digits)
            self._patterns[key] = pattern
        return self._patterns[key]

    def money(self, amount: float | None) -> str:
        """An amount rounded to the currency unit: fr ``1 234 567 €``, en ``€1,234,567``; missing: ``–``."""
        if _is_missing(amount):
            return MISSING
        value = _round(_decimal(amount), 0)  # type: ignore[arg-type]
        return self._money.apply(value, self.locale, currency=self.currency, currency_digits=False)

    def money_compact(self, amount: float | None) -> str:
        """A short amount for chart axes: fr ``1,5 M €``, ``250 k €``; en ``€1.5M``, ``€250K``; missing: ``–``."""
        if _is_missing(amount):
            return MISSING
        return format_compact_currency(float(amount), self.currency, locale=self.locale, fraction_digits=1)  # type: ignore[arg-type]

    @staticmethod
    def compact_unit(amounts) -> float:
        """The unit (1, 10³, 10⁶, …) in which a chart writes all its amounts: that of its largest one."""
        top = max((abs(float(a)) for a in amounts if not _is_missing(a)), default=0.0)
        unit = 1.0
        while top >= unit * 1000 and unit < 1e12:
            unit *= 1000
        return unit

    def money_in(self, amount: float | None, unit: float) -> str:
        """A short amount in a given ``unit`` (see :meth:`compact_unit`), so that every label of one chart uses the
        same one: fr ``0,5 M €``, ``1,2 M €``; en ``€0.5M``, ``€1.2M``; one decimal, two below a tenth of the unit;
        an amount too small for the unit, and any amount below 1,000, in its own short form; missing: ``–``."""
        if _is_missing(amount):
            return MISSING
        value = float(amount)  # type: ignore[arg-type]
        scaled = value / unit
        if unit < 1000 or not value or abs(scaled) < 0.01:
            return self.money_compact(value)
        digits = 2 if abs(scaled) < 0.1 else 1
        number = format_decimal(round(scaled, digits), "#,##0." + "#" * digits, locale=self.locale)
        reference = format_compact_currency(unit, self.currency, locale=self.locale)
        return reference.replace("1", number, 1)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share (0..1) as a percentage with ``digits`` decimals: fr ``12,5 %``, en ``12.5%``; missing: ``–``."""
        if _is_missing(share):
            return MISSING
        value = _round(_decimal(share) * 100, digits) / 100  # type: ignore[arg-type]
        return self._pattern("percent", digits).apply(value, self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """A grouped number with ``digits`` decimals: fr ``1 234,5``, en ``1,234.5``; missing: ``–``.

        Never use it for years, page numbers or codes: see :meth:`year`.
        """
        if _is_missing(value):
            return MISSING
        return self._pattern("decimal", digits).apply(_round(_decimal(value), digits), self.locale)  # type: ignore[arg-type]

    @staticmethod
    def year(value: int | float | str) -> str:
        """A year (or a page number, a count used as a code): never grouped, ``2014``."""
        return str(int(float(value)))

    def month(self, yyyy_mm: str) -> str:
        """``"2014-03"`` (or a full date) as a month: fr ``mars 2014`` (lower case), en ``March 2014``."""
        m = re.fullmatch(r"(\d{4})-(\d{2})(?:-\d{2})?", str(yyyy_mm).strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ReportgenError(f"{yyyy_mm!r} is not a month: write it as YYYY-MM, e.g. 2014-03")
        return format_skeleton("yMMMM", _dt.date(int(m.group(1)), int(m.group(2)), 1), locale=self.locale)

    def day(self, date: _dt.date | str) -> str:
        """A date in full: fr ``1er mars 2014``, ``12 mars 2014``; en ``March 1, 2014``."""
        if not isinstance(date, _dt.date):
            try:
                date = _dt.date.fromisoformat(str(date).strip())
            except ValueError as exc:
                raise ReportgenError(f"{date!r} is not a date: write it as YYYY-MM-DD, e.g. 2014-03-01") from exc
        text = format_date(date, "long", locale=self.locale)
        if self.locale.language == "fr" and date.day == 1:
            text = re.sub(r"^1(?=\s)", "1er", text)
        return text

    def country(self, code: str) -> str:
        """The CLDR name of an ISO 3166-1 alpha-3 ``code`` (or ``XKX``, Kosovo) in the language."""
        name = country_name(code, self.lang)
        if name is None:
            raise ReportgenError(
                f"{code!r} is not an ISO 3166-1 alpha-3 country code that CLDR names; "
                f"use a code such as 'NGA', or give the name in countries.csv (name_{self.lang})"
            )
        return name


# --- catalogs ------------------------------------------------------------------------------------------------------


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    """Languages that have a catalog (:data:`reportgen.model.LANGUAGES`), sorted."""
    return sorted(LANGUAGES)


def read_catalog(lang: str) -> Catalog:
    """The catalog of ``lang`` as Babel reads it from its ``.po`` file."""
    path = catalog_path(lang)
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", lang) or not path.is_file():
        raise ReportgenError(
            f"there is no message catalog for language {lang!r} (languages with one: {', '.join(languages())}); "
            f"create {path.relative_to(LOCALE_DIR.parent.parent.parent)} with pybabel init (docs/translations.md)"
        )
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def missing_translations(catalog: Catalog) -> list[str]:
    """Problems of a catalog, one line each: untranslated or fuzzy messages, placeholders that differ."""
    problems = []
    for message in catalog:
        if not message.id:
            continue  # the header
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy:
            problems.append(f"{msgid!r} (marked fuzzy: check the translation, then remove the fuzzy flag)")
        elif not all(strings):
            problems.append(f"{msgid!r} (no translation)")
    for message, errors in catalog.check():
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        problems.extend(f"{msgid!r} ({error})" for error in errors)
    return problems


def check_catalog(lang: str, catalog: Catalog | None = None) -> None:
    """Raise :class:`ReportgenError` naming every message of ``lang``'s catalog without a usable translation."""
    problems = missing_translations(catalog if catalog is not None else read_catalog(lang))
    if problems:
        path = catalog_path(lang).relative_to(LOCALE_DIR.parent.parent.parent)
        listing = "\n  ".join(problems)
        raise ReportgenError(
            f"the {lang!r} message catalog {path} has {len(problems)} message(s) without a usable translation:\n"
            f"  {listing}\n"
            f"Translate them in that file (in English, the translation may repeat the message), see docs/translations.md"
        )


def translations(lang: str) -> gettext.GNUTranslations:
    """The checked gettext catalog of ``lang``, compiled in memory from its ``.po`` file.

    Compiled once per process and version of the file (a long-running preview sees an edited catalog).
    """
    try:
        stamp = catalog_path(lang).stat().st_mtime_ns
    except (OSError, ValueError):
        stamp = None
    return _translations(lang, stamp)


@functools.lru_cache(maxsize=16)
def _translations(lang: str, stamp: int | None) -> gettext.GNUTranslations:
    try:
        return gettext.GNUTranslations(io.BytesIO(_compiled_catalog(lang)))
    except ReportgenError:
        raise
    except Exception:  # noqa: BLE001 - a damaged cache entry (gettext raises OSError, struct.error, …): compile
        return gettext.GNUTranslations(io.BytesIO(_compiled_catalog(lang, cached=False)))


def _compiled_catalog(lang: str, *, cached: bool = True) -> bytes:
    """The ``.mo`` bytes of ``lang``'s checked catalog. Reading, checking and compiling a ``.po`` file with Babel
    takes ~0.1 s per language in every process that renders; the result is kept in the user's cache
    (:mod:`reportgen.usercache`), named by a digest of the ``.po`` file, this module and Babel's version: only a
    catalog that passed the check is ever written there."""
    path = catalog_path(lang)
    folder = None
    if re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", lang):
        try:
            key = usercache.digest(path.read_bytes(), Path(__file__).read_bytes(), babel.__version__, lang)
        except OSError:
            key = None
        folder = usercache.cache_folder("catalogs", lang) if key else None
        if folder is not None and cached:
            try:
                return (folder / f"{key}.mo").read_bytes()
            except OSError:
                pass
    catalog = read_catalog(lang)
    check_catalog(lang, catalog)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    if folder is not None:
        try:
            atomic.write_bytes(folder / f"{key}.mo", buffer.getvalue(), durable=False)
            for old in folder.glob("*.mo"):  # one entry per language: the catalog of another version is stale
                if old.name != f"{key}.mo":
                    old.unlink(missing_ok=True)
        except (OSError, ReportgenError):
            pass
    return buffer.getvalue()


#: The language message ids are written in: a message missing from its catalog is only an error elsewhere.
SOURCE_LANGUAGE = "en"


def gettext_for(lang: str):
    """The strict gettext of ``lang`` (plain text), for the few labels built in Python (charts, names of codes)."""
    gettext, _ngettext = strict_gettext(translations(lang), lang)
    return gettext


def strict_gettext(catalog, lang: str):
    """gettext/ngettext that refuse a message the catalog does not translate (outside the source language)."""
    known = getattr(catalog, "_catalog", None)

    def missing(msgid: str) -> ReportgenError:
        return ReportgenError(
            f"the {lang!r} catalog has no translation for the template message {msgid!r}; add it to "
            f"src/reportgen/locale/{lang}/LC_MESSAGES/messages.po (then build again)"
        )

    def gettext(message: str) -> str:
        if lang != SOURCE_LANGUAGE and known is not None:
            text = known.get(message)
            if not text:
                raise missing(message)
            return text
        return catalog.gettext(message)

    def ngettext(singular: str, plural: str, n: int) -> str:
        if lang != SOURCE_LANGUAGE and known is not None:
            if not known.get((singular, 0)) and not known.get(singular):
                raise missing(singular)
        return catalog.ngettext(singular, plural, n)

    return gettext, ngettext


def language_name(lang: str) -> str:
    """A language's name in itself (``Français``, ``English``), for the link to the other version."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def collation_key(name: str) -> tuple:
    """Alphabetical order for names with accents (Bénin before Bosnie), case and accents as tie-breakers."""
    base = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return (base.casefold(), name)
