"""The build's stage entry points, one per rule of the workflow: prepare (validation included) → render → index.

Each reads what the stage before it left in the build state (:mod:`reportgen.state`) and writes what the next one
reads; the work itself lives in the modules of each stage:

- :func:`stage_validate` — :mod:`reportgen.validate`, report pages by :mod:`reportgen.review`;
- :func:`stage_prepare` — figures (:mod:`reportgen.aggregate`), assets (:mod:`reportgen.assets`), the plan
  (:mod:`reportgen.plan`);
- :func:`stage_render` — the render pool (:mod:`reportgen.worker`);
- :func:`stage_index` — the index page and clean-up (:mod:`reportgen.publish`).

Heavy libraries are imported by the stage that needs them (inside the functions): ``reportgen index`` and
``reportgen summary`` never import pandas or WeasyPrint, and start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time

from . import atomic, state
from .console import problem_lines, say
from .errors import ReportgenError, ValidationFailed, has_errors
from .settings import Settings, source_date_epoch, template_dirs


def stage_validate(s: Settings, *, quiet: bool = False):
    """Validate the dataset; write validation.json/.html; return the result (with the validated dataset).

    Raises ValidationFailed (after writing the report) when the dataset has errors. Publications are untouched.

    The report is a published file: whoever calls this (the prepare stage, ``reportgen validate --output``,
    ``reportgen brief``), the workflow's stage results are removed first, so that the next build runs every stage
    again instead of judging the output up to date (:func:`reportgen.state.invalidate_workflow`).
    """
    # Imported here for start-up time: pandas and pandera load only for the stages that validate.
    from .validate import TableCache, validate_dataset

    result = validate_dataset(s.data, max_xlsx_bytes=int(s.max_xlsx_mb * 1_000_000),
                              cache=TableCache(state.validated_dir(s.output)))
    state.invalidate_workflow(s.output)
    if not quiet:
        for line in problem_lines(result.problems, report=s.output / "validation.html"):
            say(line)
    record_validation(s, result.problems, result.dataset)
    if has_errors(result.problems):
        raise ValidationFailed(result.problems)
    return result


def record_validation(s: Settings, problems: list, dataset=None) -> None:
    """Write the validation report (every problem, in the evaluation's main language) and the build state's marker
    of a failed validation (removed when the dataset has no error). The preview records its validations through
    this too. ``dataset``: the validated dataset, when there is one (it says the main language)."""
    from .review import main_language, write_validation_report

    write_validation_report(problems, s.output, s.data, lang=main_language(s.data, dataset),
                            template_dirs=template_dirs(s.templates))
    marker = state.validation_failed_path(s.output)
    if has_errors(problems):
        atomic.write_text(marker, f"{sum(p.severity == 'error' for p in problems)}\n")
    else:
        marker.unlink(missing_ok=True)


def prepare_model(s: Settings, *, quiet: bool = False, assets: bool = True):
    """Validate (:func:`stage_validate`), compute every figure, copy the assets and plan the rendering, writing
    nothing into the build state: returns ``(ds, figures, plan)``. The prepare stage stores them for the other
    stages; ``reportgen brief`` keeps them in memory (it works in its own state: see docs/architecture.md), and
    copies the assets itself (``assets=False``) once it knows its publication exists: a brief that fails publishes
    nothing."""
    # Imported here for start-up time (pandas).
    from .aggregate import compute_figures
    from .plan import make_plan, plan_documents

    started = time.time()
    ds = stage_validate(s, quiet=quiet).dataset
    languages = s.languages or ds.evaluation.languages
    unknown = [lang for lang in languages if lang not in ds.evaluation.languages]
    if unknown:
        raise ReportgenError(f"languages {unknown} are not declared in evaluation.yaml "
                             f"(it declares {list(ds.evaluation.languages)}); fix the languages config key")
    epoch = source_date_epoch(ds.evaluation.published, s.data_date)
    figures = compute_figures(ds)
    if assets:
        publish_assets(s)
    docs = plan_documents(ds, languages)
    measured = {}
    for d in docs:
        st = state.read_doc_state(s.output, d)
        if st and st.get("seconds"):
            measured[d.key] = float(st["seconds"])
    plan = make_plan(docs, languages=list(languages), shards=s.shards, epoch=epoch, started=started,
                     measured=measured)
    return ds, figures, plan


def publish_assets(s: Settings) -> None:
    """Copy the stylesheets, fonts and the dataset's images into the output folder, as the prepare stage does."""
    from .assets import copy_assets  # imported here for start-up time, as in prepare_model

    copy_assets(template_dirs(s.templates), s.data, s.output)


def stage_prepare(s: Settings, *, quiet: bool = False) -> dict:
    """Validate the dataset (:func:`stage_validate`), compute every figure, copy the assets and write the render
    plan. The data files are written by the first render job, while its workers render.

    A build state of another version (or unreadable) is wiped first (:func:`reportgen.state.ensure_version`).

    One stage, one process: validating in a job of its own cost a second Python start, pandas import and a
    pickle of the dataset on every build (~0.7 s, 2 % of a build of the embedded dataset)."""
    # Imported here for start-up time (pandas, through the catalogue's names).
    from .site import write_catalog_data

    if state.ensure_version(s.output):
        say(f"the build state in {state.state_dir(s.output)} was written by another version of reportgen: "
            "it was reset (every publication is checked again)")
    ds, figures, plan = prepare_model(s, quiet=quiet)
    state.write_pickle(state.model_path(s.output), (ds, figures))
    write_catalog_data(s, ds)
    state.write_json(state.plan_path(s.output), plan)
    if not quiet:
        say(f"prepared {len(plan['documents'])} publications in {len(plan['languages'])} language(s) for "
            f"{s.shards} render job(s)")
    return plan


def stage_render(s: Settings, shard: int, *, jobs: int | None = None) -> list:
    """Render shard ``shard`` of the plan (HTML and PDF); shard 0 also writes the data files."""
    # Imported here for start-up time: WeasyPrint, matplotlib and the templates load only in render jobs.
    from .worker import render_shard

    with temporary_folder(state.tmp_dir(s.output, f"render-{shard}")):
        return render_shard(s, shard, jobs=jobs)


@contextlib.contextmanager
def temporary_folder(folder):
    """Make ``folder`` (emptied first: a killed job's leftovers) the temporary folder of this process and of those it
    starts, and remove it at the end: WeasyPrint's font folders (one per worker, which exit without removing
    theirs) never reach the system's temporary folder."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    saved = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved[0]
        if saved[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved[1]
        shutil.rmtree(folder, ignore_errors=True)


def stage_index(s: Settings) -> dict:
    """Write the index page, remove stale publications, record the summary (:func:`reportgen.publish.finish`)."""
    # Imported here for start-up time: the publish stage imports the data-file writers.
    from .publish import finish

    return finish(s)
