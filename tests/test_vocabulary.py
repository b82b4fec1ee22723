"""The vocabulary evaluation.yaml declares (themes, criteria, scale, channels, funder): each defect gives its exact
problem, the defaults name no funder, the legacy ``pillars`` column keeps its meaning, and damaged text is warned
about."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reportgen.validate import check_evaluation, mojibake_message, validate_dataset
from reportgen.vocabulary import of_funder

BASE = {
    "id": "7", "languages": ["fr", "en"], "title": {"fr": "T", "en": "T"}, "commissioner": {"fr": "C", "en": "C"},
    "evaluator": "E", "published": "2020-01", "period_start": 2015, "period_end": 2019, "currency": "EUR",
}


def problems(extra: dict) -> set[tuple]:
    """(line, key, rule) of each problem of evaluation.yaml = BASE + extra, lines as a YAML file gives them."""
    text = yaml.safe_dump({**BASE, **extra}, allow_unicode=True, sort_keys=False)
    lines: dict[tuple[str, ...], int] = {}
    from reportgen.load import _walk  # the line bookkeeping of the real reader

    _walk(yaml.compose(text), (), lines, [], "evaluation.yaml")
    return {(p.row, p.column, p.rule) for p in check_evaluation(yaml.safe_load(text), lines).problems}


def keys(extra: dict) -> set[tuple]:
    return {(column, rule) for _, column, rule in problems(extra)}


def test_label_missing_for_a_language_is_one_problem_naming_the_key():
    assert keys({"themes": {"health": {"label": {"fr": "Santé"}}}}) == {("themes.health.label.en", "missing_language")}
    assert keys({"criteria": {"relevance": {"label": {"en": "relevance", "fr": "pertinence"},
                                            "definition": {"fr": "…"}}}}) == {
        ("criteria.relevance.definition.en", "missing_language")}
    assert keys({"channels": {"grant": {"label": {"en": "grant"}}}}) == {("channels.grant.label.fr", "missing_language")}
    assert keys({"scale": {"min": 1, "max": 2, "labels": {2: {"fr": "bien"}}}}) == {
        ("scale.labels.2.en", "missing_language")}


def test_problem_has_the_line_of_its_key():
    found = problems({"themes": {"health": {"label": {"fr": "Santé"}}}})
    (line, column, rule), = found
    text = yaml.safe_dump({**BASE, "themes": {"health": {"label": {"fr": "Santé"}}}}, sort_keys=False)
    assert text.splitlines()[line - 1].strip().startswith("label:")


def test_scale_min_greater_than_max():
    assert keys({"scale": {"min": 5, "max": 1}}) == {("scale.max", "range")}
    message = check_evaluation({**BASE, "scale": {"min": 5, "max": 1}}).problems[0].message
    assert "scale.min (5)" in message and "swap" in message


@pytest.mark.parametrize("scale, expected", [
    ({"max": 4}, {("scale.min", "required")}),
    ({"min": "one", "max": 4}, {("scale.min", "type")}),
    ({"min": 1, "max": 4, "labels": {7: {"fr": "x", "en": "x"}}}, {("scale.labels.7", "range")}),
    ({"min": 1, "max": 4, "step": 1}, {("scale.step", "unknown_key")}),
])
def test_scale_defects(scale, expected):
    assert keys({"scale": scale}) == expected


def test_term_defects():
    assert keys({"themes": {"Health Care": {"label": {"fr": "x", "en": "x"}}}}) == {("themes.Health Care", "pattern")}
    assert keys({"criteria": {}}) == {("criteria", "required")}
    assert keys({"criteria": ["relevance"]}) == {("criteria", "type")}
    assert keys({"channels": {"grant": {"label": {"fr": "x", "en": "x"}, "definition": {}}}}) == {
        ("channels.grant.definition", "unknown_key")}
    assert keys({"funder": {"fr": "la France"}}) == {("funder.en", "missing_language")}


def test_valid_vocabulary_becomes_the_evaluations():
    ev = check_evaluation({**BASE, "languages": ["en"], "title": {"en": "T"}, "commissioner": {"en": "C"},
                           "themes": {"water": {"label": {"en": "Water"}}, "health": {"label": {"en": "Health"}}},
                           "criteria": {"added_value": {"label": {"en": "added value"}}},
                           "scale": {"min": 1, "max": 6}, "funder": {"en": "the United States"}}).evaluation
    assert ev is not None
    assert ev.theme_codes == ("water", "health")
    assert ev.criterion_codes == ("added_value",)
    assert ev.scale.scores == (1, 2, 3, 4, 5, 6)
    assert ev.channel_codes == ("bilateral", "regional", "multilateral")
    assert ev.funder == {"en": "the United States"}


def test_defaults_name_no_funder_and_name_the_declared_one():
    ev = check_evaluation(BASE).evaluation
    assert ev.criterion_codes == ("relevance", "coherence", "effectiveness", "efficiency", "impact", "sustainability")
    assert (ev.scale.minimum, ev.scale.maximum) == (1, 4)
    texts = " ".join(t for term in (*ev.criteria, *ev.channels) for t in (*term.label.values(),
                                                                             *term.description.values()))
    for word in ("France", "français", "French", "embass", "ambassade"):
        assert word not in texts
    funded = check_evaluation({**BASE, "funder": {"fr": "le Japon", "en": "Japan"}}).evaluation
    sustainability = funded.criteria[-1].description
    assert "du Japon" in sustainability["fr"] and "of Japan" in sustainability["en"]


@pytest.mark.parametrize("name, expected", [
    ("la France", "de la France"), ("le Japon", "du Japon"), ("les États-Unis", "des États-Unis"),
    ("l'Union européenne", "de l'Union européenne"), ("Irlande", "d’Irlande"), ("Madagascar", "de Madagascar"),
])
def test_of_funder_french_grammar(name, expected):
    assert of_funder(name, "fr") == expected


def test_of_funder_english():
    assert of_funder("the United States", "en") == "of the United States"


# ---------------------------------------------------------------------------------------------------------------
# Whole datasets: tables against the declared vocabulary
# ---------------------------------------------------------------------------------------------------------------

NEW_FORM = {
    "themes": {"water": {"label": {"fr": "eau", "en": "water"}}, "health": {"label": {"fr": "santé", "en": "health"}}},
    "criteria": {"relevance": {"label": {"fr": "pertinence", "en": "relevance"}},
                 "effectivite": {"label": {"fr": "effectivité", "en": "effectivity"}}},
    "scale": {"min": 1, "max": 6},
    "channels": {"grant": {"label": {"fr": "subvention", "en": "grant"}}},
}


def write(folder: Path, files: dict[str, str], evaluation: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(evaluation, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


TABLES = {
    "regions.csv": "region,name_fr,name_en\nsahel,Sahel,Sahel\n",
    "countries.csv": "country,region\nMLI,sahel\nNER,sahel\n",
    "actions.csv": "action_id,title,country,region,channel,partner,themes,year,committed\n"
                   "A1,Puits,MLI,,grant,ONG,water;health,2016,1000\n"
                   "A2,Clinique,NER,,grant,ONG,,2017,2000\n",
    "ratings.csv": "action_id,criterion,score\nA1,effectivite,6\nA2,relevance,1\n",
}


def found(result) -> set[tuple]:
    return {(p.file, p.row, p.column, p.rule) for p in result.problems}


def test_new_form_dataset_is_valid(tmp_path):
    result = validate_dataset(write(tmp_path, TABLES, {**BASE, **NEW_FORM}))
    assert result.ok, result.problems
    assert result.dataset.actions["themes"].tolist()[0] == "water;health"


def test_undeclared_theme_criterion_channel_and_score_outside_the_scale(tmp_path):
    tables = {**TABLES,
              "actions.csv": TABLES["actions.csv"].replace("water;health", "water;sport").replace("A2,Clinique,NER,,grant",
                                                                                                "A2,Clinique,NER,,loan"),
              "ratings.csv": "action_id,criterion,score\nA1,impact,3\nA2,relevance,7\n"}
    result = validate_dataset(write(tmp_path, tables, {**BASE, **NEW_FORM}))
    assert found(result) == {("actions.csv", 2, "themes", "allowed"), ("actions.csv", 3, "channel", "allowed"),
                             ("ratings.csv", 2, "criterion", "allowed"), ("ratings.csv", 3, "score", "range")}
    by_column = {p.column: p.message for p in result.problems}
    assert "'sport'" in by_column["themes"] and "declare 'sport' under 'themes'" in by_column["themes"]
    assert "'loan' is not declared under 'channels'" in by_column["channel"]
    assert "'impact' is not declared under 'criteria'" in by_column["criterion"]
    assert "1 to 6" in by_column["score"] and "'7'" in by_column["score"]


def test_themes_column_without_declared_themes(tmp_path):
    evaluation = {**BASE, **{k: v for k, v in NEW_FORM.items() if k != "themes"}}
    result = validate_dataset(write(tmp_path, TABLES, evaluation))
    assert found(result) == {("actions.csv", 2, "themes", "allowed")}
    assert "declares no themes" in result.problems[0].message


def test_no_themes_and_no_column_means_no_themes(tmp_path):
    tables = {**TABLES, "actions.csv": "action_id,title,country,region,channel,partner,year,committed\n"
                                       "A1,Puits,MLI,,grant,ONG,2016,1000\n"}
    evaluation = {**BASE, **{k: v for k, v in NEW_FORM.items() if k != "themes"}}
    result = validate_dataset(write(tmp_path, {**tables, "ratings.csv": "action_id,criterion,score\n"}, evaluation))
    assert result.ok, result.problems
    assert result.dataset.evaluation.themes == ()


def test_legacy_pillars_column_speaks_the_four_pillars(tmp_path):
    tables = {**TABLES, "actions.csv": "action_id,title,country,region,channel,partner,pillars,year,committed\n"
                                       "A1,Puits,MLI,,bilateral,ONG,Protection;prevention,2016,1000\n"}
    result = validate_dataset(write(tmp_path, {**tables, "ratings.csv": "action_id,criterion,score\nA1,impact,4\n"},
                                    BASE))
    assert result.ok, result.problems
    ev = result.dataset.evaluation
    assert ev.theme_codes == ("prevention", "protection", "prosecution", "partnership")
    assert result.dataset.actions["themes"].tolist() == ["prevention;protection"]


def test_pillars_is_the_old_name_of_declared_themes(tmp_path):
    tables = {**TABLES, "actions.csv": TABLES["actions.csv"].replace(",themes,", ",pillars,")}
    result = validate_dataset(write(tmp_path, tables, {**BASE, **NEW_FORM}))
    assert result.ok, result.problems
    assert result.dataset.actions["themes"].tolist()[0] == "water;health"


def test_themes_and_pillars_together_are_refused(tmp_path):
    tables = {**TABLES, "actions.csv": "action_id,title,country,region,channel,partner,themes,pillars,year,committed\n"
                                       "A1,Puits,MLI,,grant,ONG,water,water,2016,1000\n"}
    result = validate_dataset(write(tmp_path, tables, {**BASE, **NEW_FORM}))
    assert ("actions.csv", 1, "pillars", "duplicate_column") in found(result)


def test_mojibake_and_replacement_characters_are_warned_with_row_and_column(tmp_path):
    tables = {**TABLES, "actions.csv": TABLES["actions.csv"].replace("A1,Puits,MLI,,grant,ONG",
                                                                     "A1,Puits,MLI,,grant,Children\ufffds Center")
              .replace("A2,Clinique", "A2,CafÃ© de lâ€™Ã©cole")}
    result = validate_dataset(write(tmp_path, tables, {**BASE, **NEW_FORM}))
    assert result.ok  # warnings only: the build goes on
    warnings = {(p.file, p.row, p.column, p.rule, p.severity) for p in result.problems}
    assert warnings == {("actions.csv", 2, "partner", "mojibake", "warning"),
                        ("actions.csv", 3, "title", "mojibake", "warning")}
    by_row = {p.row: p.message for p in result.problems}
    assert "U+FFFD" in by_row[2] and "UTF-8" in by_row[2]
    assert "'Café de l’école'" in by_row[3]


def test_mojibake_message_leaves_sound_text_alone():
    assert mojibake_message("Côte d’Ivoire, « Ça »… Ãland") is None


def test_broken_vocabulary_is_reported_once_not_in_every_row(tmp_path):
    evaluation = {**BASE, **NEW_FORM, "themes": {"water": "not a map"}, "criteria": "relevance"}
    result = validate_dataset(write(tmp_path, TABLES, evaluation))
    assert {(p.file, p.column, p.rule) for p in result.problems} == {
        ("evaluation.yaml", "themes.water", "type"), ("evaluation.yaml", "criteria", "type")}
    assert result.dataset is None
