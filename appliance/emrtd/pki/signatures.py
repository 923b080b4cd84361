"""Signature verification for every scheme seen in ePassport PKIs.

Keys are taken from asn1crypto's SubjectPublicKeyInfo (never from a pyca certificate object), so
certificates pyca refuses to load (negative serials, explicit curves, trailing data) still verify.
RSA and named-curve ECDSA run in OpenSSL through pyca; other curves go through `ecdsa`.
"""

from __future__ import annotations

from functools import lru_cache

from asn1crypto import keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from appliance.emrtd.lds.digests import pyca_hash
from appliance.emrtd.pki.algorithms import Scheme, SignatureAlgorithm
from appliance.emrtd.pki.ec_keys import EcPublicKey, load_ec_public_key
from appliance.errors import LdsError, Reason

PublicKey = rsa.RSAPublicKey | EcPublicKey


@lru_cache(maxsize=2048)
def load_public_key(spki_der: bytes) -> PublicKey:
    """Parse a DER SubjectPublicKeyInfo (cached: a CSCA key verifies many DS certificates)."""
    try:
        info = keys.PublicKeyInfo.load(spki_der)
        kind = info["algorithm"]["algorithm"].native
        if kind in ("rsa", "rsassa_pss"):
            parsed = info["public_key"].parsed
            numbers = rsa.RSAPublicNumbers(
                int(parsed["public_exponent"].native), int(parsed["modulus"].native)
            )
            return numbers.public_key()
        if kind == "ec":
            return load_ec_public_key(info)
    except LdsError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise LdsError("public key malformed") from exc
    raise LdsError(f"public key algorithm {kind} not supported", Reason.LDS_UNSUPPORTED)


def describe_key(spki_der: bytes) -> str:
    """Short key description for reports and benchmarks: "RSA-2048", "EC BRAINPOOLP256r1"."""
    key = load_public_key(spki_der)
    if isinstance(key, EcPublicKey):
        return f"EC {key.curve_name}"
    return f"RSA-{key.key_size}"


def verify(
    spki_der: bytes, algorithm: SignatureAlgorithm, signature: bytes, message: bytes
) -> bool:
    """True when `signature` over `message` verifies under the key; False when it does not.

    Raises `LdsError` only for malformed or unsupported keys and key/algorithm mismatches.
    """
    key = load_public_key(spki_der)
    if algorithm.scheme in (Scheme.RSA_PKCS1V15, Scheme.RSA_PSS):
        if not isinstance(key, rsa.RSAPublicKey):
            raise LdsError(f"{algorithm.describe()} signature with a non-RSA key")
        return _verify_rsa(key, algorithm, signature, message)
    if not isinstance(key, EcPublicKey):
        raise LdsError(f"{algorithm.describe()} signature with a non-EC key")
    if algorithm.scheme is Scheme.ECDSA_PLAIN:
        size = key.order_bytes
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        signature = utils.encode_dss_signature(r, s)
    return key.verify(signature, message, algorithm.hash_name)


def _verify_rsa(
    key: rsa.RSAPublicKey, algorithm: SignatureAlgorithm, signature: bytes, message: bytes
) -> bool:
    hash_ = pyca_hash(algorithm.hash_name)
    pad: padding.AsymmetricPadding
    if algorithm.scheme is Scheme.RSA_PSS:
        assert algorithm.mgf_hash_name is not None and algorithm.salt_length is not None
        pad = padding.PSS(
            mgf=padding.MGF1(pyca_hash(algorithm.mgf_hash_name)),
            salt_length=algorithm.salt_length,
        )
    else:
        pad = padding.PKCS1v15()
    try:
        key.verify(signature, message, pad, hash_)
    except InvalidSignature:
        return False
    return True
