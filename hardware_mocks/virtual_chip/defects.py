"""Defective chips: one variant per failure an inspection system must catch.

Each variant starts from a genuine traveller's chip and breaks exactly one thing, the way a
forger, a careless issuer or a cloner would:

- `forged_dg`: DG1's holder name altered after signing (its hash no longer matches EF.SOD);
- `bad_sod_signature`: one bit of EF.SOD's signature flipped;
- `unknown_csca`: EF.SOD signed by a DS of a CSCA the inspection system does not trust;
- `revoked_ds`: signed by a DS that the issuing state's CRL revokes;
- `expired_csca`: the whole PKI of the document expired before the inspection;
- `country_mismatch`: DG1 says France, the signing DS is German;
- `dg_not_in_sod`: DG11 is on the chip and listed in EF.COM, but EF.SOD has no hash for it;
- `cloned`: every file copied, but the chip's CA and AA keys are not the original's;
- `no_sod`: EF.SOD left out, so nothing vouches for the data (a forger's chip: any holder);
- `stripped_chip_keys`: a clone that leaves out DG14 and DG15 rather than fail Chip and Active
  Authentication with keys that are not the original's (EF.SOD still lists both).

`trust_material` gives what the verifying side imports (CSCA and CRL, DER) for the scenario, and
`EXPECTED` the check and reason code each variant must produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from enum import StrEnum
from functools import lru_cache

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.lds import sod
from appliance.emrtd.pki.checks import CheckName
from appliance.emrtd.protocol import tlv
from appliance.errors import Reason
from hardware_mocks import pki
from hardware_mocks.virtual_chip.chip import FID_CARD_ACCESS, FID_CARD_SECURITY, ChipContents
from hardware_mocks.virtual_chip.profile import TravellerProfile

FID_COM, FID_SOD, FID_DG14, FID_DG15 = 0x011E, 0x011D, 0x010E, 0x010F
#: validity of the expired scenario's CSCA and DS (long over by any test date)
_EXPIRED_FROM = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
_EXPIRED_UNTIL = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
#: issue date of the CRL that revokes the `revoked_ds` signer (after the test PKI's first CRL)
_NEXT_CRL = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


class Defect(StrEnum):
    FORGED_DG = "forged_dg"
    BAD_SOD_SIGNATURE = "bad_sod_signature"
    UNKNOWN_CSCA = "unknown_csca"
    REVOKED_DS = "revoked_ds"
    EXPIRED_CSCA = "expired_csca"
    COUNTRY_MISMATCH = "country_mismatch"
    DG_NOT_IN_SOD = "dg_not_in_sod"
    CLONED = "cloned"
    NO_SOD = "no_sod"
    STRIPPED_CHIP_KEYS = "stripped_chip_keys"


#: the check that must fail for each variant, and its exact reason code
EXPECTED: dict[Defect, tuple[CheckName, Reason]] = {
    Defect.FORGED_DG: (CheckName.DG_HASHES, Reason.PA_DG_HASH_MISMATCH),
    Defect.BAD_SOD_SIGNATURE: (CheckName.SOD_SIGNATURE, Reason.PA_SIGNATURE_INVALID),
    Defect.UNKNOWN_CSCA: (CheckName.DS_CERTIFICATE_CHAIN, Reason.PA_DS_UNTRUSTED),
    Defect.REVOKED_DS: (CheckName.DS_REVOCATION, Reason.PA_DS_REVOKED),
    Defect.EXPIRED_CSCA: (CheckName.CERTIFICATE_VALIDITY, Reason.PA_CERT_EXPIRED),
    Defect.COUNTRY_MISMATCH: (CheckName.ISSUER_COUNTRY, Reason.PA_COUNTRY_MISMATCH),
    Defect.DG_NOT_IN_SOD: (CheckName.DG_HASHES, Reason.PA_DG_NOT_IN_SOD),
    Defect.CLONED: (CheckName.CHIP_AUTHENTICATION, Reason.CHIP_CLONE_SUSPECTED),
    Defect.NO_SOD: (CheckName.SOD_SIGNATURE, Reason.PA_SOD_MISSING),
    Defect.STRIPPED_CHIP_KEYS: (CheckName.CHIP_AUTHENTICATION, Reason.CHIP_CLONE_SUSPECTED),
}


def _groups(contents: ChipContents) -> dict[int, bytes]:
    return {
        fid - 0x0100: data for fid, data in contents.lds_files.items() if 0x0101 <= fid <= 0x0110
    }


def _signed_sod(groups: dict[int, bytes], signer: pki.Signer, digest: str) -> bytes:
    hashes = {n: hashlib.new(digest, data).digest() for n, data in sorted(groups.items())}
    lso = sod.encode_security_object(sod.LdsSecurityObject(digest, hashes))
    return pki.sign_sod(lso, signer, digest_algorithm=digest)


def _with_lds(contents: ChipContents, **files: bytes) -> ChipContents:
    lds = dict(contents.lds_files)
    for name, data in files.items():
        lds[FID_SOD if name == "sod" else 0x0100 + int(name.removeprefix("dg"))] = data
    return replace(contents, lds_files=lds)


def _forged_dg1(dg1: bytes) -> bytes:
    """The same DG1 with the first letter of the holder's surname changed (TD3/TD1 alike)."""
    outer = tlv.parse_one(dg1)
    mrz = tlv.find(outer.value, 0x5F1F)
    assert mrz is not None
    text = bytearray(mrz.value)
    position = 5 if len(text) != 90 else 60  # TD1 keeps the name on its third line
    text[position] = ord("Q") if text[position] != ord("Q") else ord("X")
    return tlv.encode(0x61, tlv.encode(0x5F1F, bytes(text)))


def _flip_signature(ef_sod: bytes) -> bytes:
    content_info = cms.ContentInfo.load(tlv.parse_one(ef_sod).value)
    signature = bytes(content_info["content"]["signer_infos"][0]["signature"].native)
    at = ef_sod.rfind(signature) + len(signature) - 1
    return ef_sod[:at] + bytes([ef_sod[at] ^ 0x01]) + ef_sod[at + 1 :]


@lru_cache(maxsize=8)
def _rogue_pki(country: str, algorithm: pki.PkiAlgorithm) -> pki.TestPki:
    return pki.load_or_create_pki(country, algorithm, seed="rogue-csca")


@lru_cache(maxsize=8)
def _revoked_signer(profile: TravellerProfile) -> pki.Signer:
    return profile.pki.new_document_signer("revoked")


@lru_cache(maxsize=8)
def _revoking_crl(profile: TravellerProfile) -> bytes:
    """The issuing state's next CRL (number 2, issued after the first), revoking the DS."""
    test_pki = profile.pki
    crl = pki.build_crl(
        test_pki.csca,
        (_revoked_signer(profile).certificate.serial_number,),
        number=2,
        this_update=_NEXT_CRL,
    )
    return crl.public_bytes(serialization.Encoding.DER)


def _redated_csca(
    template: pki.Signer, not_before: dt.datetime, not_after: dt.datetime
) -> pki.Signer:
    """`template`'s self-signed CSCA certificate, reissued with another validity period."""
    cert = template.certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(template.key.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension in cert.extensions:
        value = extension.value
        if isinstance(value, x509.PrivateKeyUsagePeriod):
            value = x509.PrivateKeyUsagePeriod(
                not_before.replace(tzinfo=None), not_after.replace(tzinfo=None)
            )
        builder = builder.add_extension(value, critical=extension.critical)
    key = template.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signed = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    else:
        signed = builder.sign(key, hashes.SHA256())
    return pki.Signer(key, signed, template.algorithm)


@lru_cache(maxsize=8)
def _expired_pki(country: str) -> tuple[pki.Signer, pki.Signer]:
    """A CSCA and DS pair valid 2010-2020 (brainpoolP256r1 keys from a fixed seed)."""
    algorithm = pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256
    key = pki.derive_ec_key(algorithm, "expired", f"{country}/csca")
    csca = _redated_csca(
        pki.build_csca(key, country, algorithm, "expired"), _EXPIRED_FROM, _EXPIRED_UNTIL
    )
    ds_key = pki.derive_ec_key(algorithm, "expired", f"{country}/ds")
    ds = pki.issue_document_signer(
        csca, ds_key, seed="expired", not_before=_EXPIRED_FROM, not_after=_EXPIRED_UNTIL
    )
    return csca, ds


def _other_keys(profile: TravellerProfile) -> TravellerProfile:
    """A profile whose CA and AA keys differ from `profile`'s (the cloner's own chip)."""
    return replace(profile, seed=profile.seed + 1_000_003)


def defective_contents(profile: TravellerProfile, defect: Defect) -> ChipContents:
    """The chip of `profile` with `defect` built in."""
    contents = profile.chip_contents()
    groups = _groups(contents)
    digest = profile.sod_digest
    test_pki = profile.pki
    match defect:
        case Defect.FORGED_DG:
            return _with_lds(contents, dg1=_forged_dg1(groups[1]))
        case Defect.BAD_SOD_SIGNATURE:
            return _with_lds(contents, sod=_flip_signature(contents.lds_files[FID_SOD]))
        case Defect.UNKNOWN_CSCA:
            rogue = _rogue_pki(test_pki.country, test_pki.algorithm)
            return _with_lds(contents, sod=_signed_sod(groups, rogue.document_signer, digest))
        case Defect.REVOKED_DS:
            return _with_lds(contents, sod=_signed_sod(groups, _revoked_signer(profile), digest))
        case Defect.EXPIRED_CSCA:
            _, ds = _expired_pki(test_pki.country)
            return _with_lds(contents, sod=_signed_sod(groups, ds, digest))
        case Defect.COUNTRY_MISMATCH:
            elsewhere = replace(profile, issuing_state="FRA").chip_contents()
            foreign = _groups(elsewhere)
            mf = {fid: data for fid, data in contents.mf_files.items()
                  if fid in (FID_CARD_ACCESS, FID_CARD_SECURITY)}  # fmt: skip
            lds = dict(elsewhere.lds_files)
            lds[FID_SOD] = _signed_sod(foreign, test_pki.document_signer, digest)
            return replace(elsewhere, lds_files=lds, mf_files=mf)
        case Defect.DG_NOT_IN_SOD:
            missing = 11 if 11 in groups else max(n for n in groups if n != 1)
            signed = {n: data for n, data in groups.items() if n != missing}
            return _with_lds(contents, sod=_signed_sod(signed, test_pki.document_signer, digest))
        case Defect.CLONED:
            cloner = _other_keys(profile)
            return replace(
                contents,
                chip_authentication_key=cloner.chip_authentication_key
                if contents.chip_authentication_key is not None
                else None,
                active_authentication_key=cloner.active_authentication_key
                if contents.active_authentication_key is not None
                else None,
            )
        case Defect.NO_SOD:
            return replace(
                contents, lds_files={f: d for f, d in contents.lds_files.items() if f != FID_SOD}
            )
        case Defect.STRIPPED_CHIP_KEYS:
            kept = {f: d for f, d in contents.lds_files.items() if f not in (FID_DG14, FID_DG15)}
            return replace(
                contents,
                lds_files=kept,
                chip_authentication_key=None,
                active_authentication_key=None,
            )
    raise ValueError(f"unknown defect {defect}")


def trust_material(profile: TravellerProfile, defect: Defect | None = None) -> list[bytes]:
    """CSCA and CRL files (DER) the verifying side imports for this scenario.

    Always the issuing state's genuine CSCA and CRL; for `revoked_ds` also its next CRL, which
    revokes that DS; for `expired_csca` the expired CSCA itself (trusted, but out of date).
    """
    test_pki = profile.pki
    files = [test_pki.csca_der, test_pki.crl_der]
    if defect is Defect.REVOKED_DS:
        files.append(_revoking_crl(profile))
    if defect is Defect.EXPIRED_CSCA:
        csca, _ = _expired_pki(test_pki.country)
        files.append(csca.certificate_der)
    return files


__all__ = ["EXPECTED", "Defect", "defective_contents", "trust_material"]
