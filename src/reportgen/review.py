"""validation.html: the problems of a validation, for a reader who is not a programmer.

One self-contained HTML5 page (inline CSS, no script, no external resource), in English, grouped by file, with a
real table per file (column headers with ``scope``, a caption) and every value escaped. Deterministic: the same
problems give the same bytes.
"""

from __future__ import annotations

import json
from html import escape
from itertools import groupby
from pathlib import Path

from . import atomic
from .errors import Problem, sort_key

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.summary { font-size: 1.05rem; padding: .75rem 1rem; border-left: .35rem solid #2e7d32; background: #f1f8f1; }
.summary.failed { border-color: #b3261e; background: #fdf0ef; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #c8c8c8; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.value { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; min-width: 8em;
           overflow-wrap: anywhere; }
.error { color: #b3261e; font-weight: 600; } .warning { color: #8a5a00; font-weight: 600; }
"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_validation_page(problems: list[Problem], data_dir: Path) -> str:
    """The page, for problems already in reading order."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        summary = (f"The dataset has {_plural(errors, 'error')} and {_plural(warnings, 'warning')}. "
                   "The publications cannot be built until the errors below are corrected; those already built "
                   "were left as they were.")
    elif warnings:
        summary = (f"The dataset has no error and {_plural(warnings, 'warning')}. The publications can be built; "
                   "the warnings below are worth a look.")
    else:
        summary = "The dataset has no problem."
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Dataset validation</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<h1>Dataset validation</h1>",
        # The folder's name only: a published page must not carry the build machine's paths (and two builds of
        # the same data in different places must give the same bytes; docs/security.md).
        f"<p>Data folder: <code>{escape(Path(data_dir).name or str(data_dir))}</code></p>",
        f'<p class="summary{" failed" if errors else ""}" role="status">{escape(summary)}</p>',
    ]
    if problems:
        out.append("<p>Rows are numbered as in a spreadsheet: the header is row 1, the first data row is row 2.</p>")
    for file, group in groupby(problems, key=lambda p: p.file):
        items = list(group)
        n_err = sum(p.severity == "error" for p in items)
        out.append("<section>")
        out.append(f"<h2>{escape(file)}</h2>")
        out.append("<table>")
        out.append(f"<caption>{escape(file)}: {_plural(n_err, 'error')}, "
                   f"{_plural(len(items) - n_err, 'warning')}</caption>")
        out.append("<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in
                                           ("Row", "Column", "Value", "Severity", "Problem", "Rule")) + "</tr></thead>")
        out.append("<tbody>")
        for p in items:
            out.append(
                "<tr>"
                f"<td>{'' if p.row is None else p.row}</td>"
                f"<td>{escape(p.column or '')}</td>"
                f'<td class="value">{escape(p.value or "")}</td>'
                f'<td class="{escape(p.severity)}">{escape(p.severity)}</td>'
                f"<td>{escape(p.message)}</td>"
                f"<td><code>{escape(p.rule)}</code></td>"
                "</tr>"
            )
        out.append("</tbody>")
        out.append("</table>")
        out.append("</section>")
    out.extend(["</main>", "</body>", "</html>", ""])
    return "\n".join(out)


def validation_json(problems: list[Problem]) -> str:
    """validation.json: a list of problem objects (sorted keys), in the problems' order; ``[]`` when none."""
    records = [p.to_dict() for p in problems]
    return json.dumps(records, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def write_validation_report(problems: list[Problem], output_dir: Path, data_dir: Path) -> None:
    """Write ``{output_dir}/validation.json`` and ``validation.html`` (atomically; raises ReportgenError when the
    folder cannot be written)."""
    output_dir = Path(output_dir)
    ordered = sorted(problems, key=sort_key)
    atomic.write_if_changed(output_dir / "validation.json", validation_json(ordered))
    atomic.write_if_changed(output_dir / "validation.html", render_validation_page(ordered, Path(data_dir)))
