"""Which hash and signature scheme an AlgorithmIdentifier names.

Dispatch is on the dotted OID rather than on asn1crypto's names so that the OIDs seen in real
passports (including rsaEncryption / id-ecPublicKey used as a *signature* algorithm, whose hash
then comes from the SignerInfo's digest algorithm, and BSI TR-03111 plain ECDSA) are explicit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import algos, core

from appliance.emrtd.lds.digests import BY_OID
from appliance.errors import LdsError, Reason


class Scheme(StrEnum):
    RSA_PKCS1V15 = "rsa_pkcs1v15"
    RSA_PSS = "rsa_pss"
    ECDSA = "ecdsa"
    #: BSI TR-03111 ecdsa-plain-signatures: r || s instead of a DER SEQUENCE
    ECDSA_PLAIN = "ecdsa_plain"


# signature OID -> (scheme, hash or None when the hash comes from the digest algorithm)
_SIGNATURE_OIDS: dict[str, tuple[Scheme, str | None]] = {
    "1.2.840.113549.1.1.1": (Scheme.RSA_PKCS1V15, None),  # rsaEncryption
    "1.2.840.113549.1.1.5": (Scheme.RSA_PKCS1V15, "sha1"),
    "1.3.14.3.2.29": (Scheme.RSA_PKCS1V15, "sha1"),  # OIW sha1WithRSASignature
    "1.2.840.113549.1.1.14": (Scheme.RSA_PKCS1V15, "sha224"),
    "1.2.840.113549.1.1.11": (Scheme.RSA_PKCS1V15, "sha256"),
    "1.2.840.113549.1.1.12": (Scheme.RSA_PKCS1V15, "sha384"),
    "1.2.840.113549.1.1.13": (Scheme.RSA_PKCS1V15, "sha512"),
    "1.2.840.113549.1.1.10": (Scheme.RSA_PSS, None),  # hash from the PSS parameters
    "1.2.840.10045.2.1": (Scheme.ECDSA, None),  # id-ecPublicKey
    "1.2.840.10045.4.1": (Scheme.ECDSA, "sha1"),
    "1.2.840.10045.4.3.1": (Scheme.ECDSA, "sha224"),
    "1.2.840.10045.4.3.2": (Scheme.ECDSA, "sha256"),
    "1.2.840.10045.4.3.3": (Scheme.ECDSA, "sha384"),
    "1.2.840.10045.4.3.4": (Scheme.ECDSA, "sha512"),
    "0.4.0.127.0.7.1.1.4.1.1": (Scheme.ECDSA_PLAIN, "sha1"),
    "0.4.0.127.0.7.1.1.4.1.2": (Scheme.ECDSA_PLAIN, "sha224"),
    "0.4.0.127.0.7.1.1.4.1.3": (Scheme.ECDSA_PLAIN, "sha256"),
    "0.4.0.127.0.7.1.1.4.1.4": (Scheme.ECDSA_PLAIN, "sha384"),
    "0.4.0.127.0.7.1.1.4.1.5": (Scheme.ECDSA_PLAIN, "sha512"),
}

#: the ECDSA signature OIDs (X9.62 and BSI TR-03111 plain) that name their hash -> that hash
ECDSA_SIGNATURE_HASHES: dict[str, str] = {
    oid: hash_
    for oid, (scheme, hash_) in _SIGNATURE_OIDS.items()
    if scheme in (Scheme.ECDSA, Scheme.ECDSA_PLAIN) and hash_ is not None
}

_PSS_TRAILER_BC = 1


@dataclass(frozen=True)
class SignatureAlgorithm:
    scheme: Scheme
    hash_name: str
    #: RSA-PSS only: MGF1's hash and the exact salt length the signer used
    mgf_hash_name: str | None = None
    salt_length: int | None = None

    def describe(self) -> str:
        if self.scheme is Scheme.RSA_PSS:
            return f"rsa_pss-{self.hash_name}(mgf1-{self.mgf_hash_name},salt={self.salt_length})"
        return f"{self.scheme.value}-{self.hash_name}"


def hash_name(algorithm: algos.DigestAlgorithm | algos.DigestAlgorithmId) -> str:
    """The hashlib name of a digest AlgorithmIdentifier (or bare OID); unsupported -> error."""
    oid = algorithm if isinstance(algorithm, core.ObjectIdentifier) else algorithm["algorithm"]
    try:
        return BY_OID[oid.dotted].name
    except KeyError:
        raise LdsError(
            f"digest algorithm {oid.dotted} not supported", Reason.LDS_UNSUPPORTED
        ) from None


def digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def signature_algorithm(
    algorithm: algos.SignedDigestAlgorithm, digest_hash: str | None = None
) -> SignatureAlgorithm:
    """Resolve a signature AlgorithmIdentifier; `digest_hash` fills in bare rsa/ec OIDs."""
    oid = algorithm["algorithm"].dotted
    try:
        scheme, fixed_hash = _SIGNATURE_OIDS[oid]
    except KeyError:
        raise LdsError(f"signature algorithm {oid} not supported", Reason.LDS_UNSUPPORTED) from None
    if scheme is Scheme.RSA_PSS:
        return _pss(algorithm["parameters"])
    chosen = fixed_hash or digest_hash
    if chosen is None:
        raise LdsError(f"signature algorithm {oid} names no hash", Reason.LDS_UNSUPPORTED)
    return SignatureAlgorithm(scheme, chosen)


def _pss(params: algos.RSASSAPSSParams | core.Void) -> SignatureAlgorithm:
    """RSASSA-PSS-params (RFC 4055): every field has a SHA-1 default, so absent means SHA-1."""
    if not isinstance(params, algos.RSASSAPSSParams):
        raise LdsError("RSASSA-PSS without parameters", Reason.LDS_UNSUPPORTED)
    try:
        hash_ = hash_name(params["hash_algorithm"])
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].native != "mgf1":
            raise LdsError("RSASSA-PSS mask generation other than MGF1", Reason.LDS_UNSUPPORTED)
        mgf_hash = hash_name(mgf["parameters"])
        salt = int(params["salt_length"].native)
        trailer = params["trailer_field"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise LdsError("RSASSA-PSS parameters malformed") from exc
    if trailer not in ("trailer_field_bc", _PSS_TRAILER_BC):
        raise LdsError("RSASSA-PSS trailer field other than 0xBC", Reason.LDS_UNSUPPORTED)
    if salt < 0:
        raise LdsError("RSASSA-PSS negative salt length")
    return SignatureAlgorithm(Scheme.RSA_PSS, hash_, mgf_hash_name=mgf_hash, salt_length=salt)
