"""A generated ePassport PKI for tests: CSCA -> DS -> EF.SOD, CRLs and master lists.

Built with pyca/cryptography's builders and asn1crypto, independently of the code under test
(which only *parses and verifies*), so a test can forge exactly one defect at a time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_MASTER_LIST = "2.23.136.1.1.2"

_HASHES = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


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
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test State"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


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
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, True)
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


def _signature_algorithm(key: PrivateKey, hash_name: str, pss: bool) -> dict[str, Any]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"algorithm": f"{hash_name}_ecdsa"}
    if pss:
        params = {
            "hash_algorithm": {"algorithm": hash_name},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
            "salt_length": _HASHES[hash_name].digest_size,
        }
        return {"algorithm": "rsassa_pss", "parameters": params}
    return {"algorithm": f"{hash_name}_rsa"}


def sign(key: PrivateKey, data: bytes, hash_name: str, pss: bool = False) -> bytes:
    h = _HASHES[hash_name]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(h))
    if pss:
        return key.sign(data, padding.PSS(padding.MGF1(h), h.digest_size), h)
    return key.sign(data, padding.PKCS1v15(), h)


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
    attrs = [
        {"type": "content_type", "values": [content_type]},
        {"type": "message_digest", "values": [hashlib.new(hash_name, content).digest()]},
    ]
    if signing_time is not None:
        attrs.insert(1, {"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]})
    asn1_cert = asn1_x509.Certificate.load(signer.der)
    info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": {
                "issuer_and_serial_number": {
                    "issuer": asn1_cert.issuer,
                    "serial_number": asn1_cert.serial_number,
                }
            },
            "digest_algorithm": {"algorithm": hash_name},
            "signed_attrs": attrs,
            "signature_algorithm": _signature_algorithm(signer.key, hash_name, pss),
            "signature": b"",
        }
    )
    to_sign = b"\x31" + info["signed_attrs"].dump()[1:]
    info["signature"] = sign(signer.key, to_sign, hash_name, pss)
    certs = [asn1_cert] if include_cert else []
    certs += [asn1_x509.Certificate.load(c.der) for c in extra_certs]
    sd = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": hash_name}],
            "encap_content_info": {
                "content_type": content_type,
                "content": core.ParsableOctetString(content),
            },
            "certificates": certs,
            "signer_infos": [info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": sd}).dump())


def sod(dgs: dict[int, bytes], ds: Issued, **kw: Any) -> bytes:
    """EF.SOD: tag 0x77 around the SignedData over an LDSSecurityObject of `dgs`."""
    hash_name = kw.get("hash_name", "sha256")
    body = signed_data(lds_security_object(dgs, hash_name), OID_LDS_SECURITY_OBJECT, ds, **kw)
    return b"\x77" + _length(len(body)) + body


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def master_list(
    entries: list[bytes], signer: Issued, extra_certs: tuple[Issued, ...] = ()
) -> bytes:
    """A CSCA master list (CscaMasterList: version 0, SET OF certificates) signed by `signer`."""
    body = b"".join(entries)
    cert_set = b"\x31" + _length(len(body)) + body
    version = core.Integer(0).dump()
    content = b"\x30" + _length(len(version) + len(cert_set)) + version + cert_set
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
    mrz = (line1 + line2).encode("ascii")
    inner = b"\x5f\x1f" + _length(len(mrz)) + mrz
    return b"\x61" + _length(len(inner)) + inner


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
