"""PDF rendering: the published HTML file → a tagged PDF/UA-1 (or PDF/A-3u) with only the links we decide.

A PDF is always rendered from the HTML file published beside it, so web page and printed page cannot drift apart.
Resources go through :class:`reportgen.fetcher.SafeFetcher`.

Links. WeasyPrint turns every ``<a href>`` into a link annotation, and resolves relative ones against the HTML
file's location, which would write the build machine's path (``file:///home/…/output/fr/regions/see.html``) into
every PDF and make two output folders give different bytes. A PDF therefore keeps:
- internal links (its table of contents, notes): always;
- absolute ``http``, ``https`` and ``mailto`` links (sources cited in the data): always;
- links to other publications: rewritten to ``public_url`` + their path, pointing to their PDF, when the config
  gives ``public_url``; removed otherwise (the text stays, the link goes);
- anything else (``file:`` outside the output folder, other schemes): removed.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

VARIANTS = ("pdf/ua-1", "pdf/a-3u")
KEPT_SCHEMES = ("http", "https", "mailto")


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz when libharfbuzz-subset is installed, else with (slow) fontTools."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


def renderer_fingerprint() -> str:
    """What, besides the HTML and its resources, decides a PDF's bytes: this module, the fetcher and WeasyPrint."""
    import weasyprint

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
    if rel_str.endswith(".html") and rel_str != "index.html":
        rel_str = rel_str[: -len(".html")] + ".pdf"
    url = public_url.rstrip("/") + "/" + rel_str
    if parts.fragment:
        url += "#" + parts.fragment
    return url


def render_pdf(html_path: Path, *, output_root: Path, roots: list[Path], variant: str = "pdf/ua-1",
               public_url: str = "", attachments: list[tuple[str, bytes, str]] | None = None,
               epoch: int | None = None, font_config=None, cache: dict | None = None) -> PdfResult:
    """Render ``html_path`` (a published HTML file under ``output_root``) to PDF bytes.

    ``roots`` are the folders the document may read from. ``attachments`` are (file name, bytes, description)
    embedded as associated files (PDF/A-3 only). ``epoch`` fixes every date WeasyPrint writes.

    ``font_config``: a worker that renders many documents passes the same WeasyPrint ``FontConfiguration`` to each,
    so the shipped fonts are registered once per worker rather than once per document (the same bytes, about
    5–10 % less time, and less memory). ``cache`` (WeasyPrint's image cache) is not shared by the build: every chart
    is a distinct data URI, so a shared cache only grows (measured: +340 MiB over 60 briefs).
    """
    from weasyprint import HTML, Attachment

    from .fetcher import ResourceRefused, SafeFetcher

    if variant not in VARIANTS:
        raise ValueError(f"unknown PDF variant {variant!r}")
    if epoch is not None:
        os.environ["SOURCE_DATE_EPOCH"] = str(int(epoch))
    fetcher = SafeFetcher(roots)
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        html = HTML(filename=str(html_path), url_fetcher=fetcher)
        extra = {"cache": cache} if cache is not None else {}
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
        logger.removeHandler(collect)
