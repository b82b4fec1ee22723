"""Extreme datasets: the tiny dataset of conftest pushed to the sizes and gaps real evaluations have.

:func:`dataset` returns the files (relative path → text) of one case of :data:`CASES`, a fixed corpus;
:func:`generated` is a Hypothesis strategy of such datasets (names up to 120 characters and unbreakable words, one to
six regions, up to twelve countries, amounts from 0.01 to 10¹² or unreported, ratings, recommendations and narratives
present or not) with the few publications to check in each. The layout tests build them and check every page of the
chosen publications with :func:`reportgen.layout.check`.
"""

from __future__ import annotations

import csv
import io

from dataclasses import dataclass

from datasets import TINY_DATASET
from hypothesis import strategies as st

from reportgen.iso3166 import ALPHA3_TO_ALPHA2

LONG = ("Programme d'appui institutionnel au renforcement des capacités nationales de lutte contre la traite et "
        "de protection des victimes")  # 120 characters
UNBREAKABLE = "Antitraffickingcapacitybuildingprogrammeforregionalcoordination"  # one 63-character word
NARRATIVE_PARAGRAPH = ("Les autorités ont renforcé la coordination entre les services de police, de justice et de "
                       "protection sociale, avec l'appui des partenaires internationaux et des organisations de la "
                       "société civile présentes dans le pays. ") * 4

CASES = ("long-names", "huge-amounts", "nine-digits", "unreported", "empty", "one-action", "many", "long-narrative")

_ACTION_FIELDS = ["action_id", "title", "country", "region", "channel", "instrument", "partner", "pillars", "year",
                  "committed", "disbursed"]


def _csv(fields: list[str], rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def _rows(text: str, delimiter: str = ",") -> list[dict]:
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def dataset(case: str) -> dict[str, str]:
    """The files of one extreme case."""
    files = dict(TINY_DATASET)
    actions = _rows(files["actions.csv"])
    if case == "long-names":
        # 120-character titles, partners and names, unbreakable words in every free-text column
        for i, a in enumerate(actions):
            a["title"] = LONG if i % 2 else f"{UNBREAKABLE} {LONG}"[:120]
            a["partner"] = UNBREAKABLE if i % 2 else LONG
        files["countries.csv"] = files["countries.csv"].replace("CIV,west-africa,,Côte d'Ivoire",
                                                                f"CIV,west-africa,{LONG},{UNBREAKABLE}")
        files["regions.csv"] = files["regions.csv"].replace("Europe du Sud-Est,South-East Europe",
                                                            f"{LONG},{UNBREAKABLE}")
    elif case == "huge-amounts":
        amounts = ["0.01", "1000000000000", "999999999999.99", "0.5", "", "123456789012", "7", "1000000000000"]
        for a, amount in zip(actions, amounts):
            a["committed"] = amount
            a["disbursed"] = ""
    elif case == "nine-digits":
        # the longest amounts the templates' fixed column widths hold (reportgen.render.TABLE_AMOUNT_CHARS): an
        # action of 900 million in a country's table, totals up to 996 666 653 € in the synthesis's tables
        amounts = ["900000000", "12345678", "23456789", "34567890", "", "9876543", "8765432", "7654321"]
        for a, amount in zip(actions, amounts):
            a["committed"] = amount
            a["disbursed"] = ""
    elif case == "unreported":
        for a in actions:
            a["committed"] = a["disbursed"] = ""
    elif case == "empty":
        files["ratings.csv"] = "action_id;criterion;score;comment\n"
        files["recommendations.csv"] = "rec_id,scope,priority,addressee,text_fr,text_en\n"
        files["indicators.csv"] = "country,indicator,year,value,source\n"
        files = {k: v for k, v in files.items() if not k.startswith("narrative/")}
    elif case == "one-action":
        actions = actions[:1]
        files["ratings.csv"] = "action_id;criterion;score;comment\nA-001;relevance;4;\n"
        files["recommendations.csv"] = "rec_id,scope,priority,addressee,text_fr,text_en\n"
        files["countries.csv"] = "country,region,name_fr,name_en\nNGA,west-africa,,\n"
        files["regions.csv"] = "region,name_fr,name_en\nwest-africa,Afrique de l'Ouest et centrale,West and Central Africa\n"
        files["indicators.csv"] = "country,indicator,year,value,source\n"
        files = {k: v for k, v in files.items() if not k.startswith("narrative/") or k.endswith("synthesis.md")}
    elif case == "many":
        # every country of the world in one region, and 60 regions
        regions = [{"region": "world", "name_fr": "Monde entier", "name_en": "Whole world"}]
        regions += [{"region": f"r{i:02d}", "name_fr": f"Région {i:02d}", "name_en": f"Region {i:02d}"}
                    for i in range(1, 60)]
        codes = sorted(ALPHA3_TO_ALPHA2)
        countries = [{"country": c, "region": "world", "name_fr": "", "name_en": ""} for c in codes]
        actions = []
        for i, c in enumerate(codes):
            actions.append({"action_id": f"A-{i:04d}", "title": f"Action {i}", "country": c, "region": "world",
                            "channel": "bilateral", "instrument": "FSP", "partner": f"Partner {i % 40}",
                            "pillars": "prevention", "year": str(2007 + i % 5),
                            "committed": str(1000 * (i + 1)), "disbursed": ""})
        for j, r in enumerate(regions[1:]):
            actions.append({"action_id": f"B-{j:04d}", "title": f"Regional action {j}", "country": "",
                            "region": r["region"], "channel": "regional", "instrument": "", "partner": "IOM",
                            "pillars": "protection", "year": str(2007 + j % 5), "committed": str(50_000 * (j + 1)),
                            "disbursed": ""})
        files["regions.csv"] = _csv(["region", "name_fr", "name_en"], regions)
        files["countries.csv"] = _csv(["country", "region", "name_fr", "name_en"], countries)
        files["ratings.csv"] = "action_id;criterion;score;comment\n"
        files["recommendations.csv"] = "rec_id,scope,priority,addressee,text_fr,text_en\n"
        files["indicators.csv"] = "country,indicator,year,value,source\n"
        files = {k: v for k, v in files.items() if not k.startswith("narrative/") or k.endswith("synthesis.md")}
    elif case == "long-narrative":
        body = "\n\n".join(f"## Partie {i}\n\n{NARRATIVE_PARAGRAPH}\n\n{NARRATIVE_PARAGRAPH}" for i in range(120))
        files["narrative/fr/countries/NGA.md"] = body
    else:
        raise ValueError(case)
    files["actions.csv"] = _csv(_ACTION_FIELDS, actions)
    return files


# ------------------------------------------------------------------------------------------- generated datasets

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèàçôÉ"
_CRITERIA = ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
_PILLARS = ("prevention", "protection", "prosecution", "partnership")


@dataclass(frozen=True)
class Generated:
    """A generated dataset, the publications to check, and those whose every amount is unreported."""

    files: dict[str, str]
    keys: tuple[str, ...]
    unreported: frozenset[str]  # keys of publications whose scope has no reported amount

    def __repr__(self) -> str:  # what Hypothesis prints for a failing example: enough to make it a fixed case
        return f"Generated(keys={self.keys!r}, unreported={set(self.unreported)!r}, files={self.files!r})"


@st.composite
def _name(draw, suffix: str = "") -> str:
    """A name: a few words, a long text of up to 120 characters, or one unbreakable word of up to 120."""
    word = st.text(_LETTERS, min_size=1, max_size=12)
    kind = draw(st.sampled_from(("words", "long", "unbreakable")))
    if kind == "words":
        name = " ".join(draw(st.lists(word, min_size=1, max_size=3)))
    elif kind == "long":
        name = " ".join(draw(st.lists(word, min_size=8, max_size=30)))
    else:
        name = draw(st.text(_LETTERS, min_size=20, max_size=120))
    return name[: 120 - len(suffix)].strip() + suffix


_AMOUNT = st.builds(lambda e, m: f"{min(1e12, max(0.01, round(m * 10.0 ** e, 2))):.2f}",
                    st.integers(-2, 11), st.floats(1, 10))


@st.composite
def generated(draw) -> Generated:
    """Hypothesis strategy: a valid dataset made of extremes, and one or two briefs (rarely the synthesis) to check."""
    files = dict(TINY_DATASET)
    n_regions = draw(st.integers(1, 6))
    regions = [f"g{i}" for i in range(n_regions)]
    countries = draw(st.lists(st.sampled_from(sorted(ALPHA3_TO_ALPHA2)), min_size=1, max_size=12, unique=True))
    country_region = {c: regions[draw(st.integers(0, n_regions - 1))] for c in countries}
    files["regions.csv"] = _csv(["region", "name_fr", "name_en"], [
        {"region": r, "name_fr": draw(_name(f" {i}")), "name_en": draw(_name(f" {i}"))} for i, r in enumerate(regions)])
    files["countries.csv"] = _csv(["country", "region", "name_fr", "name_en"], [
        {"country": c, "region": country_region[c], "name_fr": draw(st.one_of(st.just(""), _name())),
         "name_en": draw(st.one_of(st.just(""), _name()))} for c in countries])
    all_unreported = draw(st.booleans())
    actions = []
    for i in range(draw(st.integers(1, 20))):
        target = draw(st.integers(-1, len(countries) - 1))
        country = countries[target] if target >= 0 else ""
        region = country_region[country] if country else regions[draw(st.integers(0, n_regions - 1))]
        channels = ("bilateral", "regional", "multilateral") if country else ("regional", "multilateral")
        actions.append({"action_id": f"G-{i:03d}", "title": draw(_name()), "country": country, "region": region,
                        "channel": draw(st.sampled_from(channels)), "instrument": "",
                        "partner": draw(_name()), "pillars": draw(st.sampled_from(_PILLARS)),
                        "year": str(draw(st.integers(2007, 2011))),
                        "committed": "" if all_unreported else draw(st.one_of(st.just(""), _AMOUNT)),
                        "disbursed": ""})
    files["actions.csv"] = _csv(_ACTION_FIELDS, actions)
    ratings = "action_id;criterion;score;comment\n"
    if draw(st.booleans()):
        for a in actions:
            for criterion in draw(st.lists(st.sampled_from(_CRITERIA), max_size=6, unique=True)):
                comment = draw(st.one_of(st.just(""), _name()))
                ratings += f"{a['action_id']};{criterion};{draw(st.integers(1, 4))};{comment}\n"
    files["ratings.csv"] = ratings
    first = actions[0]
    recs = []
    if draw(st.booleans()):
        for i, scope in enumerate(("global", first["region"], first["country"] or "global")):
            recs.append({"rec_id": f"R{i + 1}", "scope": scope, "priority": draw(st.sampled_from(("high", "low"))),
                         "addressee": draw(_name()), "text_fr": draw(_name()), "text_en": draw(_name())})
    files["recommendations.csv"] = _csv(["rec_id", "scope", "priority", "addressee", "text_fr", "text_en"], recs)
    files["indicators.csv"] = "country,indicator,year,value,source\n"
    files = {k: v for k, v in files.items() if not k.startswith("narrative/")}
    paragraphs = draw(st.integers(0, 6))  # 0: no narrative; 6: about a page
    if paragraphs:
        text = "\n\n".join([NARRATIVE_PARAGRAPH] * paragraphs) + "\n"
        for lang in ("fr", "en"):
            files[f"narrative/{lang}/synthesis.md"] = f"## Contexte\n\n{text}"
            files[f"narrative/{lang}/regions/{first['region']}.md"] = text
            if first["country"]:
                files[f"narrative/{lang}/countries/{first['country']}.md"] = text
    # The briefs of the first action's region and country (cheap), the synthesis in one example in ten.
    keys = [f"{draw(st.sampled_from(('fr', 'en')))}/regions/{first['region']}"]
    if first["country"]:
        keys.append(f"{draw(st.sampled_from(('fr', 'en')))}/countries/{first['country']}")
    if draw(st.integers(0, 9)) == 5:  # not a bound: Hypothesis draws bounds (0, 9) far more often than 1 in 10
        keys.append(f"{draw(st.sampled_from(('fr', 'en')))}/synthesis")

    def unreported(key: str) -> bool:
        scope = key.rsplit("/", 1)[-1]
        mine = [a for a in actions if key.endswith("/synthesis") or scope in (a["region"], a["country"])]
        return all(not a["committed"] for a in mine)

    return Generated(files, tuple(keys), frozenset(k for k in keys if unreported(k)))
