"""ICAO 9303 LDS files: one module per structure, each with a frozen model, `parse(data)` that
raises only `LdsError`, and `encode(model)` giving the exact ICAO bytes.

`parse_file` maps chip dump names (DESIGN.md: `EF_COM.bin`, `DG1.bin`, ...) to those parsers,
so `chip read` and `chip verify DIR` read files through one path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from appliance.emrtd.lds import (
    card_access,
    card_security,
    com,
    dg1,
    dg2,
    dg4,
    dg5,
    dg7,
    dg11,
    dg12,
    dg14,
    dg15,
    raw_data_group,
    sod,
)
from appliance.errors import LdsError, Reason

_Parser = Callable[[bytes], Any]
_Encoder = Callable[[Any], bytes]

_EF_CODECS: Final[dict[str, tuple[_Parser, _Encoder]]] = {
    "EF_COM": (com.parse, com.encode),
    "EF_SOD": (sod.parse, sod.encode),
    "EF_CardAccess": (card_access.parse, card_access.encode),
    "EF_CardSecurity": (card_security.parse, card_security.encode),
}
_DG_CODECS: Final[dict[int, tuple[_Parser, _Encoder]]] = {
    1: (dg1.parse, dg1.encode),
    2: (dg2.parse, dg2.encode),
    4: (dg4.parse, dg4.encode),
    5: (dg5.parse, dg5.encode),
    7: (dg7.parse, dg7.encode),
    11: (dg11.parse, dg11.encode),
    12: (dg12.parse, dg12.encode),
    14: (dg14.parse, dg14.encode),
    15: (dg15.parse, dg15.encode),
}
_DG_NAME = re.compile(r"DG([1-9]|1[0-6])")

#: every dump file name, in the order a reader reads them
FILE_NAMES: Final = (
    "EF_CardAccess.bin",
    "EF_CardSecurity.bin",
    "EF_COM.bin",
    "EF_SOD.bin",
    *(f"DG{n}.bin" for n in range(1, 17)),
)


def file_name(dg: int) -> str:
    return f"DG{dg}.bin"


def _codec(name: str) -> tuple[_Parser, _Encoder]:
    stem = name.removesuffix(".bin")
    if stem in _EF_CODECS:
        return _EF_CODECS[stem]
    match = _DG_NAME.fullmatch(stem)
    if match is None:
        raise LdsError("not an LDS file name", Reason.LDS_UNSUPPORTED)
    number = int(match.group(1))
    if number in _DG_CODECS:
        return _DG_CODECS[number]
    return (lambda data: raw_data_group.parse(number, data)), raw_data_group.encode


def parse_file(name: str, data: bytes) -> Any:
    """Parse a dumped file by its name (`DG2.bin` -> `dg2.Dg2`); data groups without a parser
    of their own give a `RawDataGroup` after their outer tag is checked."""
    parse, _ = _codec(name)
    return parse(data)


def encode_file(name: str, model: Any) -> bytes:
    _, encode = _codec(name)
    return encode(model)


__all__ = ["FILE_NAMES", "encode_file", "file_name", "parse_file"]
