"""PACE with Chip Authentication Mapping (ICAO 9303-11 §4.4.3.3.3, §4.4.3.5; Appendix I).

The mapping is generic mapping; in addition the chip proves its static key inside PACE. With
the last GENERAL AUTHENTICATE it sends A_IC (DO'8A): CA_IC = SK_IC^-1 * SK_Map,IC mod n,
encrypted under KS_enc with AES-CBC, IV = E(KS_enc, all-ones block), ISO 9797-1 padding 2. The
terminal decrypts it and checks PK_Map,IC = CA_IC * PK_IC, where PK_Map,IC is the mapping key
the chip sent in step 2 and PK_IC the static key of EF.CardSecurity.

The key is only as good as EF.CardSecurity's signature, so the verdict needs Passive
Authentication of that file: `cam_evidence` keeps what the session saw, and `pace_cam_check`
judges it later, with the trust store at hand (live or for a report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appliance.emrtd import crypto
from appliance.emrtd.auth.ca_keys import load_chip_key
from appliance.emrtd.auth.checks import Check, CheckName
from appliance.emrtd.auth.passive import TrustAnchors, verify_security_object
from appliance.emrtd.crypto import CipherKind
from appliance.emrtd.domain_parameters import EcGroup, Group, Random
from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.sod import SECURITY_OBJECT_OID
from appliance.emrtd.pace import GenericMapping, PaceProtocol, PaceResult, register_mapping
from appliance.errors import ApplianceError, LdsError, Reason

#: DO of the last GENERAL AUTHENTICATE answer that carries A_IC
TAG_ENCRYPTED_CHIP_AUTHENTICATION_DATA = 0x8A


class ChipAuthenticationMapping(GenericMapping):
    """Generic mapping that remembers the chip's mapping key PK_Map,IC for the CAM check."""

    def __init__(
        self, group: Group[Any], nonce: bytes, rng: Random, protocol: PaceProtocol | None = None
    ) -> None:
        super().__init__(group, nonce, rng, protocol)
        self.chip_mapping_key: bytes | None = None

    def generator(self, chip_data: bytes) -> Any:
        mapped = super().generator(chip_data)
        self.chip_mapping_key = self.group.encode(self.group.decode(chip_data))
        return mapped


register_mapping("CAM", ChipAuthenticationMapping)


@dataclass(frozen=True)
class CamEvidence:
    """What a PACE-CAM run showed: the chip's mapping key and its decrypted CA_IC."""

    parameter_id: int
    chip_mapping_key: bytes
    chip_authentication_data: bytes


def _cam_iv(ks_enc: bytes) -> bytes:
    return crypto.aes_ecb_encrypt_block(ks_enc, b"\xff" * 16)


def decrypt_chip_authentication_data(cipher: CipherKind, ks_enc: bytes, encrypted: bytes) -> bytes:
    """CA_IC from A_IC; `CAM_FAILED` when it is not padded AES-CBC ciphertext."""
    if cipher is CipherKind.TDES:
        raise ApplianceError(Reason.CAM_FAILED, "PACE-CAM is defined for AES only")
    if not encrypted or len(encrypted) % 16:
        raise ApplianceError(Reason.CAM_FAILED, "encrypted chip authentication data malformed")
    padded = crypto.aes_cbc_decrypt(ks_enc, encrypted, _cam_iv(ks_enc))
    try:
        return crypto.unpad(padded)
    except ValueError:
        raise ApplianceError(Reason.CAM_FAILED, "chip authentication data badly padded") from None


def encrypt_chip_authentication_data(ks_enc: bytes, data: bytes) -> bytes:
    """A_IC = E(KS_enc, CA_IC) (the chip side, for simulators and tests)."""
    return crypto.aes_cbc_encrypt(ks_enc, crypto.pad(data, 16), _cam_iv(ks_enc))


def cam_evidence(result: PaceResult, mapping: object) -> CamEvidence:
    """The evidence of a finished PACE-CAM run; `CAM_FAILED` when the chip sent none."""
    encrypted = result.extra.get(TAG_ENCRYPTED_CHIP_AUTHENTICATION_DATA)
    if encrypted is None:
        raise ApplianceError(Reason.CAM_FAILED, "chip sent no chip authentication data (DO'8A)")
    if not isinstance(mapping, ChipAuthenticationMapping) or mapping.chip_mapping_key is None:
        raise ApplianceError(Reason.CAM_FAILED, "PACE run did not use chip authentication mapping")
    data = decrypt_chip_authentication_data(result.protocol.cipher, result.keys.ks_enc, encrypted)
    return CamEvidence(result.parameter_id, mapping.chip_mapping_key, data)


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


__all__ = [
    "CamEvidence",
    "ChipAuthenticationMapping",
    "cam_evidence",
    "decrypt_chip_authentication_data",
    "encrypt_chip_authentication_data",
    "pace_cam_check",
    "verify_chip_authentication_data",
]
