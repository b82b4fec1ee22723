"""PDF rendering speed-ups must not change a byte: the stylesheet cache of render workers (reportgen.pdf).

A worker keeps the stylesheets it parsed and hands them to the next document with the same ``<link>``/``<style>``
elements and the same files. Each test renders the same documents with and without the cache and compares the PDF
bytes; the stylesheets exercise what parsing adds to a document besides its rules (``@page`` rules and margin
boxes, ``@font-face``, ``@import``, ``@layer``, ``@counter-style``), which the cache must replay.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from reportgen.pdf import StylesheetCache, render_pdf

pytestmark = pytest.mark.slow  # every test here renders PDFs, but the last (which is cheap)

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "templates" / "fonts"
EPOCH = 1_393_632_000

BASE_CSS = """
@font-face { font-family: "Body"; src: url("../fonts/NotoSerif-Regular.ttf"); }
@font-face { font-family: "Body"; font-weight: bold; src: url("../fonts/NotoSerif-Bold.ttf"); }
@counter-style stars { system: cyclic; symbols: "*"; suffix: " "; }
@layer base, theme;
@layer base { p { color: #333; } }
@layer theme { p { color: #114; } }
@page { size: A5; margin: 2cm 1.5cm;
        @top-center { content: string(title); font-family: "Body"; font-size: 8pt; }
        @bottom-right { content: counter(page) " / " counter(pages); font-family: "Body"; font-size: 8pt; } }
@page :first { @top-center { content: none; } }
body { font-family: "Body"; font-size: 10pt; }
h1 { string-set: title content(); page-break-after: avoid; }
ul.stars { list-style: stars; }
"""
BRIEF_CSS = '@import "base.css";\nh1 { color: #036; }\n.note { columns: 2; }\n'


def site(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / "assets" / "css").mkdir(parents=True)
    shutil.copytree(FONTS, out / "assets" / "fonts")
    (out / "assets" / "css" / "base.css").write_text(BASE_CSS, encoding="utf-8")
    (out / "assets" / "css" / "brief.css").write_text(BRIEF_CSS, encoding="utf-8")
    return out


def page(out: Path, name: str, title: str, paragraphs: int, *, css: str = "brief.css", extra_head: str = "") -> Path:
    body = "".join(f"<p>Paragraph {i} of {title}: <strong>{'word ' * (i % 7 + 5)}</strong></p>"
                   for i in range(paragraphs))
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="../assets/css/{css}">'
            f'<link rel="alternate" hreflang="fr" href="../fr/{name}.html">{extra_head}</head>'
            f'<body><h1>{title}</h1><ul class="stars"><li>one</li><li>two</li></ul>{body}'
            f'<div class="note"><p>{"note " * 80}</p></div></body></html>')
    path = out / "en" / f"{name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def pdfs(out: Path, docs: list[Path], cache: StylesheetCache | None) -> list[bytes]:
    from weasyprint.text.fonts import FontConfiguration

    fc = cache.font_config if cache is not None else FontConfiguration()
    return [render_pdf(d, output_root=out, roots=[out / "assets"], epoch=EPOCH, font_config=fc,
                       stylesheets=cache).data for d in docs]


def test_cached_stylesheets_give_the_same_bytes_and_are_parsed_once(tmp_path):
    from weasyprint.text.fonts import FontConfiguration

    out = site(tmp_path)
    docs = [page(out, "a", "First brief", 40), page(out, "b", "Second brief", 3), page(out, "c", "Third brief", 70)]
    plain = pdfs(out, docs, None)
    cache = StylesheetCache(FontConfiguration())
    cached = pdfs(out, docs, cache)
    assert cached == plain
    assert (cache.misses, cache.hits) == (1, 2)
    # Replayed @page rules: running title, page numbers and the A5 size are in every document, not only the first.
    import pikepdf

    for data in cached:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            assert len(pdf.pages) >= 1
            width, height = (float(v) for v in pdf.pages[0].MediaBox[2:])
            assert (round(width), round(height)) == (420, 595)  # A5 in points


def test_a_changed_stylesheet_is_parsed_again(tmp_path):
    from weasyprint.text.fonts import FontConfiguration

    out = site(tmp_path)
    doc = page(out, "a", "Brief", 5)
    cache = StylesheetCache(FontConfiguration())
    before = pdfs(out, [doc], cache)[0]
    imported = out / "assets" / "css" / "base.css"
    imported.write_text(BASE_CSS.replace("size: A5", "size: A4"), encoding="utf-8")
    st = imported.stat()
    os.utime(imported, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # an edit within the same tick
    after = pdfs(out, [doc], cache)[0]
    assert after != before
    assert after == pdfs(out, [doc], None)[0]
    assert (cache.misses, cache.hits) == (2, 0)


def test_documents_with_other_stylesheets_do_not_share(tmp_path):
    from weasyprint.text.fonts import FontConfiguration

    out = site(tmp_path)
    (out / "assets" / "css" / "other.css").write_text('@import "base.css";\nh1 { color: #900; }\n', encoding="utf-8")
    docs = [page(out, "a", "Brief", 5), page(out, "b", "Brief", 5, css="other.css"),
            page(out, "c", "Brief", 5, extra_head="<style>h1 { font-size: 30pt }</style>")]
    cache = StylesheetCache(FontConfiguration())
    assert pdfs(out, docs, cache) == pdfs(out, docs, None)
    assert (cache.misses, cache.hits) == (3, 0)


def test_nothing_is_cached_when_parsing_warns(tmp_path, caplog):
    """A warning (here an invalid declaration) belongs to every document that has it, not only the first."""
    from weasyprint.text.fonts import FontConfiguration

    out = site(tmp_path)
    (out / "assets" / "css" / "brief.css").write_text(BRIEF_CSS + "p { colour: red; }\n", encoding="utf-8")
    docs = [page(out, "a", "Brief", 5), page(out, "b", "Brief", 6)]
    cache = StylesheetCache(FontConfiguration())
    results = [render_pdf(d, output_root=out, roots=[out / "assets"], epoch=EPOCH, font_config=cache.font_config,
                          stylesheets=cache) for d in docs]
    assert [sum("colour" in w for w in r.warnings) for r in results] == [1, 1]  # each said once, to each
    assert cache.hits == 0


def test_the_cache_is_off_with_another_font_configuration(tmp_path):
    from weasyprint.text.fonts import FontConfiguration

    out = site(tmp_path)
    doc = page(out, "a", "Brief", 5)
    cache = StylesheetCache(FontConfiguration())
    data = render_pdf(doc, output_root=out, roots=[out / "assets"], epoch=EPOCH, font_config=FontConfiguration(),
                      stylesheets=cache).data
    assert data == pdfs(out, [doc], None)[0]
    assert (cache.misses, cache.hits) == (0, 0)


def test_publications_render_to_the_same_bytes_with_the_worker_cache(tiny_prepared_copy):
    """The build's own publications (every kind, both languages): the worker's cache changes no byte."""
    import json

    from reportgen import state as state_paths
    from reportgen.model import Doc

    s, plan = tiny_prepared_copy
    keys = [d["key"] for d in plan["documents"] if "synthesis" not in d["key"]]
    from reportgen.worker import Worker

    worker = Worker(s, plan)
    results = [worker.render(k) for k in keys]
    assert [r.status for r in results] == ["built"] * len(keys), [r.error for r in results]
    assert worker.stylesheets.hits >= len(keys) - 4  # one parse per (language, kind) at most
    for key in keys:
        doc = Doc.from_key(key)
        state = json.loads(state_paths.doc_state_path(s.output, doc).read_text(encoding="utf-8"))
        fresh = render_pdf(s.output / f"{doc.stem}.html", output_root=s.output, roots=worker.roots,
                           epoch=worker.epoch)
        assert fresh.data == (s.output / f"{doc.stem}.pdf").read_bytes(), key
        assert state["pages"] == fresh.pages


def test_weasyprint_internals_are_the_expected_ones():
    """The cache wraps weasyprint.css.find_stylesheets; another WeasyPrint would switch it off, not break it."""
    import weasyprint.css

    from reportgen import pdf

    assert pdf._install_stylesheet_cache()
    assert weasyprint.css.find_stylesheets is pdf._find_stylesheets
