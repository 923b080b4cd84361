"""Reading and destroying the history's private files (keys, the latest checkpoint).

They are written with `appliance.files.write_private` (temporary file, fsync, rename, fsync of
the directory, mode 0600), so after a crash a reader sees either the old or the new content.
Loading refuses a key file others can read, because a key that leaked is no longer a key that
can be destroyed; destroying overwrites first.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path

from appliance.errors import ApplianceError, Reason
from appliance.files import fsync_dir


def read_private(path: Path) -> bytes:
    """Read a key file, refusing one that group or others may read or write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ApplianceError(Reason.HISTORY_STORAGE, f"cannot open {path.name}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode) or mode & 0o077:
            raise ApplianceError(
                Reason.HISTORY_STORAGE, f"{path.name} must be a regular file of mode 0600"
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def destroy(path: Path) -> bool:
    """Overwrite, fsync and unlink a key file; True if there was one.

    Overwriting first means a key survives only where the storage itself keeps old blocks
    (copy-on-write file systems, SSD remapping) - see docs/history.md.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        os.write(fd, b"\x00" * size)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    fsync_dir(path.parent)
    return True


def remove_stale_temporaries(directory: Path, older_than_s: float = 600.0) -> None:
    """Remove temporary files a crashed writer left behind (old enough to be nobody's)."""
    limit = time.time() - older_than_s
    for tmp in directory.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < limit:
                tmp.unlink()
