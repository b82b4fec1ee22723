"""The validation page says every problem in its own language (issue 15): French messages with French typography,
values quoted from the data left as they are; the command line and validation.json stay English."""

from __future__ import annotations

import html
import json
import pickle
import re

import pytest
from typocheck import french_violations

from reportgen.errors import Msg, Number, Problem
from reportgen.fields import both, either
from reportgen.i18n import gettext_for
from reportgen.iso3166 import describe
from reportgen.review import message_html, render_validation_page, validation_json
from reportgen.validate import validate_dataset


def _set(text: str, row: int, column: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.fixture
def problems(tiny_dataset_files, write_dataset, tmp_path):
    """Problems of several kinds: a bad number, an unknown country with a hint, a bad year, a missing required
    column, and the warning of an action without amount."""
    files = tiny_dataset_files
    actions = files["actions.csv"]
    assert isinstance(actions, str) and "," in actions.splitlines()[0]
    actions = _set(actions, 2, "committed", "\"12,5O0\"")
    actions = _set(actions, 3, "country", "NIG")
    actions = _set(actions, 4, "year", "2O10")
    files["actions.csv"] = actions
    lines = files["countries.csv"].splitlines()  # drop the region column of countries.csv
    header = lines[0].split(",")
    at = header.index("region")
    files["countries.csv"] = "\n".join(",".join(c for i, c in enumerate(l.split(",")) if i != at) for l in lines) + "\n"
    data = write_dataset(tmp_path / "data", files)
    result = validate_dataset(data)
    rules = {p.rule for p in result.problems}
    assert {"type", "missing_column", "no_amount"} <= rules, [str(p) for p in result.problems]
    return result.problems, data


def _cells(page: str) -> list[tuple[str, str]]:
    """(lang, inner HTML) of each message cell."""
    return re.findall(r'<td lang="([a-z]+)">(.*?)</td><td><code>', page)


def _visible(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_french_page_says_every_problem_in_french(problems):
    found, data = problems
    page = render_validation_page(found, data, lang="fr")
    cells = _cells(page)
    assert len(cells) == len(found)
    assert {lang for lang, _ in cells} == {"fr"}, cells
    text = "\n".join(_visible(c) for _, c in cells)
    assert "doit être un nombre ≥\u00a00, et non '12,5O0'\u202f; la lettre O est employée à la place d’un zéro" in text
    assert "doit être un nombre entier, et non '2O10'" in text
    assert "doit être un pays de countries.csv, et non 'NIG'\u202f; vouliez-vous dire NGA (Nigeria)\u202f?" in text
    assert ("manque dans la ligne d’en-tête\u00a0: ajoutez une colonne region (région du pays\u00a0: une `region` de "
            "regions)") in text
    assert "n’a pas de montant renseigné" in text
    for english in ("must be", "got ", "did you mean", "is missing", "is empty"):
        assert english not in text
    # French typography on the translated words; the values quoted from the data (in <code>) are left as they are
    words = "\n".join(_visible(re.sub(r"<code>.*?</code>", "X", c)) for _, c in cells)
    assert french_violations(words) == []
    codes = [html.unescape(c) for _, cell in cells for c in re.findall(r"<code>(.*?)</code>", cell)]
    assert "'12,5O0'" in codes and "'2O10'" in codes


def test_country_hint_names_the_country_in_the_page_language(problems):
    found, data = problems
    country = next(p for p in found if p.column == "country")
    fr, lang = message_html(country.message, "fr")
    assert lang == "fr" and "vouliez-vous dire <code>NGA</code> (Nigeria)" in fr, fr
    en, _ = message_html(country.message, "en")
    assert _visible(en) == country.message
    # a name that differs between the languages, and a choice between two countries
    hint = Msg("; did you mean %(suggestion)s?", suggestion=either([describe("DEU"), describe("CIV")]))
    assert hint == "; did you mean DEU (Germany) or CIV (Côte d’Ivoire)?"
    fr, lang = message_html(hint, "fr")
    assert lang == "fr"
    assert _visible(fr) == " ; vouliez-vous dire DEU (Allemagne) ou CIV (Côte d’Ivoire) ?"
    assert "<code>DEU</code> (Allemagne)" in fr


def test_english_page_shows_the_english_messages(problems):
    found, data = problems
    page = render_validation_page(found, data, lang="en")
    cells = _cells(page)
    assert {lang for lang, _ in cells} == {"en"}
    # the page's English typography makes apostrophes between letters typographic; the text is the message
    assert [_visible(c).replace("’", "'") for _, c in cells] == [p.message for p in found]


def test_cli_and_json_stay_english(problems):
    found, _ = problems
    number = next(p for p in found if p.value == "12,5O0")
    assert str(number).endswith("must be a number ≥ 0, got '12,5O0'; the letter O is used where a zero is meant")
    records = json.loads(validation_json(found))
    assert [r["message"] for r in records] == [p.message for p in found]
    assert set(records[0]) == {"file", "row", "column", "value", "rule", "severity", "message"}


def test_a_message_without_translation_stays_english_and_says_so(problems):
    found, data = problems
    plain = Problem("actions.csv", 2, "title", "x", "type", "error", "an English message: nothing to translate")
    unknown = Problem("actions.csv", 3, "title", "x", "type", "error", Msg("an id with no %(what)s", what="entry"))
    page = render_validation_page([plain, unknown], data, lang="fr")
    cells = _cells(page)
    assert [lang for lang, _ in cells] == ["en", "en"]
    assert _visible(cells[0][1]) == "an English message: nothing to translate"  # no French space before ':'
    assert _visible(cells[1][1]) == "an id with no entry"


def test_problems_with_messages_stay_hashable_orderable_picklable(problems):
    found, _ = problems
    assert sorted(found) == sorted(pickle.loads(pickle.dumps(found)))
    copy = pickle.loads(pickle.dumps(found))
    assert [p.message.msgid for p in copy if isinstance(p.message, Msg)] == \
        [p.message.msgid for p in found if isinstance(p.message, Msg)]
    assert len(set(found)) == len(found)


def test_every_msgid_of_the_problems_has_a_french_translation(problems):
    found, _ = problems
    fr = gettext_for("fr")
    for p in found:
        assert isinstance(p.message, Msg), p
        for piece in p.message.pieces():
            assert fr(piece.msgid) != piece.msgid or piece.msgid.startswith("%("), piece.msgid


def test_numbers_in_messages_use_the_page_language_marks():
    message = Msg("is %(size)s bytes, over the limit of %(limit)s bytes; make it smaller", size=Number(1_000_001),
                  limit=Number(1_000_000))
    assert message == "is 1,000,001 bytes, over the limit of 1,000,000 bytes; make it smaller"
    fr, lang = message_html(message, "fr")
    assert lang == "fr"
    assert _visible(fr) == ("fait 1\u202f000\u202f001 octets, au-delà de la limite de 1\u202f000\u202f000 octets ; "
                            "réduisez-le")


def test_column_descriptions_name_the_language_in_french():
    from reportgen.review import _catalog_gettext
    from reportgen.schema import TABLES, FieldDescription

    fr = _catalog_gettext("fr")
    for table in TABLES.values():
        for f in table.fields:
            if not f.per_language:
                continue
            english = FieldDescription(f.description, "en")
            assert "that language" not in english and "English" in english, english
            french = str(FieldDescription(f.description, "en").html(fr, "fr"))
            assert "cette langue" not in french and "en anglais" in french, french


def test_lists_in_messages_read_as_sentences_in_both_languages():
    """Three columns read "a, b and c", in French "a, b et c"; a duplicate combination names "the same values of"
    them in French (not "les mêmes country et indicator et year")."""
    columns = both(["country", "indicator", "year"])
    assert columns == "country, indicator and year"
    assert _visible(message_html(columns, "fr")[0]) == "country, indicator et year"
    assert both(["a"]) == "a" and both([]) == "" and both(["a", "b"]) == "a and b"
    assert either(["NER", "NGA", "TCD"]) == "NER, NGA or TCD"
    duplicate = Msg("another row already has the same %(columns)s; keep one row per combination", columns=columns)
    assert _visible(message_html(duplicate, "fr")[0]) == (
        "une autre ligne a déjà les mêmes valeurs de country, indicator et year ; gardez une seule ligne par "
        "combinaison")
