"""The one Jinja environment: autoescape, strict undefined, strict gettext, filters, French finalize, overrides."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from markupsafe import Markup

from reportgen.errors import ReportgenError
from reportgen.render import KIND_TEMPLATE, make_environment, render_template
from reportgen.settings import templates_root
from reportgen.typography import NBSP, NNBSP, Verbatim


@pytest.fixture(scope="module")
def fr():
    return make_environment("fr", template_dirs=[templates_root()])


@pytest.fixture(scope="module")
def en():
    return make_environment("en", template_dirs=[templates_root()])


def render(env, source: str, **context) -> str:
    return env.from_string(source).render(currency="EUR", **context)


# --- the environment -------------------------------------------------------------------------------------------


def test_templates_root_has_every_template():
    root = templates_root()
    for name in KIND_TEMPLATE.values():
        assert (root / name).is_file(), name
    assert (root / "css" / "common.css").is_file()


def test_autoescape_is_on_for_every_template(en):
    assert render(en, "{{ t }}", t="<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render(en, '<a title="{{ t }}">', t='" onmouseover="x') == '<a title="&#34; onmouseover=&#34;x">'
    # Even a template whose name does not end in .html or .j2
    assert en.autoescape is True


def test_data_is_never_compiled_as_a_template(en, fr):
    for env in (en, fr):
        assert render(env, "{{ t }}", t="{{ 7*7 }} {% if 1 %}x{% endif %}") == "{{ 7*7 }} {% if 1 %}x{% endif %}"


def test_strict_undefined(en):
    with pytest.raises(jinja2.UndefinedError):
        render(en, "{{ missing }}")
    with pytest.raises(jinja2.UndefinedError):
        render(en, "{{ d.missing }}", d={})


def test_a_missing_variable_fails_the_render_with_a_clear_message(en):
    template = en.from_string("{{ evaluation.title }} {{ nowhere }}")
    with pytest.raises(ReportgenError, match="nowhere"):
        render_template(template, {"evaluation": {"title": "x"}}, what="fr/synthesis")


def test_unknown_language_is_refused():
    with pytest.raises(ReportgenError, match="de"):
        make_environment("de", template_dirs=[templates_root()])


def test_gettext_translates_and_escapes_its_variables(fr, en):
    assert render(en, '{{ _("Contents") }}') == "Contents"
    assert render(fr, '{{ _("Contents") }}') == "Sommaire"
    out = render(en, '{{ _("Regional brief: %(region)s", region=r) }}', r="<b>Asia</b>")
    assert out == "Regional brief: &lt;b&gt;Asia&lt;/b&gt;"


def test_a_message_missing_from_the_french_catalog_fails_the_render(fr, en):
    with pytest.raises(ReportgenError, match="no translation.*not a message of the catalog"):
        render(fr, '{{ _("not a message of the catalog") }}')
    # English is the language of the message ids: the id itself is the text.
    assert render(en, '{{ _("not a message of the catalog") }}') == "not a message of the catalog"


# --- filters: every number goes through them ----------------------------------------------------------------------


def test_money_percent_number_per_language(fr, en):
    assert render(fr, "{{ 1234567|money }}") == f"1{NNBSP}234{NNBSP}567{NBSP}€"
    assert render(en, "{{ 1234567|money }}") == "€1,234,567"
    assert render(fr, "{{ 0.125|percent }}") == f"12,5{NBSP}%"
    assert render(en, "{{ 0.125|percent }}") == "12.5%"
    assert render(en, "{{ 0.12|percent(0) }}") == "12%"
    assert render(fr, "{{ 1234.5|number(1) }}") == f"1{NNBSP}234,5"
    assert render(en, "{{ 1234|number }}") == "1,234"


def test_missing_values_print_a_dash(en):
    assert render(en, "{{ none|money }} {{ none|percent }} {{ none|number }} {{ none|year }}") == "– – – –"


def test_currency_comes_from_the_context(en):
    assert en.from_string("{{ 1500|money }}").render(currency="USD") == "$1,500"


def test_years_page_numbers_and_codes_are_never_grouped(fr, en):
    for env in (fr, en):
        assert render(env, "{{ 2014|year }} {{ 2014.0|year }}") == "2014 2014"


def test_months_and_dates(fr, en):
    assert render(fr, '{{ "2014-03"|month }}') == "mars 2014"
    assert render(en, '{{ "2014-03"|month }}') == "March 2014"
    assert render(fr, '{{ "2014-03-01"|date }}') == f"1er{NBSP}mars 2014"
    assert render(en, '{{ "2014-03"|date }}') == "March 2014"


def test_filesize(fr, en):
    assert render(en, "{{ 999|filesize }}") == f"999{NBSP}bytes"
    assert render(en, "{{ 1234567|filesize }}") == f"1.2{NBSP}MB"
    assert render(fr, "{{ 1234567|filesize }}") == f"1,2{NBSP}Mo"


# --- French typography, applied once in finalize -------------------------------------------------------------------


def test_french_finalize_applies_to_data_text(fr, en):
    text = "Pourquoi ? Attention : « traite » n°128!"
    out = render(fr, "{{ t }}", t=text)
    assert out == f"Pourquoi{NNBSP}? Attention{NBSP}: «{NBSP}traite{NBSP}» n°{NBSP}128{NNBSP}!"
    assert render(en, "{{ t }}", t=text) == text


def test_french_finalize_applies_to_translated_messages_and_their_variables(fr):
    # The catalog says "Fiche régionale : %(region)s" (an ordinary space): the filter makes it a no-break one.
    out = render(fr, '{{ _("Regional brief: %(region)s", region=r) }}', r="Asie ?")
    assert out == f"Fiche régionale{NBSP}: Asie{NNBSP}?"


def test_french_finalize_applies_to_markup_text_only(fr):
    html = Markup('<p title="a : b">Quoi ? <a href="https://x.org/a?b=c">lien</a></p>')
    out = render(fr, "{{ h }}", h=html)
    assert out == f'<p title="a : b">Quoi{NNBSP}? <a href="https://x.org/a?b=c">lien</a></p>'


def test_french_finalize_is_applied_once_and_is_idempotent(fr):
    once = render(fr, "{{ t }}", t="Note : oui !")
    assert render(fr, "{{ t }}", t=once) == once


def test_verbatim_strings_are_left_alone(fr):
    uri = Verbatim("data:image/svg+xml;base64,PHN2Zz4 ; x")
    assert render(fr, "{{ u }}", u=uri) == "data:image/svg+xml;base64,PHN2Zz4 ; x"
    assert render(fr, "{{ u|verbatim }}", u="a ; b") == "a ; b"


# --- template folders and dependencies -----------------------------------------------------------------------------


def test_the_override_folder_wins(tmp_path: Path):
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "site_footer.html.j2").write_text("<footer>OVERRIDDEN {{ series }}</footer>\n")
    env = make_environment("en", template_dirs=[tmp_path, templates_root()])
    template = env.get_template("partials/site_footer.html.j2")
    assert template.render(series="Evaluation no. 1").strip() == "<footer>OVERRIDDEN Evaluation no. 1</footer>"
    # Templates the override folder does not have still come from templates/
    assert Path(env.get_template("base.html.j2").filename).parent == templates_root()


def test_share_of_a_key_figure(fr, en):
    assert render(en, "{{ 0.0004|share }} {{ 0.0|share }} {{ 0.071|share }}") == "&lt; 0.1% 0.0% 7.1%"
    assert render(fr, "{{ 0.0004|share }}") == f"&lt; 0,1{NBSP}%"


def test_ucfirst_keeps_the_rest_of_the_text(en):
    assert render(en, '{{ "development assistance (OECD)"|ucfirst }}') == "Development assistance (OECD)"
    assert render(en, '{{ t|ucfirst }}', t="<b>") == "&lt;b&gt;"


def test_a_table_printing_an_amount_too_long_for_fixed_columns_is_laid_out_from_content():
    """Amounts up to TABLE_AMOUNT_CHARS characters keep the templates' fixed column widths (fast); a table that
    prints a longer one is marked ``wide-amounts`` (common.css: table-layout auto in print): only that table, not
    the page's others, and not the next page's."""
    from reportgen.i18n import Formatter
    from reportgen.render import TABLE_AMOUNT_CHARS

    env = make_environment("fr", template_dirs=[templates_root()])
    page = env.from_string(
        '<body class="country"><p>Total : {{ total|money }}</p>'
        '{% for amounts in tables %}<table class="data"><caption>{{ loop.index }}</caption>'
        '{% for a in amounts %}<tr><td>{{ a|money }}</td></tr>{% endfor %}</table>{% endfor %}'
        '<table><tr><td>{{ total|money }}</td></tr></table></body>')

    def marked(total, *tables):
        html = render_template(page, {"tables": tables, "total": total, "currency": "EUR"}, what="test")
        assert re.search(r'<body class="([^"]*)"', html).group(1) == "country"
        return [bool(re.search(r'class="[^"]*wide-amounts', t)) for t in re.findall(r"<table[^>]*>", html)]

    assert len(Formatter("fr", "EUR").money(999_999_999)) == TABLE_AMOUNT_CHARS  # 999 999 999 €: nine digits
    assert marked(5, [999_999_999, 12.5, None], [3]) == [False, False, False]
    assert marked(5, [12], [1_000_000_000, 4], [7]) == [False, True, False, False]
    # a table without a class attribute gets one; a wide amount in a sentence only marks no table
    assert marked(1_000_000_000, [1], [2]) == [False, False, True]
    assert marked(5, [5]) == [False, False]  # the next page starts from nothing
    en = make_environment("en", template_dirs=[templates_root()])
    html = render_template(en.from_string('<table class="data"><tr><td>{{ a|money }}</td></tr></table>'),
                           {"a": 1_234_567_890, "currency": "USD"}, what="test")
    assert '<table class="wide-amounts data">' in html and "$1,234,567,890" in html


# --- compiled templates kept between processes -----------------------------------------------------------------


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    from reportgen import render as render_module

    folder = tmp_path / "cache"
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(folder))
    render_module.template_bytecode_cache.cache_clear()
    yield folder
    render_module.template_bytecode_cache.cache_clear()


def test_a_compiled_template_is_loaded_from_the_cache_and_compiled_again_when_it_changes(cache_dir, tmp_path,
                                                                                        monkeypatch):
    override = tmp_path / "override"
    override.mkdir()
    page = override / "page.html.j2"
    page.write_text("<p>{{ _('Country') }}: {{ name }}</p>", encoding="utf-8")
    first = make_environment("fr", template_dirs=[override, templates_root()])
    assert first.get_template("page.html.j2").render(name="Niger") == "<p>Pays: Niger</p>"
    entries = list(cache_dir.rglob("*.cache"))
    assert len(entries) == 1

    compiled = []
    real_compile = jinja2.Environment.compile

    def counting_compile(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return real_compile(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    # A new environment (as in another process) loads the compiled code: nothing is compiled.
    second = make_environment("fr", template_dirs=[override, templates_root()])
    assert second.get_template("page.html.j2").render(name="Niger") == "<p>Pays: Niger</p>"
    assert compiled == []
    # A changed template is compiled again, never served stale.
    page.write_text("<p>{{ name }}, {{ _('Country') | lower }}</p>", encoding="utf-8")
    third = make_environment("fr", template_dirs=[override, templates_root()])
    assert third.get_template("page.html.j2").render(name="Niger") == "<p>Niger, pays</p>"
    assert compiled == ["page.html.j2"]


def test_each_language_has_its_own_cache_folder(cache_dir):
    """The compiled code depends on the environment (French has a typography ``finalize``, English too but another
    one): two configurations never share an entry."""
    from reportgen.render import template_bytecode_cache

    assert template_bytecode_cache("fr").directory != template_bytecode_cache("en").directory
    assert Path(template_bytecode_cache("fr").directory).parent == cache_dir / "templates"


def test_no_cache_when_it_is_turned_off_or_cannot_be_written(tmp_path, monkeypatch):
    from reportgen import render as render_module

    monkeypatch.setenv("REPORTGEN_CACHE_DIR", "")
    render_module.template_bytecode_cache.cache_clear()
    assert render_module.template_bytecode_cache("en") is None
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(blocker))
    render_module.template_bytecode_cache.cache_clear()
    try:
        assert render_module.template_bytecode_cache("en") is None
        env = make_environment("en", template_dirs=[templates_root()])  # still renders, compiling as before
        assert env.from_string("{{ 1 | number }}").render() == "1"
    finally:
        render_module.template_bytecode_cache.cache_clear()


def test_a_damaged_cache_entry_is_compiled_instead(cache_dir, tmp_path):
    override = tmp_path / "override"
    override.mkdir()
    (override / "page.html.j2").write_text("<p>{{ name }}</p>", encoding="utf-8")
    make_environment("en", template_dirs=[override]).get_template("page.html.j2")
    (entry,) = cache_dir.rglob("*.cache")
    entry.write_bytes(entry.read_bytes()[:40])  # cut short (a full disk, a crash)
    env = make_environment("en", template_dirs=[override])
    assert env.get_template("page.html.j2").render(name="Niger") == "<p>Niger</p>"
