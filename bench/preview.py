"""The writer's loop, measured: save → page updated and save → PDF updated under ``reportgen serve``.

    python bench/preview.py                      # 10 edits of each kind on a copy of the embedded dataset
    python bench/preview.py --edits 20 --workdir /tmp/preview-bench --page /en/countries/NGA.html
    python bench/preview.py --page /fr/synthesis.html --kinds narrative template stylesheet

It copies the dataset (``data/``) to a work folder, with an override folder holding a copy of the open page's
template and stylesheet (so the project's own files are never edited), starts ``reportgen serve`` on it (whose first
workflow build is not measured), opens the page's event stream as a browser tab does, then, for each kind of edit
(a narrative Markdown file, one cell of a data table, a template, a stylesheet), saves a change that shows on the
page and measures:

- **HTML**: from the file's write to the moment the page, fetched again after the server's ``reload`` event, shows
  the new content (for the stylesheet: the published copy the page loads has it);
- **PDF**: from the write to the moment the server reports the page's PDF updated.

Each edit is saved once the preview's pass for the previous one has ended (``busy`` false in its status), as a
writer saves after reading the result; the other publications' PDFs may still be rendering then.

It prints p50 and p95 of each (and the machine's load average, since the machines here are shared), and writes
them to ``bench/.results/preview-<time>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("narrative", "cell", "template", "stylesheet")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Serve:
    """A ``reportgen serve`` process and what a browser tab on one page sees of it."""

    def __init__(self, data: Path, output: Path, templates: Path, page: str, log: Path):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reportgen.cli", "serve", "--data", str(data), "--output", str(output),
             "--templates", str(templates), "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.url = self._read_url()
        parts = urllib.parse.urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port
        self.page = page
        self.reloads: list[float] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._listen, daemon=True).start()

    def _read_url(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if " at http://" in line:
                    return line.split(" at ", 1)[1].split()[0]
            if self.proc.poll() is not None:
                break
        raise SystemExit(f"reportgen serve printed no URL; see {self.log.name}")

    def _listen(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
        conn.request("GET", "/__reportgen/events?page=" + urllib.parse.quote(self.page))
        resp = conn.getresponse()
        while True:
            line = resp.fp.readline()
            if not line:
                return
            if line.decode().strip() == "event: reload":
                with self.cond:
                    self.reloads.append(time.perf_counter())
                    self.cond.notify_all()

    def get(self, path: str) -> str:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("GET", path)
        body = conn.getresponse().read().decode("utf-8", "replace")
        conn.close()
        return body

    def status(self) -> dict:
        return json.loads(self.get("/__reportgen/status"))

    def wait_ready(self, timeout: float) -> None:
        """The first build is over, the engine runs and has no PDF left to render."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status()
            if st["mode"] == "engine" and st["state"] == "ok" and not st["busy"] and st["pending_pdfs"] == 0 \
                    and st["pages"]:
                return
            time.sleep(0.5)
        raise SystemExit(f"serve did not settle within {timeout:.0f} s: {self.status()}; see {self.log.name}")

    def wait_reload_after(self, t0: float, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: any(t > t0 for t in self.reloads), timeout=timeout)
            after = [t for t in self.reloads if t > t0]
        return after[0] if after else None

    def stop(self) -> None:
        self.proc.send_signal(2)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def page_files(page: str) -> tuple[str, str, str]:
    """What an edit of the open page touches: its narrative file (relative to the dataset), its template and its
    stylesheet (relative to the templates): ``/en/countries/NGA.html`` → ``narrative/en/countries/NGA.md``,
    ``country.html.j2``, ``css/country.css``; ``/fr/synthesis.html`` → ``narrative/fr/synthesis.md``,
    ``synthesis.html.j2``, ``css/synthesis.css``."""
    parts = page.strip("/").removesuffix(".html").split("/")
    kind = {"countries": "country", "regions": "region"}.get(parts[1], "synthesis") if len(parts) > 1 else "synthesis"
    return "narrative/" + "/".join(parts) + ".md", f"{kind}.html.j2", f"css/{kind}.css"


def edit(kind: str, i: int, data: Path, templates: Path, page: str) -> tuple[Path, str, str | None]:
    """Save edit number ``i`` of ``kind`` for the open ``page``; return the file, the text the page (or stylesheet)
    must then show, and the URL path to check it at (None: the page). A cell edit changes the title of action
    A-2007-011 (Nigeria's: its brief lists it)."""
    marker = f"Bench {kind} {i} {time.time_ns()}"
    narrative, template, stylesheet = page_files(page)
    if kind == "narrative":
        path = data / narrative
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\n\nBench narrative .*\n?$", "", text.rstrip("\n")) + f"\n\n{marker}.\n"
        path.write_text(text, encoding="utf-8")
        return path, marker, None
    if kind == "cell":
        path = data / "actions.csv"
        text = path.read_text(encoding="utf-8")
        text, n = re.subn(r"^A-2007-011,[^,]*,", f"A-2007-011,{marker},", text, count=1, flags=re.M)
        assert n == 1
        path.write_text(text, encoding="utf-8")
        return path, marker, None
    if kind == "template":
        path = templates / template
        text = path.read_text(encoding="utf-8")
        text = re.sub(r'<p class="bench">[^<]*</p>\n', "", text)
        text = text.replace("{% endblock %}", f'<p class="bench">{marker}</p>\n{{% endblock %}}', 1)
        path.write_text(text, encoding="utf-8")
        return path, marker, None
    path = templates / stylesheet
    text = re.sub(r"\n/\* Bench stylesheet .*\*/\n?$", "", path.read_text(encoding="utf-8").rstrip("\n"))
    path.write_text(text + f"\n/* {marker} */\n", encoding="utf-8")
    return path, marker, "/assets/" + stylesheet


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--edits", type=int, default=10, help="edits of each kind (default 10)")
    ap.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    ap.add_argument("--page", default="/en/countries/NGA.html", help="the page open in the 'browser'")
    ap.add_argument("--workdir", type=Path, help="work folder (kept; its output is reused by a later run)")
    ap.add_argument("--settle", type=float, default=900, help="seconds the first build may take")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="reportgen-preview-bench-"))
    data, templates, output = work / "data", work / "override", work / "out"
    if not data.is_dir():
        shutil.copytree(ROOT / "data", data)
    (templates / "css").mkdir(parents=True, exist_ok=True)
    for rel in page_files(args.page)[1:]:
        if not (templates / rel).exists():
            shutil.copy(ROOT / "templates" / rel, templates / rel)

    srv = Serve(data, output, templates, args.page, work / "serve.log")
    results: dict[str, dict[str, list[float]]] = {}
    try:
        t = time.perf_counter()
        srv.wait_ready(args.settle)
        print(f"serve ready after {time.perf_counter() - t:.1f} s ({srv.url}); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        for kind in args.kinds:
            html_times, pdf_times = [], []
            for i in range(args.edits):
                # A writer saves again after reading the result: each edit waits for the preview's pass of the
                # previous one to end (the other publications' PDFs may still render, niced, as they would).
                settle = time.perf_counter() + 60
                while srv.status()["busy"] and time.perf_counter() < settle:
                    time.sleep(0.05)
                pdfs_before = srv.status()["pdfs"].get(args.page, 0)
                t0 = time.perf_counter()
                _, marker, check = edit(kind, i, data, templates, args.page)
                shown = None
                deadline = t0 + 60
                while shown is None and time.perf_counter() < deadline:
                    if srv.wait_reload_after(t0, deadline - time.perf_counter()) is None:
                        break
                    body = unescape(srv.get(check or args.page))
                    if marker in body:
                        shown = time.perf_counter() - t0
                    else:
                        t0_reload = srv.reloads[-1]
                        srv.wait_reload_after(t0_reload, 5)
                if shown is None:
                    print(f"  {kind} {i}: the page did not show the edit within 60 s", flush=True)
                    continue
                pdf = None
                while time.perf_counter() < t0 + 120:
                    if srv.status()["pdfs"].get(args.page, 0) > pdfs_before:
                        pdf = time.perf_counter() - t0
                        break
                    time.sleep(0.05)
                html_times.append(shown)
                if pdf is not None:
                    pdf_times.append(pdf)
                print(f"  {kind:<10} {i:>2}: HTML {shown:6.2f} s   PDF "
                      + (f"{pdf:6.2f} s" if pdf is not None else "  —"), flush=True)
            results[kind] = {"html": html_times, "pdf": pdf_times}
    finally:
        srv.stop()

    print(f"\nload average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'edit':<11} {'HTML p50':>9} {'HTML p95':>9} {'PDF p50':>9} {'PDF p95':>9}  n")
    summary = {}
    for kind, r in results.items():
        row = {"html_p50": percentile(r["html"], 0.5), "html_p95": percentile(r["html"], 0.95),
               "pdf_p50": percentile(r["pdf"], 0.5), "pdf_p95": percentile(r["pdf"], 0.95), "n": len(r["html"])}
        summary[kind] = {**row, **r}
        print(f"{kind:<11} {row['html_p50']:8.2f}s {row['html_p95']:8.2f}s {row['pdf_p50']:8.2f}s "
              f"{row['pdf_p95']:8.2f}s  {row['n']}")
    out = ROOT / "bench" / ".results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"preview-{stamp}.json").write_text(json.dumps(
        {"load_average": os.getloadavg(), "page": args.page, "results": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
