"""DG1 (ICAO 9303-10, 4.7.1): the MRZ as printed, in template 61 / 5F1F.

The length tells the document format: TD1 is 3 lines of 30, TD2 and MRV-B 2 of 36, TD3 and
MRV-A 2 of 44. Field parsing belongs to `appliance.mrz`; this module only frames and splits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from appliance.mrz import MrzResult

TAG = 0x61
_MRZ = 0x5F1F
_MRZ_ALPHABET: Final = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
#: total length -> (line count, line length)
_LAYOUTS: Final[dict[int, tuple[int, int]]] = {90: (3, 30), 72: (2, 36), 88: (2, 44)}
_FORMAT_NAMES: Final[dict[int, str]] = {90: "TD1", 72: "TD2", 88: "TD3"}


@dataclass(frozen=True, repr=False)  # the MRZ is personal data: never in logs
class Dg1:
    lines: tuple[str, ...]

    @property
    def layout(self) -> str:
        """TD1, TD2 (also MRV-B) or TD3 (also MRV-A): the length alone cannot tell visas apart."""
        return _FORMAT_NAMES[sum(len(line) for line in self.lines)]

    @property
    def issuing_state(self) -> str:
        """The issuing state's ICAO code: MRZ characters 3-5 in every document format."""
        return self.lines[0][2:5]

    def fields(self, today: date | None = None) -> MrzResult:
        """The MRZ parser's reading of the chip's MRZ: fields, and check-digit or format
        errors as data (a chip MRZ with a bad check digit is a finding, not a crash)."""
        from appliance.mrz import parse_mrz  # the MRZ package is the one owner of field rules

        return parse_mrz(list(self.lines), today=today)


def split_mrz(mrz: bytes) -> tuple[str, ...]:
    layout = _LAYOUTS.get(len(mrz))
    if layout is None:
        raise LdsError(f"DG1: MRZ of {len(mrz)} characters matches no document format")
    if not frozenset(mrz) <= _MRZ_ALPHABET:
        raise LdsError("DG1: MRZ holds characters outside A-Z, 0-9 and '<'")
    count, width = layout
    text = mrz.decode("ascii")
    return tuple(text[i * width : (i + 1) * width] for i in range(count))


def parse(data: bytes) -> Dg1:
    body = tlv.parse_exact(data, TAG, "DG1").value
    mrz = tlv.parse_exact(body, _MRZ, "DG1 MRZ")
    return Dg1(lines=split_mrz(mrz.value))


def encode(model: Dg1) -> bytes:
    return encode_lines(model.lines)


def encode_lines(lines: Sequence[str]) -> bytes:
    mrz = "".join(lines).encode("ascii", "replace")  # "?" fails the alphabet check
    if split_mrz(mrz) != tuple(lines):  # refuse to build a DG1 our own parser would read otherwise
        raise LdsError("DG1: MRZ lines do not match a document format")
    return tlv.encode(TAG, tlv.encode(_MRZ, mrz))
