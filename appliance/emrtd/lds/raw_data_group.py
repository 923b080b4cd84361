"""Data groups without a dedicated parser (DG3/DG4 behind EAC, DG6, DG8-DG10, DG13, DG16):
the outer tag is checked and the content kept, so Passive Authentication can still hash them."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.lds.data_groups import DG_TAGS
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError


@dataclass(frozen=True, repr=False)  # may hold biometrics: never in logs
class RawDataGroup:
    number: int
    content: bytes


def parse(number: int, data: bytes) -> RawDataGroup:
    if number not in DG_TAGS:
        raise LdsError("no such data group")
    return RawDataGroup(number, tlv.parse_exact(data, DG_TAGS[number], f"DG{number}").value)


def encode(model: RawDataGroup) -> bytes:
    return tlv.encode(DG_TAGS[model.number], model.content)
