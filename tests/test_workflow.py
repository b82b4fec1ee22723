"""End-to-end workflow tests: Snakemake builds a whole dataset; incremental rebuilds touch exactly what changed.

These run the real workflow (`snakemake --cores 2`) on the tiny dataset of conftest.py, in French only where the
second language adds nothing to what is tested, so the module stays within a couple of minutes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("workflow")]


def snakemake(data: Path, out: Path, *extra: str, config: tuple[str, ...] = (), check: bool = True,
              env: dict | None = None):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
           "--config", f"data={data}", f"output={out}", *config, *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc


def published(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file users publish (hidden build state excluded), with its bytes and modification time."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not any(part.startswith(".") for part in Path(rel).parts):
            files[rel] = (p.read_bytes(), p.stat().st_mtime_ns)
    return files


def edit_csv(path: Path, action_id: str, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    sep = ";" if lines[0].count(";") > lines[0].count(",") else ","
    import csv
    import io

    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=sep))
    col = rows[0].index(column)
    for row in rows[1:]:
        if row[0] == action_id:
            row[col] = value
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory, request):
    """One full build of the tiny dataset (fr + en), shared by the tests of this module (they copy it)."""
    from datasets import TINY_DATASET, write_dataset

    base = tmp_path_factory.mktemp("wf")
    data = write_dataset(base / "data", dict(TINY_DATASET))
    out = base / "out"
    proc = snakemake(data, out)
    return data, out, proc


def test_full_build_produces_every_publication(built):
    data, out, proc = built
    files = published(out)
    for lang in ("fr", "en"):
        assert f"{lang}/synthesis.pdf" in files and f"{lang}/synthesis.html" in files
        for region in ("see", "west-africa", "asia"):
            assert f"{lang}/regions/{region}.pdf" in files
        for country in ("ALB", "XKX", "NGA", "CIV", "CHN"):
            assert f"{lang}/countries/{country}.pdf" in files
    assert "index.html" in files and "validation.json" in files and "data/figures.xlsx" in files
    # Build state, logs and benchmarks live only in the hidden folder.
    assert (out / ".reportgen" / "logs").is_dir() and (out / ".reportgen" / "benchmarks").is_dir()
    assert not [f for f in files if f.endswith((".log", ".tsv", ".pickle", ".part"))]
    # Progress and a final summary are shown.
    assert re.search(r"\[\s*\d+/\d+\] built", proc.stderr)
    assert re.search(r"reportgen: \d+ built, 0 unchanged, 0 failed of \d+ publications", proc.stderr)


def test_no_change_rerun_does_nothing(built, tmp_path):
    data, out, _ = built
    before = published(out)
    proc = snakemake(data, out)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert published(out) == before


def _copy_build(data: Path, out: Path, dst: Path) -> tuple[Path, Path]:
    d2, o2 = dst / "data", dst / "out"
    shutil.copytree(data, d2)
    shutil.copytree(out, o2, symlinks=True, copy_function=shutil.copy2)
    return d2, o2


def _relocated_state(o2: Path, out: Path) -> None:
    """A copied output folder keeps working: the state records no absolute path of the old folder."""
    for p in (o2 / ".reportgen").rglob("*.json"):
        assert str(out) not in p.read_text(encoding="utf-8"), p


def test_edit_one_action_rebuilds_exactly_what_changed(built, tmp_path):
    data, out, _ = built
    d2, o2 = _copy_build(data, out, tmp_path)
    _relocated_state(o2, out)
    before = published(o2)
    edit_csv(d2 / "actions.csv", "A-001", "title", "Appui renforcé à l'agence nationale NAPTIP")  # NGA
    proc = snakemake(d2, o2)
    after = published(o2)
    touched = {k for k in after if k not in before or after[k][1] != before[k][1]}
    changed = {k for k in after if k not in before or after[k][0] != before[k][0]}
    # Exactly the files whose content changed were written; nothing else was touched.
    assert touched == changed
    assert {"fr/countries/NGA.pdf", "en/countries/NGA.pdf", "fr/synthesis.pdf", "en/synthesis.pdf"} <= changed
    assert not {"fr/countries/CHN.pdf", "fr/countries/ALB.pdf", "en/regions/asia.pdf"} & changed
    # And the incremental result is byte-identical to a clean build of the edited data.
    clean = tmp_path / "clean"
    snakemake(d2, clean)
    # changes.json/.html compare with the previous build of the same folder, so they differ by design.
    history = {"changes.json", "changes.html"}
    assert ({k: v[0] for k, v in published(clean).items() if k not in history}
            == {k: v[0] for k, v in after.items() if k not in history})
    assert "NAPTIP" in (o2 / "changes.json").read_text(encoding="utf-8")
    assert re.search(r"reportgen: \d+ built, \d+ unchanged, 0 failed", proc.stderr)


def test_stylesheet_override_rebuilds_only_its_publications(built, tmp_path):
    data, out, _ = built
    d2, o2 = _copy_build(data, out, tmp_path)
    before = published(o2)
    override = tmp_path / "mytemplates" / "css"
    override.mkdir(parents=True)
    original = (ROOT / "templates" / "css" / "country.css").read_text(encoding="utf-8")
    (override / "country.css").write_text(original + "\n/* local */ h1 { letter-spacing: 0.01em; }\n",
                                          encoding="utf-8")
    snakemake(d2, o2, config=(f"templates={tmp_path / 'mytemplates'}",))
    after = published(o2)
    rendered = {k for k in after if k.endswith(".pdf") and after[k][1] != before.get(k, (b"", 0))[1]}
    countries = {k for k in after if k.endswith(".pdf") and "/countries/" in k}
    assert rendered == countries


def test_failed_validation_keeps_publications(built, tmp_path):
    data, out, _ = built
    d2, o2 = _copy_build(data, out, tmp_path)
    before = {k: v for k, v in published(o2).items() if not k.startswith("validation.")}
    edit_csv(d2 / "actions.csv", "A-001", "committed", "12,5O0")
    proc = snakemake(d2, o2, check=False, env={"REPORTGEN_VERBOSE": "0"})
    assert proc.returncode != 0
    assert "actions.csv:2: committed:" in proc.stderr
    console = proc.stdout + proc.stderr
    # The problem list once, one line where to look, no exception text for a data problem, no job blocks.
    assert console.count("actions.csv:2: committed:") == 1, console
    assert str(o2 / "validation.html") in proc.stderr
    for noise in ("Traceback", "RuleException", "CalledProcessError", "WorkflowError", "input:", "Error in rule"):
        assert noise not in console, (noise, console)
    after = {k: v for k, v in published(o2).items() if not k.startswith("validation.")}
    assert after == before
    assert "12,5O0" in (o2 / "validation.json").read_text(encoding="utf-8")


def test_a_build_is_quiet_and_leaves_nothing_in_the_temporary_folder(built, tmp_path):
    data, out, _ = built
    d2, o2 = _copy_build(data, out, tmp_path)
    (d2 / "narrative" / "fr" / "synthesis.md").write_text("## Contexte\n\nUn autre texte.\n", encoding="utf-8")
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    proc = snakemake(d2, o2, env={"TMPDIR": str(system_tmp), "REPORTGEN_VERBOSE": "0"})
    assert list(system_tmp.iterdir()) == []  # WeasyPrint's font folders went to the build state's tmp/, removed
    assert not (o2 / ".reportgen" / "tmp" / "render-0").exists()
    console = proc.stdout + proc.stderr
    assert "input:" not in console and "SNAKEMAKE" not in console
    assert "reportgen: 1 built" in console  # the summary


def test_cluster_generic_executor_matches_local_build(built, tmp_path):
    """Each job submitted as a separate process, as on a cluster: same bytes as the local build."""
    data, out, _ = built
    o2 = tmp_path / "cluster"
    status = tmp_path / "status.sh"
    status.write_text("#!/bin/sh\necho success\n")
    status.chmod(0o755)
    snakemake(data, o2, "--executor", "cluster-generic", "--jobs", "2",
              "--cluster-generic-submit-cmd", "bash", "--latency-wait", "5")
    local = {k: v[0] for k, v in published(out).items()}
    cluster = {k: v[0] for k, v in published(o2).items()}
    assert cluster == local


def test_two_builds_at_once_do_not_interfere(built, tmp_path):
    from datasets import TINY_DATASET, write_dataset

    data, out, _ = built
    other = dict(TINY_DATASET)
    other["evaluation.yaml"] = other["evaluation.yaml"].replace('id: "128"', 'id: "129"')
    d2 = write_dataset(tmp_path / "d2", other)
    o1, o2 = tmp_path / "o1", tmp_path / "o2"
    base = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "1",
            "--config", "languages=[fr]"]
    p1 = subprocess.Popen(base + [f"data={data}", f"output={o1}"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    p2 = subprocess.Popen(base + [f"data={d2}", f"output={o2}"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    out1, out2 = p1.communicate(timeout=600)[0], p2.communicate(timeout=600)[0]
    assert p1.returncode == 0, out1[-3000:]
    assert p2.returncode == 0, out2[-3000:]
    t1 = (o1 / "fr" / "synthesis.html").read_text(encoding="utf-8")
    t2 = (o2 / "fr" / "synthesis.html").read_text(encoding="utf-8")
    assert "128" in t1 and "129" in t2
    assert "129" not in t1 and "128" not in t2.split("<main", 1)[0]


def test_snakemake_lint_reports_nothing():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert "Lints for" not in proc.stdout + proc.stderr
