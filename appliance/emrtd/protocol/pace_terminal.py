"""PACE v2, terminal side (ICAO 9303-11 §4.4; worked examples in Appendix G).

Sans-I/O: `PaceTerminal` produces each command APDU from the chip's previous answer
(MSE:Set AT, then the four chained GENERAL AUTHENTICATE steps with dynamic authentication data
7C) and ends with the SM session keys. The mapping is chosen from the explicit `MAPPINGS` table:
generic (`pace`), integrated (`pace_im`) and chip authentication mapping (`pace_cam`).
Randomness is injected so the worked examples replay exactly.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from typing import Any, Final

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import KDF_ENC, KDF_MAC, Random
from appliance.emrtd.protocol.domain_parameters import Group, standard_group
from appliance.emrtd.protocol.pace import (
    GenericMapping,
    MappingFactory,
    PacePassword,
    PaceProtocol,
    PaceResult,
    public_key_data_object,
)
from appliance.emrtd.protocol.pace import Mapping as PaceMapping
from appliance.emrtd.protocol.pace_cam import ChipAuthenticationMapping
from appliance.emrtd.protocol.pace_im import IntegratedMapping
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import ApplianceError, LdsError, Reason

#: every PACE mapping this terminal runs, by the name in the PACE OID; a mapping missing here
#: makes `supported` false, so EF.CardAccess options with it are skipped
MAPPINGS: Final[Mapping[str, MappingFactory]] = {
    "GM": GenericMapping,
    "IM": IntegratedMapping,
    "CAM": ChipAuthenticationMapping,
}


def supported(protocol: PaceProtocol) -> bool:
    return protocol.mapping in MAPPINGS


def _fail(detail: str) -> ApplianceError:
    return ApplianceError(Reason.PACE_FAILED, detail)


def _dynamic_data(response: bytes, tag: int) -> tuple[bytes, dict[int, bytes]]:
    """Value of `tag` inside the response's 7C template, and every other DO in it."""
    try:
        outer = tlv.parse_one(response)
        if outer.tag != 0x7C or outer.size != len(response):
            raise _fail("GENERAL AUTHENTICATE response is not one 7C template")
        objects = {item.tag: item.value for item in outer.children()}
    except LdsError as exc:
        raise _fail("malformed GENERAL AUTHENTICATE response") from exc
    if tag not in objects:
        raise _fail(f"GENERAL AUTHENTICATE response lacks DO'{tag:02X}")
    value = objects.pop(tag)
    return value, objects


class PaceTerminal:
    """One PACE run over standardized (or given) domain parameters.

    Call in order: `mse_set_at()`, `step1()`, `step2(r1)`, `step3(r2)`, `step4(r3)`, `finish(r4)`,
    where rN is the data of the chip's answer to step N.
    """

    def __init__(
        self,
        protocol: PaceProtocol,
        parameter_id: int,
        password: PacePassword,
        rng: Random = os.urandom,
        group: Group[Any] | None = None,
    ) -> None:
        if not supported(protocol):
            raise ApplianceError(
                Reason.CHIP_PROTOCOL_UNSUPPORTED, f"PACE mapping {protocol.mapping} not supported"
            )
        self.protocol = protocol
        self.parameter_id = parameter_id
        self.group: Group[Any] = group if group is not None else standard_group(parameter_id)
        expected = "ECDH" if self.group.public_key_tag == 0x86 else "DH"
        if expected != protocol.key_agreement:
            raise ApplianceError(
                Reason.CHIP_PROTOCOL_UNSUPPORTED, "domain parameters do not fit the PACE OID"
            )
        self.password = password
        self._rng = rng
        self._k_pi = password.key(protocol.cipher)
        self._mapping: PaceMapping | None = None
        self._generator: Any = None
        self._private = 0
        self._public: Any = None
        self._chip_public: Any = None
        self._keys: SessionKeys | None = None
        # large DH groups need extended length for their public values
        self._le = 65536 if self.group.element_size > 200 else 256

    @property
    def mapping(self) -> PaceMapping | None:
        """The mapping of this run, once step 2 created it (PACE-CAM reads the chip's key)."""
        return self._mapping

    def mse_set_at(self, with_parameter_id: bool = False) -> CommandApdu:
        """MSE:Set AT (no Le: several chips reject one). DO'84 names the domain parameters."""
        data = tlv.encode(0x80, self.protocol.oid_bytes) + tlv.encode(
            0x83, bytes([self.password.reference])
        )
        if with_parameter_id:
            data += tlv.encode(0x84, bytes([self.parameter_id]))
        return CommandApdu(0x00, 0x22, 0xC1, 0xA4, data)

    def _general_authenticate(self, content: bytes, last: bool = False) -> CommandApdu:
        cla = 0x00 if last else 0x10
        return CommandApdu(cla, 0x86, 0x00, 0x00, tlv.encode(0x7C, content), le=self._le)

    def step1(self) -> CommandApdu:
        """Ask for the encrypted nonce."""
        return self._general_authenticate(b"")

    def step2(self, response: bytes) -> CommandApdu:
        """Decrypt the nonce z with K_pi and send the terminal's mapping data."""
        z, _ = _dynamic_data(response, 0x80)
        if not z or len(z) % self.protocol.cipher.block_size:
            raise _fail("encrypted nonce is not whole cipher blocks")
        nonce = crypto.decrypt(self.protocol.cipher, self._k_pi, z)
        self._mapping = MAPPINGS[self.protocol.mapping](self.group, nonce, self._rng, self.protocol)
        return self._general_authenticate(tlv.encode(0x81, self._mapping.terminal_data()))

    def step3(self, response: bytes) -> CommandApdu:
        """Map the generator and send the terminal's ephemeral public key."""
        if self._mapping is None:
            raise _fail("PACE steps out of order")
        chip_data, _ = _dynamic_data(response, 0x82)
        self._generator = self._mapping.generator(chip_data)
        self._private = self.group.random_private(self._rng)
        self._public = self.group.multiply(self._private, self._generator)
        return self._general_authenticate(tlv.encode(0x83, self.group.encode(self._public)))

    def step4(self, response: bytes) -> CommandApdu:
        """Agree on K, derive session keys, send the terminal's token T_IFD."""
        if self._public is None:
            raise _fail("PACE steps out of order")
        chip_data, _ = _dynamic_data(response, 0x84)
        chip_public = self.group.decode(chip_data)
        if self.group.encode(chip_public) == self.group.encode(self._public):
            raise _fail("chip's ephemeral key equals the terminal's")
        self._chip_public = chip_public
        secret = self.group.shared_secret(self.group.multiply(self._private, chip_public))
        cipher = self.protocol.cipher
        self._keys = SessionKeys(
            cipher, crypto.kdf(secret, KDF_ENC, cipher), crypto.kdf(secret, KDF_MAC, cipher), 0
        )
        token = self.token(chip_public)
        return self._general_authenticate(tlv.encode(0x85, token), last=True)

    def token(self, public: Any) -> bytes:
        """Authentication token over the other party's ephemeral public key."""
        if self._keys is None:
            raise _fail("PACE steps out of order")
        pk = public_key_data_object(self.protocol, self.group, public)
        return crypto.token_mac(self.protocol.cipher, self._keys.ks_mac, pk)

    def finish(self, response: bytes) -> PaceResult:
        """Verify the chip's token T_IC; the SM keys are only released when it matches."""
        if self._keys is None:
            raise _fail("PACE steps out of order")
        t_ic, extra = _dynamic_data(response, 0x86)
        if not hmac.compare_digest(t_ic, self.token(self._public)):
            raise _fail("chip authentication token does not verify")
        return PaceResult(
            keys=self._keys,
            protocol=self.protocol,
            parameter_id=self.parameter_id,
            chip_public_key=self.group.encode(self._chip_public),
            extra=extra,
            terminal_public_key=self.group.encode(self._public),
        )


__all__ = ["MAPPINGS", "PaceTerminal", "supported"]
