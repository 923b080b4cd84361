"""Known document defects: a deviation-list entry turns a failing check into a warning.

Issuing states publish defects of document series (ICAO Doc 9303-12 §9 deviation lists,
Frontex ABC guidelines §4.4.9): a wrong hash algorithm in a batch of SODs, a DS certificate
with a bad extension. An inspection system that refuses all those travellers is useless; one
that ignores the failures is unsafe. An entry names the exact certificate (SHA-256 fingerprint
of the DS, or of the CSCA with the issuing state) and the check it excuses, so nothing else
is relaxed, and the report keeps both the original failure and the excuse.

File format (`deviations.json` in the data directory, put there by the operator or, signed by
the border authority and verified first, by sync's downlink)::

    {"deviations": [{"issuer": "UTO", "ds_fingerprint": "<sha256 hex>",
                     "check": "dg_hashes", "reason_code": "PA_DG_HASH_MISMATCH",
                     "description": "DG11 hashed with SHA-1 in batch 2019-03"}]}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.pki.cms import find_signer_certificate, parse_signed_data
from appliance.errors import ApplianceError, LdsError, Reason

DEFAULT_FILE = "deviations.json"


@dataclass(frozen=True)
class Deviation:
    check: CheckName
    #: the reason code excused; None excuses any failure of `check`
    reason_code: Reason | None
    ds_fingerprint: str | None = None
    issuer: str | None = None
    description: str = ""


@dataclass(frozen=True)
class DeviationList:
    entries: tuple[Deviation, ...] = field(default_factory=tuple)

    @classmethod
    def load(cls, path: Path) -> DeviationList:
        """Read a deviation file; a missing file is an empty list, a broken one an error."""
        if not path.exists():
            return cls()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ApplianceError(Reason.TRUST_LIST_INVALID, "deviation list unreadable") from exc
        return cls.parse(data)

    @classmethod
    def parse(cls, data: bytes) -> DeviationList:
        """A deviation list from its JSON (`TRUST_LIST_INVALID` when it is not one, or when an
        entry names no DS certificate): the file, or what sync's downlink is about to install."""
        try:
            raw = json.loads(data.decode("utf-8"))
            entries = tuple(
                Deviation(
                    check=CheckName(item["check"]),
                    reason_code=Reason(item["reason_code"]) if item.get("reason_code") else None,
                    ds_fingerprint=(item.get("ds_fingerprint") or "").lower() or None,
                    issuer=item.get("issuer"),
                    description=str(item.get("description", "")),
                )
                for item in raw["deviations"]
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ApplianceError(Reason.TRUST_LIST_INVALID, "deviation list unreadable") from exc
        for entry in entries:
            if entry.ds_fingerprint is None:
                # An entry that matched every document would silently switch a check off.
                raise ApplianceError(
                    Reason.TRUST_LIST_INVALID, "each deviation must name a DS fingerprint"
                )
        return cls(entries)


def _ds_fingerprint(sod: bytes | None) -> str | None:
    if sod is None:
        return None
    try:
        certificate = find_signer_certificate(parse_signed_data(sod))
    except LdsError:
        return None
    if certificate is None:
        return None
    return hashlib.sha256(certificate.der).hexdigest()


def apply_deviations(
    checks: list[Check], sod: bytes | None, deviations: DeviationList
) -> list[Check]:
    """`checks` with excused failures turned into warnings, plus the `deviation_list` check."""
    fingerprint = _ds_fingerprint(sod) if deviations.entries else None
    applied: list[str] = []
    out: list[Check] = []
    for check in checks:
        match = None
        if check.status is CheckStatus.FAIL and fingerprint is not None:
            match = next(
                (
                    d
                    for d in deviations.entries
                    if d.check is check.name
                    and d.ds_fingerprint == fingerprint
                    and (d.reason_code is None or d.reason_code is check.reason)
                ),
                None,
            )
        if match is None:
            out.append(check)
            continue
        applied.append(check.name.value)
        detail = f"{check.detail} — excused by deviation list: {match.description}".strip()
        out.append(Check.warned(check.name, check.reason, detail))
    name = CheckName.DEVIATION_LIST
    if applied:
        out.append(
            Check.warned(
                name, Reason.PA_DEVIATION_LISTED, f"deviations applied to: {', '.join(applied)}"
            )
        )
    elif deviations.entries:
        out.append(Check.passed(name, "no listed deviation applies to this document"))
    else:
        out.append(Check.skipped(name, "no deviation list installed", Reason.OK))
    return out
