"""The shared frame of DG11 and DG12 (ICAO 9303-10 §4.7.11-12): a tag list 5C, then the listed
data elements, with repeated names grouped in A0 { 02 count, element... }.

The tag list names a grouped element by its member tag (5F0F in DG11, 5F1A in DG12); some
issuers write A0 instead, and both are read. Some issuers also write the members bare, without
their A0 group (and count): those are read as the group too. The list and the elements must
agree exactly, so an element nobody listed (or a listed one that is missing) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.protocol import tlv
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
    listed = tlv.parse_tag_list(items[0].value)
    present = [item.tag for item in items[1:]]
    _check_listed(listed, present, member_tag, what)
    fields: list[tuple[int, bytes]] = []
    group: list[bytes] = []
    for item in items[1:]:
        if item.tag == GROUP:
            group += _parse_group(item.value, member_tag, what)
        elif item.tag == member_tag and not item.constructed:
            group.append(item.value)  # a member written without its A0 group
        elif item.constructed:
            raise LdsError(f"{what}: unexpected constructed element")
        else:
            fields.append((item.tag, item.value))
    return Details(tuple(fields), tuple(group))


def _check_listed(listed: list[int], present: list[int], member_tag: int, what: str) -> None:
    """Every element listed once and present once; the group (A0 or its bare members, listed
    as A0 or as the member tag, once or per member) listed exactly when present."""
    grouped = (GROUP, member_tag)
    others_listed = sorted(tag for tag in listed if tag not in grouped)
    others_present = [tag for tag in present if tag not in grouped]
    if (
        others_listed != sorted(others_present)
        or len(set(others_present)) != len(others_present)
        or any(tag in grouped for tag in listed) != any(tag in grouped for tag in present)
        or present.count(GROUP) > 1
    ):
        raise LdsError(f"{what}: tag list does not match the elements present")


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
