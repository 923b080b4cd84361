"""What must have passed before a document counts as genuine: the fail-closed rules.

Each authenticity check reports what it could check; a check that could not run says
`skipped`, which is honest but must never read as "genuine". A forged chip simply leaves out
what would betray it: EF.SOD (nothing then vouches for DG1), or DG14/DG15 (a copy cannot prove
the original chip's private key). So, after every check has run:

- the mandatory checks (`MANDATORY_CHECKS`: the SOD signature, the DS chain to a trusted CSCA,
  certificate validity and the data-group hashes, with DG1 among the hashed groups) fail when
  they did not pass for any reason: skipped or absent is a failure (`PA_NOT_CHECKED`);
- Chip/Active Authentication evidence counts only for a key file (DG14/DG15) that a verified
  EF.SOD covers: otherwise a `pass` becomes `skipped` ("not counted"; the reason the key file
  is not vouched for already fails a mandatory check);
- when the verified EF.SOD lists DG15, or a DG14 offering Chip Authentication, the chip must
  prove its key: on a live chip a missing proof is `CHIP_CLONE_SUSPECTED`; a saved dump can never
  prove it, so there the check warns (`PA_NOT_CHECKED`) and `chip verify` exits 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from appliance.emrtd.lds import dg14 as dg14_file
from appliance.emrtd.lds.sod import parse_security_object
from appliance.emrtd.pki.algorithms import digest
from appliance.emrtd.pki.checks import (
    GENUINENESS_CHECKS,
    MANDATORY_CHECKS,
    Check,
    CheckName,
    CheckStatus,
)
from appliance.emrtd.pki.cms import parse_signed_data
from appliance.errors import LdsError, Reason

_KEY_FILE = {CheckName.CHIP_AUTHENTICATION: 14, CheckName.ACTIVE_AUTHENTICATION: 15}


@dataclass(frozen=True)
class SignedGroups:
    """The data groups a verified EF.SOD vouches for: number -> hash matches the bytes read."""

    listed: frozenset[int]
    #: listed in EF.SOD and read with the hash EF.SOD gives
    covered: frozenset[int]


def signed_groups(
    checks: list[Check], sod: bytes | None, data_groups: Mapping[int, bytes]
) -> SignedGroups | None:
    """What EF.SOD vouches for, or None unless its signature and DS chain both passed."""
    status = {c.name: c.status for c in checks}
    verified = (
        status.get(CheckName.SOD_SIGNATURE) is CheckStatus.PASS
        and status.get(CheckName.DS_CERTIFICATE_CHAIN) is CheckStatus.PASS
    )
    if sod is None or not verified:
        return None
    try:
        security_object = parse_security_object(parse_signed_data(sod).content)
    except LdsError:
        return None
    expected = security_object.dg_hashes
    covered = {
        n
        for n, data in data_groups.items()
        if n in expected and digest(security_object.hash_algorithm, data) == expected[n]
    }
    return SignedGroups(frozenset(expected), frozenset(covered))


def _offers_chip_authentication(dg14: bytes | None) -> bool:
    """True unless DG14 was read and announces no Chip Authentication key (fail closed)."""
    if dg14 is None:
        return True
    try:
        infos = dg14_file.parse(dg14).security_infos
    except LdsError:
        return True
    return bool(infos.chip_authentication_public_keys)


def _mandatory(checks: list[Check], data_groups: Mapping[int, bytes]) -> list[Check]:
    out = []
    for check in checks:
        if check.name in MANDATORY_CHECKS and check.status is CheckStatus.SKIPPED:
            detail = f"mandatory check not performed: {check.detail}"
            check = Check.failed(check.name, Reason.PA_NOT_CHECKED, detail)
        elif (
            check.name is CheckName.DG_HASHES
            and check.status is not CheckStatus.FAIL
            and 1 not in data_groups
        ):
            check = Check.failed(
                check.name, Reason.PA_NOT_CHECKED, "DG1 not read: the holder's data is unverified"
            )
        out.append(check)
    present = {c.name for c in out}
    out += [
        Check.failed(name, Reason.PA_NOT_CHECKED, "mandatory check not performed")
        for name in MANDATORY_CHECKS
        if name not in present
    ]
    return out


def _genuineness(
    checks: list[Check],
    signed: SignedGroups | None,
    data_groups: Mapping[int, bytes],
    live: bool,
) -> list[Check]:
    covered = signed.covered if signed is not None else frozenset()
    out = []
    for check in checks:
        key_file = _KEY_FILE.get(check.name)
        if check.status is CheckStatus.PASS and key_file is not None and key_file not in covered:
            # not counted; whatever left DG{n} unvouched (EF.SOD missing, unsigned, not
            # listing it, a hash mismatch) already fails a mandatory check with its own reason
            check = Check.skipped(
                check.name,
                f"not counted: the chip proved a key that no verified EF.SOD vouches for "
                f"(DG{key_file})",
            )
        out.append(check)
    if signed is None:
        return out  # the data itself is not verified: its own checks already fail
    outcomes = {c.status for c in out if c.name in GENUINENESS_CHECKS}
    needs_ca = 14 in signed.listed and _offers_chip_authentication(data_groups.get(14))
    needs_aa = 15 in signed.listed
    # proven, or already failed (that failure refers on its own), or nothing to prove
    if outcomes & {CheckStatus.PASS, CheckStatus.FAIL} or not (needs_ca or needs_aa):
        return out
    target = CheckName.CHIP_AUTHENTICATION if needs_ca else CheckName.ACTIVE_AUTHENTICATION
    listed = "DG14" if needs_ca else "DG15"
    if live:
        reason = Reason.CHIP_CLONE_SUSPECTED
        detail = f"EF.SOD lists {listed} but the chip did not prove its key"
    else:
        reason = Reason.PA_NOT_CHECKED
        detail = f"EF.SOD lists {listed}: only the chip itself can prove its key, not a dump"
    status = CheckStatus.FAIL if live else CheckStatus.WARN
    fixed = []
    for check in out:
        if check.name is target and check.status is not CheckStatus.FAIL:
            note = f"{detail} ({check.detail})" if check.detail else detail
            check = replace(check, status=status, reason=reason, detail=note)
        fixed.append(check)
    if target not in {c.name for c in fixed}:
        fixed.append(Check(target, status, reason, detail))
    return fixed


def require_complete(
    checks: list[Check], sod: bytes | None, data_groups: Mapping[int, bytes], *, live: bool
) -> list[Check]:
    """`checks` with the fail-closed rules above applied (order kept, missing ones appended).

    `live`: the genuineness checks come from a session with the chip itself (not a dump).
    """
    signed = signed_groups(checks, sod, data_groups)
    return _genuineness(_mandatory(checks, data_groups), signed, data_groups, live)


__all__ = ["SignedGroups", "require_complete", "signed_groups"]
