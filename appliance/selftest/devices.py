"""Self-test of the devices: card reader, camera, gate controller, MRZ scanner."""

from __future__ import annotations

import contextlib
import threading
from typing import cast

from appliance.errors import ApplianceError, Reason
from appliance.ports import Camera, GateController, GateState
from appliance.selftest.result import (
    CAMERA_FRAMES,
    CAMERA_TIMEOUT_S,
    Context,
    PartCheck,
    failed,
    passed,
    skipped,
)
from appliance.wiring import VIRTUAL_READER, load_factory, open_card_transport

# ------------------------------------------------------------------------------- hardware


def card_reader(ctx: Context) -> PartCheck:
    """pcscd reachable and the reader listed (the driver lists readers to open one), and it
    answers a presence query. A configured virtual reader is the simulated chip."""
    name = ctx.config.chip.reader
    if name == VIRTUAL_READER and ctx.ports.card is None:
        load_factory(ctx.config.hardware.virtual_card)  # importable: the simulation is there
        return passed("card_reader", "simulated: the in-process virtual chip (chip.reader)")
    transport = ctx.ports.card
    try:
        if transport is None:
            transport = open_card_transport(ctx.config)
    except ApplianceError as exc:
        return failed("card_reader", exc.reason, exc.detail)
    except Exception as exc:  # the driver's own error: pcscd down, reader not listed
        detail = str(exc) if type(exc).__name__ == "ReaderNotFound" else type(exc).__name__
        return failed("card_reader", Reason.READER_NOT_FOUND, detail)
    try:
        present = transport.card_present()
    except Exception as exc:
        return failed("card_reader", Reason.CHIP_COMMUNICATION, f"no answer: {type(exc).__name__}")
    card = "a document is on it" if present else "no document on it"
    return passed("card_reader", f"reader {name!r} answers; {card}")


def _fault_text(exc: BaseException) -> str:
    """A device driver's error for the technician (names a device or port, never a person)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _frames(camera: Camera, count: int) -> list[object]:
    images: list[object] = []
    for frame in camera.frames():
        images.append(frame.image)
        if len(images) >= count:
            break
    return images


def camera(ctx: Context) -> PartCheck:
    """Opens and delivers frames of at least the configured size (skipped without a face
    step). The frames are read in a worker thread: a camera that hangs is a failure."""
    cfg = ctx.config
    if not cfg.inspection.face_verifier and ctx.ports.camera is None:
        return skipped("camera", "no face step configured (inspection.face_verifier)")
    opener = ctx.ports.camera
    if opener is None:
        if cfg.face.camera == "virtual":
            return failed(
                "camera", Reason.CAMERA_UNAVAILABLE, 'face.camera is "virtual": no frame source'
            )
        factory = load_factory(cfg.hardware.camera)

        def opener() -> Camera:
            return cast(Camera, factory(cfg.face.camera))

    box: list[list[object] | BaseException] = []

    def grab() -> None:
        try:
            cam = opener()
            try:
                box.append(_frames(cam, CAMERA_FRAMES))
            finally:
                cam.close()
        except Exception as exc:
            box.append(exc)

    worker = threading.Thread(target=grab, name="selftest-camera", daemon=True)
    worker.start()
    worker.join(CAMERA_TIMEOUT_S)
    if not box:
        return failed("camera", Reason.CAMERA_UNAVAILABLE, f"no frame in {CAMERA_TIMEOUT_S:g} s")
    got = box[0]
    if isinstance(got, BaseException):
        return failed("camera", Reason.CAMERA_UNAVAILABLE, _fault_text(got))
    if not got:
        return failed("camera", Reason.CAMERA_UNAVAILABLE, "no frames")
    shape = getattr(got[0], "shape", None)
    if not shape or len(shape) < 2:
        return failed("camera", Reason.CAMERA_UNAVAILABLE, "frames are not images")
    height, width = int(shape[0]), int(shape[1])
    want_w, want_h = cfg.selftest.camera_min_width, cfg.selftest.camera_min_height
    if width < want_w or height < want_h:
        detail = f"frames {width}x{height}, smaller than {want_w}x{want_h} (selftest config)"
        return failed("camera", Reason.CAMERA_UNAVAILABLE, detail)
    return passed("camera", f"{len(got)} frames of {width}x{height}")


def gate_controller(ctx: Context) -> PartCheck:
    """Answers a status query with a known state (skipped in handheld mode). Opening the
    controller closes the gate (the driver's fail-safe): run it with the lane stopped, or
    through the service, which passes its own controller."""
    cfg = ctx.config
    if cfg.device.mode == "handheld":
        return skipped("gate_controller", "handheld mode: no gate")
    with contextlib.ExitStack() as stack:
        gate = ctx.ports.gate
        port = cfg.inspection.gate_port
        if gate is None:
            try:
                if port == "simulated":
                    simulator = load_factory(cfg.hardware.gate_simulator)()
                    stack.callback(simulator.close)
                    port = simulator.port
                gate = cast(GateController, load_factory(cfg.hardware.gate)(port))
            except Exception as exc:  # serial port missing, busy or not a gate
                return failed("gate_controller", Reason.GATE_FAULT, _fault_text(exc))
            shutdown = getattr(gate, "shutdown", None)
            if callable(shutdown):
                stack.callback(shutdown)
        state = gate.state()
    where = "simulated controller" if cfg.inspection.gate_port == "simulated" else "controller"
    if state in (GateState.FAULT, GateState.UNKNOWN):
        return failed("gate_controller", Reason.GATE_FAULT, f"{where} answers {state.value}")
    return passed("gate_controller", f"{where} answers: {state.value}")


def mrz_scanner(ctx: Context) -> PartCheck:
    """No MRZ scanner is configurable yet: the lane takes the MRZ from its own source and a
    handheld check from the officer (`check --mrz`); the OCR model is checked with the models."""
    return skipped("mrz_scanner", "no MRZ scanner configured")


# ------------------------------------------------------------------------------- software
