"""What a build publishes under ``{output}/assets/``: stylesheets and fonts, and the dataset's own images.

The one home of the dataset-image rule (:func:`dataset_images`): validation warns about every image it leaves
out, the prepare stage publishes exactly those, and a narrative shows an image only when the rule publishes it
(:func:`image_url`). docs/dataset.md states the rule (``assets/`` section).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import atomic

#: The dataset's images a narrative may show: ``assets/<path>.png|jpg|jpeg|svg``.
DATA_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
#: Larger images are not published (and validation says so).
MAX_DATA_IMAGE_BYTES = 5 * 1024 * 1024
#: Where the dataset's images are published, relative to the output folder.
PUBLISHED_DATA_IMAGES = "assets/data/"
#: The form of an image path a narrative may use (``assets/…``: plain names, no ``..``, no scheme or query).
IMAGE_PATH = re.compile(r"assets/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.(?:png|jpe?g|svg)",
                        re.I)


def image_refusal(folder: Path, rel: str) -> str | None:
    """Why the file ``folder/rel`` (``rel`` relative to the dataset's ``assets/``) is not published, or None."""
    f = folder / rel
    if any(part.startswith(".") for part in rel.split("/")):
        return "hidden files are not published"
    if f.is_symlink():
        return "symbolic links are not published; copy the image into assets/"
    if not f.is_file():
        return "no such file in the dataset's assets/ folder"
    if f.suffix.lower() not in DATA_IMAGE_SUFFIXES:
        return f"only {', '.join(DATA_IMAGE_SUFFIXES)} images are published"
    if not IMAGE_PATH.fullmatch(f"assets/{rel}"):
        return "its name has characters other than letters, digits, '.', '_' and '-'"
    size = f.stat().st_size
    if size > MAX_DATA_IMAGE_BYTES:
        return (f"it has {size / 1e6:.1f} MB, more than the {MAX_DATA_IMAGE_BYTES // (1024 * 1024)} MiB an image "
                "may have; reduce it (resize or compress)")
    return None


def dataset_images(data_root: Path) -> dict[str, Path]:
    """The dataset's images the build publishes: ``{path relative to assets/: file}``, sorted."""
    folder = Path(data_root) / "assets"
    if not folder.is_dir():
        return {}
    out = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if (f.is_file() or f.is_symlink()) and image_refusal(folder, rel) is None:
            out[rel] = f
    return out


def image_url(path: str, published: dict[str, Path] | frozenset[str] | set[str], root: str) -> str | None:
    """URL (from a page whose way back to the output folder is ``root``) of a narrative image ``assets/…``, or
    None when the rule does not publish it (the page then shows its text alternative)."""
    if not IMAGE_PATH.fullmatch(path):
        return None
    rel = path.split("/", 1)[1]
    if rel not in published:
        return None
    return root + PUBLISHED_DATA_IMAGES + rel


def copy_assets(template_dirs: list[Path], data_root: Path, output: Path) -> list[Path]:
    """Copy stylesheets and fonts (override folder first in ``template_dirs``) and the dataset's published images
    to ``{output}/assets/``; remove assets no longer shipped. Returns the files written or kept."""
    wanted: dict[str, Path] = {}
    for base in reversed(template_dirs):  # the override folder, last, wins
        for sub in ("css", "fonts"):
            folder = base / sub
            if folder.is_dir():
                for f in sorted(folder.rglob("*")):
                    if f.is_file() and not f.name.startswith("."):
                        wanted[f"{sub}/{f.relative_to(folder).as_posix()}"] = f
    prefix = PUBLISHED_DATA_IMAGES.removeprefix("assets/")
    for rel, f in dataset_images(data_root).items():
        wanted[f"{prefix}{rel}"] = f
    assets = Path(output) / "assets"
    written = []
    for rel, src in sorted(wanted.items()):
        dst = assets / rel
        atomic.write_if_changed(dst, src.read_bytes())
        written.append(dst)
    if assets.is_dir():
        for f in assets.rglob("*"):
            if f.is_file() and f.relative_to(assets).as_posix() not in wanted:
                f.unlink()
    return written
