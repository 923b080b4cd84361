"""PACE generic mapping (ICAO 9303-11 §4.4.3.3.1) and the `Mapping` every mapping implements.

Apart from `pace.py` so that the other mappings (`pace_cam` extends this one) and the explicit
mapping table in `pace.py` import it without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from appliance.emrtd.protocol.domain_parameters import Group, Random
from appliance.errors import ApplianceError, Reason

if TYPE_CHECKING:
    from appliance.emrtd.protocol.pace import PaceProtocol


class Mapping(Protocol):
    """How the nonce becomes an ephemeral generator (ICAO 9303-11 §4.4.3.3)."""

    def terminal_data(self) -> bytes:
        """Value of DO'81 in GENERAL AUTHENTICATE step 2."""
        ...

    def generator(self, chip_data: bytes) -> Any:
        """The mapped generator, from the value of the chip's DO'82."""
        ...


class GenericMapping:
    """Generic mapping: G~ = s*G + H, with H from an anonymous Diffie-Hellman on the static G."""

    def __init__(
        self, group: Group[Any], nonce: bytes, rng: Random, protocol: PaceProtocol | None = None
    ) -> None:
        self.group = group
        self._s = int.from_bytes(nonce, "big")
        self._private = group.random_private(rng)
        self.public = group.multiply(self._private, group.generator)

    def terminal_data(self) -> bytes:
        return self.group.encode(self.public)

    def generator(self, chip_data: bytes) -> Any:
        chip_public = self.group.decode(chip_data)
        if self.group.encode(chip_public) == self.terminal_data():
            raise ApplianceError(Reason.PACE_FAILED, "chip echoed the terminal's mapping key")
        shared = self.group.multiply(self._private, chip_public)
        return self.group.combine(self.group.multiply(self._s, self.group.generator), shared)


__all__ = ["GenericMapping", "Mapping"]
