"""What a published page depends on (deps.py): the files hashed into each publication's key, so that a change to
a stylesheet, a font or an image re-renders exactly the publications that use it."""

from __future__ import annotations

import os
from pathlib import Path

from reportgen.deps import css_closure, css_references, dependencies_digest, file_digest, html_dependencies


def _site(tmp_path: Path) -> Path:
    """An output folder: a page, two stylesheets (one imports the other), fonts, an image."""
    out = tmp_path / "out"
    (out / "assets" / "css").mkdir(parents=True)
    (out / "assets" / "fonts").mkdir()
    (out / "assets" / "data").mkdir()
    (out / "fr" / "countries").mkdir(parents=True)
    (out / "assets" / "css" / "common.css").write_text(
        '/* url("ignored.woff") */\n@font-face { src: url("../fonts/Sans.ttf"); }\n'
        "body { background: url(data:image/png;base64,AAAA); }\n"
        'a { background: url("https://example.org/x.png"); }\n', encoding="utf-8")
    (out / "assets" / "css" / "country.css").write_text(
        '@import "common.css";\n@font-face { src: url(\'../fonts/Serif.ttf\'); }\n', encoding="utf-8")
    for font in ("Sans.ttf", "Serif.ttf", "Unused.ttf"):
        (out / "assets" / "fonts" / font).write_bytes(font.encode())
    (out / "assets" / "data" / "map.png").write_bytes(b"png")
    return out


PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="../../assets/css/country.css">
<link rel="alternate" href="../../en/countries/NGA.html">
</head><body>
<img src="../../assets/data/map.png" alt="map"><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="chart">
<img src="https://example.org/remote.png" alt="remote">
</body></html>"""


def test_css_references_are_relative_imports_and_urls_outside_comments():
    css = ('/* @import "no.css"; */ @import "a.css"; @import url(b.css);\n'
           'x { src: url("f.ttf") } y { background: url(data:image/png;base64,AA) } '
           'z { background: url(https://example.org/p.png) } w { background: url(#frag) } v { background: url(/abs.png) }')
    assert css_references(css) == ["a.css", "b.css", "f.ttf"]


def test_a_page_depends_on_its_stylesheets_their_imports_and_fonts_and_its_local_images(tmp_path):
    out = _site(tmp_path)
    page = out / "fr" / "countries" / "NGA.html"
    deps = html_dependencies(PAGE, page)
    names = [p.relative_to(out.resolve()).as_posix() for p in deps]
    assert names == ["assets/css/common.css", "assets/css/country.css", "assets/data/map.png",
                     "assets/fonts/Sans.ttf", "assets/fonts/Serif.ttf"]


def test_css_closure_follows_imports_once_even_in_a_cycle(tmp_path):
    (tmp_path / "a.css").write_text('@import "b.css";', encoding="utf-8")
    (tmp_path / "b.css").write_text('@import "a.css"; @font-face { src: url("f.ttf") }', encoding="utf-8")
    deps = css_closure([(tmp_path / "a.css").resolve()])
    assert [p.name for p in deps] == ["a.css", "b.css", "f.ttf"]


def test_the_digest_changes_with_any_dependency_and_only_then(tmp_path):
    out = _site(tmp_path)
    page = out / "fr" / "countries" / "NGA.html"
    before = dependencies_digest(html_dependencies(PAGE, page), out)
    assert dependencies_digest(html_dependencies(PAGE, page), out) == before
    (out / "assets" / "fonts" / "Unused.ttf").write_bytes(b"changed")  # not used by the page
    assert dependencies_digest(html_dependencies(PAGE, page), out) == before
    font = out / "assets" / "fonts" / "Serif.ttf"  # used through country.css
    font.write_bytes(b"another serif")
    os.utime(font, ns=(1, 1))
    assert dependencies_digest(html_dependencies(PAGE, page), out) != before


def test_a_missing_dependency_has_its_own_digest(tmp_path):
    missing = tmp_path / "nothing.css"
    assert file_digest(missing) == "missing"
    missing.write_text("x", encoding="utf-8")
    assert file_digest(missing) not in ("missing", "")
