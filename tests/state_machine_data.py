"""The datasets of the build-state tests (tests/test_state_machine.py): the tiny dataset cut down to one region and
one country so that a clean build renders six publications (fr + en), and its variants."""

from __future__ import annotations

from datasets import TINY_DATASET

KEEP_ACTIONS = ("action_id,", "A-001,", "A-008,")
#: A country added to the data: Côte d'Ivoire, one action.
ADDED_ACTION = "A-005,Sensibilisation dans les écoles,CIV,west-africa,bilateral,,ONG Enfance,prevention,2011,40000,\n"


def _keep(text: str, prefixes: tuple[str, ...]) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line.startswith(prefixes))


def micro() -> dict[str, str]:
    files = dict(TINY_DATASET)
    files["actions.csv"] = _keep(files["actions.csv"], KEEP_ACTIONS)
    files["ratings.csv"] = _keep(files["ratings.csv"], ("action_id;", "A-001;", "A-008;"))
    files["recommendations.csv"] = _keep(files["recommendations.csv"], ("rec_id,", "R1,", "R2,", "R4,", "R5,"))
    files["indicators.csv"] = _keep(files["indicators.csv"], ("country,", "NGA,"))
    for rel in [k for k in files if "/regions/see" in k]:
        del files[rel]
    return files


def dataset(content: str) -> dict[str, str]:
    """``base``; ``plus`` (a country added); ``broken`` (an amount that is not a number); ``other`` (another
    evaluation, kept in another folder)."""
    files = micro()
    if content == "plus":
        files["actions.csv"] += ADDED_ACTION
    elif content == "broken":
        files["actions.csv"] = files["actions.csv"].replace("2008,150 000,", "2008,12,5O0,")
    elif content == "other":
        files["evaluation.yaml"] = files["evaluation.yaml"].replace('id: "128"', 'id: "129"').replace(
            "Rapport de synthèse", "Rapport final").replace("Synthesis report", "Final report")
        files["actions.csv"] = files["actions.csv"].replace("2011,200000,50000", "2011,230000,90000")
        files["narrative/fr/countries/NGA.md"] = "Le Nigeria reste un pays d'origine majeur.\n"
    elif content != "base":
        raise ValueError(content)
    return files
