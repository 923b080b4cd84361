"""Starts Debian's pcscd (with the vpcd virtual reader) for tests and the simulated appliance.

On a device pcscd runs under systemd; in development and CI nothing starts it, so the demo and
the integration tests call `ensure_pcscd()`, which starts `pcscd --foreground` when its socket is
absent and leaves an already-running daemon alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_DRIVER_CONF = Path("/etc/reader.conf.d/vpcd")
VIRTUAL_READER_PREFIX = "Virtual PCD"


class PcscStackUnavailable(RuntimeError):
    """pcscd or the vpcd driver is not installed (run the README's set-up command)."""


def pcsc_stack_installed() -> bool:
    return shutil.which("pcscd") is not None and VPCD_DRIVER_CONF.exists()


def ensure_pcscd(timeout_s: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Make sure pcscd is running; return the process when this call started it."""
    if not pcsc_stack_installed():
        raise PcscStackUnavailable("pcscd and vsmartcard-vpcd are required")
    if PCSCD_SOCKET.exists() and _vpcd_listening():
        return None
    pcscd = shutil.which("pcscd")
    assert pcscd is not None
    if PCSCD_SOCKET.exists():
        # A stale socket from a killed daemon blocks a new one from starting.
        PCSCD_SOCKET.unlink()
    proc = subprocess.Popen(
        [pcscd, "--foreground", "--error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if PCSCD_SOCKET.exists() and _vpcd_listening():
            return proc
        if proc.poll() is not None:
            raise PcscStackUnavailable(f"pcscd exited with code {proc.returncode}")
        time.sleep(0.05)
    proc.terminate()
    raise PcscStackUnavailable("pcscd did not come up in time")


def _vpcd_listening() -> bool:
    """True when pcscd answers and lists the vpcd virtual reader.

    (Probing vpcd's TCP port instead would look to vpcd like a card being inserted and pulled.)
    """
    try:
        from smartcard.System import readers

        return any(str(r).startswith(VIRTUAL_READER_PREFIX) for r in readers())
    except Exception:
        return False
