"""Extreme datasets: the tiny dataset of conftest pushed to the sizes and gaps real evaluations have.

:func:`dataset` returns the files (relative path → text) of one case of :data:`CASES`; the layout tests build them
and check every page of the chosen publications with :func:`reportgen.layout.check`.
"""

from __future__ import annotations

import csv
import io

from datasets import TINY_DATASET

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
