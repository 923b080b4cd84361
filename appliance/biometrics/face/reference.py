"""The reference portrait: an image file as it is, or the first face image of a DG2.

Lets `appliance face compare` take a chip dump's `DG2.bin` (DESIGN.md, chip dumps) as well as
a JPEG/JPEG 2000 file; the DG2 container itself is parsed by `appliance.emrtd.lds.dg2`.
"""

from __future__ import annotations

from appliance.emrtd.lds import dg2
from appliance.errors import ApplianceError, LdsError, Reason

DG2_TAG = 0x75


def reference_image(data: bytes) -> bytes:
    if not data or data[0] != DG2_TAG:
        return data
    try:
        faces = dg2.parse(data).faces
    except LdsError as exc:
        raise ApplianceError(Reason.LDS_MALFORMED, "DG2 unreadable") from exc
    if not faces:
        raise ApplianceError(Reason.FACE_NOT_FOUND, "DG2 holds no face image")
    return faces[0].data
