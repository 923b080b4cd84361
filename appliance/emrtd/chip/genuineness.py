"""Is this the chip the issuer made? Chip Authentication, Active Authentication, PACE-CAM.

Passive Authentication proves the data is the issuer's, not that the chip is: a copy of every
file verifies just as well. Only a chip holding the private key whose public half the issuer
signed (DG14, DG15 or EF.CardSecurity) passes these protocols. Order (ICAO 9303-11 Appendix
J.1): PACE-CAM already authenticated the chip when the session used it; else Chip
Authentication when DG14 offers it (preferred: it also replaces the weak BAC keys); else Active
Authentication when DG15 exists.

`authenticate_chip` runs during the live session and returns the `chip_authentication` and
`active_authentication` checks; `pace_cam` is judged with the trust store (`pace_cam.py`).
`apply_clone_verdict` turns a failed genuineness check into `CHIP_CLONE_SUSPECTED` when the
data itself verified: the signature of a genuine document on a chip that cannot prove itself.
`renew_chip_authentication` runs CA again in a new access session (Terminal Authentication's
static-binding retry binds to it) and fails the session's CA check when the chip does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from appliance.emrtd.chip.active_auth import run_active_authentication
from appliance.emrtd.chip.chip_auth import SecureChannel, run_chip_authentication
from appliance.emrtd.pki.checks import GENUINENESS_CHECKS, Check, CheckName, CheckStatus
from appliance.emrtd.protocol.crypto import Random
from appliance.emrtd.protocol.files import ElementaryFile, data_group
from appliance.errors import Reason

#: the Passive Authentication checks that must pass for "valid data"
_DATA_CHECKS = (
    CheckName.SOD_SIGNATURE,
    CheckName.DS_CERTIFICATE_CHAIN,
    CheckName.DG_HASHES,
)
_GENUINENESS_FAILURES = (Reason.CA_FAILED, Reason.AA_FAILED, Reason.CAM_FAILED)


class GenuinenessSession(SecureChannel, Protocol):
    """A chip session, after access control, as the genuineness protocols drive it."""

    @property
    def chip_authenticated_by_pace(self) -> bool:
        """True when PACE-CAM ran (its own check decides whether it proved anything)."""
        ...

    def read_optional(self, ef: ElementaryFile) -> bytes | None:
        """The file's content, None when the chip lacks or refuses it."""
        ...

    def restart_access(self) -> None:
        """New BAC/PACE session after the chip dropped Secure Messaging."""
        ...


class RenewableSession(GenuinenessSession, Protocol):
    """A chip session whose genuineness checks a renewed Chip Authentication may overturn."""

    #: the chip_authentication and active_authentication checks measured so far
    genuineness: list[Check]


def authenticate_chip(
    session: GenuinenessSession,
    data_groups: list[int],
    rng: Random,
    on_chip_authenticated: Callable[[bytes], None] | None = None,
) -> list[Check]:
    """The chip_authentication and active_authentication checks of this session
    (`on_chip_authenticated`: see `run_chip_authentication`'s `on_success`)."""
    ca_name, aa_name = CheckName.CHIP_AUTHENTICATION, CheckName.ACTIVE_AUTHENTICATION
    if session.chip_authenticated_by_pace:
        detail = "PACE-CAM authenticates the chip (see pace_cam)"
        return [
            Check.skipped(ca_name, detail, Reason.OK),
            Check.skipped(aa_name, detail, Reason.OK),
        ]
    dg14 = session.read_optional(data_group(14)) if 14 in data_groups else None
    ca = (
        run_chip_authentication(session, dg14, rng, on_chip_authenticated)
        if dg14 is not None
        else None
    )
    if ca is not None and ca.status is CheckStatus.FAIL:
        session.restart_access()  # the chip (or our keys) dropped SM: read on in a new session
    if ca is not None and ca.status is not CheckStatus.WARN:
        return [ca, Check.skipped(aa_name, "Chip Authentication is preferred", Reason.OK)]
    if ca is None:
        why = "no DG14" if dg14 is None else "DG14 offers no Chip Authentication"
        ca = Check.skipped(ca_name, why, Reason.OK)
    dg15 = session.read_optional(data_group(15)) if 15 in data_groups else None
    if dg15 is None:
        return [ca, Check.skipped(aa_name, "no DG15", Reason.OK)]
    return [ca, run_active_authentication(session, dg15, dg14, rng)]


def renew_chip_authentication(
    session: RenewableSession, rng: Random, on_chip_authenticated: Callable[[bytes], None]
) -> bool:
    """Chip Authentication again, in the new access session `session` just opened: True when
    it passed (`on_chip_authenticated` got the new key). The chip passed it once in this
    presentation; anything short of a pass now is a chip that cannot prove itself twice, so
    the session's chip_authentication check becomes a FAIL (fail closed), and access restarts
    as after any failed CA."""
    dg14 = session.read_optional(data_group(14))
    renewed = run_chip_authentication(session, dg14, rng, on_chip_authenticated) if dg14 else None
    if renewed is not None and renewed.status is CheckStatus.PASS:
        return True
    name = CheckName.CHIP_AUTHENTICATION
    why = renewed.detail if renewed is not None else "DG14 no longer offers it"
    failed = Check.failed(name, Reason.CA_FAILED, f"passed, then failed in a new session: {why}")
    checks = session.genuineness
    at = next((i for i, c in enumerate(checks) if c.name is name), len(checks))
    checks[at : at + 1] = [failed]
    if renewed is not None and renewed.status is CheckStatus.FAIL:
        session.restart_access()
    return False


def apply_clone_verdict(checks: list[Check]) -> list[Check]:
    """Valid data on a chip failing CA/AA/CAM -> that check's reason is CHIP_CLONE_SUSPECTED.

    "Valid data": the SOD signature, the DS chain and the data group hashes all passed. When
    the data is bad too, the failure keeps its protocol reason (a forgery, not a clone).
    """
    by_name = {c.name: c for c in checks}
    data_valid = all(
        by_name.get(name) is not None and by_name[name].status is CheckStatus.PASS
        for name in _DATA_CHECKS
    )
    if not data_valid:
        return checks
    out = []
    for check in checks:
        if (
            check.name in GENUINENESS_CHECKS
            and check.status is CheckStatus.FAIL
            and check.reason in _GENUINENESS_FAILURES
        ):
            check = Check.failed(
                check.name,
                Reason.CHIP_CLONE_SUSPECTED,
                f"signed data on a chip that fails {check.reason.value}: {check.detail}",
            )
        out.append(check)
    return out


__all__ = [
    "GenuinenessSession",
    "RenewableSession",
    "apply_clone_verdict",
    "authenticate_chip",
    "renew_chip_authentication",
]
