"""The dataset contract, declared once.

Every file of a dataset folder, every column, its type, bounds, allowed values, description and example is declared
here as data (:data:`EVALUATION_KEYS`, :data:`TABLES`), with the list of rules a problem can break (:data:`RULES`).
The same declarations build the pandera schemas that check each table (:func:`pandera_schema`), word the messages
of the problems (:func:`explain`) and write ``docs/dataset.md`` (:func:`render_dataset_doc`; run
``python -m reportgen.schema > docs/dataset.md`` after changing anything here; a test keeps the two equal).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
import pandera.pandas as pa

from . import assets, load
from .errors import Msg
from .fields import KIND_LABEL, Field, both, did_you_mean, either, hint, quote
from .i18n import N_
from .iso3166 import ALPHA3_TO_ALPHA2, CountryName, describe, suggest_countries, suggest_country
from .model import CHANNELS, COUNTRY_CODE, CRITERIA, LANGUAGES, PILLARS, PRIORITIES, REGION_CODE

LANGUAGE_NAMES = {"fr": N_("French"), "en": N_("English")}


def language_name(lang: str) -> Msg:
    """``French``, ``English`` in a message (translated where it is shown)."""
    return Msg(LANGUAGE_NAMES[lang])


class FieldDescription(str):
    """A column's description as a message quotes it: ``name of the region in English`` for the field described
    ``Name of the region in that language.`` (``msgid``, a catalog message) and the column ``name_en``."""

    msgid: str
    language: str | None

    def __new__(cls, msgid: str, language: str | None = None) -> FieldDescription:
        self = super().__new__(cls, cls._say(msgid, language, lambda m: m))
        self.msgid, self.language = msgid, language
        return self

    def __reduce__(self):
        return (FieldDescription, (self.msgid, self.language))

    @staticmethod
    def _say(msgid: str, language: str | None, gettext) -> str:
        text = gettext(msgid)
        text = text[0].lower() + text[1:].rstrip(".")
        if language:  # "in that language" becomes "in English" (fr "dans cette langue": "en anglais")
            name = gettext(LANGUAGE_NAMES[language])
            text = text.replace(gettext(N_("in that language")), gettext(N_("in %(language)s")) % {"language": name})
            text = text.replace(gettext(N_("that language")), name)
        return text

    def html(self, gettext, lang: str):
        from markupsafe import escape

        return escape(self._say(self.msgid, self.language, gettext))
GLOBAL_SCOPE = "global"

# ---------------------------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    severity: Literal["error", "warning"]
    description: str


RULES: dict[str, Rule] = {
    # files
    "missing_file": Rule("error", "A required file (evaluation.yaml, regions, countries, actions) is missing."),
    "duplicate_file": Rule("error", "A table exists both as .csv and as .xlsx: keep one."),
    "unreadable": Rule("error", "The file cannot be opened or read (permissions, a folder instead of a file…)."),
    "outside_folder": Rule("error", "The file is a link to a place outside the dataset folder."),
    "file_too_large": Rule("error", "The file is larger than the limit (or an .xlsx declares an outsized content)."),
    "encoding": Rule("error", "The file is not UTF-8 text; the line of the first unreadable byte is given."),
    "format": Rule("error", "The file is not a valid CSV file (quotes) or Excel workbook, or is tab-separated."),
    "empty_file": Rule("error", "The file is empty, without even a header row (a warning for optional tables)."),
    "yaml": Rule("error", "evaluation.yaml is not valid YAML (or has a key twice)."),
    # structure
    "missing_column": Rule("error", "A required column is missing from the header row."),
    "unknown_column": Rule("error", "A column is not part of the contract (with a suggestion when close to one)."),
    "duplicate_column": Rule("error", "Two columns have the same name."),
    "ignored_column": Rule("warning", "A column for a language that evaluation.yaml does not list; it is ignored."),
    "ragged_row": Rule("error", "A row has more or fewer cells than the header; its other cells are not checked."),
    "unknown_key": Rule("error", "evaluation.yaml has a key that is not part of the contract."),
    # cells
    "required": Rule("error", "A value is required and the cell (or key) is empty or missing."),
    "missing_language": Rule("error", "A text is missing in one of the evaluation's languages."),
    "type": Rule("error", "The value is not of the column's type (a number, a whole number, a text)."),
    "pattern": Rule("error", "The value does not have the required form (a code, a month)."),
    "allowed": Rule("error", "The value is not one of the allowed values."),
    "reserved": Rule("error", "The value is reserved (a region may not be called `global`)."),
    "range": Rule("error", "The number is out of bounds (year outside the period, score outside 1–4, negative)."),
    "unique": Rule("error", "The value (or combination) is already used on an earlier row, which is named."),
    "reference": Rule("error", "The value must be a code defined elsewhere (a region, a country, an action…)."),
    "region_mismatch": Rule("error", "An action's region is not the region of its country in countries.csv."),
    "disbursed_gt_committed": Rule("error", "An action's disbursed amount is larger than its committed amount."),
    "no_actions": Rule("error", "actions has a header but no rows."),
    # warnings
    "no_amount": Rule("warning", "An action has no committed amount: it is left out of sums and counted apart."),
    "ignored_language": Rule("warning", "A text in evaluation.yaml for a language not in `languages`; ignored."),
    "unknown_narrative": Rule("warning", "A file under narrative/ that matches no language, region or country."),
    "image_not_published": Rule("warning", "An image under assets/ that is not published (type, size, name, link), "
                                           "or a narrative image that no published image matches."),
    "mojibake": Rule("warning", "A text holds a replacement character (U+FFFD) or mojibake such as `Ã©` or `â€™`: "
                     "the file was once decoded with the wrong encoding."),
}


# ---------------------------------------------------------------------------------------------------------------
# evaluation.yaml
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One key of evaluation.yaml."""

    name: str
    kind: Literal["text", "languages", "per_language", "month", "year", "currency", "indicators", "terms", "scale"]
    required: bool
    description: str
    example: str


EVALUATION_KEYS: tuple[Key, ...] = (
    Key("id", "text", True, "The evaluation's number, as text (a bare number is read as text).", '"128"'),
    Key("languages", "languages", True, "The publication languages, a list of `fr` and/or `en` (or one code alone); the first is the main one.",
        "[fr, en]"),
    Key("title", "per_language", True, "The evaluation's title, one text per language.",
        "{fr: Les actions de coopération…, en: Cooperation against…}"),
    Key("subtitle", "per_language", False, "A subtitle, one text per language.",
        "{fr: Rapport de synthèse, en: Synthesis}"),
    Key("commissioner", "per_language", True, "Who commissioned the evaluation, one text per language.",
        "{fr: Ministère des Affaires étrangères, en: Ministry of Foreign Affairs}"),
    Key("evaluator", "text", True, "Who carried out the evaluation.", "Example Consulting"),
    Key("published", "month", True, "Month of publication, `YYYY-MM` (in quotes or not).", '"2014-03"'),
    Key("period_start", "year", True, "First year of the period evaluated (a number, no quotes).", "2007"),
    Key("period_end", "year", True, "Last year of the period evaluated, ≥ period_start.", "2011"),
    Key("currency", "currency", True, "ISO 4217 code of every amount of the dataset.", "EUR"),
    Key("funder", "per_language", False,
        "Who funds the actions, one text per language, as sentences use it (`la France`, `le Japon`, `l'Union "
        "européenne`: reportgen writes `de la France`, `du Japon`, `de l'Union européenne`). Absent: neutral "
        "wording (`the funder`).", "{fr: la France, en: France}"),
    Key("themes", "terms", False,
        "The themes the actions serve (sectors, pillars, axes of a strategy): an ordered map code → `{label: "
        "{lang: text}, description: {lang: text}}` (description optional), used by the column `themes` of "
        "actions.csv and shown in this order. Absent: no themes, unless actions.csv has the historical column "
        "`pillars` (then the four pillars of the fight against trafficking: prevention, protection, prosecution, "
        "partnership).", "{prevention: {label: {fr: prévention, en: prevention}}}"),
    Key("themes_title", "per_language", False,
        "The name of the themes in headings, one text per language. Absent: `Themes`.",
        "{fr: Piliers de la lutte contre la traite, en: Pillars of the fight against trafficking}"),
    Key("criteria", "terms", False,
        "The evaluation criteria ratings.csv may use, in the order publications show them: an ordered map code → "
        "`{label: {lang: text}, definition: {lang: text}}` (definition optional). Absent: the six OECD DAC "
        "criteria (relevance, coherence, effectiveness, efficiency, impact, sustainability) with standard "
        "definitions.", "{relevance: {label: {fr: pertinence, en: relevance}, definition: {fr: …, en: …}}}"),
    Key("scale", "scale", False,
        "The scores ratings.csv may use: `{min: whole number, max: whole number, labels: {score: {lang: text}}}` "
        "(labels optional; min ≤ max). Absent: 1 (unsatisfactory) to 4 (very satisfactory).",
        "{min: 1, max: 6, labels: {1: {fr: très insuffisant}, 6: {fr: excellent}}}"),
    Key("channels", "terms", False,
        "How funding goes, the values of the column `channel` of actions.csv: an ordered map code → `{label: "
        "{lang: text}, description: {lang: text}}`. Absent: bilateral, regional, multilateral.",
        "{bilateral: {label: {fr: bilatéral, en: bilateral}, description: {fr: …, en: …}}}"),
    Key("indicators", "indicators", False,
        "Context indicators used in indicators.csv: a map code → `{unit: text, label: {lang: text}}`, "
        "one label per language; codes are letters, digits, `_`, `-` or `.`.",
        "{tip_tier: {unit: tier, label: {fr: Classement TIP, en: TIP tier}}}"),
)
EVALUATION_KEY_NAMES = tuple(k.name for k in EVALUATION_KEYS)
INDICATOR_CODE = r"[A-Za-z0-9_.-]{1,60}"
YEAR_BOUNDS = (1900, 2100)

# ---------------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------------

_REGION_HINT = N_("a code of 1 to 40 lower-case letters, digits or hyphens (e.g. west-africa)")
_COUNTRY_HINT = N_("an ISO 3166-1 alpha-3 code in upper case, or XKX for Kosovo (e.g. NGA)")


@dataclass(frozen=True)
class Table:
    """One table of the dataset: ``{name}.csv`` or ``{name}.xlsx``."""

    name: str
    required: bool
    description: str
    fields: tuple[Field, ...]
    example: tuple[tuple[str, ...], ...]  # header and rows, for docs/dataset.md
    unique_together: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # rules across columns or tables, in words

    def columns(self, languages: tuple[str, ...]) -> list[Field]:
        """The concrete columns for ``languages`` (per-language fields expanded)."""
        out: list[Field] = []
        for f in self.fields:
            if f.per_language:
                out.extend(f.for_language(lang) for lang in languages)
            else:
                out.append(f)
        return out

    def field(self, column: str) -> Field | None:
        """The field of a concrete column name, for any language of LANGUAGES."""
        for f in self.columns(LANGUAGES):
            if f.name == column:
                return f
        return None

    def language_of(self, column: str) -> str | None:
        """``"en"`` for ``name_en``; None for a column that is not per language."""
        for f in self.fields:
            if f.per_language:
                for lang in LANGUAGES:
                    if f.name.replace("{lang}", lang) == column:
                        return lang
        return None

    @property
    def file_names(self) -> tuple[str, str]:
        return f"{self.name}.csv", f"{self.name}.xlsx"


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "regions", True, "The regions that group countries; each may get a regional brief.",
            (
                Field("region", "code", N_("Code of the region; becomes a file name."), "west-africa", required=True,
                      unique=True, pattern=REGION_CODE, pattern_hint=_REGION_HINT, reserved=(GLOBAL_SCOPE,)),
                Field("name_{lang}", "text", N_("Name of the region in that language."), "Afrique de l'Ouest",
                      required=True),
            ),
            (("region", "name_fr", "name_en"),
             ("west-africa", "Afrique de l'Ouest et centrale", "West and Central Africa"),
             ("see", "Europe du Sud-Est", "South-East Europe")),
            notes=("`global` is reserved (it is the scope of recommendations to the whole evaluation).",),
        ),
        Table(
            "countries", True, "The countries where actions took place, each in one region.",
            (
                Field("country", "code", N_("ISO 3166-1 alpha-3 code of the country; becomes a file name."), "NGA",
                      required=True, unique=True, pattern=COUNTRY_CODE, pattern_hint=_COUNTRY_HINT, country_code=True),
                Field("region", "code", N_("Region of the country: a `region` of regions."), "west-africa",
                      required=True, pattern=REGION_CODE, pattern_hint=_REGION_HINT, reference="regions.region"),
                Field("name_{lang}", "text", N_("Name in that language, overriding the standard (CLDR) name."),
                      "Macédoine du Nord", column_required=False),
            ),
            (("country", "region", "name_fr"), ("NGA", "west-africa", ""), ("XKX", "see", "Kosovo*")),
            notes=("Names left empty (or columns left out) are the standard CLDR names in each language.",),
        ),
        Table(
            "actions", True, "One row per funded action (a grant, a contribution, a project).",
            (
                Field("action_id", "text", N_("Identifier of the action, unique."), "A-2009-014", required=True,
                      unique=True),
                Field("title", "text", N_("Title of the action, in the main language."), "Appui à la NAPTIP",
                      required=True),
                Field("title_{lang}", "text", N_("Title of the action in that language (optional); where it is empty "
                      "the publications of that language print `title`, marked as the main language."),
                      "Support to NAPTIP", column_required=False),
                Field("country", "code", N_("Country of the action (a `country` of countries); empty for an action "
                      "covering a region or several countries."), "NGA", pattern=COUNTRY_CODE,
                      pattern_hint=_COUNTRY_HINT, reference="countries.country"),
                Field("region", "code", N_("Region of the action (a `region` of regions); required when `country` is "
                      "empty; when both are given, the country's region."), "west-africa", pattern=REGION_CODE,
                      pattern_hint=_REGION_HINT, reference="regions.region"),
                Field("channel", "enum", N_("How the funding went: a code declared under `channels` in "
                      "evaluation.yaml."), "bilateral", required=True, allowed=CHANNELS, vocabulary="channels"),
                Field("instrument", "text", N_("Funding instrument."), "FSP", column_required=False),
                Field("partner", "text", N_("Implementing partner."), "UNODC", required=True),
                Field("themes", "list", N_("Themes the action serves: codes declared under `themes` in "
                      "evaluation.yaml, separated by `;`."), "prevention;protection", column_required=False,
                      allowed=PILLARS, vocabulary="themes"),
                Field("pillars", "list", N_("The historical name of `themes`: without `themes` in evaluation.yaml, "
                      "the four pillars of the fight against trafficking."), "prevention;protection",
                      required=True, column_required=False, allowed=PILLARS, vocabulary="themes"),
                Field("year", "integer", N_("Year of the funding decision."), "2009", required=True,
                      within_period=True),
                Field("committed", "amount", N_("Amount committed, in the evaluation's currency; empty when not "
                      "reported."), "150 000"),
                Field("disbursed", "amount", N_("Amount disbursed, in the evaluation's currency."), "120000,50",
                      column_required=False),
            ),
            (("action_id", "title", "country", "region", "channel", "instrument", "partner", "themes", "year",
              "committed", "disbursed"),
             ("A-001", "Appui à la NAPTIP", "NGA", "west-africa", "bilateral", "FSP", "UNODC",
              "protection;prosecution", "2009", "150 000", "120000,50"),
             ("A-002", "Conseiller technique régional", "", "see", "regional", "", "IOM", "partnership", "2008",
              "", "")),
            notes=(
                "`region` is required when `country` is empty; when both are given it must be the country's "
                "region (rule `region_mismatch`).",
                "When both amounts are given, `disbursed` ≤ `committed` (rule `disbursed_gt_committed`).",
                "An empty `committed` is a warning (`no_amount`): the action is left out of sums and counted apart.",
                "The table must have at least one row (rule `no_actions`).",
            ),
        ),
        Table(
            "ratings", False, "The evaluators' scores of actions on the evaluation's criteria.",
            (
                Field("action_id", "text", N_("The rated action (an `action_id` of actions)."), "A-001", required=True,
                      reference="actions.action_id"),
                Field("criterion", "enum", N_("Evaluation criterion: a code declared under `criteria` in "
                      "evaluation.yaml."), "effectiveness", required=True, allowed=CRITERIA, vocabulary="criteria"),
                Field("score", "integer", N_("Score on the evaluation's `scale` (evaluation.yaml; by default from 1, "
                      "unsatisfactory, to 4, very satisfactory)."), "3", required=True, minimum=1, maximum=4,
                      vocabulary="scale"),
                Field("comment", "text", N_("Evaluators' comment."), "Bonne appropriation", column_required=False),
                Field("comment_{lang}", "text", N_("The comment in that language (optional); where it is empty the "
                      "publications of that language print `comment`, marked as the main language."),
                      "Good ownership", column_required=False),
            ),
            (("action_id", "criterion", "score", "comment"), ("A-001", "relevance", "4", ""),
             ("A-001", "effectiveness", "3", "Bonne appropriation par la NAPTIP")),
            unique_together=("action_id", "criterion"),
        ),
        Table(
            "recommendations", False, "The evaluation's recommendations, each scoped to the whole evaluation, a "
            "region or a country.",
            (
                Field("rec_id", "text", N_("Identifier of the recommendation, unique; its number in publications."),
                      "R1", required=True, unique=True),
                Field("scope", "text", N_("`global`, a `region` of regions or a `country` of countries."), "global",
                      required=True, reference="scope"),
                Field("priority", "enum", N_("Priority."), "high", required=True, allowed=PRIORITIES),
                Field("addressee", "text", N_("Who should act on it."), "DGM", required=True),
                Field("text_{lang}", "text", N_("The recommendation in that language."), "Renforcer…", required=True),
            ),
            (("rec_id", "scope", "priority", "addressee", "text_fr", "text_en"),
             ("R1", "global", "high", "DGM", "Définir une stratégie", "Define a strategy"),
             ("R2", "NGA", "medium", "Embassy", "Soutenir la NAPTIP", "Support NAPTIP")),
        ),
        Table(
            "indicators", False, "Context indicators per country and year (declared in evaluation.yaml).",
            (
                Field("country", "code", N_("A `country` of countries."), "NGA", required=True, pattern=COUNTRY_CODE,
                      pattern_hint=_COUNTRY_HINT, reference="countries.country"),
                Field("indicator", "text", N_("An indicator code declared in evaluation.yaml `indicators`."),
                      "tip_tier",
                      required=True, reference="indicators"),
                Field("year", "integer", N_("Year of the value, 1900–2100."), "2010",
                      required=True, minimum=YEAR_BOUNDS[0], maximum=YEAR_BOUNDS[1]),
                Field("value", "number", N_("The value (negative allowed)."), "2", required=True),
                Field("source", "text", N_("Where the value comes from."), "US TIP Report 2010", required=True),
            ),
            (("country", "indicator", "year", "value", "source"), ("NGA", "tip_tier", "2010", "2", "US TIP Report"),),
            unique_together=("country", "indicator", "year"),
        ),
    )
}



def tables_for(*, channels: tuple[str, ...] | None = None, criteria: tuple[str, ...] | None = None,
               scale: tuple[int, int] | None = None, themes: tuple[str, ...] | None = None,
               legacy_pillars: bool = False, unchecked: frozenset[str] = frozenset()) -> dict[str, Table]:
    """The tables of a dataset whose evaluation.yaml declares its vocabulary: the allowed channels, criteria and
    themes and the scale's bounds replace the defaults (None: the default, e.g. when that key is broken).

    ``legacy_pillars``: the actions table's ``pillars`` column speaks the legacy vocabulary (no ``themes`` declared);
    otherwise ``pillars`` is read as the old name of ``themes``. ``unchecked``: the keys evaluation.yaml declares
    but with errors (reported there): their columns are not checked against them, rather than every row failing."""
    def adapt(f: Field) -> Field:
        if f.vocabulary in unchecked:
            return replace(f, kind="text" if f.kind in ("enum", "list") else f.kind, allowed=(), minimum=None,
                           maximum=None, required=f.required and f.vocabulary != "themes")
        if f.vocabulary == "channels" and channels is not None:
            return replace(f, allowed=channels)
        if f.vocabulary == "criteria" and criteria is not None:
            return replace(f, allowed=criteria)
        if f.vocabulary == "scale" and scale is not None:
            return replace(f, minimum=scale[0], maximum=scale[1])
        if f.vocabulary == "themes" and themes is not None:
            if f.name == "pillars" and legacy_pillars:
                return f
            return replace(f, allowed=themes, required=False)
        return f

    return {name: replace(table, fields=tuple(adapt(f) for f in table.fields)) for name, table in TABLES.items()}


NARRATIVE_FILES = (
    ("narrative/{lang}/synthesis.md", "Text of the synthesis."),
    ("narrative/{lang}/regions/{region}.md", "Text of a region's brief (`region` of regions)."),
    ("narrative/{lang}/countries/{country}.md", "Text of a country's brief (`country` of countries)."),
)

# ---------------------------------------------------------------------------------------------------------------
# Checks (pandera) and messages
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What checks need beyond the table itself: languages and period of evaluation.yaml, codes of other tables.

    A reference whose target is unknown (its table is missing or unreadable) is not checked, so that one broken file
    does not bury the others under consequential problems.
    """

    languages: tuple[str, ...] | None = None
    period: tuple[int, int] | None = None
    references: dict[str, frozenset[str]] = field(default_factory=dict)


# Which check wins when a cell breaks several rules: only the first is reported.
RULE_ORDER = ("missing_language", "required", "type", "pattern", "reserved", "allowed", "range", "reference", "unique")


def _checks(f: Field, ctx: Context) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if f.pattern:
        checks.append(pa.Check(lambda s, p=f.pattern: s.str.fullmatch(p), name="pattern"))
    if f.reserved:
        checks.append(pa.Check(lambda s, r=f.reserved: ~s.isin(list(r)), name="reserved"))
    if f.country_code:
        checks.append(pa.Check(lambda s: s.isin(list(ALPHA3_TO_ALPHA2)), name="allowed"))
    if f.allowed and f.kind == "enum":
        checks.append(pa.Check(lambda s, a=f.allowed: s.isin(list(a)), name="allowed"))
    if f.minimum is not None:
        checks.append(pa.Check(lambda s, m=f.minimum: s >= m, name="range"))
    if f.maximum is not None:
        checks.append(pa.Check(lambda s, m=f.maximum: s <= m, name="range"))
    if f.within_period and ctx.period:
        lo, hi = ctx.period
        checks.append(pa.Check(lambda s: (s >= lo) & (s <= hi), name="range"))
    if f.reference and f.reference != "scope" and f.reference in ctx.references:
        targets = list(ctx.references[f.reference])
        checks.append(pa.Check(lambda s: s.isin(targets), name="reference"))
    if f.reference == "scope" and {"regions.region", "countries.country"} <= ctx.references.keys():
        scopes = [GLOBAL_SCOPE, *ctx.references["regions.region"], *ctx.references["countries.country"]]
        checks.append(pa.Check(lambda s: s.isin(scopes), name="reference"))
    return checks


def pandera_schema(table: Table, fields: list[Field], ctx: Context) -> pa.DataFrameSchema:
    """The pandera schema of ``table`` for its present columns ``fields``, checking typed values.

    Types are not pandera's business here: cells are parsed beforehand (:func:`reportgen.fields.parse_column`),
    which words type errors better. Check names are rule identifiers of :data:`RULES`.
    """
    columns = {
        f.name: pa.Column(
            nullable=not f.required,
            unique=f.unique,
            report_duplicates="exclude_first",
            checks=_checks(f, ctx),
            required=False,
            title=f.name,
            description=f.description,
        )
        for f in fields
    }
    present = {f.name for f in fields}
    unique = list(table.unique_together) if table.unique_together and set(table.unique_together) <= present else None
    return pa.DataFrameSchema(columns, unique=unique, report_duplicates="exclude_first", name=table.name)


PANDERA_RULES = {"not_nullable": "required", "field_uniqueness": "unique", "multiple_fields_uniqueness": "unique"}


def run_checks(table: Table, typed: pd.DataFrame, fields: list[Field], ctx: Context) -> list[tuple[int, str, str]]:
    """Run the pandera schema lazily; return every failure as (row, column, rule)."""
    schema = pandera_schema(table, fields, ctx)
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    out: list[tuple[int, str, str]] = []
    for case in cases.to_dict("records"):
        index, column, check = case.get("index"), case.get("column"), str(case.get("check"))
        if index is None or pd.isna(index) or column not in typed.columns:
            continue
        rule = PANDERA_RULES.get(check, check)
        if rule == "required" and table.language_of(str(column)):
            rule = "missing_language"
        if rule not in RULES:
            rule = "type"
        if case.get("schema_context") == "DataFrameSchema" and column != (table.unique_together or ("",))[0]:
            continue  # one problem per duplicated row, on the first column of the combination
        out.append((int(index), str(column), rule))
    return out


def _g(number: float | None) -> object:
    """A bound as messages print it (``4``, ``2.5``): an int when whole (plain text), else its text."""
    return int(number) if number is not None and float(number).is_integer() else f"{number:g}"


def _reference_message(f: Field, value: str, ctx: Context) -> str:
    targets = ctx.references.get(f.reference or "", frozenset())
    got = quote(value)
    if f.reference == "countries.country":
        if value in ALPHA3_TO_ALPHA2:
            return Msg(N_("%(value)s (%(country)s) is not in countries.csv; add it there with its region"), value=got,
                       country=CountryName(value))
        candidates = suggest_countries(value, among=targets)  # by code and by name: NIG → Niger or Nigeria
        if candidates:
            return Msg(N_("must be a country of countries.csv, got %(value)s%(hint)s"), value=got,
                       hint=hint(either([describe(c) for c in candidates])))
        suggestion = did_you_mean(value, targets)
        return Msg(N_("must be a country of countries.csv, got %(value)s%(hint)s"), value=got,
                   hint=hint(describe(suggestion) if suggestion in ALPHA3_TO_ALPHA2 else suggestion))
    if f.reference == "regions.region":
        return Msg(N_("must be a region of regions.csv, got %(value)s%(hint)s"), value=got,
                   hint=hint(did_you_mean(value, targets)))
    if f.reference == "actions.action_id":
        suggestion = did_you_mean(value, targets, cutoff=0.8)
        return Msg(N_("must be an action_id of actions.csv, got %(value)s%(hint)s"), value=got, hint=hint(suggestion))
    if f.reference == "indicators":
        return Msg(N_("must be an indicator declared under %(key)s in evaluation.yaml, got %(value)s%(hint)s"),
                   key="'indicators'", value=got, hint=hint(did_you_mean(value, targets)))
    regions = ctx.references.get("regions.region", frozenset())
    countries = ctx.references.get("countries.country", frozenset())
    suggestion = did_you_mean(value, [GLOBAL_SCOPE, *regions])
    if suggestion is None:
        code = suggest_country(value)
        suggestion = describe(code) if code in countries else None
    return Msg(N_("must be %(global)s, a region of regions.csv or a country of countries.csv, got %(value)s%(hint)s"),
               **{"global": f"'{GLOBAL_SCOPE}'"}, value=got, hint=hint(suggestion))


def explain(f: Field, rule: str, value: str, ctx: Context, *, first_row: int | None = None,
            combination: tuple[str, ...] = ()) -> str:
    """The message of a problem on a cell of ``f``: ``must be …, got '…'`` with a hint where one helps (a
    :class:`~reportgen.errors.Msg`)."""
    got = quote(value)
    if rule in ("required", "missing_language"):
        lang = next((lang for lang in LANGUAGES if f.name.endswith("_" + lang)), None)
        return Msg(N_("must not be empty (%(description)s)"), description=FieldDescription(f.description, lang))
    if rule == "pattern":
        pattern = Msg(f.pattern_hint or "")
        if f.country_code or f.pattern == COUNTRY_CODE:
            return Msg(N_("must be %(pattern)s, got %(value)s%(hint)s"), pattern=pattern, value=got,
                       hint=hint(either([describe(c) for c in suggest_countries(value)]) or None))
        if f.pattern == REGION_CODE:
            return Msg(N_("must be %(pattern)s, got %(value)s%(hint)s"), pattern=pattern, value=got,
                       hint=hint(did_you_mean(value, ctx.references.get("regions.region", ()))))
        return Msg(N_("must be %(pattern)s, got %(value)s%(hint)s"), pattern=pattern, value=got, hint="")
    if rule == "reserved":
        return Msg(N_("%(value)s is reserved for recommendations to the whole evaluation; choose another region "
                      "code"), value=got)
    if rule == "allowed":
        if f.country_code:
            code = suggest_country(value)
            return Msg(N_("must be %(pattern)s, got %(value)s, which is not an ISO code%(hint)s"),
                       pattern=Msg(f.pattern_hint or ""), value=got,
                       hint=hint(describe(code) if code and code != value else None))
        if f.vocabulary:
            return Msg(N_("%(value)s is not declared under %(key)s in evaluation.yaml (declared: %(declared)s)"
                          "%(hint)s; correct the cell or declare %(value)s under %(key)s"), value=got,
                       key=f"'{f.vocabulary}'", declared=", ".join(f.allowed),
                       hint=hint(did_you_mean(value, f.allowed)))
        return Msg(N_("must be one of %(allowed)s, got %(value)s%(hint)s"), allowed=", ".join(f.allowed), value=got,
                   hint=hint(did_you_mean(value, f.allowed)))
    if rule == "range":
        if f.vocabulary == "scale":
            return Msg(N_("must be a score of the evaluation's scale, %(low)s to %(high)s (evaluation.yaml %(key)s), "
                          "got %(value)s; correct the score or widen the scale"),
                       low=_g(f.minimum), high=_g(f.maximum), key="'scale'", value=got)
        if f.within_period and ctx.period:
            lo, hi = ctx.period
            return Msg(N_("must be a year of the evaluation's period, %(low)s to %(high)s (evaluation.yaml), got "
                          "%(value)s; correct the year, or widen %(keys)s in evaluation.yaml if the action belongs "
                          "to the evaluation"), low=lo, high=hi, value=got, keys="period_start/period_end")
        return Msg(N_("must be from %(low)s to %(high)s, got %(value)s"), low=_g(f.minimum), high=_g(f.maximum),
                   value=got)
    if rule == "reference":
        return _reference_message(f, value, ctx)
    if rule == "unique":
        if combination:
            columns = both(list(combination))
            if first_row is not None:
                return Msg(N_("another row (row %(row)s) already has the same %(columns)s; keep one row per "
                              "combination"), row=first_row, columns=columns)
            return Msg(N_("another row already has the same %(columns)s; keep one row per combination"),
                       columns=columns)
        if first_row is not None:
            return Msg(N_("%(value)s is already used on another row (row %(row)s); each %(column)s must be unique"),
                       value=got, row=first_row, column=f.name)
        return Msg(N_("%(value)s is already used on another row; each %(column)s must be unique"), value=got,
                   column=f.name)
    return Msg(N_("is not valid, got %(value)s"), value=got)


# ---------------------------------------------------------------------------------------------------------------
# docs/dataset.md
# ---------------------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _field_rule(f: Field) -> str:
    """The contract of a column in one phrase, from its declaration."""
    if f.rule:
        return f.rule
    parts: list[str] = [KIND_LABEL[f.kind]]
    if f.vocabulary == "scale":
        parts.append(f"on the `scale` of evaluation.yaml (default {f.minimum:g} to {f.maximum:g})")
        return "; ".join(parts)
    if f.vocabulary and f.name == "pillars":
        parts.append("of the codes of `themes` when evaluation.yaml declares them, else of " +
                     ", ".join(f"`{a}`" for a in f.allowed))
        return "; ".join(parts)
    if f.vocabulary:
        default = ", ".join(f"`{a}`" for a in f.allowed) if f.name != "themes" else "none"
        parts.append(f"codes declared under `{f.vocabulary}` in evaluation.yaml (default: {default})")
        return "; ".join(parts)
    if f.allowed:
        parts.append("one of " + ", ".join(f"`{a}`" for a in f.allowed) if f.kind == "enum"
                     else "of " + ", ".join(f"`{a}`" for a in f.allowed))
    if f.pattern_hint:
        parts.append(f.pattern_hint)
    if f.minimum is not None and f.maximum is not None:
        parts.append(f"{f.minimum:g} to {f.maximum:g}")
    if f.within_period:
        parts.append("from `period_start` to `period_end`")
    if f.unique:
        parts.append("unique")
    if f.reference == "regions.region":
        parts.append("a region of regions")
    elif f.reference == "countries.country":
        parts.append("a country of countries")
    elif f.reference == "actions.action_id":
        parts.append("an action of actions")
    elif f.reference == "indicators":
        parts.append("declared in evaluation.yaml")
    elif f.reference == "scope":
        parts.append("`global`, a region or a country")
    return "; ".join(parts)


def _presence(f: Field) -> str:
    column = "required column" if f.column_required else "optional column"
    cell = "value required" if f.required else "may be empty"
    return f"{column}, {cell}"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


def render_dataset_doc() -> str:
    """The text of ``docs/dataset.md``, generated from the declarations of this module."""
    out: list[str] = []
    w = out.append
    w("# The dataset contract")
    w("")
    w("<!-- Generated by `python -m reportgen.schema > docs/dataset.md` from src/reportgen/schema.py; "
      "do not edit by hand. -->")
    w("")
    w("A dataset is a folder (`data/` by default, any folder with `--config data=DIR`) holding `evaluation.yaml`, "
      "the tables below and, optionally, narrative texts and images. `reportgen validate [DATA_DIR]` checks all "
      "of it and lists every problem at once, each with its file, row, column, value, rule and a hint.")
    w("")
    w("## Reading rules")
    w("")
    for line in (
        "Tables are UTF-8 CSV files (`,` or `;` separated, detected from the header line; optional BOM; fields may "
        "be quoted) or, under the same name with `.xlsx`, the first sheet of an Excel workbook. Keep one of the "
        "two: both is an error (`duplicate_file`).",
        "Row numbers are those a spreadsheet shows: the header is row 1, the first data row is row 2 (for `.xlsx`, "
        "the Excel row). Blank rows are skipped; cells are stripped of surrounding spaces.",
        "Column names are exact and lower-case; their order is free. A missing required column, an unknown column "
        "(with a suggestion when close to a known one) and a column given twice are errors.",
        "Empty cells mean \"not given\". Cells are read as text and converted by the contract below: `NA`, `None` "
        "or `001` stay what they are.",
        "A file that is not UTF-8 is one problem giving the line of the first unreadable byte. To re-save as "
        "UTF-8: in Excel, *Save As* ▸ *CSV UTF-8 (Comma delimited)*; in LibreOffice, *Save As* ▸ *Text CSV* with "
        "character set *Unicode (UTF-8)*.",
        "Amounts (`committed`, `disbursed`): digits with at most one decimal mark, a dot or a comma; thousands "
        "may be grouped by three with spaces (ordinary, no-break U+00A0 or narrow no-break U+202F). Accepted: "
        "`1234`, `1234.5`, `1234,5`, `1 234,50`. Refused: `$1,000` (currency sign), `12,5O0` (a letter O), "
        "`1.234.567,89` (two kinds of marks), `-5` (negative), and `1,234` or `1.234` (a thousands separator in "
        "English, a decimal mark in French: write `1234`).",
        "Numbers (`value`): the same forms, with an optional leading `-`, and `1,234` read as 1.234.",
        "Whole numbers (`year`, `score`): digits only.",
        "Allowed values (`channel`, `criterion`, `priority`, `themes`) are matched regardless of case and "
        "stored in lower case; `themes` are stored in the order of `themes` in evaluation.yaml.",
        "A text holding the replacement character `�` (U+FFFD) or mojibake such as `Ã©` (for `é`) or `â€™` (for "
        "`’`), the marks of a file once decoded with the wrong encoding, is a warning (`mojibake`) giving the "
        "file, row and column, and the text as it probably read; export the data again from its source as UTF-8.",
        f"An `.xlsx` file over the size limit ({_mb(50_000_000)} by default, `max_xlsx_bytes`), or whose content "
        f"declares more than {_mb(load.MAX_XLSX_UNCOMPRESSED)} or more than {load.MAX_XLSX_RATIO} times its size "
        f"(above {_mb(load.XLSX_RATIO_FLOOR)}), is refused without being opened. Formulas count by their "
        "last computed value; numbers are read as written (`2009`, not `2009.0`), dates as `YYYY-MM-DD`.",
        f"`evaluation.yaml` (at most {_mb(load.MAX_YAML_BYTES)}) is read as plain YAML data (`yaml.safe_load`); "
        f"CSV files are limited to {_mb(load.MAX_CSV_BYTES)}, Markdown files to {_mb(load.MAX_MARKDOWN_BYTES)} each.",
    ):
        w(f"- {line}")
    w("")
    w("## evaluation.yaml (required)")
    w("")
    w("| key | required | description | example |")
    w("|---|---|---|---|")
    for k in EVALUATION_KEYS:
        w(f"| `{k.name}` | {'yes' if k.required else 'no'} | {_cell(k.description)} | `{_cell(k.example)}` |")
    w("")
    w("Other rules: `published` is a real month; `period_start` ≤ `period_end`, both from "
      f"{YEAR_BOUNDS[0]} to {YEAR_BOUNDS[1]}; `currency` is an ISO 4217 code known to CLDR (upper case); "
      "`languages` has no duplicate; a text for a language not in `languages` is ignored with a warning; "
      "any other key is an error.")
    w("")
    w("The vocabulary (`themes`, `criteria`, `scale`, `channels`, `funder`) is checked like the rest: codes of "
      "`themes`, `criteria` and `channels` are lower-case letters, digits, `_`, `-` or `.`; every label (and "
      "description or definition, when given) has a text in each language (`missing_language`); `scale.min` ≤ "
      "`scale.max` (`range`), labels only for scores of the scale. In the tables, a theme, channel or criterion "
      "that evaluation.yaml does not declare, or a score outside the scale, is an error naming the key to "
      "declare it under. The keys left out take their defaults, so a dataset written before them builds "
      "unchanged.")
    w("")
    w("```yaml")
    w('id: "128"')
    w("languages: [fr, en]")
    w("title:")
    w("  fr: Les actions de coopération en matière de lutte contre la traite des êtres humains")
    w("  en: Cooperation against trafficking in human beings")
    w("commissioner:")
    w("  fr: Ministère des Affaires étrangères")
    w("  en: Ministry of Foreign Affairs")
    w("evaluator: Example Consulting")
    w('published: "2014-03"')
    w("period_start: 2007")
    w("period_end: 2011")
    w("currency: EUR")
    w("indicators:")
    w("  tip_tier:")
    w("    unit: tier")
    w("    label: {fr: Classement TIP, en: TIP tier}")
    w("funder: {fr: la France, en: France}")
    w("themes_title: {fr: Piliers de la lutte contre la traite, en: Pillars of the fight against trafficking}")
    w("themes:")
    w("  prevention:")
    w("    label: {fr: prévention, en: prevention}")
    w("    description: {fr: prévention de la traite, en: prevention of trafficking}")
    w("  protection:")
    w("    label: {fr: protection, en: protection}")
    w("criteria:")
    w("  relevance:")
    w("    label: {fr: pertinence, en: relevance}")
    w("    definition: {fr: la mesure dans laquelle…, en: the extent to which…}")
    w("  effectiveness:")
    w("    label: {fr: efficacité, en: effectiveness}")
    w("scale:")
    w("  min: 1")
    w("  max: 4")
    w("  labels:")
    w("    1: {fr: insatisfaisant, en: unsatisfactory}")
    w("    4: {fr: très satisfaisant, en: very satisfactory}")
    w("channels:")
    w("  bilateral:")
    w("    label: {fr: bilatéral, en: bilateral}")
    w("    description: {fr: projets conduits par les ambassades, en: projects run by the embassies}")
    w("```")
    w("")
    w("A complete example: `data/evaluation.yaml` (the embedded evaluation) and `examples/` (another evaluation, "
      "in one language, with its own themes, criteria, scale and currency); `reportgen init DIR` starts a new "
      "dataset from a commented skeleton.")
    for table in TABLES.values():
        w("")
        w(f"## {table.name}.csv ({'required' if table.required else 'optional'})")
        w("")
        w(table.description + (" An absent file means an empty table." if not table.required else ""))
        w("")
        w("| column | presence | type and rule | description | example |")
        w("|---|---|---|---|---|")
        for f in table.fields:
            name = f"`{f.name}`" + (" (one per language: " + ", ".join(f"`{f.for_language(lang).name}`" for lang in
                                                                  LANGUAGES) + ")" if f.per_language else "")
            w(f"| {name} | {_presence(f)} | {_cell(_field_rule(f))} | {_cell(f.description)} | "
              f"`{_cell(f.example)}` |")
        if table.unique_together:
            w("")
            w(f"At most one row per ({', '.join(table.unique_together)}).")
        for note in table.notes:
            w("")
            w(note)
        w("")
        w("```csv")
        for row in table.example:
            w(",".join(f'"{c}"' if ("," in c or '"' in c) else c for c in row))
        w("```")
    w("")
    w("## Narrative texts (optional)")
    w("")
    w("| path | content |")
    w("|---|---|")
    for path, text in NARRATIVE_FILES:
        w(f"| `{path}` | {text} |")
    w("")
    w(f"Markdown, UTF-8, at most {_mb(load.MAX_MARKDOWN_BYTES)} each. A file elsewhere under `narrative/`, "
      "or for a language, region or country "
      "the dataset does not have, is a warning (`unknown_narrative`) and is not used.")
    w("")
    w("## Images (`assets/`)")
    w("")
    w(f"`assets/` (optional) holds images a narrative may show with `![text alternative](assets/map.png)`. One rule "
      f"decides which are published (copied to `{assets.PUBLISHED_DATA_IMAGES}` of the output folder) and so which a "
      f"page shows: a file of type {', '.join(f'`{x}`' for x in assets.DATA_IMAGE_SUFFIXES)}, of at most "
      f"{assets.MAX_DATA_IMAGE_BYTES // (1024 * 1024)} MiB, a real file (not a symbolic link), not hidden, whose path "
      "is made of letters, digits, `.`, `_` and `-`. Every other file under `assets/` is a warning "
      "(`image_not_published`) and is not published; so is a narrative image whose path names no published image: "
      "the page then shows its text alternative.")
    w("")
    w("## Problems and rules")
    w("")
    w("Validation reports every problem at once, each with its `file`, `row` (header = 1; empty for a problem "
      "with the whole file), `column` (for evaluation.yaml, the key, such as `title.en`), the offending `value`, "
      "the `rule` broken, its `severity` and a `message` with a hint, printed one per line as "
      "`actions.csv:14: committed: must be a number ≥ 0, got '12,5O0'; …` and written to "
      "`{output}/validation.json` and `{output}/validation.html`. A cell breaking several rules is reported once; "
      "a row with the wrong number of cells is reported once, not cell by cell; a reference to a table that could "
      "not be read is not checked. Errors stop the build; warnings are reported and the build goes on.")
    w("")
    w("Messages are English on the command line and in `validation.json` (its `message`); `validation.html` is in the "
      "evaluation's main language and says every message in it (`doit être un nombre ≥ 0, et non '12,5O0' ; …`): "
      "the words are translated, the values quoted from the data (a cell, a code, a file or column name) are shown "
      "as they are.")
    w("")
    w("| rule | severity | meaning |")
    w("|---|---|---|")
    for name, rule in RULES.items():
        w(f"| `{name}` | {rule.severity} | {_cell(rule.description)} |")
    w("")
    return "\n".join(out)


def main() -> None:  # pragma: no cover - a developer's convenience
    sys.stdout.write(render_dataset_doc())


if __name__ == "__main__":  # pragma: no cover
    main()
