"""Crashes lose nothing (docs/security.md, "Crashes").

A full build of the tiny dataset (fr + en) is killed again and again at different points — SIGKILL to the whole
process group after 2 s, after 5 s, when the first PDF of that run appears, after 9 s, and SIGTERM once — and each
time resumed with the documented command (after SIGKILL, which leaves Snakemake's lock behind:
``snakemake --unlock`` with the same config, then the same command again; after SIGTERM: the same command again).
The final output is byte-identical to a clean build. While the builds run, a watcher reads every published file
every 20 ms: no reader ever sees a truncated PDF, HTML, CSV, JSON, XLSX, stylesheet or font under its final name.

A full disk (a small tmpfs mounted here) and an unwritable output folder (a read-only bind mount; a path under a
regular file) give a clear error, no traceback, and no partial file.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from datasets import TINY_DATASET, write_dataset
from test_reproducible import ROOT, clean_env, clean_reference, published, snakemake_cmd

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crash-reproducible")]  # they share the reference build

TEMPLATES = ROOT / "templates"


# ------------------------------------------------------------------------------------------------------------------
# A reader that polls every published file
# ------------------------------------------------------------------------------------------------------------------

def incomplete(path: Path, rel: str, data: bytes) -> str | None:
    """Why ``data`` is not a whole file of its kind, or None."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        if not data.startswith(b"%PDF-") or not data.rstrip().endswith(b"%%EOF"):
            return "PDF without its header or %%EOF"
    elif suffix == ".html":
        if not data.endswith(b"</html>\n"):
            return "HTML not ending with </html>"
    elif suffix == ".csv":
        try:
            rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            return f"unreadable CSV ({exc})"
        if not rows or not data.endswith(b"\n") or len({len(r) for r in rows}) != 1:
            return "truncated CSV"
    elif suffix == ".xlsx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if z.testzip() is not None:
                    return "corrupt workbook"
        except zipfile.BadZipFile as exc:
            return f"unreadable workbook ({exc})"
    elif suffix == ".json":
        try:
            json.loads(data)
        except ValueError as exc:
            return f"unreadable JSON ({exc})"
    elif rel.startswith(("assets/css/", "assets/fonts/")):
        source = TEMPLATES / rel.removeprefix("assets/")
        if source.is_file() and data != source.read_bytes():
            return "copied asset differs from its source"
    return None


class Watcher(threading.Thread):
    """Reads every published file (hidden files and folders excluded) each time it changes, every 20 ms."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.stop = threading.Event()
        self.problems: list[tuple[str, str]] = []
        self.checked = 0
        self.seen: dict[Path, tuple[int, int, int]] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(0.02)
        self.poll()

    def poll(self) -> None:
        try:
            paths = list(self.out.rglob("*"))
        except OSError:
            return
        for path in paths:
            rel = path.relative_to(self.out).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            try:
                st = path.stat()
                if not path.is_file():
                    continue
                signature = (st.st_ino, st.st_size, st.st_mtime_ns)
                if self.seen.get(path) == signature:
                    continue
                data = path.read_bytes()
            except OSError:
                continue  # renamed away or removed meanwhile
            self.seen[path] = signature
            self.checked += 1
            why = incomplete(path, rel, data)
            if why:
                self.problems.append((rel, why))


# ------------------------------------------------------------------------------------------------------------------
# Runs that are killed
# ------------------------------------------------------------------------------------------------------------------

def _wait_group_gone(pgid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.killpg(pgid, signal.SIGKILL)
    raise AssertionError("processes of the killed build outlived it")


def pdf_signatures(out: Path) -> set[tuple[str, int, int]]:
    return {(p.as_posix(), p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*.pdf")
            if ".reportgen" not in p.parts}


def run_and_kill(cmd: list[str], out: Path, log: Path, *, sig: int, after: float | None = None,
                 first_new_pdf: bool = False) -> float:
    """Start ``cmd``; send ``sig`` to its whole process group at the trigger; return when every process is gone."""
    before = pdf_signatures(out) if out.exists() else set()
    with open(log, "a", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=clean_env(), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    started = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the build ended (status {proc.returncode}) before the kill point; see {log}")
            elapsed = time.monotonic() - started
            if after is not None and elapsed >= after:
                break
            if first_new_pdf and out.exists() and pdf_signatures(out) - before:
                break
            if elapsed > 300:
                raise AssertionError("kill point never reached")
            time.sleep(0.02)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=120)
        _wait_group_gone(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return elapsed


def unlock(data: Path, out: Path, log: Path) -> None:
    """The documented recovery after a hard kill: release Snakemake's stale lock (docs/security.md)."""
    with open(log, "a", encoding="utf-8") as fh:
        subprocess.run(snakemake_cmd(data, out, "--unlock"), cwd=ROOT, env=clean_env(), stdout=fh,
                       stderr=subprocess.STDOUT, check=True, timeout=300)


def test_killed_builds_resume_to_the_bytes_of_a_clean_build_and_no_reader_sees_a_partial_file(
        tmp_path_factory, tmp_path):
    _, reference = clean_reference(tmp_path_factory)
    data = write_dataset(tmp_path / "data", dict(TINY_DATASET))
    out = tmp_path / "out"
    log = tmp_path / "builds.log"
    cmd = snakemake_cmd(data, out)
    watcher = Watcher(out)
    watcher.start()
    kills = []
    try:
        kills.append(("SIGKILL after 2 s", run_and_kill(cmd, out, log, sig=signal.SIGKILL, after=2)))
        unlock(data, out, log)
        kills.append(("SIGKILL after 5 s", run_and_kill(cmd, out, log, sig=signal.SIGKILL, after=5)))
        unlock(data, out, log)
        kills.append(("SIGKILL at the first PDF", run_and_kill(cmd, out, log, sig=signal.SIGKILL,
                                                               first_new_pdf=True)))
        unlock(data, out, log)
        kills.append(("SIGTERM at the first PDF", run_and_kill(cmd, out, log, sig=signal.SIGTERM,
                                                               first_new_pdf=True)))
        # No unlock: Snakemake releases its lock on SIGTERM; the same command resumes.
        kills.append(("SIGKILL after 9 s", run_and_kill(cmd, out, log, sig=signal.SIGKILL, after=9)))
        unlock(data, out, log)
        # What a SIGKILL in the middle of a write leaves: a hidden temporary file, never a file under its name.
        planted = out / "fr" / ".synthesis.pdf.k1ll3d.part"
        planted.write_bytes(b"%PDF-1.7 half")
        os.utime(planted, (time.time() - 5, time.time() - 5))
        with open(log, "a", encoding="utf-8") as fh:
            final = subprocess.run(cmd, cwd=ROOT, env=clean_env(), stdout=fh, stderr=subprocess.STDOUT, timeout=900)
    finally:
        watcher.stop.set()
        watcher.join(timeout=30)
    assert final.returncode == 0, log.read_text(encoding="utf-8")[-4000:]
    assert watcher.problems == [], watcher.problems[:20]
    assert watcher.checked > 30  # it did watch: every file was read at least once
    assert published(out) == published(reference), [k for k in set(published(out)) | set(published(reference))
                                                    if published(out).get(k) != published(reference).get(k)]
    leftovers = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.part"))
    assert leftovers == [], leftovers
    assert "Traceback" not in log.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------------------------
# Full disk, unwritable output folder
# ------------------------------------------------------------------------------------------------------------------

def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def reportgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=clean_env(), timeout=600)


def _small_dataset() -> dict[str, str]:
    from test_security_limits import small_dataset

    return small_dataset()


def _check_no_partial_file(out: Path) -> None:
    assert sorted(p.name for p in out.rglob("*.part")) == []
    for path in out.rglob("*"):
        if path.is_file():
            rel = path.relative_to(out).as_posix()
            assert incomplete(path, rel, path.read_bytes()) is None, rel


def test_a_full_disk_gives_a_clear_error_and_leaves_no_partial_file(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the in-process simulation below still runs")
    data = write_dataset(tmp_path / "data", _small_dataset())
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)):
        pytest.skip("cannot mount a tmpfs here; the in-process simulation below still runs")
    try:
        out = disk / "out"
        common = ["--data", str(data), "--output", str(out)]
        assert reportgen("validate", str(data), "--output", str(out)).returncode == 0
        assert reportgen("prepare", *common, "--languages", "fr").returncode == 0
        # The disk is now nearly full: room for a few more kilobytes only.
        st = os.statvfs(disk)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        assert _mount("-o", f"remount,size={used + 96 * 1024}", str(disk))
        proc = reportgen("render", *common, "--jobs", "2")
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "the disk is full while writing" in proc.stderr
        assert "free some space and build again" in proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
        _check_no_partial_file(out)
        # Space again: the same command finishes the build.
        assert _mount("-o", "remount,size=64m", str(disk))
        proc = reportgen("render", *common, "--jobs", "2")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert len(list((out / "fr").rglob("*.pdf"))) == 4
        _check_no_partial_file(out)
    finally:
        _umount(disk)


def test_a_full_disk_simulated_in_process(tmp_path, monkeypatch):
    """The same, without mounting: the 6th file written fails with ENOSPC while its bytes are being flushed."""
    from reportgen import atomic, build
    from reportgen.errors import ReportgenError
    from reportgen.settings import Settings

    data = write_dataset(tmp_path / "data", _small_dataset())
    s = Settings.from_mapping({"data": str(data), "output": str(tmp_path / "out"), "languages": ["fr"]})
    build.stage_validate(s, quiet=True)
    calls = []
    real_fsync = os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 6:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(ReportgenError, match=r"^the disk is full while writing .*; free some space and build again "
                                             r"\(nothing was half-written\)$"):
        build.stage_prepare(s)
    _check_no_partial_file(s.output)


def test_an_unwritable_output_folder_gives_a_clear_error(tmp_path):
    data = write_dataset(tmp_path / "data", _small_dataset())
    # A path under a regular file (works without privileges).
    (tmp_path / "file.txt").write_text("x")
    proc = reportgen("validate", str(data), "--output", str(tmp_path / "file.txt" / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(f"ERROR: cannot write {tmp_path / 'file.txt' / 'out'}")
    assert "Traceback" not in proc.stderr
    # A read-only folder (a read-only bind mount: root ignores permissions).
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    ro = tmp_path / "readonly"
    ro.mkdir()
    if not (_mount("--bind", str(ro), str(ro)) and _mount("-o", "remount,ro,bind", str(ro))):
        _umount(ro)
        pytest.skip("cannot make a read-only bind mount here")
    try:
        proc = reportgen("validate", str(data), "--output", str(ro / "out"))
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1] == (
            f"ERROR: cannot write {ro / 'out' / 'validation.json'}: permission denied; make the output folder "
            "writable or choose another one")
        assert "Traceback" not in proc.stderr
        # The whole workflow says so too, without a traceback.
        run = subprocess.run(snakemake_cmd(data, ro / "out", workdir=tmp_path / "workdir"), cwd=ROOT, env=clean_env(), capture_output=True,
                             text=True, timeout=300)
        assert run.returncode != 0
        assert "Traceback" not in run.stdout + run.stderr
        assert "Read-only file system" in run.stdout + run.stderr or "permission denied" in run.stdout + run.stderr
        assert list(ro.iterdir()) == []
    finally:
        _umount(ro)


def test_a_full_disk_met_inside_a_library_is_said_as_a_full_disk(tmp_path):
    """Found by CI (2026-11-30): the disk filled while WeasyPrint wrote a font file in the render job's temporary
    folder (not through reportgen.atomic), and the document failed as "internal error OSError: [Errno 28]"."""
    import errno
    from types import SimpleNamespace

    from reportgen.settings import Settings
    from reportgen.worker import Worker

    s = Settings.from_mapping({"data": str(tmp_path / "data"), "output": str(tmp_path / "out")})
    font = tmp_path / "out" / ".reportgen" / "tmp" / "render-0" / "weasyprint-x" / "font.ttf"
    for exc, where in ((OSError(errno.ENOSPC, "No space left on device", str(font)), str(font)),
                       (OSError(errno.ENOSPC, "No space left on device"), "a temporary file in ")):
        r = Worker.failed(SimpleNamespace(s=s), "fr/countries/ALB", 0.1, exc)
        assert r.status == "failed" and r.error.startswith(f"the disk is full while writing {where}"), r.error
        assert r.error.endswith("free some space and build again (nothing was half-written)")
    other = Worker.failed(SimpleNamespace(s=s), "fr/countries/ALB", 0.1, OSError(errno.EIO, "I/O error"))
    assert other.error.startswith("internal error OSError")  # only a full disk is said so
