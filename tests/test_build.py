"""The build stages in-process (reportgen.build): where each file comes from, and what the fast paths keep.

- the first render job writes the data files and the what-changed report while its workers render; a failure there
  fails the job with a clear message and loses no rendered document;
- the index stage and ``reportgen summary`` never import pandas (they run at every build: ~0.4 s each);
- charts are kept across builds in ``.reportgen/charts`` and an incremental rebuild draws none of an unchanged
  publication's charts; the index stage removes the charts no publication used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen import build, state, summary, worker
from reportgen.errors import ReportgenError
from reportgen.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("build-stages")]  # renders PDFs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The tiny dataset built stage by stage (French only: what is tested here does not depend on the language)."""
    from datasets import TINY_DATASET, write_dataset

    base = tmp_path_factory.mktemp("stages")
    data = write_dataset(base / "data", dict(TINY_DATASET))
    s = Settings.from_mapping({"data": str(data), "output": str(base / "out"), "languages": ["fr"]})
    build.stage_prepare(s, quiet=True)  # validates first
    after_prepare = sorted(p.name for p in (s.output / "data").glob("*")) if (s.output / "data").is_dir() else []
    results = build.stage_render(s, 0, jobs=2)
    build.stage_index(s)
    return s, after_prepare, results


def copy_of(s: Settings, tmp_path: Path) -> Settings:
    shutil.copytree(s.output, tmp_path / "out", symlinks=True)
    return Settings.from_mapping({"data": str(s.data), "languages": list(s.languages),
                                  "output": str(tmp_path / "out")})


def test_the_first_render_job_writes_the_data_files_and_the_changes_report(built):
    s, after_prepare, results = built
    assert after_prepare == []  # prepare no longer writes them: nothing waits for them before rendering
    names = sorted(p.name for p in (s.output / "data").iterdir())
    assert "figures.xlsx" in names and "actions.csv" in names and len(names) > 5
    assert (s.output / "changes.json").is_file() and (s.output / "changes.html").is_file()
    assert all(r.status == "built" for r in results)
    index = (s.output / "fr" / "index.html").read_text(encoding="utf-8")
    assert 'href="../data/figures.xlsx"' in index  # the language's index lists them: the index stage runs after


def test_a_failure_of_the_data_files_fails_the_render_job_and_keeps_the_documents(built, tmp_path, monkeypatch,
                                                                                  capsys):
    s = copy_of(built[0], tmp_path)
    for f in (s.output / "data").iterdir():
        f.unlink()
    build.stage_prepare(s)  # a new plan: the documents are checked again (unchanged)

    def full_disk(*args, **kwargs):
        raise ReportgenError("the disk is full while writing data/figures.xlsx; free some space and build again")

    monkeypatch.setattr(worker, "publish_data", full_disk)  # the forked data job inherits it
    with pytest.raises(ReportgenError, match=r"^the publications were rendered but the data files were not: the "
                                             r"disk is full while writing data/figures.xlsx"):
        build.stage_render(s, 0, jobs=2)
    failed = json.loads((s.state_dir / "shards" / "0.failed.json").read_text(encoding="utf-8"))
    assert failed["documents"] and all(d["status"] == "unchanged" for d in failed["documents"])
    assert not (s.state_dir / "shards" / "0.json").exists()  # the job reruns next time
    assert list((s.output / "data").iterdir()) == []
    assert summary.print_summary(s, since=time.time() - 5) == 1
    err = capsys.readouterr().err
    assert re.search(r"reportgen: 0 built, \d+ unchanged, 0 failed of \d+ publications in \d", err)
    assert "data files not written: the disk is full while writing data/figures.xlsx" in err


def test_the_summary_of_a_run_in_which_nothing_ran(built, capsys):
    s = built[0]
    capsys.readouterr()
    assert summary.print_summary(s, since=time.time() + 1) == 0
    assert capsys.readouterr().err.strip() == (f"reportgen: nothing to do: the {len(built[2])} publications in "
                                               f"{s.output} are up to date")
    assert summary.print_summary(s, since=0) == 0  # everything was written after 1970: the counts
    assert re.search(r"^reportgen: \d+ built, 0 unchanged, 0 failed of \d+ publications in \d+(\.\d)? s",
                     capsys.readouterr().err)


def test_index_and_summary_do_not_import_pandas(built):
    s = built[0]
    code = ("import sys\nfrom reportgen.cli import main\nrc = main()\n"
            "print('PANDAS' if 'pandas' in sys.modules else 'NO-PANDAS', rc)")
    for args in (["index", "--data", str(s.data), "--output", str(s.output)],
                 ["summary", "--output", str(s.output)]):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["NO-PANDAS", "0"], (args, proc.stdout, proc.stderr)


NO_DRAWING = """
import sys
from reportgen import charts
from reportgen.cli import main

def no_drawing(*args, **kwargs):
    raise AssertionError("a chart was drawn again")

for name in ("bar_chart_svg", "stacked_bar_svg", "hbar_svg"):
    setattr(charts, name, no_drawing)  # the forked workers inherit it
sys.exit(main())
"""


def test_charts_are_kept_and_an_incremental_rebuild_draws_none_of_them(built, tmp_path):
    """Two builds in fresh processes (as the workflow runs them); the second may not draw any chart."""
    s = built[0]
    out = tmp_path / "out"
    common = ["--data", str(s.data), "--output", str(out), "--languages", "fr"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def reportgen(*args, code="import sys\nfrom reportgen.cli import main\nsys.exit(main())"):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                              env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stderr

    reportgen("prepare", *common)
    reportgen("render", *common)
    stored = sorted((out / ".reportgen" / "charts").glob("*/*.svg"))
    assert stored, "the render job keeps its charts"
    assert all(p.read_bytes().lstrip().startswith(b"<svg") for p in stored)
    reportgen("prepare", *common)
    log = reportgen("render", *common, code=NO_DRAWING)
    assert re.search(r"render job 0: 0 built, [1-9][0-9]* unchanged, 0 failed", log), log[-2000:]


def test_a_stored_chart_that_is_not_an_svg_is_drawn_again(tmp_path, monkeypatch):
    from reportgen import context

    monkeypatch.setattr(context, "_CHART_CACHE", {})
    context.set_chart_store(tmp_path / "charts")
    try:
        args = {"labels": ["A", "B"], "values": [1.0, 2.0], "currency": "EUR", "lang": "fr"}
        svg = context.chart_svg("hbar_svg", **args)
        stored = list((tmp_path / "charts").glob("*/*.svg"))
        assert len(stored) == 1 and stored[0].read_bytes() == svg
        stored[0].write_bytes(b"not a chart")
        context._CHART_CACHE.clear()
        assert context.chart_svg("hbar_svg", **args) == svg
        assert stored[0].read_bytes() == svg
    finally:
        context.set_chart_store(None)


def test_the_index_stage_removes_the_charts_no_publication_used(built, tmp_path):
    s = copy_of(built[0], tmp_path)
    store = s.state_dir / "charts"
    used = sorted(store.glob("*/*.svg"))
    stale = store / "ff" / ("f" * 64 + ".svg")
    stale.parent.mkdir(exist_ok=True)
    stale.write_text("<svg/>", encoding="utf-8")
    plan = json.loads(state.plan_path(s.output).read_text(encoding="utf-8"))
    old = float(plan["started"]) - 60
    os.utime(stale, (old, old))
    now = time.time()
    for p in used:  # as the render job of this build left them
        os.utime(p, (now, now))
    build.stage_index(s)
    assert not stale.exists()
    assert all(p.exists() for p in used)


def test_a_code_change_rerenders_exactly_what_it_affects(tmp_path, monkeypatch):
    """Code is part of every publication's key through what it produces: a change to the French typography
    re-renders the French publications only; a change to the PDF renderer re-renders every publication."""
    from datasets import TINY_DATASET, write_dataset

    from reportgen import pdf, typography

    data = write_dataset(tmp_path / "data", dict(TINY_DATASET))
    s = Settings.from_mapping({"data": str(data), "output": str(tmp_path / "out")})
    build.stage_prepare(s, quiet=True)
    first = build.stage_render(s, 0, jobs=2)
    keys = {r.key for r in first}
    assert {k.split("/")[0] for k in keys} == {"fr", "en"} and {r.status for r in first} == {"built"}

    def files() -> dict[str, tuple[bytes, int]]:
        return {p.relative_to(s.output).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                for p in sorted(s.output.glob("*/**/*")) if p.suffix in (".pdf", ".html")}

    before = files()
    real_french = typography.french
    # The thin space before French punctuation and in amounts becomes a no-break space: French text only.
    monkeypatch.setattr(typography, "french", lambda text: real_french(text).replace("\u202f", "\u00a0"))
    # As an edit of typography.py would, the change alters the digest of reportgen's code, which the HTML's pre-key
    # holds (reportgen.worker.Worker.html_inputs): without it, the published HTML would be taken as it is.
    from reportgen import usercache

    monkeypatch.setattr(usercache, "code_digest", lambda: "code with another French typography")
    build.stage_prepare(s, quiet=True)
    second = build.stage_render(s, 0, jobs=2)
    after = files()
    built = {r.key for r in second if r.status == "built"}
    html_changed = {k for k in keys if before[f"{k}.html"][0] != after[f"{k}.html"][0]}
    # Re-rendered: exactly the publications whose HTML the code change altered, all French (a French brief that
    # prints no amount and no punctuation concerned keeps its bytes), and no English one.
    assert built == html_changed and len(built) >= 5
    assert all(k.startswith("fr/") for k in built)
    assert {k for k in before if before[k] != after[k]} == {f"{k}.{ext}" for k in built for ext in ("html", "pdf")}

    monkeypatch.setattr(pdf, "renderer_fingerprint", lambda: "another renderer")
    build.stage_prepare(s, quiet=True)
    third = build.stage_render(s, 0, jobs=2)
    assert {r.key for r in third if r.status == "built"} == keys
