"""The document station: where the lane loop finds a document and learns that it is gone.

A station hides how documents arrive: the product's watches one PC/SC reader (`chip.reader`)
and an OCR swipe reader for the MRZ; the simulated one (`hardware_mocks/sim_lane.py`, chosen
by `hardware.station` in `config/simulated.toml`) is handed travellers by the simulator. A
station whose reader is missing or whose PC/SC service is gone raises `StationFault`: the lane
goes out of service (gate closed) and asks again until the reader is back.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

from appliance.config import Config
from appliance.errors import ApplianceError, Reason
from appliance.inspection.gate_events import GateSimulator
from appliance.ports import Camera, CardTransport, MrzScanner
from appliance.wiring import load_factory

#: `inspection.mrz_port` "camera:DEVICE": the MRZ is read on that camera, frames fused
CAMERA_PORT = "camera:"


def camera_mrz_scanner(config: Config, device: str) -> MrzScanner:
    """The MRZ read on a camera (`hardware.camera` opened on `device`), with frame fusion:
    frames until the fused read is confident, and how many it took (`frames_used`)."""
    from appliance.mrz.ocr.camera_scanner import CameraMrzScanner
    from appliance.mrz.ocr.reader import MrzImageReader

    camera = cast(Camera, load_factory(config.hardware.camera)(device))
    return CameraMrzScanner(camera, MrzImageReader())


class StationFault(ApplianceError):
    """The station cannot see documents at all (reader unplugged, PC/SC service gone)."""


@dataclass
class Presented:
    """A document on the station: its chip, its MRZ, and the station's opaque reference."""

    transport: CardTransport
    scanner: MrzScanner
    #: the station's own handle for this presentation (the simulator's traveller number);
    #: never personal data, never shown on the kiosk
    ref: str | None = None


class DocumentStation(Protocol):
    def wait_document(self, timeout_s: float) -> bool:
        """True once a document is on the reader; False after `timeout_s`; raises
        `StationFault` when the reader cannot be watched."""
        ...

    def open_document(self) -> Presented:
        """The document now on the reader."""
        ...

    def release(self, presented: Presented) -> None:
        """The lane is done with the document (disconnect; the traveller may take it)."""
        ...

    def document_present(self) -> bool:
        """True while a document lies on the reader; raises `StationFault` like above."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SimulationHook(Protocol):
    """A simulated station's hook (only the simulator has one): put a traveller at the lane."""

    def traveller_kinds(self) -> list[str]: ...

    def place_traveller(self, kind: str) -> str:
        """Queue a traveller of `kind`; returns the `Presented.ref` its check will carry.
        Raises `ApplianceError` (USAGE) for an unknown kind."""
        ...


class PcscStation:
    """The product's station: one PC/SC reader watched for cards, one OCR swipe reader.

    Presence is polled (`card_present`) and the reader's existence is checked by opening it
    by name, so an unplugged reader or a dead pcscd is a `StationFault`, not an empty reader.
    """

    def __init__(self, config: Config, poll_s: float = 0.1, recheck_s: float = 1.0) -> None:
        self._config = config
        self._poll_s = poll_s
        #: how often the reader's existence is checked again (listing readers costs a context)
        self._recheck_s = recheck_s
        self._checked = 0.0
        self._transport: CardTransport | None = None
        self._scanner: MrzScanner | None = None

    def _reader(self) -> CardTransport:
        if self._transport is not None and time.monotonic() - self._checked < self._recheck_s:
            return self._transport
        try:
            transport = load_factory(self._config.hardware.pcsc_card)(self._config.chip.reader)
        except ApplianceError:
            raise
        except Exception as exc:  # ReaderNotFound, the PC/SC service gone
            self._transport = None
            raise StationFault(Reason.READER_NOT_FOUND, str(exc)[:200]) from exc
        self._transport = cast(CardTransport, transport)
        self._checked = time.monotonic()
        return self._transport

    def _scanner_port(self) -> MrzScanner:
        if self._scanner is None:
            port = self._config.inspection.mrz_port
            try:
                if port.startswith(CAMERA_PORT):
                    self._scanner = camera_mrz_scanner(self._config, port[len(CAMERA_PORT) :])
                else:
                    factory = load_factory(self._config.hardware.mrz_scanner)
                    self._scanner = cast(MrzScanner, factory(port))
            except Exception as exc:  # the serial port or the camera is missing
                raise StationFault(Reason.MRZ_UNREADABLE, f"MRZ reader: {exc}"[:200]) from exc
        return self._scanner

    def wait_document(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            if self._reader().card_present():  # raises when the reader is gone
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(self._poll_s)

    def open_document(self) -> Presented:
        transport = self._transport or self._reader()
        return Presented(transport, self._scanner_port())

    def release(self, presented: Presented) -> None:
        with contextlib.suppress(Exception):
            presented.transport.disconnect()

    def document_present(self) -> bool:
        return self._reader().card_present()

    def close(self) -> None:
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.disconnect()
        closer: Any = getattr(self._scanner, "close", None)
        if callable(closer):
            with contextlib.suppress(Exception):
                closer()


def open_station(config: Config, gate_simulator: GateSimulator | None = None) -> PcscStation:
    """Factory for `hardware.station` (the product's default)."""
    return PcscStation(config)


def load_station(
    config: Config, gate_simulator: GateSimulator | None = None, **options: Any
) -> DocumentStation:
    """The configured station (`hardware.station`); `options` go to a station that takes them
    (the demo hands the simulated one its traveller source)."""
    factory = load_factory(config.hardware.station)
    station = factory(config, gate_simulator=gate_simulator, **options)
    for method in ("wait_document", "open_document", "release", "document_present", "close"):
        if not callable(getattr(station, method, None)):
            raise ApplianceError(Reason.USAGE, "configured station factory did not return one")
    return cast(DocumentStation, station)
