"""The shared frame of DG11 and DG12 (ICAO 9303-10 §4.7.11-12): a tag list 5C, then the listed
data elements, with repeated names grouped in A0 { 02 count, element... }.

The tag list names a grouped element by its member tag (5F0F in DG11, 5F1A in DG12); some
issuers write A0 instead, and both are read. The list and the elements must agree exactly, so
an element nobody listed (or a listed one that is missing) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd import tlv
from appliance.errors import LdsError

TAG_LIST = 0x5C
GROUP = 0xA0
_COUNT = 0x02


@dataclass(frozen=True)
class Details:
    #: elements in file order, excluding the A0 group
    fields: tuple[tuple[int, bytes], ...]
    group: tuple[bytes, ...]


def parse(data: bytes, outer_tag: int, member_tag: int, what: str) -> Details:
    items = tlv.parse_all(tlv.parse_exact(data, outer_tag, what).value)
    if not items or items[0].tag != TAG_LIST:
        raise LdsError(f"{what}: tag list (5C) missing")
    listed = [GROUP if tag == member_tag else tag for tag in tlv.parse_tag_list(items[0].value)]
    present = [item.tag for item in items[1:]]
    if sorted(listed) != sorted(present) or len(set(present)) != len(present):
        raise LdsError(f"{what}: tag list does not match the elements present")
    fields: list[tuple[int, bytes]] = []
    group: tuple[bytes, ...] = ()
    for item in items[1:]:
        if item.tag == GROUP:
            group = _parse_group(item.value, member_tag, what)
        elif item.constructed:
            raise LdsError(f"{what}: unexpected constructed element")
        else:
            fields.append((item.tag, item.value))
    return Details(tuple(fields), group)


def _parse_group(value: bytes, member_tag: int, what: str) -> tuple[bytes, ...]:
    items = tlv.parse_all(value)
    if not items or items[0].tag != _COUNT or len(items[0].value) != 1:
        raise LdsError(f"{what}: count (02) missing in A0")
    members = items[1:]
    if items[0].value[0] != len(members) or any(m.tag != member_tag for m in members):
        raise LdsError(f"{what}: A0 group does not hold its counted elements")
    return tuple(m.value for m in members)


def encode(outer_tag: int, member_tag: int, details: Details, group_index: int) -> bytes:
    """Elements in `details.fields` order, the A0 group (if any) inserted at `group_index`."""
    elements = [tlv.encode(tag, value) for tag, value in details.fields]
    tags = [tag for tag, _ in details.fields]
    if details.group:
        group = tlv.encode(_COUNT, bytes([len(details.group)]))
        group += b"".join(tlv.encode(member_tag, member) for member in details.group)
        elements.insert(group_index, tlv.encode(GROUP, group))
        tags.insert(group_index, member_tag)
    body = tlv.encode(TAG_LIST, tlv.encode_tag_list(tags)) + b"".join(elements)
    return tlv.encode(outer_tag, body)


def text(value: bytes, what: str) -> str:
    """Text elements are UTF-8 (ICAO 9303-10 with LDS 1.7+); anything else is refused."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise LdsError(f"{what}: text is not UTF-8") from None


def digits(value: bytes, size: int, what: str) -> str:
    """A date (YYYYMMDD) or timestamp (YYYYMMDDhhmmss): ASCII digits, or packed BCD as some
    early chips wrote them."""
    if len(value) == size and value.isascii() and value.decode().isdigit():
        return value.decode()
    if len(value) * 2 == size and all(b >> 4 < 10 and b & 0xF < 10 for b in value):
        return value.hex()
    raise LdsError(f"{what}: expected {size} digits")
