"""The build state: every path of the hidden folder ``{output}/.reportgen/`` and its readers.

The one home of the state's layout. The workflow's rules (``rules/common.smk``), every stage, ``serve``, ``brief``
and the tests take these names from here; nothing else spells a path inside ``.reportgen/``.

Layout (relative to the output folder)::

    .reportgen/
      version                  the state's format (STATE_VERSION) and reportgen's version; anything else: rebuilt
      plan.json                the render plan: languages, epoch, documents and their shard (written by prepare)
      model.pickle             the validated dataset and its figures (prepare → render)
      catalog.pickle           what the index page needs of the dataset, pandas-free (prepare → index)
      validation-failed        present while the last validation failed (its error count)
      docs/{lang}/…/{x}.json   per publication: key, file signatures, pages, title, seconds (render)
      shards/{n}.json          a render job's manifest (its Snakemake output); {n}.failed.json when it failed
      published.json           the publications the last index stage published
      summary.json             the last build's summary
      index.done               the workflow's final target
      charts/                  charts kept across builds (by content key)
      snapshot.json            what the last build published (changes report), snapshot.previous.json before it
      logs/, benchmarks/       Snakemake's logs and benchmarks of each rule
      tmp/                     the temporary folder of render jobs and of the preview (WeasyPrint's font folders),
                               removed when they end: nothing is left in the system's temporary folder

The state is trusted like the code (pickles): see docs/security.md.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from . import atomic
from .errors import ReportgenError
from .model import Doc

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
LOGS = "logs"
BENCHMARKS = "benchmarks"
VERSION = "version"
TMP = "tmp"

#: Bumped whenever the meaning or format of a file above changes: state of another version is not trusted.
STATE_VERSION = 2


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
    """A pickle the prepare stage wrote; a clear error (run the build again) when it cannot be read."""
    try:
        return pickle.loads(Path(path).read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise ReportgenError(f"cannot read the {what} at {path} ({exc}); run the build again "
                             "(snakemake --cores all --rerun-incomplete)") from None


def write_pickle(path: Path, obj: Any) -> None:
    atomic.write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def read_plan(output: Path) -> dict:
    """The render plan, or a ReportgenError saying to run the whole workflow."""
    plan = read_json(plan_path(output))
    if not isinstance(plan, dict):
        raise ReportgenError(f"no render plan at {plan_path(output)}; run the whole workflow "
                             "(snakemake --cores all)")
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
