"""C40 text compaction as ICAO 9303-13 and BSI TR-03137 Annex B use it for seal strings.

Three characters of the set (space, 0-9, A-Z) pack into two bytes: V = 1600·U1 + 40·U2 + U3 + 1.
Two trailing characters are padded with the value 0 (Shift 1); a single trailing character is
written as 0xFE followed by its DataMatrix ASCII value (ASCII + 1). The MRZ filler '<' is
carried as a space and restored by the caller where the field is an MRZ.
"""

from __future__ import annotations

from appliance.errors import ApplianceError, Reason

_CHARS = " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_VALUE = {c: i + 3 for i, c in enumerate(_CHARS)}
_UNLATCH = 0xFE
_SHIFT1 = 0


def _char(value: int) -> str:
    if not 3 <= value <= 39:
        raise ApplianceError(Reason.SEAL_C40_INVALID, f"C40 value {value} is not a character")
    return _CHARS[value - 3]


def decode(data: bytes) -> str:
    """The text of a C40 byte string; anything not C40 -> `SEAL_C40_INVALID`."""
    out: list[str] = []
    i = 0
    while i < len(data):
        if i + 1 >= len(data):
            raise ApplianceError(Reason.SEAL_C40_INVALID, "odd number of C40 bytes")
        first, second = data[i], data[i + 1]
        if first == _UNLATCH:
            if i + 2 != len(data):
                raise ApplianceError(Reason.SEAL_C40_INVALID, "C40 unlatch before the end")
            ascii_char = chr(second - 1) if second > 0 else ""
            if ascii_char == "<" or ascii_char not in _VALUE:
                raise ApplianceError(Reason.SEAL_C40_INVALID, "unlatched byte is not C40 text")
            out.append(ascii_char)
            break
        value = first * 256 + second - 1
        if value < 0 or value >= 64000:
            raise ApplianceError(Reason.SEAL_C40_INVALID, f"C40 word {value + 1} out of range")
        u1, rest = divmod(value, 1600)
        u2, u3 = divmod(rest, 40)
        out.append(_char(u1))
        if u2 == _SHIFT1 and u3 == _SHIFT1:
            if i + 2 != len(data):
                raise ApplianceError(Reason.SEAL_C40_INVALID, "C40 padding before the end")
        else:
            out.append(_char(u2))
            if u3 == _SHIFT1:
                if i + 2 != len(data):
                    raise ApplianceError(Reason.SEAL_C40_INVALID, "C40 padding before the end")
            else:
                out.append(_char(u3))
        i += 2
    return "".join(out)


def encode(text: str) -> bytes:
    """C40 bytes of `text` ('<' becomes a space); used by the test-seal generator."""
    text = text.replace("<", " ")
    values = []
    for c in text:
        if c not in _VALUE:
            raise ValueError(f"character {c!r} has no C40 value")
        values.append(_VALUE[c])
    out = bytearray()
    full = len(values) - len(values) % 3
    for i in range(0, full, 3):
        word = 1600 * values[i] + 40 * values[i + 1] + values[i + 2] + 1
        out += word.to_bytes(2, "big")
    rest = values[full:]
    if len(rest) == 2:
        word = 1600 * rest[0] + 40 * rest[1] + _SHIFT1 + 1
        out += word.to_bytes(2, "big")
    elif len(rest) == 1:
        out += bytes([_UNLATCH, ord(text[-1]) + 1])
    return bytes(out)


def encoded_length(characters: int) -> int:
    """Bytes that `characters` C40 characters take (two per started triple)."""
    return 2 * ((characters + 2) // 3)
