"""The layout of every publication of a real-sized dataset (issue 12): rendered as the build renders them, checked.

    python bench/check_layout.py                 # 150 countries, 58 regions, 2,400 actions, amounts up to 9 digits
    python bench/check_layout.py --data DIR      # any dataset folder
    python bench/check_layout.py --languages fr  # one language only (half the time)
    python bench/check_layout.py --kinds synthesis region  # only these kinds of publication

Without --data, the dataset is generated with bench/make_synthetic.py (--countries 150 --regions 58 --actions 2400
--max-amount 999999999, seed 1) into bench/.data/ (git-ignored). The script runs the build's prepare stage, then
renders every publication with the build's own render job (reportgen.worker.Worker: context, HTML, PDF and the fit
of the last page), in this one process (machines are shared), and runs reportgen.layout.check on the very document
the build keeps: text or a chart outside the content area, overlapping words, a number broken across lines, a
heading ending a page, a stranded last page. It prints the publications and pages by kind, the problems by kind
(each one listed), the publications over their page budget and the slowest publications; it exits with 1 when a
problem is found. The output folder holds the publications afterwards (PDF + HTML), for a look.

Nothing here is a test (it takes minutes); tests/test_layout.py checks the extreme datasets of tests/extreme.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = {"countries": 150, "regions": 58, "actions": 2400, "max_amount": 999_999_999}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="dataset folder (default: generate the real-sized one)")
    parser.add_argument("--output", type=Path, help="output folder (default: bench/.data/<dataset>-out)")
    parser.add_argument("--languages", nargs="+", help="languages to check (default: the evaluation's)")
    parser.add_argument("--kinds", nargs="+", choices=("synthesis", "regions", "countries", "region", "country"),
                        help="kinds of publication to check (default: all)")
    args = parser.parse_args(argv)
    kinds = {{"region": "regions", "country": "countries"}.get(k, k) for k in args.kinds or ()}

    data = args.data
    if data is None:
        data = ROOT / "bench" / ".data" / "real-150-58-2400"
        if not (data / "actions.csv").exists():
            subprocess.run([sys.executable, str(ROOT / "bench" / "make_synthetic.py"), str(data), "--force",
                            "--countries", str(DEFAULT["countries"]), "--regions", str(DEFAULT["regions"]),
                            "--actions", str(DEFAULT["actions"]), "--max-amount", str(DEFAULT["max_amount"])],
                           check=True)
    output = args.output or data.with_name(data.name + "-out")

    from reportgen import layout
    from reportgen.build import stage_prepare
    from reportgen.settings import Settings
    from reportgen.worker import Worker, over_budget

    kept: list[tuple[int, list[layout.Problem]]] = []

    class CheckingFitter(layout.Fitter):
        """The build's fitter, which also checks the document it keeps."""

        def __call__(self, document):
            refit = super().__call__(document)
            if refit is None:
                kept.append((len(document.pages), layout.check(document)))
            return refit

    layout.Fitter = CheckingFitter  # the worker looks it up at each render
    config = {"data": str(data), "output": str(output), "render_timeout": 3600}
    if args.languages:
        config["languages"] = args.languages
    s = Settings.from_mapping(config)
    t0 = time.perf_counter()
    plan = stage_prepare(s, quiet=True)
    worker = Worker(s, plan)
    prepared = time.perf_counter() - t0

    docs = Counter()
    pages = Counter()
    problems: list[tuple[str, layout.Problem]] = []
    over: list[str] = []
    failed: list[str] = []
    times: list[tuple[float, str]] = []
    keys = [d["key"] for d in plan["documents"]]
    if kinds:
        keys = [k for k in keys if (k.split("/")[1] if "/" in k else k) in kinds]
    for n, key in enumerate(keys, 1):
        kept.clear()
        result = worker.render(key)
        kind = key.split("/")[1] if "/" in key else key
        if result.status == "unchanged":  # rendered by an earlier run: render it again to check it
            for path in (s.output / f"{key}.pdf", s.output / f"{key}.html"):
                path.unlink(missing_ok=True)
            result = worker.render(key)
        if result.status != "built":
            failed.append(f"{key}: {result.status} {result.error or ''}")
            continue
        (n_pages, found), = kept
        docs[kind] += 1
        pages[kind] += n_pages
        problems += [(key, p) for p in found]
        times.append((result.seconds, key))
        if over_budget(s, result):
            over.append(f"{key}: {result.pages} pages")
        if n % 50 == 0:
            print(f"  {n}/{len(keys)} publications checked, {len(problems)} problems", file=sys.stderr)
    elapsed = time.perf_counter() - t0

    print(f"dataset: {data}")
    print(f"output:  {output}")
    print(f"prepare: {prepared:.1f} s; rendered and checked {sum(docs.values())} publications "
          f"({sum(pages.values())} pages) in {elapsed:.0f} s, one process")
    for kind in sorted(docs):
        print(f"  {kind:<10} {docs[kind]:>4} publication(s), {pages[kind]:>5} pages")
    by_kind = Counter(p.kind for _, p in problems)
    print("problems: " + (", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "none"))
    for key, p in problems:
        print(f"  {key} {p}")
    print(f"over their page budget: {len(over)}")
    for line in over:
        print(f"  {line}")
    if failed:
        print(f"failed: {len(failed)}")
        for line in failed:
            print(f"  {line}")
    print("slowest: " + ", ".join(f"{key} {sec:.1f} s" for sec, key in sorted(times, reverse=True)[:3]))
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main())
