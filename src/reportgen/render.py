"""The one Jinja environment, and HTML rendering of a publication from its context.

Every template is rendered by an environment made here, and only here:

- ``autoescape`` is on for every template (whatever its extension): text from the data is always escaped;
- ``StrictUndefined``: a missing or misspelt variable fails the render instead of printing nothing;
- the i18n extension with the language's gettext catalog (new-style: ``_("…", name=value)`` escapes its variables);
  a message without a translation in a language other than English fails the render with a clear message;
- every filter is registered here: ``money``, ``percent``, ``share``, ``number``, ``month``, ``date``, ``year``,
  ``filesize``, ``ucfirst``, ``verbatim``, ``plain`` (see :func:`_filters`); numbers reach the page only through
  them;
- French typography is applied once, in ``finalize``: every value a template prints in a French environment goes
  through :func:`reportgen.typography.french` (plain text: data and generated text) or
  :func:`reportgen.typography.french_html` (markup: translated messages, Markdown, macro output), before escaping.
  Values wrapped in :class:`Verbatim` (URLs, data URIs, identifiers) are left alone.

Templates come from a list of folders, first match wins: the user's override folder (config ``templates``), then
the project's ``templates/`` (:func:`templates_root`). Templates are trusted code; nothing from the dataset is
ever compiled as a template.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .errors import ReportgenError
from .model import Doc, is_missing

#: The language message ids are written in: a message missing from its catalog is only an error elsewhere.
SOURCE_LANGUAGE = "en"

#: Template of each publication kind (relative to a templates folder).
KIND_TEMPLATE = {"synthesis": "synthesis.html.j2", "region": "region.html.j2", "country": "country.html.j2",
                 "index": "index.html.j2"}

#: Every template a publication kind includes, imports or extends (checked by tests/test_render.py against what
#: rendering actually loads). Stylesheets and fonts are found from the CSS itself (see template_dependencies).
_TEMPLATES_OF_KIND = {
    "synthesis": ["base.html.j2", "synthesis.html.j2", "macros/figures.html.j2", "macros/tables.html.j2",
                  "macros/text.html.j2", "partials/data_note.html.j2", "partials/site_header.html.j2",
                  "partials/site_footer.html.j2"],
    "region": ["base.html.j2", "region.html.j2", "macros/figures.html.j2", "macros/tables.html.j2",
               "macros/text.html.j2", "partials/brief_title.html.j2", "partials/data_note.html.j2",
               "partials/site_header.html.j2", "partials/site_footer.html.j2"],
    "country": ["base.html.j2", "country.html.j2", "macros/figures.html.j2", "macros/tables.html.j2",
                "macros/text.html.j2", "partials/brief_title.html.j2", "partials/data_note.html.j2",
                "partials/site_header.html.j2", "partials/site_footer.html.j2"],
    "index": ["base.html.j2", "index.html.j2", "macros/tables.html.j2", "partials/site_header.html.j2",
              "partials/site_footer.html.j2"],
}


class Verbatim(str):
    """A string printed as it is (still HTML-escaped): URLs, data URIs, ids, codes.

    French typography must not touch these (``data:image/svg+xml;base64,…`` has a semicolon).
    """

    __slots__ = ()


def templates_root() -> Path:
    """The project's ``templates/`` folder (the package is installed from the repository)."""
    root = Path(__file__).resolve().parents[2] / "templates"
    if not (root / "base.html.j2").is_file():
        raise ReportgenError(
            f"the project's templates folder {root} is missing or incomplete (no base.html.j2); reportgen must be "
            "installed from its repository (pip install -e .) so that templates/ sits beside src/"
        )
    return root


def template_dependencies(doc_kind: str) -> list[str]:
    """Template, stylesheet and font files (relative to a templates folder) a publication kind uses.

    The workflow hashes these to decide what to rebuild. Stylesheets are followed through their ``@import`` and
    ``url()`` references, as found in the project's templates folder; an override folder can only replace files of
    the same name (resolve each name in the template folders, first match wins: see :func:`resolve_files`).
    """
    if doc_kind not in _TEMPLATES_OF_KIND:
        raise ReportgenError(f"unknown publication kind {doc_kind!r}; expected one of {sorted(_TEMPLATES_OF_KIND)}")
    names = list(_TEMPLATES_OF_KIND[doc_kind])
    root = templates_root()
    todo = [f"css/{doc_kind}.css"]
    seen: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        path = root / name
        if path.suffix == ".css" and path.is_file():
            for ref in _css_references(path.read_text(encoding="utf-8")):
                target = (Path(name).parent / ref).as_posix()
                target = _normalise(target)
                if target is not None:
                    todo.append(target)
    return names + seen


def resolve_files(names: list[str], template_dirs: list[Path]) -> list[Path]:
    """Each name resolved in ``template_dirs`` (first folder that has it wins); missing names are left out."""
    out = []
    for name in names:
        for base in template_dirs:
            p = Path(base) / name
            if p.is_file():
                out.append(p)
                break
    return out


from .deps import css_references as _css_references  # noqa: E402 - one parser for every caller


def _normalise(posix: str) -> str | None:
    parts: list[str] = []
    for part in posix.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


# ----------------------------------------------------------------------------------------------------------------
# Environment
# ----------------------------------------------------------------------------------------------------------------

def make_environment(lang: str, *, template_dirs: list[Path]) -> jinja2.Environment:
    """The Jinja environment for one language; ``template_dirs``: override folder first, then templates/."""
    from .i18n import translations

    if lang not in ("fr", "en"):
        raise ReportgenError(f"no templates for language {lang!r}; reportgen publishes in 'fr' and 'en'")
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
    )
    catalog = translations(lang)
    gettext, ngettext = _strict_gettext(catalog, lang)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(_filters(lang))
    env.globals["publication_lang"] = lang
    return env


def gettext_for(lang: str):
    """The strict gettext of ``lang`` (plain text), for the few labels built in Python (charts, names of codes)."""
    from .i18n import translations

    gettext, _ngettext = _strict_gettext(translations(lang), lang)
    return gettext


def _strict_gettext(catalog, lang: str):
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


def _make_finalize(lang: str):
    """French typography for every printed value of a French publication (see the module docstring)."""
    if lang != "fr":
        return None
    from .typography import french, french_html

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
        result = Markup(french_html(str(value))) if markup else french(value)
        if len(key[1]) <= 4000:
            if len(seen) >= 50_000:
                seen.clear()
            seen[key] = result
        return result

    return finalize


# ----------------------------------------------------------------------------------------------------------------
# Filters: the only way numbers and dates reach a page
# ----------------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _formatter(lang: str, currency: str):
    from .i18n import Formatter

    return Formatter(lang, currency)


_is_missing = is_missing


def _filters(lang: str) -> dict[str, Any]:
    """Filters of an environment; money and friends read the currency from the context (``currency``)."""

    def fmt(ctx) -> Any:
        currency = ctx.get("currency") or "EUR"
        return _formatter(lang, str(currency))

    @jinja2.pass_context
    def money(ctx, amount):
        return fmt(ctx).money(None if _is_missing(amount) else float(amount))

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
        from .i18n import Formatter

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

    return {"money": money, "percent": percent, "share": share, "number": number, "month": month, "date": date, "year": year,
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


def language_name(lang: str) -> str:
    """A language's name in itself (``Français``, ``English``), for the link to the other version."""
    from babel import Locale

    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def notice_of(ev, lang: str) -> str | None:
    """The optional ``notice`` of evaluation.yaml in this language (when the dataset contract has it)."""
    notice = getattr(ev, "notice", None)
    if isinstance(notice, dict):
        return notice.get(lang) or None
    return None


def collation_key(name: str) -> tuple:
    """Alphabetical order for names with accents (Bénin before Bosnie), case and accents as tie-breakers."""
    import unicodedata

    base = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return (base.casefold(), name)


def render_index(catalog: dict, evaluation, names: dict, env: jinja2.Environment, *, data_date: str = "",
                 public_url: str = "") -> str:
    """The catalogue page ``{output}/index.html``, in the environment's language.

    ``catalog`` is what :func:`reportgen.catalog.catalog_context` gathers (groups of entries per language, data
    files); ``evaluation`` and ``names`` (:func:`reportgen.catalog.catalog_names`) are what it needs of the dataset;
    :func:`reportgen.catalog.index_context` adds what every page needs (see docs/templates.md).
    """
    from .catalog import index_context

    context = index_context(catalog, evaluation, names, lang=env.globals["publication_lang"], data_date=data_date,
                            public_url=public_url)
    return render_template(env.get_template(KIND_TEMPLATE["index"]), context, what="index.html")


def render_template(template: jinja2.Template, context: dict, *, what: str) -> str:
    try:
        html = template.render(context)
    except jinja2.UndefinedError as exc:
        raise ReportgenError(f"{what}: template {template.name!r} uses a value the context does not provide "
                             f"({exc.message}); fix the template (or the override that changed it)") from None
    except jinja2.TemplateSyntaxError as exc:
        raise ReportgenError(f"{what}: template {exc.filename or exc.name}: line {exc.lineno}: {exc.message}") from None
    # One trailing newline, no trailing spaces: stable bytes for hashing and diffs.
    return "\n".join(line.rstrip() for line in html.strip().splitlines()) + "\n"
