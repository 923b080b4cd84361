"""What both ISO/IEC 39794 extensible formats in the LDS share (DG2's face, part 5; DG4's
iris, part 6): context-tagged fields of a SEQUENCE by number, required fields and their form,
small INTEGERs and coded CHOICEs.

The formats are made to be extended: a later edition adds fields, and a reader must skip what
it does not know rather than refuse it, which a fixed asn1crypto schema would not do. So both
parsers walk the DER with the project's length-checked `tlv` reader through these helpers; each
error names the part, so a refusal says which data group's format was malformed.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason

#: the application profile's wrapper around a data block inside 7F2E (tolerated absent)
WRAPPER_TAG = 0xA1


@dataclass(frozen=True)
class DataBlock:
    """A data block opened: its version block's generation and year, its representations."""

    generation: int
    year: int
    representations: tlv.Tlv


def encode_uint(tag: int, value: int) -> bytes:
    """A non-negative INTEGER under a context tag, in as few octets as DER allows."""
    return tlv.encode(tag, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def encode_block(block_tag: int, generation: int, year: int, representations: bytes) -> bytes:
    """The value of a 7F2E biometric data block: the wrapper around the data block, its
    version block and its representation blocks (already encoded, one after another)."""
    version = tlv.encode(0xA0, encode_uint(0x80, generation) + encode_uint(0x81, year))
    block = tlv.encode(block_tag, version + tlv.encode(0xA1, representations))
    return tlv.encode(WRAPPER_TAG, block)


class Ext39794:
    """The shared helpers, bound to one part's name (`"39794-5"`, `"39794-6"`) and its largest
    INTEGER in octets."""

    def __init__(self, part: str, max_int_octets: int = 8) -> None:
        self.part = part
        self.max_int_octets = max_int_octets

    def open_block(self, bdb: bytes, block_tag: int, what: str) -> DataBlock:
        """The value of a 7F2E biometric data block, opened down to its representations:
        the wrapper may be absent, nothing may follow the block, the version is required."""
        outer = tlv.parse_one(bdb)
        if outer.size != len(bdb):
            raise LdsError(f"{self.part}: bytes after the data block")
        if outer.tag == WRAPPER_TAG:
            outer = tlv.parse_exact(outer.value, block_tag, f"{self.part} data block")
        elif outer.tag != block_tag:
            raise LdsError(f"{self.part}: biometric data block holds no {what}")
        fields = self.fields(outer.value, what)
        version = self.fields(self.required(fields, 0, True, "versionBlock").value, "versionBlock")
        generation = self.uint(self.required(version, 0, False, "generation"), "generation")
        year = self.uint(self.required(version, 1, False, "year"), "year")
        representations = self.required(fields, 1, True, "representationBlocks")
        return DataBlock(generation, year, representations)

    def fields(self, value: bytes, what: str) -> dict[int, tlv.Tlv]:
        """Context-specific fields of a SEQUENCE by number; other classes (extensions) pass."""
        found: dict[int, tlv.Tlv] = {}
        for item in tlv.iter_tlvs(value):
            if item.tag > 0xFF or item.tag & 0xC0 != 0x80:
                continue
            number = item.tag & 0x1F
            if number in found:
                raise LdsError(f"{self.part}: {what} field [{number}] repeated")
            found[number] = item
        return found

    def required(
        self, fields: dict[int, tlv.Tlv], number: int, constructed: bool, what: str
    ) -> tlv.Tlv:
        item = fields.get(number)
        if item is None:
            raise LdsError(f"{self.part}: {what} [{number}] missing")
        if item.constructed != constructed:
            raise LdsError(f"{self.part}: {what} [{number}] has the wrong form")
        return item

    def uint(self, item: tlv.Tlv, what: str) -> int:
        value = item.value
        if item.constructed or not 1 <= len(value) <= self.max_int_octets or value[0] & 0x80:
            raise LdsError(f"{self.part}: {what} is not a non-negative INTEGER of at most "
                           f"{self.max_int_octets} octets")  # fmt: skip
        return int.from_bytes(value, "big")

    def code(self, item: tlv.Tlv, what: str) -> int:
        """A CHOICE { code [0] INTEGER, extensionBlock [1] ... }; extension codes are
        unsupported."""
        choice = self.fields(item.value, what)
        if 0 not in choice:
            raise LdsError(f"{self.part}: {what} uses an extension block", Reason.LDS_UNSUPPORTED)
        return self.uint(self.required(choice, 0, False, what), what)
