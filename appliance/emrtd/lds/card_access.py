"""EF.CardAccess (ICAO 9303-10 §3.11.3): the SecurityInfos a reader needs before PACE.

The file is the bare DER SET, readable without access control and not signed; what it
announces is only trusted once EF.CardSecurity or DG14 confirms it.
"""

from __future__ import annotations

from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.security_infos import SecurityInfos


def parse(data: bytes) -> SecurityInfos:
    return security_infos.parse(data)


def encode(model: SecurityInfos) -> bytes:
    return security_infos.encode(model)
