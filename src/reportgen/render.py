"""The one Jinja environment, and HTML rendering of a publication from its context.

Every template is rendered by an environment made here, and only here:

- ``autoescape`` is on for every template (whatever its extension): text from the data is always escaped;
- ``StrictUndefined``: a missing or misspelt variable fails the render instead of printing nothing;
- the i18n extension with the language's gettext catalog (new-style: ``_("…", name=value)`` escapes its variables);
  a message without a translation in a language other than English fails the render with a clear message;
- every filter is registered here: ``money``, ``percent``, ``share``, ``number``, ``month``, ``date``, ``year``,
  ``filesize``, ``ucfirst``, ``verbatim``, ``plain`` (see :func:`_filters`); numbers reach the page only through
  them;
- typography is applied once, in ``finalize``: every value a template prints goes through the rules of the page's
  language, :func:`reportgen.typography.french` in French, :func:`reportgen.typography.english` in English (plain
  text: data and generated text; markup: translated messages, Markdown, macro output), before escaping. Values
  wrapped in :class:`Verbatim` (URLs, data URIs, identifiers) are left alone. Then :func:`render_template` gives
  every element in another language (``lang`` attribute) the rules of its own language
  (:func:`reportgen.typography.typeset_parts`).

Templates come from a list of folders, first match wins: the user's override folder (config ``templates``), then
the project's ``templates/`` (:func:`templates_root`). Templates are trusted code; nothing from the dataset is
ever compiled as a template.
"""

from __future__ import annotations

import html as html_lib
import re
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import babel
import jinja2
from markupsafe import Markup

from .errors import ReportgenError
from .i18n import Formatter, strict_gettext, translations
from .model import LANGUAGES, Doc, is_missing
from . import typography, usercache
from .typography import Verbatim

#: Template of each publication kind (relative to a templates folder).
KIND_TEMPLATE = {"synthesis": "synthesis.html.j2", "region": "region.html.j2", "country": "country.html.j2",
                 "index": "index.html.j2"}

# ----------------------------------------------------------------------------------------------------------------
# Environment
# ----------------------------------------------------------------------------------------------------------------

def make_environment(lang: str, *, template_dirs: list[Path]) -> jinja2.Environment:
    """The Jinja environment for one language; ``template_dirs``: override folder first, then templates/."""
    if lang not in LANGUAGES:
        raise ReportgenError(f"no translation catalogue for language {lang!r}; reportgen publishes in "
                             f"{', '.join(LANGUAGES)} (docs/translations.md says how to add one)")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_make_finalize(lang),
        auto_reload=False,
        bytecode_cache=template_bytecode_cache(lang),
    )
    catalog = translations(lang)
    gettext, ngettext = strict_gettext(catalog, lang)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(lang))
    env.globals["publication_lang"] = lang
    return env


@lru_cache(maxsize=None)
def template_bytecode_cache(lang: str) -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes (Jinja's bytecode cache), like Python's ``__pycache__``.

    Compiling every template of a language takes ~0.35 s, paid by every render job, every ``index`` job and every
    preview start; loading the compiled code takes a few milliseconds (:mod:`reportgen.usercache`). Jinja checks
    each entry against the template's source (a changed template is compiled again) and the Python version; what
    else shapes the compiled code names the folder, so two configurations never share an entry: the language, and
    reportgen's code and the versions of Jinja and Babel, since Jinja applies ``finalize`` (the
    typography) to a template's constant output and calls a filter on constant arguments when it compiles.
    """
    folder = usercache.cache_folder("templates", usercache.digest(
        usercache.code_digest(), jinja2.__version__, babel.__version__, sys.version, lang,
        str(typography.has_rules(lang)))[:16])
    if folder is None:
        return None
    return _QuietBytecodeCache(str(folder))


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """A cache entry that cannot be read or written (a full disk, a folder removed meanwhile) is compiled instead:
    never an error of the build."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a truncated entry raises from pickle or marshal, whatever the cut
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _make_finalize(lang: str):
    """The typography of ``lang`` for every printed value of a publication (see the module docstring)."""
    if not typography.has_rules(lang):
        return None
    # The same labels, numbers and names are printed many times per publication and across publications: the rules
    # are a pure function of the text, so a worker applies them once per distinct value (bounded memory).
    seen: dict[tuple[bool, str], Any] = {}

    def finalize(value: Any) -> Any:
        if isinstance(value, Verbatim) or value is None:
            return value
        if not isinstance(value, str):
            return value
        markup = isinstance(value, Markup)
        key = (markup, str(value))
        hit = seen.get(key)
        if hit is not None:
            return hit
        result = typography.typeset(value, lang)  # Markup stays Markup (its text nodes only)
        if len(key[1]) <= 4000:
            if len(seen) >= 50_000:
                seen.clear()
            seen[key] = result
        return result

    return finalize


# ----------------------------------------------------------------------------------------------------------------
# Filters: the only way numbers and dates reach a page
# ----------------------------------------------------------------------------------------------------------------

KEY_FIGURE_CHARS = 11  # a key figure's amount longer than this (€12,345,678 is 11) is written in compact form
#: Tables are laid out with the column widths the templates give (``table-layout: fixed``), which holds every amount
#: up to this many characters (``999 999 999 €``, ``$999,999,999``: nine digits), tested in tests/test_layout.py.
#: A table that prints a longer amount gets ``<table class="… wide-amounts">``: it is laid out from its content in
#: print (``table-layout: auto``), so that an amount (never wrapped) widens its column rather than overflow it. Only
#: that table: auto layout measures every cell's narrowest width, which tripled WeasyPrint's time on the synthesis
#: (long titles that may break anywhere); marking the whole page made the large dataset's synthesis 17 s instead of
#: 10 s, when only its tables of totals print ten-digit amounts.
TABLE_AMOUNT_CHARS = 13
#: ``_WIDEST.texts``: the amounts longer than that which the page being rendered prints (per thread: the preview
#: renders pages in a thread of its own; a thread renders one page at a time).
_WIDEST = threading.local()


@lru_cache(maxsize=16)
def _formatter(lang: str, currency: str):
    return Formatter(lang, currency)


_is_missing = is_missing


def _filters(lang: str) -> dict[str, Any]:
    """Filters of an environment; money and friends read the currency from the context (``currency``)."""

    def fmt(ctx) -> Any:
        currency = ctx.get("currency") or "EUR"
        return _formatter(lang, str(currency))

    @jinja2.pass_context
    def money(ctx, amount):
        text = fmt(ctx).money(None if _is_missing(amount) else float(amount))
        if len(text) > TABLE_AMOUNT_CHARS and hasattr(_WIDEST, "texts"):
            _WIDEST.texts.add(_visible_key(text))
        return text

    @jinja2.pass_context
    def key_money(ctx, amount):
        """An amount in a key figure: in full while it is short (``1 234 567 €``), else in CLDR's compact form
        (``863,4 M €``, ``€863.4M``), so that a key figure never wraps; the exact amount is in the tables."""
        f = fmt(ctx)
        if _is_missing(amount):
            return f.money(None)
        full = f.money(float(amount))
        return full if len(full) <= KEY_FIGURE_CHARS else f.money_in(float(amount), f.compact_unit([amount]))

    @jinja2.pass_context
    def percent(ctx, share, digits: int = 1):
        return fmt(ctx).percent(None if _is_missing(share) else float(share), digits)

    @jinja2.pass_context
    def share(ctx, value, digits: int = 1):
        """A share for a key figure: as ``percent``, but a small non-zero share reads ``< 0.1%``, not ``0.0%``."""
        if _is_missing(value):
            return fmt(ctx).percent(None, digits)
        v = float(value)
        smallest = 10 ** -(digits + 2)
        if 0 < v < smallest / 2:
            return "< " + fmt(ctx).percent(smallest, digits)
        return fmt(ctx).percent(v, digits)

    @jinja2.pass_context
    def number(ctx, value, digits: int = 0):
        if _is_missing(value):
            return "–"
        return fmt(ctx).number(value, digits)

    @jinja2.pass_context
    def month(ctx, yyyy_mm):
        return fmt(ctx).month(str(yyyy_mm)[:7])

    @jinja2.pass_context
    def date(ctx, text):
        """``YYYY-MM`` as a month (``mars 2014``), ``YYYY-MM-DD`` as a day (``1er mars 2014``)."""
        text = str(text)
        return fmt(ctx).month(text) if len(text) == 7 else fmt(ctx).day(text)

    def year(value):
        """A year, never grouped: ``2014``."""
        return "–" if _is_missing(value) else Formatter.year(value)

    @jinja2.pass_context
    def filesize(ctx, n_bytes):
        """A file size in kB/MB (decimal units), localised: ``1,2 Mo`` / ``1.2 MB``."""
        if _is_missing(n_bytes):
            return "–"
        n = float(n_bytes)
        units = {"fr": ("octets", "ko", "Mo", "Go"), "en": ("bytes", "kB", "MB", "GB")}[lang]
        if n < 1000:
            return f"{fmt(ctx).number(int(n), 0)}\u00a0{units[0]}"
        for unit in units[1:]:
            n /= 1000
            if n < 1000 or unit == units[-1]:
                return f"{fmt(ctx).number(n, 1 if n < 100 else 0)}\u00a0{unit}"
        raise AssertionError  # pragma: no cover

    def ucfirst(value):
        """First letter in capitals, the rest as it is (Jinja's ``capitalize`` lowercases the rest: ``OCDE``)."""
        text = str(value)
        out = text[:1].upper() + text[1:]
        return Markup(out) if isinstance(value, Markup) else out

    def verbatim(value):
        """Mark a string as not prose (URL, id, code): French typography leaves it alone."""
        return Verbatim(value)

    def plain(value):
        """Markup or text reduced to plain text (for attributes such as ``alt`` and meta descriptions)."""
        if isinstance(value, Markup):
            return value.striptags()
        return str(value)

    return {"money": money, "key_money": key_money, "percent": percent, "share": share, "number": number, "month": month, "date": date, "year": year,
            "filesize": filesize, "ucfirst": ucfirst, "verbatim": verbatim, "plain": plain}


# ----------------------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------------------

def render_html(doc: Doc, context: dict, env: jinja2.Environment) -> str:
    """The HTML page of ``doc`` (the text of ``{output}/{doc.stem}.html``)."""
    try:
        template = env.get_template(KIND_TEMPLATE[doc.kind])
    except jinja2.TemplateNotFound as exc:
        raise ReportgenError(f"template {exc.name!r} not found in {env.loader.searchpath}; "  # type: ignore[union-attr]
                             "restore it or remove the override that hides it") from None
    return render_template(template, context, what=doc.key)


def _visible_key(text: str) -> str:
    """Text as a reader sees it, without any space (typography changes spaces, never digits or signs)."""
    return re.sub(r"\s+", "", html_lib.unescape(text))


_TABLE = re.compile(r"<table\b([^>]*)>(.*?)</table>", re.S)


def _mark_wide_tables(html: str, wide: set[str]) -> str:
    """Add the class ``wide-amounts`` to each table that prints one of the ``wide`` amounts (see
    :data:`TABLE_AMOUNT_CHARS`)."""

    def mark(m: re.Match) -> str:
        text = _visible_key(re.sub(r"<[^>]+>", "", m.group(2)))
        if not any(amount in text for amount in wide):
            return m.group(0)
        attrs = m.group(1)
        if re.search(r'\bclass="', attrs):
            attrs = re.sub(r'\bclass="', 'class="wide-amounts ', attrs, count=1)
        else:
            attrs += ' class="wide-amounts"'
        return f"<table{attrs}>{m.group(2)}</table>"

    return _TABLE.sub(mark, html)


def render_template(template: jinja2.Template, context: dict, *, what: str) -> str:
    env = template.environment
    _WIDEST.texts = set()
    try:
        html = template.render(context)
    except jinja2.UndefinedError as exc:
        raise ReportgenError(f"{what}: template {template.name!r} uses a value the context does not provide "
                             f"({exc.message}); fix the template (or the override that changed it)") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ReportgenError(f"{what}: template {exc.filename or exc.name}: line {exc.lineno}: {exc.message}") from None
    if _WIDEST.texts:
        html = _mark_wide_tables(html, _WIDEST.texts)
    lang = env.globals.get("publication_lang")
    if lang:
        html = typography.typeset_parts(html, lang)
    # One trailing newline, no trailing spaces: stable bytes for hashing and diffs.
    return "\n".join(line.rstrip() for line in html.strip().splitlines()) + "\n"
