import errno
import os

import pytest

from reportgen import atomic
from reportgen.errors import ReportgenError


def test_write_bytes_creates_folders_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b" / "x.pdf"
    atomic.write_bytes(target, b"%PDF-1.7 data")
    assert target.read_bytes() == b"%PDF-1.7 data"
    assert [p.name for p in target.parent.iterdir()] == ["x.pdf"]


def test_write_if_changed_keeps_bytes_and_mtime(tmp_path):
    target = tmp_path / "x.html"
    assert atomic.write_if_changed(target, "<p>1</p>") is True
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    assert atomic.write_if_changed(target, "<p>1</p>") is False
    assert target.stat().st_mtime_ns == 1_000_000_000
    assert atomic.write_if_changed(target, "<p>2</p>") is True
    assert target.read_text() == "<p>2</p>"


def test_failed_write_keeps_the_old_file_and_no_partial(tmp_path, monkeypatch):
    target = tmp_path / "x.csv"
    target.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ReportgenError, match="disk is full"):
        atomic.write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    # CI runs as root, which ignores permission bits: simulate what the kernel answers to a normal user.
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(ReportgenError, match="permission denied; make the output folder writable"):
        atomic.write_bytes(tmp_path / "x.pdf", b"x")
    assert not (tmp_path / "x.pdf").exists()
