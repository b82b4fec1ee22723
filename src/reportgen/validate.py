"""Validation: a dataset folder in, every problem at once out, and a typed :class:`~reportgen.model.Dataset` when
there is no error.

``validate_dataset`` reads (:mod:`reportgen.load`), converts and checks each file against the contract
(:mod:`reportgen.schema`), then checks what spans rows and tables (an action's region against its country's, amounts,
references, narratives). It never writes anything and never raises on bad data; ``write_report`` writes the
problems to ``validation.json`` and ``validation.html``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd
from babel.numbers import list_currencies

from .assets import image_problems
from .errors import Msg, Problem, has_errors, sort_key
from .fields import Field, did_you_mean, either, hint, parse_column, preview, quote
from .i18n import N_
from .iso3166 import country_name, describe, suggest_country
from .load import RawTable, list_files, problem, read_table, read_text, read_yaml
from .model import COUNTRY_CODE, LANGUAGES, REGION_CODE, Dataset, Evaluation, Indicator, Scale, Term
from .schema import (
    EVALUATION_KEY_NAMES,
    GLOBAL_SCOPE,
    INDICATOR_CODE,
    FieldDescription,
    language_name,
    RULE_ORDER,
    RULES,
    TABLES,
    YEAR_BOUNDS,
    Context,
    Table,
    explain,
    run_checks,
    tables_for,
)

EVALUATION_FILE = "evaluation.yaml"
NARRATIVE_DIR = "narrative"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

# The columns of each Dataset frame, in order ({lang} expanded for the evaluation's languages).
DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": ("region", "name_{lang}"),
    "countries": ("country", "region", "name_{lang}"),
    "actions": ("action_id", "title", "title_{lang}", "country", "region", "channel", "instrument", "partner", "themes",
                "year", "committed", "disbursed"),
    "ratings": ("action_id", "criterion", "score", "comment", "comment_{lang}"),
    "recommendations": ("rec_id", "scope", "scope_kind", "priority", "addressee", "text_{lang}"),
    "indicators": ("country", "indicator", "year", "value", "source"),
}


@dataclass
class ValidationResult:
    """What validation found: every problem (errors and warnings, sorted by file, row, column) and, when there is
    no error, the typed dataset."""

    problems: list[Problem]
    dataset: Dataset | None

    @property
    def ok(self) -> bool:
        """No error (warnings allowed)."""
        return not has_errors(self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _problem(file: str, rule: str, message: str, *, row: int | None = None, column: str | None = None,
             value: object = None) -> Problem:
    """A problem whose severity is its rule's (see :data:`reportgen.schema.RULES`)."""
    text = None if value is None else str(value)
    return problem(file, rule, message, row=row, column=column, value=text, severity=RULES[rule].severity)


# ---------------------------------------------------------------------------------------------------------------
# evaluation.yaml
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class EvaluationCheck:
    """What the rest of validation needs from evaluation.yaml, as far as it could be read.

    ``languages``, ``period`` and ``indicators`` are None when unknown (missing or broken), so that checks depending
    on them are skipped rather than multiplied. ``evaluation`` is set only when evaluation.yaml has no error.
    """

    languages: tuple[str, ...] | None = None
    period: tuple[int, int] | None = None
    indicators: dict[str, Indicator] | None = None
    themes: tuple[str, ...] | None = None  # the codes declared (None: absent or broken)
    criteria: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    scale: tuple[int, int] | None = None
    themes_declared: bool = False
    broken: frozenset[str] = frozenset()  # vocabulary keys declared with errors: tables are not checked against them
    evaluation: Evaluation | None = None
    problems: list[Problem] = field(default_factory=list)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_evaluation(data: object, lines: dict[tuple[str, ...], int] | None = None,
                     file: str = EVALUATION_FILE) -> EvaluationCheck:
    """Check the parsed content of evaluation.yaml against :data:`reportgen.schema.EVALUATION_KEYS`."""
    lines = lines or {}
    out = EvaluationCheck()
    problems = out.problems

    def report(rule: str, path: tuple[str, ...], message: str, value: object = None) -> None:
        line = None
        for end in range(len(path), 0, -1):  # the line of the key, or of its closest parent
            line = lines.get(path[:end])
            if line is not None:
                break
        problems.append(_problem(file, rule, message, row=line, column=".".join(path) or None,
                                 value=None if value is None else _short(value)))

    if not isinstance(data, dict):
        example = "id: …, languages: …"
        report("type", (), Msg(N_("must be a set of keys and values (%(example)s); see docs/dataset.md, got an empty "
                                  "file"), example=example) if data is None else
               Msg(N_("must be a set of keys and values (%(example)s); see docs/dataset.md, got a %(type)s"),
                   example=example, type=type(data).__name__))
        return out
    for key in data:
        if str(key) not in EVALUATION_KEY_NAMES:
            report("unknown_key", (str(key),), Msg(N_("is not a key of evaluation.yaml%(hint)s"),
                                                   hint=hint(did_you_mean(str(key), EVALUATION_KEY_NAMES))), key)

    def get(key: str, required: bool) -> object:
        value = data.get(key)
        if value is None and required:
            report("required", (key,), Msg(N_("is missing; see docs/dataset.md for the keys of evaluation.yaml")))
        return value

    # id
    ident = get("id", True)
    if ident is not None and not ((isinstance(ident, str) and ident.strip()) or _is_int(ident)):
        report("type", ("id",), Msg(N_("must be the evaluation's number as text, e.g. %(example)s, got %(value)s"),
                                    example='"128"', value=quote(ident)), ident)
        ident = None
    # languages
    languages: list[str] = []
    raw_languages = get("languages", True)
    if raw_languages is not None:
        if isinstance(raw_languages, str):
            raw_languages = [raw_languages] if raw_languages in LANGUAGES else raw_languages
        if not isinstance(raw_languages, list):
            report("type", ("languages",), Msg(N_("must be a list of languages such as %(example)s, got %(value)s"),
                                               example="[fr, en]", value=quote(raw_languages)), raw_languages)
        elif not raw_languages:
            report("required", ("languages",), Msg(N_("must list at least one language: %(fr)s and/or %(en)s"),
                                                   fr="fr", en="en"))
        else:
            for item in raw_languages[:10]:
                if not isinstance(item, str) or item not in LANGUAGES:
                    report("allowed", ("languages",), Msg(N_("must be %(fr)s or %(en)s, got %(value)s%(hint)s"),
                                                          fr="fr", en="en", value=quote(item),
                                                          hint=hint(did_you_mean(preview(item), LANGUAGES))), item)
                elif item in languages:
                    report("unique", ("languages",), Msg(N_("lists %(language)s twice; list each language once"),
                                                         language=item), item)
                else:
                    languages.append(item)
    out.languages = tuple(languages) if languages else None

    def texts(key: str, required: bool) -> dict[str, str] | None:
        """A map language → text, one per language."""
        path = (key,)
        value = get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            report("type", path, Msg(N_("must give a text per language, e.g. %(example)s, got %(value)s"),
                                     example="{fr: …, en: …}", value=quote(value)), value)
            return None
        result: dict[str, str] = {}
        for lang, text in value.items():
            if out.languages is not None and lang not in out.languages:
                report("ignored_language", (*path, str(lang)),
                       Msg(N_("is ignored: %(language)s is not in the languages of evaluation.yaml"),
                           language=str(lang)), lang)
            elif not isinstance(text, str) and text is not None:
                report("type", (*path, str(lang)), Msg(N_("must be a text, got %(value)s"), value=quote(text)), text)
            elif isinstance(text, str) and text.strip():
                result[str(lang)] = text.strip()
        for lang in out.languages or ():
            if lang not in result and not any(p.column == ".".join((*path, lang)) for p in problems):
                report("missing_language", (*path, lang), Msg(N_("is missing: give the text in %(language)s"),
                                                              language=language_name(lang)))
        return result

    title = texts("title", True)
    commissioner = texts("commissioner", True)
    subtitle = texts("subtitle", False)
    evaluator = get("evaluator", True)
    if evaluator is not None and not (isinstance(evaluator, str) and evaluator.strip()):
        report("type", ("evaluator",), Msg(N_("must be a text (who carried out the evaluation), got %(value)s"),
                                           value=quote(evaluator)), evaluator)
    published = get("published", True)
    if published is not None and not (isinstance(published, str) and MONTH.fullmatch(published.strip())):
        report("pattern", ("published",), Msg(N_("must be a month written YYYY-MM, e.g. %(example)s, got %(value)s"),
                                              example='"2014-03"', value=quote(published)), published)
    period: list[int | None] = []
    for key in ("period_start", "period_end"):
        year = get(key, True)
        if year is None:
            period.append(None)
        elif not _is_int(year):
            report("type", (key,), Msg(N_("must be a year written as a number without quotes, e.g. %(example)s, "
                                          "got %(value)s"), example="2007", value=quote(year)), year)
            period.append(None)
        elif not YEAR_BOUNDS[0] <= year <= YEAR_BOUNDS[1]:
            report("range", (key,), Msg(N_("must be a year from %(low)s to %(high)s, got %(value)s"),
                                        low=YEAR_BOUNDS[0], high=YEAR_BOUNDS[1], value=str(year)), year)
            period.append(None)
        else:
            period.append(year)
    start, end = period
    if start is not None and end is not None:
        if start > end:
            report("range", ("period_end",), Msg(N_("must not be before %(key)s (%(start)s), got %(value)s"),
                                                 key="period_start", start=start, value=str(end)), end)
        else:
            out.period = (start, end)
    currency = get("currency", True)
    if currency is not None:
        if not isinstance(currency, str):
            report("type", ("currency",), Msg(N_("must be an ISO 4217 code such as %(example)s, got %(value)s"),
                                              example="EUR", value=quote(currency)), currency)
        elif currency not in list_currencies():
            report("allowed", ("currency",), Msg(N_("must be an ISO 4217 code such as %(example)s or %(other)s, got "
                                                    "%(value)s%(hint)s"), example="EUR", other="USD",
                                                 value=quote(currency),
                                                 hint=hint(did_you_mean(currency, sorted(list_currencies()),
                                                                        cutoff=0.7))), currency)
    out.indicators = _check_indicators(data.get("indicators"), out.languages, report)
    funder = texts("funder", False)
    themes_title = texts("themes_title", False)
    themes = _check_terms("themes", data.get("themes"), out.languages, report, description="description")
    criteria = _check_terms("criteria", data.get("criteria"), out.languages, report, description="definition")
    channels = _check_terms("channels", data.get("channels"), out.languages, report, description="description")
    scale = _check_scale(data.get("scale"), out.languages, report)
    out.themes = None if themes is None else tuple(t.code for t in themes)
    out.criteria = None if criteria is None else tuple(t.code for t in criteria)
    out.channels = None if channels is None else tuple(t.code for t in channels)
    out.scale = None if scale is None else (scale.minimum, scale.maximum)
    out.themes_declared = "themes" in data
    out.broken = frozenset(key for key, value in (("themes", out.themes), ("criteria", out.criteria),
                                                   ("channels", out.channels), ("scale", out.scale))
                           if data.get(key) is not None and value is None)

    if not has_errors(problems):
        out.evaluation = Evaluation(
            id=str(ident).strip(),
            languages=tuple(languages),
            title=title or {},
            commissioner=commissioner or {},
            subtitle=subtitle or None,
            evaluator=str(evaluator).strip(),
            published=str(published).strip(),
            period_start=int(start),  # type: ignore[arg-type]
            period_end=int(end),  # type: ignore[arg-type]
            currency=str(currency),
            indicators=out.indicators or {},
            **_vocabulary(tuple(languages), funder or {}, themes_title or {}, themes, criteria, channels, scale),
        )
    return out


def _vocabulary(languages: tuple[str, ...], funder: dict[str, str], themes_title: dict[str, str],
                themes: tuple[Term, ...] | None, criteria: tuple[Term, ...] | None,
                channels: tuple[Term, ...] | None, scale: Scale | None) -> dict:
    """The vocabulary fields of the Evaluation: what evaluation.yaml declares, the defaults for the rest (the
    themes of a legacy ``pillars`` column are set when the actions table is known, see :func:`build_dataset`)."""
    # Imported here, not at the top: the defaults read the translation catalogues, which `reportgen validate`
    # needs only for a dataset without error (start-up time of the command).
    from . import vocabulary

    return {
        "funder": funder,
        "themes": themes or (),
        "themes_title": themes_title,
        "criteria": criteria if criteria is not None else vocabulary.default_criteria(languages, funder),
        "channels": channels if channels is not None else vocabulary.default_channels(languages),
        "scale": scale if scale is not None else vocabulary.default_scale(languages),
    }


VOCABULARY_CODE = r"[a-z0-9][a-z0-9_.-]{0,59}"
# The parts of a term of evaluation.yaml, as messages name them.
_TERM_PARTS = {"label": N_("label"), "description": N_("description"), "definition": N_("definition")}
_TERM_EXAMPLE = {"themes": "{prevention: {label: {fr: Prévention, en: Prevention}}}",
                 "criteria": "{relevance: {label: {fr: pertinence, en: relevance}, definition: {fr: …, en: …}}}",
                 "channels": "{bilateral: {label: {fr: bilatéral, en: bilateral}, description: {fr: …, en: …}}}"}


def _per_language(value: object, path: tuple[str, ...], languages: tuple[str, ...] | None, report,
                  what: str) -> dict[str, str] | None:
    """A map language → text under ``path`` (a label, a description): one problem per missing language."""
    if not isinstance(value, dict):
        report("required" if value is None else "type", path,
               Msg(N_("must give the %(what)s in each language, e.g. %(example)s, got %(value)s"),
                   what=Msg(_TERM_PARTS[what]), example="{fr: …, en: …}", value=quote(value)), value)
        return None
    texts: dict[str, str] = {}
    for lang, text in value.items():
        if languages is not None and lang not in languages:
            report("ignored_language", (*path, str(lang)),
                   Msg(N_("is ignored: %(language)s is not in the languages of evaluation.yaml"),
                       language=str(lang)), lang)
        elif not isinstance(text, str) and text is not None:
            report("type", (*path, str(lang)), Msg(N_("must be a text, got %(value)s"), value=quote(text)), text)
        elif isinstance(text, str) and text.strip():
            texts[str(lang)] = text.strip()
    for lang in languages or ():
        if lang not in texts:
            report("missing_language", (*path, lang), Msg(N_("is missing: give the %(what)s in %(language)s"),
                                                          what=Msg(_TERM_PARTS[what]), language=language_name(lang)))
    return texts


def _check_terms(key: str, value: object, languages: tuple[str, ...] | None, report, *,
                 description: str) -> tuple[Term, ...] | None:
    """``themes``, ``criteria`` or ``channels``: an ordered map code → {label: {lang: text}, description or
    definition: {lang: text}}. None when absent (the default applies) or unusable (checks using it are skipped)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        report("type", (key,), Msg(N_("must map each code to its label (and %(what)s), e.g. %(example)s, got "
                                      "%(value)s"), what=Msg(_TERM_PARTS[description]), example=_TERM_EXAMPLE[key],
                                   value=quote(value)), value)
        return None
    if not value and key != "themes":
        report("required", (key,), Msg(N_("must declare at least one code, e.g. %(example)s; or leave the key out "
                                          "for the default"), example=_TERM_EXAMPLE[key]))
        return None
    terms: list[Term] = []
    broken = False
    for code, spec in list(value.items())[:200]:
        path = (key, str(code))
        if not isinstance(code, str) or not re.fullmatch(VOCABULARY_CODE, code):
            report("pattern", path, Msg(N_("must be a code of lower-case letters, digits, %(characters)s (the tables "
                                           "use this code), got %(value)s"), characters=either(["'_', '-'", "'.'"]),
                                        value=quote(code)), code)
            broken = True
            continue
        if not isinstance(spec, dict):
            report("type", path, Msg(N_("must be %(example)s, got %(value)s"),
                                     example=f"{{label: {{fr: …, en: …}}, {description}: {{fr: …, en: …}}}}",
                                     value=quote(spec)), spec)
            broken = True
            continue
        for sub in spec:
            if sub not in ("label", description):
                report("unknown_key", (*path, str(sub)),
                       Msg(N_("is not a key of %(key)s (%(keys)s)%(hint)s"), key=key, keys=f"label, {description}",
                           hint=hint(did_you_mean(str(sub), ("label", description)))), sub)
        label = _per_language(spec.get("label"), (*path, "label"), languages, report, "label")
        text = spec.get(description)
        described = {} if text is None else _per_language(text, (*path, description), languages, report,
                                                           description)
        terms.append(Term(code, label or {}, described or {}))
    if len(value) > 200:
        report("range", (key,), Msg(N_("declares %(count)s codes; at most %(most)s"), count=len(value), most=200),
               len(value))
    return None if broken else tuple(terms)


MAX_SCALE = 100


def _check_scale(value: object, languages: tuple[str, ...] | None, report) -> Scale | None:
    """``scale``: {min: int, max: int, labels: {score: {lang: text}}} (labels optional)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        report("type", ("scale",), Msg(N_("must be %(example)s, got %(value)s"),
                                       example="{min: 1, max: 4, labels: {1: {fr: …, en: …}}}", value=quote(value)),
               value)
        return None
    for sub in value:
        if sub not in ("min", "max", "labels"):
            report("unknown_key", ("scale", str(sub)),
                   Msg(N_("is not a key of %(key)s (%(keys)s)%(hint)s"), key="scale", keys="min, max, labels",
                       hint=hint(did_you_mean(str(sub), ("min", "max", "labels")))), sub)
    bounds: list[int | None] = []
    for sub in ("min", "max"):
        number = value.get(sub)
        if number is None:
            report("required", ("scale", sub), Msg(N_("is missing: give the lowest score as a whole number, e.g. "
                                                      "%(example)s") if sub == "min" else
                                                   N_("is missing: give the highest score as a whole number, e.g. "
                                                      "%(example)s"), example="min: 1, max: 4"))
            bounds.append(None)
        elif not _is_int(number) or not 0 <= number <= 1000:
            report("type", ("scale", sub), Msg(N_("must be a whole number from %(low)s to %(high)s, got %(value)s"),
                                               low=0, high=1000, value=quote(number)), number)
            bounds.append(None)
        else:
            bounds.append(number)
    low, high = bounds
    if low is None or high is None:
        return None
    if low > high:
        report("range", ("scale", "max"), Msg(N_("must not be smaller than %(key)s (%(low)s), got %(value)s; swap "
                                                 "them"), key="scale.min", low=low, value=str(high)), high)
        return None
    if high - low > MAX_SCALE:
        report("range", ("scale", "max"), Msg(N_("gives %(count)s scores; a scale has at most %(most)s"),
                                              count=high - low + 1, most=MAX_SCALE + 1), high)
        return None
    labels: dict[int, dict[str, str]] = {}
    raw_labels = value.get("labels")
    if raw_labels is not None and not isinstance(raw_labels, dict):
        report("type", ("scale", "labels"), Msg(N_("must map scores to labels, e.g. %(example)s, got %(value)s"),
                                                example="{1: {fr: …, en: …}}", value=quote(raw_labels)), raw_labels)
        return None
    for score, label in (raw_labels or {}).items():
        path = ("scale", "labels", str(score))
        if not _is_int(score) or not low <= score <= high:
            report("range", path, Msg(N_("must be a score of the scale, %(low)s to %(high)s, got %(value)s"), low=low,
                                      high=high, value=quote(score)), score)
            continue
        texts = _per_language(label, path, languages, report, "label")
        if texts is not None:
            labels[score] = texts
    return Scale(low, high, labels)


def _short(value: object) -> str:
    text = preview(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _check_indicators(value: object, languages: tuple[str, ...] | None, report) -> dict[str, Indicator] | None:
    """The indicators of evaluation.yaml: {code: {unit: text, label: {lang: text}}}; None when unusable."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        report("type", ("indicators",), Msg(N_("must map each indicator code to %(example)s, got %(value)s"),
                                            example="{unit: …, label: {fr: …, en: …}}", value=quote(value)), value)
        return None
    result: dict[str, Indicator] = {}
    for code, spec in value.items():
        path = ("indicators", str(code))
        if not isinstance(code, str) or not re.fullmatch(INDICATOR_CODE, code):
            report("pattern", path, Msg(N_("must be an indicator code of letters, digits, %(characters)s, got "
                                           "%(value)s"), characters=either(["'_', '-'", "'.'"]), value=quote(code)), code)
            continue
        if not isinstance(spec, dict):
            report("type", path, Msg(N_("must be %(example)s, got %(value)s"),
                                     example="{unit: …, label: {fr: …, en: …}}", value=quote(spec)), spec)
            continue
        for key in spec:
            if key not in ("unit", "label"):
                report("unknown_key", (*path, str(key)), Msg(N_("is not a key of an indicator (%(keys)s)%(hint)s"),
                                                             keys="unit, label",
                                                             hint=hint(did_you_mean(str(key), ("unit", "label")))),
                       key)
        unit = spec.get("unit")
        if not (isinstance(unit, str) and unit.strip()):
            report("required" if unit is None else "type", (*path, "unit"),
                   Msg(N_("must be the unit of the indicator as text, e.g. %(percent)s or %(tier)s"), percent="'%'",
                       tier="'tier'"), unit)
            unit = ""
        label = spec.get("label")
        labels: dict[str, str] = {}
        if not isinstance(label, dict):
            report("required" if label is None else "type", (*path, "label"),
                   Msg(N_("must give a label per language, e.g. %(example)s"), example="{fr: …, en: …}"), label)
        else:
            for lang, text in label.items():
                if languages is not None and lang not in languages:
                    report("ignored_language", (*path, "label", str(lang)),
                           Msg(N_("is ignored: %(language)s is not in the languages of evaluation.yaml"),
                               language=str(lang)), lang)
                elif isinstance(text, str) and text.strip():
                    labels[str(lang)] = text.strip()
            for lang in languages or ():
                if lang not in labels:
                    report("missing_language", (*path, "label", lang),
                           Msg(N_("is missing: give the %(what)s in %(language)s"), what=Msg(_TERM_PARTS["label"]),
                               language=language_name(lang)))
        result[code] = Indicator(code=code, unit=str(unit).strip(), label=labels)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class CheckedTable:
    """A table after its own checks: typed columns (index = row numbers), the fields present, the rows checked."""

    table: Table
    raw: RawTable
    typed: pd.DataFrame
    fields: dict[str, Field]
    bad_cells: set[tuple[int, str]]  # cells with a problem: later checks leave them alone


def check_table(table: Table, raw: RawTable, ctx: Context) -> tuple[CheckedTable, list[Problem]]:
    """Columns (missing, unknown, per language), cell types and the checks of the table's pandera schema."""
    problems: list[Problem] = []
    file, header_row = raw.file, raw.header_row
    languages = ctx.languages
    known = [f.name for f in table.columns(LANGUAGES)]
    present: dict[str, Field] = {}
    for column in raw.frame.columns:
        f = table.field(column)
        if f is None:
            problems.append(_problem(file, "unknown_column",
                                     Msg(N_("is not a column of %(table)s%(hint)s (columns: %(columns)s)"),
                                         table=table.name, hint=hint(did_you_mean(column, known, cutoff=0.7)),
                                         columns=", ".join(known)), row=header_row, column=column, value=column))
            continue
        lang = table.language_of(column)
        if lang and languages is not None and lang not in languages:
            problems.append(_problem(file, "ignored_column",
                                     Msg(N_("is ignored: %(language)s is not in the languages of evaluation.yaml"),
                                         language=lang), row=header_row, column=column, value=column))
            continue
        present[column] = f
    for f in table.columns(languages or ()):
        if f.column_required and f.name not in present:
            lang = table.language_of(f.name)
            problems.append(_problem(file, "missing_language" if lang else "missing_column",
                                     Msg(N_("is missing from the header row: add a column %(column)s "
                                            "(%(description)s)"), column=f.name,
                                         description=FieldDescription(f.description, lang)),
                                     row=header_row, column=f.name))

    typed = pd.DataFrame(index=raw.frame.index)
    cell_problems: dict[tuple[int, str], Problem] = {}
    for column, f in present.items():
        typed[column], errors = parse_column(f, raw.frame[column])
        for row, error in errors.items():
            if row not in raw.ragged_rows:
                cell_problems[(int(row), column)] = _problem(file, error.rule, error.message, row=int(row),
                                                             column=column, value=raw.frame.at[row, column])
    checked = typed.loc[~typed.index.isin(list(raw.ragged_rows))]
    failures = run_checks(table, checked, list(present.values()), ctx)
    failures.sort(key=lambda item: (item[0], item[1], RULE_ORDER.index(item[2]) if item[2] in RULE_ORDER else 99))
    for row, column, rule in failures:
        if (row, column) in cell_problems:
            continue
        f = present[column]
        text = raw.frame.at[row, column]
        first_row, combination = None, ()
        if rule == "unique":
            first_row, combination = _first_duplicate(table, checked, row, column)
        message = explain(f, rule, text, ctx, first_row=first_row, combination=combination)
        cell_problems[(row, column)] = _problem(file, rule, message, row=row, column=column, value=text or None)
    problems.extend(cell_problems.values())
    bad = set(cell_problems) | {(row, c) for row in raw.ragged_rows for c in typed.columns}
    return CheckedTable(table, raw, typed, present, bad), problems


def _first_duplicate(table: Table, typed: pd.DataFrame, row: int, column: str) -> tuple[int | None, tuple]:
    """The first row holding the same value as ``row`` in a unique column, or the same combination of values
    (reported on the combination's first column); and that combination (empty for a single column)."""
    f = table.field(column)
    combination: tuple[str, ...] = () if f is not None and f.unique else table.unique_together
    columns = list(combination) or [column]
    try:
        key = pd.Series([typed.at[row, c] for c in columns], index=columns, dtype=object)
        same = typed[columns].astype(object).eq(key).all(axis=1)
        return int(typed.index[same.to_numpy(dtype=bool)][0]), combination
    except (KeyError, IndexError, ValueError, TypeError):
        return None, combination


def valid_values(checked: CheckedTable, column: str) -> frozenset[str]:
    """The values of a column (as typed), empty cells left out; used as targets of references."""
    if column not in checked.typed.columns:
        return frozenset()
    return frozenset(str(v) for v in checked.typed[column].dropna())


# ---------------------------------------------------------------------------------------------------------------
# Checks across rows and tables
# ---------------------------------------------------------------------------------------------------------------


def check_actions(actions: CheckedTable, countries: CheckedTable | None) -> list[Problem]:
    """Region against country, region required without a country, disbursed ≤ committed, no amount, no actions.

    Cells that already have a problem, and ragged rows, are left out (column-wise masks: fast on large tables).
    """
    file, typed, raw = actions.raw.file, actions.typed, actions.raw.frame
    if len(raw) == 0:
        return [_problem(file, "no_actions", Msg(N_("has no actions: add at least one row under the header")))]
    country_region: dict[str, str] = {}
    country_row: dict[str, int] = {}
    if countries is not None and {"country", "region"} <= set(countries.typed.columns):
        for row, (country, region) in countries.typed[["country", "region"]].iterrows():
            if pd.notna(country) and pd.notna(region) and (row, "region") not in countries.bad_cells:
                country_region.setdefault(str(country), str(region))
                country_row.setdefault(str(country), int(row))
    bad_rows: dict[str, set[int]] = {}
    for row, column in actions.bad_cells:
        bad_rows.setdefault(column, set()).add(row)
    index = typed.index

    def usable(column: str) -> pd.Series:
        """Rows whose cell of ``column`` exists and has no problem."""
        if column not in typed.columns:
            return pd.Series(False, index=index)
        return pd.Series(~index.isin(list(bad_rows.get(column, ()))), index=index)

    def column(name: str) -> pd.Series:
        return typed[name] if name in typed.columns else pd.Series(pd.NA, index=index, dtype="object")

    def flagged(mask: pd.Series) -> list[int]:
        return [int(r) for r in index[mask.fillna(False).to_numpy(dtype=bool)]]

    problems: list[Problem] = []
    country, region = column("country"), column("region")
    both = usable("country") & usable("region")
    for row in flagged(both & country.isna() & region.isna()):
        problems.append(_problem(file, "required", Msg(N_("must not be empty when %(country)s is empty: give the "
                                                          "region the action covers"), country="country"),
                                 row=row, column="region"))
    expected = country.map(lambda c: country_region.get(c, pd.NA) if pd.notna(c) else pd.NA)
    for row in flagged(both & region.notna() & expected.notna() & (expected.astype(object) != region.astype(object))):
        code = str(country[row])
        problems.append(_problem(
            file, "region_mismatch",
            Msg(N_("must be the region of %(country)s, which is %(region)s in %(file)s (row %(row)s), got "
                   "%(value)s; correct it or leave it empty"), country=describe(code),
                region=repr(country_region[code]), file=countries.raw.file if countries else "countries.csv",
                row=country_row[code], value=quote(region[row])), row=row, column="region",
            value=raw.at[row, "region"]))
    committed, disbursed = column("committed"), column("disbursed")
    amounts = usable("committed") & usable("disbursed") & committed.notna() & disbursed.notna()
    for row in flagged(amounts & (disbursed.astype("Float64") > committed.astype("Float64"))):
        problems.append(_problem(
            file, "disbursed_gt_committed",
            Msg(N_("must not be larger than %(column)s (%(committed)s), got %(value)s; check both amounts"),
                column="committed", committed=str(raw.at[row, "committed"]), value=quote(raw.at[row, "disbursed"])),
            row=row, column="disbursed", value=raw.at[row, "disbursed"]))
    action_ids = column("action_id")
    for row in flagged(usable("committed") & committed.isna()):
        action = action_ids[row]
        message = (Msg(N_("is empty: action %(action)s has no reported amount; it is left out of the sums and counted "
                          "among actions without amount"), action=str(action)) if pd.notna(action) else
                   Msg(N_("is empty: this action has no reported amount; it is left out of the sums and counted among "
                          "actions without amount")))
        problems.append(_problem(file, "no_amount", message, row=row, column="committed"))
    return problems


def _narrative_path(lang: str, kind: str, code: str | None) -> str:
    """The file a narrative is read from, relative to the dataset folder."""
    if kind == "synthesis":
        return f"{NARRATIVE_DIR}/{lang}/synthesis.md"
    return f"{NARRATIVE_DIR}/{lang}/{'regions' if kind == 'region' else 'countries'}/{code}.md"


# UTF-8 text once decoded as Windows-1252 or Latin-1: "Ã©" for "é", "â€™" for "’", "Â " for a no-break space.
MOJIBAKE = re.compile("Ã[\u00a0-\u00bf\u0152-\u0178\u2013-\u2122]|â€[\u0080-\u00bf\u0152-\u2122]|Â[\u00a0-\u00bf]")
REPLACEMENT = "\ufffd"


def _repaired(text: str) -> str | None:
    """The text read back as UTF-8 when it is mojibake of Windows-1252 (or Latin-1); None when that fails."""
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return None


def mojibake_message(text: str) -> str | None:
    """Why ``text`` looks damaged by a wrong decoding, with how to repair it; None when it looks sound."""
    if REPLACEMENT in text:
        return Msg(N_("has a replacement character (%(character)s) where a letter was lost: the file was decoded "
                      "with the wrong encoding before it was saved; retype the letter, or export the data again from "
                      "its source as UTF-8"), character="�, U+FFFD")
    match = MOJIBAKE.search(text)
    if match is None:
        return None
    repaired = _repaired(text)
    fix = Msg(N_("; it probably reads %(value)s"), value=quote(repaired)) if repaired and repaired != text else ""
    return Msg(N_("has %(value)s, UTF-8 text read as Windows-1252%(fix)s: export the data again from its source as "
                  "UTF-8, or replace the damaged letters"), value=quote(match.group()), fix=fix)


def check_mojibake(raw: RawTable) -> list[Problem]:
    """A warning per cell whose text holds U+FFFD or mojibake (``Ã©``, ``â€™``)."""
    problems: list[Problem] = []
    for column in raw.frame.columns:
        cells = raw.frame[column]
        if cells.dtype != object and str(cells.dtype) != "string":
            continue
        # One search over the whole column first: almost every column is sound, and two vectorised searches per
        # column took a tenth of the validation of 20,000 actions. The pattern has no anchor and cannot match a
        # newline, so a cell that matches alone matches in the joined text.
        joined = "\n".join(map(str, cells.dropna().tolist()))
        if REPLACEMENT not in joined and MOJIBAKE.search(joined) is None:
            continue
        texts = cells.astype("string")
        suspect = texts.str.contains(MOJIBAKE, regex=True, na=False) | texts.str.contains(REPLACEMENT, regex=False,
                                                                                          na=False)
        for row in texts.index[suspect.to_numpy(dtype=bool)]:
            message = mojibake_message(str(texts[row]))
            if message:
                problems.append(_problem(raw.file, "mojibake", message, row=int(row), column=str(column),
                                         value=texts[row]))
    return problems


def _check_themes_columns(raw: RawTable) -> list[Problem]:
    """``pillars`` is the old name of ``themes``: a table with both is refused."""
    if {"themes", "pillars"} <= set(raw.frame.columns):
        return [_problem(raw.file, "duplicate_column",
                         Msg(N_("has both %(themes)s and %(pillars)s, the old name of %(themes)s: keep one column"),
                             themes="themes", pillars="pillars"), row=raw.header_row, column="pillars",
                         value="pillars")]
    return []


def read_narratives(root: Path, languages: tuple[str, ...] | None, regions: frozenset[str] | None,
                    countries: frozenset[str] | None):
    """The narratives, their digests and their problems, the images' included (files under ``assets/`` too): all
    that validation reads besides the tables. The preview reads only this again when only narratives changed."""
    texts, digests, problems = check_narratives(root, languages, regions, countries)
    problems = problems + image_problems(root, texts, {key: _narrative_path(*key) for key in texts})
    return texts, digests, problems


def check_narratives(root: Path, languages: tuple[str, ...] | None, regions: frozenset[str] | None,
                     countries: frozenset[str] | None
                     ) -> tuple[dict[tuple[str, str, str | None], str], dict[str, str], list[Problem]]:
    """Read ``narrative/{lang}/synthesis.md``, ``…/regions/{region}.md``, ``…/countries/{country}.md``.

    A file elsewhere, or for a language, region or country the dataset does not have, is a warning and is not read.
    """
    texts: dict[tuple[str, str, str | None], str] = {}
    digests: dict[str, str] = {}
    usage = Msg(N_("is not used: narrative files are %(synthesis)s, %(regions)s and %(countries)s"),
                synthesis="narrative/{lang}/synthesis.md", regions="narrative/{lang}/regions/{region}.md",
                countries="narrative/{lang}/countries/{country}.md")
    files, problems = list_files(root, NARRATIVE_DIR)
    for rel in files:
        parts = rel.split("/")
        if any(part.startswith(".") for part in parts):
            continue  # .DS_Store, .gitkeep, editors' backups
        key: tuple[str, str, str | None] | None = None
        warning: str | None = None
        if len(parts) == 3 and parts[2] == "synthesis.md":
            key = (parts[1], "synthesis", None)
        elif len(parts) == 4 and parts[2] in ("regions", "countries") and parts[3].endswith(".md"):
            code = parts[3][:-3]
            if parts[2] == "regions":
                key = (parts[1], "region", code)
                if not re.fullmatch(REGION_CODE, code) or (regions is not None and code not in regions):
                    warning = Msg(N_("is not used: %(code)s is not a region of regions.csv%(hint)s"),
                                  code=repr(code), hint=hint(did_you_mean(code, regions or ())))
            else:
                key = (parts[1], "country", code)
                if not re.fullmatch(COUNTRY_CODE, code) or (countries is not None and code not in countries):
                    guess = suggest_country(code)
                    warning = Msg(N_("is not used: %(code)s is not a country of countries.csv%(hint)s"),
                                  code=repr(code), hint=hint(describe(guess) if guess and (
                                      countries is None or guess in countries) else None))
        else:
            warning = usage
        if key is not None and warning is None and key[0] not in (languages or LANGUAGES):
            warning = Msg(N_("is not used: %(language)s is not one of the languages of evaluation.yaml"),
                          language=repr(key[0]))
        if warning:
            problems.append(_problem(rel, "unknown_narrative", warning))
            continue
        assert key is not None
        text, digest, read_problems = read_text(root, rel)
        problems.extend(read_problems)
        if text is not None and digest is not None:
            for number, line in enumerate(text.splitlines(), start=1):
                message = mojibake_message(line)
                if message:
                    problems.append(_problem(rel, "mojibake", message, row=number))
                    break  # one warning per file: the whole file was decoded the same way
            texts[key] = text
            digests[rel] = digest
    return texts, digests, problems


# ---------------------------------------------------------------------------------------------------------------
# The Dataset
# ---------------------------------------------------------------------------------------------------------------


def _frame(name: str, checked: CheckedTable | None, languages: tuple[str, ...]) -> pd.DataFrame:
    """The Dataset frame of a table: the documented columns in order, NA where not given, index reset."""
    columns: list[str] = []
    for column in DATASET_COLUMNS[name]:
        columns.extend(column.replace("{lang}", lang) for lang in languages) if "{lang}" in column \
            else columns.append(column)
    table = TABLES[name]
    typed = checked.typed if checked is not None else pd.DataFrame()
    if name == "actions" and "pillars" in typed.columns:  # the old name of themes
        typed = typed.rename(columns={"pillars": "themes"})
    out = {}
    for column in columns:
        f = table.field(column)
        dtype = f.dtype if f is not None else "string"
        if column in typed.columns:
            out[column] = typed[column].astype(dtype).reset_index(drop=True)
        else:
            out[column] = pd.Series(pd.NA, index=range(len(typed)), dtype=dtype)
    return pd.DataFrame(out, columns=columns)


def build_dataset(root: Path, evaluation: Evaluation, tables: dict[str, CheckedTable | None],
                  narratives: dict[tuple[str, str, str | None], str], source_files: dict[str, str]) -> Dataset:
    """Assemble the :class:`Dataset` of a dataset without error."""
    languages = evaluation.languages
    frames = {name: _frame(name, tables.get(name), languages) for name in DATASET_COLUMNS}

    countries = frames["countries"]
    for lang in languages:
        column = f"name_{lang}"
        standard = countries["country"].map(lambda code, lang=lang: country_name(str(code), lang) or str(code))
        countries[column] = countries[column].fillna(standard.astype("string")).astype("string")

    actions = frames["actions"]
    region_of = dict(zip(countries["country"], countries["region"]))
    from_country = actions["country"].map(lambda c: region_of.get(c, pd.NA) if pd.notna(c) else pd.NA)
    actions["region"] = from_country.astype("string").fillna(actions["region"]).astype("string")

    recommendations = frames["recommendations"]
    region_codes = set(frames["regions"]["region"])

    def kind(scope: object) -> str:
        if scope == GLOBAL_SCOPE:
            return "global"
        return "region" if scope in region_codes else "country"

    recommendations["scope_kind"] = recommendations["scope"].map(kind).astype("string")

    return Dataset(
        root=root,
        evaluation=evaluation,
        regions=frames["regions"],
        countries=countries,
        actions=actions,
        ratings=frames["ratings"],
        recommendations=recommendations,
        indicators=frames["indicators"],
        narratives=narratives,
        source_files=dict(sorted(source_files.items())),
    )


# ---------------------------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------------------------


def _similar_file(root: Path, name: str) -> str | None:
    """A file of ``root`` whose name is close to ``{name}.csv`` (``action.csv``, ``Actions.CSV``), if any."""
    try:
        candidates = [p.name for p in root.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".xls", ".ods")]
    except OSError:
        return None
    close = did_you_mean(f"{name}.csv", candidates, cutoff=0.75) or did_you_mean(f"{name}.xlsx", candidates,
                                                                                  cutoff=0.75)
    return Msg(N_("the file %(file)s (rename it)"), file=close) if close else None


@lru_cache(maxsize=1)
def _library_versions() -> str:
    """The versions of the libraries that read and check a table (part of a :class:`TableCache` key; once per
    process, not once per table)."""
    from importlib.metadata import version

    return ", ".join(f"{lib} {version(lib)}" for lib in ("pandas", "numpy", "pandera"))


class TableCache:
    """The tables a validation read and checked, kept for the next one (the prepare stage's, in the build state).

    A build after a one-cell edit validates every table again, and reading and checking the others is most of it (on
    the large benchmark dataset, the 69,000 ratings are 1.2 s of 3.2 s). A table is taken from here when everything
    its reading and checking depend on is what it was: its file's bytes, evaluation.yaml's, the codes the earlier
    tables define (the references it checks), the size limit, and reportgen's code and the versions of pandas,
    NumPy and pandera. One entry per table (the last one), written atomically; an entry that cannot be read or
    written is no entry, never an error."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @staticmethod
    def key(root: Path, name: str, evaluation_digest: str, ctx: Context, max_xlsx_bytes: int, *options: str
            ) -> tuple[str, str] | None:
        """The entry's key and the digest of the file's bytes it was made from (an entry is kept only when the table
        read has these bytes: a file saved between the two reads is not kept under the other bytes' key), or None
        when the table is not a single readable file (read as usual, not kept)."""
        import hashlib

        from . import usercache
        from .load import MAX_CSV_BYTES, exists, read_bytes, sha256

        csv_name, xlsx_name = f"{name}.csv", f"{name}.xlsx"
        has_csv, has_xlsx = exists(root, csv_name), exists(root, xlsx_name)
        if has_csv == has_xlsx:
            return None
        rel = csv_name if has_csv else xlsx_name
        data, _ = read_bytes(root, rel, limit=MAX_CSV_BYTES if has_csv else max_xlsx_bytes)
        if data is None:
            return None
        refs = hashlib.sha256()
        for target in sorted(ctx.references):
            refs.update(target.encode() + b"\0" + "\1".join(sorted(map(str, ctx.references[target]))).encode() + b"\2")
        digest = sha256(data)
        return usercache.digest(usercache.code_digest(), _library_versions(), name, rel, digest, str(max_xlsx_bytes), evaluation_digest,
                                repr((ctx.languages, ctx.period)), refs.digest(), *options), digest

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.pickle"

    def get(self, name: str, key: str):
        import pickle

        try:
            with open(self._path(name), "rb") as fh:
                stored_key, value = pickle.load(fh)
        except Exception:  # noqa: BLE001 - missing, truncated, of another pandas: read the table instead
            return None
        return value if stored_key == key else None

    def put(self, name: str, key: str, value) -> None:
        import pickle

        from . import atomic

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Not fsynced (a cache): a power cut costs the entry, which then fails to load and is read again.
            atomic.write_bytes(self._path(name), pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL),
                               durable=False)
        except Exception:  # noqa: BLE001 - a cache that cannot be written is no cache
            pass


def validate_dataset(data_dir: Path, *, max_xlsx_bytes: int = 50_000_000,
                     cache: TableCache | None = None) -> ValidationResult:
    """Check every file of ``data_dir`` against the contract; return all problems and, without error, the Dataset.

    Reads only the data (``cache``, when given, keeps the tables read for the next validation: :class:`TableCache`);
    never raises on bad data.
    """
    root = Path(data_dir)
    try:
        is_folder = root.is_dir()
    except OSError:
        is_folder = False
    if not is_folder:
        return ValidationResult([_problem(".", "missing_file", Msg(N_(
            "the data folder %(folder)s does not exist or is not a folder; give the folder that holds "
            "evaluation.yaml and the tables"), folder=str(root)))], None)
    problems: list[Problem] = []
    source_files: dict[str, str] = {}

    document, read_problems = read_yaml(root, EVALUATION_FILE)
    problems.extend(read_problems)
    if document is None and not read_problems:
        problems.append(_problem(EVALUATION_FILE, "missing_file", Msg(N_(
            "is missing: every dataset needs evaluation.yaml (%(keys)s); see docs/dataset.md"),
            keys="id, languages, title, …")))
    evaluation = EvaluationCheck()
    if document is not None:
        source_files[EVALUATION_FILE] = document.sha256
        evaluation = check_evaluation(document.data, document.lines)
        problems.extend(evaluation.problems)

    ctx = Context(languages=evaluation.languages, period=evaluation.period)
    if evaluation.indicators is not None and document is not None:
        ctx.references["indicators"] = frozenset(evaluation.indicators)
    checked: dict[str, CheckedTable | None] = {}
    legacy_pillars = False
    for name in TABLES:
        table = TABLES[name]
        keyed = (cache.key(root, name, document.sha256 if document is not None else "", ctx, max_xlsx_bytes,
                           f"legacy pillars: {legacy_pillars}") if cache is not None else None)
        key, file_digest = keyed if keyed is not None else (None, None)
        kept = cache.get(name, key) if cache is not None and key is not None else None
        if kept is not None:
            raw, read_problems, themes_problems, raw_problems, result, table_problems = kept
        else:
            raw, read_problems = read_table(root, name, required=table.required, max_xlsx_bytes=max_xlsx_bytes)
            themes_problems = _check_themes_columns(raw) if raw is not None and name == "actions" else []
        if raw is not None and name == "actions":
            legacy_pillars = not evaluation.themes_declared and "pillars" in raw.frame.columns
            problems.extend(themes_problems)
        table = tables_for(channels=evaluation.channels, criteria=evaluation.criteria, scale=evaluation.scale,
                           themes=evaluation.themes if evaluation.themes_declared else (),
                           legacy_pillars=legacy_pillars,
                           unchecked=evaluation.broken)[name]
        problems.extend(read_problems)
        checked[name] = None
        if raw is None:
            if table.required and not read_problems:
                columns = ", ".join(f.name for f in table.fields if f.column_required)
                problems.append(_problem(f"{name}.csv", "missing_file", Msg(N_(
                    "is missing: every dataset needs %(csv)s (or %(xlsx)s) with the columns %(columns)s%(hint)s"),
                    csv=f"{name}.csv", xlsx=f"{name}.xlsx", columns=columns, hint=hint(_similar_file(root, name)))))
            continue
        source_files[raw.file] = raw.sha256
        if kept is None:
            raw_problems = check_mojibake(raw)
            result, table_problems = check_table(table, raw, ctx)
            if cache is not None and key is not None and raw.sha256 == file_digest:
                cache.put(name, key, (raw, read_problems, themes_problems, raw_problems, result, table_problems))
        problems.extend(raw_problems)
        problems.extend(table_problems)
        checked[name] = result
        if name == "actions" and len(raw.frame) == 0:
            continue  # reported as no_actions; ratings are not each reported as pointing nowhere
        for key in ("region", "country", "action_id"):
            target = f"{name}.{key}"
            if target in ("regions.region", "countries.country", "actions.action_id"):
                ctx.references[target] = valid_values(result, key)

    if checked["actions"] is not None:
        problems.extend(check_actions(checked["actions"], checked["countries"]))

    narratives, digests, narrative_problems = read_narratives(
        root, evaluation.languages, ctx.references.get("regions.region"), ctx.references.get("countries.country"))
    problems.extend(narrative_problems)
    source_files.update(digests)

    problems.sort(key=sort_key)
    dataset = None
    if not has_errors(problems) and evaluation.evaluation is not None:
        ev = evaluation.evaluation
        if legacy_pillars:
            from . import vocabulary  # imported with the defaults of _vocabulary (start-up time)

            themes, title = vocabulary.legacy_themes(ev.languages)
            ev = replace(ev, themes=themes, themes_title=title)
        dataset = build_dataset(root, ev, checked, narratives, source_files)
    return ValidationResult(problems, dataset)
