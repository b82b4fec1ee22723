"""validation.html: the problems of a validation, for a reader who is not a programmer.

A page for the evaluation team (no public page links it), rendered like every page by the one Jinja environment
(``templates/validation.html.j2``, which extends ``base.html.j2``), in the evaluation's main language (English when
the dataset does not say it): grouped by file, with a real table per file (column headers with ``scope``, a
caption), every value escaped, the problems' messages marked with their own language. Self-contained (inline CSS,
no script, no external resource). Deterministic: the same problems give the same bytes.
"""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

import yaml

from . import atomic
from .errors import Problem, sort_key
from .i18n import gettext_for
from .model import LANGUAGES
from .render import make_environment, render_template
from .settings import templates_root
from .typography import Verbatim

#: The language the validation's messages are written in (reportgen.validate).
MESSAGES_LANG = "en"


def validation_context(problems: list[Problem], data_dir: Path, lang: str) -> dict:
    """What ``validation.html.j2`` receives, for problems already in reading order."""
    _ = gettext_for(lang)
    severity = {"error": _("error"), "warning": _("warning")}
    errors = sum(p.severity == "error" for p in problems)
    files = []
    for file, group in groupby(problems, key=lambda p: p.file):
        items = list(group)
        n_err = sum(p.severity == "error" for p in items)
        files.append({
            "file": Verbatim(file), "errors": n_err, "warnings": len(items) - n_err,
            "problems": [{"row": "" if p.row is None else p.row, "column": Verbatim(p.column or ""),
                          "value": Verbatim(p.value or ""), "severity": Verbatim(p.severity),
                          "severity_label": severity.get(p.severity, p.severity), "message": p.message,
                          "rule": Verbatim(p.rule)} for p in items],
        })
    title = _("Dataset validation")
    return {
        "lang": lang, "kind": "validation", "code": "", "root": Verbatim(""), "stylesheet": "",
        "doc_title": title, "running_title": title, "series": "", "description": title,
        "evaluation": {"commissioner": ""}, "links": {"languages": []},
        # The folder's name only: a published page must not carry the build machine's paths (and two builds of
        # the same data in different places must give the same bytes; docs/security.md).
        "data_folder": Verbatim(Path(data_dir).name or str(data_dir)),
        "errors": errors, "warnings": len(problems) - errors, "files": files, "messages_lang": MESSAGES_LANG,
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
