"""PACE-CAM: ICAO 9303-11 Appendix I replayed by the terminal, CA_IC checked against the static
key, and the `pace_cam` check with EF.CardSecurity signed by a test PKI (or not trusted).

The vectors file holds Appendix I only in part; the remaining values (the ephemeral keys and
the chip's mapping key) are copied from the appendix below. The static key is "checked": false
in the vectors: CA_IC * PK_IC = PK_Map,IC proves it, since PK_Map,IC is also the mapping key
that yields the checked session keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.emrtd.chip.cam import pace_cam_check, verify_chip_authentication_data
from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.security_infos import ChipAuthenticationPublicKeyInfo
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.protocol import tlv
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.pace import ID_PACE, PacePassword, PaceProtocol
from appliance.emrtd.protocol.pace_cam import (
    CamEvidence,
    ChipAuthenticationMapping,
    cam_evidence,
    decrypt_chip_authentication_data,
    encrypt_chip_authentication_data,
)
from appliance.emrtd.protocol.pace_terminal import PaceTerminal
from appliance.errors import ApplianceError, Reason
from hardware_mocks.pki import PkiAlgorithm, load_or_create_pki, sign_card_security
from tests.support import pa_pki
from tests.support.icao_vectors import hexval, text

I1 = "pace_i1_ecdh_cam_brainpoolp256r1_partial"
CAM_AES128 = PaceProtocol.from_oid(ID_PACE + ".6.2")

# ICAO 9303-11 Appendix I.1 values absent from the vectors file
ENCRYPTED_NONCE = bytes.fromhex("CB60E8E0D85B76A9BD304747C2AD42E2")
TERMINAL_MAPPING_PRIVATE = bytes.fromhex(
    "5D8BB87BD74D985A4B7D4325B9F7B976FE835122773400798914AA22738135CC"
)
TERMINAL_MAPPING_PUBLIC = bytes.fromhex(
    "047F1D410ADB7DDB3B84BF1030800981A9105D7457B4A3ADE002384F3086C67EDE"
    "1AB889104A27DB6D842B019020FBF3CEACB0DC627F7BDCAC29969E19D0E553C1"
)
CHIP_MAPPING_PUBLIC = bytes.fromhex(
    "04A234236AA9B9621E8EFB73B5245C0E09D2576E5277183C1208BDD55280CAE8B3"
    "04F365713A356E65A451E165ECC9AC0AC46E3771342C8FE5AEDD092685338E23"
)
TERMINAL_EPHEMERAL_PRIVATE = bytes.fromhex(
    "76ECFDAA9841C323A3F5FC5E88B88DB3EFF7E35EBF57A7E6946CB630006C2120"
)
TERMINAL_EPHEMERAL_PUBLIC = bytes.fromhex(
    "04446C934084D9DAB863944F219520076C29EE3F7AE6722B11FF319EC1C7728F95"
    "5483400BFF60BF0C5929270009277DC2A515E12575010AD9BA916CF1BF86FEFC"
)
CHIP_EPHEMERAL_PUBLIC = bytes.fromhex(
    "0402AD566F3C6EC7F9324509AD50A51FA52030782A4968FCFEDF737DAEA9933331"
    "11C3B9B4C2287789BD137E7F8AA882E2A3C633CCD6ECC2C63C57AD401A09C2E1"
)
#: ChipAuthenticationPublicKeyInfo of EF.CardSecurity (standardized domain parameters, id 13)
CA_PUBLIC_KEY_INFO = bytes.fromhex(
    "3062060904007F0007020201023052300C060704007F0007010202010D034200041872709494399E"
    "7470A6431BE25E83EEE24FEA568C2ED28DB48E05DB3A610DC884D256A40E35EFCB59BF6753D3A489"
    "D28C7A4D973C2DA138A6E7A4A08F68E16F02010D"
)


def _static_key_info() -> ChipAuthenticationPublicKeyInfo:
    [info] = security_infos.parse(tlv.encode(0x31, CA_PUBLIC_KEY_INFO)).infos
    assert isinstance(info, ChipAuthenticationPublicKeyInfo) and info.key_id == 13
    return info


def _replay() -> tuple[PaceTerminal, bytes]:
    """The terminal through Appendix I.1; returns it and the chip's last answer."""
    randomness = [TERMINAL_MAPPING_PRIVATE, TERMINAL_EPHEMERAL_PRIVATE]
    terminal = PaceTerminal(
        CAM_AES128,
        13,
        PacePassword.from_mrz(text(I1, "mrz_information")),
        rng=lambda n: randomness.pop(0),
    )
    assert terminal.mse_set_at().encode() == bytes.fromhex(
        "0022C1A40F800A04007F00070202040602830101"
    )
    assert terminal.step1().encode() == bytes.fromhex("10860000027C0000")
    step2 = terminal.step2(tlv.encode(0x7C, tlv.encode(0x80, ENCRYPTED_NONCE)))
    assert step2.encode() == bytes.fromhex("10860000457C438141") + TERMINAL_MAPPING_PUBLIC + b"\0"
    step3 = terminal.step3(tlv.encode(0x7C, tlv.encode(0x82, CHIP_MAPPING_PUBLIC)))
    assert step3.encode() == bytes.fromhex("10860000457C438341") + TERMINAL_EPHEMERAL_PUBLIC + b"\0"
    step4 = terminal.step4(tlv.encode(0x7C, tlv.encode(0x84, CHIP_EPHEMERAL_PUBLIC)))
    assert step4.encode() == (
        bytes.fromhex("008600000C7C0A8508") + hexval(I1, "auth_token_T_IFD") + b"\0"
    )
    last = tlv.encode(
        0x7C,
        tlv.encode(0x86, hexval(I1, "auth_token_T_IC"))
        + tlv.encode(0x8A, hexval(I1, "encrypted_A_IC")),
    )
    return terminal, last


def test_i1_terminal_replays_the_exchange_and_keys() -> None:
    terminal, last = _replay()
    result = terminal.finish(last)
    assert result.keys.ks_enc == hexval(I1, "ks_enc")
    assert result.keys.ks_mac == hexval(I1, "ks_mac")
    assert isinstance(terminal.mapping, ChipAuthenticationMapping)
    assert terminal.mapping.chip_mapping_key == CHIP_MAPPING_PUBLIC


def test_i1_chip_authentication_data_decrypts_and_proves_the_static_key() -> None:
    terminal, last = _replay()
    evidence = cam_evidence(terminal.finish(last), terminal.mapping)
    assert evidence.chip_authentication_data == hexval(I1, "chip_authentication_data_CA_IC")
    assert evidence.chip_mapping_key == CHIP_MAPPING_PUBLIC
    info = _static_key_info()
    assert verify_chip_authentication_data(evidence, info)
    assert info.public_key.endswith(hexval(I1, "chip_static_public_key_xy"))
    ks_enc = hexval(I1, "ks_enc")
    assert encrypt_chip_authentication_data(ks_enc, evidence.chip_authentication_data) == hexval(
        I1, "encrypted_A_IC"
    )


def test_wrong_ca_data_or_static_key_does_not_verify() -> None:
    terminal, last = _replay()
    evidence = cam_evidence(terminal.finish(last), terminal.mapping)
    altered = int.from_bytes(evidence.chip_authentication_data, "big") + 1
    bad = CamEvidence(13, evidence.chip_mapping_key, altered.to_bytes(32, "big"))
    assert not verify_chip_authentication_data(bad, _static_key_info())
    zero = CamEvidence(13, evidence.chip_mapping_key, bytes(32))
    assert not verify_chip_authentication_data(zero, _static_key_info())


def test_missing_or_garbled_chip_authentication_data_is_cam_failed() -> None:
    terminal, _ = _replay()
    without = terminal.finish(tlv.encode(0x7C, tlv.encode(0x86, hexval(I1, "auth_token_T_IC"))))
    with pytest.raises(ApplianceError) as err:
        cam_evidence(without, terminal.mapping)
    assert err.value.reason is Reason.CAM_FAILED
    with pytest.raises(ApplianceError) as err:
        decrypt_chip_authentication_data(CipherKind.AES128, bytes(16), bytes(32))  # no padding
    assert err.value.reason is Reason.CAM_FAILED


@pytest.fixture
def signed_card_security() -> tuple[bytes, bytes]:
    """EF.CardSecurity holding Appendix I's static key, signed by the test PKI; and the CSCA."""
    pki = load_or_create_pki("DE", PkiAlgorithm.ECDSA_BRAINPOOL_P256)
    infos = tlv.encode(0x31, CA_PUBLIC_KEY_INFO)
    return sign_card_security(infos, pki.document_signer), pki.csca_der


def _evidence() -> CamEvidence:
    terminal, last = _replay()
    return cam_evidence(terminal.finish(last), terminal.mapping)


def test_pace_cam_check_passes_with_a_trusted_card_security(
    tmp_path: Path, signed_card_security: tuple[bytes, bytes]
) -> None:
    card_security, csca = signed_card_security
    with TrustStore(tmp_path / "t.sqlite3") as store:
        assert import_file(csca, store, "csca.der", anchors=[pa_pki.pin(csca)]).ok
        check = pace_cam_check(_evidence(), card_security, store)
    assert check.status is CheckStatus.PASS, check


def test_pace_cam_check_fails_without_passive_authentication_of_card_security(
    tmp_path: Path, signed_card_security: tuple[bytes, bytes]
) -> None:
    card_security, _ = signed_card_security
    with TrustStore(tmp_path / "t.sqlite3") as store:  # the CSCA is not trusted
        untrusted = pace_cam_check(_evidence(), card_security, store)
        missing = pace_cam_check(_evidence(), None, store)
        unused = pace_cam_check(None, card_security, store)
    assert (untrusted.status, untrusted.reason) == (CheckStatus.FAIL, Reason.CAM_FAILED)
    assert "PA_DS_UNTRUSTED" in untrusted.detail
    assert (missing.status, missing.reason) == (CheckStatus.FAIL, Reason.CAM_FAILED)
    assert unused.status is CheckStatus.SKIPPED


def test_pace_cam_check_fails_when_the_chip_is_not_the_key_holder(
    tmp_path: Path, signed_card_security: tuple[bytes, bytes]
) -> None:
    card_security, csca = signed_card_security
    evidence = _evidence()
    clone = CamEvidence(13, TERMINAL_MAPPING_PUBLIC, evidence.chip_authentication_data)
    with TrustStore(tmp_path / "t.sqlite3") as store:
        assert import_file(csca, store, "csca.der", anchors=[pa_pki.pin(csca)]).ok
        check = pace_cam_check(clone, card_security, store)
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.CAM_FAILED)


def test_chip_session_prefers_cam_and_keeps_its_evidence() -> None:
    """EF.CardAccess offers GM and CAM: the session runs CAM (Appendix I) and keeps CA_IC."""
    from typing import Any

    from appliance.emrtd.session import ChipSession, MrzKey
    from tests.support.scripted_card import CardSideSm, ScriptedCard, Step

    def pace_info(arc: int) -> bytes:
        oid = PaceProtocol.from_oid(f"{ID_PACE}.{arc}.2").oid_bytes
        body = tlv.encode(0x06, oid) + tlv.encode(0x02, b"\x02") + tlv.encode(0x02, b"\x0d")
        return tlv.encode(0x30, body)

    card_access = tlv.encode(0x31, pace_info(2) + pace_info(6))  # GM first, CAM second
    sm = CardSideSm(CipherKind.AES128, hexval(I1, "ks_enc"), hexval(I1, "ks_mac"), 0)

    def protected(expected_ins: int, sw: int) -> Any:
        def answer(raw: bytes) -> bytes:
            assert sm.command(raw).ins == expected_ins
            return sm.response(b"", sw)

        return answer

    _, last = _replay()
    card = ScriptedCard(
        [
            Step(bytes.fromhex("00B09C00DF"), card_access + b"\x90\x00", "EF.CardAccess"),
            # two PACEInfos: DO'84 names the parameters
            Step(bytes.fromhex("0022C1A412800A04007F0007020204060283010184010D"), b"\x90\x00"),
            Step(None, tlv.encode(0x7C, tlv.encode(0x80, ENCRYPTED_NONCE)) + b"\x90\x00"),
            Step(None, tlv.encode(0x7C, tlv.encode(0x82, CHIP_MAPPING_PUBLIC)) + b"\x90\x00"),
            Step(None, tlv.encode(0x7C, tlv.encode(0x84, CHIP_EPHEMERAL_PUBLIC)) + b"\x90\x00"),
            Step(None, last + b"\x90\x00", "T_IC and A_IC"),
            Step(None, protected(0xB0, 0x6A82), "EF.CardSecurity"),
            Step(None, protected(0xA4, 0x9000), "SELECT eMRTD application"),
        ]
    )
    randomness = [TERMINAL_MAPPING_PRIVATE, TERMINAL_EPHEMERAL_PRIVATE]
    key = MrzKey("C11T002JM", "960812", "231031")
    session = ChipSession(card, key, rng=lambda n: randomness.pop(0))
    assert session.open().mapping == "CAM"
    assert card.finished
    assert session.cam_evidence == _evidence()
    assert session.chip_authenticated_by_pace


@pytest.mark.parametrize(
    ("arc", "cipher"),
    [(4, CipherKind.AES128), (4, CipherKind.AES256), (4, CipherKind.TDES), (3, CipherKind.AES192),
     (6, CipherKind.AES128), (6, CipherKind.AES256)],
)  # fmt: skip
def test_virtual_chip_mappings_agree_with_the_terminal(arc: int, cipher: CipherKind) -> None:
    """The card side of IM/CAM (hardware_mocks) and the terminal side reach the same generator;
    CAM's chip authentication data proves the chip's static key."""
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from appliance.emrtd.protocol.domain_parameters import standard_group
    from appliance.emrtd.protocol.pace_im import IntegratedMapping
    from hardware_mocks.virtual_chip.card_mappings import card_mapping, nonce_length

    key_agreement = "DH" if arc == 3 else "ECDH"
    mapping_name = "IM" if arc in (3, 4) else "CAM"
    protocol = PaceProtocol.build(key_agreement, mapping_name, cipher)  # type: ignore[arg-type]
    group = standard_group(0 if arc == 3 else 13)
    nonce = os.urandom(nonce_length(arc, cipher))
    static = ec.derive_private_key(0xABCDEF, ec.BrainpoolP256R1())
    terminal: IntegratedMapping | ChipAuthenticationMapping = (
        IntegratedMapping(group, nonce, os.urandom, protocol)
        if mapping_name == "IM"
        else ChipAuthenticationMapping(group, nonce, os.urandom, protocol)
    )
    card = card_mapping(arc, group, nonce, cipher, os.urandom, static)
    chip_data, card_generator = card.map(terminal.terminal_data())
    assert group.encode(terminal.generator(chip_data)) == group.encode(card_generator)
    ks_enc = os.urandom(cipher.key_length)
    encrypted = card.chip_authentication_data(ks_enc)
    if mapping_name == "IM":
        assert encrypted is None and chip_data == b""
        return
    assert encrypted is not None and isinstance(terminal, ChipAuthenticationMapping)
    assert terminal.chip_mapping_key is not None
    data = decrypt_chip_authentication_data(cipher, ks_enc, encrypted)
    spki = static.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = ChipAuthenticationPublicKeyInfo("0.4.0.127.0.7.2.2.1.2", spki)
    evidence = CamEvidence(13, terminal.chip_mapping_key, data)
    assert verify_chip_authentication_data(evidence, info)
    other = ec.derive_private_key(0xABCDEE, ec.BrainpoolP256R1()).public_key()
    other_info = ChipAuthenticationPublicKeyInfo(
        "0.4.0.127.0.7.2.2.1.2",
        other.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    assert not verify_chip_authentication_data(evidence, other_info)
