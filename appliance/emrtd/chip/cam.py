"""The `pace_cam` verdict: did the chip prove, inside PACE, the key EF.CardSecurity carries?

`appliance.emrtd.protocol.pace_cam` keeps the evidence of a PACE-CAM run (the chip's mapping
key and its decrypted CA_IC) without judging it: the key is only as good as EF.CardSecurity's
signature, so the verdict needs Passive Authentication of that file and the trust store, which
the protocol layer does not know.
"""

from __future__ import annotations

from datetime import datetime

from appliance.emrtd.chip.ca_keys import load_chip_key
from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.sod import SECURITY_OBJECT_OID
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.pki.passive import TrustAnchors, verify_security_object
from appliance.emrtd.protocol.domain_parameters import EcGroup
from appliance.emrtd.protocol.pace_cam import CamEvidence
from appliance.errors import ApplianceError, LdsError, Reason


def verify_chip_authentication_data(
    evidence: CamEvidence, key_info: security_infos.ChipAuthenticationPublicKeyInfo
) -> bool:
    """PK_Map,IC == CA_IC * PK_IC on the key's curve (which must be the PACE curve)."""
    key = load_chip_key(key_info)
    group = key.group
    if not isinstance(group, EcGroup):
        return False
    try:
        mapping_key = group.decode(evidence.chip_mapping_key)
    except ApplianceError:
        return False  # the mapping key lives on another curve than this static key
    scalar = int.from_bytes(evidence.chip_authentication_data, "big")
    if not 0 < scalar < group.order:
        return False
    try:
        return group.encode(group.multiply(scalar, key.public)) == group.encode(mapping_key)
    except ApplianceError:
        return False


def pace_cam_check(
    evidence: CamEvidence | None,
    card_security: bytes | None,
    anchors: TrustAnchors,
    *,
    at: datetime | None = None,
) -> Check:
    """The `pace_cam` check: EF.CardSecurity must pass PA, and its CA key must explain CA_IC."""
    name = CheckName.PACE_CAM
    if evidence is None:
        return Check.skipped(name, "PACE-CAM not used in this session", Reason.OK)
    if card_security is None:
        return Check.failed(name, Reason.CAM_FAILED, "EF.CardSecurity not read")
    verification = verify_security_object(
        card_security, anchors, content_type=SECURITY_OBJECT_OID, at=at
    )
    content = verification.verified_content
    if content is None:
        failing = [c.reason.value for c in verification.checks if c.status.value == "fail"]
        detail = ", ".join(failing) or "not verified"
        return Check.failed(
            name, Reason.CAM_FAILED, f"EF.CardSecurity fails Passive Authentication ({detail})"
        )
    try:
        keys = security_infos.parse(content).chip_authentication_public_keys
    except LdsError as exc:
        return Check.failed(name, exc.reason, f"EF.CardSecurity SecurityInfos: {exc.detail}")
    if not keys:
        return Check.failed(name, Reason.CAM_FAILED, "EF.CardSecurity holds no chip key")
    for key_info in keys:
        try:
            if verify_chip_authentication_data(evidence, key_info):
                return Check.passed(
                    name, "chip proved EF.CardSecurity's key in PACE (signed file verified)"
                )
        except LdsError:
            continue  # a key this terminal cannot use; another one may match
    return Check.failed(
        name, Reason.CAM_FAILED, "chip authentication data does not match EF.CardSecurity's key"
    )


__all__ = ["pace_cam_check", "verify_chip_authentication_data"]
