# Shared definitions: folders, input lists and wildcard constraints. Helpers are named functions.

import importlib
import importlib.util
import json
import logging
import os
import re
import threading
from pathlib import Path

from reportgen import atomic
from reportgen import state as layout

DATA = config["data"]
OUT = config["output"]
STATE = f"{OUT}/{layout.DIR}"
SHARDS = int(config["shards"])


wildcard_constraints:
    shard=r"\d+",


def config_stamp():
    """``{STATE}/config.json``: the configuration of this run, written when it changes (at parse time). Every stage
    has it as input, so a change of config reruns them by modification time even when Snakemake's record of each
    job's params (in .snakemake/) is missing: deleted, or an output folder copied or restored from a cache
    elsewhere, where Snakemake found "Nothing to be done" after a change of languages or pdf_variant."""
    path = Path(STATE, layout.CONFIG)
    # Not the output folder's own path: the state records none, so that a copied output folder keeps working.
    values = {key: value for key, value in config.items() if key != "output"}
    atomic.write_if_changed(path, json.dumps(values, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    return str(path)


CONFIG_STAMP = config_stamp()


def data_files(wildcards=None):
    """Every file of the dataset folder (hidden files excepted): any edit, addition or removal counts."""
    root = Path(DATA)
    if not root.is_dir():
        raise WorkflowError(f"the dataset folder {DATA!r} does not exist; set data=DIR (--config data=DIR)")
    return sorted(
        str(p)
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def code_files(wildcards=None):
    """The package's source: a change to the code reruns the stages (each then re-renders only what changed)."""
    return sorted(str(p) for p in Path(workflow.basedir, "src", "reportgen").rglob("*.py"))


def template_files(wildcards=None):
    """Templates, stylesheets and fonts, the project's and the override folder's."""
    folders = [Path(workflow.basedir, "templates")]
    if config["templates"]:
        folders.append(Path(config["templates"]))
    return sorted(str(p) for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())


def catalog_files(wildcards=None):
    """The translation catalogues that every publication's text goes through."""
    return sorted(str(p) for p in Path(workflow.basedir, "src", "reportgen", "locale").rglob("*.po"))


def output_folder(wildcards, output):
    """The output folder, found from the rule's first output (which lies in the build state's folder)."""
    path = Path(output[0])
    while path.name != layout.DIR:
        path = path.parent
    return str(path.parent)


def shard_manifests(wildcards=None):
    return [f"{STATE}/{layout.SHARDS}/{i}.json" for i in range(SHARDS)]


def render_threads(wildcards=None):
    """One shard takes every core it is given (the scheduler caps this at --cores); several shards share them."""
    return 1024 if SHARDS == 1 else max(1, 2 * 1024 // SHARDS)


def languages_flag(wildcards=None):
    return " ".join(config["languages"])


def preload_in_background(module):
    """Import ``module`` in a thread if it is installed (an optimisation only: see onstart in the Snakefile)."""

    def run():
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001
            pass

    if importlib.util.find_spec(module) is not None:
        threading.Thread(target=run, daemon=True).start()


def stop_rate_limiter_timers():
    """Let Snakemake's process exit as soon as the workflow is done.

    After each scheduling pass Snakemake's job rate limiter (``--max-jobs-per-timespan``, 100/1s by default) starts
    a ``threading.Timer`` of one second, a non-daemon thread, to look at the queue again; Python waits for it at exit,
    so every run ended with up to a second of doing nothing (measured: 1.1 s of a 3-job workflow's 3.1 s). Once the
    workflow has ended nothing waits for those timers: cancelling them only ends their threads."""
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


def tell_jobs_when_the_run_started(started):
    """The index job prints the run's summary and time: it finds the start in its environment. Not a param: a
    param that changes at every run would rerun the job every time. A job that runs elsewhere (a cluster) does not
    get it and counts from the start of the prepare stage."""
    os.environ.update(REPORTGEN_RUN_STARTED=repr(started))


#: Snakemake's lines about its own set-up, said on every run: left out of the console unless verbose.
SET_UP_LINES = ("Assuming unrestricted shared filesystem usage", "Using shell:", "Provided cores:",
                "Rules claiming more threads", "Conda environments: ignored", "Select jobs to execute",
                "Execute 1 jobs")
#: Snakemake's line saying that --config extends the config file (whatever the file's path).
CONFIG_EXTENDED = re.compile(r"Config file \S+ is extended")


class QuietConsole(logging.Filter):
    """Drops Snakemake's exception text for a job that stopped on an error the user can fix (reportgen exits 1 for
    an invalid dataset, 2 for another such error, after printing the problems and what to do, once): Snakemake's
    RuleException/CalledProcessError with the job's command and its closing WorkflowError would only repeat it;
    and Snakemake's set-up lines (SET_UP_LINES). Every other error goes through; REPORTGEN_VERBOSE=1
    (reportgen --verbose) keeps everything."""

    user_error = False

    def filter(self, record):
        text = record.getMessage()
        if text.startswith(SET_UP_LINES) or CONFIG_EXTENDED.match(text):
            return False
        if "CalledProcessError" in text and "reportgen " in text and re.search(r"non-zero exit status [12]\.", text):
            QuietConsole.user_error = True
            return False
        if QuietConsole.user_error and (
            "At least one job did not complete successfully" in text
            or text.startswith("Exiting because a job execution failed")
        ):
            return False
        return True


def quiet_user_errors():
    """Install :class:`QuietConsole` on Snakemake's logger, unless every line is wanted."""
    if os.environ.get("REPORTGEN_VERBOSE", "").strip().lower() in ("", "0", "false", "no"):
        logging.getLogger("snakemake.logging").addFilter(QuietConsole())
