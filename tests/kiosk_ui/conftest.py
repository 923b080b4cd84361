"""The kiosk's browser tests: one real `appliance serve` (simulated hardware) per module and the
session's headless Chromium (tests/support/browser_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser_support import browser, require_chromium
from tests.support.config_support import simulated_config
from tests.support.kiosk_support import stop_service
from tests.support.service_support import ServiceProcess, start_service

__all__ = ["browser", "kiosk_service", "screenshots"]


@pytest.fixture(scope="module")
def kiosk_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service with a short traveller time-out (a traveller who walks away)."""
    require_chromium()
    root = tmp_path_factory.mktemp("kiosk")
    config = simulated_config(root / "simulated.toml", inspection={"traveller_timeout_s": 3.0})
    (root / "data").mkdir()
    service = start_service(root / "data", config)
    try:
        yield service
    finally:
        stop_service(service)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests leave their screenshots (docs/screens/ keeps a few of them)."""
    return tmp_path_factory.mktemp("kiosk-screens")
