"""Set-up for `appliance check` and `appliance selftest` tests: a provisioned simulated data
directory (as the demo makes it), config files, and device factories the config can name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np

from appliance.inspection.demo import provision
from appliance.ports import Frame
from hardware_mocks.traveller_sim import TravellerSimulator
from hardware_mocks.virtual_chip import VirtualCardTransport, make_chip, make_profile

#: the specimen holder of `--reader virtual` (synthetic, as on the README's chip read)
HOLDER = make_profile()
MRZ = HOLDER.mrz_lines
MRZ_INFO = "C01X00T47,640812,341031"
#: every form in which the holder's personal data could leak into a log
PERSONAL = (
    HOLDER.surname,
    HOLDER.given_names,
    HOLDER.document_number,
    HOLDER.date_of_birth,
    "1964-08-12",
    "19640812",
)


def provisioned(directory: Path, *, require_biometrics: bool = False) -> Path:
    """Trust store, signed policy and watchlist, as `appliance demo` sets them up."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now().astimezone()
    provision(directory, TravellerSimulator(), require_biometrics=require_biometrics, now=now)
    return directory


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---------------------------------------------------------------- factories a config can name


def open_forged_dg() -> VirtualCardTransport:
    """The specimen passport whose DG1 was altered after signing."""
    return VirtualCardTransport(make_chip(variant="forged_dg"))


def open_empty_reader() -> VirtualCardTransport:
    """A reader with no document on it."""
    transport = VirtualCardTransport(make_chip())
    transport.remove()
    return transport


class StillCamera:
    """A camera that delivers black frames of one size."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def frames(self) -> Iterator[Frame]:
        while True:
            yield Frame(np.zeros((self.height, self.width, 3), np.uint8), 0.0)

    def close(self) -> None:
        pass


def open_hd_camera(device: str) -> StillCamera:
    return StillCamera(1280, 720)


def open_tiny_camera(device: str) -> StillCamera:
    return StillCamera(160, 120)


def restore_logging() -> None:
    """Take out the JSON handler a command installed on the root logger (the CLI sets it up
    per process; in a test process it would stay and write into later tests' output)."""
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_appliance_json_handler", False):
            root.removeHandler(handler)
    root.setLevel(logging.WARNING)
