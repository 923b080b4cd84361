"""EF.CardSecurity (ICAO 9303-11 §9.2, TR-03110-3): SecurityInfos signed by the document signer.

A CMS SignedData whose eContent (type id-SecurityObject) is the SecurityInfos SET; PACE-CAM
and Chip Authentication read their public keys from here. The signature is verified by
Passive Authentication with the same `encapsulated_content` as EF.SOD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.emrtd.lds import security_infos
from appliance.emrtd.lds.security_infos import SecurityInfos
from appliance.emrtd.lds.sod import SECURITY_OBJECT_OID, encapsulated_content


@dataclass(frozen=True)
class CardSecurity:
    #: the CMS ContentInfo DER (the whole file)
    content_info: bytes
    security_infos: SecurityInfos = field(compare=False)


def parse(data: bytes) -> CardSecurity:
    content = encapsulated_content(data, SECURITY_OBJECT_OID)
    return CardSecurity(content_info=data, security_infos=security_infos.parse(content))


def encode(model: CardSecurity) -> bytes:
    """The file is the signed ContentInfo itself; signing happens where the keys are."""
    return model.content_info
