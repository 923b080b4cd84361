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


def pytest_configure(config: pytest.Config) -> None:
    """Point libpcsclite at this session's private pcscd before any test loads pyscard: it
    reads the socket path once per process, and a test that looks for a reader before the
    `pcsc_stack` fixture ran would otherwise pin the whole session to the system's socket."""
    from hardware_mocks.pcsc_stack import claim_socket_path

    claim_socket_path()


@pytest.fixture(scope="session")
def pcsc_stack() -> Iterator[str]:
    """This session's own pcscd with vpcd's virtual readers; yields the first reader's name.

    Each test session starts a private pcscd (its own network namespace, socket and vpcd ports:
    `hardware_mocks.pcsc_stack`), so sessions on one machine no longer take turns. In CI the
    stack must be there (the set-up installs it), so a missing stack fails there, and under the
    README's test command (`scripts/setup.sh test` sets `APPLIANCE_TESTS_NEED_PCSC`); it only
    skips on a developer machine that has not run the set-up.
    """
    from hardware_mocks.pcsc_stack import PcscStackUnavailable, ensure_pcscd, reader_name

    try:
        proc = ensure_pcscd(timeout_s=30.0)  # a loaded 2-core machine can take a while
    except PcscStackUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("APPLIANCE_TESTS_NEED_PCSC"):
            pytest.fail(f"PC/SC stack unavailable in CI: {exc}")
        pytest.skip(f"PC/SC stack unavailable: {exc}")
    yield reader_name(0)
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)
