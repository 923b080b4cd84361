"""Chip-side proofs of genuineness: Active Authentication and Chip Authentication.

Active Authentication (ICAO 9303-11 §6.1): INTERNAL AUTHENTICATE signs the terminal's 8-byte
challenge with the private key whose public half is in DG15, so a copied chip (which lacks the
key) is caught. EC keys sign with ECDSA in plain r||s form (BSI TR-03111); RSA keys with
ISO/IEC 9796-2 digital signature scheme 1 (partial message recovery, SHA-1, trailer BC).

Chip Authentication (ICAO 9303-11 §6.2): the terminal sends an ephemeral ECDH key; the chip
agrees on a secret with its static key (public half in DG14) and Secure Messaging restarts with
keys derived from it, which only the genuine chip can compute.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.crypto import CipherKind, Random
from hardware_mocks.virtual_chip.card_sm import CardSecureMessaging

ID_CA_ECDH = "0.4.0.127.0.7.2.2.3.2"
_CA_CIPHERS = {1: CipherKind.TDES, 2: CipherKind.AES128, 3: CipherKind.AES192, 4: CipherKind.AES256}
_ISO9796_TRAILER_SHA1 = 0xBC
_ISO9796_HEADER_PARTIAL = 0x6A


class AuthenticationRefused(Exception):
    """The command's data cannot be used (wrong length, not a point on the chip's curve)."""


def active_authentication_signature(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, challenge: bytes, rng: Random
) -> bytes:
    """The answer to INTERNAL AUTHENTICATE for `challenge` (RND.IFD)."""
    if len(challenge) != 8:
        raise AuthenticationRefused("Active Authentication challenges are 8 bytes")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return _iso9796_2_scheme1_sign(key, challenge, rng)


def _iso9796_2_scheme1_sign(key: rsa.RSAPrivateKey, challenge: bytes, rng: Random) -> bytes:
    """ISO/IEC 9796-2 scheme 1: F = 6A || M1 || SHA-1(M1 || M2) || BC, signature F^d mod n.

    M1 is a chip nonce filling the block (recoverable part), M2 the challenge (not recoverable).
    """
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    m1 = rng(size - 20 - 2)
    block = (
        bytes([_ISO9796_HEADER_PARTIAL])
        + m1
        + hashlib.sha1(m1 + challenge).digest()
        + bytes([_ISO9796_TRAILER_SHA1])
    )
    return pow(int.from_bytes(block, "big"), numbers.d, n).to_bytes(size, "big")


def chip_authentication_cipher(oid: str) -> CipherKind | None:
    """The SM cipher of an id-CA-ECDH-* OID, None for other (DH, unknown) protocols."""
    prefix, _, arc = oid.rpartition(".")
    if prefix != ID_CA_ECDH or not arc.isdigit():
        return None
    return _CA_CIPHERS.get(int(arc))


def chip_authentication_session(
    key: ec.EllipticCurvePrivateKey, terminal_public: bytes, cipher: CipherKind
) -> CardSecureMessaging:
    """New SM keys from ECDH(chip static key, terminal ephemeral key); SSC restarts at 0."""
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, terminal_public)
    except ValueError:
        raise AuthenticationRefused("terminal key is not a point on the chip's curve") from None
    secret = key.exchange(ec.ECDH(), peer)
    return CardSecureMessaging(
        cipher,
        crypto.kdf(secret, crypto.KDF_ENC, cipher),
        crypto.kdf(secret, crypto.KDF_MAC, cipher),
        ssc=0,
    )
