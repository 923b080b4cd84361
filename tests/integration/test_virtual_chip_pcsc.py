"""The virtual chip behind the real PC/SC stack: pcscd + vpcd, pyscard, `drivers.pcsc`.

Same reads as in-process, but every APDU goes through pcscd and the vpcd driver, so what the
reader sends and the chip answers must survive a real PC/SC path (extended length included).
Uses vpcd's second slot ("Virtual PCD 00 01", port 35964) to keep out of the driver tests' way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from appliance.emrtd.session import CanKey, ChipSession, MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.ports import CardEventKind
from drivers.pcsc import PcscReader
from hardware_mocks.virtual_chip import VirtualChip, make_chip, make_profile
from hardware_mocks.virtual_chip.face import synthetic_face_jpeg
from hardware_mocks.vpcd import VpcdBridge

pytestmark = pytest.mark.pcsc

SLOT = "Virtual PCD 00 01"
PORT = 35964
SPECIMEN = make_profile()
MRZ_KEY = MrzKey(SPECIMEN.document_number, SPECIMEN.date_of_birth, SPECIMEN.date_of_expiry)


@pytest.fixture
def reader(pcsc_stack: str) -> Iterator[PcscReader]:
    reader = PcscReader(SLOT)
    reader.wait_for_event(0.1)  # learn the current (empty) state, so insertion is an event
    yield reader


def wait_until_inserted(reader: PcscReader, timeout_s: float = 10.0) -> None:
    """Skip a late REMOVED from the previous test's card; fail if no card shows up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = reader.wait_for_event(max(0.1, deadline - time.monotonic()))
        if event is not None and event.kind is CardEventKind.INSERTED:
            return
    pytest.fail("the virtual card never appeared in the PC/SC reader")


def read_through_pcscd(reader: PcscReader, chip: VirtualChip, key: MrzKey | CanKey) -> tuple[
    str, dict[str, bytes]
]:  # fmt: skip
    with VpcdBridge(chip, port=PORT):
        wait_until_inserted(reader)
        session = ChipSession(reader.transport(), key)
        with session:
            access = session.open()
            contents = session.read_all().contents
    return access.protocol, contents


SMALL_FACE = synthetic_face_jpeg(0, 4_000)


@pytest.mark.parametrize(
    ("knobs", "key", "protocol"),
    [
        ({}, MRZ_KEY, "PACE"),
        ({}, CanKey(SPECIMEN.can or ""), "PACE"),
        ({"bac_only": True}, MRZ_KEY, "BAC"),
        # short APDUs only: pcscd's round trips add up, so a smaller portrait keeps this quick
        ({"extended_length": False, "max_read_size": 0xA0, "face_image": SMALL_FACE}, MRZ_KEY,
         "PACE"),
    ],
    ids=["pace-mrz", "pace-can", "bac", "short-only"],
)  # fmt: skip
def test_full_read_through_pcscd(
    reader: PcscReader, knobs: dict[str, object], key: MrzKey | CanKey, protocol: str
) -> None:
    chip = make_chip(**knobs)  # type: ignore[arg-type]
    got_protocol, contents = read_through_pcscd(reader, chip, key)
    assert got_protocol == protocol
    # every file of the eMRTD application, byte for byte as personalised
    read_lds = {fid: contents[name] for name, fid in _LDS_NAMES.items() if name in contents}
    assert read_lds == chip.contents.lds_files
    assert contents["DG1.bin"] == SPECIMEN.build_chip_files().by_name["DG1.bin"]
    has_pace = "EF_CardAccess.bin" in contents
    assert has_pace == (protocol == "PACE")
    if has_pace:
        assert contents["EF_CardAccess.bin"] == chip.contents.mf_files[0x011C]
        assert contents["EF_CardSecurity.bin"] == chip.contents.mf_files[0x011D]


_LDS_NAMES = {"EF_COM.bin": 0x011E, "EF_SOD.bin": 0x011D} | {
    f"DG{n}.bin": 0x0100 + n for n in range(1, 17)
}


def test_card_pulled_mid_read_through_pcscd(reader: PcscReader) -> None:
    chip = make_chip(max_read_size=0x40, extended_length=False)
    bridge = VpcdBridge(chip, port=PORT)
    bridge.insert()
    wait_until_inserted(reader)
    session = ChipSession(reader.transport(), MRZ_KEY)
    try:
        session.open()
        with pytest.raises(ApplianceError) as info:
            bridge.remove()
            session.read_all()
        assert info.value.reason is Reason.CHIP_REMOVED
    finally:
        bridge.remove()
        session.close()
