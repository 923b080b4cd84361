"""PACE with Chip Authentication Mapping (ICAO 9303-11 §4.4.3.3.3, §4.4.3.5; Appendix I).

The mapping is generic mapping; in addition the chip proves its static key inside PACE. With
the last GENERAL AUTHENTICATE it sends A_IC (DO'8A): CA_IC = SK_IC^-1 * SK_Map,IC mod n,
encrypted under KS_enc with AES-CBC, IV = E(KS_enc, all-ones block), ISO 9797-1 padding 2. The
terminal decrypts it and checks PK_Map,IC = CA_IC * PK_IC, where PK_Map,IC is the mapping key
the chip sent in step 2 and PK_IC the static key of EF.CardSecurity.

The key is only as good as EF.CardSecurity's signature, so the verdict needs Passive
Authentication of that file: `cam_evidence` keeps what the session saw, and
`appliance.emrtd.chip.cam.pace_cam_check` judges it later, with the trust store at hand (live or
for a report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import Group
from appliance.emrtd.protocol.pace import GenericMapping, PaceProtocol, PaceResult
from appliance.errors import ApplianceError, Reason

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


__all__ = [
    "CamEvidence",
    "ChipAuthenticationMapping",
    "cam_evidence",
    "decrypt_chip_authentication_data",
    "encrypt_chip_authentication_data",
]
