"""Crash-safe writes: every output goes to a temporary file in the same folder and is renamed into place.

A reader (a web server, a user, the next build) never sees a half-written file under its final name, and a write
whose content is unchanged leaves the file alone, bytes and modification time included.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import ReportgenError


def describe_write_error(exc: OSError, path: Path | str) -> str:
    """What a failed write means to the user, and what to do (a full disk, a folder not writable…)."""
    if exc.errno == errno.ENOSPC:
        return f"the disk is full while writing {path}; free some space and build again (nothing was half-written)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {path}: permission denied; make the output folder writable or choose another one"
    return f"cannot write {path}: {exc.strerror or exc}"


def write_bytes(path: Path | str, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, rename).

    ``durable=False`` skips the fsync: for caches, whose loss in a power cut costs only time (the rename still
    means a reader sees the old file or the new one, never a part of one).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ReportgenError(describe_write_error(exc, path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise ReportgenError(describe_write_error(exc, path)) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def write_text(path: Path | str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_if_changed(path: Path | str, data: bytes | str) -> bool:
    """Write only when the content differs; return whether the file was (re)written."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    write_bytes(path, data)
    return True


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
