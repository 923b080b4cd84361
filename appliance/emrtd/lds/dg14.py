"""DG14 (ICAO 9303-10 §4.7.14): SecurityInfos for Chip Authentication, PACE and AA, in tag 6E.

DG14 is hashed in the SOD, so unlike EF.CardAccess its contents are signed by the issuer.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.security_infos import SecurityInfos
from appliance.emrtd.protocol import tlv

TAG = 0x6E


@dataclass(frozen=True)
class Dg14:
    security_infos: SecurityInfos


def parse(data: bytes) -> Dg14:
    return Dg14(security_infos.parse(tlv.parse_exact(data, TAG, "DG14").value))


def encode(model: Dg14) -> bytes:
    return tlv.encode(TAG, security_infos.encode(model.security_infos))
