"""The publish stage: what a build writes besides the publications themselves, and its clean-up.

- :func:`publish_data`: the data files (``{output}/data/*.csv``, ``figures.xlsx``) and the changes report; the
  first render job runs it in a process of its own while its workers render (:mod:`reportgen.worker`).
- :func:`finish`: the index stage: the index page (:mod:`reportgen.site`), removal of the publications the data no
  longer calls for and of temporary files a killed build left, pruning of stored charts, the list of published
  publications and the summary (:mod:`reportgen.summary`).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from . import state
from .model import KIND_FOLDER, LANGUAGES, Doc
from .settings import Settings
from .site import write_index
from .summary import summarize


def publish_data(s: Settings, ds, figures, languages: tuple[str, ...], epoch: int) -> None:
    """The data files (``{output}/data/*.csv`` and ``figures.xlsx``) and the what-changed report
    (``changes.json``/``changes.html``, see :mod:`reportgen.changes`).

    No publication reads them, so the first render job writes them in a process of its own while its workers
    render (on a 20,000-action dataset the workbook alone takes ~7 s, which would otherwise hold every rebuild).
    """
    # Imported here for start-up time: the index stage (finish) must not import pandas.
    from .aggregate import data_tables
    from .changes import update_changes
    from .export import write_data

    update_changes(s, ds, figures, languages)
    write_data(data_tables(ds, figures), s.output / "data", epoch=epoch)


def published_documents(output: Path) -> set[str]:
    """The keys of the publications present in the output folder (an HTML or PDF file where a publication goes),
    whoever wrote them: a build, ``reportgen brief``, a build of other data or languages."""
    keys = set()
    for lang in LANGUAGES:
        root = Path(output) / lang
        if not root.is_dir():
            continue
        candidates = [(root / f"synthesis{ext}", Doc(lang, "synthesis")) for ext in (".html", ".pdf")]
        for kind in ("region", "country"):
            for p in (root / KIND_FOLDER[kind]).glob("*.*"):
                if p.suffix in (".html", ".pdf") and not p.name.startswith("."):
                    candidates.append((p, Doc(lang, kind, p.stem)))
        keys |= {doc.key for p, doc in candidates if p.is_file()}
    return keys


def remove_stale(s: Settings, plan: dict) -> list[str]:
    """Take out of the output folder every publication the plan does not call for, so that it holds what a clean
    build would: those of a language the plan leaves out (config ``languages``) move to the state's cache, with
    their state, for a later build of that language (:func:`reportgen.worker.restore_cached`); the others (a
    country removed from the data, another dataset's) are deleted with their state. Cached publications of the
    plan's languages that were not put back are deleted too. Returns the keys taken out."""
    current = {d["key"] for d in plan["documents"]}
    languages = set(plan["languages"])
    removed = []
    for key in sorted(published_documents(s.output) - current):
        doc = Doc.from_key(key)
        for ext in (".html", ".pdf"):
            p = s.output / f"{doc.stem}{ext}"
            if not p.is_file():
                continue
            if doc.lang in languages:
                p.unlink()
            else:
                cached = state.cached_path(s.output, doc, ext)
                cached.parent.mkdir(parents=True, exist_ok=True)
                os.replace(p, cached)
        if doc.lang in languages:
            state.doc_state_path(s.output, doc).unlink(missing_ok=True)
            shutil.rmtree(state.renders_dir(s.output, doc), ignore_errors=True)
        removed.append(key)
    cache = state.cache_dir(s.output)
    for lang in languages:
        if (cache / lang).is_dir():
            shutil.rmtree(cache / lang, ignore_errors=True)
    return removed


def remove_stale_temporary_files(s: Settings, before: float) -> list[str]:
    """Delete temporary files (``.name.XXXX.part``) of writes a killed build never finished.

    Called by the index stage: every other stage of this build is over and the workflow's lock keeps other builds
    of this output folder out, so a temporary file older than the stage's start belongs to no running write.
    """
    removed = []
    for p in sorted(s.output.rglob(".*.part")):
        try:
            if p.is_file() and p.stat().st_mtime < before:
                p.unlink()
                removed.append(p.relative_to(s.output).as_posix())
        except OSError:
            continue
    return removed


def prune_chart_store(folder: Path, before: float) -> int:
    """Delete stored charts no document of this build used (pandas-free: the index stage does not load the model)."""
    removed = 0
    for p in folder.glob("*/*.svg") if folder.is_dir() else []:
        try:
            if p.stat().st_mtime < before:
                p.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def finish(s: Settings) -> dict:
    """The index stage: write the index page, remove stale publications, record the summary; return it."""
    remove_stale_temporary_files(s, time.time())
    plan = state.read_plan(s.output)
    previous = state.read_published(s.output)
    if set(plan["languages"]) >= {k.split("/", 1)[0] for k in previous}:
        # Every publication's context was made by this build (unchanged ones too): a chart it did not use is stale.
        prune_chart_store(state.chart_store(s.output), float(plan["started"]))
    removed = remove_stale(s, plan)
    results = state.collect_results(s.output, plan)
    write_index(s, plan, results)
    # The output holds the plan's publications only (those of languages left out are in the state's cache).
    state.write_json(state.published_path(s.output), sorted(published_documents(s.output)))
    state.commit_snapshot(s.output)
    summary = summarize(s, plan, results, removed)
    state.write_json(state.summary_path(s.output), summary)
    return summary
