"""Appliance configuration: one TOML file validated by pydantic.

The defaults name the real drivers; the shipped `config/simulated.toml` (`SIMULATED_CONFIG`)
selects the simulated hardware, and `appliance demo` uses it when no file is named.
`APPLIANCE_CONFIG` names the file and `APPLIANCE_DATA_DIR` the state directory, so tests and
several instances can run side by side.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.errors import ApplianceError, Reason
from appliance.imaging import DEFAULT_MAX_PIXELS
from appliance.inputs import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_TRUST_FILE_BYTES,
    read_input_file,
)
from appliance.signed import remote_config

#: the shipped config that selects the simulated hardware (in a repository checkout only)
SIMULATED_CONFIG = Path(__file__).resolve().parents[1] / "config" / "simulated.toml"

#: a config file is a few KB; bounded like every other file the appliance is handed
_MAX_CONFIG_BYTES = 1024 * 1024


class ConfigError(ApplianceError):
    """The config file or the data directory is unusable: `CONFIG_INVALID` or
    `DATA_DIR_UNAVAILABLE`, with a one-line detail; the CLI prints it and exits 2."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChipConfig(_Section):
    #: "virtual" (in-process simulated chip) or a PC/SC reader name (exact name)
    reader: str = "virtual"
    #: seconds to wait for a card to be presented
    presence_timeout_s: float = 10.0
    #: try PACE first and fall back to BAC (ICAO 9303-11 §4.2)
    prefer_pace: bool = True
    #: largest READ BINARY Le to start with; stepped down when the card refuses it
    max_read_size: int = 0xDF
    #: use extended-length READ BINARY when the card announces support
    allow_extended_length: bool = True
    #: Extended Access Control (DG3 fingerprints, DG4 iris): the inspection system's CV
    #: certificates, DV (after any CVCA link certificate) first and its own last, and its
    #: private key (PEM, PKCS#8); none: no Terminal Authentication, DG3/DG4 stay closed
    terminal_certificates: list[str] = Field(default_factory=list)
    terminal_key: str = ""


class HardwareConfig(_Section):
    """Factories (``module:callable``) for each port; see `appliance.wiring`.

    The defaults name the real drivers; `config/simulated.toml` (what `scripts/setup.sh run`,
    `appliance demo` and the tests use) names the simulated devices of `hardware_mocks/`.
    An empty factory is a device this install does not have.
    """

    #: simulated chip for ``--reader virtual`` (none on a product install)
    virtual_card: str = ""
    #: PC/SC reader by name
    pcsc_card: str = "drivers.pcsc:open_reader"
    #: exit-door controller on a serial port (called with the port)
    gate: str = "drivers.gate:open_gate"
    #: simulated exit-door controller, used when `inspection.gate_port` is "simulated"
    gate_simulator: str = ""
    #: simulated travellers for `appliance demo` (called with seed and run number)
    traveller_simulator: str = ""
    #: V4L2 camera of the face step (called with `face.camera`; see `face_step.from_config`)
    camera: str = "drivers.camera:open_camera"
    #: barcode decoder of `appliance barcode read` (called with the decoder name: "zxing", "zbar")
    barcode_scanner: str = "drivers.barcode:open_scanner"
    #: where the lane loop finds documents (called with the config and the gate simulator, if
    #: any): the product's watches the PC/SC reader `chip.reader` and the MRZ reader
    station: str = "appliance.inspection.station:open_station"
    #: OCR swipe reader of the product's station (called with `inspection.mrz_port`)
    mrz_scanner: str = "drivers.mrz_serial:SerialMrzScanner"


class DeviceConfig(_Section):
    #: identifies this device in history and sync (not personal data)
    device_id: str = "gate-sim-01"
    location: str = "SIM-CHECKPOINT"
    mode: Literal["egate", "handheld"] = "egate"


class HistoryConfig(_Section):
    #: days after a retention period ends before its keys (and so its personal data) are destroyed
    retention_days: int = Field(default=30, ge=0)
    #: length of one retention period (the unit of key destruction), in whole UTC days
    period_days: int = Field(default=1, ge=1)


class FaceConfig(_Section):
    """Face verification (appliance/biometrics/face)."""

    #: false-match-rate operating point of the 1:1 decision; thresholds come from the model
    #: manifest: "fmr_0.001" (0.1 %, Frontex ABC guidance) or "fmr_0.0005" (0.05 %, EU EES)
    operating_point: Literal["fmr_0.001", "fmr_0.0005"] = "fmr_0.001"
    #: "virtual" (simulated camera; the demo and tests supply its frames, the product refuses
    #: it) or a V4L2 device index or path such as /dev/video0, opened by `hardware.camera`
    camera: str = "virtual"
    #: frames per capture burst; the best by quality score is compared
    burst_frames: int = Field(default=5, ge=1, le=30)
    #: randomised head-turn challenges per liveness check, and seconds allowed for each (the
    #: challenge runs unless `device.mode` is "handheld", where an officer watches the traveller)
    liveness_steps: int = Field(default=2, ge=1, le=5)
    #: (below 2 s a traveller at a normal pace cannot turn and face the camera again in time)
    liveness_step_timeout_s: float = Field(default=4.0, ge=2.0, le=30.0)


class IrisConfig(_Section):
    """Iris recognition (appliance/biometrics/iris)."""

    #: decision threshold on the normalised Hamming distance (a match at or below it); 0.32
    #: sits far below the impostor minimum and far above the genuine maximum measured by
    #: `benchmarks/iris.py` (see docs/architecture.md); Daugman's deployments use 0.32-0.33
    threshold: float = Field(default=0.32, gt=0.0, lt=0.5)
    #: rotation search: +- this many code columns of 2.8 degrees (6: +-16.9 degrees of tilt;
    #: each column more widens the impostor distribution's low tail and costs 1:N time)
    max_shift: int = Field(default=6, ge=0, le=32)
    #: factory (``module:callable``, no arguments) of the NIR iris camera, a `Camera` whose
    #: frames are grayscale eye images; empty: no iris camera, a required iris step refers
    camera: str = ""


class InspectionConfig(_Section):
    """The check workflow (appliance/inspection); the decision policy itself is a signed file."""

    #: serial port of the exit-door controller, or "simulated" (`hardware.gate_simulator`)
    gate_port: str = "/dev/ttyUSB0"
    #: serial port of the OCR swipe reader of the product's document station, or
    #: "camera:DEVICE" to read the MRZ on that camera (`hardware.camera`) with frame fusion
    mrz_port: str = "/dev/ttyUSB1"
    #: seconds a traveller has to take the document back, or to walk through an open gate,
    #: before the lane gives up on them and gets ready for the next
    traveller_timeout_s: float = Field(default=20.0, gt=0, le=600)
    #: factory (``module:callable``) of the face step, DG2 image bytes -> 1:1 result; empty:
    #: no face verifier, the biometrics step is skipped (the signed policy decides if that refers);
    #: "appliance.inspection.face_step:from_config" is the product's, built from `[face]`
    face_verifier: str = ""
    #: factory of the morph step's detector (runs only beside a face step); empty: the step is
    #: skipped; "appliance.biometrics.morph.detector:from_config" is the product's
    morph_detector: str = ""


class InputsConfig(_Section):
    """Bounds on files and images handed to the CLI, so one bad file cannot exhaust memory."""

    #: pixels (width × height, as the header declares) of an MRZ page or face image
    max_image_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    #: bytes of an image file (`mrz read`, `face compare`)
    max_image_bytes: int = Field(default=DEFAULT_MAX_IMAGE_BYTES, ge=1)
    #: bytes of a master list, certificate bundle or CRL (`trust import`)
    max_trust_file_bytes: int = Field(default=DEFAULT_MAX_TRUST_FILE_BYTES, ge=1)


class SelftestConfig(_Section):
    """What `appliance selftest` holds the device to (appliance/selftest/)."""

    #: MiB the data directory's file system must keep free (below: fail; below twice: warn)
    min_free_mb: int = Field(default=512, ge=0)
    #: smallest camera frame, in pixels, the face step can work with
    camera_min_width: int = Field(default=640, ge=1)
    camera_min_height: int = Field(default=480, ge=1)


class SyncConfig(_Section):
    """The device side of sync with central (sync/device; `appliance sync ...`)."""

    #: the authority's national pseudonymisation key (32+ raw bytes, the same on every device
    #: and at central), installed at provisioning; without it checks go up without `document`
    national_key_file: Path | None = None
    #: unsent checks above which `sync status` and the self-test raise the backlog alarm
    #: (nothing is ever dropped: the history keeps every check)
    backlog_alarm: int = Field(default=100_000, ge=1)
    #: events per batch (central takes at most 5000)
    batch_size: int = Field(default=1000, ge=1, le=5000)
    #: seconds between rounds of `sync run`, and the bounds of the retry backoff
    interval_s: float = Field(default=30.0, gt=0)
    backoff_min_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    #: one request's time limit, seconds
    timeout_s: float = Field(default=30.0, gt=0)


class MonitoringConfig(_Section):
    """Face-check failure rates per traveller group (`appliance history stats`)."""

    #: checks a group needs in the window before its rates are shown
    min_group_size: int = Field(default=20, ge=1)
    #: alarm when a group's failure rate exceeds that of all other checks by this factor
    alarm_factor: float = Field(default=2.0, gt=1.0)
    #: length of the sliding window, in days
    window_days: int = Field(default=30, ge=1)


class Config(_Section):
    device: DeviceConfig = Field(default_factory=DeviceConfig)
    chip: ChipConfig = Field(default_factory=ChipConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    hardware: HardwareConfig = Field(default_factory=HardwareConfig)
    face: FaceConfig = Field(default_factory=FaceConfig)
    iris: IrisConfig = Field(default_factory=IrisConfig)
    inspection: InspectionConfig = Field(default_factory=InspectionConfig)
    inputs: InputsConfig = Field(default_factory=InputsConfig)
    selftest: SelftestConfig = Field(default_factory=SelftestConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    data_dir: Path = Path("var")


def data_dir(config: Config | None = None) -> Path:
    """The state directory: `APPLIANCE_DATA_DIR`, else the config's, created mode 0700.

    Raises `ConfigError` (`DATA_DIR_UNAVAILABLE`) when it cannot be created or written.
    """
    env = os.environ.get("APPLIANCE_DATA_DIR")
    path = Path(env) if env else (config.data_dir if config else Path("var"))
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        why = "not a directory" if isinstance(exc, FileExistsError) else exc.strerror
        raise ConfigError(Reason.DATA_DIR_UNAVAILABLE, f"data directory {path}: {why}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(Reason.DATA_DIR_UNAVAILABLE, f"data directory {path}: not writable")
    return path


def _where(error: Mapping[str, object]) -> str:
    loc = error.get("loc")
    return ".".join(str(part) for part in loc) if isinstance(loc, tuple) and loc else "(top)"


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate the config file (`APPLIANCE_CONFIG` when no path is given).

    Raises `ConfigError` (`CONFIG_INVALID`) naming the file and the first problem on one line:
    a missing or unreadable file, invalid TOML, an unknown key, a value of the wrong type.
    """
    chosen = path or os.environ.get("APPLIANCE_CONFIG")
    if not chosen:
        return Config.model_validate(_with_remote({}))
    try:
        raw = tomllib.loads(read_input_file(chosen, _MAX_CONFIG_BYTES).decode())
    except ApplianceError as exc:  # missing, unreadable, a FIFO or device, too large
        raise ConfigError(Reason.CONFIG_INVALID, f"config {chosen}: {exc.detail}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(Reason.CONFIG_INVALID, f"config {chosen}: not TOML ({exc})") from exc
    try:
        return Config.model_validate(_with_remote(raw))
    except ValidationError as exc:
        problems = [f"{_where(e)}: {e['msg']}" for e in exc.errors()]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(Reason.CONFIG_INVALID, f"config {chosen}: {problems[0]}{more}") from exc


def _with_remote(raw: dict[str, object]) -> dict[str, object]:
    """The few keys the border authority set through sync (`appliance.signed.remote_config`:
    signed, verified on every load, left out when they do not verify) over the local file."""
    env = os.environ.get("APPLIANCE_DATA_DIR")
    directory = Path(env) if env else Path(str(raw.get("data_dir", "var")))
    return remote_config.overlay(raw, directory)
