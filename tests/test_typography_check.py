"""The typography of what a reader sees, checked on the published pages (tests/typocheck.py says the rules):
every HTML page's visible text, CSS generated content included (read in headless Chromium), each part with the
checker of its own language; the PDFs' text; every part in another language than the page's marked with ``lang``
in HTML and with ``/Lang`` on the matching structure elements of the tagged PDF."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pikepdf
import pytest
from bs4 import BeautifulSoup
import chromium
from datasets import TINY_DATASET, write_dataset
from pdftext import language_parts, marked_text
from typocheck import CHECKERS, english_violations, french_violations


N, NN = "\u00a0", "\u202f"


# --- the checkers themselves: every rule fails on a bad example and passes on a good one --------------------------

@pytest.mark.parametrize("bad, good", [
    ("Note : voir", f"Note{N}: voir"),
    ("Note: voir", f"Note{N}: voir"),
    ("Pourquoi ?", f"Pourquoi{NN}?"),
    ("Attention!", f"Attention{NN}!"),
    ("un ; deux", f"un{NN}; deux"),
    ("« traite »", f"«{N}traite{N}»"),
    (f"«{N}traite »", f"«{N}traite{NN}»"),
    ("12 %", f"12{NN}%"),
    ("12%", f"12{N}%"),
    ("150 000 €", f"150{NN}000{N}€"),
    ("1 234 567", f"1{NN}234{NN}567"),
    ("Afrique de l'Ouest", "Afrique de l’Ouest"),
])
def test_french_checker(bad, good):
    assert french_violations(bad), bad
    assert not french_violations(good), good


@pytest.mark.parametrize("bad, good", [
    ("Note: voir", "Note : voir"),
    ("«traite»", "« traite »"),
    ("12%", "12 %"),
    ("l'Ouest", "l’Ouest"),
])
def test_french_checker_on_extracted_text(bad, good):
    """pdftotext writes no-break spaces as spaces: any space passes, a missing one still fails."""
    assert french_violations(bad, extracted=True), bad
    assert not french_violations(good, extracted=True), good


def test_french_checker_leaves_urls_times_and_years_alone():
    assert not french_violations("voir https://x.org/a?b=c;d:e à 12:30 en 2007 2011")


@pytest.mark.parametrize("bad, good", [
    ("Note : see", "Note: see"),
    (f"Why{NN}?", "Why?"),
    ("12 %", "12%"),
    (f"150,000{N}€", "€150,000"),
    ("the evaluation's total", "the evaluation’s total"),
])
def test_english_checker(bad, good):
    assert english_violations(bad), bad
    assert not english_violations(good), good


# --- visible text of the HTML pages, in Chromium -------------------------------------------------------------------

CHROMIUM = chromium.CHROMIUM
_JS = r"""
(function(){
  var segs = [], cur = null;
  var SKIP = {SCRIPT:1, STYLE:1, CODE:1, PRE:1, KBD:1, SAMP:1, SVG:1, svg:1, MATH:1, TEMPLATE:1, NOSCRIPT:1, TITLE:1};
  function langOf(el) { var e = el.closest('[lang]'); return e ? e.getAttribute('lang').split('-')[0] : ''; }
  function push(lang, t, where) {
    if (!t) return;
    if (cur && cur.lang === lang) { cur.text += t; } else { cur = {lang: lang, text: t, where: where}; segs.push(cur); }
  }
  function pseudo(el, which) {
    var c = getComputedStyle(el, which).content, out = '';
    if (!c || c === 'none' || c === 'normal') return '';
    c.replace(/"((?:[^"\\]|\\.)*)"/g, function(m, s) { out += s.replace(/\\(.)/g, '$1'); });
    return out;
  }
  function where(el) { return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ? '.' + el.className.split(' ').join('.') : ''); }
  function walk(node) {
    if (node.nodeType === 3) { push(langOf(node.parentElement), node.data, where(node.parentElement)); return; }
    if (node.nodeType !== 1 || SKIP[node.tagName]) return;
    var cs = getComputedStyle(node);
    if (cs.display === 'none') return;
    var block = cs.display.indexOf('inline') !== 0;
    if (block) cur = null;
    push(langOf(node), pseudo(node, '::before'), where(node));
    for (var c = node.firstChild; c; c = c.nextSibling) walk(c);
    push(langOf(node), pseudo(node, '::after'), where(node));
    if (block) cur = null;
  }
  walk(document.body);
  segs.push({lang: langOf(document.documentElement), text: document.title, where: 'title'});
  var e = document.createElement('pre'); e.id = 'visible-text'; e.textContent = JSON.stringify(segs);
  document.body.appendChild(e);
})();
"""


def visible_texts(pages: list[Path], width: int = 1280) -> dict[Path, list[dict]]:
    """page -> runs of visible text as Chromium lays it out: ``{lang, text, where}`` (CSS content included)."""
    return chromium.reports(pages, _JS, "visible-text", width)


def typography_problems(segments: list[dict]) -> list[str]:
    problems = []
    for seg in segments:
        check = CHECKERS.get(seg["lang"])
        if check is None:
            continue
        problems += [f"{seg['where']} ({seg['lang']}): {p}" for p in check(seg["text"])]
    return problems


# --- a dataset with per-language titles, comments in the data's language and narrative footnotes -------------------

def bilingual_files() -> dict[str, str]:
    files = dict(TINY_DATASET)
    files["actions.csv"] = files["actions.csv"].replace(
        "action_id,title,", "action_id,title_en,title,").replace(
        "A-001,Appui", "A-001,Support to the national agency NAPTIP,Appui").replace(
        "\nA-0", "\nA-0")
    lines = files["actions.csv"].splitlines()
    lines = [lines[0]] + [line if line.startswith("A-001") else line.replace(",", ",,", 1) for line in lines[1:]]
    files["actions.csv"] = "\n".join(lines) + "\n"
    files["narrative/fr/countries/NGA.md"] = (
        "Le Nigeria est un pays d'origine majeur[^1] ; l'agence « NAPTIP » coordonne la lutte[^2].\n\n"
        "[^1]: Source : rapport de l'OIM, 2011.\n[^2]: Voir le rapport annuel de la NAPTIP !\n")
    files["narrative/en/countries/NGA.md"] = (
        "Nigeria is a major country of origin[^1]; NAPTIP coordinates the response.\n\n"
        "[^1]: Source: IOM's report, 2011.\n")
    return files


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The HTML of the tiny dataset with per-language titles and footnotes, published as the build lays it out."""
    from test_templates_html import build_tree

    data = write_dataset(tmp_path_factory.mktemp("bilingual") / "data", bilingual_files())
    out = tmp_path_factory.mktemp("site")
    info = build_tree(data, out)
    info["out"] = out
    return info


def all_pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.html") if ".check" not in p.name)


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 1280])
def test_typography_of_every_page_in_its_parts_languages(site, width):
    if not CHROMIUM:
        pytest.fail("needs chromium (bash .ci/setup --test)")
    problems = {}
    for page, segments in visible_texts(all_pages(site["out"]), width).items():
        found = typography_problems(segments)
        if found:
            problems[page.relative_to(site["out"]).as_posix()] = found[:8]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


# --- language of parts: HTML lang, PDF /Lang ------------------------------------------------------------------------

def _norm(text: str) -> str:
    """Text compared between HTML and PDF: no spaces, no hyphens (the PDF hyphenates at line ends)."""
    return re.sub(r"[\s\u00a0\u202f\u00ad\u2010-]", "", text)


def _parts(page: Path, lang: str) -> list[str]:
    """Texts of the elements marked ``lang`` inside the printed part of ``page`` (outside the site's header)."""
    s = BeautifulSoup(page.read_text(encoding="utf-8"), "lxml")
    for hidden in s.select(".site-header, .skip-link, .screen-only, .footnotes, sup.footnote-ref, script, style"):
        hidden.decompose()
    return [el.get_text() for el in s.body.find_all(attrs={"lang": lang})]


def test_text_in_another_language_is_marked_in_html(site):
    out = site["out"]
    # Titles the data gives in English only for A-001; the other titles, the partners and the comments are French.
    french = ["Formation des magistrats", "Retour et réintégration", "Dépend des financements", "ONG Espoir"]
    s = BeautifulSoup((out / "en/countries/NGA.html").read_text(encoding="utf-8"), "lxml")
    node = s.find(string=re.compile("Support to the national agency NAPTIP"))
    assert node and node.find_parent(attrs={"lang": True})["lang"] == "en"  # the per-language title, in English
    assert not s.find(string=re.compile("Appui à l’agence nationale"))  # …instead of the French one
    for key in ("en/countries/NGA", "en/countries/ALB", "en/countries/XKX", "en/synthesis", "en/regions/see"):
        s = BeautifulSoup((out / f"{key}.html").read_text(encoding="utf-8"), "lxml")
        for text in french:
            for node in s.find_all(string=re.compile(re.escape(text))):
                assert node.find_parent(attrs={"lang": True})["lang"] == "fr", (key, text)
    # The French brief: the title from title_en is not there; its own French title is, unmarked (page language)
    s = BeautifulSoup((out / "fr/countries/NGA.html").read_text(encoding="utf-8"), "lxml")
    node = s.find(string=re.compile("Appui à l’agence nationale NAPTIP"))
    assert node.find_parent(attrs={"lang": True})["lang"] == "fr"


@pytest.fixture(scope="module")
def pdfs(site):
    """Tagged PDFs of a few pages of ``site``, rendered by reportgen.pdf (as the build does)."""
    from reportgen.pdf import render_pdf

    out = site["out"]
    made = {}
    for key in ("en/countries/NGA", "fr/countries/NGA", "en/synthesis"):
        result = render_pdf(out / f"{key}.html", output_root=out, roots=[out], epoch=0)
        (out / f"{key}.pdf").write_bytes(result.data)
        made[key] = result.data
    return made


@pytest.mark.slow
def test_the_tagged_pdf_carries_the_language_of_every_part(site, pdfs):
    out = site["out"]
    for key in ("en/countries/NGA", "en/synthesis"):
        html_parts = [_norm(t) for t in _parts(out / f"{key}.html", "fr") if _norm(t)]
        pdf = pikepdf.open(io.BytesIO(pdfs[key]))
        assert str(pdf.Root.Lang) == "en"
        tagged = [(tag, _norm(text)) for tag, lang, text in language_parts(pdf) if lang == "fr"]
        pdf_text = "".join(t for _, t in tagged)
        assert html_parts and tagged, key
        missing = [t for t in html_parts if t not in pdf_text]
        assert not missing, (key, missing[:5])
        # …and only there: every text tagged French is text of a French part of the HTML
        html_text = "".join(html_parts)
        stray = [t for _, t in tagged if t and t not in html_text]
        assert not stray, (key, stray[:5])
        assert not [lang for _, lang, _ in language_parts(pdf) if lang not in ("fr", "en")]


def test_lang_tags_are_installed_in_this_weasyprint():
    """The /Lang of parts rests on WeasyPrint 70's tag builder; another version fails here, not silently."""
    from reportgen.pdf import _install_lang_tags

    assert _install_lang_tags()


def pdf_pages_text(data: bytes) -> list[str]:
    """Each page's text as drawn (marked content in order, one run per line): no-break spaces stay what they are,
    unlike pdftotext's output."""
    text = marked_text(pikepdf.open(io.BytesIO(data)))
    pages: dict[int, list[str]] = {}
    for (page, mcid) in sorted(text):
        pages.setdefault(page, []).append(text[(page, mcid)])
    return ["\n".join(pages.get(i, [])) for i in range(max(pages, default=-1) + 1)]


@pytest.mark.slow
def test_pdf_text_follows_french_typography_and_footnotes_sit_on_their_call_page(site, pdfs):
    pages = pdf_pages_text(pdfs["fr/countries/NGA"])
    problems = french_violations("\n".join(pages))
    assert not problems, problems[:10]
    flat = [re.sub(r"[ \n]+", " ", p) for p in pages]
    calls = [i for i, p in enumerate(flat) if "pays d’origine majeur" in p]
    notes = [i for i, p in enumerate(flat) if f"Source{N}: rapport de l’OIM" in p]
    assert calls and calls == notes, (calls, notes)
    assert f"NAPTIP{NN}!" in flat[calls[0]]


def test_footnotes_in_html_are_linked_both_ways(site):
    for key, n in (("fr/countries/NGA", 2), ("en/countries/NGA", 1)):
        s = BeautifulSoup((site["out"] / f"{key}.html").read_text(encoding="utf-8"), "lxml")
        calls = s.select("sup.footnote-ref a")
        assert len(calls) == n, key
        for a in calls:
            note = s.find(id=a["href"][1:])
            assert note and note.name == "li", key
            back = note.select_one("a.footnote-backref")
            assert s.find(id=back["href"][1:]) is a.parent.find("a"), key
            assert a.get("aria-label") and back.get("aria-label"), key
        # The notes follow the narrative, with that language's typography
    text = BeautifulSoup((site["out"] / "fr/countries/NGA.html").read_text(encoding="utf-8"), "lxml").select_one(
        ".footnotes").get_text()
    assert f"Source{N}: rapport de l’OIM" in text and f"NAPTIP{NN}!" in text


# --- table cells on screens: no word broken without a hyphen ----------------------------------------------------

_BROKEN_WORDS_JS = r"""
(function(){
  var out = [];
  document.querySelectorAll('td, th, caption').forEach(function(cell) {
    var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var re = /[^\s\-\u2010\u2011\u2013\u2014]+/g, m;  // a break at a hyphen or a dash is a break with one
      while ((m = re.exec(node.data))) {
        var r = document.createRange(); r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
        var tops = {};
        Array.prototype.forEach.call(r.getClientRects(), function(rect) { if (rect.width > 0) tops[Math.round(rect.top)] = 1; });
        if (Object.keys(tops).length > 1) out.push(m[0]);
      }
    }
  });
  var e = document.createElement('pre'); e.id = 'broken-words'; e.textContent = JSON.stringify(out);
  document.body.appendChild(e);
})();
"""


def broken_words(pages: list[Path], width: int) -> dict[Path, list[str]]:
    """page -> words of table cells that Chromium, ``width`` px wide, lays out over more than one line."""
    return chromium.reports(pages, _BROKEN_WORDS_JS, "broken-words", width)


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 1280])
def test_table_cells_break_no_word_on_screens(site, width):
    """Headless Chromium has no hyphenation patterns: any word over two lines would be cut without a hyphen (a line
    may still end at a hyphen or a dash the text has: Sud-|Est)."""
    if not CHROMIUM:
        pytest.fail("needs chromium (bash .ci/setup --test)")
    out = site["out"]
    pages = [out / f"{key}.html" for key in ("fr/synthesis", "en/synthesis", "fr/countries/NGA", "en/countries/NGA",
                                              "fr/regions/see", "fr/index", "en/index")]
    pages += [out / "validation.html", out / "changes.html"]
    problems = {p.relative_to(out).as_posix(): words for p, words in broken_words(pages, width).items() if words}
    assert not problems, problems


@pytest.mark.browser
def test_the_broken_word_check_finds_a_broken_word(tmp_path):
    """The check above can fail: a narrow cell that must break a long word is reported."""
    if not CHROMIUM:
        pytest.fail("needs chromium (bash .ci/setup --test)")
    page = tmp_path / "narrow.html"
    page.write_text('<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>t</title></head><body>'
                    '<table style="width:60px"><tr><td style="overflow-wrap:anywhere">multilatéralement</td>'
                    '<td style="overflow-wrap:normal">court</td></tr></table></body></html>', encoding="utf-8")
    assert broken_words([page], 320) == {page: ["multilatéralement"]}


def test_pdf_links_to_an_index_page_stay_web_pages(tmp_path):
    """A publication's data note links its language's index (fr/index.html#data): no index has a PDF."""
    from reportgen.pdf import _rewrite_link

    root = tmp_path / "out"
    (root / "fr").mkdir(parents=True)
    url = "https://example.org/e128"
    assert _rewrite_link((root / "fr" / "index.html").as_uri() + "#data", root, url) == f"{url}/fr/index.html#data"
    assert _rewrite_link((root / "index.html").as_uri(), root, url) == f"{url}/index.html"
    assert _rewrite_link((root / "fr" / "synthesis.html").as_uri(), root, url) == f"{url}/fr/synthesis.pdf"


# --- the embedded dataset ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedded_site(tmp_path_factory):
    from test_templates_html import REPO, build_tree

    out = tmp_path_factory.mktemp("embedded-site")
    info = build_tree(REPO / "data", out)
    info["out"] = out
    return info


@pytest.fixture(scope="module")
def embedded_visible(embedded_site) -> dict[Path, list[dict]]:
    """The visible text of every page of ``embedded_site``, read once in Chromium for the checks below."""
    if not CHROMIUM:
        pytest.fail("needs chromium (bash .ci/setup --test)")
    return visible_texts(all_pages(embedded_site["out"]))


@pytest.mark.slow
@pytest.mark.browser
def test_every_page_of_the_embedded_build_passes_the_typography_checkers(embedded_site, embedded_visible):
    problems = {}
    for page, segments in embedded_visible.items():
        found = typography_problems(segments)
        if found:
            problems[page.relative_to(embedded_site["out"]).as_posix()] = found[:5]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)[:6000]


@pytest.mark.slow
@pytest.mark.xdist_group("embedded")
def test_the_embedded_french_pdfs_pass_the_french_checker(embedded_checked):
    """The French PDFs as the build renders them (conftest's embedded_checked, shared with the layout test)."""
    s, checked = embedded_checked
    problems = {}
    french = [c.key for c in checked if c.key.startswith("fr/")]
    assert len(french) == 48
    for key in french:
        found = french_violations("\n".join(pdf_pages_text((s.output / f"{key}.pdf").read_bytes())))
        if found:
            problems[key] = found[:5]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)[:6000]


# --- a second opinion: Grammalecte's typographic rules -------------------------------------------------------------

GRAMMALECTE = shutil.which("grammalecte-cli")
#: Grammalecte's option groups about typography (the others are grammar and style, not this test's business).
GRAMMALECTE_TYPOGRAPHY = {"apos", "nbsp", "typo", "unit", "num"}
#: Its one rule that French publications contradict on purpose: an apostrophe ending a word (a partner's English
#: name, "Girls’ Power Initiative") is read as a closing quotation mark without an opening one.
GRAMMALECTE_RULES_OFF = ["typo_guillemet_simple_fermant_non_ouvert"]


def grammalecte_typography(paragraphs: list[str]) -> list[str]:
    """Grammalecte's typographic errors in ``paragraphs`` (French text, one paragraph each)."""
    if not GRAMMALECTE:
        pytest.fail("needs grammalecte-cli (bash .ci/setup --test)")
    listing = subprocess.run([GRAMMALECTE, "-lo"], capture_output=True, text=True, check=True).stdout
    groups = [m.group(1) for m in re.finditer(r"^(\w+):\t", listing, re.MULTILINE)]
    assert GRAMMALECTE_TYPOGRAPHY <= set(groups), groups
    off = [g for g in groups if g not in GRAMMALECTE_TYPOGRAPHY]
    with tempfile.TemporaryDirectory(prefix="reportgen-grammalecte-") as tmp:
        text = Path(tmp) / "text.txt"
        text.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
        run = subprocess.run([GRAMMALECTE, "-f", str(text), "-j", "-off", *off, "-roff", *GRAMMALECTE_RULES_OFF],
                             capture_output=True, text=True, check=True, timeout=600)
    found = []
    for para in json.loads(run.stdout)["data"]:
        line = paragraphs[para["iParagraph"] - 1]
        for e in para["lGrammarErrors"]:
            found.append(f"{e['sRuleId']}: {e['sMessage']} in …{line[max(0, e['nStart'] - 40):e['nEnd'] + 40]}…")
    return found


@pytest.mark.slow
def test_grammalecte_sees_a_typography_error():
    """The check below can fail: Grammalecte flags what French typography forbids, and passes it corrected."""
    assert grammalecte_typography(["Note : voir l'annexe ; « traite » de 12 %."])
    assert grammalecte_typography([f"Note{N}: voir l’annexe{NN}; «{N}traite{N}» de 12{NN}%."]) == []


@pytest.mark.slow
@pytest.mark.browser
def test_grammalecte_finds_no_typography_error_in_the_embedded_french_text(embedded_visible):
    """Every run of French text the embedded build shows (CSS content included), through Grammalecte's typographic
    rules: a second checker, written by others, beside tests/typocheck.py."""
    # One paragraph per run of text (ASCII white space collapsed, no-break spaces kept as they are). Text only for
    # screen readers (.visually-hidden: " – Maroc" after a link "PDF") is not set in type, and read alone it starts
    # with a dash that Grammalecte takes for a dialogue's.
    paragraphs = sorted({re.sub(r"[ \t\n\r\f]+", " ", seg["text"]).strip() for segments in embedded_visible.values()
                         for seg in segments
                         if seg["lang"] == "fr" and "visually-hidden" not in seg["where"]} - {""})
    assert len(paragraphs) > 500
    problems = grammalecte_typography(paragraphs)
    assert not problems, "\n".join(problems[:40])
