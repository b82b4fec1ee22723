"""The ``reportgen`` command. The workflow's rules call its subcommands; users call them too.

This is the only place that turns a :class:`~reportgen.errors.ReportgenError` into ``ERROR: …`` on stderr and a
non-zero exit status. Heavy libraries are imported by the subcommands that need them, so ``reportgen --help`` and
light stages start fast.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

from . import __version__
from .console import VERBOSE_ENV, problem_lines, set_verbose
from .errors import ReportgenError, ValidationFailed
from .model import LANGUAGES
from .settings import PROJECT_ROOT, Settings, config_entries, config_keys

EPILOG = "Documentation: docs/cli.md. Build everything: snakemake --cores all (see README.md)."


class _Tee:
    def __init__(self, stream, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = stream
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed at exit

    def write(self, text: str) -> int:
        self.file.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.file.flush()
        self.stream.flush()

    def isatty(self) -> bool:
        return False


# Flag details the schema does not say: metavars, and positional use of `data` by `validate`.
_METAVAR = {"data": "DIR", "output": "DIR", "languages": "LANG", "templates": "DIR", "public_url": "URL",
            "data_date": "YYYY-MM[-DD]", "shards": "N", "max_xlsx_mb": "MB", "render_timeout": "S",
            "render_memory_mb": "MIB", "max_pages_country": "N", "max_pages_region": "N", "max_pages_synthesis": "N"}
_TYPES = {"string": str, "integer": int, "number": float}


def settings_flags() -> list[tuple[str, dict]]:
    """One command-line flag per config key, made from config/config.schema.yaml (its description, type, allowed
    values and default): a key added to the schema is a flag of every subcommand that builds, with no other edit."""
    flags = []
    for key, spec in config_keys().items():
        kwargs: dict = {"dest": key, "default": None, "metavar": _METAVAR.get(key)}
        help_text = " ".join(str(spec.get("description", "")).split())
        default = spec.get("default")
        kwargs["help"] = f"{help_text} (default: {default if default not in ('', [], None) else 'none'})"
        if spec.get("type") == "array":
            kwargs["nargs"] = "*"
            kwargs["type"] = _TYPES[spec["items"]["type"]]
        else:
            kwargs["type"] = _TYPES[spec["type"]]
        if "enum" in spec:
            kwargs["choices"] = spec["enum"]
            kwargs.pop("metavar")
        flags.append((key, kwargs))
    return flags


def _settings_args(p: argparse.ArgumentParser, *, data_positional: bool = False,
                   exclude: frozenset[str] = frozenset()) -> None:
    g = p.add_argument_group("build settings (config keys: config/config.schema.yaml, docs/config.md)")
    for key, kwargs in settings_flags():
        if key in exclude:
            continue
        if key == "data" and data_positional:
            g.add_argument("data", nargs="?", default=None, metavar="DATA_DIR", help=kwargs["help"])
            continue
        g.add_argument("--" + key.replace("_", "-"), **kwargs)
    p.add_argument("--log", type=Path, metavar="FILE", help="also append messages to this file")


def _settings(args: argparse.Namespace):
    values = {k: getattr(args, k, None) for k in config_keys()}
    return Settings.from_mapping({k: v for k, v in values.items() if v is not None})


def cmd_validate(args) -> int:
    from .build import stage_validate

    s = _settings(args)
    if args.output is None:
        # Without --output, `reportgen validate DATA` only checks and prints: it writes nothing.
        from .validate import validate_dataset

        result = validate_dataset(s.data, max_xlsx_bytes=int(s.max_xlsx_mb * 1_000_000))
        for line in problem_lines(result.problems):
            print(line, file=sys.stderr)
        errors = sum(p.severity == "error" for p in result.problems)
        warnings = len(result.problems) - errors
        if errors:
            print(f"ERROR: {s.data}: {errors} error(s), {warnings} warning(s); fix them and validate again",
                  file=sys.stderr)
            return 1
        print(f"{s.data}: valid ({warnings} warning(s))", file=sys.stderr)
        return 0
    result = stage_validate(s)
    warnings = len(result.problems)
    print(f"{s.data}: valid ({warnings} warning(s)); report in {s.output / 'validation.html'}", file=sys.stderr)
    return 0


def cmd_prepare(args) -> int:
    from .build import stage_prepare

    stage_prepare(_settings(args))
    return 0


def cmd_render(args) -> int:
    from .build import stage_render

    stage_render(_settings(args), args.shard, jobs=args.jobs)
    return 0


def cmd_index(args) -> int:
    from .build import stage_index
    from .summary import print_summary, run_started

    s = _settings(args)
    summary = stage_index(s)
    print(f"catalogue written: {s.output / 'index.html'} ({summary['documents']} publications)", file=sys.stderr)
    # The last stage of a build says how it went (the workflow starts no other process for that).
    print_summary(s, since=run_started())
    return 0


def cmd_summary(args) -> int:
    from .summary import print_summary, run_started

    return print_summary(_settings(args), since=args.since if args.since is not None else run_started())


def cmd_build(args) -> int:
    """Run the whole workflow with Snakemake (the same as `snakemake --cores all`)."""
    import shutil
    import subprocess

    exe = shutil.which("snakemake")
    if not exe:
        raise ReportgenError("snakemake is not installed; run: pip install -e .")
    cmd = [exe, "--snakefile", str(PROJECT_ROOT / "Snakefile"), "--cores", str(args.cores)]
    config = config_entries({k: getattr(args, k) for k in config_keys() if getattr(args, k, None) is not None})
    if config:
        cmd += ["--config", *config]
    cmd += args.snakemake_args
    return subprocess.call(cmd, cwd=PROJECT_ROOT)


def cmd_brief(args) -> int:
    from .brief import build_brief

    return build_brief(_settings(args), args.code, args.lang)


def cmd_diff(args) -> int:
    from .changes import run_diff

    return run_diff(Path(args.old), Path(args.new), json_out=args.json, html_out=args.html)


def cmd_serve(args) -> int:
    from .serve import serve

    return serve(_settings(args), host=args.host, port=args.port, open_browser=args.open)


def cmd_init(args) -> int:
    from .init import init_dataset

    written = init_dataset(Path(args.folder))
    print(f"{args.folder}: new dataset ({len(written)} files); edit evaluation.yaml and the tables, then run "
          f"reportgen validate {args.folder}", file=sys.stderr)
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reportgen",
        description="Build the publications of an evaluation (synthesis, regional and country briefs, in PDF and "
                    "HTML) from its data folder. The Snakemake workflow calls these subcommands in order: "
                    "validate, prepare, render, index.",
        epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"reportgen {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help=f"print every line: each problem and warning on its own (by default repeated ones "
                             f"are grouped), each job's details; the same as {VERBOSE_ENV}=1")
    # No abbreviated flags: `reportgen validate --data DIR` (whose folder is positional) was read as --data-date.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=functools.partial(argparse.ArgumentParser, allow_abbrev=False))

    p = sub.add_parser("validate", help="check a dataset folder against the contract and list every problem",
                       description="Check DATA_DIR against the dataset contract (docs/dataset.md). Prints each "
                                   "problem as file:row: column: message, repeated ones grouped by file, column and "
                                   "kind (count, first rows and values, the fix; reportgen --verbose validate: one "
                                   "line each). With --output, also writes "
                                   "validation.json and validation.html there. Exit status 1 when there is any error.")
    _settings_args(p, data_positional=True)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("prepare", help="validate the dataset, compute the figures and plan the rendering",
                       description="Validates the dataset (writes {output}/validation.json and .html; stops on any "
                                   "error), computes every figure, copies stylesheets and fonts to {output}/assets/ "
                                   "and writes the render plan. The data files ({output}/data/) and the changes "
                                   "report are written by `render --shard 0`.")
    _settings_args(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("render", help="render one shard of the publications (HTML and PDF)",
                       description="Render the publications the plan assigns to SHARD, re-rendering only those "
                                   "whose content changed, with a pool of warm worker processes. Shard 0 also "
                                   "writes the data files ({output}/data/: CSV + XLSX) and the changes report, in "
                                   "a process of its own while the workers render.")
    _settings_args(p)
    p.add_argument("--shard", type=int, default=0, help="which shard to render (0-based; default 0)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: the cores available)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("index", help="write the catalogue, remove stale publications and print the summary",
                       description="Writes the site's index pages ({output}/index.html, which chooses the "
                                   "language, and {output}/{lang}/index.html), removes the publications the data no "
                                   "longer calls for and prints the build's summary.")
    _settings_args(p)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("summary", help="print the last build's summary (built, unchanged, failed)",
                       description="Prints the last build's summary: publications built, unchanged and failed, "
                                   "with the reason of each failure.")
    _settings_args(p)
    p.add_argument("--since", type=float, metavar="EPOCH",
                   help="when the workflow run started (seconds since 1970): a run in which no stage ran says the "
                        "publications are up to date, and the time is counted from it")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("build", help="run the whole workflow (snakemake) on a dataset",
                       description="Shortcut for `snakemake --cores N --config data=… output=…`. Extra arguments "
                                   "after -- go to snakemake.")
    p.add_argument("--cores", default="all", help="cores to use (default: all)")
    for key, kwargs in settings_flags():
        p.add_argument("--" + key.replace("_", "-"), **kwargs)
    p.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="arguments passed to snakemake")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("brief", help="build the brief of one country or region, on its own",
                       description="Validate the data and build one brief (a country code like NGA or a region "
                                   "code) in one language, without the workflow. --languages names the languages "
                                   "the site publishes, as the build's config does: the brief links its versions "
                                   "in those only.")
    _settings_args(p)
    p.add_argument("code", help="country code (ISO alpha-3, e.g. NGA) or region code")
    p.add_argument("--lang", required=True, choices=LANGUAGES, help="language of the brief")
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("diff", help="what changed between two dataset folders, per publication",
                       description="Compare the figures, recommendations and narratives of two dataset folders "
                                   "and report, per publication, what a reviewer must proofread.")
    p.add_argument("old", help="the earlier dataset folder")
    p.add_argument("new", help="the later dataset folder")
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    p.add_argument("--html", type=Path, help="also write the report as HTML here")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("init", help="start a new evaluation: write a minimal, valid, commented dataset into DIR",
                       description="Write a skeleton dataset (evaluation.yaml with its vocabulary, the tables, a "
                                   "narrative) into DIR, a new or empty folder. It is valid as it is; replace its "
                                   "example values. See docs/dataset.md.")
    p.add_argument("folder", metavar="DIR", help="the new dataset folder")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="live preview: build, serve on localhost, rebuild and reload on change",
                       description="Builds the publications, serves the output folder on localhost, and rebuilds "
                                   "and reloads the pages when the data, the templates or the config change.")
    _settings_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--open", action="store_true", help="open the index in a browser")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.verbose:
        set_verbose(True)
    if getattr(args, "log", None):
        sys.stderr = _Tee(sys.stderr, args.log)
    try:
        return int(args.func(args) or 0)
    except ValidationFailed as exc:
        print(f"ERROR: {exc}. See the list above"
              + (f" or {Path(getattr(args, 'output', '') or 'output') / 'validation.html'}" if
                 getattr(args, "output", None) else "") + ".", file=sys.stderr)
        return exc.exit_code
    except ReportgenError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ERROR: interrupted; run the same command again to finish (finished files are kept)",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for users, unless asked
        if os.environ.get("REPORTGEN_DEBUG"):
            raise
        print(f"ERROR: internal error {type(exc).__name__}: {exc}. This is a bug in reportgen: please report it "
              "with the command you ran (set REPORTGEN_DEBUG=1 to see the traceback).", file=sys.stderr)
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
