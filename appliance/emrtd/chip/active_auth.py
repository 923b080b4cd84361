"""Active Authentication (ICAO 9303-11 §6.1): the chip signs the terminal's 8-byte challenge.

DG15 holds the public key (signed through EF.SOD); INTERNAL AUTHENTICATE asks the chip to sign
a fresh random challenge, which a copied chip cannot do without the private key.

- RSA: ISO/IEC 9796-2 digital signature scheme 1. The chip's signature opens (s^e mod n, or
  n minus that) to F = header || M1 || H(M1 || M2) || trailer, where M2 is the challenge, M1
  the chip's recoverable nonce. Header nibble 6 = partial recovery (the AA case), 4 = total
  recovery (then M1 must be the challenge itself). Trailer BC means SHA-1; two bytes xx CC name
  the hash by its ISO/IEC 10118 identifier (33 SHA-1, 34 SHA-256, 35 SHA-512, 36 SHA-384,
  38 SHA-224).
- ECDSA: plain r || s signatures (BSI TR-03111) over the challenge, the hash named by DG14's
  ActiveAuthenticationInfo. A chip answering a DER signature is accepted too: it proves the
  same possession of the key.

`verify_signature` is the sans-I/O core; `run_active_authentication` drives it over a channel.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import rsa

from appliance.emrtd.chip.chip_auth import SecureChannel
from appliance.emrtd.lds import dg14 as dg14_file
from appliance.emrtd.lds import dg15 as dg15_file
from appliance.emrtd.lds.security_infos import ActiveAuthenticationInfo
from appliance.emrtd.pki.algorithms import ECDSA_SIGNATURE_HASHES, Scheme, SignatureAlgorithm
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.pki.ec_keys import EcPublicKey
from appliance.emrtd.pki.signatures import load_public_key
from appliance.emrtd.pki.signatures import verify as verify_with_key
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu
from appliance.emrtd.protocol.crypto import Random
from appliance.emrtd.protocol.sm import SmError
from appliance.errors import LdsError, Reason

CHALLENGE_LENGTH = 8
#: ISO/IEC 10118 hash identifiers of the two-byte trailer xx CC
_TRAILER_HASHES = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
#: largest signature that fits a short-length protected answer (DO'87 + DO'99 + DO'8E <= 256)
_SHORT_RESPONSE_SIGNATURE = 223


def internal_authenticate(challenge: bytes, expected_length: int, extended: bool) -> CommandApdu:
    """INTERNAL AUTHENTICATE (00 88 00 00) with the challenge and room for the signature."""
    if len(challenge) != CHALLENGE_LENGTH:
        raise ValueError("Active Authentication challenges are 8 bytes")
    le = 65536 if extended and expected_length > _SHORT_RESPONSE_SIGNATURE else 256
    return CommandApdu(0x00, 0x88, 0x00, 0x00, challenge, le=le)


def iso9796_2_verify(key: rsa.RSAPublicKey, signature: bytes, challenge: bytes) -> bool:
    """ISO/IEC 9796-2 scheme 1 verification with the challenge as non-recoverable M2."""
    numbers = key.public_numbers()
    n, e = numbers.n, numbers.e
    size = (n.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if len(signature) != size or not 0 < value < n:
        return False
    opened = pow(value, e, n)
    if opened & 0x0F != 0x0C:
        opened = n - opened  # the signer sent min(J^d, n - J^d)
    if opened & 0x0F != 0x0C:
        return False
    block = opened.to_bytes(size, "big")
    if block[-1] == 0xBC:
        hash_name, trailer = "sha1", 1
    elif block[-1] == 0xCC and block[-2] in _TRAILER_HASHES:
        hash_name, trailer = _TRAILER_HASHES[block[-2]], 2
    else:
        return False
    header = block[0] >> 4
    if header not in (0x6, 0x4):
        return False
    # padding nibbles B..B end with A; the recoverable message starts after it
    nibbles = block.hex()
    start = 1
    while start < len(nibbles) and nibbles[start] == "b":
        start += 1
    if start >= len(nibbles) or nibbles[start] != "a" or start % 2 == 0:
        return False
    digest_size = hashlib.new(hash_name).digest_size
    m1_start, m1_end = (start + 1) // 2, size - trailer - digest_size
    if m1_end < m1_start:
        return False
    m1 = block[m1_start:m1_end]
    digest = block[m1_end : size - trailer]
    if header == 0x4:  # total recovery: the whole message came back
        return hmac.compare_digest(m1, challenge) and hmac.compare_digest(
            digest, hashlib.new(hash_name, m1).digest()
        )
    return hmac.compare_digest(digest, hashlib.new(hash_name, m1 + challenge).digest())


def ecdsa_hash(info: ActiveAuthenticationInfo | None, key: EcPublicKey) -> str:
    """The AA hash: DG14's ActiveAuthenticationInfo, else the one matching the curve size."""
    if info is not None:
        try:
            return ECDSA_SIGNATURE_HASHES[info.signature_algorithm]
        except KeyError:
            raise LdsError(
                f"AA signature algorithm {info.signature_algorithm} not supported",
                Reason.LDS_UNSUPPORTED,
            ) from None
    bits = key.order_bytes * 8
    return "sha256" if bits <= 256 else "sha384" if bits <= 384 else "sha512"


def verify_signature(
    dg15: dg15_file.Dg15,
    info: ActiveAuthenticationInfo | None,
    challenge: bytes,
    signature: bytes,
) -> bool:
    """True when `signature` is the DG15 key's signature of `challenge`.

    `LdsError` for keys or algorithms that cannot be checked (not a verdict on the chip).
    """
    key = load_public_key(dg15.public_key_info)
    if isinstance(key, rsa.RSAPublicKey):
        return iso9796_2_verify(key, signature, challenge)
    hash_name = ecdsa_hash(info, key)
    size = key.order_bytes
    scheme = Scheme.ECDSA_PLAIN if len(signature) == 2 * size else Scheme.ECDSA
    return verify_with_key(
        dg15.public_key_info, SignatureAlgorithm(scheme, hash_name), signature, challenge
    )


def expected_signature_length(dg15: dg15_file.Dg15) -> int:
    key = load_public_key(dg15.public_key_info)
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    return 2 * key.order_bytes


def _aa_info(dg14: bytes | None) -> ActiveAuthenticationInfo | None:
    if dg14 is None:
        return None
    return dg14_file.parse(dg14).security_infos.active_authentication_info


def run_active_authentication(
    channel: SecureChannel, dg15: bytes, dg14: bytes | None, rng: Random
) -> Check:
    """INTERNAL AUTHENTICATE with a fresh challenge; the signature must verify under DG15."""
    name = CheckName.ACTIVE_AUTHENTICATION
    try:
        model = dg15_file.parse(dg15)
        info = _aa_info(dg14)
        length = expected_signature_length(model)
        if model.algorithm == "ec":
            ecdsa_hash(info, _ec_key(model))
    except LdsError as exc:
        status = Check.warned if exc.reason is Reason.LDS_UNSUPPORTED else Check.failed
        return status(name, exc.reason, f"AA key unusable: {exc.detail}")
    challenge = rng(CHALLENGE_LENGTH)
    command = internal_authenticate(challenge, length, channel.supports_extended_length)
    try:
        signature = channel.transmit(command).check("INTERNAL AUTHENTICATE")
    except SmError as exc:
        return Check.failed(name, Reason.AA_FAILED, f"Secure Messaging broke ({exc.detail})")
    except ApduError as exc:
        if exc.sw == 0x6700 and command.le == 256 and length > _SHORT_RESPONSE_SIGNATURE:
            return Check.warned(
                name,
                Reason.CHIP_PROTOCOL_UNSUPPORTED,
                "the signature needs extended length, which this reader does not carry",
            )
        return Check.failed(name, Reason.AA_FAILED, f"chip refused ({exc.detail})")
    algorithm = "RSA ISO/IEC 9796-2" if model.algorithm == "rsa" else "ECDSA"
    if verify_signature(model, info, challenge, signature):
        return Check.passed(name, f"{algorithm} signature of a fresh challenge verifies")
    return Check.failed(name, Reason.AA_FAILED, f"{algorithm} signature does not verify")


def _ec_key(model: dg15_file.Dg15) -> EcPublicKey:
    key = load_public_key(model.public_key_info)
    if not isinstance(key, EcPublicKey):
        raise LdsError("DG15 EC key did not load as EC")
    return key


__all__ = [
    "CHALLENGE_LENGTH",
    "internal_authenticate",
    "iso9796_2_verify",
    "run_active_authentication",
    "verify_signature",
]
