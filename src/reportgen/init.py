"""`reportgen init DIR`: start a new evaluation from a minimal, valid, commented skeleton dataset.

The skeleton (``src/reportgen/skeleton/``) declares every key of the vocabulary with a comment saying what it is
and what leaving it out means; ``tests/test_init.py`` keeps it valid.
"""

from __future__ import annotations

from pathlib import Path

from . import atomic
from .errors import ReportgenError

SKELETON = Path(__file__).parent / "skeleton"


def skeleton_files() -> dict[str, bytes]:
    """The skeleton's files, by path relative to the dataset folder."""
    return {p.relative_to(SKELETON).as_posix(): p.read_bytes() for p in sorted(SKELETON.rglob("*")) if p.is_file()}


def init_dataset(folder: Path) -> list[Path]:
    """Write the skeleton into ``folder`` (created if needed); refuse to overwrite an existing file."""
    folder = Path(folder)
    files = skeleton_files()
    if folder.exists() and not folder.is_dir():
        raise ReportgenError(f"{folder} exists and is not a folder; give a new or empty folder")
    existing = [name for name in files if (folder / name).exists()]
    if existing:
        raise ReportgenError(f"{folder} already holds {', '.join(existing[:5])}; give a new or empty folder (nothing "
                             "was written)")
    written = []
    for name, data in files.items():
        path = folder / name
        atomic.write_bytes(path, data)
        written.append(path)
    return written
