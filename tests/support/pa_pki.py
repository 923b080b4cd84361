"""A generated ePassport PKI for tests: CSCA -> DS -> EF.SOD, CRLs and master lists.

Random keys and certificates with every knob a test needs to forge exactly one defect at a
time; signing, CMS SignedData and names come from the simulated passports' test PKI
(`hardware_mocks/pki.py`), so there is one CMS builder. Built with pyca/cryptography's
builders and asn1crypto, independently of the verifying code under test (which only *parses
and verifies*).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from asn1crypto import algos, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from appliance.emrtd.protocol import tlv
from hardware_mocks import pki

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OID_LDS_SECURITY_OBJECT = pki.LDS_SECURITY_OBJECT_OID
OID_MASTER_LIST = "2.23.136.1.1.2"

PrivateKey = pki.PrivateKey


class _DgHash(core.Sequence):
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("n", core.Integer),
        ("h", core.OctetString),
    ]


class _DgHashes(core.SequenceOf):
    _child_spec = _DgHash


class _Lso(core.Sequence):
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("alg", algos.DigestAlgorithm),
        ("hashes", _DgHashes),
    ]


def name(cn: str, country: str) -> x509.Name:
    return pki.subject_name(country, cn, organization="Test State")


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "brainpool384":
        return ec.generate_private_key(ec.BrainpoolP384R1())
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def signer(self, pss: bool = False) -> pki.Signer:
        """This key and certificate as a test-PKI signer (RSA: PSS or PKCS#1 v1.5)."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            algorithm = pki.PkiAlgorithm.ECDSA_NIST_P256  # any EC scheme: the key's own curve
        else:
            algorithm = pki.PkiAlgorithm.RSA_PSS if pss else pki.PkiAlgorithm.RSA_PKCS1
        return pki.Signer(self.key, self.cert, algorithm)


def make_cert(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issued | None,
    *,
    ca: bool,
    not_before: datetime = NOW - timedelta(days=365),
    not_after: datetime = NOW + timedelta(days=3650),
    serial: int | None = None,
    key_usage_period: tuple[datetime, datetime] | None = None,
    with_aki: bool = True,
    key_cert_sign: bool = False,
) -> Issued:
    """A certificate for `key`, self-signed when `issuer` is None."""
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if with_aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), False
        )
    if key_cert_sign:
        builder = builder.add_extension(pki.key_usage(cert_sign=True), True)
    if key_usage_period is not None:
        builder = builder.add_extension(
            x509.PrivateKeyUsagePeriod(key_usage_period[0], key_usage_period[1]), False
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    return Issued(cert, key)


def csca(country: str = "UT", kind: str = "ec", **kw: Any) -> Issued:
    return make_cert(name(f"CSCA {country}", country), new_key(kind), None, ca=True, **kw)


def document_signer(issuer: Issued, country: str = "UT", kind: str = "ec", **kw: Any) -> Issued:
    return make_cert(name(f"DS {country}", country), new_key(kind), issuer, ca=False, **kw)


def lds_security_object(dgs: dict[int, bytes], hash_name: str = "sha256") -> bytes:
    hashes_ = [
        {"n": n, "h": hashlib.new(hash_name, data).digest()} for n, data in sorted(dgs.items())
    ]
    return bytes(_Lso({"version": 0, "alg": {"algorithm": hash_name}, "hashes": hashes_}).dump())


def signed_data(
    content: bytes,
    content_type: str,
    signer: Issued,
    *,
    hash_name: str = "sha256",
    pss: bool = False,
    signing_time: datetime | None = NOW - timedelta(days=30),
    include_cert: bool = True,
    extra_certs: tuple[Issued, ...] = (),
) -> bytes:
    """A DER ContentInfo holding SignedData over `content`, signed by `signer`."""
    return pki.sign_signed_data(
        content,
        content_type,
        signer.signer(pss),
        digest_algorithm=hash_name,
        include_certificate=include_cert,
        signing_time=signing_time,
        extra_certificates=tuple(c.der for c in extra_certs),
    )


def sod(dgs: dict[int, bytes], ds: Issued, **kw: Any) -> bytes:
    """EF.SOD: tag 0x77 around the SignedData over an LDSSecurityObject of `dgs`."""
    hash_name = kw.get("hash_name", "sha256")
    body = signed_data(lds_security_object(dgs, hash_name), OID_LDS_SECURITY_OBJECT, ds, **kw)
    return tlv.encode(0x77, body)


def master_list(
    entries: list[bytes], signer: Issued, extra_certs: tuple[Issued, ...] = ()
) -> bytes:
    """A CSCA master list (CscaMasterList: version 0, SET OF certificates) signed by `signer`."""
    cert_set = tlv.encode(0x31, b"".join(entries))
    content = tlv.encode(0x30, core.Integer(0).dump() + cert_set)
    return signed_data(content, OID_MASTER_LIST, signer, extra_certs=extra_certs)


def crl(
    issuer: Issued,
    revoked_serials: list[int],
    *,
    signer_key: PrivateKey | None = None,
    this_update: datetime = NOW - timedelta(days=1),
    next_update: datetime = NOW + timedelta(days=30),
    number: int = 1,
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .add_extension(x509.CRLNumber(number), False)
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - timedelta(days=2))
            .build()
        )
    return builder.sign(signer_key or issuer.key, hashes.SHA256()).public_bytes(
        serialization.Encoding.DER
    )


def dg1(issuing_state: str) -> bytes:
    """A DG1 holding a TD3 MRZ for the fictional holder of the ICAO specimen."""
    line1 = f"P<{issuing_state:<<3}ERIKSSON<<ANNA<MARIA".ljust(44, "<")
    line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    return tlv.encode(0x61, tlv.encode(0x5F1F, (line1 + line2).encode("ascii")))


def pin(der: bytes) -> str:
    """What `trust import --anchor` takes: the SHA-256 fingerprint of a certificate's DER."""
    return hashlib.sha256(der).hexdigest()


def master_list_anchor(data: bytes) -> str:
    """The fingerprint an operator pins to import a master list: the self-signed CSCA in the list
    that issued the list's signer (a link certificate for the same key may sit beside it).

    Tests compute it from the file; in production it comes out of band from the issuer's
    published value (for the German list, the BSI's), never from the file being imported.
    """
    from appliance.emrtd.pki.cms import find_signer_certificate
    from appliance.emrtd.pki.masterlist import parse_master_list
    from appliance.errors import LdsError

    master_list = parse_master_list(data)
    signer = find_signer_certificate(master_list.signed)
    assert signer is not None, "master list without its signer certificate"

    def signs(issuer: Any, cert: Any) -> bool:
        try:
            return bool(cert.might_be_issued_by(issuer) and cert.is_signed_by(issuer))
        except LdsError:
            return False

    (anchor,) = [c for c in master_list.certificates if signs(c, signer) and signs(c, c)]
    return str(anchor.fingerprint)
