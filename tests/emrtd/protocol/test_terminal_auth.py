"""CV certificates (TR-03110-3 Appendix C) and the terminal side of Terminal Authentication v1."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.emrtd.protocol import cvc, tlv
from appliance.emrtd.protocol.terminal_auth import (
    TaRefused,
    TerminalAuthentication,
    TerminalCredentials,
    compress,
    id_picc_from_mrz,
    parse_cvca_file,
)
from appliance.errors import LdsError, Reason
from appliance.mrz.check_digits import mrz_information
from hardware_mocks.eac_pki import build_eac_pki

TODAY = date(2026, 12, 4)
EAC = build_eac_pki("UT", today=TODAY)


def test_certificates_round_trip_and_carry_the_curve_only_in_the_cvca() -> None:
    for cert in (EAC.cvca, EAC.dv, EAC.terminal):
        again = cvc.parse(cert.encode())
        assert again == cert
    assert EAC.cvca.public_key.curve is not None
    assert EAC.dv.public_key.curve is None and EAC.terminal.public_key.curve is None
    assert EAC.cvca.role is cvc.Role.CVCA and EAC.dv.role is cvc.Role.DV_DOMESTIC
    assert EAC.terminal.role is cvc.Role.IS
    assert EAC.terminal.rights == cvc.READ_DG3 | cvc.READ_DG4
    # the wire layout of TR-03110-3 C.1: 7F21 { 7F4E { 5F29 00, 42 CAR, ... }, 5F37 }
    outer = tlv.parse_one(EAC.terminal.encode())
    assert outer.tag == 0x7F21
    body, signature = outer.children()
    assert (body.tag, signature.tag) == (0x7F4E, 0x5F37)
    tags = [c.tag for c in body.children()]
    assert tags == [0x5F29, 0x42, 0x7F49, 0x5F20, 0x7F4C, 0x5F25, 0x5F24]
    assert tlv.find(body.value, 0x5F25).value == bytes([2, 6, 1, 2, 0, 3])  # type: ignore[union-attr]


def test_signatures_chain_cvca_dv_terminal() -> None:
    curve = EAC.cvca.public_key.curve
    cvca_key = EAC.cvca.public_key.key()
    dv_key = EAC.dv.public_key.key(curve)
    assert EAC.cvca.signed_by(cvca_key, EAC.cvca.public_key)
    assert EAC.dv.signed_by(cvca_key, EAC.cvca.public_key)
    assert EAC.terminal.signed_by(dv_key, EAC.dv.public_key)
    assert not EAC.terminal.signed_by(cvca_key, EAC.cvca.public_key)
    forged = replace(EAC.dv, signature=EAC.dv.signature[:-1] + bytes([EAC.dv.signature[-1] ^ 1]))
    assert not forged.signed_by(cvca_key, EAC.cvca.public_key)


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b[:-5], Reason.LDS_MALFORMED),  # truncated
        (lambda b: b + b"\x00", Reason.LDS_MALFORMED),  # bytes after the certificate
        (lambda b: b.replace(b"\x5f\x29\x01\x00", b"\x5f\x29\x01\x01"), Reason.LDS_UNSUPPORTED),
        (lambda b: b"\x7f\x21\x00", Reason.LDS_MALFORMED),
    ],
)
def test_malformed_certificates_are_refused_with_a_reason(mangle, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LdsError) as caught:
        cvc.parse(mangle(EAC.terminal.encode()))
    assert caught.value.reason is reason


def test_dates_are_unpacked_bcd() -> None:
    assert cvc.encode_date(date(2031, 1, 9)) == bytes([3, 1, 0, 1, 0, 9])
    assert cvc.decode_date(bytes([3, 1, 0, 1, 0, 9])) == date(2031, 1, 9)
    with pytest.raises(LdsError):
        cvc.decode_date(bytes([3, 1, 1, 3, 0, 1]))  # month 13
    with pytest.raises(LdsError):
        cvc.decode_date(b"\x33\x31\x30\x31\x30\x39")  # ASCII digits are not BCD


def test_credentials_refuse_a_key_that_is_not_the_certificates() -> None:
    other = build_eac_pki("UT", seed=1, today=TODAY)
    with pytest.raises(ValueError, match="does not match"):
        TerminalCredentials((EAC.dv, EAC.terminal), other.terminal_key)
    other = build_eac_pki("XY", today=TODAY)
    with pytest.raises(ValueError, match="not issued by"):
        TerminalCredentials((other.dv, EAC.terminal), EAC.terminal_key)
    limited = build_eac_pki("UT", today=TODAY, rights=cvc.READ_DG3)
    creds = limited.credentials()
    assert creds.may_read(3) and not creds.may_read(4)
    # the effective rights are what every certificate grants
    dv_limited = build_eac_pki("UT", today=TODAY, dv_rights=cvc.READ_DG4)
    assert not dv_limited.credentials().may_read(3) and dv_limited.credentials().may_read(4)


def _run(today: date = TODAY, eac=EAC) -> TerminalAuthentication:  # type: ignore[no-untyped-def]
    ephemeral = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    return TerminalAuthentication(eac.credentials(), b"C01X00T479", cvc.point_of(ephemeral), today)


def test_commands_are_the_tr03110_apdus() -> None:
    run = _run()
    chain = run.chain_for(parse_cvca_file(tlv.encode(0x42, b"UTCVCA00001") + bytes(20)))
    assert [c.chr for c in chain] == ["UTDV000001", "UTIS00001"]
    set_dst, pso = run.certificate_commands(chain[0])
    assert (set_dst.cla, set_dst.ins, set_dst.p1, set_dst.p2) == (0x00, 0x22, 0x81, 0xB6)
    assert set_dst.data == tlv.encode(0x83, b"UTCVCA00001")
    assert (pso.ins, pso.p1, pso.p2) == (0x2A, 0x00, 0xBE)
    assert cvc.parse_pso(pso.data) == EAC.dv
    set_at = run.mse_set_at()
    assert (set_at.p1, set_at.p2, set_at.data) == (0x81, 0xA4, tlv.encode(0x83, b"UTIS00001"))


def test_the_signature_covers_id_picc_challenge_and_the_ca_key() -> None:
    ephemeral = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    point = cvc.point_of(ephemeral)
    id_picc = id_picc_from_mrz(mrz_information("C01X00T47", "640812", "341031"))
    assert id_picc == b"C01X00T478"  # the number and its check digit
    run = TerminalAuthentication(EAC.credentials(), id_picc, point, TODAY)
    challenge = bytes(range(8))
    command = run.external_authenticate(challenge)
    assert (command.ins, command.p1, command.p2) == (0x82, 0x00, 0x00)
    assert compress(point) == point[1:33]
    r, s = int.from_bytes(command.data[:32], "big"), int.from_bytes(command.data[32:], "big")
    EAC.terminal.public_key.key(EAC.cvca.public_key.curve).verify(
        encode_dss_signature(r, s), id_picc + challenge + point[1:33], ec.ECDSA(hashes.SHA256())
    )
    with pytest.raises(TaRefused) as caught:
        run.external_authenticate(b"\x00" * 4)
    assert caught.value.reason is Reason.TA_FAILED


def test_a_chain_from_another_cvca_is_refused_before_sending() -> None:
    with pytest.raises(TaRefused) as caught:
        _run().chain_for(["XXCVCA00001"])
    assert caught.value.reason is Reason.TA_CHAIN_UNTRUSTED


@pytest.mark.parametrize("days", [31, 60])
def test_an_expired_terminal_certificate_is_refused_before_sending(days: int) -> None:
    with pytest.raises(TaRefused) as caught:
        _run(TODAY + timedelta(days=days)).chain_for([])
    assert caught.value.reason is Reason.TA_CERT_EXPIRED
    assert "IS certificate UTIS00001" in caught.value.detail


def test_a_not_yet_valid_terminal_certificate_is_refused() -> None:
    future = build_eac_pki("UT", today=TODAY, terminal_valid=(2, 30))
    with pytest.raises(TaRefused) as caught:
        _run(eac=future).chain_for([])
    assert caught.value.reason is Reason.TA_CERT_EXPIRED


def test_ef_cvca_must_hold_cars() -> None:
    assert parse_cvca_file(tlv.encode(0x42, b"A") + tlv.encode(0x42, b"B") + bytes(4)) == ["A", "B"]
    with pytest.raises(LdsError):
        parse_cvca_file(tlv.encode(0x43, b"A"))
