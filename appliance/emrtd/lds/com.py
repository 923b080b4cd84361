"""EF.COM (ICAO 9303-10, 4.6.1): LDS and Unicode versions and the list of data groups present.

EF.COM is not covered by the SOD, so it is only a hint for what to read; Passive Authentication
compares it with the SOD's hash list (`PA_SOD_COM_MISMATCH`).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.lds.data_groups import DG_BY_TAG, DG_TAGS
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError

TAG = 0x60
_LDS_VERSION = 0x5F01
_UNICODE_VERSION = 0x5F36
_TAG_LIST = 0x5C


@dataclass(frozen=True)
class EfCom:
    #: "aabb" as stored, e.g. "0107" for LDS 1.7
    lds_version: str
    #: "aabbcc" as stored, e.g. "040000" for Unicode 4.0.0
    unicode_version: str
    data_groups: tuple[int, ...]

    @property
    def lds_version_text(self) -> str:
        return f"{int(self.lds_version[:2])}.{int(self.lds_version[2:])}"


def _digits(value: bytes, size: int, what: str) -> str:
    if len(value) != size or not value.isascii() or not value.decode().isdigit():
        raise LdsError(f"EF.COM: {what} must be {size} ASCII digits")
    return value.decode()


def parse(data: bytes) -> EfCom:
    body = tlv.parse_exact(data, TAG, "EF.COM").value
    lds = _digits(tlv.require(body, _LDS_VERSION, "EF.COM").value, 4, "LDS version")
    uni = _digits(tlv.require(body, _UNICODE_VERSION, "EF.COM").value, 6, "Unicode version")
    groups: list[int] = []
    for tag in tlv.parse_tag_list(tlv.require(body, _TAG_LIST, "EF.COM").value):
        dg = DG_BY_TAG.get(tag)
        if dg is None:
            raise LdsError(f"EF.COM: tag list names unknown tag {tag:X}")
        if dg in groups:
            raise LdsError(f"EF.COM: DG{dg} listed twice")
        groups.append(dg)
    return EfCom(lds_version=lds, unicode_version=uni, data_groups=tuple(groups))


def encode(model: EfCom) -> bytes:
    for value, size in ((model.lds_version, 4), (model.unicode_version, 6)):
        if len(value) != size or not (value.isascii() and value.isdigit()):
            raise ValueError("EF.COM versions are fixed-size digit strings")
    body = tlv.encode_all(
        [
            (_LDS_VERSION, model.lds_version.encode()),
            (_UNICODE_VERSION, model.unicode_version.encode()),
            (_TAG_LIST, tlv.encode_tag_list([DG_TAGS[dg] for dg in model.data_groups])),
        ]
    )
    return tlv.encode(TAG, body)
