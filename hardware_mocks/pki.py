"""A generated test PKI for simulated ePassports: CSCA, Document Signers, CRL, and EF.SOD signing.

ICAO 9303-12 profiles: the CSCA is a self-signed CA (keyCertSign + cRLSign, SKI, private key
usage period), a Document Signer is an end-entity certificate it issues (digitalSignature, AKI,
optionally the document type list extension), and the CRL is signed by the CSCA. EF.SOD is a
CMS SignedData (RFC 5652) over the LDSSecurityObject with the signed attributes ICAO requires
(content type and message digest), wrapped in the LDS tag 77 (ICAO 9303-10 §4.6.2).

EC keys are derived from a seed, and ECDSA signs deterministically (RFC 6979), so an ECDSA PKI
is byte-for-byte reproducible. RSA keys cannot be derived from a seed with `cryptography`; they
are generated once and cached on disk. Every PKI is cached in a directory (default
``$XDG_CACHE_HOME/border-appliance/test-pki``) and in memory, so tests do not regenerate keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from appliance.emrtd.lds import digests
from appliance.emrtd.lds.digests import pyca_hash
from appliance.emrtd.protocol import tlv
from appliance.files import write_private

#: ICAO 9303-10: eContentType of the LDSSecurityObject
LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"
#: BSI TR-03110-3: eContentType of EF.CardSecurity's SecurityInfos
SECURITY_OBJECT_OID = "0.4.0.127.0.7.3.2.1"
#: ICAO 9303-12 §7.1.1.3: Document Type List certificate extension
DOCUMENT_TYPE_LIST_OID = x509.ObjectIdentifier("2.23.136.1.1.6.2")

#: fixed validity so a PKI from the same seed is the same PKI (and valid for years to come)
_CSCA_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_CSCA_NOT_AFTER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
_DS_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_DS_NOT_AFTER = dt.datetime(2037, 1, 1, tzinfo=dt.UTC)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class PkiAlgorithm(StrEnum):
    """Signature scheme of the whole test PKI (CSCA, DS, CRL and SOD)."""

    ECDSA_BRAINPOOL_P256 = "ecdsa-brainpoolP256r1"
    ECDSA_NIST_P256 = "ecdsa-p256"
    RSA_PSS = "rsa-pss"
    RSA_PKCS1 = "rsa"

    @property
    def is_ec(self) -> bool:
        return self.value.startswith("ecdsa")


_CURVES: dict[PkiAlgorithm, ec.EllipticCurve] = {
    PkiAlgorithm.ECDSA_BRAINPOOL_P256: ec.BrainpoolP256R1(),
    PkiAlgorithm.ECDSA_NIST_P256: ec.SECP256R1(),
}
#: group orders of those curves (SEC 2 and RFC 5639), for deriving private scalars from a seed
_CURVE_ORDERS: dict[PkiAlgorithm, int] = {
    PkiAlgorithm.ECDSA_BRAINPOOL_P256: int(
        "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7", 16
    ),
    PkiAlgorithm.ECDSA_NIST_P256: int(
        "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16
    ),
}
_RSA_SIZES = {"csca": 3072, "ds": 2048}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "border-appliance" / "test-pki"


def _seed_bytes(seed: int | str, label: str) -> bytes:
    return hashlib.sha256(f"{seed}/{label}".encode()).digest()


def derive_ec_key(
    algorithm: PkiAlgorithm, seed: int | str, label: str
) -> ec.EllipticCurvePrivateKey:
    """An EC private key that depends only on (seed, label): same seed, same key."""
    order = _CURVE_ORDERS[algorithm]
    scalar = int.from_bytes(_seed_bytes(seed, label) * 2, "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, _CURVES[algorithm])


def _serial(seed: int | str, label: str) -> int:
    """A positive serial number below 2^159 (RFC 5280 allows 20 octets)."""
    return int.from_bytes(_seed_bytes(seed, "serial/" + label)[:19], "big") | 1


@dataclass(frozen=True)
class Signer:
    """A private key and its certificate."""

    key: PrivateKey
    certificate: x509.Certificate
    algorithm: PkiAlgorithm

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        """Signature over `data` in this PKI's scheme (ECDSA DER, PSS or PKCS#1 v1.5)."""
        hash_algorithm = pyca_hash(digest)
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(hash_algorithm, deterministic_signing=True))
        return self.key.sign(data, _rsa_padding(self.algorithm, digest), hash_algorithm)


def _rsa_padding(algorithm: PkiAlgorithm, digest: str = "sha256") -> padding.PSS | padding.PKCS1v15:
    if algorithm is PkiAlgorithm.RSA_PSS:
        hash_algorithm = pyca_hash(digest)
        return padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
    return padding.PKCS1v15()


def _sign_certificate(builder: x509.CertificateBuilder, issuer: Signer | None, key: PrivateKey,
                      algorithm: PkiAlgorithm) -> x509.Certificate:  # fmt: skip
    signing_key = issuer.key if issuer else key
    if isinstance(signing_key, ec.EllipticCurvePrivateKey):
        return builder.sign(signing_key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(signing_key, hashes.SHA256(), rsa_padding=_rsa_padding(algorithm))


def subject_name(
    country: str, common_name: str, organization: str = "Border Appliance Test PKI"
) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """CA: keyCertSign + cRLSign only; Document Signer: digitalSignature only."""
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


class _DocTypes(core.SetOf):  # type: ignore[misc]
    _child_spec = core.PrintableString


class _DocumentTypeListSyntax(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar = [("version", core.Integer), ("doc_type_list", _DocTypes)]


def document_type_list_extension(doc_types: tuple[str, ...]) -> x509.UnrecognizedExtension:
    """ICAO 9303-12 DocumentTypeListSyntax: SEQUENCE { version 0, SET OF PrintableString }."""
    value = _DocumentTypeListSyntax({"version": 0, "doc_type_list": list(doc_types)}).dump()
    return x509.UnrecognizedExtension(DOCUMENT_TYPE_LIST_OID, value)


def build_csca(key: PrivateKey, country: str, algorithm: PkiAlgorithm, seed: int | str) -> Signer:
    name = subject_name(country, f"CSCA {country} test")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial(seed, "csca"))
        .not_valid_before(_CSCA_NOT_BEFORE)
        .not_valid_after(_CSCA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier(ski.digest, None, None), critical=False)
        .add_extension(
            x509.PrivateKeyUsagePeriod(
                _CSCA_NOT_BEFORE.replace(tzinfo=None), dt.datetime(2030, 1, 1)
            ),
            critical=False,
        )
    )
    return Signer(key, _sign_certificate(builder, None, key, algorithm), algorithm)


def issue_document_signer(
    csca: Signer,
    key: PrivateKey,
    *,
    label: str = "ds",
    seed: int | str = 0,
    not_before: dt.datetime = _DS_NOT_BEFORE,
    not_after: dt.datetime = _DS_NOT_AFTER,
    doc_types: tuple[str, ...] | None = ("P",),
) -> Signer:
    """A Document Signer certificate for `key`, issued by `csca` (same country)."""
    country = csca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    assert isinstance(country, str)
    csca_ski = csca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name(country, f"Document Signer {country} test {label}"))
        .issuer_name(csca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(_serial(seed, label))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier(csca_ski.value.digest, None, None), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if doc_types:
        builder = builder.add_extension(document_type_list_extension(doc_types), critical=False)
    return Signer(key, _sign_certificate(builder, csca, key, csca.algorithm), csca.algorithm)


def build_crl(
    csca: Signer,
    revoked_serials: tuple[int, ...] = (),
    *,
    number: int = 1,
    this_update: dt.datetime = _DS_NOT_BEFORE,
    next_update: dt.datetime = _CSCA_NOT_AFTER,
) -> x509.CertificateRevocationList:
    """A CRL from `csca` listing `revoked_serials` (ICAO 9303-12 §7.1.4 profile)."""
    csca_ski = csca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(csca.certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(csca_ski.value.digest, None, None), critical=False
        )
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(this_update)
            .build()
        )
    if isinstance(csca.key, ec.EllipticCurvePrivateKey):
        return builder.sign(csca.key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(csca.key, hashes.SHA256(), rsa_padding=_rsa_padding(csca.algorithm))


@dataclass(frozen=True)
class TestPki:
    """One country's test PKI: CSCA, one Document Signer, and an empty CRL."""

    country: str
    algorithm: PkiAlgorithm
    seed: int | str
    csca: Signer
    document_signer: Signer
    crl: x509.CertificateRevocationList
    _extra: dict[str, Signer] = field(default_factory=dict, compare=False, repr=False)

    __test__ = False  # not a pytest test class, despite the name

    @property
    def csca_der(self) -> bytes:
        return self.csca.certificate_der

    @property
    def crl_der(self) -> bytes:
        return self.crl.public_bytes(serialization.Encoding.DER)

    def new_document_signer(self, label: str, **kwargs: object) -> Signer:
        """Another DS of this CSCA (an expired one, one to revoke); EC keys derive from the seed."""
        if self.algorithm.is_ec:
            key: PrivateKey = derive_ec_key(self.algorithm, self.seed, f"{self.country}/{label}")
        else:
            key = rsa.generate_private_key(65537, _RSA_SIZES["ds"])
        return issue_document_signer(
            self.csca,
            key,
            label=label,
            seed=self.seed,
            **kwargs,  # type: ignore[arg-type]
        )

    def crl_revoking(self, *certificates: x509.Certificate, number: int = 2) -> bytes:
        """A CRL (DER) of this CSCA that revokes `certificates`."""
        crl = build_crl(self.csca, tuple(c.serial_number for c in certificates), number=number)
        return crl.public_bytes(serialization.Encoding.DER)


_memo: dict[tuple[str, str, str, str], TestPki] = {}
_memo_lock = threading.Lock()


def load_or_create_pki(
    country: str = "DE",
    algorithm: PkiAlgorithm | str = PkiAlgorithm.ECDSA_BRAINPOOL_P256,
    seed: int | str = 0,
    cache_dir: Path | None = None,
) -> TestPki:
    """The test PKI for (country, algorithm, seed), from memory, the cache directory, or new."""
    algorithm = PkiAlgorithm(algorithm)
    directory = (cache_dir or default_cache_dir()) / f"{country}-{algorithm.value}-{seed}"
    memo_key = (country, algorithm.value, str(seed), str(directory))
    with _memo_lock:
        if memo_key not in _memo:
            _memo[memo_key] = _load_or_create(country, algorithm, seed, directory)
        return _memo[memo_key]


def _load_or_create(
    country: str, algorithm: PkiAlgorithm, seed: int | str, directory: Path
) -> TestPki:
    csca_key = _key(algorithm, seed, f"{country}/csca", directory / "csca.key.pem", "csca")
    ds_key = _key(algorithm, seed, f"{country}/ds", directory / "ds.key.pem", "ds")
    csca = build_csca(csca_key, country, algorithm, seed)
    ds = issue_document_signer(csca, ds_key, seed=seed)
    return TestPki(country, algorithm, seed, csca, ds, build_crl(csca))


def _key(algorithm: PkiAlgorithm, seed: int | str, label: str, path: Path, role: str) -> PrivateKey:
    """EC: derived from the seed (nothing to cache). RSA: loaded from `path`, or made and saved."""
    if algorithm.is_ec:
        return derive_ec_key(algorithm, seed, label)
    return cached_rsa_key(path, _RSA_SIZES[role])


def cached_rsa_key(path: Path, bits: int) -> rsa.RSAPrivateKey:
    """The RSA key stored at `path` (PEM, mode 0600), generated and saved on first use."""
    if path.is_file():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(loaded, rsa.RSAPrivateKey):
            return loaded
    key = rsa.generate_private_key(65537, bits)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)  # atomic: parallel test workers never read half a key
    return key


# --- EF.SOD -----------------------------------------------------------------------------------

_DIGEST_NAMES = frozenset(digests.BY_NAME)


def _signature_algorithm(signer: Signer, digest: str) -> cms.SignedDigestAlgorithm:
    if signer.algorithm.is_ec:
        return cms.SignedDigestAlgorithm({"algorithm": f"{digest}_ecdsa"})
    if signer.algorithm is PkiAlgorithm.RSA_PSS:
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": digest},
                "mask_gen_algorithm": {
                    "algorithm": "mgf1",
                    "parameters": {"algorithm": digest},
                },
                "salt_length": pyca_hash(digest).digest_size,
                "trailer_field": "trailer_field_bc",
            }
        )
        return cms.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    return cms.SignedDigestAlgorithm({"algorithm": f"{digest}_rsa"})


def sign_sod(
    lds_security_object: bytes,
    signer: Signer,
    *,
    digest_algorithm: str = "sha256",
    signer_identifier: str = "issuer_serial",
    include_certificate: bool = True,
) -> bytes:
    """EF.SOD: tag 77 around a CMS ContentInfo SignedData over `lds_security_object` (DER)."""
    content_info = sign_signed_data(
        lds_security_object,
        LDS_SECURITY_OBJECT_OID,
        signer,
        digest_algorithm=digest_algorithm,
        signer_identifier=signer_identifier,
        include_certificate=include_certificate,
    )
    return tlv.encode(0x77, content_info)


def sign_card_security(security_infos: bytes, signer: Signer) -> bytes:
    """EF.CardSecurity (ICAO 9303-11 §9.2.2): SignedData over SecurityInfos, no tag 77."""
    return sign_signed_data(security_infos, SECURITY_OBJECT_OID, signer)


def sign_signed_data(
    content: bytes,
    content_type: str,
    signer: Signer,
    *,
    digest_algorithm: str = "sha256",
    signer_identifier: str = "issuer_serial",
    include_certificate: bool = True,
    signing_time: dt.datetime | None = None,
    extra_certificates: tuple[bytes, ...] = (),
) -> bytes:
    """DER ContentInfo of a CMS SignedData (RFC 5652) encapsulating `content`.

    The signature covers the DER SET OF signed attributes (content type, message digest of
    the encapsulated content, and the signing time when given), as RFC 5652 §5.4 requires.
    The signer is identified by issuer and serial number (SignerInfo v1) or by subject key
    identifier (v3). `extra_certificates` (DER) travel after the signer's certificate.
    """
    if digest_algorithm not in _DIGEST_NAMES:
        raise ValueError("unsupported digest algorithm")
    digest = hashlib.new(digest_algorithm, content).digest()
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ]
    if signing_time is not None:
        time = cms.Time({"utc_time": signing_time})
        attributes.append(cms.CMSAttribute({"type": "signing_time", "values": [time]}))
    # DER orders a SET OF by the encodings of its elements (X.690 §11.6).
    attributes.sort(key=lambda attribute: attribute.dump())
    signed_attrs = cms.CMSAttributes(attributes)
    signature = signer.sign(signed_attrs.dump(), digest_algorithm)

    certificate = asn1_x509.Certificate.load(signer.certificate_der)
    if signer_identifier == "issuer_serial":
        sid = cms.SignerIdentifier(
            {
                "issuer_and_serial_number": {
                    "issuer": certificate.issuer,
                    "serial_number": certificate.serial_number,
                }
            }
        )
        version = "v1"
    elif signer_identifier == "ski":
        sid = cms.SignerIdentifier({"subject_key_identifier": certificate.key_identifier})
        version = "v3"
    else:
        raise ValueError("signer_identifier is 'issuer_serial' or 'ski'")
    certificates = [certificate] if include_certificate else []
    certificates += [asn1_x509.Certificate.load(der) for der in extra_certificates]
    digest_algo = algos.DigestAlgorithm({"algorithm": digest_algorithm})
    signer_info = cms.SignerInfo(
        {
            "version": version,
            "sid": sid,
            "digest_algorithm": digest_algo,
            "signed_attrs": signed_attrs,
            "signature_algorithm": _signature_algorithm(signer, digest_algorithm),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [digest_algo],
            "encap_content_info": {
                "content_type": content_type,
                "content": core.ParsableOctetString(content),
            },
            "certificates": certificates or None,
            "signer_infos": [signer_info],
        }
    )
    content_info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(content_info.dump())


def write_trust_files(directory: Path, test_pki: TestPki) -> list[Path]:
    """Write the CSCA certificate and CRL (DER) for `appliance trust import`, return the paths.

    A simulated appliance trusts its simulated passports only once these are imported, exactly
    as a real one trusts a country only once its CSCA is in the trust store.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{test_pki.country}-{test_pki.algorithm.value}"
    # numbered so that a shell glob imports every CSCA before the CRLs they sign
    csca = directory / f"1-csca-{stem}.der"
    crl = directory / f"2-crl-{stem}.der"
    csca.write_bytes(test_pki.csca_der)
    crl.write_bytes(test_pki.crl_der)
    return [csca, crl]


def main(argv: list[str] | None = None) -> int:
    """`python -m hardware_mocks.pki DIR`: export the test CSCA and CRL of the simulated
    passports (country DE, every algorithm) for `appliance trust import`."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--country", default="DE")
    parser.add_argument(
        "--algorithm", choices=[a.value for a in PkiAlgorithm], action="append", default=None
    )
    args = parser.parse_args(argv)
    for name in args.algorithm or [PkiAlgorithm.ECDSA_BRAINPOOL_P256.value]:
        for path in write_trust_files(args.directory, load_or_create_pki(args.country, name)):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
