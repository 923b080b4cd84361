"""Composition root: turns configuration into port implementations without importing them.

`appliance/` never imports `drivers/` or `hardware_mocks/`; the config names a factory as
``"package.module:callable"`` and this module loads it at run time. Swapping a simulated reader
for a real one is a config change, and the core cannot tell which one it talks to. It also
builds the chip reader options and opens the trust store from the configuration, so
`appliance.emrtd` never reads the config itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, cast

from appliance.config import ChipConfig, Config, data_dir
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.session import ReaderOptions
from appliance.errors import ApplianceError, Reason
from appliance.ports import CardTransport

#: the in-process simulated chip (`--reader virtual`)
VIRTUAL_READER = "virtual"


def load_factory(spec: str) -> Callable[..., Any]:
    """Resolve ``"module:attribute"`` to a callable; configuration errors are usage errors."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ApplianceError(Reason.USAGE, f"factory must look like 'module:callable': {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ApplianceError(Reason.USAGE, f"cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ApplianceError(Reason.USAGE, f"{spec!r} is not callable")
    return cast(Callable[..., Any], factory)


def open_card_transport(config: Config, reader: str | None = None) -> CardTransport:
    """The transport for `reader` (a PC/SC reader name, or ``virtual``), else the configured one."""
    name = reader or config.chip.reader
    if name == VIRTUAL_READER:
        if not config.hardware.virtual_card:
            raise ApplianceError(
                Reason.READER_NOT_FOUND,
                "no simulated chip on this install (hardware.virtual_card; the simulated "
                "config is config/simulated.toml): name a PC/SC reader with --reader",
            )
        transport = load_factory(config.hardware.virtual_card)()
    else:
        transport = load_factory(config.hardware.pcsc_card)(name)
    if not isinstance(transport, CardTransport):
        raise ApplianceError(Reason.USAGE, "configured card factory did not return a transport")
    return transport


def reader_options(chip: ChipConfig) -> ReaderOptions:
    """The reader behaviour the config's [chip] section asks for (`appliance.emrtd` itself never
    reads the config: its options are passed in)."""
    return ReaderOptions(
        prefer_pace=chip.prefer_pace,
        max_read_size=chip.max_read_size,
        allow_extended_length=chip.allow_extended_length,
    )


def open_trust_store(config: Config | None = None) -> TrustStore:
    """The trust store in the data directory (`APPLIANCE_DATA_DIR`, else the config's)."""
    return TrustStore(data_dir(config) / TRUST_FILE)
