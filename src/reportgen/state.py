"""The build state: every path of the hidden folder ``{output}/.reportgen/`` and its readers.

The one home of the state's layout. The workflow's rules (``rules/common.smk``), every stage, ``serve``, ``brief``
and the tests take these names from here; nothing else spells a path inside ``.reportgen/``.

Layout (relative to the output folder)::

    .reportgen/
      version                  the state's format (STATE_VERSION) and reportgen's version; anything else: rebuilt
      config.json              the workflow's config, rewritten when it changes: an input of every stage
      plan.json                the render plan: languages, epoch, documents and their shard (written by prepare)
      model.pickle             the validated dataset and its figures (prepare → render)
      catalog.pickle           what the index page needs of the dataset, pandas-free (prepare → index)
      validation-failed        present while the last validation failed (its error count)
      docs/{lang}/…/{x}.json   per publication: key, file signatures, pages, title, seconds (render), prekey and
                               rendered (what its HTML was made from, the digest of that HTML)
      shards/{n}.json          a render job's manifest (its Snakemake output); {n}.failed.json when it failed
      published.json           the publications the last index stage published
      summary.json             the last build's summary
      index.done               the workflow's final target
      charts/                  charts kept across builds (by content key)
      cache/{lang}/…/{x}.html|pdf  publications of languages the last build left out (config ``languages``), kept
                               with their docs/ state so that widening the languages again re-renders nothing
      renders/{lang}/…/{x}/{key}.html|pdf|json  the last renders of a publication that a new render replaced (hard
                               links: no copy), with their state, put back when its key is theirs again (a setting
                               changed and changed back re-renders nothing)
      snapshot.json            what the last build published (changes report), snapshot.previous.json before it;
                               snapshot.pending.json: what the running build will publish (committed by index)
      logs/, benchmarks/       Snakemake's logs and benchmarks of each rule
      tmp/                     the temporary folder of render jobs and of the preview (WeasyPrint's font folders),
                               removed when they end: nothing is left in the system's temporary folder

The state is trusted like the code (pickles): see docs/security.md. It is never trusted blindly either:

- ``version`` names the state's format and reportgen's version; the prepare stage wipes a state of another version
  (or without one) before writing its own (:func:`ensure_version`), and the render and index stages refuse a plan
  of another version (:func:`read_plan`);
- the workflow's stage results (plan, model, catalogue, shard manifests, ``index.done``) are what Snakemake judges
  up to date by their modification times. A command that writes into the output folder outside the workflow
  (``reportgen validate --output``, ``reportgen brief``) or a stage that finds them unreadable removes them
  (:func:`invalidate_workflow`), so that the next build runs every stage again (re-rendering only what changed: the
  per-publication keys decide that);
- per-publication state (``docs/``) records a content key and the signatures of the files it describes, whoever
  wrote them, so it stays true whatever command ran.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from . import __version__, atomic
from .errors import ReportgenError
from .model import Doc
from .plan import PLAN_VERSION

#: The folder's name inside the output folder (hidden: not a publication).
DIR = ".reportgen"

# Names inside DIR. The workflow's rules use these too (rules/common.smk).
PLAN = "plan.json"
MODEL = "model.pickle"
CATALOG = "catalog.pickle"
VALIDATION_FAILED = "validation-failed"
PUBLISHED = "published.json"
SUMMARY = "summary.json"
INDEX_DONE = "index.done"
CHARTS = "charts"
DOCS = "docs"
SHARDS = "shards"
SNAPSHOT = "snapshot.json"
SNAPSHOT_PREVIOUS = "snapshot.previous.json"
SNAPSHOT_PENDING = "snapshot.pending.json"
LOGS = "logs"
BENCHMARKS = "benchmarks"
VERSION = "version"
CONFIG = "config.json"
TMP = "tmp"
CACHE = "cache"
RENDERS = "renders"
VALIDATED = "validated"
#: How many replaced renders of each publication ``renders/`` keeps (the most recent ones).
KEPT_RENDERS = 2

#: Bumped whenever the meaning or format of a file above changes: state of another version is not trusted.
STATE_VERSION = 3

#: What the stage results of the workflow are (see :func:`invalidate_workflow`).
WORKFLOW_RESULTS = (PLAN, MODEL, CATALOG, INDEX_DONE)
#: Kept when a state of another version is wiped: Snakemake's own logs and benchmarks (it writes them itself) and
#: the run's config (an input of every stage, written when the workflow is parsed).
KEPT_ON_RESET = (LOGS, BENCHMARKS, CONFIG)


def state_dir(output: Path) -> Path:
    return Path(output) / DIR


def plan_path(output: Path) -> Path:
    return state_dir(output) / PLAN


def model_path(output: Path) -> Path:
    return state_dir(output) / MODEL


def catalog_path(output: Path) -> Path:
    return state_dir(output) / CATALOG


def validation_failed_path(output: Path) -> Path:
    return state_dir(output) / VALIDATION_FAILED


def published_path(output: Path) -> Path:
    return state_dir(output) / PUBLISHED


def summary_path(output: Path) -> Path:
    return state_dir(output) / SUMMARY


def index_done_path(output: Path) -> Path:
    return state_dir(output) / INDEX_DONE


def chart_store(output: Path) -> Path:
    """Charts kept from one build to the next (see :func:`reportgen.context.chart_svg`)."""
    return state_dir(output) / CHARTS


def tmp_dir(output: Path, name: str) -> Path:
    """A temporary folder of the build state (``tmp/{name}``), for a process that removes it when it ends."""
    return state_dir(output) / TMP / name


def doc_state_path(output: Path, doc: Doc) -> Path:
    return state_dir(output) / DOCS / f"{doc.stem}.json"


def shard_manifest(output: Path, shard: int) -> Path:
    return state_dir(output) / SHARDS / f"{shard}.json"


def shard_failed(output: Path, shard: int) -> Path:
    return state_dir(output) / SHARDS / f"{shard}.failed.json"


def snapshot_path(output: Path, *, previous: bool = False) -> Path:
    return state_dir(output) / (SNAPSHOT_PREVIOUS if previous else SNAPSHOT)


def pending_snapshot_path(output: Path) -> Path:
    return state_dir(output) / SNAPSHOT_PENDING


def commit_snapshot(output: Path) -> bool:
    """The index stage, once every publication is published: the pending snapshot (:func:`reportgen.changes.
    update_changes`) becomes what the output publishes, the current one becoming the previous one when they
    differ. A build that fails or is killed before commits nothing, so the history follows the published content,
    never a build's intentions. Returns True when the history moved."""
    pending, current = pending_snapshot_path(output), snapshot_path(output)
    if not pending.is_file():
        return False
    try:
        same = pending.read_bytes() == current.read_bytes()
    except OSError:
        same = False
    if same:
        pending.unlink()
        return False
    if current.is_file():
        os.replace(current, snapshot_path(output, previous=True))
    else:
        snapshot_path(output, previous=True).unlink(missing_ok=True)
    os.replace(pending, current)
    return True


def version_path(output: Path) -> Path:
    return state_dir(output) / VERSION


def validated_dir(output: Path) -> Path:
    """The tables the last validation read and checked (:class:`reportgen.validate.TableCache`)."""
    return state_dir(output) / VALIDATED


def cache_dir(output: Path) -> Path:
    """Publications of languages the last build left out, kept for a build that asks for them again."""
    return state_dir(output) / CACHE


def cached_path(output: Path, doc: Doc, ext: str) -> Path:
    return cache_dir(output) / f"{doc.stem}{ext}"


def renders_dir(output: Path, doc: Doc) -> Path:
    """The kept renders of a publication (see :func:`keep_render`)."""
    return state_dir(output) / RENDERS / doc.stem


def keep_render(output: Path, doc: Doc) -> bool:
    """Before a render replaces a publication: keep its files as they are (hard links, so nothing is copied and
    size and modification time stay those its state records) with that state, under its key; keep the
    the :data:`KEPT_RENDERS` most recent ones. Nothing is kept when the files are not the ones the state
    describes. Returns True when they were kept."""
    last = read_doc_state(output, doc)
    published = {ext: Path(output) / f"{doc.stem}{ext}" for ext in (".html", ".pdf")}
    if not last or not isinstance(last.get("key"), str) or any(
            last.get(ext[1:]) is None or last.get(ext[1:]) != file_signature(p) for ext, p in published.items()):
        return False
    folder = renders_dir(output, doc)
    folder.mkdir(parents=True, exist_ok=True)
    key = last["key"]
    try:
        for ext, p in published.items():
            kept = folder / f"{key}{ext}"
            kept.unlink(missing_ok=True)
            os.link(p, kept)
    except OSError:  # a file system without hard links: nothing kept
        for ext in published:
            (folder / f"{key}{ext}").unlink(missing_ok=True)
        return False
    write_json(folder / f"{key}.json", last)
    states = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in states[KEPT_RENDERS:]:
        for ext in (".html", ".pdf", ".json"):
            old.with_suffix(ext).unlink(missing_ok=True)
    return True


def restore_render(output: Path, doc: Doc, key: str) -> dict | None:
    """Put back the kept render of ``doc`` whose key is ``key`` (its files and its state), when its files are
    still the ones its state records, keeping the render it replaces; returns that state, else None."""
    folder = renders_dir(output, doc)
    kept = read_json(folder / f"{key}.json")
    if not isinstance(kept, dict) or kept.get("key") != key:
        return None
    files = {ext: folder / f"{key}{ext}" for ext in (".html", ".pdf")}
    if any(kept.get(ext[1:]) is None or kept.get(ext[1:]) != file_signature(p) for ext, p in files.items()):
        return None
    # Linked beside the published files first: keeping the render it replaces may prune this one from renders/.
    moves = []
    for ext, p in files.items():
        published = Path(output) / f"{doc.stem}{ext}"
        published.parent.mkdir(parents=True, exist_ok=True)
        tmp = published.with_name(f".{published.name}.restore.part")
        tmp.unlink(missing_ok=True)
        os.link(p, tmp)
        moves.append((tmp, published))
    keep_render(output, doc)  # the render it replaces, in turn
    for tmp, published in moves:
        os.replace(tmp, published)
    write_json(doc_state_path(output, doc), kept)
    return kept


# --------------------------------------------------------------------------------------------------------------
# Versions and invalidation
# --------------------------------------------------------------------------------------------------------------

def version_stamp() -> dict:
    """What ``.reportgen/version`` holds: the state's format and the reportgen version that wrote it."""
    return {"state": STATE_VERSION, "reportgen": __version__}


def version_ok(output: Path) -> bool:
    return read_json(version_path(output)) == version_stamp()


def ensure_version(output: Path) -> bool:
    """Make the state one this reportgen can trust: a state of another version, without a version or unreadable
    is wiped (Snakemake's logs and benchmarks kept) and the version written. Returns True when it was wiped."""
    root = state_dir(output)
    if version_ok(output):
        return False
    wiped = False
    if root.is_dir():
        for p in root.iterdir():
            if p.name in KEPT_ON_RESET:
                continue
            wiped = True
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    write_json(version_path(output), version_stamp())
    return wiped


def invalidate_workflow(output: Path) -> None:
    """Remove the workflow's stage results (plan, model, catalogue, shard manifests, ``index.done``): the next build
    runs every stage again. For a command that wrote into the output folder outside the workflow, whose files the
    workflow would otherwise judge up to date by their modification times, and for a state found unreadable."""
    root = state_dir(output)
    if not root.is_dir():  # no state (or no output folder yet): nothing to invalidate
        return
    for name in WORKFLOW_RESULTS:
        (root / name).unlink(missing_ok=True)
    shards = root / SHARDS
    if shards.is_dir():
        for p in shards.glob("*.json"):
            p.unlink(missing_ok=True)


def dump_json(obj: Any) -> str:
    """The one JSON style of the state files: sorted keys, one space indent, trailing newline."""
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def read_json(path: Path) -> Any | None:
    """A state file's content, or None when it is missing or unreadable (the caller rebuilds it)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, obj: Any) -> None:
    atomic.write_text(path, dump_json(obj))


def read_pickle(path: Path, what: str) -> Any:
    """A pickle the prepare stage wrote; when it cannot be read, the workflow's results are removed (the next build
    prepares again) and a clear error says to run the build again."""
    try:
        return pickle.loads(Path(path).read_bytes())
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle means the state is not to be trusted
        if Path(path).parent.name == DIR:
            invalidate_workflow(Path(path).parent.parent)
        raise ReportgenError(f"cannot read the {what} at {path} ({type(exc).__name__}: {exc}); the build state "
                             "was reset: run the build again (snakemake --cores all)") from None


def write_pickle(path: Path, obj: Any) -> None:
    atomic.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def read_plan(output: Path) -> dict:
    """The render plan, or a ReportgenError saying to run the whole workflow. A plan of another version of the
    state, or a state without this reportgen's version, is not trusted: the workflow's results are removed."""
    plan = read_json(plan_path(output))
    if not isinstance(plan, dict):
        raise ReportgenError(f"no render plan at {plan_path(output)}; run the whole workflow "
                             "(snakemake --cores all)")
    if plan.get("version") != PLAN_VERSION or not version_ok(output):
        invalidate_workflow(output)
        raise ReportgenError(f"the build state in {state_dir(output)} was written by another version of reportgen "
                             "and was reset; run the whole workflow again (snakemake --cores all)")
    return plan


def read_doc_state(output: Path, doc: Doc) -> dict | None:
    st = read_json(doc_state_path(output, doc))
    return st if isinstance(st, dict) else None


def read_published(output: Path) -> set[str]:
    """The keys of the publications the last index stage published (empty when unknown)."""
    keys = read_json(published_path(output))
    return set(keys) if isinstance(keys, list) else set()


def file_signature(p: Path) -> list[int] | None:
    """(size, mtime_ns) of a published file: tells whether it is still the one the last build wrote."""
    try:
        st = Path(p).stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def collect_results(output: Path, plan: dict) -> list[dict]:
    """The render jobs' results for the plan's documents (from their manifests, failed ones included)."""
    results = {}
    for shard in range(int(plan["shards"])):
        for path in (shard_manifest(output, shard), shard_failed(output, shard)):
            manifest = read_json(path)
            try:
                for d in manifest["documents"]:
                    results[d["key"]] = d
            except (TypeError, KeyError):
                continue
    return [results[d["key"]] for d in plan["documents"] if d["key"] in results]
