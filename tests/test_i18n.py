import datetime as dt
import gettext
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from reportgen import i18n
from reportgen.errors import ReportgenError
from reportgen.i18n import (
    MISSING,
    Formatter,
    check_catalog,
    languages,
    missing_translations,
    translations,
)

NB, NNB = "\u00a0", "\u202f"
ROOT = Path(__file__).resolve().parents[1]




# --- money, numbers, percentages -----------------------------------------------------------------------------------


def test_money_fr(fr):
    assert fr.money(1234567) == f"1{NNB}234{NNB}567{NB}€"
    assert fr.money(1234567.4) == f"1{NNB}234{NNB}567{NB}€"  # rounded to the unit
    assert fr.money(0.5) == f"1{NB}€"  # half away from zero
    assert fr.money(2.5) == f"3{NB}€"
    assert fr.money(-0.4) == f"0{NB}€"  # never "-0 €"
    assert fr.money(999) == f"999{NB}€"


def test_money_en(en):
    assert en.money(1234567) == "€1,234,567"
    assert en.money(1234567.6) == "€1,234,568"
    assert Formatter("en", "USD").money(1500) == "$1,500"


def test_money_other_currencies_have_no_decimals_either():
    assert Formatter("fr", "USD").money(12.3) == f"12{NB}$US"
    assert Formatter("en", "GBP").money(12.5) == "£13"


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, math.nan])
def test_missing_values(fr, en, missing):
    for f in (fr, en):
        assert f.money(missing) == MISSING == "–"
        assert f.percent(missing) == MISSING
        assert f.number(missing) == MISSING
        assert f.money_compact(missing) == MISSING


def test_percent(fr, en):
    assert fr.percent(0.125) == f"12,5{NB}%"  # CLDR's French percent pattern has U+00A0
    assert en.percent(0.125) == "12.5%"
    assert fr.percent(0.12, 0) == f"12{NB}%"
    assert en.percent(0.12, 0) == "12%"
    assert fr.percent(0.12) == f"12,0{NB}%"  # fixed decimals: columns line up
    assert fr.percent(1) == f"100,0{NB}%"
    assert fr.percent(0.12345, 2) == f"12,35{NB}%"
    assert en.percent(0.0005) == "0.1%"  # half away from zero


def test_number(fr, en):
    assert fr.number(1234567) == f"1{NNB}234{NNB}567"
    assert en.number(1234567) == "1,234,567"
    assert fr.number(1234.56, 1) == f"1{NNB}234,6"
    assert en.number(2.5, 1) == "2.5"
    assert fr.number(3, 1) == "3,0"
    assert fr.number(2.45, 1) == "2,5"  # no binary rounding surprise


def test_years_are_never_grouped(fr, en):
    assert fr.year(2014) == en.year(2014.0) == "2014"
    assert fr.year("2014") == "2014"
    assert Formatter.year(12345) == "12345"


def test_compact_money_for_chart_axes(fr, en):
    assert fr.money_compact(1_500_000) == f"1,5{NB}M{NB}€"
    assert fr.money_compact(250_000) == f"250{NB}k{NB}€"
    assert en.money_compact(1_500_000) == "€1.5M"
    assert en.money_compact(0) == "€0"


# --- dates and names ----------------------------------------------------------------------------------------------


def test_month(fr, en):
    assert fr.month("2014-03") == "mars 2014"
    assert en.month("2014-03") == "March 2014"
    assert fr.month("2014-08-15") == "août 2014"
    assert fr.month("2011-02") == "février 2011"


@pytest.mark.parametrize("bad", ["2014", "2014-13", "March 2014", ""])
def test_month_rejects_what_is_not_a_month(fr, bad):
    with pytest.raises(ReportgenError, match="YYYY-MM"):
        fr.month(bad)


def test_day(fr, en):
    assert fr.day("2014-03-01") == "1er mars 2014"
    assert fr.day(dt.date(2014, 3, 12)) == "12 mars 2014"
    assert fr.day("2014-03-11") == "11 mars 2014"  # not "11er"
    assert en.day("2014-03-01") == "March 1, 2014"
    with pytest.raises(ReportgenError, match="YYYY-MM-DD"):
        fr.day("1/3/2014")


def test_country(fr, en):
    assert fr.country("CIV") == "Côte d’Ivoire"
    assert en.country("DEU") == "Germany"
    assert fr.country("DEU") == "Allemagne"
    assert fr.country("XKX") == en.country("XKX") == "Kosovo"
    assert fr.country("MKD") == "Macédoine du Nord"
    with pytest.raises(ReportgenError, match="'ZZZ'"):
        fr.country("ZZZ")


def test_formatter_rejects_unknown_language_or_currency():
    with pytest.raises(ReportgenError, match="currency 'EURO'"):
        Formatter("fr", "EURO")
    with pytest.raises(ReportgenError, match="language"):
        Formatter("xx-not-a-locale", "EUR")


# --- catalogs -----------------------------------------------------------------------------------------------------


def test_catalogs_exist_for_both_languages():
    assert {"fr", "en"} <= set(languages())


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_translations_load_from_po(lang):
    t = translations(lang)
    assert isinstance(t, gettext.GNUTranslations)
    assert t.gettext("Contents") == {"fr": "Sommaire", "en": "Contents"}[lang]
    assert translations(lang) is t  # compiled once per process


def test_french_plural_forms():
    t = translations("fr")
    assert t.ngettext("%(num)s page", "%(num)s pages", 0) == "%(num)s page"  # French singular for 0 and 1
    assert t.ngettext("%(num)s page", "%(num)s pages", 2) == "%(num)s pages"


def test_no_compiled_catalog_is_committed():
    assert not list((ROOT / "src/reportgen/locale").rglob("*.mo"))


def test_unknown_language_has_no_catalog():
    with pytest.raises(ReportgenError, match="no message catalog for language 'de'"):
        translations("de")
    with pytest.raises(ReportgenError):
        translations("../fr")


def _catalog_with(*messages) -> Catalog:
    cat = Catalog(locale="fr")
    for msgid, msgstr, flags in messages:
        cat.add(msgid, msgstr, flags=flags)
    return cat


def test_missing_translations_names_each_problem():
    cat = _catalog_with(
        ("Key figures", "Chiffres clés", ()),
        ("Contents", "", ()),
        ("Rank", "Rang", ("fuzzy",)),
        (("%(n)s page", "%(n)s pages"), ("%(n)s page", ""), ("python-format",)),
        ("Total: %(total)s", "Total : %(montant)s", ("python-format",)),
    )
    problems = missing_translations(cat)
    text = "\n".join(problems)
    assert "'Contents' (no translation)" in text
    assert "'Rank' (marked fuzzy" in text
    assert "'%(n)s page' (no translation)" in text
    assert "'Total: %(total)s'" in text  # placeholders differ
    assert "Key figures" not in text


HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'


@pytest.fixture
def xx_catalog(tmp_path, monkeypatch):
    """The .po file of a made-up language ``xx`` in a folder of its own, which i18n reads instead of its own; the
    user's cache is a folder of the test's too."""
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path / "cache"))
    locale = tmp_path / "locale"
    po = locale / "xx" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setattr(i18n, "catalog_path", lambda lang: locale / lang / "LC_MESSAGES" / "messages.po")
    return po


def test_check_catalog_fails_with_every_msgid(xx_catalog):
    xx_catalog.write_text(
        HEADER + 'msgid "Contents"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Rank"\nmsgstr "Rang"\n\n'
        'msgid "Year"\nmsgstr "Année"\n',
        encoding="utf-8",
    )
    with pytest.raises(ReportgenError) as err:
        check_catalog("xx")
    message = str(err.value)
    assert "2 message(s)" in message and "'Contents'" in message and "'Rank'" in message
    assert "Year" not in message
    with pytest.raises(ReportgenError, match="'Contents'"):
        translations("xx")


def test_an_edited_catalog_is_read_again(xx_catalog):
    po, header = xx_catalog, HEADER
    po.write_text(header + 'msgid "Year"\nmsgstr "Année"\n', encoding="utf-8")
    assert translations("xx").gettext("Year") == "Année"
    assert translations("xx") is translations("xx")
    po.write_text(header + 'msgid "Year"\nmsgstr "An"\n', encoding="utf-8")
    os.utime(po, ns=(po.stat().st_atime_ns, po.stat().st_mtime_ns + 1_000_000))
    assert translations("xx").gettext("Year") == "An"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_catalog_is_complete(lang):
    check_catalog(lang)


# --- the guard: every message of the templates and the code is translated ------------------------------------------


def _extracted_messages() -> dict[tuple[str, str | None], str]:
    """(msgid, context) -> "file:line" for every message babel.cfg extracts from templates/ and src/."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[tuple[str, str | None], str] = {}

    def only_sources(path: str) -> bool:
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        return rel == "." or rel.split("/")[0] in ("src", "templates")

    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS, directory_filter=only_sources
    ):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def test_extraction_finds_template_and_code_messages():
    found = _extracted_messages()
    assert found, "babel.cfg extracted nothing"
    assert any(where.startswith("src/") for where in found.values())


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_extracted_message_is_translated(lang):
    """Fails when a template or the code uses a message the catalog does not translate (see docs/translations.md)."""
    catalog = i18n.read_catalog(lang)
    missing = []
    for (msgid, context), where in sorted(_extracted_messages().items(), key=lambda kv: kv[1]):
        message = catalog.get(msgid, context=context)
        strings = () if message is None else (
            message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        )
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, (
        f"{len(missing)} message(s) have no {lang!r} translation in src/reportgen/locale/{lang}/LC_MESSAGES/"
        f"messages.po; run the commands of docs/translations.md, then translate:\n  " + "\n  ".join(missing)
    )


def test_a_checked_catalog_is_kept_compiled_and_an_edited_one_is_checked_again(xx_catalog, tmp_path, monkeypatch):
    """The compiled catalog is kept in the user's cache, named by the .po file's content: a process that finds it
    neither reads nor checks the .po file again; an edit (even one that breaks the catalog) never meets a stale
    entry."""
    po, header = xx_catalog, HEADER
    po.write_text(header + 'msgid "Year"\nmsgstr "Année"\n', encoding="utf-8")
    assert i18n._compiled_catalog("xx") and i18n._translations("xx", 1).gettext("Year") == "Année"
    (entry,) = (tmp_path / "cache" / "catalogs" / "xx").glob("*.mo")

    reads = []
    real_read = i18n.read_catalog
    monkeypatch.setattr(i18n, "read_catalog", lambda lang: reads.append(lang) or real_read(lang))
    assert i18n._translations("xx", 2).gettext("Year") == "Année"  # another process, as it were
    assert reads == []
    po.write_text(header + 'msgid "Year"\nmsgstr ""\n', encoding="utf-8")  # untranslated now
    with pytest.raises(ReportgenError, match="'Year'"):
        i18n._translations("xx", 3)
    assert reads == ["xx"] and entry.exists()  # checked, failed, nothing cached for it
    po.write_text(header + 'msgid "Year"\nmsgstr "An"\n', encoding="utf-8")
    assert i18n._translations("xx", 4).gettext("Year") == "An"
    assert [p.name for p in entry.parent.glob("*.mo")] != [entry.name]  # the old entry made way for the new one
    (new_entry,) = entry.parent.glob("*.mo")
    new_entry.write_bytes(new_entry.read_bytes()[:30])  # damaged (cut short): compiled again, not an error
    assert i18n._translations("xx", 5).gettext("Year") == "An"
