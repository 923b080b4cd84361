"""Biometric information templates (ISO/IEC 7816-11 CBEFF, ICAO 9303-10 §4.7.2): the frame of
DG2-DG4. A group template 7F61 counts (02) and holds BITs 7F60; each BIT has a header A1 (format
owner 87 and format type 88 say how to read the data) and a data block 5F2E or 7F2E.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError

GROUP_TAG: Final = 0x7F61
TEMPLATE_TAG: Final = 0x7F60
HEADER_TAG: Final = 0xA1
DATA_BLOCK_TAG: Final = 0x5F2E
CONSTRUCTED_DATA_BLOCK_TAG: Final = 0x7F2E
_COUNT_TAG: Final = 0x02

ICAO_HEADER_VERSION: Final = 0x80
BIOMETRIC_TYPE: Final = 0x81
BIOMETRIC_SUBTYPE: Final = 0x82
FORMAT_OWNER: Final = 0x87
FORMAT_TYPE: Final = 0x88
#: ISO/IEC JTC 1/SC 37, the owner of the ISO biometric data formats
FORMAT_OWNER_JTC1_SC37: Final = 0x0101
BIOMETRIC_TYPE_FACE: Final = 0x02


@dataclass(frozen=True)
class BiometricHeader:
    """The BHT's elements in chip order (80 version, 81 type, 82 subtype, 83 creation date,
    85 validity, 86 creator, 87 format owner, 88 format type)."""

    elements: tuple[tuple[int, bytes], ...]

    def get(self, tag: int) -> bytes | None:
        return next((value for t, value in self.elements if t == tag), None)

    def _number(self, tag: int) -> int | None:
        value = self.get(tag)
        return None if value is None else int.from_bytes(value, "big")

    @property
    def format_owner(self) -> int | None:
        return self._number(FORMAT_OWNER)

    @property
    def format_type(self) -> int | None:
        return self._number(FORMAT_TYPE)

    @property
    def biometric_type(self) -> int | None:
        return self._number(BIOMETRIC_TYPE)


@dataclass(frozen=True)
class BiometricTemplate:
    header: BiometricHeader
    data_block_tag: int
    data_block: bytes


def _parse_header(value: bytes) -> BiometricHeader:
    elements: list[tuple[int, bytes]] = []
    for item in tlv.iter_tlvs(value):
        if not 0x80 <= item.tag <= 0x9E:
            raise LdsError("biometric header: unexpected element")
        if any(tag == item.tag for tag, _ in elements):
            raise LdsError("biometric header: element repeated")
        if item.tag in (FORMAT_OWNER, FORMAT_TYPE) and len(item.value) != 2:
            raise LdsError("biometric header: format owner/type must be 2 bytes")
        elements.append((item.tag, item.value))
    return BiometricHeader(tuple(elements))


def _parse_template(item: tlv.Tlv) -> BiometricTemplate:
    if item.tag != TEMPLATE_TAG:
        raise LdsError("biometric group: expected a 7F60 template")
    children = item.children()
    if len(children) != 2 or children[0].tag != HEADER_TAG:
        raise LdsError("biometric template: expected a header A1 and one data block")
    block = children[1]
    if block.tag not in (DATA_BLOCK_TAG, CONSTRUCTED_DATA_BLOCK_TAG):
        raise LdsError("biometric template: data block must be 5F2E or 7F2E")
    return BiometricTemplate(_parse_header(children[0].value), block.tag, block.value)


def parse_group(data: bytes) -> tuple[BiometricTemplate, ...]:
    """Parse a whole 7F61 group template (all of `data`)."""
    items = tlv.parse_exact(data, GROUP_TAG, "biometric group").children()
    if not items or items[0].tag != _COUNT_TAG or len(items[0].value) != 1:
        raise LdsError("biometric group: instance count (02) missing")
    templates = tuple(_parse_template(item) for item in items[1:])
    if not templates or items[0].value[0] != len(templates):
        raise LdsError("biometric group: instance count does not match the templates")
    return templates


def encode_group(templates: tuple[BiometricTemplate, ...]) -> bytes:
    body = [tlv.encode(_COUNT_TAG, bytes([len(templates)]))]
    for template in templates:
        header = tlv.encode_all(list(template.header.elements))
        inner = tlv.encode(HEADER_TAG, header) + tlv.encode(
            template.data_block_tag, template.data_block
        )
        body.append(tlv.encode(TEMPLATE_TAG, inner))
    return tlv.encode(GROUP_TAG, b"".join(body))
