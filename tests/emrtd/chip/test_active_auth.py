"""Active Authentication: ISO/IEC 9796-2 scheme 1 with a generated RSA key and signatures built
by hand in the test (F = header || M1 || H(M1 || M2) || trailer, raised to d), ECDSA plain
signatures, and the INTERNAL AUTHENTICATE exchange.
"""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from appliance.emrtd.chip.active_auth import (
    internal_authenticate,
    iso9796_2_verify,
    run_active_authentication,
    verify_signature,
)
from appliance.emrtd.lds import dg14, dg15
from appliance.emrtd.lds.security_infos import ID_AA, ActiveAuthenticationInfo, SecurityInfos
from appliance.emrtd.pki.checks import CheckStatus
from appliance.emrtd.protocol.apdu import CommandApdu, ResponseApdu
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import Reason

CHALLENGE = bytes.fromhex("0123456789ABCDEF")
#: ISO/IEC 10118 identifiers of the two-byte trailer
TRAILERS = {"sha1": 0x33, "sha224": 0x38, "sha256": 0x34, "sha384": 0x36, "sha512": 0x35}


@cache
def rsa_key(bits: int = 1024) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def sign_9796(
    key: rsa.RSAPrivateKey,
    message: bytes,
    hash_name: str = "sha1",
    explicit_trailer: bool = False,
    total: bool = False,
    use_complement: bool = False,
) -> bytes:
    """ISO/IEC 9796-2 scheme 1, written out from the standard."""
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    trailer = bytes([TRAILERS[hash_name], 0xCC]) if explicit_trailer else b"\xbc"
    digest_size = hashlib.new(hash_name).digest_size
    if total:
        m1 = message
        # header nibble 4 (total recovery), padding nibbles B..B, then A right before M1
        fill = size - 2 - len(m1) - digest_size - len(trailer)
        block = b"\x4b" + b"\xbb" * fill + b"\xba" + m1
        digest = hashlib.new(hash_name, m1).digest()
    else:
        m1 = bytes((i * 37 + 11) % 256 for i in range(size - 1 - digest_size - len(trailer)))
        block = b"\x6a" + m1
        digest = hashlib.new(hash_name, m1 + message).digest()
    f = int.from_bytes(block + digest + trailer, "big")
    assert f < n
    signature = pow(f, numbers.d, n)
    if use_complement:
        signature = n - signature
    return signature.to_bytes(size, "big")


def _dg15(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> dg15.Dg15:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return dg15.parse_public_key_info(spki)


@pytest.mark.parametrize("hash_name", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_partial_recovery_with_every_hash(hash_name: str) -> None:
    key = rsa_key()
    explicit = hash_name != "sha1"
    signature = sign_9796(key, CHALLENGE, hash_name, explicit_trailer=explicit)
    assert iso9796_2_verify(key.public_key(), signature, CHALLENGE)
    assert not iso9796_2_verify(key.public_key(), signature, CHALLENGE[::-1])


def test_sha1_with_the_explicit_trailer_33cc() -> None:
    key = rsa_key()
    signature = sign_9796(key, CHALLENGE, "sha1", explicit_trailer=True)
    assert iso9796_2_verify(key.public_key(), signature, CHALLENGE)


def test_signer_may_send_n_minus_the_signature() -> None:
    key = rsa_key()
    signature = sign_9796(key, CHALLENGE, use_complement=True)
    assert iso9796_2_verify(key.public_key(), signature, CHALLENGE)


def test_total_recovery_returns_the_challenge_itself() -> None:
    key = rsa_key()
    signature = sign_9796(key, CHALLENGE, total=True)
    assert iso9796_2_verify(key.public_key(), signature, CHALLENGE)
    assert not iso9796_2_verify(key.public_key(), signature, bytes(8))


def test_2048_bit_key() -> None:
    key = rsa_key(2048)
    assert iso9796_2_verify(key.public_key(), sign_9796(key, CHALLENGE, "sha256", True), CHALLENGE)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # a flipped bit
        lambda b: b[:-1],  # too short
        lambda b: b"\xff" * len(b),  # >= n
        lambda b: bytes(len(b)),  # zero
    ],
)
def test_damaged_signatures_fail(tamper: object) -> None:
    key = rsa_key()
    signature = tamper(sign_9796(key, CHALLENGE))  # type: ignore[operator]
    assert not iso9796_2_verify(key.public_key(), signature, CHALLENGE)


def test_pkcs1_signature_is_not_9796() -> None:
    """A chip answering with another RSA scheme must not pass."""
    key = rsa_key()
    from cryptography.hazmat.primitives.asymmetric import padding

    other = key.sign(CHALLENGE, padding.PKCS1v15(), hashes.SHA1())
    assert not iso9796_2_verify(key.public_key(), other, CHALLENGE)


def test_ecdsa_plain_with_the_hash_of_active_authentication_info() -> None:
    key = ec.derive_private_key(31337, ec.BrainpoolP256R1())
    model = _dg15(key)
    r, s = decode_dss_signature(key.sign(CHALLENGE, ec.ECDSA(hashes.SHA384())))
    plain = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    sha384 = ActiveAuthenticationInfo(ID_AA, 1, "0.4.0.127.0.7.1.1.4.1.4")
    sha256 = ActiveAuthenticationInfo(ID_AA, 1, "0.4.0.127.0.7.1.1.4.1.3")
    assert verify_signature(model, sha384, CHALLENGE, plain)
    assert not verify_signature(model, sha256, CHALLENGE, plain)
    assert not verify_signature(model, sha384, bytes(8), plain)
    der = key.sign(CHALLENGE, ec.ECDSA(hashes.SHA384()))
    assert verify_signature(model, sha384, CHALLENGE, der)  # tolerated DER form


def test_internal_authenticate_apdu() -> None:
    assert internal_authenticate(CHALLENGE, 128, True).encode() == (
        bytes.fromhex("0088000008") + CHALLENGE + b"\x00"
    )
    extended = internal_authenticate(CHALLENGE, 256, True)
    assert extended.is_extended and extended.le == 65536
    assert internal_authenticate(CHALLENGE, 256, False).le == 256


class AaCard:
    """Answers INTERNAL AUTHENTICATE with a hand-built 9796-2 signature of the challenge."""

    def __init__(self, key: rsa.RSAPrivateKey, sw: int = 0x9000, extended: bool = True) -> None:
        self.key, self.sw, self.supports_extended_length = key, sw, extended
        self.received: list[CommandApdu] = []

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        self.received.append(command)
        if self.sw != 0x9000:
            return ResponseApdu(b"", self.sw)
        return ResponseApdu(sign_9796(self.key, command.data, "sha256", True), 0x9000)

    def restart_secure_messaging(self, keys: SessionKeys) -> None:
        raise AssertionError("AA never changes keys")


def _dg15_bytes(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return dg15.encode(_dg15(key))


def test_run_sends_a_fresh_challenge_and_verifies() -> None:
    key = rsa_key()
    card = AaCard(key)
    check = run_active_authentication(card, _dg15_bytes(key), None, lambda n: CHALLENGE[:n])
    assert check.status is CheckStatus.PASS, check
    assert card.received[0].data == CHALLENGE


def test_run_with_another_key_or_a_refusal_fails() -> None:
    genuine, clone = rsa_key(), rsa_key(2048)
    check = run_active_authentication(
        AaCard(clone), _dg15_bytes(genuine), None, lambda n: CHALLENGE
    )
    assert (check.status, check.reason) == (CheckStatus.FAIL, Reason.AA_FAILED)
    refused = run_active_authentication(
        AaCard(genuine, sw=0x6D00), _dg15_bytes(genuine), None, lambda n: CHALLENGE
    )
    assert refused.reason is Reason.AA_FAILED and "6D00" in refused.detail


def test_short_only_reader_and_a_long_signature_is_inconclusive() -> None:
    key = rsa_key(2048)
    card = AaCard(key, sw=0x6700, extended=False)
    check = run_active_authentication(card, _dg15_bytes(key), None, lambda n: CHALLENGE)
    assert (check.status, check.reason) == (CheckStatus.WARN, Reason.CHIP_PROTOCOL_UNSUPPORTED)


def test_unknown_aa_algorithm_is_a_warning_and_nothing_is_sent() -> None:
    key = ec.derive_private_key(99, ec.BrainpoolP256R1())
    info = ActiveAuthenticationInfo(ID_AA, 1, "1.2.3.4")
    data14 = dg14.encode(dg14.Dg14(SecurityInfos((info,))))
    card = AaCard(rsa_key())
    check = run_active_authentication(card, _dg15_bytes(key), data14, lambda n: CHALLENGE)
    assert (check.status, check.reason) == (CheckStatus.WARN, Reason.LDS_UNSUPPORTED)
    assert not card.received
