# reportgen workflow: the publications of an evaluation, from its data folder.
#
#   snakemake --cores all                                        # data/ → output/
#   snakemake --cores all --config data=DIR output=DIR          # any dataset, any folder
#
# Reads as an index: configuration and its validation, the rule files in pipeline order, then `rule all`.
# Rules are thin; the work is done by `reportgen` subcommands (src/reportgen/), where it is tested.

import os
import shlex
import time

from snakemake.utils import min_version, validate

min_version("9.0")


STARTED = time.time()  # the summary counts this run's time from here


# Read from the workflow's folder, whatever the working directory (snakemake --directory, as the tests run it).
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


validate(config, "config/config.schema.yaml")


include: "rules/common.smk"


tell_jobs_when_the_run_started(STARTED)
quiet_user_errors()


include: "rules/prepare.smk"
include: "rules/render.smk"
include: "rules/publish.smk"


rule all:
    """Every publication of the evaluation, its data files and the catalogue."""
    input:
        f"{STATE}/{layout.INDEX_DONE}",
    default_target: True


onstart:
    # Snakemake records each job's params with pandas when pandas is installed, importing it (~0.4 s) when the first
    # job ends, between two jobs: import it while the first job runs instead.
    preload_in_background("pandas")


# The index job, the last one, prints the summary of a successful run; a failed run prints it here.
onerror:
    shell(f"reportgen summary --output {shlex.quote(OUT)} --data {shlex.quote(DATA)} --since {STARTED} || true")
    stop_rate_limiter_timers()


onsuccess:
    stop_rate_limiter_timers()
