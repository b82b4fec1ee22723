"""Figures of the whole evaluation, of regions and of countries, on small datasets built by hand."""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reportgen.aggregate import (
    FLAT_TOLERANCE,
    Figures,
    Totals,
    compute_figures,
    country_figures,
    annex_actions,
    data_tables,
    mean_rating,
    rated_actions,
    rating_summary,
    region_figures,
    regional_actions,
    regional_committed,
    slice_tables,
)
from reportgen.errors import ReportgenError
from reportgen.model import CHANNELS, CRITERIA, PILLARS, Dataset, Evaluation, Indicator, Scale, Term

# --------------------------------------------------------------------------------------------------------------------
# A tiny dataset, built by hand
# --------------------------------------------------------------------------------------------------------------------

REGIONS = [("see", "Europe du Sud-Est", "South-East Europe"), ("wca", "Afrique de l'Ouest", "West Africa"),
           ("asia", "Asie", "Asia")]
COUNTRIES = [("ALB", "see", "Albanie", "Albania"), ("SRB", "see", "Serbie", "Serbia"),
             ("NGA", "wca", "Nigéria", "Nigeria"), ("BEN", "wca", "Bénin", "Benin"),
             ("TGO", "wca", "Togo", "Togo"), ("CHN", "asia", "Chine", "China")]
# action_id, country, region, channel, instrument, partner, themes, year, committed, disbursed
ACTIONS = [
    ("A1", "ALB", "see", "bilateral", "FSP", "IOM", "prevention;protection", 2007, 100.0, 50.0),
    ("A2", "ALB", "see", "regional", None, "UNODC", "prosecution", 2008, 250.0, None),
    ("A3", "SRB", "see", "bilateral", "FSP", "IOM", "protection", 2008, 300.0, 300.0),
    ("A4", None, "see", "regional", "P209", "OSCE", "partnership", 2009, 400.0, None),
    ("A5", "NGA", "wca", "bilateral", None, "NGO One", "prevention", 2010, None, None),
    ("A6", "BEN", "wca", "multilateral", "P209", "UNODC", "prevention;prosecution", 2011, 300.0, 100.0),
    ("A7", "CHN", "asia", "bilateral", None, "IOM", "prevention", 2011, 50.0, None),
    ("A8", None, "wca", "regional", None, "IOM", "protection", 2010, None, None),
]
RATINGS = [("A1", "relevance", 3), ("A1", "effectiveness", 2), ("A3", "relevance", 4), ("A6", "relevance", 1)]
RECOMMENDATIONS = [
    ("R10", "ALB", "country"), ("R2", "see", "region"), ("R1", "global", "global"), ("R3", "TGO", "country"),
]
INDICATORS = [
    ("NGA", "victims", 2008, 100.0, "UNODC"), ("NGA", "victims", 2010, 150.0, "UNODC GLOTIP"),
    ("NGA", "prosecutions", 2009, 10.0, "MoJ"), ("NGA", "prosecutions", 2011, 10.05, "MoJ"),
    ("NGA", "convictions", 2008, 20.0, "MoJ"), ("NGA", "convictions", 2011, 15.0, "MoJ"),
    ("BEN", "victims", 2011, 40.0, "UNODC"),
]


def make_dataset(
    actions=ACTIONS,
    *,
    ratings=RATINGS,
    recommendations=RECOMMENDATIONS,
    indicators=INDICATORS,
    period=(2007, 2011),
    string_dtype: str = "string",
) -> Dataset:
    """A Dataset with the frames, columns and dtypes of reportgen.model (nullable dtypes, pd.NA)."""
    s = string_dtype
    evaluation = Evaluation(
        id="128",
        languages=("fr", "en"),
        title={"fr": "Traite", "en": "Trafficking"},
        commissioner={"fr": "MAE", "en": "MFA"},
        subtitle=None,
        evaluator="X",
        published="2014-03",
        period_start=period[0],
        period_end=period[1],
        currency="EUR",
        themes=tuple(Term(code, {}) for code in PILLARS),
        indicators={
            "victims": Indicator("victims", "persons", {"fr": "Victimes", "en": "Victims"}),
            "prosecutions": Indicator("prosecutions", "cases", {"fr": "Poursuites", "en": "Prosecutions"}),
            "convictions": Indicator("convictions", "cases", {"fr": "Condamnations", "en": "Convictions"}),
        },
    )
    regions = pd.DataFrame(REGIONS, columns=["region", "name_fr", "name_en"]).astype(s)
    countries = pd.DataFrame(COUNTRIES, columns=["country", "region", "name_fr", "name_en"]).astype(s)
    act = pd.DataFrame(
        [(a[0], f"Title {a[0]}", *a[1:]) for a in actions],
        columns=["action_id", "title", "country", "region", "channel", "instrument", "partner", "themes", "year",
                 "committed", "disbursed"],
    ).astype({**{c: s for c in ["action_id", "title", "country", "region", "channel", "instrument", "partner",
                                  "themes"]}, "year": "Int64", "committed": "Float64", "disbursed": "Float64"})
    rat = pd.DataFrame(
        [(*r, None) for r in ratings], columns=["action_id", "criterion", "score", "comment"]
    ).astype({"action_id": s, "criterion": s, "score": "Int64", "comment": s})
    rec = pd.DataFrame(
        [(r[0], r[1], r[2], "high", "MFA", f"texte {r[0]}", f"text {r[0]}") for r in recommendations],
        columns=["rec_id", "scope", "scope_kind", "priority", "addressee", "text_fr", "text_en"],
    ).astype(s)
    ind = pd.DataFrame(list(indicators), columns=["country", "indicator", "year", "value", "source"]).astype(
        {"country": s, "indicator": s, "year": "Int64", "value": "Float64", "source": s}
    )
    return Dataset(Path("."), evaluation, regions, countries, act, rat, rec, ind)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset()


@pytest.fixture(scope="module")
def fig(ds) -> Figures:
    return compute_figures(ds)


def row(frame: pd.DataFrame, col: str, value) -> pd.Series:
    found = frame.loc[frame[col] == value]
    assert len(found) == 1, f"{col}={value!r}: {len(found)} rows"
    return found.iloc[0]


# --------------------------------------------------------------------------------------------------------------------
# Whole evaluation
# --------------------------------------------------------------------------------------------------------------------


def test_totals_leave_out_empty_amounts_and_count_them(fig):
    assert fig.totals == Totals(
        committed=1400.0, disbursed=450.0, actions=8, actions_without_amount=2, countries=5, regions=3
    )


def test_by_year_channel_has_every_year_and_channel_with_zeros(fig):
    t = fig.by_year_channel
    assert list(t.columns) == ["year", "channel", "committed", "actions"]
    assert len(t) == 5 * 3
    assert t["year"].tolist() == [y for y in range(2007, 2012) for _ in CHANNELS]
    assert t["channel"].tolist() == list(CHANNELS) * 5
    assert t["committed"].sum() == 1400.0 and t["actions"].sum() == 8
    r = t.loc[(t["year"] == 2010) & (t["channel"] == "bilateral")].iloc[0]
    # A5: an action without amount counts; its cell has no known amount: NaN ("not reported"), never 0
    assert pd.isna(r["committed"]) and r["actions"] == 1
    r = t.loc[(t["year"] == 2007) & (t["channel"] == "multilateral")].iloc[0]
    assert (r["committed"], r["actions"]) == (0.0, 0)
    assert t["year"].dtype == "int64" and t["actions"].dtype == "int64" and t["committed"].dtype == "float64"


def test_by_year(fig):
    # 2010's two actions have no amount: not reported (NaN), never 0
    assert fig.by_year["committed"].fillna(-1.0).tolist() == [100.0, 550.0, 400.0, -1.0, 350.0]
    assert fig.by_year["actions"].tolist() == [1, 2, 1, 2, 2]


def test_by_channel(fig):
    t = fig.by_channel
    assert t["channel"].tolist() == list(CHANNELS)
    assert t["committed"].tolist() == [450.0, 650.0, 300.0]
    assert t["actions"].tolist() == [4, 3, 1]
    assert t["share"].sum() == pytest.approx(1.0)


def test_regional_actions_are_counted_in_their_region(fig):
    see = row(fig.by_region, "region", "see")
    assert (see["committed"], see["actions"], see["countries"]) == (1050.0, 4, 2)
    assert see["share"] == pytest.approx(0.75)
    wca = row(fig.by_region, "region", "wca")
    assert (wca["committed"], wca["actions"], wca["actions_without_amount"], wca["countries"]) == (300.0, 3, 2, 2)
    assert fig.by_region["region"].tolist() == ["see", "wca", "asia"]  # committed desc
    assert list(fig.by_region.columns) == ["region", "committed", "actions", "countries", "share",
                                           "actions_without_amount"]
    assert fig.by_region["committed"].sum() == fig.totals.committed


def test_multi_theme_action_counts_fully_under_each_theme(fig):
    t = fig.by_theme
    assert t["theme"].tolist() == list(PILLARS)
    assert t.set_index("theme")["committed"].to_dict() == {
        "prevention": 450.0, "protection": 400.0, "prosecution": 550.0, "partnership": 400.0,
    }
    assert t.set_index("theme")["actions"].to_dict() == {
        "prevention": 4, "protection": 3, "prosecution": 2, "partnership": 1,
    }
    assert t["committed"].sum() > fig.totals.committed  # multi-counting: more than the total
    assert row(t, "theme", "prosecution")["share"] == pytest.approx(550 / 1400)
    assert t["share"].sum() > 1


def test_country_ranks_ties_share_the_best_rank(fig):
    t = fig.by_country
    assert list(t.columns) == ["country", "region", "committed", "actions", "actions_without_amount", "share", "rank"]
    assert t["country"].tolist() == ["ALB", "BEN", "SRB", "CHN", "NGA"]
    assert t["rank"].tolist() == [1, 2, 2, 4, 5]
    assert t["rank"].dtype == "int64"
    assert t["region"].tolist() == ["see", "wca", "see", "asia", "wca"]


def test_country_whose_actions_have_no_amount_is_not_reported_and_ranked_last(fig):
    nga = row(fig.by_country, "country", "NGA")
    assert pd.isna(nga["committed"])  # "not reported", never 0
    assert (nga["actions"], nga["actions_without_amount"], nga["rank"]) == (1, 1, 5)
    assert "TGO" not in fig.by_country["country"].tolist()  # no action: not ranked


def test_country_shares_are_of_the_grand_total(fig):
    t = fig.by_country.set_index("country")["share"]
    assert t["ALB"] == pytest.approx(350 / 1400)
    assert t["CHN"] == pytest.approx(50 / 1400)
    # country shares + regional actions' shares = 1
    assert t.sum() + 400 / 1400 == pytest.approx(1.0)


def test_ranks_compare_totals_to_the_cent():
    actions = [
        ("A1", "ALB", "see", "bilateral", None, "P", "prevention", 2007, 0.1, None),
        ("A2", "ALB", "see", "bilateral", None, "P", "prevention", 2007, 0.2, None),
        ("A3", "SRB", "see", "bilateral", None, "P", "prevention", 2007, 0.3, None),
    ]
    fig = compute_figures(make_dataset(actions, ratings=[], indicators=[]))
    assert fig.by_country["rank"].tolist() == [1, 1]


def test_partner_instrument(fig):
    assert fig.by_partner["partner"].tolist() == ["UNODC", "IOM", "OSCE", "NGO One"]
    assert fig.by_partner["committed"].fillna(-1.0).tolist() == [550.0, 450.0, 400.0, -1.0]  # NGO One: not reported
    assert fig.by_partner["actions"].tolist() == [2, 4, 1, 1]
    assert row(fig.by_partner, "partner", "IOM")["share"] == pytest.approx(450 / 1400)
    t = fig.by_instrument
    assert list(t.columns) == ["instrument", "committed", "actions"]
    assert t["instrument"].tolist() == ["P209", "FSP", ""]
    assert t["committed"].tolist() == [700.0, 400.0, 300.0]
    assert t["actions"].tolist() == [2, 2, 4]


def test_ratings_means_and_distributions(fig):
    t = fig.ratings
    assert list(t.columns) == ["criterion", "mean", "n", "score_1", "score_2", "score_3", "score_4"]
    assert t["criterion"].tolist() == list(CRITERIA)
    rel = row(t, "criterion", "relevance")
    assert rel["mean"] == pytest.approx(8 / 3) and rel["n"] == 3
    assert [rel[f"score_{i}"] for i in (1, 2, 3, 4)] == [1, 0, 1, 1]
    eff = row(t, "criterion", "effectiveness")
    assert (eff["mean"], eff["n"], eff["score_2"]) == (2.0, 1, 1)
    imp = row(t, "criterion", "impact")
    assert imp["n"] == 0 and math.isnan(imp["mean"])


def test_zero_total_gives_zero_shares_not_nan():
    actions = [
        ("A1", "ALB", "see", "bilateral", None, "P", "prevention", 2007, None, None),
        ("A2", "CHN", "asia", "regional", None, "Q", "protection", 2008, 0.0, None),
    ]
    ds = make_dataset(actions, ratings=[], indicators=[], recommendations=[])
    fig = compute_figures(ds)
    assert fig.totals.committed == 0.0 and fig.totals.actions_without_amount == 1
    for t in (fig.by_country, fig.by_region, fig.by_partner, fig.by_theme, fig.by_channel):
        assert (t["share"] == 0.0).all(), t
    assert fig.by_country["rank"].tolist() == [1, 1]
    sf = country_figures(ds, fig, "ALB")
    assert sf.share == 0.0 and sf.rank == 1 and sf.of == 2
    rf = region_figures(ds, fig, "see")
    assert rf.share == 0.0 and rf.countries["share_of_region"].tolist() == [0.0]
    # nothing is rated: every mean is NaN, every n 0
    assert fig.ratings["n"].eq(0).all() and fig.ratings["mean"].isna().all()


# --------------------------------------------------------------------------------------------------------------------
# Regions and countries
# --------------------------------------------------------------------------------------------------------------------


def test_region_figures_and_countries_table(ds, fig):
    rf = region_figures(ds, fig, "see")
    assert (rf.scope, rf.kind, rf.rank, rf.of) == ("see", "region", 1, 3)
    assert rf.totals == Totals(1050.0, 350.0, 4, 0, 2, 1)
    assert rf.share == pytest.approx(0.75)
    assert rf.regional_actions == 1
    assert rf.indicators is None
    assert sorted(rf.actions["action_id"]) == ["A1", "A2", "A3", "A4"]
    c = rf.countries
    assert list(c.columns) == ["country", "committed", "actions", "share", "rank", "share_of_region"]
    assert c["country"].tolist() == ["ALB", "SRB"]
    assert c["rank"].tolist() == [1, 2]  # among all countries
    assert c["share"].tolist() == pytest.approx([350 / 1400, 300 / 1400])
    assert c["share_of_region"].tolist() == pytest.approx([350 / 1050, 300 / 1050])
    assert rf.by_year["committed"].tolist() == [100.0, 550.0, 400.0, 0.0, 0.0]
    assert rf.by_year_channel["committed"].sum() == 1050.0 and len(rf.by_year_channel) == 15
    assert rf.by_partner["partner"].tolist() == ["IOM", "OSCE", "UNODC"]
    assert rf.by_partner["share"].tolist() == pytest.approx([400 / 1050, 400 / 1050, 250 / 1050])  # of the region
    assert rf.by_theme.set_index("theme")["committed"].to_dict() == {
        "prevention": 100.0, "protection": 400.0, "prosecution": 250.0, "partnership": 400.0,
    }
    rel = row(rf.ratings, "criterion", "relevance")
    assert (rel["mean"], rel["n"]) == (3.5, 2)


def test_region_with_only_regional_amountless_actions(ds, fig):
    rf = region_figures(ds, fig, "wca")
    assert rf.totals == Totals(300.0, 100.0, 3, 2, 2, 1)
    assert rf.regional_actions == 1 and rf.rank == 2
    assert rf.countries["country"].tolist() == ["BEN", "NGA"]
    assert rf.countries["rank"].tolist() == [2, 5]


def test_country_figures(ds, fig):
    sf = country_figures(ds, fig, "ALB")
    assert (sf.scope, sf.kind, sf.rank, sf.of) == ("ALB", "country", 1, 5)
    assert sf.totals == Totals(350.0, 50.0, 2, 0, 1, 1)
    assert sf.share == pytest.approx(0.25)
    assert sf.countries is None and sf.regional_actions == 0
    assert list(sf.actions.columns) == list(ds.actions.columns)
    assert sf.by_year["year"].tolist() == list(range(2007, 2012))
    assert sf.by_year["committed"].tolist() == [100.0, 250.0, 0.0, 0.0, 0.0]
    assert sf.by_partner["share"].tolist() == pytest.approx([250 / 350, 100 / 350])


def test_scope_actions_sorted_by_year_then_committed_desc_na_last():
    actions = [
        ("A1", "ALB", "see", "bilateral", None, "P", "prevention", 2008, 10.0, None),
        ("A2", "ALB", "see", "bilateral", None, "P", "prevention", 2007, None, None),
        ("A3", "ALB", "see", "bilateral", None, "P", "prevention", 2007, 5.0, None),
        ("A4", "ALB", "see", "bilateral", None, "P", "prevention", 2007, 50.0, None),
        ("A5", "ALB", "see", "bilateral", None, "P", "prevention", 2008, 10.0, None),
    ]
    ds = make_dataset(actions, ratings=[], indicators=[])
    sf = country_figures(ds, compute_figures(ds), "ALB")
    assert sf.actions["action_id"].tolist() == ["A4", "A3", "A2", "A1", "A5"]
    assert sf.actions["committed"].dtype == "Float64"  # the Dataset's own columns and dtypes


def test_scope_without_actions(ds, fig):
    sf = country_figures(ds, fig, "TGO")
    assert sf.totals == Totals(0.0, 0.0, 0, 0, 0, 0)
    assert sf.rank is None and sf.of == 5 and sf.share == 0.0
    assert sf.actions.empty and list(sf.actions.columns) == list(ds.actions.columns)
    assert sf.by_year["committed"].tolist() == [0.0] * 5
    assert sf.by_theme["theme"].tolist() == list(PILLARS)
    assert sf.ratings["n"].sum() == 0
    assert sf.indicators.empty and list(sf.indicators.columns)[:2] == ["indicator", "year_first"]


def test_unknown_scope_is_a_clear_error(ds, fig):
    with pytest.raises(ReportgenError, match="unknown country 'XXX'"):
        country_figures(ds, fig, "XXX")
    with pytest.raises(ReportgenError, match="unknown region 'mars'"):
        region_figures(ds, fig, "mars")


def test_figures_without_private_index_still_work(ds, fig):
    bare = dataclasses.replace(fig, _index=None)
    assert region_figures(ds, bare, "see").totals == region_figures(ds, fig, "see").totals


def test_indicators_first_latest_and_trend(ds, fig):
    t = country_figures(ds, fig, "NGA").indicators
    assert list(t.columns) == ["indicator", "year_first", "value_first", "year_latest", "value_latest", "trend",
                               "unit", "source"]
    assert t["indicator"].tolist() == ["victims", "prosecutions", "convictions"]  # declaration order
    v = row(t, "indicator", "victims")
    assert (v["year_first"], v["value_first"], v["year_latest"], v["value_latest"]) == (2008, 100.0, 2010, 150.0)
    assert (v["trend"], v["unit"], v["source"]) == ("up", "persons", "UNODC GLOTIP")  # the latest value's source
    assert row(t, "indicator", "prosecutions")["trend"] == "flat"  # +0.5 %: within FLAT_TOLERANCE
    assert row(t, "indicator", "convictions")["trend"] == "down"
    ben = country_figures(ds, fig, "BEN").indicators
    assert ben["trend"].tolist() == [None]  # a single year: no trend


@pytest.mark.parametrize(
    "first, latest, trend",
    [(100.0, 101.0, "flat"), (100.0, 99.0, "flat"), (100.0, 101.5, "up"), (100.0, 98.0, "down"),
     (0.0, 0.0, "flat"), (0.0, 5.0, "up"), (-10.0, -10.05, "flat"), (-10.0, -20.0, "down")],
)
def test_indicator_trend_threshold(first, latest, trend):
    assert FLAT_TOLERANCE == 0.01
    ds = make_dataset(indicators=[("NGA", "victims", 2008, first, "s"), ("NGA", "victims", 2011, latest, "s")])
    t = country_figures(ds, compute_figures(ds), "NGA").indicators
    assert t["trend"].tolist() == [trend]


def test_default_str_dtype_frames_give_the_same_figures(fig):
    other = compute_figures(make_dataset(string_dtype="str"))
    assert other.totals == fig.totals
    for name in ("by_year_channel", "by_region", "by_country", "by_partner", "by_theme", "by_instrument",
                 "by_channel", "ratings"):
        pd.testing.assert_frame_equal(getattr(other, name), getattr(fig, name), check_dtype=False)


# --------------------------------------------------------------------------------------------------------------------
# Data tables
# --------------------------------------------------------------------------------------------------------------------


def test_data_tables_names_columns_and_sorted_rows(ds, fig):
    tables = data_tables(ds, fig)
    assert list(tables) == [
        "totals", "commitments_by_year_channel", "commitments_by_year", "commitments_by_channel",
        "commitments_by_region", "commitments_by_country", "commitments_by_partner", "commitments_by_theme",
        "commitments_by_instrument", "commitments_by_region_year", "commitments_by_region_partner",
        "commitments_by_region_theme", "commitments_by_country_year", "ratings_by_criterion", "ratings_by_region",
        "ratings_by_country", "indicators", "actions", "recommendations",
    ]
    for name, t in tables.items():
        assert len(name) <= 31 and name.islower(), name
        assert t.index.equals(pd.RangeIndex(len(t))), name
    assert list(tables["commitments_by_region"].columns) == [
        "region", "name_fr", "name_en", "committed", "actions", "actions_without_amount", "countries", "share", "rank"
    ]
    assert list(tables["commitments_by_country"].columns) == [
        "country", "name_fr", "name_en", "region", "committed", "actions", "actions_without_amount", "share", "rank",
        "share_of_region",
    ]
    assert row(tables["commitments_by_country"], "country", "ALB")["name_fr"] == "Albanie"
    a = tables["actions"]
    assert list(a.columns) == [
        "action_id", "title", "country", "country_name_fr", "country_name_en", "region", "region_name_fr",
        "region_name_en", "channel", "instrument", "partner", "themes", "year", "committed", "disbursed",
    ]
    assert a["action_id"].tolist() == ["A1", "A2", "A3", "A4", "A5", "A8", "A6", "A7"]  # by year, then id
    a4 = row(a, "action_id", "A4")
    assert pd.isna(a4["country"]) and pd.isna(a4["country_name_en"]) and a4["region_name_en"] == "South-East Europe"
    assert tables["recommendations"]["rec_id"].tolist() == ["R1", "R2", "R3", "R10"]  # natural order
    assert list(tables["totals"].columns) == ["committed", "disbursed", "actions", "actions_without_amount",
                                              "countries", "regions"]
    ry = tables["commitments_by_region_year"]
    assert list(ry.columns) == ["region", "year", "committed", "actions"] and len(ry) == 3 * 5
    assert ry["region"].tolist() == sorted(ry["region"].tolist())
    assert len(tables["ratings_by_country"]) == 5 * 6
    assert tables["indicators"]["country"].tolist() == ["BEN", "NGA", "NGA", "NGA"]


def test_same_numbers_in_figures_and_tables(ds, fig):
    tables = data_tables(ds, fig)
    assert tables["totals"].iloc[0]["committed"] == fig.totals.committed
    for region in ("see", "wca", "asia"):
        rf = region_figures(ds, fig, region)
        ry = tables["commitments_by_region_year"].loc[lambda f: f["region"] == region]
        assert ry["committed"].fillna(-1.0).tolist() == rf.by_year["committed"].fillna(-1.0).tolist()


def test_slice_tables(ds, fig):
    region = slice_tables(ds, fig, "region", "wca")
    assert set(region) == {"totals", "actions", "commitments_by_year", "commitments_by_year_channel",
                           "commitments_by_country", "commitments_by_partner", "commitments_by_theme",
                           "ratings_by_criterion", "recommendations"}
    assert region["actions"]["action_id"].tolist() == ["A5", "A8", "A6"]
    assert region["recommendations"]["rec_id"].tolist() == ["R3"]  # scoped to one of its countries (TGO)
    t = region["totals"].iloc[0]
    assert (t["scope"], t["committed"], t["rank"], t["of"], t["regional_actions"]) == ("wca", 300.0, 2, 3, 1)
    country = slice_tables(ds, fig, "country", "ALB")
    assert "indicators" in country and "commitments_by_country" not in country
    assert country["recommendations"]["rec_id"].tolist() == ["R10"]
    assert country["actions"]["country_name_en"].tolist() == ["Albania", "Albania"]
    none = slice_tables(ds, fig, "country", "TGO")
    assert pd.isna(none["totals"].iloc[0]["rank"]) and none["actions"].empty
    assert list(slice_tables(ds, fig, "synthesis", None)) == list(data_tables(ds, fig))
    with pytest.raises(ReportgenError):
        slice_tables(ds, fig, "planet", "x")


def test_data_tables_export_end_to_end(ds, fig, tmp_path):
    from reportgen.export import write_data

    tables = data_tables(ds, fig)
    written = write_data(tables, tmp_path, epoch=1_400_000_000)
    assert {p.name for p in written} == {f"{n}.csv" for n in tables} | {"figures.xlsx"}
    text = (tmp_path / "commitments_by_country.csv").read_text("utf-8")
    assert text.splitlines()[1] == "ALB,Albanie,Albania,see,350,2,0,0.25,1,0.333333"


# --------------------------------------------------------------------------------------------------------------------
# Performance: 20,000 actions, 200 countries, 20 regions
# --------------------------------------------------------------------------------------------------------------------


def synthetic_dataset(n_actions=20_000, n_countries=200, n_regions=20, seed=1) -> Dataset:
    rng = np.random.default_rng(seed)
    regions = [f"r{i:02d}" for i in range(n_regions)]
    countries = [f"{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}X" for i in range(n_countries)]
    country_region = {c: regions[i % n_regions] for i, c in enumerate(countries)}
    ds = make_dataset(actions=[], ratings=[], indicators=[], recommendations=[])
    ds.regions = pd.DataFrame({"region": regions, "name_fr": regions, "name_en": regions}).astype("string")
    ds.countries = pd.DataFrame(
        {"country": countries, "region": [country_region[c] for c in countries], "name_fr": countries,
         "name_en": countries}
    ).astype("string")
    country = rng.choice(np.array(countries + [None] * 20, dtype=object), n_actions)
    region = np.array([country_region[c] if c is not None else regions[int(rng.integers(n_regions))]
                       for c in country], dtype=object)
    committed = rng.gamma(2.0, 50_000.0, n_actions).round(2)
    themes = np.array(["prevention", "protection;prosecution", "partnership", "prevention;protection"])
    ids = np.array([f"A{i:05d}" for i in range(n_actions)], dtype=object)
    ds.actions = pd.DataFrame({
        "action_id": ids,
        "title": ids,
        "country": country,
        "region": region,
        "channel": rng.choice(np.array(CHANNELS), n_actions),
        "instrument": rng.choice(np.array(["FSP", "P209", None], dtype=object), n_actions),
        "partner": rng.choice(np.array([f"P{i}" for i in range(60)]), n_actions),
        "themes": rng.choice(themes, n_actions),
        "year": rng.integers(2007, 2012, n_actions),
        "committed": pd.array(np.where(rng.random(n_actions) < 0.05, np.nan, committed), dtype="Float64"),
        "disbursed": pd.array(committed / 2, dtype="Float64"),
    }).astype({c: "string" for c in ["action_id", "title", "country", "region", "channel", "instrument",
                                      "partner", "themes"]} | {"year": "Int64"})
    rated = rng.choice(n_actions, n_actions // 2, replace=False)
    ds.ratings = pd.DataFrame({
        "action_id": np.repeat(ids[rated], 2),
        "criterion": np.tile(np.array(["relevance", "impact"]), len(rated)),
        "score": rng.integers(1, 5, 2 * len(rated)),
        "comment": None,
    }).astype({"action_id": "string", "criterion": "string", "score": "Int64", "comment": "string"})
    return ds


@pytest.mark.slow  # builds and validates a 20,000-action dataset (~3 s): the full tier's
def test_all_scope_figures_of_a_large_dataset_are_fast():
    ds = synthetic_dataset()
    # CPU time of this process: other jobs sharing the machine (parallel tests) do not make it flaky.
    start, wall = time.process_time(), time.perf_counter()
    fig = compute_figures(ds)
    regions = [region_figures(ds, fig, r) for r in fig.by_region["region"]]
    countries = [country_figures(ds, fig, c) for c in fig.by_country["country"]]
    elapsed, wall = time.process_time() - start, time.perf_counter() - wall
    assert len(regions) == 20 and len(countries) == 200
    assert sum(r.totals.actions for r in regions) == fig.totals.actions == 20_000
    assert sum(r.totals.committed for r in regions) == pytest.approx(fig.totals.committed)
    assert elapsed < 3.0, f"Figures + 220 ScopeFigures took {elapsed:.2f} s of CPU ({wall:.2f} s wall)"


def test_no_action_at_all_gives_empty_tables_not_an_exception():
    ds = make_dataset(actions=[], ratings=[], indicators=[], recommendations=[])
    fig = compute_figures(ds)
    assert fig.totals == Totals(0.0, 0.0, 0, 0, 0, 0)
    assert fig.by_year["committed"].tolist() == [0.0] * 5 and fig.by_country.empty
    rf = region_figures(ds, fig, "see")
    assert rf.rank is None and rf.of == 0 and rf.countries.empty
    assert all(list(t.columns) for t in data_tables(ds, fig).values())


def test_scope_tables_are_independent_copies(ds, fig):
    first = region_figures(ds, fig, "see")
    first.by_year.loc[0, "committed"] = -1.0
    first.countries.loc[0, "rank"] = 99
    again = region_figures(ds, fig, "see")
    assert again.by_year.loc[0, "committed"] == 100.0 and again.countries.loc[0, "rank"] == 1
    assert fig.by_country["rank"].iloc[0] == 1


def test_figures_survive_pickling(ds, fig):
    import pickle

    again = pickle.loads(pickle.dumps(fig))
    assert region_figures(ds, again, "see").totals == region_figures(ds, fig, "see").totals
    assert list(data_tables(ds, again)) == list(data_tables(ds, fig))


# --------------------------------------------------------------------------------------------------------------------
# The evaluation's vocabulary and the figures publications print besides the tables
# --------------------------------------------------------------------------------------------------------------------


def test_figures_follow_the_declared_vocabulary():
    ds = make_dataset(ratings=[("A1", "added_value", 6), ("A1", "relevance", 1), ("A3", "added_value", 5)])
    ds.evaluation = dataclasses.replace(
        ds.evaluation, themes=(Term("protection", {}), Term("prevention", {})),
        criteria=(Term("added_value", {}), Term("relevance", {})), scale=Scale(1, 6),
        channels=(Term("regional", {}), Term("bilateral", {}), Term("multilateral", {})))
    fig = compute_figures(ds)
    assert fig.ratings["criterion"].tolist() == ["added_value", "relevance"]
    assert list(fig.ratings.columns) == ["criterion", "mean", "n", *(f"score_{s}" for s in range(1, 7))]
    assert row(fig.ratings, "criterion", "added_value")["mean"] == pytest.approx(5.5)
    assert fig.by_theme["theme"].tolist() == ["protection", "prevention"]  # declared order, undeclared left out
    assert fig.by_channel["channel"].tolist() == ["regional", "bilateral", "multilateral"]
    assert list(data_tables(ds, fig)["ratings_by_criterion"].columns)[-1] == "score_6"
    summary = rating_summary(fig.ratings, ds.evaluation)
    # Upper half of 1-6: 4, 5 and 6.
    assert row(summary, "criterion", "added_value")["upper_share"] == 1.0
    assert row(summary, "criterion", "relevance")["upper_share"] == 0.0
    assert summary["best"].tolist() == [True, False] and summary["worst"].tolist() == [False, True]


def test_no_themes_gives_empty_by_theme_tables():
    ds = make_dataset()
    ds.evaluation = dataclasses.replace(ds.evaluation, themes=())
    fig = compute_figures(ds)
    assert fig.by_theme.empty and list(fig.by_theme.columns) == ["theme", "committed", "actions", "share"]
    assert region_figures(ds, fig, "see").by_theme.empty and country_figures(ds, fig, "ALB").by_theme.empty


def test_printed_figures(ds, fig):
    assert mean_rating(fig.ratings) == pytest.approx((3 + 2 + 4 + 1) / 4)
    assert mean_rating(region_figures(ds, fig, "asia").ratings) is None
    assert rated_actions(ds, ds.actions) == 3
    assert regional_actions(ds) == 2
    see = region_figures(ds, fig, "see")
    assert regional_committed(see) == 400.0  # A4, the regional action without a country
    assert regional_committed(country_figures(ds, fig, "ALB")) == 0.0
    summary = rating_summary(fig.ratings, ds.evaluation)
    assert summary.loc[summary["best"], "criterion"].tolist() == ["relevance"]  # 8/3 beats 2.0
    assert summary.loc[summary["worst"], "criterion"].tolist() == ["effectiveness"]


def test_annex_lists_every_action_or_the_largest_in_year_order(ds):
    rows, total, cut = annex_actions(ds, 80)
    assert (total, cut, len(rows)) == (8, False, 8)
    assert rows["year"].tolist() == sorted(rows["year"].tolist())
    rows, total, cut = annex_actions(ds, 3)
    assert (total, cut) == (8, True)
    assert rows["action_id"].tolist() == ["A3", "A4", "A6"]  # the 3 largest (300, 400, 300), by year
