"""Terminal Authentication after PACE with Chip Authentication Mapping (TR-03110-1 v2.20 §3.5).

PACE-CAM authenticates the chip, so no Chip Authentication runs; TA v1 then binds to the
terminal's ephemeral key of PACE's key agreement (and ID_PICC is Comp of the chip's ephemeral
PACE key). A terminal that binds to anything else is refused by the chip, and DG4 stays closed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.emrtd.chip.terminal_auth import (
    TerminalAuthState,
    id_picc,
    run_terminal_authentication,
)
from appliance.emrtd.document import read_chip
from appliance.emrtd.lds import dg4
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.protocol import files
from appliance.emrtd.protocol.apdu import ApduError
from appliance.emrtd.session import ChipSession, MrzKey, ReaderOptions
from appliance.errors import Reason
from hardware_mocks.virtual_chip import (
    VirtualCardTransport,
    VirtualChip,
    make_chip,
    make_profile,
)
from hardware_mocks.virtual_chip.card_pace import PaceOption

CAM_PROFILE = make_profile(iris=True, pace_options=(PaceOption.mapped("CAM"),))
GM_PROFILE = make_profile(iris=True, pace_options=(PaceOption.mapped("GM"),))
EAC = CAM_PROFILE.eac_pki()
KEY = MrzKey(CAM_PROFILE.document_number, CAM_PROFILE.date_of_birth, CAM_PROFILE.date_of_expiry)
TODAY = datetime.now(UTC).date()


def test_after_pace_cam_ta_binds_to_the_pace_key_and_dg4_is_read() -> None:
    chip = VirtualChip(CAM_PROFILE)
    document = read_chip(VirtualCardTransport(chip), KEY, ReaderOptions(terminal=EAC.credentials()))
    assert document.access is not None and document.access.mapping == "CAM"
    assert not chip.chip_authenticated  # PACE-CAM made Chip Authentication needless
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    assert dg4.parse(document.files["DG4.bin"]).eyes[0].eye is dg4.EyeSubtype.RIGHT
    checks = {c.name: c for c in document.genuineness}
    assert checks[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.SKIPPED


def _cam_session() -> ChipSession:
    session = ChipSession(VirtualCardTransport(VirtualChip(CAM_PROFILE)), KEY)
    session.open()
    session.read_all()  # no terminal configured: TA has not run
    return session


@pytest.mark.parametrize("binding", ["chip_key", "fresh_key"])
def test_a_ta_bound_to_another_key_than_pace_cams_is_refused(binding: str) -> None:
    session = _cam_session()
    with session:
        state = session.eac
        assert state.pace_cam_key is not None and state.binding_key == state.pace_cam_key
        fresh = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
        wrong = (
            state.pace_chip_key
            if binding == "chip_key"
            else fresh.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        )
        check = run_terminal_authentication(
            session,
            EAC.credentials(),
            cvca_file=session.read_optional(files.EF_CVCA),
            id_picc=id_picc(state.pace_chip_key, None),
            ephemeral_public=wrong,  # type: ignore[arg-type]
            today=TODAY,
        )
        assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.TA_FAILED), check
        with pytest.raises(ApduError) as caught:
            session.read_file(files.data_group(4))
    assert caught.value.sw == 0x6982


def test_a_static_document_number_binding_is_refused_by_a_dynamic_chip() -> None:
    session = _cam_session()
    with session:
        check = run_terminal_authentication(
            session,
            EAC.credentials(),
            cvca_file=None,
            id_picc=id_picc(None, KEY.mrz_information()),  # BAC's ID_PICC after PACE
            ephemeral_public=session.eac.binding_key,  # type: ignore[arg-type]
            today=TODAY,
        )
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.TA_FAILED)


def test_after_plain_pace_without_chip_authentication_there_is_no_binding() -> None:
    """PACE-GM authenticates no chip: with CA off, the reader and the chip both refuse TA."""
    profile = make_profile(iris=True, pace_options=GM_PROFILE.pace_options,
                           chip_authentication=False)  # fmt: skip
    chip = VirtualChip(profile)
    document = read_chip(VirtualCardTransport(chip), KEY, ReaderOptions(terminal=EAC.credentials()))
    assert document.access is not None and document.access.mapping == "GM"
    assert document.eac is not None and document.eac.reason is Reason.TA_FAILED
    assert "PACE-CAM" in document.eac.detail
    assert document.unavailable["DG4.bin"] == Reason.TA_FAILED.value
    # the chip itself: a terminal that binds TA to its PACE key anyway is refused at MSE:Set DST
    session = ChipSession(VirtualCardTransport(VirtualChip(profile)), KEY)
    with session:
        session.open()
        session.read_all()
        assert session.eac.binding_key is None
        check = run_terminal_authentication(
            session,
            EAC.credentials(),
            cvca_file=None,
            id_picc=id_picc(session.eac.pace_chip_key, None),
            ephemeral_public=session.eac.pace_chip_key,  # type: ignore[arg-type]
            today=TODAY,
        )
    assert check.reason is Reason.TA_CHAIN_UNTRUSTED  # 6982 on the first certificate


def test_the_binding_is_the_newest_key() -> None:
    state = TerminalAuthState()
    state.pace_established(b"\x04chip", b"\x04pace", cam=True)
    assert state.binding_key == b"\x04pace"
    state.chip_authenticated(b"\x04ca")  # CA after PACE-CAM: the newer key wins
    assert state.binding_key == b"\x04ca"
    state.pace_established(b"\x04chip2", b"\x04pace2", cam=False)  # a new plain PACE session
    assert state.binding_key is None and state.pace_chip_key == b"\x04chip2"


def test_the_chip_accepts_one_terminal_authentication_per_session() -> None:
    chip = VirtualChip(CAM_PROFILE)
    session = ChipSession(
        VirtualCardTransport(chip), KEY, ReaderOptions(terminal=EAC.credentials())
    )
    with session:
        session.open()
        session.read_all()
        assert session.eac.check is not None and session.eac.check.status is CheckStatus.PASS
        again = run_terminal_authentication(
            session,
            EAC.credentials(),
            cvca_file=None,
            id_picc=id_picc(session.eac.pace_chip_key, None),
            ephemeral_public=session.eac.binding_key,  # type: ignore[arg-type]
            today=TODAY,
        )
    assert again.status is CheckStatus.FAIL


def test_a_static_binding_chip_is_read_on_the_second_try() -> None:
    """TR-03110-1 §3.5: some States' chips take the document number as ID_PICC after PACE; a
    terminal whose dynamic binding is refused tries the static one in a new PACE-CAM session."""
    chip = make_chip(profile=CAM_PROFILE, ta_static_binding=True)
    options = ReaderOptions(terminal=EAC.credentials())
    document = read_chip(VirtualCardTransport(chip), KEY, options)
    assert document.eac is not None and document.eac.status is CheckStatus.PASS, document.eac
    assert "static binding" in document.eac.detail
    assert "DG4.bin" in document.files and "DG4.bin" not in document.unavailable
    # a dynamic chip passes at once, and says nothing of a static binding
    dynamic = read_chip(VirtualCardTransport(VirtualChip(CAM_PROFILE)), KEY, options)
    assert dynamic.eac is not None and "static" not in dynamic.eac.detail


def test_a_chip_refusing_both_bindings_keeps_the_first_refusal() -> None:
    chip = make_chip(profile=CAM_PROFILE, ta_refuses_every_binding=True)
    document = read_chip(VirtualCardTransport(chip), KEY, ReaderOptions(terminal=EAC.credentials()))
    assert document.eac is not None and document.eac.reason is Reason.TA_FAILED
    assert "static" not in document.eac.detail
    assert document.unavailable["DG4.bin"] == Reason.TA_FAILED.value
    assert "DG1.bin" in document.files
