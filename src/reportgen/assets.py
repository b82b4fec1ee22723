"""What a build publishes under ``{output}/assets/``: stylesheets and fonts, and the dataset's own images.

The one home of the dataset-image rule (:func:`dataset_images`): validation warns about every image it leaves
out, the prepare stage publishes exactly those, and a narrative shows an image only when the rule publishes it
(:func:`image_url`). docs/dataset.md states the rule (``assets/`` section).
"""

from __future__ import annotations

import re
from pathlib import Path

from . import atomic
from .errors import Msg, Number, Problem
from .fields import both
from .i18n import N_
from .load import problem

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
        return Msg(N_("hidden files are not published"))
    if f.is_symlink():
        return Msg(N_("symbolic links are not published; copy the image into %(folder)s"), folder="assets/")
    if not f.is_file():
        return Msg(N_("no such file in the dataset's %(folder)s folder"), folder="assets/")
    if f.suffix.lower() not in DATA_IMAGE_SUFFIXES:
        return Msg(N_("only %(suffixes)s images are published"), suffixes=", ".join(DATA_IMAGE_SUFFIXES))
    if not IMAGE_PATH.fullmatch(f"assets/{rel}"):
        return Msg(N_("its name has characters other than letters, digits, %(characters)s"),
                   characters=both(["'.', '_'", "'-'"]))
    size = f.stat().st_size
    if size > MAX_DATA_IMAGE_BYTES:
        return Msg(N_("it has %(size)s MB, more than the %(most)s MiB an image may have; reduce it (resize or "
                      "compress)"), size=Number(size / 1e6, digits=1, grouped=False),
                   most=MAX_DATA_IMAGE_BYTES // (1024 * 1024))
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


#: Markdown image syntax ``![alt](path "title")``: what a narrative asks to show.
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?")


def image_problems(data_root: Path, narratives: dict[tuple[str, str, str | None], str],
                   narrative_files: dict[tuple[str, str, str | None], str]) -> list[Problem]:
    """Warnings for the images the rule leaves out: a file under ``assets/`` that is not published (and why), and
    a narrative image ``assets/…`` that shows only its text alternative because no published image has that path.

    ``narratives`` maps (lang, kind, code) to Markdown text, ``narrative_files`` the same keys to the file's path
    relative to the dataset folder (as problems name it)."""
    problems = []
    folder = Path(data_root) / "assets"
    published = dataset_images(data_root)
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            rel = f.relative_to(folder).as_posix()
            if f.is_dir() and not f.is_symlink():
                continue
            why = image_refusal(folder, rel)
            if why is not None and not any(part.startswith(".") for part in rel.split("/")):
                problems.append(problem(f"assets/{rel}", "image_not_published",
                                        Msg(N_("this file is not published: %(why)s"), why=why),
                                        value=rel, severity="warning"))
    for key, text in sorted(narratives.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        for number, line in enumerate(text.splitlines(), start=1):
            for m in _MARKDOWN_IMAGE.finditer(line):
                path = m.group(1)
                if not path.startswith("assets/"):
                    continue
                if image_url(path, published, "") is None:
                    rel = path.split("/", 1)[1]
                    why = image_refusal(folder, rel) if IMAGE_PATH.fullmatch(path) else Msg(
                        N_("an image path is %(folder)s followed by names of letters, digits, %(characters)s, "
                           "ending in %(suffixes)s"), folder="assets/", characters=both(["'.', '_'", "'-'"]),
                        suffixes=", ".join(DATA_IMAGE_SUFFIXES))
                    problems.append(problem(narrative_files.get(key, "narrative"), "image_not_published",
                                            Msg(N_("the image %(path)s is not published (%(why)s): the page shows "
                                                   "its text alternative instead; add the file to the dataset's "
                                                   "%(folder)s folder or fix the path"), path=repr(path), why=why,
                                                folder="assets/"), row=number, value=path, severity="warning"))
    return problems


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
