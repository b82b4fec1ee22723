"""Benchmark: full build vs the WeasyPrint floor, incremental rebuild, throughput and peak memory.

    python bench/run.py                      # the embedded dataset (data/)
    python bench/run.py --large              # plus the large synthetic dataset (200 countries, 20,000 actions)
    python bench/run.py --data DIR --cores 2

For each dataset it prints:
- full build wall time (`snakemake --cores N` from an empty output folder, Snakemake start-up included);
- the floor: the same documents rendered from their published HTML by WeasyPrint alone, in one warm process per
  core (imports done before the clock starts, documents handed out from a shared queue);
- the ratio full / floor (with --repeat N, full builds and floors alternate N times and the best of each is
  compared: the machine's speed drifts within minutes);
- an incremental rebuild after changing one action of one country (wall time, and which publications were
  re-rendered), as a share of the full build: three of them (three countries), the median reported;
- a no-change rerun;
- documents per second, and the peak memory of the whole process tree (sum of PSS, sampled every 0.2 s, in a
  separate full build: sampling takes CPU from the build it watches).

Results are also written to bench/.results/ (git-ignored). Nothing here is a test: machines are shared and noisy;
compare the ratios printed by one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


class PeakMemory:
    """Samples the memory of a process and all its descendants: the sum of their PSS (proportional set size).

    PSS counts a page shared by n processes as 1/n in each, so the pages forked workers share with their parent
    (the imported libraries, the loaded model) are counted once, as the kernel holds them; a sum of RSS would count
    them once per process.
    """

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_full_info().pss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def snakemake(data: Path, out: Path, cores: int, log: Path, *, sample_memory: bool = True) -> tuple[float, int]:
    """Wall time of a build and, when ``sample_memory``, its peak memory (the sampler takes CPU from the build:
    the timed full builds run without it, and a separate build measures memory)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", str(cores),
           "--config", f"data={data}", f"output={out}"]
    t0 = time.perf_counter()
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
        if sample_memory:
            with PeakMemory(proc.pid) as mem:
                rc = proc.wait()
            peak = mem.peak
        else:
            rc, peak = proc.wait(), 0
    elapsed = time.perf_counter() - t0
    if rc != 0:
        # The log lives in the benchmark's temporary folder, removed on exit: print its end now.
        tail = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        raise SystemExit(f"build failed (exit {rc}); the end of its log ({log}):\n" + "\n".join(tail))
    return elapsed, peak


def floor(html_files: list[Path], cores: int, variant: str = "pdf/ua-1") -> float:
    """Wall time of WeasyPrint alone rendering the HTML files, one warm forked process per core, shared queue."""
    code = r"""
import json, os, sys, time
import multiprocessing as mp
import weasyprint
from weasyprint import HTML
files = json.loads(sys.argv[1]); cores = int(sys.argv[2]); variant = sys.argv[3]
os.environ.setdefault("SOURCE_DATE_EPOCH", "1393632000")
def render(f):
    HTML(filename=f).write_pdf(pdf_variant=variant, pdf_tags=True)
    return f
def warm(_):
    return None
ctx = mp.get_context("fork")
with ctx.Pool(cores) as pool:
    pool.map(warm, range(cores))       # workers exist and are warm before the clock starts
    t0 = time.perf_counter()
    # heaviest first (file size as a proxy), as a good scheduler would
    order = sorted(files, key=lambda f: -os.path.getsize(f))
    list(pool.imap_unordered(render, order, chunksize=1))
    print(time.perf_counter() - t0)
"""
    out = subprocess.run([sys.executable, "-c", code, json.dumps([str(f) for f in html_files]), str(cores), variant],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def publications(out: Path) -> dict[str, tuple[int, int]]:
    """Every published PDF/HTML with (size, mtime_ns)."""
    res = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.startswith(".") and p.suffix in (".pdf", ".html"):
            st = p.stat()
            res[rel] = (st.st_size, st.st_mtime_ns)
    return res


def change_one_action(data: Path, which: float = 0.5) -> str:
    """Raise the amount of one action of a country (``which``: its place in the sorted list of countries, 0..1);
    return the country code."""
    path = data / "actions.csv"
    text = path.read_text(encoding="utf-8-sig")
    sep = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    rows = list(csv.DictReader(text.splitlines(), delimiter=sep))
    countries = sorted({r["country"] for r in rows if r["country"]})
    target = countries[min(len(countries) - 1, int(len(countries) * which))]
    for r in rows:
        if r["country"] == target and r["committed"].strip():
            amount = float(r["committed"].replace(" ", "").replace("\u00a0", "").replace(",", "."))
            r["committed"] = f"{amount + 10000:.0f}"
            break
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()), delimiter=sep)
        w.writeheader()
        w.writerows(rows)
    return target


def bench_dataset(name: str, data: Path, cores: int, workdir: Path, repeat: int = 1, incremental: int = 3) -> dict:
    print(f"\n== {name}: {data}", flush=True)
    data_copy = workdir / f"{name}-data"
    shutil.copytree(data, data_copy)
    log = workdir / f"{name}.log"
    # Full build and floor alternate, `repeat` times each: the machine's speed drifts (shared, noisy), so the
    # ratio is taken between the best full build and the best floor of the same run.
    fulls, floors = [], []
    for i in range(repeat):
        out = workdir / f"{name}-output-{i}"
        full_i, _ = snakemake(data_copy, out, cores, log, sample_memory=False)
        pubs = publications(out)
        pdfs = [p for p in pubs if p.endswith(".pdf")]
        htmls = sorted(out / p for p in pubs if p.endswith(".html") and p != "index.html"
                       and (out / p).with_suffix(".pdf").exists())
        fl_i = floor(htmls, cores)
        fulls.append(full_i)
        floors.append(fl_i)
        print(f"run {i + 1}/{repeat}: full build {full_i:.1f} s for {len(pdfs)} PDFs, floor {fl_i:.1f} s",
              flush=True)
        if i < repeat - 1:
            shutil.rmtree(out)
    # Peak memory: one more full build, sampled (not timed), in a folder of its own.
    mem_out = workdir / f"{name}-output-memory"
    _, peak = snakemake(data_copy, mem_out, cores, log)
    shutil.rmtree(mem_out)
    full, fl = min(fulls), min(floors)
    print(f"full build: {full:.1f} s for {len(pdfs)} PDFs ({len(pdfs) / full:.2f} documents/s), "
          f"peak memory {peak / 2**20:.0f} MiB", flush=True)
    print(f"floor (WeasyPrint alone, {cores} warm processes): {fl:.1f} s; ratio full/floor = {full / fl:.2f}"
          + (f" (best of {repeat} each)" if repeat > 1 else ""), flush=True)
    noop, _ = snakemake(data_copy, out, cores, log)
    after_noop = publications(out)
    print(f"no-change rerun: {noop:.1f} s; publications changed: {sum(after_noop[k] != pubs[k] for k in pubs)}",
          flush=True)
    # One action of one country changed, `incremental` times (a different country each time: the middle one, then
    # at a third and two thirds of the list); the median is reported, every run printed.
    incs, changed = [], []
    before = after_noop
    for which in (0.5, 1 / 3, 2 / 3)[:max(1, incremental)]:
        country = change_one_action(data_copy, which)
        inc_i, _ = snakemake(data_copy, out, cores, log, sample_memory=False)
        after = publications(out)
        changed_i = sorted(k for k in after if after[k] != before.get(k))
        changed = changed or changed_i
        before = after
        incs.append(inc_i)
        print(f"incremental rebuild after changing one action of {country}: {inc_i:.1f} s = "
              f"{100 * inc_i / full:.1f} % of the full build; "
              f"{len([c for c in changed_i if c.endswith('.pdf')])} PDFs re-rendered", flush=True)
    inc = statistics.median(incs)
    if len(incs) > 1:
        print(f"incremental rebuild, median of {len(incs)}: {inc:.1f} s = {100 * inc / full:.1f} % of the full build",
              flush=True)
    return {"dataset": name, "documents": len(pdfs), "full_s": round(full, 2), "floor_s": round(fl, 2),
            "ratio": round(full / fl, 3), "noop_s": round(noop, 2), "incremental_s": round(inc, 2),
            "incremental_share": round(inc / full, 4), "changed": changed, "docs_per_s": round(len(pdfs) / full, 2),
            "peak_mib": round(peak / 2**20), "cores": cores,
            "full_runs_s": [round(x, 2) for x in fulls], "floor_runs_s": [round(x, 2) for x in floors],
            "incremental_runs_s": [round(x, 2) for x in incs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--large", action="store_true", help="also the large synthetic dataset")
    ap.add_argument("--large-only", action="store_true")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3,
                    help="full builds and floors of the embedded dataset, alternated; the best of each is compared "
                         "(default 3)")
    ap.add_argument("--repeat-large", type=int, default=1, help="the same for the large dataset (default 1)")
    args = ap.parse_args()
    from reportgen.pdf import harfbuzz_subset_available

    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
          f"libharfbuzz-subset: {'yes' if harfbuzz_subset_available() else 'NO'}")
    results = []
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        tmp = Path(tmp)
        if not args.large_only:
            results.append(bench_dataset("embedded", args.data, args.cores, tmp, args.repeat))
        if args.large or args.large_only:
            big = tmp / "large-src"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "bench" / "make_synthetic.py"), str(big)], check=True)
            print(f"\n(generated the large dataset in {time.perf_counter() - t0:.1f} s)")
            results.append(bench_dataset("large", big, args.cores, tmp, args.repeat_large))
    res_dir = ROOT / "bench" / ".results"
    res_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (res_dir / f"{stamp}.json").write_text(json.dumps(results, indent=1))
    print("\nsummary:")
    for r in results:
        print(f"  {r['dataset']}: {r['documents']} PDFs, full {r['full_s']} s, floor {r['floor_s']} s, "
              f"ratio {r['ratio']}, incremental {r['incremental_s']} s ({100 * r['incremental_share']:.1f} %), "
              f"no-change {r['noop_s']} s, {r['docs_per_s']} docs/s, peak {r['peak_mib']} MiB")


if __name__ == "__main__":
    main()
