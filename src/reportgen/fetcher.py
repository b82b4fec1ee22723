"""The only way WeasyPrint reaches a resource: a URL fetcher that refuses everything not explicitly allowed.

Allowed:
- ``file:`` URLs whose real path (symbolic links resolved) lies inside one of the allowed folders: the project's
  templates (and the user's override folder), the output folder's ``assets/`` (stylesheets and fonts copied there
  by the build) and the dataset's ``assets/`` folder;
- ``data:`` URLs up to :data:`MAX_DATA_URL_BYTES` once decoded (the charts are inline SVG images).

Refused: http, https, ftp and every other scheme (so no network and no redirect can happen), ``file:`` outside the
allowed folders, oversized files and ``data:`` URLs. A refusal raises :class:`ResourceRefused`, which WeasyPrint does
not swallow (it derives from ``FatalURLFetchingError``): the document fails with a message naming the URL. WeasyPrint
does swallow every exception while it draws an SVG image (``<image href>`` inside an SVG), so the fetcher also keeps
each refusal in ``refused`` and :func:`reportgen.pdf.render_pdf` fails the document when that list is not empty.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

MAX_DATA_URL_BYTES = 2 * 1024 * 1024
MAX_FILE_BYTES = 20 * 1024 * 1024

mimetypes.add_type("font/ttf", ".ttf")
mimetypes.add_type("font/otf", ".otf")
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("text/css", ".css")


class ResourceRefused(FatalURLFetchingError):
    """A document asked for a resource it may not have."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        shown = url if len(url) <= 120 else url[:117] + "..."
        super().__init__(f"refused to load {shown!r}: {reason}")

    def __reduce__(self):  # picklable: a render worker sends it back to its parent
        return (type(self), (self.url, self.reason))


class SafeFetcher(URLFetcher):
    """URL fetcher limited to local files under ``roots`` and small ``data:`` URLs."""

    def __init__(self, roots: list[Path], *, max_data_bytes: int = MAX_DATA_URL_BYTES,
                 max_file_bytes: int = MAX_FILE_BYTES):
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True)
        self.roots = [Path(os.path.realpath(r)) for r in roots if r]
        self.max_data_bytes = max_data_bytes
        self.max_file_bytes = max_file_bytes
        self.fetched: list[str] = []
        self.refused: list[ResourceRefused] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:  # noqa: D401 - WeasyPrint API
        try:
            return self._fetch(url)
        except ResourceRefused as exc:
            self.refused.append(exc)
            raise

    def _fetch(self, url: str) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._fetch_data(url)
        if scheme == "file":
            return self._fetch_file(url)
        raise ResourceRefused(url, f"the {scheme or 'relative'!s} scheme is not allowed "
                                   "(publications may only use the project's files and the dataset's assets/ folder)")

    def _fetch_data(self, url: str) -> URLFetcherResponse:
        header, sep, payload = url[5:].partition(",")
        if not sep:
            raise ResourceRefused(url, "malformed data: URL")
        # Quick bound before decoding: base64 grows data by 4/3.
        if len(payload) > self.max_data_bytes * 2:
            raise ResourceRefused(url, f"data: URL larger than {self.max_data_bytes} bytes")
        parts = header.split(";")
        mime = parts[0] or "text/plain"
        try:
            body = base64.b64decode(payload, validate=False) if "base64" in parts[1:] else unquote_to_bytes(payload)
        except ValueError:
            raise ResourceRefused(url, "malformed base64 in data: URL") from None
        if len(body) > self.max_data_bytes:
            raise ResourceRefused(url, f"data: URL larger than {self.max_data_bytes} bytes")
        self.fetched.append("data:" + mime)
        return URLFetcherResponse(url, body, {"Content-Type": mime})

    def _fetch_file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ResourceRefused(url, "file URLs on another host are not allowed")
        path = Path(os.path.realpath(unquote(parts.path)))
        if not any(path == root or root in path.parents for root in self.roots):
            raise ResourceRefused(url, "the file is outside the project's templates and the dataset's assets/ folder")
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                raise ResourceRefused(url, f"the file is larger than {self.max_file_bytes} bytes")
            body = path.read_bytes()
        except OSError as exc:
            raise ResourceRefused(url, f"cannot read it ({exc.strerror})") from None
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.fetched.append(str(path))
        return URLFetcherResponse(path.as_uri(), body, {"Content-Type": mime})
