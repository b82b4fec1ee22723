"""validation.html: the problems of a validation, for a reader who is not a programmer.

A page for the evaluation team (no public page links it), rendered like every page by the one Jinja environment
(``templates/validation.html.j2``, which extends ``base.html.j2``), in the evaluation's main language (English when
the dataset does not say it): grouped by file, with a real table per file (column headers with ``scope``, a
caption), every value escaped. Self-contained (inline CSS, no script, no external resource). Deterministic: the same
problems give the same bytes.

The problems' messages are said in the page's language (:func:`message_html`): a message that is a
:class:`~reportgen.errors.Msg` is translated from its ``msgid`` by the catalog, its arguments put in afterwards, so
that the page's typography applies to the translated words only: values quoted from the data (a cell, a code, a file
or column name) are printed in ``<code>``, as they are, and a library's own English text is marked ``lang="en"``. A
message the catalog does not translate (a piece missing, or a plain ``str`` message) is printed in English on an
element marked ``lang="en"``. The command line and ``validation.json`` keep the English ``message``.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import yaml
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from . import atomic
from .errors import English, Msg, Number, Problem, sort_key
from .i18n import SOURCE_LANGUAGE, gettext_for, translations
from .model import LANGUAGES
from .render import make_environment, render_template
from .settings import templates_root
from .typography import Verbatim

class Untranslated(LookupError):
    """A piece of a message that the catalog of the page's language does not translate."""


def _catalog_gettext(lang: str):
    """The catalog's translation of a msgid; :class:`Untranslated` when it has none (English: the msgid)."""
    if lang == SOURCE_LANGUAGE:
        return lambda msgid: msgid
    known = translations(lang)._catalog

    def gettext(msgid: str) -> str:
        text = known.get(msgid)
        if not text:
            raise Untranslated(msgid)
        return text

    return gettext


def _argument_html(value: object, gettext, lang: str) -> Markup:
    if isinstance(value, Msg):
        return _message_html(value, gettext, lang)
    if isinstance(value, English):
        return Markup('<span lang="en">%s</span>') % str(value)
    if isinstance(value, Number):
        return escape(format_decimal(value.value, value.pattern, locale=lang))
    if hasattr(value, "html"):  # a country's name, a column's description
        return value.html(gettext, lang)
    if isinstance(value, int):
        return escape(str(value))
    text = str(value)
    return Markup("<code>%s</code>") % text if text else Markup("")


def _message_html(message: Msg, gettext, lang: str) -> Markup:
    args = {name: _argument_html(value, gettext, lang) for name, value in message.args.items()}
    return Markup(escape(gettext(message.msgid))) % args


def message_html(message: str, lang: str) -> tuple[Markup, str]:
    """A problem's message as HTML in ``lang``, and the language it is in: ``lang`` when it is a
    :class:`~reportgen.errors.Msg` whose every piece the catalog translates, else English (``"en"``)."""
    if isinstance(message, Msg):
        if lang != SOURCE_LANGUAGE:
            try:
                return _message_html(message, _catalog_gettext(lang), lang), lang
            except Untranslated:
                pass
        return _message_html(message, _catalog_gettext(SOURCE_LANGUAGE), SOURCE_LANGUAGE), SOURCE_LANGUAGE
    return escape(str(message)), SOURCE_LANGUAGE


def is_translated(message: str, lang: str) -> bool:
    """Whether ``message`` is said in ``lang`` on the validation page (see :func:`message_html`)."""
    return message_html(message, lang)[1] == lang


def validation_context(problems: list[Problem], data_dir: Path, lang: str) -> dict:
    """What ``validation.html.j2`` receives, for problems already in reading order."""
    _ = gettext_for(lang)
    severity = {"error": _("error"), "warning": _("warning")}
    errors = sum(p.severity == "error" for p in problems)
    files = []
    for file, group in groupby(problems, key=lambda p: p.file):
        items = list(group)
        n_err = sum(p.severity == "error" for p in items)
        rows = []
        for p in items:
            message, message_lang = message_html(p.message, lang)
            rows.append({"row": "" if p.row is None else p.row, "column": Verbatim(p.column or ""),
                         "value": Verbatim(p.value or ""), "severity": Verbatim(p.severity),
                         "severity_label": severity.get(p.severity, p.severity), "message": message,
                         "message_lang": Verbatim(message_lang), "rule": Verbatim(p.rule)})
        files.append({"file": Verbatim(file), "errors": n_err, "warnings": len(items) - n_err, "problems": rows})
    title = _("Dataset validation")
    return {
        "lang": lang, "kind": "validation", "code": "", "root": Verbatim(""), "stylesheet": "",
        "doc_title": title, "running_title": title, "series": "", "description": title,
        "evaluation": {"commissioner": ""}, "links": {"languages": []},
        # The folder's name only: a published page must not carry the build machine's paths (and two builds of
        # the same data in different places must give the same bytes; docs/security.md).
        "data_folder": Verbatim(Path(data_dir).name or str(data_dir)),
        "errors": errors, "warnings": len(problems) - errors, "files": files,
    }


def render_validation_page(problems: list[Problem], data_dir: Path, *, lang: str = "en",
                           template_dirs: list[Path] | None = None) -> str:
    """The page, for problems already in reading order, in ``lang``."""
    env = make_environment(lang if lang in LANGUAGES else "en", template_dirs=template_dirs or [templates_root()])
    return render_template(env.get_template("validation.html.j2"),
                           validation_context(problems, data_dir, env.globals["publication_lang"]),
                           what="validation.html")


def validation_json(problems: list[Problem]) -> str:
    """validation.json: a list of problem objects (sorted keys), in the problems' order; ``[]`` when none."""
    records = [p.to_dict() for p in problems]
    return json.dumps(records, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def main_language(data_dir: Path, dataset=None) -> str:
    """The evaluation's main language: from the validated dataset, else read from ``evaluation.yaml`` as far as it
    can be (a dataset with errors), else English."""
    if dataset is not None:
        return dataset.evaluation.languages[0]
    try:
        data = yaml.safe_load((Path(data_dir) / "evaluation.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):  # the validation reports it; the page stays in English
        return "en"
    langs = data.get("languages") if isinstance(data, dict) else None
    if isinstance(langs, list) and langs and str(langs[0]) in LANGUAGES:
        return str(langs[0])
    return "en"


def write_validation_report(problems: list[Problem], output_dir: Path, data_dir: Path, *, lang: str = "",
                            template_dirs: list[Path] | None = None) -> None:
    """Write ``{output_dir}/validation.json`` and ``validation.html`` (atomically; raises ReportgenError when the
    folder cannot be written). ``lang``: the page's language (default: the evaluation's main language)."""
    output_dir = Path(output_dir)
    ordered = sorted(problems, key=sort_key)
    atomic.write_if_changed(output_dir / "validation.json", validation_json(ordered))
    page = render_validation_page(ordered, Path(data_dir), lang=lang or main_language(data_dir),
                                  template_dirs=template_dirs)
    atomic.write_if_changed(output_dir / "validation.html", page)
