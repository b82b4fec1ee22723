"""What a published HTML file depends on, besides its own bytes: the local stylesheets, fonts and images it uses.

The build hashes exactly these files into each publication's key, so a change to ``country.css`` re-renders the
country briefs and nothing else, and a change to a font re-renders everything that uses it.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINK_RE = re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']([^"']+)["'][^>]*>""", re.I)
_REL_STYLESHEET_RE = re.compile(r"""\brel\s*=\s*["'][^"']*stylesheet""", re.I)
_IMG_RE = re.compile(r"""<img\b[^>]*\bsrc\s*=\s*["']([^"']+)["']""", re.I)
_CSS_REF_RE = re.compile(r"""@import\s+(?:url\()?\s*["']([^"']+)["']|url\(\s*["']?([^"')\s]+)["']?\s*\)""")


def css_references(css: str) -> list[str]:
    """Relative references of a stylesheet (``@import`` and ``url()``), comments ignored; absolute URLs,
    ``data:`` URIs, fragments and root-relative paths left out."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    refs = []
    for m in _CSS_REF_RE.finditer(css):
        ref = m.group(1) or m.group(2)
        if ref and ":" not in ref and not ref.startswith(("#", "/")):
            refs.append(ref)
    return refs


@lru_cache(maxsize=256)
def _css_file_references(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    return tuple(css_references(Path(path).read_text(encoding="utf-8", errors="replace")))


def _local(ref: str, base: Path) -> Path | None:
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (base.parent / unquote(parts.path)).resolve()


def html_dependencies(html: str, html_path: Path) -> list[Path]:
    """Local files an HTML page loads (stylesheets, transitively their imports and fonts, images), sorted."""
    todo: list[Path] = []
    for m in _LINK_RE.finditer(html):
        if _REL_STYLESHEET_RE.search(m.group(0)):
            p = _local(m.group(1), html_path)
            if p:
                todo.append(p)
    for m in _IMG_RE.finditer(html):
        p = _local(m.group(1), html_path)
        if p:
            todo.append(p)
    return css_closure(todo)


def css_closure(paths: list[Path]) -> list[Path]:
    """These files and, for stylesheets among them, transitively what they import and load (fonts, images), sorted."""
    seen: set[Path] = set()
    todo = list(paths)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        if p.suffix == ".css" and p.is_file():
            st = p.stat()  # parsed once per file version, not once per publication
            for ref in _css_file_references(str(p), st.st_mtime_ns, st.st_size):
                q = _local(ref, p)
                if q:
                    todo.append(q)
    return sorted(seen)


@lru_cache(maxsize=4096)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file ('missing' when absent), cached per process by (path, mtime, size)."""
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return _file_digest(str(path), st.st_mtime_ns, st.st_size)


def dependencies_digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        try:
            name = p.relative_to(root.resolve()).as_posix()
        except ValueError:
            name = p.name
        h.update(name.encode() + b"\0" + file_digest(p).encode() + b"\n")
    return h.hexdigest()
