"""Every figure of the publications, computed in one place.

Pure, typed pandas functions on a :class:`~reportgen.model.Dataset`: the synthesis, the briefs, the charts and the
exported data files all read their numbers from here, so the same number is the same everywhere.

Rules (from the dataset contract, "Figures"):

- Amounts are in the evaluation's currency, as floats. Sums leave out empty (not reported) amounts: a sum over
  actions none of which has an amount is ``0.0``, and every table that sums amounts also counts the actions, and the
  totals count ``actions_without_amount`` (``committed`` not reported).
- A region's figures cover the actions of its countries plus the actions whose ``region`` is that region and whose
  ``country`` is empty (regional / multi-country actions). A country's region is taken from ``countries.csv``.
- The evaluation's vocabulary (evaluation.yaml, see :mod:`reportgen.vocabulary`) gives the themes, channels,
  criteria and scores the tables are computed on, in its order.
- An action with several themes counts fully under each of its themes: the theme amounts (and their shares) may
  add up to more than the total. Shares of the by-theme tables are of the scope's total committed, not of the sum
  of the theme rows. An evaluation without themes has empty by-theme tables.
- Ranks and shares among countries compare country totals of ``committed``. Only countries (regions) with at least one
  action are ranked; a country whose actions have no reported amount has committed ``0.0`` and is ranked (last).
  Ranks are 1 for the largest, ties share the best rank (``method="min"``); totals are compared rounded to the cent,
  so that float noise of different additions never breaks a tie.

Decisions documented here (and tested in ``tests/test_aggregate.py``):

- **Zero totals**: a share whose denominator is 0 (nothing committed anywhere, or in the scope) is ``0.0``, never
  NaN or infinity, so that tables, charts and exports stay numeric.
- **Tables of a scope** (:class:`ScopeFigures`): ``by_partner.share``, ``by_theme.share`` and ``by_channel`` shares
  are shares of the *scope's* total; :attr:`ScopeFigures.share` and ``countries.share`` are shares of the
  *evaluation's* total; ``countries.share_of_region`` is of the region's total.
- **Complete grids**: ``by_year`` and ``by_year_channel`` have every year of the evaluation period (and every channel,
  in the evaluation's order), ``by_theme`` every theme, ``by_channel`` every channel and ``ratings`` every
  criterion (each in the evaluation's order) with a column ``score_{s}`` per score of the scale, with zeros where there is nothing. Years of actions
  outside the period (validation forbids them) would extend the grid rather than vanish from it.
- **Indicators trend**: compares the latest value with the first one: ``"flat"`` when the change is at most 1 % of
  the first value's magnitude (:data:`FLAT_TOLERANCE`; with a first value of 0 only an unchanged value is flat),
  otherwise ``"up"`` or ``"down"``; ``None`` when there is a single year. ``source`` is the latest value's source,
  ``unit`` comes from ``evaluation.yaml`` (``""`` if the indicator is not declared there).
- **Sort orders**: by_country by rank then code; by_region, by_partner and by_instrument by committed (descending)
  then name; a scope's actions by year, committed descending (not reported last), then action_id.

Performance: :func:`compute_figures` groups the actions once by country and by region and keeps the long tables
(one row per scope × key) in a private index on the :class:`Figures`; :func:`region_figures` and
:func:`country_figures` only slice them, so 200 country and 20 region briefs over 20,000 actions take a fraction of a
second, not 220 filters of the whole table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from .errors import ReportgenError
from .model import Dataset, Evaluation

__all__ = [
    "FLAT_TOLERANCE",
    "Totals",
    "Figures",
    "ScopeFigures",
    "compute_figures",
    "region_figures",
    "country_figures",
    "data_tables",
    "slice_tables",
    "rating_columns",
    "mean_rating",
    "rating_summary",
    "rating_summary_columns",
    "rated_actions",
    "per_table",
    "regional_actions",
    "regional_committed",
    "annex_actions",
]

DataFrame = pd.DataFrame
ScopeKind = Literal["region", "country"]

#: Relative change (of the first value's magnitude) within which an indicator's trend is "flat".
FLAT_TOLERANCE = 0.01

_ALL = "_all"  # the scope column of whole-evaluation tables (one scope, "")
_TEXT = ("action_id", "title", "country", "region", "channel", "instrument", "partner", "themes")

# Column order of every figure table (the interface of docs/architecture.md).
YEAR_CHANNEL_COLUMNS = ["year", "channel", "committed", "actions"]
YEAR_COLUMNS = ["year", "committed", "actions"]
REGION_COLUMNS = ["region", "committed", "actions", "countries", "share", "actions_without_amount"]
COUNTRY_COLUMNS = ["country", "region", "committed", "actions", "actions_without_amount", "share", "rank"]
PARTNER_COLUMNS = ["partner", "committed", "actions", "share"]
THEME_COLUMNS = ["theme", "committed", "actions", "share"]
INSTRUMENT_COLUMNS = ["instrument", "committed", "actions"]
CHANNEL_COLUMNS = ["channel", "committed", "actions", "share"]
RATING_COLUMNS = ["criterion", "mean", "n"]  # then score_{s} for every score of the evaluation's scale
REGION_COUNTRY_COLUMNS = ["country", "committed", "actions", "share", "rank", "share_of_region"]
INDICATOR_COLUMNS = [
    "indicator", "year_first", "value_first", "year_latest", "value_latest", "trend", "unit", "source",
]
TOTALS_COLUMNS = ["committed", "disbursed", "actions", "actions_without_amount", "countries", "regions"]


# --------------------------------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Totals:
    committed: float  # sum of reported committed
    disbursed: float  # sum of reported disbursed
    actions: int  # number of actions
    actions_without_amount: int  # committed NA
    countries: int  # distinct countries with ≥ 1 action
    regions: int  # distinct regions with ≥ 1 action


@dataclass
class Figures:
    """The whole evaluation's figures (see the module docstring for the rules)."""

    totals: Totals
    by_year_channel: DataFrame  # year, channel, committed, actions (period × channels, zeros filled)
    by_year: DataFrame  # year, committed, actions
    by_region: DataFrame  # region, committed, actions, countries, share, actions_without_amount
    by_country: DataFrame  # country, region, committed, actions, actions_without_amount, share, rank
    by_partner: DataFrame  # partner, committed, actions, share (committed desc)
    by_theme: DataFrame  # theme, committed, actions, share (multi-counting: shares may add to > 1)
    by_instrument: DataFrame  # instrument ("" for not given), committed, actions
    by_channel: DataFrame  # channel, committed, actions, share
    ratings: DataFrame  # criterion, mean, n, score_{s}… (every criterion, NaN mean when n == 0)
    # Precomputed per-scope tables (private; rebuilt from the Dataset when missing).
    _index: "_Index | None" = field(default=None, repr=False, compare=False)


@dataclass
class ScopeFigures:
    """A region's or a country's figures (see the module docstring for the rules and shares)."""

    scope: str
    kind: ScopeKind
    totals: Totals
    share: float  # of the evaluation's committed total (0..1)
    rank: int | None  # country: rank among countries; region: rank among regions (None: no action)
    of: int  # how many countries (or regions) are ranked
    actions: DataFrame  # columns of Dataset.actions, sorted by year, committed desc (NA last), action_id
    by_year: DataFrame
    by_year_channel: DataFrame
    by_partner: DataFrame
    by_theme: DataFrame
    ratings: DataFrame
    countries: DataFrame | None  # region only: country, committed, actions, share, rank, share_of_region
    regional_actions: int  # region only: actions with empty country counted in the region (0 for a country)
    indicators: DataFrame | None  # country only: INDICATOR_COLUMNS
    #: The positions in Dataset.actions of the rows of ``actions`` (a publication's context reads the rows it needs
    #: from lists made once per table: :func:`per_table`).
    action_positions: np.ndarray | None = None


# --------------------------------------------------------------------------------------------------------------------
# Small typed helpers
# --------------------------------------------------------------------------------------------------------------------


def _floats(s: pd.Series) -> pd.Series:
    """Any numeric-ish column as float64 with NaN for missing."""
    return pd.Series(pd.to_numeric(s).to_numpy(dtype="float64", na_value=np.nan), index=s.index)


def _ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """num / den, 0.0 where den is 0 (a share of nothing is 0, never NaN or inf)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    out = np.zeros(np.broadcast(num, den).shape, dtype="float64")
    return np.divide(num, den, out=out, where=den != 0)


def _rank(committed: pd.Series) -> pd.Series:
    """1 = largest; ties (to the cent) share the best rank; an amount not reported ranks last."""
    return committed.fillna(0.0).round(2).rank(method="min", ascending=False).astype("int64")


def _complete(table: DataFrame, keys: list[str], levels: Sequence[Sequence], values: list[str]) -> DataFrame:
    """Reindex ``table`` on the full product of ``levels`` (in that order), filling value columns with 0."""
    index = (
        pd.MultiIndex.from_product([list(lv) for lv in levels], names=keys)
        if len(keys) > 1
        else pd.Index(list(levels[0]), name=keys[0])
    )
    return table.set_index(keys)[values].reindex(index, fill_value=0).reset_index()


def _typed(table: DataFrame) -> DataFrame:
    """Fix dtypes that empty groupbys leave as object: counts int64, amounts/shares float64."""
    ints = {"year", "actions", "actions_without_amount", "countries", "regions", "n", "rank",
            *(c for c in table.columns if c.startswith("score_"))}
    floats = {"committed", "disbursed", "share", "share_of_region", "mean"}
    wanted = {c: "int64" for c in table.columns if c in ints} | {c: "float64" for c in table.columns if c in floats}
    # Only the columns that need it: astype copies every column it is given (an eighth of the figures' time).
    changed = {c: t for c, t in wanted.items() if table[c].dtype != t}
    return table.astype(changed) if changed else table


def _natural_key(s: pd.Series) -> pd.Series:
    """Sort key where digit runs compare as numbers ("R2" < "R10")."""
    return s.astype("str").map(lambda v: tuple((0, int(t), "") if t.isdigit() else (1, 0, t)
                                               for t in re.findall(r"\d+|\D+", v)))


# --------------------------------------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------------------------------------


def _years(ds: Dataset, actions: DataFrame) -> list[int]:
    ev = ds.evaluation
    return sorted(set(range(int(ev.period_start), int(ev.period_end) + 1)) | set(actions["year"].tolist()))


def _country_regions(ds: Dataset) -> pd.Series:
    c = ds.countries.astype({"country": "str", "region": "str"})
    return c.drop_duplicates("country").set_index("country")["region"]


def _prepare(ds: Dataset) -> DataFrame:
    """The actions with uniform dtypes, the effective region, and the row position in ``ds.actions``.

    Text columns become ``str`` (missing = NaN), ``instrument`` "" when not given, amounts float64 (NaN when not
    reported), ``year`` int64; ``region`` is the country's region for a country action and the action's own region
    for a regional action.
    """
    region_of = _country_regions(ds)
    return (
        ds.actions.loc[:, [*_TEXT, "year", "committed", "disbursed"]]
        .astype({c: "str" for c in _TEXT})
        .reset_index(drop=True)
        .assign(
            pos=lambda f: np.arange(len(f), dtype="int64"),
            region=lambda f: f["country"].map(region_of).fillna(f["region"]),
            instrument=lambda f: f["instrument"].fillna(""),
            year=lambda f: f["year"].astype("int64"),
            committed=lambda f: _floats(f["committed"]),
            disbursed=lambda f: _floats(f["disbursed"]),
            no_amount=lambda f: f["committed"].isna(),
            **{_ALL: ""},
        )
    )


@dataclass(frozen=True)
class _Vocab:
    """The codes the figures are computed on, in the evaluation's order."""

    themes: tuple[str, ...]
    channels: tuple[str, ...]
    criteria: tuple[str, ...]
    scores: tuple[int, ...]

    @classmethod
    def of(cls, ev: Evaluation) -> "_Vocab":
        return cls(ev.theme_codes, ev.channel_codes, ev.criterion_codes, ev.scale.scores)

    @property
    def score_columns(self) -> list[str]:
        return [f"score_{s}" for s in self.scores]


def rating_columns(ev: Evaluation) -> list[str]:
    """The columns of a ratings table: criterion, mean, n, then score_{s} for each score of the scale."""
    return [*RATING_COLUMNS, *_Vocab.of(ev).score_columns]


def _explode_themes(a: DataFrame, themes: tuple[str, ...]) -> DataFrame:
    """One row per (action, theme): an action with several themes counts fully under each."""
    return (
        a.assign(theme=lambda f: f["themes"].fillna("").str.split(";"))
        .explode("theme")
        .assign(theme=lambda f: f["theme"].astype("str").str.strip())
        .loc[lambda f: f["theme"].isin(list(themes))]
    )


def _rated(ds: Dataset, a: DataFrame) -> DataFrame:
    """Ratings with the scopes of their action (ratings of unknown actions are left out)."""
    return (
        ds.ratings.loc[:, ["action_id", "criterion", "score"]]
        .astype({"action_id": "str", "criterion": "str"})
        .dropna(subset=["score"])
        .assign(score=lambda f: f["score"].astype("int64"))
        .merge(a.loc[:, ["action_id", "country", "region", _ALL]], on="action_id", how="inner")
    )


# --------------------------------------------------------------------------------------------------------------------
# Long tables: one function per table, for any scope column (_all, country, region)
# --------------------------------------------------------------------------------------------------------------------


def _amounts(frame: DataFrame, keys: list[str]) -> DataFrame:
    """committed, disbursed (NA left out of sums; committed NaN when no action of the group has an amount),
    actions, actions_without_amount by ``keys``.

    Plain ``sum``/``size``/``count`` of one groupby rather than a named aggregation: the same table (checked
    equal on the embedded, tiny and extreme datasets), a third faster, and figures are computed again on every
    save of a data file in the preview."""
    g = frame.groupby(keys, sort=True, dropna=True, observed=True)
    sums = g[["committed", "disbursed", "no_amount"]].sum()
    table = DataFrame({"committed": sums["committed"], "disbursed": sums["disbursed"], "actions": g.size(),
                       "actions_without_amount": sums["no_amount"]})
    disbursed_known = g["disbursed"].count()
    # A group whose every action lacks an amount has no known amount: NaN ("not reported"), never 0.
    table["committed"] = table["committed"].where(table["actions_without_amount"] < table["actions"])
    table["disbursed"] = table["disbursed"].where(disbursed_known > 0)
    return table.reset_index()


def _totals_table(a: DataFrame, key: str, scopes: list[str]) -> DataFrame:
    counts = a.groupby(key, sort=True, dropna=True).agg(
        countries=("country", "nunique"), regions=("region", "nunique")
    )
    return (
        a.pipe(_amounts, [key])
        .merge(counts.reset_index(), on=key, how="left")
        .pipe(_complete, [key], [scopes], TOTALS_COLUMNS)
        .pipe(_typed)
    )


def _by_year_channel(a: DataFrame, key: str, scopes: list[str], years: list[int],
                     channels: tuple[str, ...]) -> DataFrame:
    return (
        a.pipe(_amounts, [key, "year", "channel"])
        .pipe(_complete, [key, "year", "channel"], [scopes, years, channels], ["committed", "actions"])
        .pipe(_typed)
    )


def _by_year(a: DataFrame, key: str, scopes: list[str], years: list[int]) -> DataFrame:
    return (
        a.pipe(_amounts, [key, "year"])
        .pipe(_complete, [key, "year"], [scopes, years], ["committed", "actions"])
        .pipe(_typed)
    )


def _with_share(table: DataFrame, key: str, totals: DataFrame) -> DataFrame:
    """share = committed / the scope's total committed (0.0 when that is 0)."""
    scope_total = table[key].map(totals.set_index(key)["committed"]).fillna(0.0)
    return table.assign(share=_ratio(table["committed"], scope_total))


def _by_partner(a: DataFrame, key: str, totals: DataFrame) -> DataFrame:
    return (
        a.pipe(_amounts, [key, "partner"])
        .pipe(_with_share, key, totals)
        .sort_values([key, "committed", "partner"], ascending=[True, False, True], kind="mergesort")
        .loc[:, [key, *PARTNER_COLUMNS]]
        .reset_index(drop=True)
        .pipe(_typed)
    )


def _by_theme(p: DataFrame, key: str, scopes: list[str], totals: DataFrame, themes: tuple[str, ...]) -> DataFrame:
    return (
        p.pipe(_amounts, [key, "theme"])
        .pipe(_complete, [key, "theme"], [scopes, themes], ["committed", "actions"])
        .pipe(_with_share, key, totals)
        .pipe(_typed)
    )


def _by_instrument(a: DataFrame, key: str) -> DataFrame:
    return (
        a.pipe(_amounts, [key, "instrument"])
        .sort_values([key, "committed", "instrument"], ascending=[True, False, True], kind="mergesort")
        .loc[:, [key, *INSTRUMENT_COLUMNS]]
        .reset_index(drop=True)
        .pipe(_typed)
    )


def _by_channel(a: DataFrame, key: str, scopes: list[str], totals: DataFrame,
                channels: tuple[str, ...]) -> DataFrame:
    return (
        a.pipe(_amounts, [key, "channel"])
        .pipe(_complete, [key, "channel"], [scopes, channels], ["committed", "actions"])
        .pipe(_with_share, key, totals)
        .pipe(_typed)
    )


def _ratings(r: DataFrame, key: str, scopes: list[str], v: _Vocab) -> DataFrame:
    """criterion, mean, n, score_{s}… for every scope × criterion (NaN mean when n == 0)."""
    grid = pd.MultiIndex.from_product([scopes, v.criteria, v.scores], names=[key, "criterion", "score"])
    counts = (
        r.groupby([key, "criterion", "score"], sort=True, dropna=True).size()
        .reindex(grid, fill_value=0)
        .to_numpy(dtype="int64")
        .reshape(-1, len(v.scores))
    )
    n = counts.sum(axis=1)
    weighted = counts @ np.array(v.scores, dtype="float64")
    mean = np.divide(weighted, n, out=np.full(len(n), np.nan), where=n > 0)
    return pd.DataFrame(
        {
            key: np.repeat(np.asarray(scopes, dtype=object), len(v.criteria)),
            "criterion": np.tile(np.asarray(v.criteria, dtype=object), len(scopes)),
            "mean": mean,
            "n": n,
            **{col: counts[:, i] for i, col in enumerate(v.score_columns)},
        }
    ).pipe(_typed)


def _level_tables(
    a: DataFrame, p: DataFrame, r: DataFrame, key: str, scopes: list[str], years: list[int], v: _Vocab
) -> dict[str, DataFrame]:
    """Every long table of one level (whole evaluation, countries or regions); first column = ``key``."""
    totals = _totals_table(a, key, scopes)
    return {
        "totals": totals,
        "by_year_channel": _by_year_channel(a, key, scopes, years, v.channels),
        "by_year": _by_year(a, key, scopes, years),
        "by_partner": _by_partner(a, key, totals),
        "by_theme": _by_theme(p, key, scopes, totals, v.themes),
        "by_instrument": _by_instrument(a, key),
        "by_channel": _by_channel(a, key, scopes, totals, v.channels),
        "ratings": _ratings(r, key, scopes, v),
    }


# --------------------------------------------------------------------------------------------------------------------
# The private index: long tables of every country and region, sliced on demand
# --------------------------------------------------------------------------------------------------------------------


TABLE_COLUMNS: dict[str, list[str]] = {
    "totals": TOTALS_COLUMNS,
    "by_year_channel": YEAR_CHANNEL_COLUMNS,
    "by_year": YEAR_COLUMNS,
    "by_partner": PARTNER_COLUMNS,
    "by_theme": THEME_COLUMNS,
    "by_instrument": INSTRUMENT_COLUMNS,
    "by_channel": CHANNEL_COLUMNS,
    "ratings": RATING_COLUMNS,  # then the score columns of the evaluation's scale: see _columns
}


def _columns(name: str, v: _Vocab) -> list[str]:
    return [*TABLE_COLUMNS[name], *v.score_columns] if name == "ratings" else TABLE_COLUMNS[name]


@dataclass
class _Long:
    """A long table sorted by its scope column: each scope's rows are one contiguous block.

    ``frame`` keeps the scope column (for the data tables); ``body`` has only ``columns``, so that a scope's table
    is one positional slice (no filtering, no column selection: ~60 µs instead of ~1 ms per table).
    """

    key: str
    frame: DataFrame
    body: DataFrame
    bounds: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, frame: DataFrame, key: str, columns: list[str]) -> "_Long":
        frame = frame.loc[:, [key, *columns]].reset_index(drop=True)
        keys = frame[key].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.empty(0, dtype="int64")
        stops = np.r_[starts[1:], len(keys)]
        bounds = {keys[i]: (int(i), int(j)) for i, j in zip(starts, stops)}
        assert len(bounds) == len(starts), f"{key}: long table not sorted by scope"
        return cls(key, frame, frame.loc[:, columns], bounds)

    def get(self, scope: str) -> DataFrame | None:
        b = self.bounds.get(scope)
        return None if b is None else self.body.iloc[b[0] : b[1]].reset_index(drop=True)

    def get_or_empty(self, scope: str) -> DataFrame:
        """The scope's rows; no row (with the columns) when the table has none for it (no themes declared)."""
        table = self.get(scope)
        return self.body.iloc[0:0].reset_index(drop=True) if table is None else table


@dataclass
class _Level:
    key: str
    tables: dict[str, _Long]
    action_rows: dict[str, np.ndarray]  # scope -> positions in ds.actions, in the scope's sort order

    @classmethod
    def build(cls, key: str, tables: dict[str, DataFrame], ordered: DataFrame, v: _Vocab) -> "_Level":
        longs = {name: _Long.of(t, key, _columns(name, v)) for name, t in tables.items()}
        pos = ordered["pos"].to_numpy()
        rows = {code: pos[idx] for code, idx in ordered.groupby(key, sort=False, dropna=True).indices.items()}
        return cls(key, longs, rows)

    def __contains__(self, scope: str) -> bool:
        return scope in self.tables["totals"].bounds


@dataclass
class _Index:
    prepared: DataFrame
    themes: DataFrame
    rated: DataFrame
    years: list[int]
    vocab: _Vocab
    levels: dict[str, _Level]  # "_all", "country", "region"
    country_rank: dict[str, int]  # country -> rank among countries with actions
    region_rank: dict[str, int]  # region -> rank among regions with actions
    region_countries: _Long  # by_country rows with share_of_region, keyed by region, sorted by rank
    share_of_region: dict[str, float]  # country -> share of its region's total
    regional_actions: dict[str, int]  # region -> actions with empty country
    indicators: _Long  # INDICATOR_COLUMNS keyed by country
    cache: dict[str, Any] = field(default_factory=dict)  # data tables, made on first use


def _indicator_summary(ds: Dataset) -> DataFrame:
    """First and latest value of each (country, indicator), with trend, unit and source."""
    declared = ds.evaluation.indicators or {}
    order = {code: i for i, code in enumerate(declared)}
    units = {code: ind.unit for code, ind in declared.items()}
    raw = ds.indicators
    if raw is None or raw.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ["country", *INDICATOR_COLUMNS]}).astype(
            {"year_first": "int64", "year_latest": "int64", "value_first": "float64", "value_latest": "float64"}
        )
    return (
        raw.loc[:, ["country", "indicator", "year", "value", "source"]]
        .astype({"country": "str", "indicator": "str", "source": "str"})
        .assign(value=lambda f: _floats(f["value"]))
        .dropna(subset=["year", "value"])
        .assign(year=lambda f: f["year"].astype("int64"))
        .sort_values(["country", "indicator", "year"], kind="mergesort")
        .groupby(["country", "indicator"], sort=False)
        .agg(
            year_first=("year", "first"),
            value_first=("value", "first"),
            year_latest=("year", "last"),
            value_latest=("value", "last"),
            source=("source", "last"),
        )
        .reset_index()
        .assign(
            trend=_trend,
            unit=lambda f: f["indicator"].map(units).fillna("").astype("str"),
            _order=lambda f: f["indicator"].map(order).fillna(len(order)),
        )
        .sort_values(["country", "_order", "indicator"], kind="mergesort")
        .loc[:, ["country", *INDICATOR_COLUMNS]]
        .reset_index(drop=True)
    )


def _trend(f: DataFrame) -> pd.Series:
    """"up" | "down" | "flat" (change within FLAT_TOLERANCE of the first value) | None (a single year)."""
    change = f["value_latest"] - f["value_first"]
    flat = change.abs() <= FLAT_TOLERANCE * f["value_first"].abs()
    trend = np.select(
        [f["year_latest"] == f["year_first"], flat, change > 0], [None, "flat", "up"], default="down"
    )
    return pd.Series(list(trend), index=f.index, dtype=object)


def _build_index(ds: Dataset) -> tuple[_Index, dict[str, DataFrame]]:
    a = _prepare(ds)
    v = _Vocab.of(ds.evaluation)
    p = _explode_themes(a, v.themes)
    r = _rated(ds, a)
    years = _years(ds, a)
    ordered = a.sort_values(
        ["year", "committed", "action_id"], ascending=[True, False, True], na_position="last", kind="mergesort"
    )
    levels: dict[str, _Level] = {}
    for key in (_ALL, "country", "region"):
        scopes = sorted(a[key].dropna().unique().tolist())
        levels[key] = _Level.build(key, _level_tables(a, p, r, key, scopes, years, v), ordered, v)

    country_totals = levels["country"].tables["totals"].frame
    region_totals = levels["region"].tables["totals"].frame
    grand = float(levels[_ALL].tables["totals"].frame["committed"].sum())
    region_of = a.dropna(subset=["country"]).drop_duplicates("country").set_index("country")["region"]
    by_country = (
        country_totals.assign(
            region=lambda f: f["country"].map(region_of).astype("str"),
            share=lambda f: _ratio(f["committed"], grand),
            rank=lambda f: _rank(f["committed"]),
            share_of_region=lambda f: _ratio(
                f["committed"], f["region"].map(region_totals.set_index("region")["committed"]).fillna(0.0)
            ),
        )
        .sort_values(["rank", "country"], kind="mergesort")
        .reset_index(drop=True)
    )
    by_region = (
        region_totals.assign(share=lambda f: _ratio(f["committed"], grand), rank=lambda f: _rank(f["committed"]))
        .sort_values(["committed", "region"], ascending=[False, True], kind="mergesort")
        .reset_index(drop=True)
    )
    index = _Index(
        prepared=a,
        themes=p,
        rated=r,
        years=years,
        vocab=v,
        levels=levels,
        country_rank=dict(zip(by_country["country"], by_country["rank"].tolist())),
        region_rank=dict(zip(by_region["region"], by_region["rank"].tolist())),
        region_countries=_Long.of(
            by_country.sort_values(["region", "rank", "country"], kind="mergesort"), "region", REGION_COUNTRY_COLUMNS
        ),
        share_of_region=dict(zip(by_country["country"], by_country["share_of_region"].tolist())),
        regional_actions=a.loc[a["country"].isna()].groupby("region").size().to_dict(),
        indicators=_Long.of(_indicator_summary(ds), "country", INDICATOR_COLUMNS),
    )
    return index, {"by_country": by_country, "by_region": by_region}


def _index(ds: Dataset, figures: Figures) -> _Index:
    if figures._index is None:
        figures._index = _build_index(ds)[0]
    return figures._index


# --------------------------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------------------------


def _totals_from(row: pd.Series | None) -> Totals:
    if row is None:
        return Totals(0.0, 0.0, 0, 0, 0, 0)
    return Totals(
        committed=float(row["committed"]),
        disbursed=float(row["disbursed"]),
        actions=int(row["actions"]),
        actions_without_amount=int(row["actions_without_amount"]),
        countries=int(row["countries"]),
        regions=int(row["regions"]),
    )


def compute_figures(ds: Dataset) -> Figures:
    """Every figure of the whole evaluation (and, privately, of every region and country)."""
    index, extra = _build_index(ds)
    whole = {name: long.get("") for name, long in index.levels[_ALL].tables.items()}
    if whole["totals"] is not None:  # a table with no row at all (no themes): empty, with its columns
        whole = {name: index.levels[_ALL].tables[name].get_or_empty("") for name in whole}
    if whole["totals"] is None:  # no action at all (validation forbids it): the same tables, empty
        whole = _empty_scope_tables(index, _ALL, "")
    return Figures(
        totals=_totals_from(whole["totals"].iloc[0]),
        by_year_channel=whole["by_year_channel"],
        by_year=whole["by_year"],
        by_region=extra["by_region"].loc[:, REGION_COLUMNS],
        by_country=extra["by_country"].loc[:, COUNTRY_COLUMNS],
        by_partner=whole["by_partner"],
        by_theme=whole["by_theme"],
        by_instrument=whole["by_instrument"],
        by_channel=whole["by_channel"],
        ratings=whole["ratings"],
        _index=index,
    )


def _empty_scope_tables(index: _Index, key: str, code: str) -> dict[str, DataFrame]:
    """The tables of a scope without any action, computed by the same functions on no rows."""
    tables = _level_tables(
        index.prepared.iloc[0:0], index.themes.iloc[0:0], index.rated.iloc[0:0], key, [code], index.years,
        index.vocab,
    )
    return {name: t.loc[:, _columns(name, index.vocab)].reset_index(drop=True) for name, t in tables.items()}


def _scope_figures(ds: Dataset, figures: Figures, kind: ScopeKind, code: str) -> ScopeFigures:
    index = _index(ds, figures)
    level = index.levels[kind]
    if code in level:
        tables = {name: long.get_or_empty(code) for name, long in level.tables.items()}
    else:
        known = _known_codes(ds, kind)
        if code not in known:
            raise ReportgenError(
                f"unknown {kind} {code!r}: it is not in {'regions' if kind == 'region' else 'countries'}.csv; "
                f"use one of its codes, e.g. {', '.join(sorted(known)[:5]) or '(none)'}"
            )
        tables = _empty_scope_tables(index, kind, code)
    totals = _totals_from(tables["totals"].iloc[0])
    rows = level.action_rows.get(code, np.empty(0, dtype="int64"))
    if kind == "country":
        rank = index.country_rank.get(code)
        of = len(index.country_rank)
        countries = None
        regional = 0
        indicators = index.indicators.get(code)
        if indicators is None:
            indicators = index.indicators.body.iloc[0:0].reset_index(drop=True)
    else:
        rank = index.region_rank.get(code)
        of = len(index.region_rank)
        countries = index.region_countries.get(code)
        if countries is None:
            countries = index.region_countries.body.iloc[0:0].reset_index(drop=True)
        regional = int(index.regional_actions.get(code, 0))
        indicators = None
    return ScopeFigures(
        scope=code,
        kind=kind,
        totals=totals,
        share=float(_ratio(totals.committed, figures.totals.committed)),
        rank=None if rank is None else int(rank),
        of=of,
        actions=ds.actions.iloc[rows].reset_index(drop=True),
        action_positions=rows,
        by_year=tables["by_year"],
        by_year_channel=tables["by_year_channel"],
        by_partner=tables["by_partner"],
        by_theme=tables["by_theme"],
        ratings=tables["ratings"],
        countries=countries,
        regional_actions=regional,
        indicators=indicators,
    )


def _known_codes(ds: Dataset, kind: ScopeKind) -> set[str]:
    frame = ds.regions if kind == "region" else ds.countries
    return set(frame[kind].astype("str").tolist())


def region_figures(ds: Dataset, figures: Figures, region: str) -> ScopeFigures:
    """A region's figures: its countries' actions plus its regional actions (country empty)."""
    return _scope_figures(ds, figures, "region", region)


def country_figures(ds: Dataset, figures: Figures, country: str) -> ScopeFigures:
    """A country's figures, with its context indicators."""
    return _scope_figures(ds, figures, "country", country)


# --------------------------------------------------------------------------------------------------------------------
# Data tables (exported to {output}/data/ and attached to PDF/A publications)
# --------------------------------------------------------------------------------------------------------------------


def _named(table: DataFrame, ds: Dataset, kind: ScopeKind, prefix: str = "") -> DataFrame:
    """Insert name columns (``{prefix}name_{lang}``, one per language) right after the ``kind`` code column."""
    frame = (ds.regions if kind == "region" else ds.countries).astype("str").drop_duplicates(kind)
    name_cols = [f"name_{lang}" for lang in ds.evaluation.languages if f"name_{lang}" in frame.columns]
    codes = table[kind].astype("str")
    names = {f"{prefix}{c}": codes.map(dict(zip(frame[kind], frame[c]))).astype("str") for c in name_cols}
    at = list(table.columns).index(kind) + 1
    columns = [*table.columns[:at], *names, *table.columns[at:]]
    return table.assign(**{kind: codes}, **names).loc[:, columns]


ACTION_COLUMNS = [
    "action_id", "title", "country", "region", "channel", "instrument", "partner", "themes", "year", "committed",
    "disbursed",
]


def _actions_table(ds: Dataset, index: _Index) -> tuple[DataFrame, dict[str, dict[str, np.ndarray]]]:
    """The list of actions (codes plus a name column per language, by year then action_id), and the rows of each
    country and region in it; computed once per Figures."""
    if "actions" not in index.cache:
        order = index.prepared.sort_values(["year", "action_id"], kind="mergesort").reset_index(drop=True)
        table = (
            ds.actions.iloc[order["pos"].to_numpy()]
            .loc[:, ACTION_COLUMNS]
            .astype({c: "str" for c in _TEXT})
            .assign(
                year=lambda f: f["year"].astype("int64"),
                committed=lambda f: _floats(f["committed"]),
                disbursed=lambda f: _floats(f["disbursed"]),
            )
            .reset_index(drop=True)
            .pipe(_named, ds, "country", "country_")
            .pipe(_named, ds, "region", "region_")
        )
        rows = {kind: order.groupby(kind, sort=False, dropna=True).indices for kind in ("country", "region")}
        index.cache["actions"] = (table, rows)
    return index.cache["actions"]


def _recommendations_table(ds: Dataset, index: _Index) -> DataFrame:
    """All recommendations, in natural rec_id order (R2 before R10); computed once per Figures."""
    if "recommendations" not in index.cache:
        rec = ds.recommendations
        text_cols = [f"text_{lang}" for lang in ds.evaluation.languages]
        columns = ["rec_id", "scope", "scope_kind", "priority", "addressee", *text_cols]
        index.cache["recommendations"] = (
            pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
            if rec is None or rec.empty
            else rec.loc[:, columns]
            .astype("str")
            .sort_values("rec_id", key=_natural_key, kind="mergesort")
            .reset_index(drop=True)
        )
    return index.cache["recommendations"]


def _long(index: _Index, kind: str, name: str, columns: list[str]) -> DataFrame:
    """A long per-scope table restricted to scopes with actions, key column first."""
    return index.levels[kind].tables[name].frame.loc[:, [kind, *columns]].reset_index(drop=True)


def data_tables(ds: Dataset, figures: Figures) -> dict[str, DataFrame]:
    """Every table the publications show, by stable snake_case name (file and sheet name), rows sorted.

    ========================================  ===================================================================
    ``totals``                                committed, disbursed, actions, actions_without_amount, countries,
                                              regions (one row)
    ``commitments_by_year_channel``           year, channel, committed, actions
    ``commitments_by_year``                   year, committed, actions
    ``commitments_by_channel``                channel, committed, actions, share
    ``commitments_by_region``                 region, name_{lang}…, committed, actions, actions_without_amount,
                                              countries, share, rank
    ``commitments_by_country``                country, name_{lang}…, region, committed, actions,
                                              actions_without_amount, share, rank, share_of_region
    ``commitments_by_partner``                partner, committed, actions, share
    ``commitments_by_theme``                 theme, committed, actions, share (multi-counted)
    ``commitments_by_instrument``             instrument, committed, actions
    ``commitments_by_region_year``            region, year, committed, actions
    ``commitments_by_region_partner``         region, partner, committed, actions, share (of the region)
    ``commitments_by_region_theme``          region, theme, committed, actions, share (of the region)
    ``commitments_by_country_year``           country, year, committed, actions
    ``ratings_by_criterion``                  criterion, mean, n, score_1…score_4
    ``ratings_by_region``                     region, criterion, mean, n, score_1…score_4
    ``ratings_by_country``                    country, criterion, mean, n, score_1…score_4
    ``indicators``                            country, indicator, year_first, value_first, year_latest,
                                              value_latest, trend, unit, source
    ``actions``                               action_id, title, country, country_name_{lang}…, region,
                                              region_name_{lang}…, channel, instrument, partner, themes, year,
                                              committed, disbursed (by year, then action_id)
    ``recommendations``                       rec_id, scope, scope_kind, priority, addressee, text_{lang}…
    ========================================  ===================================================================

    Per-scope tables list the regions / countries with at least one action.
    """
    index = _index(ds, figures)
    rating = rating_columns(ds.evaluation)
    t = figures.totals
    by_region = (
        figures.by_region.assign(rank=lambda f: f["region"].map(index.region_rank).astype("int64"))
        .loc[:, ["region", "committed", "actions", "actions_without_amount", "countries", "share", "rank"]]
        .pipe(_named, ds, "region")
    )
    by_country = (
        figures.by_country.assign(
            share_of_region=lambda f: f["country"].map(index.share_of_region).astype("float64")
        )
        .pipe(_named, ds, "country")
    )
    return {
        "totals": _totals_frame(t),
        "commitments_by_year_channel": figures.by_year_channel.loc[:, YEAR_CHANNEL_COLUMNS],
        "commitments_by_year": figures.by_year.loc[:, YEAR_COLUMNS],
        "commitments_by_channel": figures.by_channel.loc[:, CHANNEL_COLUMNS],
        "commitments_by_region": by_region,
        "commitments_by_country": by_country,
        "commitments_by_partner": figures.by_partner.loc[:, PARTNER_COLUMNS],
        "commitments_by_theme": figures.by_theme.loc[:, THEME_COLUMNS],
        "commitments_by_instrument": figures.by_instrument.loc[:, INSTRUMENT_COLUMNS],
        "commitments_by_region_year": _long(index, "region", "by_year", ["year", "committed", "actions"]),
        "commitments_by_region_partner": _long(index, "region", "by_partner", PARTNER_COLUMNS),
        "commitments_by_region_theme": _long(index, "region", "by_theme", THEME_COLUMNS),
        "commitments_by_country_year": _long(index, "country", "by_year", ["year", "committed", "actions"]),
        "ratings_by_criterion": figures.ratings.loc[:, rating],
        "ratings_by_region": _long(index, "region", "ratings", rating),
        "ratings_by_country": _long(index, "country", "ratings", rating),
        "indicators": index.indicators.frame,
        "actions": _actions_table(ds, index)[0],
        "recommendations": _recommendations_table(ds, index),
    }


def _totals_frame(t: Totals, **extra: object) -> DataFrame:
    """One row: ``extra`` columns first, then TOTALS_COLUMNS (amounts float64, counts int64)."""
    return pd.DataFrame(
        {
            **{k: [v] for k, v in extra.items()},
            **{c: np.array([getattr(t, c)], dtype="float64" if c in ("committed", "disbursed") else "int64")
               for c in TOTALS_COLUMNS},
        }
    )


def slice_tables(
    ds: Dataset, figures: Figures, scope_kind: Literal["synthesis", "region", "country"], code: str | None
) -> dict[str, DataFrame]:
    """A publication's own data: the synthesis's is :func:`data_tables`; a region's or a country's is its slice.

    Region: ``totals`` (scope, committed, disbursed, actions, actions_without_amount, countries, regions, share,
    rank, of, regional_actions), ``actions``, ``commitments_by_year``, ``commitments_by_year_channel``,
    ``commitments_by_country`` (the countries table with names), ``commitments_by_partner``,
    ``commitments_by_theme``, ``ratings_by_criterion``, ``recommendations`` (scoped to the region or one of its
    countries). Country: the same without ``commitments_by_country``, plus ``indicators``; its recommendations are
    those scoped to the country. Columns as in :func:`data_tables`.
    """
    if scope_kind == "synthesis":
        return data_tables(ds, figures)
    if scope_kind not in ("region", "country") or code is None:
        raise ReportgenError(f"cannot slice data for {scope_kind!r} {code!r}: use 'synthesis', 'region' or 'country'")
    sf = _scope_figures(ds, figures, scope_kind, code)
    index = _index(ds, figures)
    actions, action_rows = _actions_table(ds, index)
    rows = action_rows[scope_kind].get(code, np.empty(0, dtype="int64"))
    totals = (
        _totals_frame(sf.totals, scope=code)
        .assign(
            share=sf.share,
            rank=pd.array([sf.rank], dtype="Int64"),  # NA for a scope without action
            of=sf.of,
            regional_actions=sf.regional_actions,
        )
        .loc[:, ["scope", *TOTALS_COLUMNS, "share", "rank", "of", "regional_actions"]]
    )
    tables: dict[str, DataFrame] = {
        "totals": totals,
        "actions": actions.iloc[rows].reset_index(drop=True),
        "commitments_by_year": sf.by_year,
        "commitments_by_year_channel": sf.by_year_channel,
    }
    if scope_kind == "region":
        assert sf.countries is not None
        tables["commitments_by_country"] = sf.countries.pipe(_named, ds, "country")
        members = ds.countries.loc[ds.countries["region"].astype("str") == code, "country"].astype("str")
        scopes = {code, *members.tolist(), *sf.countries["country"].tolist()}
    else:
        scopes = {code}
    tables |= {
        "commitments_by_partner": sf.by_partner,
        "commitments_by_theme": sf.by_theme,
        "ratings_by_criterion": sf.ratings,
    }
    if sf.indicators is not None:
        tables["indicators"] = sf.indicators
    recommendations = _recommendations_table(ds, index)
    tables["recommendations"] = recommendations.loc[recommendations["scope"].isin(scopes)].reset_index(drop=True)
    return tables


# --------------------------------------------------------------------------------------------------------------------
# Figures the publications print besides the tables
# --------------------------------------------------------------------------------------------------------------------


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype="float64", na_value=np.nan)


def mean_rating(ratings: DataFrame) -> float | None:
    """The mean score over every rating of a ratings table (criteria weighted by their number of ratings); None
    when nothing is rated."""
    n = _floats(ratings["n"])
    total = np.nansum(n)
    if total == 0:
        return None
    means = np.nan_to_num(_floats(ratings["mean"]), nan=0.0)
    return float(np.nansum(means * n) / total)


def upper_scores(ev: Evaluation) -> tuple[int, ...]:
    """The scores of the upper half of the scale (above its middle): 3 and 4 on 1–4, 4 to 6 on 1–6."""
    scale = ev.scale
    middle = (scale.minimum + scale.maximum) / 2
    return tuple(s for s in scale.scores if s > middle)


def rating_summary(ratings: DataFrame, ev: Evaluation) -> DataFrame:
    """A ratings table with ``upper_share``: the share of the ratings of each criterion in the upper half of the
    scale (:func:`upper_scores`; NaN when the criterion is not rated), and ``best`` / ``worst``: the criterion with
    the highest / lowest mean (ties: the first in the evaluation's order), False everywhere when nothing is
    rated."""
    return ratings.assign(**_rating_summary_arrays(ratings, ev))


def rating_summary_columns(ratings: DataFrame, ev: Evaluation) -> dict[str, list]:
    """:func:`rating_summary` as a list of values per column (what a publication's context reads, without the cost
    of a DataFrame for a table of a few rows)."""
    columns = {c: ratings[c].tolist() for c in ratings.columns}
    columns.update((name, values.tolist()) for name, values in _rating_summary_arrays(ratings, ev).items())
    return columns


def _rating_summary_arrays(ratings: DataFrame, ev: Evaluation) -> dict[str, np.ndarray]:
    # NumPy, not pandas: a country brief's table has a criterion per row, and each pandas step cost more than its
    # arithmetic (this was a sixth of a brief's context).
    n = _floats(ratings["n"])
    upper = np.zeros(len(ratings))
    for s in upper_scores(ev):
        upper = upper + _floats(ratings[f"score_{s}"])
    # Positions, not labels (``.loc[label] = True`` took a third of a country brief's ratings table).
    with np.errstate(invalid="ignore"):
        rated = n > 0
    means = np.where(rated, _floats(ratings["mean"]), np.nan)
    best = np.zeros(len(ratings), dtype=bool)
    worst = np.zeros(len(ratings), dtype=bool)
    if not np.isnan(means).all():
        best[np.nanargmax(means)] = True  # the first of equal means, as Series.idxmax
        worst[np.nanargmin(means)] = True
    return {"upper_share": np.divide(upper, n, out=np.full(len(n), np.nan), where=rated), "best": best,
            "worst": worst}


def per_table(table: DataFrame, name: str, compute):
    """``compute(table)``, computed once per table object and kept (the last few): lookups the context of every
    publication needs over a whole table of the dataset (thousands of rows), whose tables are never changed in
    place (a changed file makes a new Dataset)."""
    key = (name, id(table))
    hit = _PER_TABLE.get(key)
    if hit is not None and hit[0] is table:
        return hit[1]
    value = compute(table)
    if len(_PER_TABLE) >= 16:
        _PER_TABLE.clear()
    _PER_TABLE[key] = (table, value)
    return value


_PER_TABLE: dict[tuple[str, int], tuple[DataFrame, Any]] = {}


def rated_actions(ds: Dataset, actions: DataFrame, positions: np.ndarray | None = None) -> int:
    """How many of ``actions`` (rows of Dataset.actions, at ``positions`` when given) have at least one rating."""
    if ds.ratings is None or not len(actions):
        return 0
    rated = per_table(ds.ratings, "rated action ids", lambda r: frozenset(r["action_id"].astype(str)))
    if positions is not None:
        ids = per_table(ds.actions, "action ids", lambda a: a["action_id"].astype(str).tolist())
        return sum(ids[i] in rated for i in positions.tolist())
    return sum(a in rated for a in actions["action_id"].astype(str))


def regional_actions(ds: Dataset) -> int:
    """Actions without a country (regional or multi-country actions), over the whole evaluation."""
    return int(ds.actions["country"].isna().sum())


def regional_committed(sf: ScopeFigures) -> float:
    """A region's amount committed by its regional actions (those without a country): its total less its
    countries' totals."""
    if sf.countries is None:
        return 0.0
    return float(sf.totals.committed - float(sf.countries["committed"].astype("float64").sum()))


def annex_actions(ds: Dataset, limit: int) -> tuple[DataFrame, int, bool]:
    """The actions the synthesis's annex lists: every action when there are at most ``limit``, else the ``limit``
    largest commitments (not reported counts as the smallest; ties by action_id); in year order, then committed
    descending, then action_id. Returns (rows of Dataset.actions, number of actions, whether the list is cut)."""
    actions = ds.actions
    total = len(actions)
    keyed = actions.assign(_c=pd.to_numeric(actions["committed"]).astype("float64").fillna(-1.0))
    if total > limit:
        keyed = keyed.sort_values(["_c", "action_id"], ascending=[False, True], kind="mergesort").head(limit)
    chosen = (keyed.sort_values(["year", "_c", "action_id"], ascending=[True, False, True], kind="mergesort")
              .drop(columns="_c"))
    return chosen, total, total > limit
