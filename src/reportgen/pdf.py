"""PDF rendering: the published HTML file → a tagged PDF/UA-1 (or PDF/A-3u) with only the links we decide.

A PDF is always rendered from the HTML file published beside it, so web page and printed page cannot drift apart.
Resources go through :class:`reportgen.fetcher.SafeFetcher`.

Links. WeasyPrint turns every ``<a href>`` into a link annotation, and resolves relative ones against the HTML
file's location, which would write the build machine's path (``file:///home/…/output/fr/regions/see.html``) into
every PDF and make two output folders give different bytes. A PDF therefore keeps:
- internal links (its table of contents, notes): always;
- absolute ``http``, ``https`` and ``mailto`` links (sources cited in the data): always;
- links to other publications: rewritten to ``public_url`` + their path, pointing to their PDF, when the config
  gives ``public_url``; removed otherwise (the text stays, the link goes); links to an index page
  (``index.html``, ``fr/index.html``) keep pointing to that web page;
- anything else (``file:`` outside the output folder, other schemes): removed.

Language of parts. WeasyPrint 70 writes the document's language (``/Lang`` of the catalogue) and nothing for an
element in another language (``<span lang="fr">`` in an English brief), so a screen reader would read it with the
document's pronunciation (WCAG 2.1 SC 3.1.2, PDF/UA-1 7.2). :func:`_install_lang_tags` makes WeasyPrint's tagging
give every structure element made for an HTML element with a ``lang`` attribute that ``/Lang`` (structure elements
inherit it, so the text inside carries it too).
"""

from __future__ import annotations

import copy
import ctypes.util
import hashlib
import inspect
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import atomic
from .deps import css_closure
from .settings import pdf_variants

KEPT_SCHEMES = ("http", "https", "mailto")


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz when libharfbuzz-subset is installed, else with (slow) fontTools."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


def renderer_fingerprint() -> str:
    """What, besides the HTML and its resources, decides a PDF's bytes: this module, the fetcher and WeasyPrint."""
    import weasyprint  # start-up time: WeasyPrint loads in render jobs only

    h = hashlib.sha256()
    for mod in ("pdf.py", "fetcher.py"):
        h.update((Path(__file__).parent / mod).read_bytes())
    h.update(weasyprint.__version__.encode())
    h.update(str(harfbuzz_subset_available()).encode())
    return h.hexdigest()


@dataclass
class PdfResult:
    data: bytes
    pages: int
    links_kept: int = 0
    links_rewritten: int = 0
    links_removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stranded: float | None = None  # how full the last page is, when it stays stranded at the tightest fit


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _rewrite_link(target: str, output_root: Path, public_url: str) -> str | None:
    """The URL a PDF link should carry, or None to remove it."""
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme in KEPT_SCHEMES:
        return target
    if scheme != "file":
        return None
    path = Path(os.path.normpath(unquote(parts.path)))
    root = Path(os.path.realpath(output_root))
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    if not public_url:
        return None
    rel_str = rel.as_posix()
    if rel_str.endswith(".html") and rel.name != "index.html":  # the index pages have no PDF
        rel_str = rel_str[: -len(".html")] + ".pdf"
    url = public_url.rstrip("/") + "/" + rel_str
    if parts.fragment:
        url += "#" + parts.fragment
    return url


class StylesheetCache:
    """Parsed author stylesheets reused from one document to the next within a worker.

    Every brief links the same stylesheet (``country.css``, which imports ``common.css`` and declares the fonts);
    WeasyPrint parses it again for each document, about 8 % of a country brief's rendering time. A worker that
    renders many documents keeps the parsed stylesheets (WeasyPrint ``CSS`` objects: their selector matcher and
    validated declarations) and, for the next document with the same ``<link>``/``<style>`` elements and the same
    files (path, size and modification time of every stylesheet and import), hands them back instead of parsing
    them again, replaying what parsing adds to the document (``@page`` rules, layers, counter styles, colour
    profiles). The PDF is byte-identical (tests/test_pdf.py renders publications both ways).

    Only used with the worker's shared ``FontConfiguration`` (the ``@font-face`` fonts registered by the first
    parse stay registered there). Nothing is cached when parsing logged a warning or refused a resource, so every
    document that should report one still does. When the installed WeasyPrint's internals differ from those this
    was written for (70.x), the cache stays off and documents are parsed as usual.
    """

    def __init__(self, font_config) -> None:
        self.font_config = font_config
        self.entries: dict = {}
        self.hits = 0
        self.misses = 0


_ACTIVE_CACHE: list = [None]  # the StylesheetCache of the document being rendered, if any
_ORIGINAL_FIND_STYLESHEETS = None
_FIND_STYLESHEETS_PARAMS = ["wrapper_element", "device_media_type", "url_fetcher", "base_url", "font_config",
                            "counter_style", "color_profiles", "page_rules", "layers"]


def _install_stylesheet_cache() -> bool:
    """Route WeasyPrint's ``find_stylesheets`` through the cache; False when this WeasyPrint is not the expected one."""
    global _ORIGINAL_FIND_STYLESHEETS
    import weasyprint.css as wcss  # start-up time (WeasyPrint)

    if _ORIGINAL_FIND_STYLESHEETS is not None:
        return True
    original = getattr(wcss, "find_stylesheets", None)
    if original is None or list(inspect.signature(original).parameters) != _FIND_STYLESHEETS_PARAMS:
        return False
    _ORIGINAL_FIND_STYLESHEETS = original
    wcss.find_stylesheets = _find_stylesheets
    return True


def _stylesheet_key(wrapper_element, device_media_type, base_url):
    """What decides the author stylesheets of a document, or None when it cannot be told cheaply (remote URLs)."""
    from weasyprint.html import element_has_link_type, parse_url  # start-up time (WeasyPrint)

    elements = []
    files = []
    for wrapper in wrapper_element.query_all("style", "link"):
        el = wrapper.etree_element
        if el.tag == "link" and (not element_has_link_type(el, "stylesheet")
                                 or element_has_link_type(el, "alternate")):
            continue  # not a stylesheet for WeasyPrint (rel=alternate links to the other language's version)
        attrs = tuple(el.get(a, "") for a in ("type", "media", "rel", "href"))
        text = "".join(el.itertext()) if el.tag == "style" else ""
        elements.append((el.tag, attrs, text))
        if el.tag == "link" and el.get("href"):
            href = parse_url(el.get("href"), base_url)
            if href is None:
                continue
            parts = urlsplit(href)
            if parts.scheme != "file":
                return None
            files.append(Path(os.path.realpath(unquote(parts.path))))
    stamps = []
    for f in css_closure(files):
        try:
            st = f.stat()
        except OSError:
            return None
        stamps.append((str(f), st.st_size, st.st_mtime_ns))
    return (device_media_type, tuple(elements), tuple(stamps))


def _find_stylesheets(wrapper_element, device_media_type, url_fetcher, base_url, font_config, counter_style,
                      color_profiles, page_rules, layers):

    cache = _ACTIVE_CACHE[0]
    args = (wrapper_element, device_media_type, url_fetcher, base_url, font_config, counter_style,
            color_profiles, page_rules, layers)
    if cache is None or font_config is not cache.font_config or page_rules or layers:
        yield from _ORIGINAL_FIND_STYLESHEETS(*args)
        return
    key = _stylesheet_key(wrapper_element, device_media_type, base_url)
    entry = cache.entries.get(key) if key is not None else None
    if entry is None:
        cache.misses += 1
        counters_before = dict(counter_style)
        profiles_before = dict(color_profiles)
        refused_before = len(getattr(url_fetcher, "refused", []))
        collect = _Collect()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(collect)
        try:  # the document's own collector (render_pdf) receives these warnings too
            sheets = list(_ORIGINAL_FIND_STYLESHEETS(*args))
        finally:
            logger.removeHandler(collect)
        if (key is not None and not collect.messages
                and len(getattr(url_fetcher, "refused", [])) == refused_before):
            cache.entries[key] = (
                sheets, list(page_rules), list(layers),
                {k: v for k, v in counter_style.items() if counters_before.get(k, _MISSING) is not v},
                {k: v for k, v in color_profiles.items() if profiles_before.get(k, _MISSING) is not v},
            )
        yield from sheets
        return
    cache.hits += 1
    sheets, cached_rules, cached_layers, counters, profiles = entry
    page_rules.extend(cached_rules)
    layers.extend(cached_layers)
    counter_style.update(counters)
    color_profiles.update(profiles)
    for sheet in sheets:
        clone = copy.copy(sheet)  # the parsed rules are shared; @page rules and layers are this document's
        clone.page_rules = page_rules
        clone.layers = layers
        yield clone


_MISSING = object()

_ORIGINAL_BUILD_BOX_TREE = None


def _install_lang_tags() -> bool:
    """Route WeasyPrint's tag tree builder through :func:`_build_box_tree_with_lang` (once per process).

    False when this WeasyPrint has no such builder (another major version): the PDFs then carry no part language,
    which tests/test_pdf.py notices.
    """
    global _ORIGINAL_BUILD_BOX_TREE
    from weasyprint.pdf import tags  # start-up time (WeasyPrint)

    if _ORIGINAL_BUILD_BOX_TREE is not None:
        return True
    original = getattr(tags, "_build_box_tree", None)
    if original is None or list(inspect.signature(original).parameters) != [
            "box", "parent", "pdf", "page_number", "nums", "annotations", "tags"]:
        return False
    _ORIGINAL_BUILD_BOX_TREE = original
    tags._build_box_tree = _build_box_tree_with_lang  # the recursion looks the name up in the module: every level
    return True


def _build_box_tree_with_lang(box, parent, pdf, page_number, nums, annotations, tags):
    """WeasyPrint's builder; the elements it makes for a box whose HTML element has ``lang`` get that ``/Lang``."""
    import pydyf  # start-up time (WeasyPrint's PDF writer)

    lang = None
    element = getattr(box, "element", None)
    if element is not None and getattr(box, "element_tag", None) not in ("html", "body"):
        value = element.get("lang")
        if value:
            lang = pydyf.String(value)
    for made in _ORIGINAL_BUILD_BOX_TREE(box, parent, pdf, page_number, nums, annotations, tags):
        if lang is not None and "Lang" not in made:
            made["Lang"] = lang
        yield made


def render_pdf(html_path: Path, *, output_root: Path, roots: list[Path], variant: str = "pdf/ua-1",
               public_url: str = "", attachments: list[tuple[str, bytes, str]] | None = None,
               epoch: int | None = None, font_config=None, cache: dict | None = None,
               stylesheets: StylesheetCache | None = None, fit=None) -> PdfResult:
    """Render ``html_path`` (a published HTML file under ``output_root``) to PDF bytes.

    ``roots`` are the folders the document may read from. ``attachments`` are (file name, bytes, description)
    embedded as associated files (PDF/A-3 only). ``epoch`` fixes every date WeasyPrint writes.

    ``font_config``: a worker that renders many documents passes the same WeasyPrint ``FontConfiguration`` to each,
    so the shipped fonts are registered once per worker rather than once per document (the same bytes, about
    5–10 % less time, and less memory). ``cache`` (WeasyPrint's image cache) is not shared by the build: every chart
    is a distinct data URI, so a shared cache only grows (measured: +340 MiB over 60 briefs).

    ``stylesheets``: a worker's :class:`StylesheetCache` (with its ``font_config``), so that a stylesheet shared by
    many documents is parsed once per worker.

    ``fit``: called with each rendered document (before any PDF is written), it returns ``None`` to keep it or the
    text of the HTML to publish and render instead (see :class:`reportgen.layout.Fitter`: a brief whose last page is
    stranded is rendered again one step tighter); the HTML file is rewritten, so page and PDF stay one.
    """
    # Start-up time: WeasyPrint (and the fetcher, built on it) load in render jobs only.
    from weasyprint import HTML, Attachment

    from .fetcher import ResourceRefused, SafeFetcher

    if variant not in pdf_variants():
        raise ValueError(f"unknown PDF variant {variant!r}")
    if epoch is not None:
        os.environ["SOURCE_DATE_EPOCH"] = str(int(epoch))
    fetcher = SafeFetcher(roots)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    _install_lang_tags()
    if stylesheets is not None and stylesheets.font_config is font_config and _install_stylesheet_cache():
        _ACTIVE_CACHE[0] = stylesheets
    try:
        html = HTML(filename=str(html_path), url_fetcher=fetcher)
        extra = {"cache": cache} if cache is not None else {}
        document = html.render(font_config=font_config, pdf_variant=variant, pdf_tags=True, **extra)
        while fit is not None and (refit := fit(document)) is not None:
            atomic.write_text(html_path, refit)
            html = HTML(filename=str(html_path), url_fetcher=fetcher)
            document = html.render(font_config=font_config, pdf_variant=variant, pdf_tags=True, **extra)
        result = PdfResult(data=b"", pages=len(document.pages))
        for page in document.pages:
            kept = []
            for link in page.links:
                link_type, target, rectangle, box = link
                if link_type == "internal":
                    kept.append(link)
                    continue
                if link_type == "attachment":
                    # <a rel=attachment href=…>: WeasyPrint would embed the linked file in the PDF.
                    raise ResourceRefused(target, "a rel=attachment link would embed that file in the PDF; "
                                                  "publications embed only their own data")
                new = _rewrite_link(target, output_root, public_url) if link_type == "external" else None
                if new is None:
                    result.links_removed.append(target if not target.startswith("file:") else
                                                "file:…/" + Path(urlsplit(target).path).name)
                    continue
                if new != target:
                    result.links_rewritten += 1
                    box.link = ("url", ("external", new))
                result.links_kept += 1
                kept.append((link_type, new, rectangle, box))
            page.links[:] = kept
        options = {"pdf_variant": variant, "pdf_tags": True}
        if attachments and variant.startswith("pdf/a-3"):
            stamp = datetime.fromtimestamp(int(epoch or 0), tz=timezone.utc)
            options["attachments"] = [
                Attachment(string=data, name=name, description=desc, relationship="Data",
                           created=stamp, modified=stamp)
                for name, data, desc in attachments
            ]
        result.data = document.write_pdf(**options)
        if fetcher.refused:
            # Refusals WeasyPrint swallowed (it logs and skips any error while drawing an SVG image). A cached SVG
            # image keeps this document's fetcher: drop the shared cache so the next document fetches (and is
            # refused) again instead of drawing the cached image without its refused parts.
            if cache is not None:
                cache.clear()
            raise fetcher.refused[0]
        result.warnings = collect.messages
        return result
    finally:
        _ACTIVE_CACHE[0] = None
        logger.removeHandler(collect)
