"""The reading both ISO/IEC 39794 extensible formats in the LDS share (DG2's face, part 5; DG4's
iris, part 6): context-tagged fields of a SEQUENCE by number, required fields and their form,
small INTEGERs and coded CHOICEs.

The formats are made to be extended: a later edition adds fields, and a reader must skip what
it does not know rather than refuse it, which a fixed asn1crypto schema would not do. So both
parsers walk the DER with the project's length-checked `tlv` reader through these helpers; each
error names the part, so a refusal says which data group's format was malformed.
"""

from __future__ import annotations

from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason


class Ext39794:
    """The shared helpers, bound to one part's name (`"39794-5"`, `"39794-6"`) and its largest
    INTEGER in octets."""

    def __init__(self, part: str, max_int_octets: int = 8) -> None:
        self.part = part
        self.max_int_octets = max_int_octets

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
