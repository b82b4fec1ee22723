import re

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from tiers import examples

from reportgen.markdown import render_markdown

NB, NNB = "\u00a0", "\u202f"


def soup(text, lang="en", **kw):
    return BeautifulSoup(str(render_markdown(text, lang, **kw)), "html.parser")


def test_returns_markup():
    out = render_markdown("Hello *world*", "en")
    assert isinstance(out, Markup)
    assert out == "<p>Hello <em>world</em></p>\n"
    assert render_markdown("", "fr") == Markup("")
    assert render_markdown(None, "fr") == Markup("")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<style>body { display: none }</style>",
        "<iframe src='https://evil.example'></iframe>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)' onclick='x()'>click</a>",
        "<object data='x.swf'></object><embed src='x'>",
        "<svg onload=alert(1)><use href='#x'/></svg>",
        "<link rel=stylesheet href=//evil.example/x.css>",
        "<div style='background:url(//evil.example)'>x</div>",
        "<!-- comment --><p>raw</p>",
        "text <span onmouseover=alert(1)>inline</span> html",
    ],
)
def test_raw_html_is_text(source):
    for lang in ("en", "fr"):
        doc = soup(source, lang)
        tags = {t.name for t in doc.find_all(True)}
        assert tags <= {"p"}, tags
        assert not any(t.attrs for t in doc.find_all(True))
        assert "<" in doc.get_text()  # the markup shows as text


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "java%0ascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "ftp://example.org/x",
        "page.html",
        "../secret.html",
        "/absolute",
        "#anchor",
        "//evil.example/x",
        "tel:+33123456789",
    ],
)
def test_links_other_than_http_https_mailto_become_text(href):
    doc = soup(f"See [the text]({href}) here.")
    assert doc.find("a") is None
    assert doc.get_text() == "See the text here.\n"


@pytest.mark.parametrize("href", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd"])
def test_autolinks_other_than_http_https_mailto_become_text(href):
    doc = soup(f"<{href}>")
    assert doc.find("a") is None
    assert href in doc.get_text()


def test_allowed_links():
    doc = soup("[a](https://example.org/a?b=1&c=2) [b](http://example.org) [c](mailto:x@example.org) <https://e.org>")
    links = doc.find_all("a")
    assert [a["href"] for a in links] == [
        "https://example.org/a?b=1&c=2", "http://example.org", "mailto:x@example.org", "https://e.org"
    ]
    assert all(a["rel"] == ["noopener", "noreferrer"] for a in links)


def test_link_title_cannot_break_out_of_its_attribute():
    doc = soup('[t](https://x.org "a\\" onmouseover=\\"alert(1)")')
    a = doc.find("a")
    assert set(a.attrs) == {"href", "title", "rel"}


@pytest.mark.parametrize(
    "src", ["assets/map.png", "https://evil.example/x.png", "file:///etc/passwd", "data:image/png;base64,AAAA"]
)
def test_images_become_their_alt_text_by_default(src):
    doc = soup(f"Before ![A *map* of the region]({src}) after")
    assert doc.find("img") is None
    assert doc.get_text() == "Before A map of the region after\n"


def test_asset_images_only_through_resolve_asset():
    asked = []

    def resolve(path):
        asked.append(path)
        return "../assets/data/" + path.removeprefix("assets/") if path != "assets/refused.png" else None

    doc = soup(
        "![ok](assets/map.png) ![sub](assets/maps/see.JPG) ![up](assets/../secret.png) ![abs](/assets/x.png) "
        "![remote](https://x.org/assets/a.png) ![other](assets/a.gif) ![refused](assets/refused.png) "
        "![q](assets/a.png?x=1)",
        resolve_asset=resolve,
    )
    assert [(i["src"], i["alt"]) for i in doc.find_all("img")] == [
        ("../assets/data/map.png", "ok"), ("../assets/data/maps/see.JPG", "sub")
    ]
    assert asked == ["assets/map.png", "assets/maps/see.JPG", "assets/refused.png"]
    assert "up" in doc.get_text() and "refused" in doc.get_text() and "remote" in doc.get_text()


def test_headings_start_at_h3():
    doc = soup("# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\nSetext\n======\n")
    assert [h.name for h in doc.find_all(re.compile("^h"))] == ["h3", "h4", "h5", "h6", "h6", "h3"]


def test_tables_have_header_cells_and_no_style():
    doc = soup("| Year | Amount |\n|:-----|-------:|\n| 2011 | 12 |\n")
    assert [th.get_text() for th in doc.find_all("th")] == ["Year", "Amount"]
    assert doc.find("th")["class"] == ["align-left"]
    assert doc.find_all("td")[1]["class"] == ["align-right"]
    assert "style" not in str(doc)


def test_template_syntax_stays_literal():
    out = str(render_markdown("Total {{ 7 * 7 }} and {{ config.items() }} {% if x %}y{% endif %} ${7 * 7}", "en"))
    assert "{{ 7 * 7 }}" in out and "{{ config.items() }}" in out and "{% if x %}" in out and "${7 * 7}" in out
    assert "49" not in out
    # In Markdown, *…* is emphasis: {{ 7*7 }} keeps its characters, never its meaning
    assert "49" not in str(render_markdown("{{ 7*7 }}", "en"))


def test_french_typography_on_text_not_on_code_or_urls():
    out = str(render_markdown("Note : voir [le site](https://x.org/?a=1;b=2) !\n\n`a : b` et\n\n    x ? y : z\n", "fr"))
    assert f"Note{NB}: voir" in out
    assert f"</a>{NNB}!" in out
    assert 'href="https://x.org/?a=1;b=2"' in out
    assert "<code>a : b</code>" in out
    assert "x ? y : z" in out
    en = str(render_markdown("Note : voir !", "en"))
    assert "Note : voir !" in en


def test_emphasis_lists_and_quotes_are_kept():
    doc = soup("- **un**\n- _deux_\n\n> cité\n\n1. a\n2. b\n")
    assert [t.name for t in doc.find_all(True)] == ["ul", "li", "strong", "li", "em", "blockquote", "p", "ol", "li", "li"]


_ALLOWED_TAGS = {"p", "em", "strong", "a", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "code", "pre",
                 "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}  # fmt: skip
_ALLOWED_ATTRS = {"href", "rel", "title", "class", "start"}


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<script>", "</script>", "<img src=x onerror=y>", "[a](", "javascript:", "data:", ")", "![b](", "<",
             ">", "\"", "'", "onload=", "# ", "\n", "|", "-", "*", "`", "&#", "x", " ", "https://", "mailto:",
             "<svg/onload=1>", "{{", "}}"]
        ),
        max_size=30,
    ).map("".join)
)  # fmt: skip
def test_nothing_but_safe_tags_and_attributes(source):
    doc = soup(source, "fr")
    for tag in doc.find_all(True):
        assert tag.name in _ALLOWED_TAGS, tag
        assert set(tag.attrs) <= _ALLOWED_ATTRS, tag
        if tag.name == "a":
            assert re.match(r"(https?://|mailto:)", tag["href"], re.I), tag
        if tag.has_attr("class") and tag.name != "code":
            assert tag["class"][0].startswith("align-")
