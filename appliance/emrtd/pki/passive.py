"""Passive Authentication (ICAO 9303-11 §5.1, Frontex ABC guidelines §4.4.1–4.4.9).

Sans-I/O: the caller hands in EF.SOD (or EF.CardSecurity), the data groups it read and a trust
store; out comes one `Check` per named step. Every step runs even when an earlier one failed,
so the report says everything that is wrong, and nothing is reported as passed that was not
actually checked (no data groups -> `dg_hashes` is `skipped`, never `pass`).

Validity rule (explicit, ICAO 9303-12 §7.1): ePassport certificates are dimensioned for the
RFC 5280 *shell model*. A DS key signs for a few months (its private key usage period), but the
DS certificate stays valid for that period plus the longest validity of a document it signed,
and a CSCA certificate for its own key usage period plus the longest DS certificate validity.
So at inspection time both the DS and the CSCA certificate must be valid; in addition the
signing time (CMS signing-time attribute, when the signer included one) must lie inside the DS
certificate's validity (fail) and inside its PrivateKeyUsagePeriod when that extension is
present (warn: the extension is optional and informative in 9303-12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from appliance.emrtd.lds import dg1 as dg1_file
from appliance.emrtd.lds.sod import LDS_CONTENT_TYPE_ALTERNATIVES, parse_security_object
from appliance.emrtd.pki.algorithms import digest
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.pki.cms import (
    OID_LDS_SECURITY_OBJECT,
    SignedData,
    find_signer_certificate,
    parse_signed_data,
    verify_signer,
)
from appliance.emrtd.pki.countries import icao_to_alpha2
from appliance.emrtd.pki.crl import Crl
from appliance.errors import LdsError, Reason

SIGNATURE_CHECKS = (
    CheckName.SOD_SIGNATURE,
    CheckName.DS_CERTIFICATE_CHAIN,
    CheckName.CERTIFICATE_VALIDITY,
    CheckName.DS_REVOCATION,
)
PA_CHECKS = (
    *SIGNATURE_CHECKS,
    CheckName.SOD_COM_CONSISTENCY,
    CheckName.DG_HASHES,
    CheckName.ISSUER_COUNTRY,
)


class TrustAnchors(Protocol):
    """What PA needs from a trust store (`TrustStore` implements it)."""

    def issuer_candidates(
        self, authority_key_id: bytes | None, issuer_key: str
    ) -> Iterable[Certificate]: ...

    def latest_crl(self, issuer: Certificate) -> Crl | None: ...


@dataclass(frozen=True)
class SecurityObjectVerification:
    """Outcome of checking a signed security object (EF.SOD or EF.CardSecurity)."""

    checks: list[Check]
    signed: SignedData | None = None
    ds_certificate: Certificate | None = None
    csca: Certificate | None = None
    signature_valid: bool = False

    @property
    def verified_content(self) -> bytes | None:
        """The eContent, only when signed by a DS that chains to a trusted CSCA.

        For callers that act on the content (PACE-CAM reads EF.CardSecurity's SecurityInfos);
        validity and revocation remain separate checks in `checks`.
        """
        trusted = self.signature_valid and self.csca is not None
        return self.signed.content if self.signed is not None and trusted else None


def _skip_all(names: Iterable[CheckName], detail: str) -> list[Check]:
    return [Check.skipped(name, detail) for name in names]


def verify_security_object(
    data: bytes,
    anchors: TrustAnchors,
    *,
    content_type: str = OID_LDS_SECURITY_OBJECT,
    at: datetime | None = None,
) -> SecurityObjectVerification:
    """sod_signature, ds_certificate_chain, certificate_validity and ds_revocation.

    An EF.SOD whose eContentType is one of `LDS_CONTENT_TYPE_ALTERNATIVES` is verified like any
    other; when its signature is valid, `sod_signature` is a warning
    (`SOD_CONTENT_TYPE_NONSTANDARD`) that the policy may accept, and a bad signature still fails.
    """
    when = at or datetime.now(UTC)
    try:
        signed = parse_signed_data(data)
    except LdsError as exc:
        failed = Check.failed(CheckName.SOD_SIGNATURE, exc.reason, f"unreadable: {exc.detail}")
        return SecurityObjectVerification(
            [failed, *_skip_all(SIGNATURE_CHECKS[1:], "security object unreadable")]
        )
    nonstandard = _nonstandard_content_type(signed.content_type, content_type)
    if signed.content_type != content_type and nonstandard is None:
        detail = f"eContent type {signed.content_type}, expected {content_type}"
        failed = Check.failed(CheckName.SOD_SIGNATURE, Reason.LDS_MALFORMED, detail)
        return SecurityObjectVerification(
            [failed, *_skip_all(SIGNATURE_CHECKS[1:], "wrong content type")]
        )
    ds = find_signer_certificate(signed)
    if ds is None:
        detail = "the DS certificate named by the SignerInfo is not in the security object"
        failed = Check.failed(CheckName.SOD_SIGNATURE, Reason.PA_SIGNATURE_INVALID, detail)
        return SecurityObjectVerification(
            [failed, *_skip_all(SIGNATURE_CHECKS[1:], "no DS certificate")], signed
        )
    result = verify_signer(signed, ds)
    name = CheckName.SOD_SIGNATURE
    if not result.valid:
        signature = Check.failed(name, Reason.PA_SIGNATURE_INVALID, result.detail)
    elif nonstandard is not None:
        reason = Reason.SOD_CONTENT_TYPE_NONSTANDARD
        signature = Check.warned(name, reason, f"{result.detail}; {nonstandard}")
    else:
        signature = Check.passed(name, result.detail)
    chain, csca = _chain(ds, anchors)
    checks = [
        signature,
        chain,
        _validity(ds, csca, signed.signer.signing_time, when),
        _revocation(ds, csca, anchors, when),
    ]
    return SecurityObjectVerification(checks, signed, ds, csca, result.valid)


def _nonstandard_content_type(found: str, expected: str) -> str | None:
    """A note when EF.SOD declares a known alternative to id-icao-ldsSecurityObject."""
    if expected != OID_LDS_SECURITY_OBJECT or found not in LDS_CONTENT_TYPE_ALTERNATIVES:
        return None
    return f"eContent type {LDS_CONTENT_TYPE_ALTERNATIVES[found]} ({found}), not {expected}"


def _chain(ds: Certificate, anchors: TrustAnchors) -> tuple[Check, Certificate | None]:
    tried = 0
    problems = set()
    for csca in anchors.issuer_candidates(ds.authority_key_id, ds.issuer_key):
        tried += 1
        if not csca.may_issue_certificates:
            problems.add("a candidate is not a CA certificate")
            continue
        try:
            if ds.is_signed_by(csca):
                detail = f"DS certificate signed by CSCA {csca.subject!r} ({csca.fingerprint[:16]})"
                if not csca.is_ca:
                    detail += "; the CSCA lacks basicConstraints cA, accepted on keyCertSign"
                return Check.passed(CheckName.DS_CERTIFICATE_CHAIN, detail), csca
        except LdsError as exc:
            problems.add(exc.detail)
    if not tried:
        aki = ds.authority_key_id.hex() if ds.authority_key_id else "none"
        detail = f"no CSCA in the trust store for issuer {ds.issuer!r} (AKI {aki})"
        return Check.failed(CheckName.DS_CERTIFICATE_CHAIN, Reason.PA_DS_UNTRUSTED, detail), None
    detail = f"DS certificate signature verifies under none of {tried} CSCA candidates"
    if problems:
        detail += f" ({'; '.join(sorted(problems))})"
    return Check.failed(CheckName.DS_CERTIFICATE_CHAIN, Reason.PA_DS_UNTRUSTED, detail), None


def _validity(
    ds: Certificate, csca: Certificate | None, signing_time: datetime | None, when: datetime
) -> Check:
    name = CheckName.CERTIFICATE_VALIDITY
    stamp = when.date().isoformat()
    if not ds.valid_at(when):
        detail = f"DS certificate not valid on {stamp} ({_period(ds)})"
        return Check.failed(name, Reason.PA_CERT_EXPIRED, detail)
    if csca is not None and not csca.valid_at(when):
        detail = f"CSCA certificate not valid on {stamp} ({_period(csca)})"
        return Check.failed(name, Reason.PA_CERT_EXPIRED, detail)
    notes = [f"DS valid on {stamp}"]
    notes.append("CSCA valid too" if csca is not None else "CSCA unknown, not checked")
    if signing_time is not None:
        if not ds.valid_at(signing_time):
            detail = f"signed on {signing_time.date()} outside the DS validity ({_period(ds)})"
            return Check.failed(name, Reason.PA_CERT_EXPIRED, detail)
        start, end = ds.key_usage_period or (None, None)
        if (start and signing_time < start) or (end and signing_time > end):
            detail = f"signed on {signing_time.date()} outside the DS private key usage period"
            return Check.warned(name, Reason.PA_CERT_EXPIRED, detail)
        notes.append(f"signed on {signing_time.date()} within the DS validity")
    else:
        notes.append("no signing time in the security object")
    if csca is None:
        return Check.warned(name, Reason.PA_NOT_CHECKED, "; ".join(notes))
    return Check.passed(name, "; ".join(notes))


def _period(cert: Certificate) -> str:
    return f"{cert.not_before.date()} to {cert.not_after.date()}"


def _revocation(
    ds: Certificate, csca: Certificate | None, anchors: TrustAnchors, when: datetime
) -> Check:
    name = CheckName.DS_REVOCATION
    if csca is None:
        return Check.skipped(name, "no trusted CSCA, so no CRL to consult")
    try:
        crl = anchors.latest_crl(csca)
    except LdsError as exc:
        return Check.warned(name, Reason.PA_NOT_CHECKED, f"stored CRL unreadable: {exc.detail}")
    if crl is None:
        return Check.warned(name, Reason.CRL_MISSING, "no CRL for this CSCA in the store")
    revoked_on = crl.revocation_date(ds.serial)
    if revoked_on is not None:
        detail = f"DS certificate revoked on {revoked_on.date()} (CRL of {crl.this_update.date()})"
        return Check.failed(name, Reason.PA_DS_REVOKED, detail)
    if not crl.is_current(when):
        until = crl.next_update.date() if crl.next_update else "?"
        detail = f"not on the newest CRL, but that CRL is out of date (next update {until})"
        return Check.warned(name, Reason.CRL_STALE, detail)
    return Check.passed(name, f"not on the CRL of {crl.this_update.date()}")


def passive_authentication(
    sod_bytes: bytes,
    anchors: TrustAnchors,
    dg_bytes: Mapping[int, bytes] | None = None,
    com_dg_list: Iterable[int] | None = None,
    *,
    issuing_state: str | None = None,
    at: datetime | None = None,
) -> list[Check]:
    """All PA checks for EF.SOD and the data groups read (raw file bytes, keyed by DG number).

    `com_dg_list` is EF.COM's data group list as DG numbers (None when EF.COM was not read);
    `issuing_state` is DG1's ICAO code, taken from DG1 itself when not given.
    """
    verification = verify_security_object(sod_bytes, anchors, at=at)
    dgs = dict(dg_bytes or {})
    if verification.signed is None:
        return [*verification.checks, *_skip_all(PA_CHECKS[4:], "EF.SOD not usable")]
    try:
        security_object = parse_security_object(verification.signed.content)
    except LdsError as exc:
        failed = [Check.failed(n, exc.reason, exc.detail) for n in PA_CHECKS[4:6]]
        return [*verification.checks, *failed, _country(verification, dgs, issuing_state)]
    unverified = "" if verification.signature_valid else " (EF.SOD signature NOT valid)"
    sod_dgs = set(security_object.dg_hashes)
    return [
        *verification.checks,
        _com_consistency(sod_dgs, com_dg_list, unverified),
        _dg_hashes(security_object.hash_algorithm, security_object.dg_hashes, dgs, unverified),
        _country(verification, dgs, issuing_state),
    ]


def _dg_list(numbers: Iterable[int]) -> str:
    return ",".join(f"DG{n}" for n in sorted(numbers)) or "none"


def _com_consistency(sod_dgs: set[int], com: Iterable[int] | None, unverified: str) -> Check:
    name = CheckName.SOD_COM_CONSISTENCY
    if com is None:
        return Check.skipped(name, "EF.COM not read")
    com_dgs = set(com)
    if com_dgs == sod_dgs:
        return Check.passed(name, f"EF.COM and EF.SOD both list {_dg_list(sod_dgs)}{unverified}")
    detail = (
        f"only in EF.COM: {_dg_list(com_dgs - sod_dgs)}; "
        f"only in EF.SOD: {_dg_list(sod_dgs - com_dgs)}{unverified}"
    )
    return Check.failed(name, Reason.PA_SOD_COM_MISMATCH, detail)


def _dg_hashes(
    hash_name: str, expected: dict[int, bytes], dgs: dict[int, bytes], unverified: str
) -> Check:
    name = CheckName.DG_HASHES
    if not dgs:
        return Check.skipped(name, f"no data groups read; EF.SOD lists {_dg_list(expected)}")
    missing = sorted(n for n in dgs if n not in expected)
    if missing:
        detail = f"{_dg_list(missing)} read from the chip but not in EF.SOD{unverified}"
        return Check.failed(name, Reason.PA_DG_NOT_IN_SOD, detail)
    wrong = sorted(n for n, data in dgs.items() if digest(hash_name, data) != expected[n])
    if wrong:
        detail = f"{hash_name} mismatch for {_dg_list(wrong)}{unverified}"
        return Check.failed(name, Reason.PA_DG_HASH_MISMATCH, detail)
    not_read = _dg_list(set(expected) - set(dgs))
    detail = f"{hash_name} matches for {_dg_list(dgs)}; not read: {not_read}{unverified}"
    return Check.passed(name, detail)


def issuing_state_from_dg1(dg1: bytes) -> str:
    """The issuing state (MRZ characters 3-5 in every document format) from raw DG1 bytes."""
    return dg1_file.parse(dg1).issuing_state


def _country(
    verification: SecurityObjectVerification, dgs: dict[int, bytes], issuing_state: str | None
) -> Check:
    name = CheckName.ISSUER_COUNTRY
    ds, csca = verification.ds_certificate, verification.csca
    if ds is None:
        return Check.skipped(name, "no DS certificate")
    if csca is not None and csca.country != ds.country:
        detail = f"DS country {ds.country} differs from its CSCA's {csca.country}"
        return Check.failed(name, Reason.PA_COUNTRY_MISMATCH, detail)
    if issuing_state is None and 1 in dgs:
        try:
            issuing_state = issuing_state_from_dg1(dgs[1])
        except LdsError as exc:
            return Check.failed(name, Reason.LDS_MALFORMED, exc.detail)
    if issuing_state is None:
        agree = f"; DS and CSCA agree ({ds.country})" if csca is not None else ""
        return Check.skipped(name, f"DG1 not read{agree}")
    alpha2 = icao_to_alpha2(issuing_state)
    shown = issuing_state.replace("<", "")
    if alpha2 is None:
        detail = f"issuing state {shown!r} has no ISO 3166 equivalent to compare"
        return Check.warned(name, Reason.PA_NOT_CHECKED, detail)
    if alpha2 != ds.country:
        detail = f"DG1 issuing state {shown} ({alpha2}) but DS country {ds.country}"
        return Check.failed(name, Reason.PA_COUNTRY_MISMATCH, detail)
    return Check.passed(name, f"DG1 issuing state {shown} matches DS/CSCA country {alpha2}")
