"""BER-TLV (ISO/IEC 7816-4 / ITU-T X.690 subset) as used by ICAO 9303 LDS files and SM/PACE data.

Tags are returned as integers of their raw bytes (``0x5F1F``, ``0x7F61``), which is how ICAO
documents name them. Lengths accept the short form and 0x81..0x84 long forms; anything else is
`LDS_MALFORMED`. Parsing never raises anything but `LdsError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from appliance.errors import LdsError


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    #: total encoded size of this TLV (header + value), so callers can walk concatenations
    size: int

    @property
    def constructed(self) -> bool:
        first = self.tag.to_bytes(tag_length(self.tag), "big")[0]
        return bool(first & 0x20)

    def children(self) -> list[Tlv]:
        """Parse the value as a concatenation of TLVs (for constructed tags)."""
        return parse_all(self.value)


def tag_length(tag: int) -> int:
    return max(1, (tag.bit_length() + 7) // 8)


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise LdsError("TLV: missing tag")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise LdsError("TLV: truncated multi-byte tag")
            b = data[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
            if tag > 0xFFFFFFFF:
                raise LdsError("TLV: tag too long")
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise LdsError("TLV: missing length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 4:
        raise LdsError("TLV: unsupported length form")
    if pos + count > len(data):
        raise LdsError("TLV: truncated length")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def parse_one(data: bytes, pos: int = 0) -> Tlv:
    """Parse the TLV starting at `pos`; its `size` tells where the next one starts."""
    start = pos
    tag, pos = _read_tag(data, pos)
    length, pos = _read_length(data, pos)
    end = pos + length
    if end > len(data):
        raise LdsError("TLV: value runs past the end of the data")
    return Tlv(tag=tag, value=bytes(data[pos:end]), size=end - start)


def header_size(data: bytes) -> tuple[int, int]:
    """(header size, value length) of the TLV at the start of `data`: used to size file reads."""
    _, pos = _read_tag(data, 0)
    length, pos = _read_length(data, pos)
    return pos, length


def iter_tlvs(data: bytes) -> Iterator[Tlv]:
    pos = 0
    while pos < len(data):
        # Padding between TLVs (0x00 / 0xFF) is allowed by ISO 7816-4 in some files.
        if data[pos] in (0x00, 0xFF):
            pos += 1
            continue
        tlv = parse_one(data, pos)
        yield tlv
        pos += tlv.size


def parse_all(data: bytes) -> list[Tlv]:
    return list(iter_tlvs(data))


def find(data: bytes, tag: int) -> Tlv | None:
    """First TLV with `tag` among the top-level TLVs of `data`."""
    for tlv in iter_tlvs(data):
        if tlv.tag == tag:
            return tlv
    return None


def require(data: bytes, tag: int, what: str) -> Tlv:
    tlv = find(data, tag)
    if tlv is None:
        raise LdsError(f"{what}: tag {tag:X} missing")
    return tlv


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    return tag.to_bytes(tag_length(tag), "big") + encode_length(len(value)) + value


def parse_exact(data: bytes, tag: int, what: str) -> Tlv:
    """The single TLV `tag` that makes up all of `data` (an LDS file or a nested template).

    Bytes after it are refused rather than ignored: the SOD hashes the whole file, so data that
    a parser skips would be data nobody checked.
    """
    tlv = parse_one(data)
    if tlv.tag != tag:
        raise LdsError(f"{what}: expected tag {tag:X}, found {tlv.tag:X}")
    if tlv.size != len(data):
        raise LdsError(f"{what}: {len(data) - tlv.size} bytes after the {tag:X} template")
    return tlv


def parse_tag_list(data: bytes) -> list[int]:
    """Tags listed back to back without lengths (the 5C tag lists of EF.COM, DG11, DG12)."""
    tags: list[int] = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        tags.append(tag)
    return tags


def encode_tag_list(tags: list[int]) -> bytes:
    return b"".join(t.to_bytes(tag_length(t), "big") for t in tags)


def encode_all(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(encode(tag, value) for tag, value in items)
