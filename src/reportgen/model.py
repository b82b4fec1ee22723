"""The validated dataset and the publications made from it.

Everything after validation works on a :class:`Dataset`: typed, checked, with references resolved. Its frames have
exactly the columns documented below (pandas nullable dtypes; missing values are ``pd.NA``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pandas is imported by the stages that need it: `reportgen summary` and `index` start fast
    import pandas as pd

#: The languages reportgen publishes in: those with a translation catalogue (``locale/{lang}/LC_MESSAGES/``).
#: The one home of this list: validation, the command line, the templates and the workflow's wildcards use it.
LANGUAGES = tuple(sorted(p.parent.parent.name
                         for p in (Path(__file__).parent / "locale").glob("*/LC_MESSAGES/messages.po")))
# The default vocabulary of an evaluation (evaluation.yaml may declare its own: see reportgen.vocabulary).
CHANNELS = ("bilateral", "regional", "multilateral")
#: The themes a legacy dataset speaks of when its actions table has a ``pillars`` column and evaluation.yaml
#: declares no ``themes`` (the four pillars of the fight against trafficking in human beings).
PILLARS = ("prevention", "protection", "prosecution", "partnership")
#: The six OECD DAC criteria, the default criteria.
CRITERIA = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
PRIORITIES = ("high", "medium", "low")

Kind = Literal["synthesis", "region", "country"]
KIND_FOLDER = {"synthesis": "", "region": "regions", "country": "countries"}

# Codes that become file names and wildcards: checked by validation and again wherever a path is made.
REGION_CODE = r"[a-z0-9-]{1,40}"
COUNTRY_CODE = r"[A-Z]{3}"
LANG_CODE = "|".join(LANGUAGES)


def is_missing(value: object) -> bool:
    """None, NaN or ``pd.NA``: what a cell holds when the data gives nothing (one definition for every stage)."""
    if value is None:
        return True
    if isinstance(value, float):  # float and numpy.float64
        return value != value
    if isinstance(value, (str, int)):  # bool is an int
        return False
    if isinstance(value, Decimal):
        return value.is_nan()
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # containers and other values pandas cannot judge are not "missing"
        return False


@dataclass(frozen=True)
class Indicator:
    code: str
    unit: str
    label: dict[str, str]  # lang -> text


@dataclass(frozen=True)
class Term:
    """One code of the evaluation's vocabulary (a theme, a criterion, a channel) with its texts per language.

    ``description`` is a theme's or channel's description, a criterion's definition (empty when not given)."""

    code: str
    label: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scale:
    """The scores ratings.csv may use: ``minimum`` to ``maximum``, with optional labels per score and language."""

    minimum: int = 1
    maximum: int = 4
    labels: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def scores(self) -> tuple[int, ...]:
        return tuple(range(self.minimum, self.maximum + 1))


@dataclass(frozen=True)
class Evaluation:
    """evaluation.yaml, checked."""

    id: str
    languages: tuple[str, ...]  # first = main language
    title: dict[str, str]
    commissioner: dict[str, str]
    subtitle: dict[str, str] | None
    evaluator: str
    published: str  # "YYYY-MM"
    period_start: int
    period_end: int
    currency: str  # ISO 4217
    indicators: dict[str, Indicator] = field(default_factory=dict)
    # The vocabulary (reportgen.vocabulary fills the defaults of the keys evaluation.yaml leaves out).
    # Without validation (tests, tools), the default codes without labels (publications then print the codes).
    themes: tuple[Term, ...] = ()  # empty: the evaluation has no themes
    themes_title: dict[str, str] = field(default_factory=dict)  # lang -> name of the dimension; empty: generic
    criteria: tuple[Term, ...] = tuple(Term(code, {}) for code in CRITERIA)
    scale: Scale = field(default_factory=Scale)
    channels: tuple[Term, ...] = tuple(Term(code, {}) for code in CHANNELS)
    funder: dict[str, str] = field(default_factory=dict)  # lang -> who funds the actions; empty: neutral wording

    @property
    def theme_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.themes)

    @property
    def criterion_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.criteria)

    @property
    def channel_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.channels)


def notice_of(ev, lang: str) -> str | None:
    """The optional ``notice`` of evaluation.yaml in this language (when the dataset contract has it)."""
    notice = getattr(ev, "notice", None)
    if isinstance(notice, dict):
        return notice.get(lang) or None
    return None


@dataclass
class Dataset:
    """A validated dataset.

    Frames (one row per row of the file, in file order, index reset):

    - ``regions``: region (str), name_{lang} (str) for each language.
    - ``countries``: country (str, ISO alpha-3 or XKX), region (str), name_{lang} (str, always filled:
      the override of countries.csv or the CLDR name in that language).
    - ``actions``: action_id, title, country (str or NA for a regional/multi-country action), region (str, always
      filled: the country's region when country is given), channel, instrument (str or NA), partner,
      themes (str, normalised ``;``-joined in the order of the evaluation's themes, e.g.
      "prevention;protection"; NA when none), year (Int64),
      committed (Float64, NA when not reported), disbursed (Float64, NA when not given).
    - ``ratings``: action_id, criterion, score (Int64, on the evaluation's scale), comment (str or NA).
    - ``recommendations``: rec_id, scope (str: "global", a region code or a country code),
      scope_kind ("global" | "region" | "country"), priority, addressee, text_{lang} (str).
    - ``indicators``: country, indicator, year (Int64), value (Float64), source (str).

    ``narratives`` maps (lang, kind, code) to Markdown text; code is None for the synthesis, e.g.
    ("fr", "synthesis", None), ("en", "region", "see"), ("fr", "country", "NGA").
    ``source_files`` maps each data file name that was read (relative to root) to its sha256.
    """

    root: Path
    evaluation: Evaluation
    regions: pd.DataFrame
    countries: pd.DataFrame
    actions: pd.DataFrame
    ratings: pd.DataFrame
    recommendations: pd.DataFrame
    indicators: pd.DataFrame
    narratives: dict[tuple[str, str, str | None], str] = field(default_factory=dict)
    source_files: dict[str, str] = field(default_factory=dict)

    @property
    def assets_dir(self) -> Path | None:
        p = self.root / "assets"
        return p if p.is_dir() else None

    def brief_scopes(self) -> tuple[list[str], list[str]]:
        """Which briefs exist: the regions and the countries with at least one action, sorted.

        The one rule: the plan publishes these briefs and the publications link to exactly these."""
        actions = self.actions
        return (sorted({str(v) for v in actions["region"].dropna()}),
                sorted({str(v) for v in actions["country"].dropna()}))


@dataclass(frozen=True, order=True)
class Doc:
    """One publication: a language, a kind and (for briefs) a region or country code."""

    lang: str
    kind: Kind
    code: str | None = None

    @property
    def stem(self) -> str:
        """Path without extension, relative to the output folder: ``fr/synthesis``, ``en/countries/NGA``."""
        if self.kind == "synthesis":
            return f"{self.lang}/synthesis"
        return f"{self.lang}/{KIND_FOLDER[self.kind]}/{self.code}"

    @property
    def key(self) -> str:
        return self.stem

    @classmethod
    def from_key(cls, key: str) -> "Doc":
        parts = key.split("/")
        if len(parts) == 2 and parts[1] == "synthesis":
            return cls(parts[0], "synthesis")
        lang, folder, code = parts
        kind = {"regions": "region", "countries": "country"}[folder]
        return cls(lang, kind, code)  # type: ignore[arg-type]
