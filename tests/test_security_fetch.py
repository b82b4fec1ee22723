"""Untrusted data cannot make a publication read a file or reach the network (docs/security.md, "Fetch").

Every way HTML, CSS, SVG and Markdown can point at a resource is rendered through ``reportgen.pdf.render_pdf``
(the function the build uses). A local HTTP server on 127.0.0.1 records every request it receives: the tests assert
that it received none, that the document failed with :class:`ResourceRefused` naming the URL, and that resources
inside the allowed folders (a stylesheet, a font, a small ``data:`` image) still work.

Each test fails without its protection: with WeasyPrint's default fetcher the server is hit and nothing is refused
(``test_the_probe_sees_a_fetch_made_without_the_safe_fetcher`` shows the probe catches it); without the check of
refusals WeasyPrint swallowed, SVG images render without their ``<image>`` instead of failing; without the
attachment rule, ``<a rel=attachment>`` is silently dropped.
"""

from __future__ import annotations

import base64
import http.server
import shutil
import threading
from pathlib import Path

import pikepdf
import pytest
from bs4 import BeautifulSoup
from datasets import TINY_DATASET, write_dataset

from reportgen import fetcher as fetcher_module
from reportgen.fetcher import MAX_DATA_URL_BYTES, ResourceRefused
from reportgen.markdown import render_markdown
from reportgen.pdf import render_pdf

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("security-fetch")]  # renders PDFs;  # one worker builds the module's dataset once

ROOT = Path(__file__).resolve().parents[1]
FONTS = ROOT / "templates" / "fonts"
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PNG_DATA_URL = "data:image/png;base64," + base64.b64encode(PNG_1PX).decode()


# ------------------------------------------------------------------------------------------------------------------
# A server that records every request, and a page to render
# ------------------------------------------------------------------------------------------------------------------

class Probe:
    """An HTTP server on 127.0.0.1 that answers every request with something loadable and records it."""

    def __init__(self) -> None:
        probe = self
        self.hits: list[str] = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with probe.lock:
                    probe.hits.append(f"{self.command} {self.path}")
                body, kind = PNG_1PX, "image/png"
                if self.path.endswith(".css"):
                    body, kind = b"p { color: red }", "text/css"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> list[str]:
        with self.lock:
            hits, self.hits = self.hits, []
        return hits

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def probe():
    p = Probe()
    yield p
    p.close()


@pytest.fixture
def site(tmp_path):
    """An output folder whose assets/ is the only allowed root, with a secret file beside it and escape links."""
    out = tmp_path / "out"
    assets = out / "assets"
    (assets / "css").mkdir(parents=True)
    (assets / "fonts").mkdir()
    shutil.copy(FONTS / "NotoSansMath-Regular.ttf", assets / "fonts" / "Probe.ttf")
    (assets / "css" / "ok.css").write_text(
        '@font-face { font-family: "Probe"; src: url("../fonts/Probe.ttf") format("truetype"); }\n'
        'body { font-family: "Probe"; color: #123456 }\n', encoding="utf-8")
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red } /* s3cret */", encoding="utf-8")
    (tmp_path / "secret.png").write_bytes(PNG_1PX)
    (assets / "escape.css").symlink_to(secret)
    (assets / "escape-dir").symlink_to(tmp_path, target_is_directory=True)
    (out / "fr").mkdir()
    return out


class Spy:
    """Every URL the publication's fetcher was asked for (SafeFetcher.fetch wrapped)."""

    def __init__(self, monkeypatch) -> None:
        self.urls: list[str] = []
        original = fetcher_module.SafeFetcher.fetch

        def fetch(fetcher, url, headers=None):
            self.urls.append(url)
            return original(fetcher, url, headers)

        monkeypatch.setattr(fetcher_module.SafeFetcher, "fetch", fetch)


def page(out: Path, body: str, head: str = "") -> Path:
    html = out / "fr" / "doc.html"
    html.write_text(f'<!DOCTYPE html>\n<html lang="fr">\n<head><meta charset="utf-8"><title>Essai</title>{head}'
                    f"</head>\n<body>{body}<p>Texte.</p></body>\n</html>\n", encoding="utf-8")
    return html


def render(out: Path, body: str, head: str = ""):
    return render_pdf(page(out, body, head), output_root=out, roots=[out / "assets"])


def svg(inner: str) -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" '
            f'height="20" viewBox="0 0 20 20">{inner}</svg>')


def svg_data_url(inner: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg(inner).encode()).decode()


# ------------------------------------------------------------------------------------------------------------------
# Refused: the document fails, naming the URL, and nothing was requested
# ------------------------------------------------------------------------------------------------------------------

# (id, head, body, refused URL); {U} is the probe server, {T} the test's folder (beside the output folder).
REFUSED = [
    ("img src", "", '<img src="{U}/img.png" alt="x">', "{U}/img.png"),
    ("img src, root-relative path", "", '<img src="{T}/secret.png" alt="x">', "file://{T}/secret.png"),
    ("base href + relative img", '<base href="{U}/">', '<img src="rel.png" alt="x">', "{U}/rel.png"),
    ("style attribute background url()", "", '<div style="background: url({U}/bg.png)">x</div>', "{U}/bg.png"),
    ("stylesheet background-image", "<style>body {{ background-image: url('{U}/body.png') }}</style>", "",
     "{U}/body.png"),
    ("@font-face src", '<style>@font-face {{ font-family: X; src: url({U}/font.ttf) }} p {{ font-family: X }}</style>',
     "", "{U}/font.ttf"),
    ("list-style-image", "<style>li {{ list-style-image: url({U}/bullet.png) }}</style>", "<ul><li>x</li></ul>",
     "{U}/bullet.png"),
    ("content: url()", "<style>p::before {{ content: url({U}/content.png) }}</style>", "", "{U}/content.png"),
    ("border-image", "<style>div {{ border: 5px solid; border-image: url({U}/border.png) 5 }}</style>",
     "<div>x</div>", "{U}/border.png"),
    ("@page background", "<style>@page {{ background: url({U}/page.png) }}</style>", "", "{U}/page.png"),
    ("@page margin box content", "<style>@page {{ @top-center {{ content: url({U}/margin.png) }} }}</style>", "",
     "{U}/margin.png"),
    ("@import", '<style>@import url("{U}/import.css");</style>', "", "{U}/import.css"),
    ("link rel=stylesheet", '<link rel="stylesheet" href="{U}/link.css">', "", "{U}/link.css"),
    ("link rel=stylesheet, https", '<link rel="stylesheet" href="https://127.0.0.1:9/x.css">', "",
     "https://127.0.0.1:9/x.css"),
    ("link rel=attachment (embeds files)", '<link rel="attachment" href="{U}/attached.bin">', "",
     "{U}/attached.bin"),
    ("link rel=attachment to a local file", '<link rel="attachment" href="file://{T}/secret.css">', "",
     "file://{T}/secret.css"),
    ("a rel=attachment (embeds files)", "", '<a rel="attachment" href="{U}/a-attached.bin">data</a>',
     "{U}/a-attached.bin"),
    ("a rel=attachment inside the roots", "", '<a rel="attachment" href="../assets/css/ok.css">data</a>',
     "file://{OUT}/assets/css/ok.css"),
    ("inline svg image href", "", svg('<image href="{U}/svg-image.png" width="10" height="10"/>'),
     "{U}/svg-image.png"),
    ("inline svg image xlink:href", "", svg('<image xlink:href="{U}/svg-xlink.png" width="10" height="10"/>'),
     "{U}/svg-xlink.png"),
    ("inline svg image, local file", "", svg('<image href="file://{T}/secret.png" width="10" height="10"/>'),
     "file://{T}/secret.png"),
    ("svg loaded as an image, its image href", "",
     '<img alt="x" src="@svg-data-url:<image href="{U}/nested.png" width="10" height="10"/>">', "{U}/nested.png"),
    ("svg @font-face", "",
     svg('<style>@font-face {{ font-family: Z; src: url({U}/svg-font.ttf) }} text {{ font-family: Z }}</style>'
         '<text y="10">a</text>'), "{U}/svg-font.ttf"),
    ("object data", "", '<object data="{U}/object.png" type="image/png"></object>', "{U}/object.png"),
    ("object data, local file", "", '<object data="file://{T}/secret.png" type="image/png"></object>',
     "file://{T}/secret.png"),
    ("embed src", "", '<embed src="{U}/embed.png" type="image/png">', "{U}/embed.png"),
    ("https", "", '<img src="https://127.0.0.1:9/x.png" alt="x">', "https://127.0.0.1:9/x.png"),
    ("ftp", "", '<img src="ftp://127.0.0.1:9/x.png" alt="x">', "ftp://127.0.0.1:9/x.png"),
    ("file: outside the roots", '<link rel="stylesheet" href="file://{T}/secret.css">', "",
     "file://{T}/secret.css"),
    ("file: .. out of the roots", '<link rel="stylesheet" href="../assets/../../secret.css">', "",
     "file://{T}/secret.css"),
    ("symlink out of the roots", '<link rel="stylesheet" href="../assets/escape.css">', "",
     "file://{OUT}/assets/escape.css"),
    ("symlinked folder out of the roots", '<link rel="stylesheet" href="../assets/escape-dir/secret.css">', "",
     "file://{OUT}/assets/escape-dir/secret.css"),
    ("file: on another host", '<link rel="stylesheet" href="file://evil.example/etc/passwd">', "",
     "file://evil.example/etc/passwd"),
    ("allowed stylesheet that @imports the network", '<link rel="stylesheet" href="../assets/css/net.css">', "",
     "{U}/from-css.css"),
]


def _fill(text: str, probe, tmp_path: Path, out: Path) -> str:
    text = (text.replace("{U}", probe.url).replace("{T}", str(tmp_path)).replace("{OUT}", str(out))
            .replace("{{", "{").replace("}}", "}"))
    if 'src="@svg-data-url:' in text:  # an SVG document loaded as an image, built once the URL is known
        before, rest = text.split('src="@svg-data-url:', 1)
        inner, after = rest.rsplit('">', 1)
        text = f'{before}src="{svg_data_url(inner)}">{after}'
    return text


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_every_way_to_point_at_a_resource_is_refused(case, probe, site, tmp_path):
    _, head, body, url = case
    (site / "assets" / "css" / "net.css").write_text(f'@import url("{probe.url}/from-css.css");\n', encoding="utf-8")
    head, body, url = (_fill(x, probe, tmp_path, site) for x in (head, body, url))
    probe.take()
    with pytest.raises(ResourceRefused) as refused:
        render(site, body, head)
    assert refused.value.url == url
    assert str(refused.value).startswith(f"refused to load {url!r}: ")
    assert probe.take() == []


def test_data_urls_over_the_cap_are_refused(probe, site):
    big = "data:image/png;base64," + base64.b64encode(b"\0" * (MAX_DATA_URL_BYTES + 1)).decode()
    with pytest.raises(ResourceRefused, match=r"^refused to load 'data:image/png;base64,AAAA.*\.\.\.': data: URL "
                                              r"larger than \d+ bytes"):
        render(site, f'<img src="{big}" alt="x">')
    # The cap holds inside an SVG image too (WeasyPrint swallows errors there; the build does not).
    inner = svg_data_url(f'<image href="{big}" width="10" height="10"/>')
    with pytest.raises(ResourceRefused, match="larger than"):
        render(site, f'<img src="{inner}" alt="x">')


def test_a_refusal_fails_the_document_even_where_weasyprint_swallows_errors(probe, site, caplog):
    """WeasyPrint logs and skips any error while drawing an SVG; the document must still fail."""
    with pytest.raises(ResourceRefused, match="svg-swallowed"):
        render(site, svg(f'<image href="{probe.url}/svg-swallowed.png" width="10" height="10"/>'))
    assert probe.take() == []


def test_a_refusal_is_not_forgotten_by_the_image_cache_shared_between_documents(probe, site):
    """A render worker shares WeasyPrint's image cache between its documents: the second document drawing the same
    SVG must fail too, not print it without its refused image."""
    (site / "assets" / "evil.svg").write_text(svg(f'<image href="{probe.url}/cached.png" width="5" height="5"/>'),
                                              encoding="utf-8")
    cache: dict = {}
    for _ in range(2):
        with pytest.raises(ResourceRefused, match="cached.png"):
            render_pdf(page(site, '<img src="../assets/evil.svg" alt="carte">'), output_root=site,
                       roots=[site / "assets"], cache=cache)
    assert probe.take() == []


# ------------------------------------------------------------------------------------------------------------------
# Never loaded by WeasyPrint: nothing is requested at all
# ------------------------------------------------------------------------------------------------------------------

NOT_LOADED = [
    ("iframe", '<iframe src="{U}/iframe.html"></iframe>'),
    ("video poster", '<video poster="{U}/poster.png"></video>'),
    ("video/audio src and track", '<video src="{U}/v.mp4"><track src="{U}/t.vtt"></video><audio src="{U}/a.mp3">'
                                  "</audio>"),
    ("img srcset and picture source", '<picture><source srcset="{U}/source.png"><img srcset="{U}/srcset.png 1x" '
                                      'alt="x"></picture>'),
    ("script src", '<script src="{U}/script.js"></script>'),
    ("link icon, preload", '<link rel="icon" href="{U}/favicon.ico"><link rel="preload" as="style" '
                           'href="{U}/preload.css">'),
    ("input type=image", '<input type="image" src="{U}/input.png" alt="x">'),
    ("svg use of an external file", svg('<use href="{U}/sprite.svg#a"/><use xlink:href="{U}/sprite2.svg#b"/>')),
    ("svg feImage and url() paint", svg('<filter id="f"><feImage href="{U}/fe.png"/></filter>'
                                        '<rect width="5" height="5" filter="url(#f)" fill="url({U}/paint.svg#g)"/>')),
    ("svg style @import", svg('<style>@import url("{U}/svg-import.css");</style><rect width="5" height="5"/>')),
    ("meta refresh", '<meta http-equiv="refresh" content="0; url={U}/refresh">'),
    ("a href to the network (a link, not a fetch)", '<a href="{U}/link.html">link</a>'),
]


@pytest.mark.parametrize("case", NOT_LOADED, ids=[c[0] for c in NOT_LOADED])
def test_what_weasyprint_never_loads_is_never_requested(case, probe, site, tmp_path, monkeypatch):
    _, body = case
    body = _fill(body, probe, tmp_path, site)
    spy = Spy(monkeypatch)
    probe.take()
    render(site, body)
    assert [u for u in spy.urls if not u.startswith("data:")] == []
    assert probe.take() == []


# ------------------------------------------------------------------------------------------------------------------
# Allowed: the project's stylesheets and fonts, the dataset's assets, small data: images
# ------------------------------------------------------------------------------------------------------------------

def test_stylesheet_font_and_small_data_image_inside_the_roots_still_work(probe, site, monkeypatch):
    spy = Spy(monkeypatch)
    result = render(site, f'<img src="{PNG_DATA_URL}" alt="point"><p>≤ ≥</p>',
                    head='<link rel="stylesheet" href="../assets/css/ok.css">')
    assert (site / "assets" / "css" / "ok.css").as_uri() in spy.urls
    assert (site / "assets" / "fonts" / "Probe.ttf").as_uri() in spy.urls
    assert PNG_DATA_URL in spy.urls
    pdf = pikepdf.open(__import__("io").BytesIO(result.data))
    fonts = {str(f.get("/BaseFont", "")) for p in pdf.pages for f in p.Resources.get("/Font", {}).values()}
    assert any(f.endswith("+Probe") for f in fonts), fonts  # the @font-face loaded from the roots is used
    images = [x for p in pdf.pages for x in p.Resources.get("/XObject", {}).values()
              if x.get("/Subtype") == "/Image"]
    assert images
    assert probe.take() == []


def test_the_probe_sees_a_fetch_made_without_the_safe_fetcher(probe, site, monkeypatch):
    """Sanity of the harness: with WeasyPrint's default fetcher the same page reaches the server."""
    from weasyprint.urls import URLFetcher

    class DefaultFetcher(URLFetcher):
        def __init__(self, roots, **kw):
            super().__init__()
            self.refused = []

    monkeypatch.setattr(fetcher_module, "SafeFetcher", DefaultFetcher)
    probe.take()
    render(site, f'<img src="{probe.url}/img.png" alt="x">')
    assert probe.take() == ["GET /img.png"]


# ------------------------------------------------------------------------------------------------------------------
# Markdown: unit level and through a whole build
# ------------------------------------------------------------------------------------------------------------------

def hostile_markdown(url: str) -> str:
    return (
        f"![x]({url}/md-image.png) and ![y](file:///etc/passwd)\n\n"
        "[a](file:///etc/passwd) [b](javascript:alert(1)) [c](JAVASCRIPT:alert(1)) [d](data:text/html,x) "
        f"[ok](https://example.org/report) [mail](mailto:a@example.org)\n\n"
        f'<img src="{url}/md-raw-img.png"> <script>alert(1)</script> <iframe src="{url}/md-iframe"></iframe>\n\n'
        f'<link rel="stylesheet" href="{url}/md-link.css"><style>@import url({url}/md-style.css);</style>\n\n'
        f"[ref][r] ![refimg][i]\n\n[r]: javascript:alert(2)\n[i]: {url}/md-ref-image.png\n"
    )


def check_safe_fragment(html: str, url: str) -> None:
    doc = BeautifulSoup(html, "html.parser")
    assert not doc.find_all(["img", "script", "iframe", "link", "style", "object", "embed"])
    for tag in doc.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on") or a.lower() in ("style", "src")], tag
    hrefs = [a["href"] for a in doc.find_all("a")]
    assert hrefs == ["https://example.org/report", "mailto:a@example.org"], hrefs
    assert url not in " ".join(str(t.attrs) for t in doc.find_all(True))
    assert "<script>alert(1)</script>" in doc.get_text()  # shown as text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_markdown_cannot_load_link_or_inject(lang, probe):
    check_safe_fragment(str(render_markdown(hostile_markdown(probe.url), lang)), probe.url)


def small_dataset(narrative: str) -> dict[str, str]:
    """The tiny dataset cut to one region (see), two countries (ALB, XKX): four publications per language."""
    files = dict(TINY_DATASET)
    files["regions.csv"] = "region,name_fr,name_en\nsee,Europe du Sud-Est,South-East Europe\n"
    files["countries.csv"] = "country,region,name_fr,name_en\nALB,see,,\nXKX,see,,\n"
    files["actions.csv"] = "\n".join(line for line in TINY_DATASET["actions.csv"].splitlines()
                                     if line.startswith(("action_id", "A-002", "A-003", "A-004"))) + "\n"
    files["ratings.csv"] = "\n".join(line for line in TINY_DATASET["ratings.csv"].splitlines()
                                     if line.startswith(("action_id", "A-002", "A-003"))) + "\n"
    files["recommendations.csv"] = "\n".join(line for line in TINY_DATASET["recommendations.csv"].splitlines()
                                             if line.startswith(("rec_id", "R1", "R2", "R3"))) + "\n"
    files["indicators.csv"] = "\n".join(line for line in TINY_DATASET["indicators.csv"].splitlines()
                                        if line.startswith(("country", "ALB"))) + "\n"
    for key in [k for k in files if k.startswith("narrative/")]:
        del files[key]
    for lang in ("fr", "en"):
        files[f"narrative/{lang}/synthesis.md"] = "## Contexte\n\n" + narrative
        files[f"narrative/{lang}/regions/see.md"] = narrative
        files[f"narrative/{lang}/countries/ALB.md"] = narrative
    return files


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory, probe):
    """A build (fr) whose narratives try to load and link; the regional template (an override) loads an image."""
    from reportgen import build
    from reportgen.errors import ReportgenError
    from reportgen.settings import Settings

    base = tmp_path_factory.mktemp("fetch-build")
    files = small_dataset(hostile_markdown(probe.url))
    # The dataset's own images are published under assets/data/ and may be shown by narratives: a good one (ALB),
    # an SVG that points at the network and at a file (XKX), a link to a file outside the dataset (not shown).
    files["assets/ok.png"] = PNG_1PX
    files["narrative/fr/countries/ALB.md"] += "\n![Carte](assets/ok.png)\n"
    files["assets/evil.svg"] = svg(f'<image href="{probe.url}/dataset-svg.png" width="5" height="5"/>'
                                   '<image href="file:///etc/passwd" width="5" height="5"/>')
    files["narrative/fr/countries/XKX.md"] = "Carte :\n\n![Carte](assets/evil.svg)\n"
    (base / "secret.png").write_bytes(PNG_1PX + b"s3cret-outside")
    data = write_dataset(base / "data", files)
    (data / "assets" / "link.png").symlink_to(base / "secret.png")
    override = base / "override"
    override.mkdir()
    region = (ROOT / "templates" / "region.html.j2").read_text(encoding="utf-8")
    marker = "{% block content %}"
    assert marker in region
    region = region.replace(marker, marker + f'<img src="{probe.url}/template.png" alt="">', 1)
    (override / "region.html.j2").write_text(region, encoding="utf-8")
    s = Settings.from_mapping({"data": str(data), "output": str(base / "out"), "languages": ["fr"],
                               "templates": str(override)})
    probe.take()
    build.stage_prepare(s, quiet=True)  # validates first
    with pytest.raises(ReportgenError, match=r"2 publication\(s\) failed to render; the others were built"):
        build.stage_render(s, 0, jobs=2)
    failed = __import__("json").loads((s.state_dir / "shards" / "0.failed.json").read_text(encoding="utf-8"))
    return s, failed, probe.take()


@pytest.mark.slow
def test_a_whole_build_makes_no_request(hostile_build):
    _, _, hits = hostile_build
    assert hits == []


@pytest.mark.slow
def test_a_refusal_fails_only_that_publication_naming_it_and_the_url(hostile_build, probe):
    s, failed, _ = hostile_build
    status = {d["key"]: (d["status"], d["error"]) for d in failed["documents"]}
    assert status["fr/regions/see"] == ("failed", f"refused to load '{probe.url}/template.png': the http scheme is "
                                                  "not allowed (publications may only use the project's files and "
                                                  "the dataset's assets/ folder)")
    assert status["fr/countries/XKX"][0] == "failed"
    assert status["fr/countries/XKX"][1].startswith(f"refused to load '{probe.url}/dataset-svg.png': ")
    assert {k for k, (st, _) in status.items() if st == "built"} == {"fr/synthesis", "fr/countries/ALB"}
    assert not (s.output / "fr" / "regions" / "see.pdf").exists()
    assert not (s.output / "fr" / "countries" / "XKX.pdf").exists()


@pytest.mark.slow
def test_the_datasets_images_are_published_copies_and_links_out_are_not_followed(hostile_build):
    s, _, _ = hostile_build
    published = s.output / "assets" / "data"
    assert (published / "ok.png").read_bytes() == PNG_1PX
    assert not (published / "link.png").exists()
    for path in s.output.rglob("*"):
        if path.is_file():
            assert b"s3cret-outside" not in path.read_bytes(), path
    html = (s.output / "fr" / "countries" / "ALB.html").read_text(encoding="utf-8")
    assert '<img src="../../assets/data/ok.png" alt="Carte">' in html
    pdf = pikepdf.open(s.output / "fr" / "countries" / "ALB.pdf")
    assert [x for p in pdf.pages for x in p.Resources.get("/XObject", {}).values() if x.get("/Subtype") == "/Image"]


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["fr/synthesis", "fr/countries/ALB"])
def test_narratives_in_a_whole_build_load_nothing_and_inject_nothing(hostile_build, probe, stem):
    s, _, _ = hostile_build
    html = (s.output / f"{stem}.html").read_text(encoding="utf-8")
    doc = BeautifulSoup(html, "html.parser")
    assert not doc.find_all(["script", "iframe", "object", "embed"])
    for img in doc.find_all("img"):  # the charts, and the dataset's image published with the page
        assert img["src"].startswith("data:image/svg+xml;base64,") or img["src"] == "../../assets/data/ok.png", img
    for link in doc.find_all("link"):
        assert "://" not in link.get("href", ""), link
    for tag in doc.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag
        for attr in ("href", "src", "style"):
            value = str(tag.get(attr, "")).lower()
            assert "javascript:" not in value and "file:" not in value and probe.url not in value, tag
    assert "<script>alert(1)</script>" in doc.get_text()
    pdf = pikepdf.open(s.output / f"{stem}.pdf")
    uris = [str(a.A.URI) for p in pdf.pages for a in p.get("/Annots", []) if "/A" in a and "/URI" in a.A]
    assert probe.url not in " ".join(uris) and not [u for u in uris if u.startswith(("file:", "javascript:"))]
