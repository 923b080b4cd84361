"""Reading a file a user names on the command line, bounded: one home for every CLI.

`Path.read_bytes()` on `/dev/zero` reads until MemoryError and on a FIFO blocks forever. Here
the file is opened non-blocking (a FIFO opens at once), checked with fstat to be a regular
file, and read up to a limit (checked again while reading: the file may grow, and /proc files
report size 0). Each refusal has its own stable reason; callers exit 2 (a fault of the input).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from appliance.errors import ApplianceError, Reason

MIB = 1024 * 1024
#: defaults of the `[inputs]` config section (see `appliance.config.InputsConfig`)
DEFAULT_MAX_IMAGE_BYTES = 50 * MIB
DEFAULT_MAX_TRUST_FILE_BYTES = 20 * MIB
#: one file of a chip dump (`chip verify DIR`): an EF is at most a few hundred KB (a DG2 with
#: several JPEG 2000 portraits), so 16 MiB is generous and still bounds memory
MAX_CHIP_FILE_BYTES = 16 * MIB

_CHUNK = MIB

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _too_large(limit: int) -> ApplianceError:
    return ApplianceError(Reason.FILE_TOO_LARGE, f"larger than the limit of {limit} bytes")


def read_input_file(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    Raises `ApplianceError`: `FILE_UNREADABLE` (cannot be opened or read), `FILE_NOT_REGULAR`
    (a device, FIFO, socket or directory), `FILE_TOO_LARGE` (more than `limit` bytes). The
    detail never names the file (a file name may be personal data).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ApplianceError(
            Reason.FILE_UNREADABLE, f"cannot open the file ({exc.strerror})"
        ) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _kind(info.st_mode)
            raise ApplianceError(Reason.FILE_NOT_REGULAR, f"not a regular file: {kind}")
        if info.st_size > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(_CHUNK, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _too_large(limit)
        return b"".join(chunks)
    except OSError as exc:
        raise ApplianceError(
            Reason.FILE_UNREADABLE, f"cannot read the file ({exc.strerror})"
        ) from exc
    finally:
        os.close(fd)
