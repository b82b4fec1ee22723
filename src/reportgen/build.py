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

import time

from . import atomic, state
from .console import say
from .errors import ReportgenError, ValidationFailed, has_errors
from .settings import Settings, source_date_epoch, template_dirs


def stage_validate(s: Settings, *, quiet: bool = False):
    """Validate the dataset; write validation.json/.html; return the result (with the validated dataset).

    Raises ValidationFailed (after writing the report) when the dataset has errors. Publications are untouched.
    """
    # Imported here for start-up time: pandas and pandera load only for the stages that validate.
    from .review import main_language, write_validation_report
    from .validate import validate_dataset

    result = validate_dataset(s.data, max_xlsx_bytes=int(s.max_xlsx_mb * 1_000_000))
    if not quiet:
        for p in result.problems:
            say(str(p))
    write_validation_report(result.problems, s.output, s.data,
                            lang=main_language(s.data, result.dataset), template_dirs=template_dirs(s.templates))
    marker = state.validation_failed_path(s.output)
    if has_errors(result.problems):
        atomic.write_text(marker, f"{sum(p.severity == 'error' for p in result.problems)}\n")
        raise ValidationFailed(result.problems)
    marker.unlink(missing_ok=True)
    return result


def stage_prepare(s: Settings, *, quiet: bool = False) -> dict:
    """Validate the dataset (:func:`stage_validate`), compute every figure, copy the assets and write the render
    plan. The data files are written by the first render job, while its workers render.

    One stage, one process: validating in a job of its own cost a second Python start, pandas import and a
    pickle of the dataset on every build (~0.7 s, 2 % of a build of the embedded dataset)."""
    # Imported here for start-up time (pandas).
    from .aggregate import compute_figures
    from .assets import copy_assets
    from .plan import make_plan, plan_documents
    from .site import write_catalog_data

    started = time.time()
    ds = stage_validate(s, quiet=quiet).dataset
    languages = s.languages or ds.evaluation.languages
    unknown = [lang for lang in languages if lang not in ds.evaluation.languages]
    if unknown:
        raise ReportgenError(f"languages {unknown} are not declared in evaluation.yaml "
                             f"(it declares {list(ds.evaluation.languages)}); fix the languages config key")
    epoch = source_date_epoch(ds.evaluation.published, s.data_date)
    figures = compute_figures(ds)
    copy_assets(template_dirs(s.templates), s.data, s.output)
    state.write_pickle(state.model_path(s.output), (ds, figures))
    write_catalog_data(s, ds)
    docs = plan_documents(ds, languages)
    measured = {}
    for d in docs:
        st = state.read_doc_state(s.output, d)
        if st and st.get("seconds"):
            measured[d.key] = float(st["seconds"])
    plan = make_plan(docs, languages=list(languages), shards=s.shards, epoch=epoch, started=started,
                     measured=measured)
    state.write_json(state.plan_path(s.output), plan)
    if not quiet:
        say(f"prepared {len(docs)} publications in {len(languages)} language(s) for {s.shards} render job(s)")
    return plan


def stage_render(s: Settings, shard: int, *, jobs: int | None = None) -> list:
    """Render shard ``shard`` of the plan (HTML and PDF); shard 0 also writes the data files."""
    # Imported here for start-up time: WeasyPrint, matplotlib and the templates load only in render jobs.
    from .worker import render_shard

    return render_shard(s, shard, jobs=jobs)


def stage_index(s: Settings) -> dict:
    """Write the index page, remove stale publications, record the summary (:func:`reportgen.publish.finish`)."""
    # Imported here for start-up time: the publish stage imports the data-file writers.
    from .publish import finish

    return finish(s)
