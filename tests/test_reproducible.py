"""Two clean builds of the same data and code give byte-identical publications (docs/security.md, "Reproducible").

Build A runs the workflow (Snakemake, working directory the repository); build B runs the ``reportgen`` stages
one by one from another working directory, with another time zone and locale, on a copy of the data in another
folder, into another output folder. ``SOURCE_DATE_EPOCH`` is unset for both: the build derives every date it
writes from the data (evaluation.yaml's ``published``). Every published file (PDF, HTML, CSV, XLSX, JSON) must be
byte-identical. Build A is also the clean reference of tests/test_crash.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pikepdf
import pytest
from datasets import TINY_DATASET, write_dataset

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash-reproducible")]  # they share the reference build

_CLEAN: dict[str, Path] = {}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a build: SOURCE_DATE_EPOCH unset, reportgen's interpreter first on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra)
    return env


def snakemake_cmd(data: Path, out: Path, *extra: str, workdir: Path | None = None) -> list[str]:
    """The workflow on ``data`` into ``out``, run from the project's folder (its profile applies) with a working
    directory of its own (``workdir``, default: ``snakemake-workdir`` beside ``out``): Snakemake keeps its locks
    and metadata there, so that tests that kill a build and ``--unlock`` touch no other test's locks and may run
    beside them."""
    workdir = workdir or out.parent / "snakemake-workdir"
    workdir.mkdir(parents=True, exist_ok=True)
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--cores", "2", "--config", f"data={data}", f"output={out}", *extra]


def published(out: Path) -> dict[str, bytes]:
    """Every published file (hidden build state excluded) and its bytes."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def workflow_build(base: Path) -> tuple[Path, Path]:
    """A clean build of the tiny dataset (fr + en) by the workflow, as a user runs it; returns (data, output)."""
    data = write_dataset(base / "data", dict(TINY_DATASET))
    out = base / "out"
    proc = subprocess.run(snakemake_cmd(data, out), cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return data, out


def clean_reference(tmp_path_factory) -> tuple[Path, Path]:
    """Build A, made once per test process (tests/test_crash.py compares against it too)."""
    if "A" not in _CLEAN:
        data, out = workflow_build(tmp_path_factory.mktemp("reproducible-A"))
        _CLEAN["A"], _CLEAN["A-data"] = out, data
    return _CLEAN["A-data"], _CLEAN["A"]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    data_a, out_a = clean_reference(tmp_path_factory)
    base = tmp_path_factory.mktemp("reproducible-B")
    data_b = base / "elsewhere with spaces" / "data"  # same folder name: the validation page shows it
    shutil.copytree(data_a, data_b)
    out_b = base / "another output"
    cwd = base / "somewhere"
    cwd.mkdir()
    env = clean_env(TZ="Pacific/Kiritimati", LC_ALL="C.UTF-8", LANG="C.UTF-8", PYTHONHASHSEED="12345")
    common = ["--data", str(data_b), "--output", str(out_b)]
    for args in (["validate", str(data_b), "--output", str(out_b)], ["prepare", *common],
                 ["render", *common, "--jobs", "2"], ["index", *common]):
        proc = subprocess.run([sys.executable, "-m", "reportgen.cli", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, (args[0], proc.stderr[-4000:])
    return out_a, out_b


def test_two_clean_builds_in_different_places_are_byte_identical(builds):
    out_a, out_b = builds
    a, b = published(out_a), published(out_b)
    assert sorted(a) == sorted(b)
    kinds = {name.rsplit(".", 1)[-1] for name in a}
    assert {"pdf", "html", "csv", "xlsx", "json"} <= kinds
    assert len([n for n in a if n.endswith(".pdf")]) == 18
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_no_path_of_the_build_machine_in_any_published_file(builds):
    out_a, out_b = builds
    for out in (out_a, out_b):
        for name, data in published(out).items():
            for folder in (out_a, out_b, out_a.parent, out_b.parent):
                assert str(folder).encode() not in data, (name, folder)


def test_dates_come_from_the_data_not_the_clock(builds):
    """Every date written (PDF dates, if any; the workbook's properties and zip entries) is the evaluation's
    ``published`` month, whatever the clock and the time zone say."""
    import re
    import zipfile

    out_a, out_b = builds
    published_month = datetime(2014, 3, 1, tzinfo=timezone.utc)  # evaluation.yaml: published: "2014-03"
    for out in (out_a, out_b):
        for name, data in published(out).items():
            if name.endswith(".pdf"):
                dates = set(re.findall(rb"D:(\d{8})", data))
                assert dates <= {b"20140301"}, (name, dates)
                with pikepdf.open(out / name) as pdf:
                    for key in ("/CreationDate", "/ModDate"):
                        assert str(pdf.docinfo.get(key, "D:20140301")).startswith("D:20140301"), (name, key)
        with zipfile.ZipFile(out / "data" / "figures.xlsx") as z:
            assert {i.date_time for i in z.infolist()} == {published_month.timetuple()[:6]}
            core = z.read("docProps/core.xml")
            assert set(re.findall(rb"(\d{4}-\d\d-\d\dT[\d:]+)", core)) == {b"2014-03-01T00:00:00"}
