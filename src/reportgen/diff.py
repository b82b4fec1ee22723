"""``reportgen diff OLD_DATA NEW_DATA``: what changed between two dataset folders, per publication.

The same report as a build's ``{output}/changes.html`` (see :mod:`reportgen.changes`), computed from two dataset
folders without building any publication: both folders are validated, their figures computed, and the snapshots of
the publications of the *new* evaluation's languages compared. The report is printed to stdout, one line per
change, each prefixed with the publication's key::

    fr/countries/NGA: total committed 1 234 567 € → 1 334 567 € (+100 000 €)

and optionally written as JSON (``--json``) and HTML (``--html``), in the format of changes.json/changes.html.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import ReportgenError

#: How many of a failing dataset's problems the error message quotes.
SHOWN_PROBLEMS = 5


def _load(folder: Path, which: str):
    """Validate ``folder``; its Dataset, or a ReportgenError naming the folder and its first errors."""
    from .validate import validate_dataset

    if not folder.is_dir():
        raise ReportgenError(f"the {which} dataset folder {folder} does not exist; give the path of a dataset "
                             "folder (the one holding evaluation.yaml)")
    result = validate_dataset(folder)
    if not result.ok or result.dataset is None:
        errors = [p for p in result.problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:SHOWN_PROBLEMS])
        more = f"\n  … and {len(errors) - SHOWN_PROBLEMS} more" if len(errors) > SHOWN_PROBLEMS else ""
        raise ReportgenError(f"the {which} dataset {folder} has {len(errors)} error(s); fix them (see "
                             f"`reportgen validate {folder}`) and compare again:\n{shown}{more}")
    return result.dataset


def diff_report(old_dir: Path, new_dir: Path) -> dict:
    """The changes report (see :func:`reportgen.changes.compare`) from dataset ``old_dir`` to ``new_dir``."""
    from .aggregate import compute_figures
    from .changes import compare, snapshot

    old_ds = _load(Path(old_dir), "old")
    new_ds = _load(Path(new_dir), "new")
    languages = tuple(new_ds.evaluation.languages)
    old_languages = tuple(l for l in languages if l in old_ds.evaluation.languages)
    old = snapshot(old_ds, compute_figures(old_ds), old_languages)
    new = snapshot(new_ds, compute_figures(new_ds), languages)
    # Publications of a language the old evaluation did not have are all "added": that is what they are.
    return compare(old, new)


def run_diff(old_dir: Path, new_dir: Path, *, json_out: Path | None = None, html_out: Path | None = None) -> int:
    """Print what changed from dataset ``old_dir`` to ``new_dir``; optionally write JSON/HTML; return 0."""
    from .changes import report_text, write_report

    old_dir, new_dir = Path(old_dir), Path(new_dir)
    report = diff_report(old_dir, new_dir)
    heading = f"{old_dir} → {new_dir}"
    stylesheet = None
    if html_out is not None and (Path(html_out).parent / "assets" / "css" / "index.css").is_file():
        stylesheet = "assets/css/index.css"
    write_report(report, json_path=Path(json_out) if json_out else None,
                 html_path=Path(html_out) if html_out else None, stylesheet=stylesheet, heading=heading)
    sys.stdout.write(report_text(report, heading=f"reportgen diff: {heading}"))
    sys.stdout.flush()
    if json_out:
        print(f"report written to {json_out}", file=sys.stderr)
    if html_out:
        print(f"report written to {html_out}", file=sys.stderr)
    return 0
