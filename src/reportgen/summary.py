"""What a build says when it ends: its summary (built, unchanged, failed, removed; time) from the build state.

The index stage prints it for a successful run; the Snakefile's ``onerror`` runs ``reportgen summary`` for a
failed one. Pandas-free, so it starts fast.
"""

from __future__ import annotations

import os
import time

from . import state
from .console import say
from .settings import Settings


def summarize(s: Settings, plan: dict, results: list[dict], removed: list[str]) -> dict:
    counts = {k: sum(r["status"] == k for r in results) for k in ("built", "unchanged", "failed")}
    return {
        "documents": len(plan["documents"]),
        **counts,
        "removed": removed,
        "seconds": round(time.time() - float(plan.get("started", time.time())), 1),
        "failed_documents": [{"key": r["key"], "error": r["error"]} for r in results if r["status"] == "failed"],
    }


RUN_STARTED_ENV = "REPORTGEN_RUN_STARTED"


def run_started() -> float | None:
    """When the workflow run started, as the Snakefile tells its jobs (``REPORTGEN_RUN_STARTED``), else None."""
    try:
        return float(os.environ[RUN_STARTED_ENV])
    except (KeyError, ValueError):
        return None


def print_summary(s: Settings, *, since: float | None = None) -> int:
    """Print the last build's summary (also after a failed build); return 1 when anything failed.

    ``since``: when the workflow run started (the Snakefile passes it). A run in which no stage ran says that the
    publications are up to date, and a run's time is counted from ``since`` rather than from its plan.
    """
    marker = state.validation_failed_path(s.output)
    if marker.is_file():
        if since is not None:
            return 1  # a workflow run: its prepare stage printed the problems and where they are listed, once
        say(f"reportgen: the dataset has {marker.read_text().strip()} error(s): nothing was built and the "
             f"publications in {s.output} are unchanged; see {s.output / 'validation.html'}")
        return 1
    plan = state.read_json(state.plan_path(s.output))
    if not isinstance(plan, dict):
        return 0
    results = state.collect_results(s.output, plan)
    summary = summarize(s, plan, results, [])
    data_errors = _data_errors(s, plan)
    if since is not None and not data_errors and _nothing_ran_since(s, plan, since):
        say(f"reportgen: nothing to do: the {summary['documents']} publications in {s.output} are up to date")
        return 0
    seconds = round(time.time() - since, 1) if since is not None else summary["seconds"]
    missing = summary["documents"] - len(results)
    line = (f"reportgen: {summary['built']} built, {summary['unchanged']} unchanged, {summary['failed']} failed"
            + (f", {missing} not rendered" if missing else "") + f" of {summary['documents']} publications"
            f" in {seconds} s → {s.output}")
    say(line)
    for f in summary["failed_documents"]:
        say(f"  failed: {f['key']}: {f['error']}")
    for e in data_errors:
        say(f"  data files not written: {e}")
    return 1 if summary["failed"] or missing or data_errors else 0


def _data_errors(s: Settings, plan: dict) -> list[str]:
    out = []
    for shard in range(int(plan["shards"])):
        manifest = state.read_json(state.shard_failed(s.output, shard))
        if isinstance(manifest, dict) and manifest.get("data_error"):
            out.append(str(manifest["data_error"]))
    return out


def _nothing_ran_since(s: Settings, plan: dict, since: float) -> bool:
    """No stage of this output folder wrote its result since ``since`` (Snakemake found everything up to date)."""
    stamps = [state.plan_path(s.output), state.index_done_path(s.output),
              *(state.shard_manifest(s.output, i) for i in range(int(plan["shards"])))]
    return all(p.stat().st_mtime < since for p in stamps if p.exists())
