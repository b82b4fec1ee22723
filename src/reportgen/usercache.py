"""What reportgen keeps between processes for every project of this user: compiled templates and message catalogs.

Both are pure functions of files that rarely change (the templates, the ``.po`` catalogs) and cost every process
that renders a page 0.1–0.4 s to compute again: the render job, the ``index`` job, the preview. Like Python's
``__pycache__``, each entry is checked against what it was made from, and a folder is named by a digest of
everything else that shapes its entries, so a stale entry is never used. Not in the output folder (a first build
into an empty folder uses it too) nor in the temporary directory (a build leaves it as it found it).

``$REPORTGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/reportgen``, else ``~/.cache/reportgen``; an empty
``REPORTGEN_CACHE_DIR`` turns it off. A cache that cannot be written is no cache, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

CACHE_ENV = "REPORTGEN_CACHE_DIR"


def cache_root() -> Path | None:
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return Path(given) if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reportgen"


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part.encode() if isinstance(part, str) else part).digest())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of reportgen's own modules (a few milliseconds): an entry made by other code is never used."""
    package = Path(__file__).resolve().parent
    return digest(*(part for path in sorted(package.glob("*.py")) for part in (path.name, path.read_bytes())))


def cache_folder(kind: str, key: str) -> Path | None:
    """The folder ``<root>/<kind>/<key>`` (made private to the user), or None when there is no usable cache."""
    root = cache_root()
    if root is None:
        return None
    folder = root / kind / key
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    return folder
