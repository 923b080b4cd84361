"""Private files: the one writer of everything the appliance keeps that others must not read.

Keys, signed artefacts, their trust anchors and chip dumps hold secrets or personal data, and a
reader after a crash must see either the old or the new content, never half a file. So every
write goes to a temporary file in the same directory (mode 0600 from the start: the umask can
only narrow it), is fsynced, renamed into place and followed by an fsync of the directory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create (mode 0700) and return a directory that only the appliance user can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Atomically replace `path` with `data` (mode 0600, fsynced with its directory).

    With `exclusive`, fail with FileExistsError if the file already exists (two processes
    creating one key) instead of replacing it.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        if exclusive:
            os.link(tmp, path)  # fails with FileExistsError instead of replacing
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
