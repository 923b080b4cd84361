"""PACE-IM and PACE-CAM between the terminal (`ChipSession`) and the virtual chip, every suite
the chip offers, followed by the rest of the read and the genuineness checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.emrtd.document import read_chip, verify_document
from appliance.emrtd.pki.checks import CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.session import CanKey, ChipSession, MrzKey
from hardware_mocks.virtual_chip import PaceOption, make_profile, make_transport
from tests.support import pa_pki

PROFILE = make_profile()


@pytest.mark.parametrize(
    ("ecdh", "cipher", "parameter_id"),
    [
        (True, CipherKind.AES128, 13),
        (True, CipherKind.AES256, 13),
        (True, CipherKind.AES192, 16),
        (True, CipherKind.TDES, 12),
        (False, CipherKind.AES128, 0),
    ],
    ids=["ecdh-aes128-bp256", "ecdh-aes256-bp256", "ecdh-aes192-bp384", "ecdh-3des-p256",
         "dh-aes128-1024"],
)  # fmt: skip
def test_integrated_mapping_session(ecdh: bool, cipher: CipherKind, parameter_id: int) -> None:
    option = PaceOption.mapped("IM", ecdh, cipher, parameter_id)
    transport = make_transport(profile=PROFILE, pace_options=(option,))
    assert PROFILE.can is not None
    session = ChipSession(transport, CanKey(PROFILE.can))
    access = session.open()
    assert (access.protocol, access.mapping, access.cipher) == ("PACE", "IM", cipher.value)
    contents = session.read_all().contents
    assert "DG1.bin" in contents and "EF_SOD.bin" in contents
    checks = {c.name: c for c in session.genuineness}
    assert checks[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.PASS


def test_chip_offering_gm_im_and_cam_is_read_with_cam(tmp_path: Path) -> None:
    options = (PaceOption.mapped("GM"), PaceOption.mapped("IM"), PaceOption.mapped("CAM"))
    transport = make_transport(profile=PROFILE, pace_options=options)
    key = MrzKey(PROFILE.document_number, PROFILE.date_of_birth, PROFILE.date_of_expiry)
    document = read_chip(transport, key)
    assert document.access is not None and document.access.mapping == "CAM"
    assert document.cam_evidence is not None
    with TrustStore(tmp_path / "t.sqlite3") as store:
        assert import_file(
            PROFILE.pki.csca_der, store, "csca.der", anchors=[pa_pki.pin(PROFILE.pki.csca_der)]
        ).ok
        checks = {c.name: c for c in verify_document(document, store)}
    assert checks[CheckName.PACE_CAM].status is CheckStatus.PASS, checks[CheckName.PACE_CAM]
    assert checks[CheckName.CHIP_AUTHENTICATION].status is CheckStatus.SKIPPED
    # without the CSCA, EF.CardSecurity is unproven and so is the chip's key
    with TrustStore(tmp_path / "empty.sqlite3") as empty:
        unproven = {c.name: c for c in verify_document(document, empty)}[CheckName.PACE_CAM]
    assert unproven.status is CheckStatus.FAIL and unproven.reason.value == "CAM_FAILED"
