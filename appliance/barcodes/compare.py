"""Does a seal belong to the passport presented with it?

A visa (or residence permit) seal names the passport it is attached to (`passport_number`) and
carries the holder's MRZ data; ICAO 9303-13 has the inspector compare them with the passport.
Compared: the passport number, and where both sides have them the date of birth and nationality
(names are left out: transliteration differs legitimately between a visa and a passport).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.errors import Reason
from appliance.mrz.parse import MrzFields


@dataclass(frozen=True)
class PassportMatch:
    status: str  # "pass", "fail" or "skipped" (the seal names no passport)
    reason: Reason
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason.value, "detail": self.detail}


def _clean(value: Any) -> str:
    return str(value or "").replace("<", "").strip().upper()


def seal_matches_passport(fields: Mapping[str, Any], passport: MrzFields) -> PassportMatch:
    """pass when the seal names this passport and agrees on birth date and nationality."""
    named = _clean(fields.get("passport_number"))
    if not named:
        return PassportMatch("skipped", Reason.OK, "the seal names no passport")
    differences = []
    if named != _clean(passport.document_number):
        differences.append("passport number")
    seal_birth = fields.get("date_of_birth")
    if seal_birth and passport.date_of_birth_iso and seal_birth != passport.date_of_birth_iso:
        differences.append("date of birth")
    nationality = _clean(fields.get("nationality"))
    if nationality and nationality != _clean(passport.nationality):
        differences.append("nationality")
    if differences:
        detail = f"seal and passport differ in: {', '.join(differences)}"
        return PassportMatch("fail", Reason.SEAL_MRZ_MISMATCH, detail)
    return PassportMatch("pass", Reason.OK, "the seal names this passport; birth date agrees")
