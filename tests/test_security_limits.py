"""Limits: a render time limit and a memory cap per document, and size caps on inputs (docs/security.md, "Limits").

Going over a limit fails that document (or that file) with a clear message naming it and saying what to do; the
other documents still build; there is no traceback; ``reportgen render`` and ``reportgen validate`` exit non-zero.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from datasets import TINY_DATASET, write_dataset

from reportgen import build, state, worker
from reportgen.errors import ReportgenError
from reportgen.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("security-limits")]  # renders PDFs;  # one worker prepares the module's dataset once

KEYS = ["fr/synthesis", "fr/regions/see", "fr/countries/ALB", "fr/countries/XKX"]
TIMEOUT_MESSAGE = ("took longer than render_timeout = {t:g} s; simplify the publication (fewer rows) or raise "
                   "render_timeout in the config")
MEMORY_MESSAGES = ("needed more than render_memory_mb = 256 MiB", "the rendering process died (out of memory or "
                   "crash); see the log; raise render_memory_mb if needed")


def small_dataset() -> dict[str, str]:
    """The tiny dataset cut to one region (see) and two countries (ALB, XKX): four publications in French."""
    files = {k: v for k, v in TINY_DATASET.items() if not k.startswith("narrative/")}
    keep = {"regions.csv": ("region", "see"), "countries.csv": ("country", "ALB", "XKX"),
            "actions.csv": ("action_id", "A-002", "A-003", "A-004"), "ratings.csv": ("action_id", "A-002", "A-003"),
            "recommendations.csv": ("rec_id", "R1", "R2", "R3"), "indicators.csv": ("country", "ALB")}
    for name, starts in keep.items():
        files[name] = "\n".join(l for l in TINY_DATASET[name].splitlines() if l.startswith(starts)) + "\n"
    files["narrative/fr/synthesis.md"] = TINY_DATASET["narrative/fr/synthesis.md"]
    return files


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The small dataset validated and prepared (French): ready for the render stage."""
    base = tmp_path_factory.mktemp("limits")
    data = write_dataset(base / "data", small_dataset())
    s = Settings.from_mapping({"data": str(data), "output": str(base / "prepared"), "languages": ["fr"]})
    build.stage_prepare(s, quiet=True)  # validates first
    return s


@pytest.fixture
def output(prepared, tmp_path):
    """A fresh copy of the prepared output folder, and settings pointing at it."""
    out = tmp_path / "out"
    shutil.copytree(prepared.output, out, symlinks=True)
    return Settings.from_mapping({"data": str(prepared.data), "output": str(out), "languages": ["fr"]})


def reportgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "REPORTGEN_DEBUG": ""})


def failures(s: Settings) -> dict[str, str]:
    manifest = json.loads((s.state_dir / "shards" / "0.failed.json").read_text(encoding="utf-8"))
    return {d["key"]: d["error"] for d in manifest["documents"] if d["status"] == "failed"}


def built(s: Settings) -> set[str]:
    manifest = json.loads((s.state_dir / "shards" / "0.failed.json").read_text(encoding="utf-8"))
    return {d["key"] for d in manifest["documents"] if d["status"] == "built"}


# ------------------------------------------------------------------------------------------------------------------
# Time
# ------------------------------------------------------------------------------------------------------------------

def test_render_timeout_fails_each_document_clearly_through_the_command_line(output):
    proc = reportgen("render", "--data", str(output.data), "--output", str(output.output), "--jobs", "2",
                     "--render-timeout", "0.001")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    for key in KEYS:
        assert f"ERROR: {key}: {TIMEOUT_MESSAGE.format(t=0.001)}" in proc.stderr, proc.stderr[-3000:]
        assert not (output.output / f"{key}.pdf").exists()
    assert proc.stderr.rstrip().endswith("ERROR: 4 publication(s) failed to render; the others were built. Fix the "
                                         "problems above and run the build again.")


@pytest.mark.slow
def test_a_document_over_the_time_limit_fails_alone_and_the_others_build(output, monkeypatch):
    """Only ALB is held to a 0.3 s limit (the harness lifts the alarm for the others, whatever the machine's speed)."""
    import reportgen.context as context_module

    original = context_module.build_context

    def build_context(doc, *args, **kw):
        if doc.key != "fr/countries/ALB":
            signal.setitimer(signal.ITIMER_REAL, 0)
        return original(doc, *args, **kw)

    monkeypatch.setattr(context_module, "build_context", build_context)
    s = Settings.from_mapping({"data": str(output.data), "output": str(output.output), "languages": ["fr"],
                               "render_timeout": 0.3})
    with pytest.raises(ReportgenError, match=r"^1 publication\(s\) failed to render; the others were built"):
        build.stage_render(s, 0, jobs=2)
    assert failures(s) == {"fr/countries/ALB": TIMEOUT_MESSAGE.format(t=0.3)}
    assert built(s) == set(KEYS) - {"fr/countries/ALB"}
    for key in set(KEYS) - {"fr/countries/ALB"}:
        assert (s.output / f"{key}.pdf").read_bytes().rstrip().endswith(b"%%EOF")
    assert not (s.output / "fr" / "countries" / "ALB.pdf").exists()


@pytest.mark.slow
def test_a_time_limit_reached_while_weasyprint_draws_a_chart_is_not_swallowed(output, monkeypatch):
    """WeasyPrint catches every exception while drawing an SVG: without care the limit passes unnoticed and the
    PDF is published without its chart."""
    from weasyprint import svg

    original = svg.SVG.draw
    calls = []

    def draw(self, *args, **kw):
        calls.append(1)
        if len(calls) == 1:  # the limit is reached while the first chart is being drawn
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            time.sleep(2)
        return original(self, *args, **kw)

    monkeypatch.setattr(svg.SVG, "draw", draw)
    plan = json.loads(state.plan_path(output.output).read_text(encoding="utf-8"))
    w = worker.Worker(output, plan)
    result = w.render("fr/countries/ALB")
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert calls, "the country brief has no chart any more: this test needs one"
    assert (result.status, result.error) == ("failed", TIMEOUT_MESSAGE.format(t=output.render_timeout))
    assert not (output.output / "fr" / "countries" / "ALB.pdf").exists()
    # The worker is usable afterwards: no alarm left behind.
    monkeypatch.setattr(svg.SVG, "draw", original)
    assert w.render("fr/countries/XKX").status == "built"


# ------------------------------------------------------------------------------------------------------------------
# Memory
# ------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_small_memory_cap_fails_documents_clearly_not_the_machine(output, jobs):
    proc = reportgen("render", "--data", str(output.data), "--output", str(output.output), "--jobs", jobs,
                     "--render-memory-mb", "256")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    errors = failures(output)
    assert set(errors) == set(KEYS)
    assert all(e.startswith(MEMORY_MESSAGES) for e in errors.values()), errors
    assert all(e.endswith("raise it in the config or reduce the publication's size") or e == MEMORY_MESSAGES[1]
               for e in errors.values()), errors
    for key in KEYS:
        assert f"ERROR: {key}: " in proc.stderr


@pytest.mark.slow
def test_a_worker_killed_by_the_kernel_fails_only_its_document(output, monkeypatch):
    """A render worker dies (the kernel's out-of-memory killer, a crash in a C library): its document is named, and
    the documents the dead pool was rendering at the same time are rendered again and built."""
    import reportgen.pdf as pdf_module

    original = pdf_module.render_pdf

    def render_pdf(html_path, **kw):
        if Path(html_path).name == "ALB.html":
            os.kill(os.getpid(), signal.SIGKILL)
        return original(html_path, **kw)

    monkeypatch.setattr(pdf_module, "render_pdf", render_pdf)
    with pytest.raises(ReportgenError, match=r"^1 publication\(s\) failed to render; the others were built"):
        build.stage_render(output, 0, jobs=2)
    assert failures(output) == {"fr/countries/ALB": MEMORY_MESSAGES[1]}
    assert built(output) == set(KEYS) - {"fr/countries/ALB"}


# ------------------------------------------------------------------------------------------------------------------
# Input size caps, end to end through `reportgen validate`
# ------------------------------------------------------------------------------------------------------------------

def _workbook(rows: int) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["action_id", "title", "country", "region", "channel", "instrument", "partner", "pillars", "year",
               "committed", "disbursed"])
    for i in range(rows):
        ws.append([f"A-{i:05d}", f"Action {i} " + os.urandom(8).hex(), "ALB", "see", "bilateral", "", "IOM",
                   "prevention", 2008, 1000 + i, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A small .xlsx whose sheet declares 60 MB once inflated."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b" " * 60_000_000)
    return buf.getvalue()


def test_inputs_over_their_size_caps_are_refused_unread_naming_each_file(tmp_path):
    files = small_dataset()
    del files["actions.csv"], files["ratings.csv"]
    files["evaluation.yaml"] += "# " + "x" * 1_000_000 + "\n"                      # YAML cap: 1 MB
    files["narrative/fr/synthesis.md"] = "Texte. " * 200_000                       # Markdown cap: 1 MB
    files["actions.xlsx"] = _workbook(2000)                                        # over --max-xlsx-mb 0.05
    files["ratings.xlsx"] = _zip_bomb()                                            # declares 60 MB inflated
    data = write_dataset(tmp_path / "data", files)
    with open(data / "indicators.csv", "r+b") as fh:                               # CSV cap: 100 MB (sparse)
        fh.truncate(100_000_001)
    started = time.monotonic()
    proc = reportgen("validate", str(data), "--max-xlsx-mb", "0.05")
    assert time.monotonic() - started < 60
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    lines = proc.stderr.splitlines()
    for name in ("evaluation.yaml", "narrative/fr/synthesis.md", "actions.xlsx", "indicators.csv"):
        assert any(l.startswith(f"error: {name}: ") and "over the limit" in l for l in lines), (name, proc.stderr[-3000:])
    assert any(l.startswith("error: ratings.xlsx: ") for l in lines), proc.stderr[-3000:]
    assert lines[-1].startswith(f"ERROR: {data}: ") and "fix them and validate again" in lines[-1]


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path):
    files = small_dataset()
    bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    files["evaluation.yaml"] = files["evaluation.yaml"] + "\n".join(bomb) + "\n"
    data = write_dataset(tmp_path / "data", files)
    started = time.monotonic()
    proc = reportgen("validate", str(data))
    assert time.monotonic() - started < 30
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert any(l.startswith("error: evaluation.yaml") for l in proc.stderr.splitlines()), proc.stderr[-2000:]
