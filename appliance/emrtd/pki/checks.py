"""Named verification steps and their outcomes.

Every authenticity check the appliance runs (Passive Authentication here; Chip/Active
Authentication and the inspection workflow later) reports one `Check`, so a border report lists
each step with its own status and stable reason code (Frontex ABC guidelines §4.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.errors import Reason


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"


class CheckName(StrEnum):
    """Stable check names of the JSON report's `authenticity` list."""

    SOD_SIGNATURE = "sod_signature"
    DS_CERTIFICATE_CHAIN = "ds_certificate_chain"
    CERTIFICATE_VALIDITY = "certificate_validity"
    DS_REVOCATION = "ds_revocation"
    SOD_COM_CONSISTENCY = "sod_com_consistency"
    DG_HASHES = "dg_hashes"
    DG1_VS_MRZ = "dg1_vs_mrz"
    ISSUER_COUNTRY = "issuer_country"
    DEVIATION_LIST = "deviation_list"
    CHIP_AUTHENTICATION = "chip_authentication"
    ACTIVE_AUTHENTICATION = "active_authentication"
    PACE_CAM = "pace_cam"
    CARD_SECURITY = "card_security"
    TERMINAL_AUTHENTICATION = "terminal_authentication"


#: checks that must pass for any claim that a document is genuine: skipped or absent is a
#: failure (`appliance.emrtd.pki.completeness`), never "not applicable"
MANDATORY_CHECKS = (
    CheckName.SOD_SIGNATURE,
    CheckName.DS_CERTIFICATE_CHAIN,
    CheckName.CERTIFICATE_VALIDITY,
    CheckName.DG_HASHES,
)
#: the checks that prove the chip itself genuine (`appliance.emrtd.chip`), not its data
GENUINENESS_CHECKS = (
    CheckName.CHIP_AUTHENTICATION,
    CheckName.ACTIVE_AUTHENTICATION,
    CheckName.PACE_CAM,
)
#: what the gate also requires: the chip's DG1 equals the MRZ printed on the data page
GATE_MANDATORY_CHECKS = (*MANDATORY_CHECKS, CheckName.DG1_VS_MRZ)


@dataclass(frozen=True)
class Check:
    """One named step: `detail` is for humans and must never hold personal data."""

    name: CheckName
    status: CheckStatus
    reason: Reason
    detail: str = ""

    @classmethod
    def passed(cls, name: CheckName, detail: str = "") -> Check:
        return cls(name, CheckStatus.PASS, Reason.OK, detail)

    @classmethod
    def failed(cls, name: CheckName, reason: Reason, detail: str) -> Check:
        return cls(name, CheckStatus.FAIL, reason, detail)

    @classmethod
    def warned(cls, name: CheckName, reason: Reason, detail: str) -> Check:
        return cls(name, CheckStatus.WARN, reason, detail)

    @classmethod
    def skipped(cls, name: CheckName, detail: str, reason: Reason = Reason.PA_NOT_CHECKED) -> Check:
        return cls(name, CheckStatus.SKIPPED, reason, detail)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name.value,
            "status": self.status.value,
            "reason": self.reason.value,
            "detail": self.detail,
        }


def overall_status(checks: Iterable[Check]) -> CheckStatus:
    """Worst status of a list: any fail -> fail, else any warn -> warn, else pass.

    Skipped checks do not make a report fail, but an all-skipped list is not a pass either:
    it is `skipped`, so nobody mistakes "nothing was checked" for "verified".
    """
    statuses = {c.status for c in checks}
    if CheckStatus.FAIL in statuses:
        return CheckStatus.FAIL
    if CheckStatus.WARN in statuses:
        return CheckStatus.WARN
    if CheckStatus.PASS in statuses:
        return CheckStatus.PASS
    return CheckStatus.SKIPPED
