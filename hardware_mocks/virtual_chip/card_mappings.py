"""PACE mappings, card side: generic (GM), integrated (IM) and chip authentication (CAM).

Step 2 of PACE turns the nonce s into the session's generator. GM: an anonymous DH on the
static generator (DO'81/82 carry the mapping keys). IM (ICAO 9303-11 §4.4.3.3.2): the terminal
sends a nonce t, the chip answers an empty DO'82, both compute f(R_p(s, t)) with
`appliance.emrtd.protocol.pace_im` (checked against Appendix H). CAM (§4.4.3.5): GM, plus at
step 4 the chip proves its static key with A_IC = E(KS_enc, SK_IC^-1 * SK_Map,IC mod n) in DO'8A.
"""

from __future__ import annotations

from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import Group
from appliance.emrtd.protocol.pace_cam import encrypt_chip_authentication_data
from appliance.emrtd.protocol.pace_im import map_nonces, nonce_bits

#: id-PACE mapping arcs: 1/2 generic (DH/ECDH), 3/4 integrated (DH/ECDH), 6 CAM (ECDH)
GENERIC_ARCS = (1, 2)
INTEGRATED_ARCS = (3, 4)
CAM_ARC = 6
GM_NONCE_LENGTH = 16


class MappingRefused(Exception):
    """The terminal's mapping data is unusable (the chip answers 6A80)."""


class CardMapping(Protocol):
    def map(self, terminal_data: bytes) -> tuple[bytes, Any]:
        """The value of the chip's DO'82 and the mapped generator."""
        ...

    def chip_authentication_data(self, ks_enc: bytes) -> bytes | None:
        """DO'8A of the last step (CAM only)."""
        ...


def nonce_length(arc: int, cipher: CipherKind) -> int:
    """Bytes of the chip's nonce s: l bits for IM (its PRF needs a key's worth)."""
    if arc in INTEGRATED_ARCS:
        return nonce_bits(cipher) // 8
    return GM_NONCE_LENGTH


class GenericCardMapping:
    def __init__(self, group: Group[Any], nonce: bytes, rng: Random) -> None:
        self.group = group
        self._s = int.from_bytes(nonce, "big")
        self._private = group.random_private(rng)

    def map(self, terminal_data: bytes) -> tuple[bytes, Any]:
        group = self.group
        terminal_key = group.decode(terminal_data)
        public = group.multiply(self._private, group.generator)
        shared = group.multiply(self._private, terminal_key)
        generator = group.combine(group.multiply(self._s, group.generator), shared)
        return group.encode(public), generator

    def chip_authentication_data(self, ks_enc: bytes) -> bytes | None:
        return None


class IntegratedCardMapping:
    def __init__(self, group: Group[Any], nonce: bytes, cipher: CipherKind) -> None:
        self.group, self._s, self.cipher = group, nonce, cipher

    def map(self, terminal_data: bytes) -> tuple[bytes, Any]:
        if len(terminal_data) != self.cipher.key_length:
            raise MappingRefused("nonce t must be one key long")
        return b"", map_nonces(self.group, self._s, terminal_data, self.cipher)

    def chip_authentication_data(self, ks_enc: bytes) -> bytes | None:
        return None


class ChipAuthenticationCardMapping(GenericCardMapping):
    def __init__(
        self, group: Group[Any], nonce: bytes, rng: Random, static_key: ec.EllipticCurvePrivateKey
    ) -> None:
        super().__init__(group, nonce, rng)
        self._static = static_key.private_numbers().private_value

    def chip_authentication_data(self, ks_enc: bytes) -> bytes | None:
        order = self.group.order
        value = pow(self._static, -1, order) * self._private % order
        return encrypt_chip_authentication_data(
            ks_enc, value.to_bytes((order.bit_length() + 7) // 8, "big")
        )


def card_mapping(
    arc: int,
    group: Group[Any],
    nonce: bytes,
    cipher: CipherKind,
    rng: Random,
    static_key: ec.EllipticCurvePrivateKey | None,
) -> CardMapping:
    """The mapping of PACE arc `arc`; CAM needs the chip's static CA key."""
    if arc in GENERIC_ARCS:
        return GenericCardMapping(group, nonce, rng)
    if arc in INTEGRATED_ARCS:
        return IntegratedCardMapping(group, nonce, cipher)
    if arc == CAM_ARC:
        if static_key is None:
            raise ValueError("PACE-CAM needs the chip's Chip Authentication key")
        return ChipAuthenticationCardMapping(group, nonce, rng, static_key)
    raise ValueError(f"PACE mapping arc {arc} not implemented")


__all__ = ["CAM_ARC", "CardMapping", "MappingRefused", "card_mapping", "nonce_length"]
