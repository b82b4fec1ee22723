"""The published HTML, parsed: structure, accessibility basics, figures per language, links, escaping; and PDFs of
the three kinds rendered from that HTML (pages, fonts, a PNG of the first pages for a reviewer)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2
import pytest
from bs4 import BeautifulSoup
from datasets import TINY_DATASET, write_dataset

from reportgen.aggregate import compute_figures, data_tables
from reportgen.context import RenderSettings, build_context
from reportgen.i18n import Formatter
from reportgen.model import Doc
from reportgen.render import make_environment, render_html
from reportgen.settings import templates_root
from reportgen.changes import compare, render_changes_html, snapshot
from reportgen.review import write_validation_report
from reportgen.site import catalog_names, render_index, render_languages
from reportgen.typography import NBSP, NNBSP
from reportgen.validate import validate_dataset

REPO = Path(__file__).resolve().parents[1]
SETTINGS = RenderSettings(data_date="2014-03")


class RecordingLoader(jinja2.BaseLoader):
    """Wraps a loader and records the names of the templates it loads."""

    def __init__(self, loader):
        self.loader = loader
        self.names: set[str] = set()

    def get_source(self, environment, name):
        self.names.add(name)
        return self.loader.get_source(environment, name)

    def __getattr__(self, attr):
        return getattr(self.loader, attr)


def plan(ds) -> list[Doc]:
    regions = sorted(set(ds.actions["region"].dropna().astype(str)))
    countries = sorted(set(ds.actions["country"].dropna().astype(str)))
    docs = []
    for lang in ds.evaluation.languages:
        docs.append(Doc(lang, "synthesis"))
        docs += [Doc(lang, "region", r) for r in regions]
        docs += [Doc(lang, "country", c) for c in countries]
    return docs


def build_tree(data_dir: Path, out: Path, *, settings: RenderSettings = SETTINGS, template_dirs=None,
               docs: list[Doc] | None = None) -> dict:
    """Publish the HTML of every publication (and index.html, assets, data files) as the build lays them out."""
    from reportgen.export import write_data

    result = validate_dataset(data_dir)
    assert result.dataset is not None, [str(p) for p in result.problems]
    ds = result.dataset
    figures = compute_figures(ds)
    dirs = template_dirs or [templates_root()]
    envs: dict[tuple[str, str], jinja2.Environment] = {}  # one per language and kind, to record what it loads
    docs = docs if docs is not None else plan(ds)
    for doc in docs:
        env = envs.get((doc.lang, doc.kind))
        if env is None:
            env = envs[(doc.lang, doc.kind)] = make_environment(doc.lang, template_dirs=dirs)
            env.loader = RecordingLoader(env.loader)
        html = render_html(doc, build_context(doc, ds, figures, settings=settings), env)
        path = out / f"{doc.stem}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    for sub in ("css", "fonts"):
        shutil.copytree(templates_root() / sub, out / "assets" / sub, dirs_exist_ok=True)
    write_data(data_tables(ds, figures), out / "data", epoch=0)
    catalog = {"groups": [], "data_files": [], "validation_href": "", "changes_href": ""}
    for lang in ds.evaluation.languages:
        group = {"lang": lang, "synthesis": [], "regions": [], "countries": []}
        for doc in docs:
            if doc.lang == lang:
                entry = {"key": doc.key, "kind": doc.kind, "code": doc.code or "", "lang": lang, "title": doc.key,
                         "pages": 2, "pdf_href": f"{doc.stem}.pdf", "html_href": f"{doc.stem}.html",
                         "pdf_bytes": 123456, "available": True, "status": "built"}
                group[{"synthesis": "synthesis", "region": "regions", "country": "countries"}[doc.kind]].append(entry)
        catalog["groups"].append(group)
    catalog["data_files"] = [{"name": p.name, "href": f"data/{p.name}", "bytes": p.stat().st_size}
                             for p in sorted((out / "data").iterdir())]
    for lang in ds.evaluation.languages:
        env = envs[(lang, "index")] = make_environment(lang, template_dirs=dirs)
        env.loader = RecordingLoader(env.loader)
        (out / lang).mkdir(parents=True, exist_ok=True)
        (out / lang / "index.html").write_text(render_index(catalog, ds.evaluation, catalog_names(ds), env),
                                               encoding="utf-8")
    env = envs[("", "languages")] = make_environment(ds.evaluation.languages[0], template_dirs=dirs)
    env.loader = RecordingLoader(env.loader)
    (out / "index.html").write_text(render_languages(catalog, ds.evaluation, env), encoding="utf-8")
    # The review pages, in the evaluation's main language (no public page links them).
    write_validation_report(result.problems, out, data_dir, lang=ds.evaluation.languages[0], template_dirs=dirs)
    new = snapshot(ds, figures, ds.evaluation.languages)
    old = copy.deepcopy(new)
    for pub in old["publications"].values():
        pub["title"] = pub["title"] + " (v0)"
        break
    (out / "changes.html").write_text(render_changes_html(compare(old, new), template_dirs=dirs,
                                                          stylesheet="assets/css/index.css", link_publications=True),
                                      encoding="utf-8")
    loaded: dict[str, set[str]] = {}
    for (_lang, kind), e in envs.items():
        loaded.setdefault(kind, set()).update(e.loader.names)
    return {"ds": ds, "figures": figures, "docs": docs, "loaded": loaded}


TRICKY_TITLE = "<script>alert(1)</script> {{ 7*7 }} Pourquoi ? « Projet » : n°12"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    files = dict(TINY_DATASET)
    files["actions.csv"] = files["actions.csv"].replace(
        "Appui à l'agence nationale NAPTIP", '"' + TRICKY_TITLE + '"')
    data = write_dataset(tmp_path_factory.mktemp("tiny") / "data", files)
    out = tmp_path_factory.mktemp("output")
    info = build_tree(data, out)
    info["out"] = out
    return info


#: The pages for the evaluation team, outside the public site's navigation.
REVIEW_PAGES = ("validation.html", "changes.html")


def pages(tree) -> list[Path]:
    return sorted(p for p in tree["out"].rglob("*.html"))


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def publication(tree, key: str) -> BeautifulSoup:
    return soup(tree["out"] / f"{key}.html")


def test_every_publication_and_the_index_are_written(tree):
    names = {p.relative_to(tree["out"]).as_posix() for p in pages(tree)}
    assert {"index.html", "fr/synthesis.html", "en/synthesis.html", "fr/regions/see.html",
            "en/countries/NGA.html", "fr/countries/XKX.html"} <= names
    languages = tree["ds"].evaluation.languages
    assert {f"{lang}/index.html" for lang in languages} | set(REVIEW_PAGES) <= names
    assert len(names) == len(tree["docs"]) + 1 + len(languages) + len(REVIEW_PAGES)


@pytest.mark.parametrize("check", ["document", "headings", "tables", "ids", "images", "landmarks"])
def test_structure_of_every_page(tree, check):
    for path in pages(tree):
        s = soup(path)
        where = path.relative_to(tree["out"]).as_posix()
        if check == "document":
            # The root index and the review pages are in the main language (French)
            lang = "fr" if where.startswith("fr/") or "/" not in where else "en"
            assert s.html["lang"] == lang, where
            assert s.title and s.title.get_text(strip=True), where
            assert s.find("meta", attrs={"name": "viewport"}), where
            assert s.find("meta", attrs={"name": "description"})["content"].strip(), where
            assert s.find("meta", charset="utf-8"), where
            assert not s.find("script"), where
            if where in REVIEW_PAGES:
                assert s.find("meta", attrs={"name": "robots", "content": "noindex"}), where
                assert s.find("style"), where  # readable without the site's stylesheet
                continue
            link = s.find("link", rel="stylesheet")["href"]
            assert (path.parent / link).resolve().is_file(), (where, link)
        elif check == "headings":
            levels = [int(h.name[1]) for h in s.find_all(re.compile(r"^h[1-6]$"))]
            assert levels.count(1) == 1 and levels[0] == 1, (where, levels)
            for a, b in zip(levels, levels[1:]):
                assert b <= a + 1, (where, levels)
            assert all(h.get_text(strip=True) for h in s.find_all(re.compile(r"^h[1-6]$"))), where
        elif check == "tables":
            for table in s.find_all("table"):
                if table.find_parent(class_="narrative"):
                    continue  # tables written in the narrative Markdown
                assert table.caption and table.caption.get_text(strip=True), where
                for th in table.find_all("th"):
                    assert th.get("scope") in ("col", "row"), (where, str(th)[:80])
                assert table.find("thead"), where
        elif check == "ids":
            ids = [t["id"] for t in s.find_all(id=True)]
            assert len(ids) == len(set(ids)), (where, [i for i in ids if ids.count(i) > 1])
            for t in s.find_all(attrs={"aria-labelledby": True}):
                for ref in t["aria-labelledby"].split():
                    assert s.find(id=ref), (where, ref)
        elif check == "images":
            for img in s.find_all("img"):
                assert img.get("alt", "").strip(), where
                assert img["src"].startswith("data:image/svg+xml;base64,"), where
                assert img.find_parent("figure").find("figcaption"), where
        elif check == "landmarks":
            if where in REVIEW_PAGES:
                assert s.find("main", id="main") and not s.select(".site-header"), where  # outside the site navigation
                continue
            assert s.find("header") and s.find("nav") and s.find("main", id="main") and s.find("footer"), where
            skip = s.find("a", class_="skip-link")
            assert skip and skip["href"] == "#main", where


def test_every_link_resolves_within_the_tree(tree):
    out = tree["out"]
    for path in pages(tree):
        s = soup(path)
        where = path.relative_to(out).as_posix()
        for a in s.find_all("a", href=True):
            href = a["href"]
            parts = urlsplit(href)
            if parts.scheme in ("http", "https", "mailto"):
                continue
            assert not parts.scheme and not parts.netloc, (where, href)
            if not parts.path:
                assert s.find(id=parts.fragment), (where, href)
                continue
            target = (path.parent / unquote(parts.path)).resolve()
            if target.suffix == ".pdf":
                target = target.with_suffix(".html")  # PDFs are not rendered here: their HTML is
            assert target.is_file(), (where, href)
            assert out.resolve() in target.parents, (where, href)
            if parts.fragment:
                assert soup(target).find(id=parts.fragment), (where, href)
            if not where.endswith("index.html") and where not in REVIEW_PAGES and target.suffix == ".html":
                assert "xref" in a.get("class", []), (where, href)


def test_the_other_language_is_linked_with_its_language(tree):
    s = publication(tree, "fr/countries/NGA")
    a = s.find("a", hreflang="en")
    assert a["href"] == "../../en/countries/NGA.html" and a["lang"] == "en" and a.get_text() == "English"
    assert s.find("link", rel="alternate", hreflang="en")["href"] == "../../en/countries/NGA.html"


def test_key_figures_are_formatted_for_the_language(tree):
    total = tree["figures"].totals.committed
    fr = [dd.get_text() for dd in publication(tree, "fr/synthesis").select(".key-figures dd")]
    en = [dd.get_text() for dd in publication(tree, "en/synthesis").select(".key-figures dd")]
    assert Formatter("fr", "EUR").money(total) in fr and Formatter("en", "EUR").money(total) in en
    assert re.fullmatch(r"\d{1,3}(\u202f\d{3})*\u00a0€", fr[0]), fr[0]
    assert re.fullmatch(r"€\d{1,3}(,\d{3})*", en[0]), en[0]
    # Years are never grouped
    text = publication(tree, "fr/synthesis").get_text()
    assert "2007" in text and f"2{NNBSP}007" not in text and "2\u00a0007" not in text


def test_data_text_is_escaped_and_never_evaluated(tree):
    for key in ("fr/countries/NGA", "en/countries/NGA", "fr/synthesis", "en/synthesis"):
        html = (tree["out"] / f"{key}.html").read_text(encoding="utf-8")
        s = BeautifulSoup(html, "lxml")
        assert not s.find("script"), key
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, key
        assert "{{ 7*7 }}" in s.get_text(), key
        assert "49" not in re.findall(r"\b49\b", s.get_text()), key


def test_french_typography_applies_to_data_and_generated_text(tree):
    fr = publication(tree, "fr/countries/NGA").get_text()
    en = publication(tree, "en/countries/NGA").get_text()
    # The action title from the data
    assert f"Pourquoi{NNBSP}? «{NBSP}Projet{NBSP}»{NBSP}: n°{NBSP}12" in fr
    # …and in the English brief too: the French title is marked French and follows French typography
    assert f"Pourquoi{NNBSP}? «{NBSP}Projet{NBSP}»{NBSP}: n°{NBSP}12" in en
    title = publication(tree, "en/countries/NGA").find(string=re.compile("Pourquoi"))
    assert title.find_parent(attrs={"lang": True})["lang"] == "fr"
    # Generated text: "Région : …", "Évaluation n° 128"
    assert f"Région{NBSP}:" in fr and f"Évaluation n°{NBSP}128" in fr
    # No ordinary space before : ; ! ? in the French text the page shows
    body = publication(tree, "fr/synthesis").find("main").get_text()
    assert not re.search(r" [;:!?]", body), re.search(r".{30} [;:!?].{10}", body)


def test_regional_actions_and_missing_amounts_are_explained(tree):
    s = publication(tree, "en/regions/see")
    note = s.select_one(".data-note").get_text(" ", strip=True)
    assert "1 such action is counted here" in note
    syn = publication(tree, "en/synthesis").select_one("#s-finance-missing").find_next("p").get_text(" ", strip=True)
    assert "1 action of 8 has no reported commitment" in syn


def test_one_index_per_language_lists_its_publications_and_the_data_files(tree):
    out = tree["out"]
    for lang in tree["ds"].evaluation.languages:
        s = soup(out / lang / "index.html")
        assert s.html["lang"] == lang
        hrefs = {a["href"] for a in s.find_all("a", href=True)}
        for doc in tree["docs"]:
            relative = doc.stem.removeprefix(f"{lang}/")
            assert (f"{relative}.html" in hrefs) == (doc.lang == lang), (lang, doc.key)
            assert (f"{relative}.pdf" in hrefs) == (doc.lang == lang), (lang, doc.key)
        assert "../data/figures.xlsx" in hrefs
        # The language switch, as every publication has; no review page in the public navigation
        other = [o for o in tree["ds"].evaluation.languages if o != lang]
        for o in other:
            a = s.find("a", hreflang=o)
            assert a["href"] == f"../{o}/index.html" and a["lang"] == o
        assert not hrefs & {"../validation.html", "../changes.html", "validation.html", "changes.html"}
    fr = soup(out / "fr" / "index.html")
    text = fr.get_text()
    assert "Fiches régionales" in text and "Regional briefs" not in text
    assert fr.find(string=re.compile("Côte d’Ivoire")) and f"123{NBSP}ko" in text
    en = soup(out / "en" / "index.html").get_text()
    assert "Regional briefs" in en and "Fiches régionales" not in en and "123 kB" in en.replace(NBSP, " ")


def test_the_root_index_chooses_the_language(tree):
    s = soup(tree["out"] / "index.html")
    ev = tree["ds"].evaluation
    assert s.html["lang"] == ev.languages[0]
    for lang in ev.languages:
        item = s.select_one(f'ul.language-choice li[lang="{lang}"]')
        assert item.a["href"] == f"{lang}/index.html" and item.a["hreflang"] == lang
        assert ev.title[lang] in item.get_text()
    hrefs = {a["href"] for a in s.find_all("a", href=True)}
    assert not hrefs & {"validation.html", "changes.html"}


def test_the_override_folder_changes_a_publication(tmp_path, tiny_dataset_dir):
    override = tmp_path / "mine"
    (override / "partials").mkdir(parents=True)
    (override / "partials" / "site_footer.html.j2").write_text('<footer class="site-footer">My footer</footer>\n')
    out = tmp_path / "out"
    build_tree(tiny_dataset_dir, out, template_dirs=[override, templates_root()],
               docs=[Doc("en", "country", "NGA")])
    assert soup(out / "en/countries/NGA.html").find("footer").get_text() == "My footer"



def test_many_regions_make_a_table_and_many_recommendations_sit_closer(tmp_path, tiny_dataset_dir):
    """Issue 12: past ``max_region_sections`` regions, the synthesis gives each region a table row (its key figures
    and its brief), not a section, and Table 2's links still land on it; past ``compact_recommendations`` the list
    is set closer. Below both, the synthesis keeps a section per region and the usual list."""
    out = tmp_path / "out"
    settings = RenderSettings(data_date="2014-03", max_region_sections=1, compact_recommendations=2)
    info = build_tree(tiny_dataset_dir, out, settings=settings, docs=[Doc("en", "synthesis"), Doc("fr", "synthesis")])
    for lang in ("en", "fr"):
        s = soup(out / f"{lang}/synthesis.html")
        chapter = s.find(id="s-regions")
        assert not chapter.select("section.region-summary")
        table = chapter.find("table", id="t-region-briefs")
        rows = table.select("tbody tr")
        assert len(rows) >= 2 and all(r.get("id", "").startswith("region-") for r in rows)
        for a in s.select("#t-regions tbody a"):  # Table 2 links each region to its row
            assert s.find(id=a["href"].lstrip("#")) in rows
        briefs = [r.th.a["href"] for r in rows if r.th.a]
        assert briefs and all(h.startswith(f"../{lang}/regions/") for h in briefs)
        caption = s.find("table", id="t-actions").caption.get_text()
        assert caption.startswith("Table 8." if lang == "en" else "Tableau 8.")
        assert "compact" in s.select_one("ol.recommendations")["class"]
    plain = tmp_path / "plain"
    build_tree(tiny_dataset_dir, plain, docs=[Doc("en", "synthesis")])
    s = soup(plain / "en/synthesis.html")
    assert s.select("#s-regions section.region-summary") and not s.find(id="t-region-briefs")
    assert s.find("table", id="t-actions").caption.get_text().startswith("Table 7.")
    assert "compact" not in s.select_one("ol.recommendations")["class"]


# --- PDF, from the published HTML, on the embedded dataset ------------------------------------------------------

PAGE_RANGES = {"synthesis": (8, 16), "region": (2, 4), "country": (1, 2)}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    if not (REPO / "data" / "evaluation.yaml").is_file():
        pytest.skip("no embedded dataset")
    out = tmp_path_factory.mktemp("embedded")
    info = build_tree(REPO / "data", out)
    info["out"] = out
    return info


def _pdf(html: Path, out: Path, overflow: list[str] | None = None) -> tuple[int, bytes]:
    """Render ``html`` to ``out``; with ``overflow``, append there every box that sticks out of its page's area."""
    import weasyprint

    document = weasyprint.HTML(filename=str(html)).render(pdf_variant="pdf/ua-1", pdf_tags=True)
    if overflow is not None:
        overflow.extend(_overflowing(document))
    data = document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    out.write_bytes(data)
    return len(document.pages), data


def _overflowing(document) -> list[str]:
    """Boxes wider than their page's content area (laid-out boxes of WeasyPrint 70, a private structure)."""
    found = []

    def walk(box):
        yield box
        for child in getattr(box, "children", None) or []:
            yield from walk(child)

    for number, page in enumerate(document.pages, 1):
        page_box = getattr(page, "_page_box", None)
        if page_box is None:  # pragma: no cover - another WeasyPrint version
            return []
        right = page_box.margin_width() - page_box.margin_right
        for box in walk(page_box):
            if getattr(box, "element_tag", None) in (None, "html", "body") or type(box).__name__ == "MarginBox":
                continue
            if box.position_x + box.margin_width() > right + 0.5:
                found.append(f"page {number}: <{box.element_tag} class={box.element.get('class')!r}> "
                             f"{box.position_x + box.margin_width() - right:.1f}px too wide")
    return found


def _sample(info) -> list[Doc]:
    """Both syntheses, every region brief in French, the largest and smallest country briefs in both languages."""
    fig = info["figures"]
    by_actions = fig.by_country.sort_values(["actions", "country"])
    countries = list(by_actions["country"].head(2)) + list(by_actions["country"].tail(3))
    docs = [Doc("fr", "synthesis"), Doc("en", "synthesis")]
    docs += [d for d in info["docs"] if d.kind == "region" and d.lang == "fr"]
    docs += [Doc(lang, "country", c) for c in countries for lang in ("fr", "en")]
    return docs


@pytest.mark.slow
def test_pdfs_have_the_expected_pages_nothing_overflowing_and_only_the_shipped_fonts(embedded):
    out = embedded["out"]
    failures = []
    for doc in _sample(embedded):
        html = out / f"{doc.stem}.html"
        pdf = out / f"{doc.stem}.pdf"
        overflow: list[str] = []
        n, _ = _pdf(html, pdf, overflow)
        failures += [f"{doc.key}: {o}" for o in overflow]
        lo, hi = PAGE_RANGES[doc.kind]
        if not lo <= n <= hi:
            failures.append(f"{doc.key}: {n} pages, expected {lo}–{hi}")
        if shutil.which("pdffonts"):
            listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
            for line in listing.splitlines()[2:]:
                name, emb = line.split()[0], line.split()[-5]
                if "Noto" not in name or emb != "yes":
                    failures.append(f"{doc.key}: font {name} (embedded: {emb})")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_pdf_text_has_the_figures(embedded):
    out = embedded["out"]
    n, _ = _pdf(out / "fr/synthesis.html", out / "fr/synthesis.pdf")
    if not shutil.which("pdftotext"):
        _missing("pdftotext is not installed (bash .ci/setup --test)")
    text = subprocess.run(["pdftotext", str(out / "fr/synthesis.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    def spaces(t: str) -> str:  # pdftotext may write no-break spaces as spaces
        return t.replace(NNBSP, " ").replace(NBSP, " ")

    text = spaces(text)
    total = Formatter("fr", "EUR").money(embedded["figures"].totals.committed)
    assert spaces(total) in text
    assert f"page 1 / {n}" not in text.lower()  # the cover has no page number
    assert f"Page 2 / {n}" in text


@pytest.mark.slow
def test_first_pages_as_png_for_a_reviewer(embedded):
    """Writes page 1–2 of each kind to PNG (in $REPORTGEN_PNG_DIR when set) so that a person can look at them."""
    if not shutil.which("pdftoppm"):
        _missing("pdftoppm is not installed (bash .ci/setup --test)")
    out = embedded["out"]
    target = Path(os.environ.get("REPORTGEN_PNG_DIR") or out / "png")
    target.mkdir(parents=True, exist_ok=True)
    fig = embedded["figures"]
    region = str(fig.by_region["region"].iloc[0])
    country = str(fig.by_country["country"].iloc[0])
    for doc in (Doc("fr", "synthesis"), Doc("en", "region", region), Doc("fr", "country", country)):
        pdf = out / f"{doc.stem}.pdf"
        if not pdf.is_file():
            _pdf(out / f"{doc.stem}.html", pdf)
        prefix = target / doc.key.replace("/", "-")
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "2", str(pdf), str(prefix)], check=True)
        made = sorted(target.glob(prefix.name + "-*.png"))
        assert made and all(p.stat().st_size > 5000 for p in made), made


# --- HTML validation (Nu validator) and accessibility (axe-core in Chromium) ----------------------------------------

VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def _missing(why: str) -> None:
    """A check whose tool is missing fails in CI (where .ci/setup installs it) and is skipped only elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


@pytest.mark.java
def test_every_page_is_valid_html(tree):
    if not (shutil.which("java") and VNU.is_file()):
        _missing("needs java and node_modules/vnu-jar (bash .ci/setup --test)")
    run = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "text", *map(str, pages(tree))],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]


def axe_violations(pages: list[Path]) -> dict[Path, list[dict]]:
    """page -> axe-core's WCAG 2.0/2.1 A and AA violations, every page in one headless Chromium (tests/chromium.py)."""
    import chromium

    script = (
        AXE.read_text(encoding="utf-8") + ";\n"
        "axe.run(document,{runOnly:{type:'tag',values:['wcag2a','wcag2aa','wcag21a','wcag21aa']}})"
        ".then(function(r){var e=document.createElement('pre');e.id='axe-results';"
        "e.textContent=JSON.stringify(r.violations.map(function(v){return {id:v.id,impact:v.impact,"
        "nodes:v.nodes.slice(0,3).map(function(n){return n.target.join(' ')})}}));"
        "document.body.appendChild(e);});"
    )
    return chromium.reports(pages, script, "axe-results")


@pytest.mark.browser
def test_pages_pass_axe_core_wcag_aa(tree):
    if not (shutil.which("chromium") and AXE.is_file()):
        _missing("needs chromium and node_modules/axe-core (bash .ci/setup --test)")
    out = tree["out"]
    sample = ["index.html", "fr/index.html", "en/index.html", "validation.html", "changes.html",
              "fr/synthesis.html", "en/synthesis.html", "fr/regions/see.html",
              "en/countries/NGA.html", "fr/countries/XKX.html"]
    problems = {p.relative_to(out).as_posix(): v for p, v in axe_violations([out / n for n in sample]).items() if v}
    assert not problems, problems
