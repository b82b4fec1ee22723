"""The synthetic dataset generator (bench/make_synthetic.py) and the embedded dataset (data/).

Both must follow the dataset contract: the synthetic one feeds the scale benchmarks, the embedded one is what the
README's main command builds.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "make_synthetic.py"
DATA = ROOT / "data"
SMALL = {"countries": 12, "regions": 3, "actions": 300, "seed": 1}


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_synthetic", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    gen.generate(out, **SMALL)
    return out


# ---------------------------------------------------------------------------------------------------- the generator


def test_iso_list_is_the_249_assigned_codes():
    codes = gen.ISO_ALPHA3
    assert len(codes) == 249
    assert codes == sorted(set(codes))
    from reportgen.iso3166 import ALPHA3_TO_ALPHA2

    assert set(codes) == set(ALPHA3_TO_ALPHA2) - {"XKX"}


def test_small_dataset_shape(small):
    regions = _rows(small / "regions.csv")
    countries = _rows(small / "countries.csv")
    actions = _rows(small / "actions.csv")
    ratings = _rows(small / "ratings.csv")
    recs = _rows(small / "recommendations.csv")
    indicators = _rows(small / "indicators.csv")

    assert [r["region"] for r in regions] == ["west-africa", "central-africa", "east-africa"]
    assert all(r["name_fr"] and r["name_en"] for r in regions)
    assert [c["country"] for c in countries] == gen.ISO_ALPHA3[:12]
    assert all(c["name_fr"] == c["name_en"] == "" for c in countries)  # names come from CLDR
    country_region = {c["country"]: c["region"] for c in countries}
    assert set(country_region.values()) == {r["region"] for r in regions}

    assert len(actions) == 300
    assert len({a["action_id"] for a in actions}) == 300
    for a in actions:
        assert a["title"] and a["partner"]
        if a["country"]:
            assert a["region"] == country_region[a["country"]]
        else:
            assert a["region"] in {r["region"] for r in regions}
        assert a["channel"] in ("bilateral", "regional", "multilateral")
        pillars = a["pillars"].split(";")
        assert 1 <= len(pillars) <= 3 and set(pillars) <= {"prevention", "protection", "prosecution", "partnership"}
        assert 2007 <= int(a["year"]) <= 2011
        if a["committed"] and a["disbursed"]:
            assert 0 <= float(a["disbursed"]) <= float(a["committed"])
        if not a["committed"]:
            assert not a["disbursed"]
    assert any(not a["committed"] for a in actions)
    assert any(not a["country"] for a in actions)
    assert {a["country"] for a in actions if a["country"]} == set(country_region)

    rated = {r["action_id"] for r in ratings}
    assert 0.4 * 300 < len(rated) < 0.8 * 300
    assert rated <= {a["action_id"] for a in actions}
    assert len({(r["action_id"], r["criterion"]) for r in ratings}) == len(ratings)
    assert {int(r["score"]) for r in ratings} <= {1, 2, 3, 4}

    scopes = {r["scope"] for r in recs}
    assert "global" in scopes and scopes & set(country_region.values()) and scopes & set(country_region)
    assert all(r["text_fr"] and r["text_en"] and r["priority"] in ("high", "medium", "low") for r in recs)
    assert indicators and {i["country"] for i in indicators} <= set(country_region)

    for lang in ("fr", "en"):
        assert (small / "narrative" / lang / "synthesis.md").read_text(encoding="utf-8").strip()
        assert sorted(p.stem for p in (small / "narrative" / lang / "regions").glob("*.md")) == sorted(
            r["region"] for r in regions
        )
        narrated = [p.stem for p in (small / "narrative" / lang / "countries").glob("*.md")]
        assert 1 <= len(narrated) <= 12 and set(narrated) <= set(country_region)


def test_same_seed_same_bytes_other_seed_other_bytes(small, tmp_path):
    again = tmp_path / "again"
    again.mkdir()
    gen.generate(again, **SMALL)
    assert _tree(again) == _tree(small)

    other = tmp_path / "other"
    other.mkdir()
    gen.generate(other, **{**SMALL, "seed": 2})
    assert (other / "actions.csv").read_bytes() != (small / "actions.csv").read_bytes()


def test_max_amount_reaches_nine_digits_and_changes_nothing_else(small, tmp_path):
    """--max-amount (the real-sized layout run: amounts up to nine digits) draws the same actions, larger amounts."""
    gen.generate(tmp_path, **SMALL, max_amount=999_999_999)
    big, base = _rows(tmp_path / "actions.csv"), _rows(small / "actions.csv")
    amounts = [float(a["committed"]) for a in big if a["committed"]]
    assert max(amounts) <= 999_999_999 and max(amounts) >= 10_000_000
    assert len(str(int(max(amounts)))) in (8, 9)
    assert [{**a, "committed": "", "disbursed": ""} for a in big] == [{**a, "committed": "", "disbursed": ""}
                                                                       for a in base]
    with pytest.raises(ValueError, match="--max-amount"):
        gen.generate(tmp_path / "x", **SMALL, max_amount=100)


def test_command_line_refuses_a_non_empty_folder_unless_forced(tmp_path):
    out = tmp_path / "ds"
    args = [sys.executable, str(SCRIPT), str(out), "--countries", "5", "--regions", "2", "--actions", "40"]
    first = subprocess.run(args, capture_output=True, text=True, check=True)
    assert "actions 40" in first.stderr
    before = _tree(out)
    (out / "keep.txt").write_text("not ours", encoding="utf-8")

    refused = subprocess.run(args, capture_output=True, text=True)
    assert refused.returncode == 2 and "--force" in refused.stderr

    subprocess.run([*args, "--force"], capture_output=True, text=True, check=True)
    after = _tree(out)
    assert after.pop("keep.txt") == b"not ours"
    assert after == before

    bad = subprocess.run([*args[:3], "--countries", "300", "--force"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--countries must be between 1 and 249" in bad.stderr


# ---------------------------------------------------------------------------------------------------- validation


def _errors(folder: Path) -> list:
    from reportgen.validate import validate_dataset

    result = validate_dataset(folder)
    return [p for p in result.problems if p.severity == "error"], result


def test_small_synthetic_dataset_validates(small):
    errors, result = _errors(small)
    assert errors == []
    assert result.ok and result.dataset is not None
    ds = result.dataset
    assert len(ds.actions) == 300 and len(ds.countries) == 12 and len(ds.regions) == 3
    assert ds.countries["name_en"].str.len().gt(0).all()  # every synthetic code has a CLDR name


@pytest.mark.slow
def test_large_synthetic_dataset_validates(tmp_path):
    gen.generate(tmp_path, countries=200, regions=20, actions=20000, seed=1)
    errors, result = _errors(tmp_path)
    assert errors == [] and result.ok


# ---------------------------------------------------------------------------------------------------- data/


def test_embedded_dataset_validates_with_no_error():
    errors, result = _errors(DATA)
    assert errors == [], "\n".join(map(str, errors))
    assert result.ok


def test_embedded_dataset_meets_the_issue():
    """Issue 2, section 5: ≥ 150 actions over ≥ 30 countries in ≥ 5 regions, ratings, ≥ 12 recommendations at every
    scope, narratives in both languages, context indicators, and a plain notice that the figures are illustrative."""
    from reportgen.validate import validate_dataset

    ds = validate_dataset(DATA).dataset
    assert ds is not None
    a = ds.actions
    assert len(a) >= 150
    assert a["country"].dropna().nunique() >= 30
    assert a["region"].nunique() >= 5
    assert set(a["channel"]) == {"bilateral", "regional", "multilateral"}
    assert 5 <= a["committed"].isna().sum() <= 8
    assert a["year"].between(2007, 2011).all()
    see = set(ds.countries.loc[ds.countries["region"] == "south-east-europe", "country"])
    assert see == {"ALB", "BIH", "BGR", "HRV", "CYP", "GRC", "HUN", "XKX", "MDA", "MNE", "MKD", "ROU", "SRB", "SVN",
                   "TUR", "UKR"}
    assert {"UNODC", "IOM", "OSCE", "Conseil de l'Europe", "ILO"} <= set(a.loc[a["channel"] == "multilateral", "partner"])
    assert not a["title"].str.fullmatch(r"(?i)action \d+").any()

    assert ds.ratings["action_id"].nunique() >= 0.75 * len(a)
    assert set(ds.ratings["criterion"]) == {"relevance", "coherence", "effectiveness", "efficiency", "impact",
                                            "sustainability"}
    recs = ds.recommendations
    assert len(recs) >= 12 and set(recs["scope_kind"]) == {"global", "region", "country"}
    assert recs["scope"].nunique() >= 8
    assert ds.indicators["country"].nunique() >= 10

    for lang in ("fr", "en"):
        assert (lang, "synthesis", None) in ds.narratives
        for region in a["region"].unique():
            assert (lang, "region", region) in ds.narratives
        assert sum(1 for (lng, kind, _) in ds.narratives if lng == lang and kind == "country") >= 10
    assert "illustratifs" in ds.narratives[("fr", "synthesis", None)].split("##")[0]
    assert "illustrative" in ds.narratives[("en", "synthesis", None)].split("##")[0]
    assert "illustrative" in (DATA / "README.md").read_text(encoding="utf-8").lower()


def test_embedded_narratives_have_plain_spaces_and_reasonable_length():
    """Narratives are typed with plain spaces (the French typography filter adds the no-break ones), and stay
    within the lengths the publications are laid out for."""
    for path in sorted((DATA / "narrative").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert "\u00a0" not in text and "\u202f" not in text, path
        words = len(text.split())
        limits = (200, 600) if path.name == "synthesis.md" else (80, 250)
        assert limits[0] <= words <= limits[1], (path, words)
        if path.name == "synthesis.md":
            heads = [line for line in text.splitlines() if line.startswith("## ")]
            assert heads == (["## Contexte", "## Conclusions"] if "/fr/" in str(path) else ["## Context", "## Conclusions"])
