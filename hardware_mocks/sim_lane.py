"""The simulated world around one lane: travellers who walk up, place their passport, face the
camera and walk through the simulated gate; `hardware.station` of `config/simulated.toml`.

`SimulatedStation` is a `DocumentStation` for the product's lane loop: a traveller placed with
`place`/`place_traveller` (the demo, `POST /api/v1/sim/travellers`) queues at the lane; when the
loop asks for a document the traveller's chip goes on the reader (the in-process virtual
reader, or vpcd's reader behind real pcscd when `chip.reader` names it), the sensors of the
gate simulator report what this traveller will do (tailgating, a manual door), and the camera
shows the traveller (with real faces). When the lane releases the document the traveller takes
it back. `unplug_reader`/`plug_reader` pull the reader out from under the lane (a fault test).
The station also provisions the simulated authority (`hardware_mocks.sim_authority`).

With `APPLIANCE_SIM_FACES` naming a folder of photos per person (e.g. `tests/data/faces`), the
simulated service's travellers have real faces, as `appliance demo --faces DIR` does: the chip
carries a portrait of the holder, the camera shows another photo (someone else's for an
`impostor`), and the station brings the lane's face step (the models load once; the liveness
challenge is off, since a still photo cannot turn its head).

With `APPLIANCE_SIM_IRIS` set to a share (0 to 1, e.g. "1") that share of the travellers carry
DG4 behind Extended Access Control, the station brings the lane's iris step (an
`IrisVerifier` over the current traveller's virtual iris camera) and the terminal's EAC
credentials (the simulated issuing state's test chain), and the simulated authority signs a
policy that requires the iris step, as `appliance demo --iris SHARE` does.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from appliance.config import Config, data_dir
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.errors import ApplianceError, Reason
from appliance.inspection.demo import next_run
from appliance.inspection.gate_events import GateSimulator
from appliance.inspection.iris_step import IrisCheck
from appliance.inspection.station import Presented, StationFault
from appliance.inspection.steps import FaceCheck
from appliance.ports import Camera, CameraError, CardTransport
from appliance.wiring import VIRTUAL_READER, load_factory, open_card_transport
from hardware_mocks import sim_authority
from hardware_mocks.traveller_sim import (
    PCSC_READER,
    Kind,
    SimulatedTraveller,
    TravellerSimulator,
    open_simulator,
)
from hardware_mocks.virtual_chip import make_profile

#: a folder of photos per person: the simulated service's travellers get real faces
FACES_ENV = "APPLIANCE_SIM_FACES"
#: the share of the simulated service's travellers whose chips carry iris data (DG4)
IRIS_ENV = "APPLIANCE_SIM_IRIS"


class SimulatedStation:
    """A `DocumentStation` fed by the traveller simulator (thread-safe: the API places, the
    lane loop takes)."""

    def __init__(
        self,
        config: Config,
        source: TravellerSimulator,
        gate_simulator: GateSimulator | None = None,
        *,
        pcsc: bool = False,
    ) -> None:
        self.config = config
        self.source = source
        self.gate_simulator = gate_simulator
        self.pcsc = pcsc
        self.plugged = True
        #: False: travellers walk away leaving their document on the reader (`take_document`)
        self.takes_document_back = True
        self._queue: deque[tuple[str, SimulatedTraveller]] = deque()
        self._current: tuple[str, SimulatedTraveller] | None = None
        self._cond = threading.Condition()
        self._stack = ExitStack()
        self._placed = 0
        self._started_pcsc = False
        #: recent travellers by reference (the demo prints their kind and expected outcome)
        self._seen: dict[str, SimulatedTraveller] = {}
        #: the face step that goes with real faces (`APPLIANCE_SIM_FACES`), else None
        self.face: FaceCheck | None = None
        #: the morph step's detector that goes with real faces, else None
        self.morph: Any = None

    # ------------------------------------------------------------------ the simulator's hooks

    def traveller_kinds(self) -> list[str]:
        return [k.value for k in self.source.kinds()]

    def place_traveller(
        self, kind: str, *, nationality: str | None = None, leaves: bool = False
    ) -> str:
        try:
            wanted = Kind(kind)
        except ValueError as exc:
            raise ApplianceError(Reason.USAGE, f"unknown traveller kind {kind!r}") from exc
        try:
            traveller = self.source.traveller(wanted, nationality=nationality, leaves=leaves)
        except ValueError as exc:
            raise ApplianceError(Reason.USAGE, str(exc)) from exc
        return self.place(traveller)

    def place(self, traveller: SimulatedTraveller) -> str:
        """Queue `traveller` at the lane; returns the reference its check will carry."""
        if self.pcsc and not self._started_pcsc:
            self.start_pcsc()
        with self._cond:
            self._placed += 1
            ref = f"sim-{self._placed}"
            self._queue.append((ref, traveller))
            self._cond.notify_all()
        return ref

    def traveller(self, ref: str | None) -> SimulatedTraveller | None:
        """The traveller behind a check's reference (the demo prints its kind)."""
        with self._cond:
            if self._current is not None and self._current[0] == ref:
                return self._current[1]
        return self._seen.get(ref or "")

    def unplug_reader(self) -> None:
        self.plugged = False

    def plug_reader(self) -> None:
        self.plugged = True

    def start_pcsc(self) -> None:
        """Make sure pcscd with the vpcd reader runs (`READER_NOT_FOUND` when it cannot)."""
        try:
            self.source.start_pcsc()
        except RuntimeError as exc:  # pcscd / vpcd not installed
            raise ApplianceError(Reason.READER_NOT_FOUND, str(exc)) from exc
        self._started_pcsc = True

    def provision(self, directory: Path, *, require_biometrics: bool, now: datetime) -> list[str]:
        return sim_authority.provision(
            directory,
            self.source,
            require_biometrics=require_biometrics,
            require_iris=self.source.iris_required,
            now=now,
        )

    def face_check(self) -> FaceCheck | None:
        return self.face

    def iris_check(self) -> IrisCheck | None:
        """The lane's iris step over the current traveller's iris camera (iris data only)."""
        if self.source.iris_share <= 0:
            return None
        from appliance.biometrics.iris.verifier import IrisVerifier

        iris = self.config.iris
        return IrisVerifier(self.iris_camera, threshold=iris.threshold, max_shift=iris.max_shift)

    def terminal_credentials(self) -> TerminalCredentials | None:
        """The inspection system's EAC chain of the simulated issuing state (iris data only)."""
        if self.source.iris_share <= 0:
            return None
        return make_profile().eac_pki().credentials()

    def iris_camera(self) -> Camera:
        """The iris camera with the current traveller's eye in front of it."""
        with self._cond:
            current = self._current
        if current is None:
            raise CameraError("no traveller at the iris camera")
        return current[1].iris_camera()

    def camera(self) -> Camera:
        """The lane camera with the current traveller in front of it (real faces only)."""
        with self._cond:
            current = self._current
        if current is None:
            raise ApplianceError(Reason.CAMERA_UNAVAILABLE, "no traveller at the camera")
        return current[1].camera()

    # ------------------------------------------------------------------ DocumentStation

    def _fault(self) -> None:
        if not self.plugged:
            raise StationFault(Reason.READER_NOT_FOUND, "simulated reader unplugged")

    def wait_document(self, timeout_s: float) -> bool:
        self._fault()
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._queue) or not self.plugged, timeout_s)

    def open_document(self) -> Presented:
        self._fault()
        with self._cond:
            ref, traveller = self._queue.popleft()
            self._current = (ref, traveller)
        self._seen[ref] = traveller
        if len(self._seen) > 1000:
            self._seen.pop(next(iter(self._seen)))
        if self.gate_simulator is not None:
            for event in traveller.gate_events:
                self.gate_simulator.inject(event)
            walk = getattr(self.gate_simulator, "walk_through_next", None)
            if walk is not None:
                walk(not traveller.leaves)
        transport: CardTransport
        if self.pcsc:
            reader = self._stack.enter_context(traveller.on_pcsc_reader())
            transport = open_card_transport(self.config, reader)
        else:
            transport = traveller.transport()
        return Presented(transport, traveller.scanner(), ref=ref)

    def release(self, presented: Presented) -> None:
        """The traveller takes the passport back."""
        self._stack.close()
        self._stack = ExitStack()
        if self.pcsc:
            _wait_removed(presented.transport)
        with contextlib.suppress(Exception):
            presented.transport.disconnect()
        if self.takes_document_back:
            self.take_document()

    def take_document(self) -> None:
        """Someone takes the document off the reader."""
        with self._cond:
            self._current = None

    def document_present(self) -> bool:
        self._fault()
        with self._cond:
            return self._current is not None

    def close(self) -> None:
        self._stack.close()


def _wait_removed(transport: CardTransport, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while transport.card_present() and time.monotonic() < deadline:
        time.sleep(0.02)


def open_station(
    config: Config,
    gate_simulator: GateSimulator | None = None,
    *,
    source: TravellerSimulator | None = None,
    pcsc: bool | None = None,
    seed: int = 0,
) -> SimulatedStation:
    """Factory for `hardware.station`: travellers from `hardware.traveller_simulator` (or the
    default simulator); their chips on vpcd's reader when `chip.reader` names it. Each start
    counts as a new run of the data directory, so a restarted service presents new documents
    (not "reused" ones)."""
    verifier: Any = None
    burst = min(config.face.burst_frames, 3)  # still photos: more frames add nothing
    if source is None:
        spec = config.hardware.traveller_simulator
        factory: Any = load_factory(spec) if spec else open_simulator
        options: dict[str, Any] = {"seed": seed, "run": next_run(data_dir(config))}
        iris_share = os.environ.get(IRIS_ENV)
        if iris_share:
            try:
                options["iris_share"] = float(iris_share)
            except ValueError as exc:
                raise ApplianceError(Reason.USAGE, f"{IRIS_ENV}: a share from 0 to 1") from exc
        faces = os.environ.get(FACES_ENV)
        if faces:
            from appliance.biometrics.face.compare import OperatingPoint
            from appliance.biometrics.face.verifier import FaceVerifier

            verifier = FaceVerifier.load(OperatingPoint(config.face.operating_point))
            options.update(faces=Path(faces), verifier=verifier, burst_frames=burst)
        source = cast(TravellerSimulator, factory(**options))
    if pcsc is None:
        pcsc = config.chip.reader not in (VIRTUAL_READER, "")
    if pcsc and config.chip.reader not in (PCSC_READER, VIRTUAL_READER):
        raise ApplianceError(
            Reason.USAGE, f"the simulated station serves chips on {PCSC_READER!r} only"
        )
    station = SimulatedStation(config, source, gate_simulator, pcsc=pcsc)
    if verifier is not None:
        from appliance.inspection.face_step import CameraFaceCheck

        station.face = CameraFaceCheck(verifier, station.camera, burst_frames=burst)
        from appliance.biometrics.morph.detector import from_config as morph_detector

        station.morph = morph_detector(config)  # the lane's morph step (`morphed` travellers)
    return station
