"""The typography of what a reader sees, checked on the published pages (tests/typocheck.py says the rules):
every HTML page's visible text, CSS generated content included (read in headless Chromium), each part with the
checker of its own language; the PDFs' text; every part in another language than the page's marked with ``lang``
in HTML and with ``/Lang`` on the matching structure elements of the tagged PDF."""

from __future__ import annotations

import html as html_module
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
from datasets import TINY_DATASET, write_dataset
from pdftext import language_parts
from typocheck import CHECKERS, english_violations, french_violations

from reportgen.settings import templates_root

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

CHROMIUM = shutil.which("chromium")
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


def visible_text(page: Path, width: int = 1280) -> list[dict]:
    """Runs of visible text of ``page`` as Chromium lays it out: ``{lang, text, where}`` (CSS content included)."""
    copy = page.with_name(page.stem + ".text-check.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", f"<script>{_JS}</script></body>"),
                    encoding="utf-8")
    try:
        dom = subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              "--no-first-run", f"--user-data-dir={tempfile.mkdtemp(prefix='reportgen-chromium-')}",
                              f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom",
                              copy.resolve().as_uri()], capture_output=True, text=True, timeout=180).stdout
    finally:
        copy.unlink()
    found = re.search(r'<pre id="visible-text">(.*?)</pre>', dom, re.S)
    assert found, f"Chromium did not report the text of {page}"
    return json.loads(html_module.unescape(found.group(1)))


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
    for page in all_pages(site["out"]):
        found = typography_problems(visible_text(page, width))
        if found:
            problems[page.relative_to(site["out"]).as_posix()] = found[:8]
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
