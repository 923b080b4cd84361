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
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.config import ChipConfig, Config, data_dir
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.protocol import cvc
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
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


def optional_factory(spec: str) -> Callable[..., Any] | None:
    """As `load_factory`, for a part a build may leave out (the device side of sync): None
    when its module is not installed."""
    try:
        importlib.import_module(spec.partition(":")[0])
    except ModuleNotFoundError:
        return None
    return load_factory(spec)


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
        terminal=terminal_credentials(chip),
    )


def terminal_credentials(chip: ChipConfig) -> TerminalCredentials | None:
    """The EAC inspection system's chain and key from [chip]; unusable files: CONFIG_INVALID."""
    if not chip.terminal_certificates and not chip.terminal_key:
        return None
    try:
        chain = tuple(cvc.parse(Path(p).read_bytes()) for p in chip.terminal_certificates)
        key = serialization.load_pem_private_key(Path(chip.terminal_key).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the terminal key is not an EC key")
        return TerminalCredentials(chain, key)
    except (OSError, ValueError, TypeError, ApplianceError) as exc:
        detail = exc.detail if isinstance(exc, ApplianceError) else str(exc)
        raise ApplianceError(
            Reason.CONFIG_INVALID, f"[chip] terminal certificates or key: {detail}"
        ) from exc


def open_trust_store(config: Config | None = None) -> TrustStore:
    """The trust store in the data directory (`APPLIANCE_DATA_DIR`, else the config's)."""
    return TrustStore(data_dir(config) / TRUST_FILE)
