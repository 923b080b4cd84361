"""Shared fixtures: an isolated data directory, the real PC/SC stack (test data: data_support)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh APPLIANCE_DATA_DIR for one test."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(path))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)
    return path


@pytest.fixture(scope="session")
def pcsc_stack() -> Iterator[str]:
    """A running pcscd with vpcd's virtual readers; yields the first virtual reader's name.

    In CI the stack must be there (the set-up installs it), so a missing stack fails there and
    only skips on a developer machine that has not run the set-up.
    """
    import fcntl

    from hardware_mocks.pcsc_stack import PcscStackUnavailable, ensure_pcscd

    # vpcd serves one simulated card per reader: test runs on one machine take turns.
    lock = open("/tmp/border-appliance-vpcd.lock", "w")  # noqa: SIM115 - held for the session
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        try:
            proc = ensure_pcscd()
        except PcscStackUnavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"PC/SC stack unavailable in CI: {exc}")
            pytest.skip(f"PC/SC stack unavailable: {exc}")
        yield "Virtual PCD 00 00"
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
