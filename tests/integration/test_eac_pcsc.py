"""Extended Access Control through the real PC/SC stack (pcscd + vpcd + pyscard): Terminal
Authentication after Chip Authentication and the DG4 read, and the refusals, by reason.

Uses vpcd's second slot ("Virtual PCD 00 01", port 35964) like the other chip tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from appliance.emrtd.document import ChipDocument, read_chip
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.emrtd.session import MrzKey, ReaderOptions
from appliance.errors import Reason
from appliance.ports import CardEventKind
from drivers.pcsc import PcscReader
from hardware_mocks.eac_pki import build_eac_pki
from hardware_mocks.virtual_chip import VirtualChip, make_chip, make_profile
from hardware_mocks.vpcd import VpcdBridge

pytestmark = pytest.mark.pcsc

SLOT = "Virtual PCD 00 01"
PORT = 35964
PROFILE = make_profile(iris=True)
KEY = MrzKey(PROFILE.document_number, PROFILE.date_of_birth, PROFILE.date_of_expiry)


@pytest.fixture
def reader(pcsc_stack: str) -> Iterator[PcscReader]:
    reader = PcscReader(SLOT)
    reader.wait_for_event(0.1)
    yield reader


def _read(
    reader: PcscReader,
    credentials: TerminalCredentials,
    chip: VirtualChip | None = None,
    **options: bool,
) -> ChipDocument:
    with VpcdBridge(chip or VirtualChip(PROFILE), port=PORT):
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            event = reader.wait_for_event(max(0.1, deadline - time.monotonic()))
            if event is not None and event.kind is CardEventKind.INSERTED:
                break
        else:
            pytest.fail("the virtual card never appeared in the PC/SC reader")
        return read_chip(reader.transport(), KEY, ReaderOptions(terminal=credentials, **options))


@pytest.mark.parametrize("extended", [True, False], ids=["extended", "short"])
def test_ta_and_dg4_through_pcscd(reader: PcscReader, extended: bool) -> None:
    document = _read(reader, PROFILE.eac_pki().credentials(), allow_extended_length=extended)
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    eye = dg4.parse(document.files["DG4.bin"]).eyes[0]
    assert eye.pixels().shape == (480, 640)


def test_refusals_through_pcscd_keep_their_reasons(reader: PcscReader) -> None:
    foreign = _read(reader, build_eac_pki("XY").credentials())
    assert foreign.eac is not None and foreign.eac.reason is Reason.TA_CHAIN_UNTRUSTED
    assert foreign.unavailable["DG4.bin"] == Reason.TA_CHAIN_UNTRUSTED.value
    assert "DG1.bin" in foreign.files


def test_static_binding_retry_after_pace_gm_and_ca_through_pcscd(reader: PcscReader) -> None:
    """A chip taking only the document number as ID_PICC: the retry's new PACE session and new
    Chip Authentication run through pcscd like the first, and DG4 is read."""
    chip = make_chip(profile=PROFILE, ta_static_binding=True)
    document = _read(reader, PROFILE.eac_pki().credentials(), chip)
    assert document.access is not None and document.access.mapping == "GM"
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    assert "static binding" in document.eac.detail
    assert dg4.parse(document.files["DG4.bin"]).eyes[0].pixels().shape == (480, 640)
