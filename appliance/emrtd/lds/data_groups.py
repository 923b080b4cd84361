"""Data group numbers and the tags their files start with (ICAO 9303-10, 4.6.1 / EF.COM 5C)."""

from __future__ import annotations

from typing import Final

#: DG number -> the tag of its outer template (also what EF.COM's tag list names it by).
DG_TAGS: Final[dict[int, int]] = {
    1: 0x61,
    2: 0x75,
    3: 0x63,
    4: 0x76,
    5: 0x65,
    6: 0x66,
    7: 0x67,
    8: 0x68,
    9: 0x69,
    10: 0x6A,
    11: 0x6B,
    12: 0x6C,
    13: 0x6D,
    14: 0x6E,
    15: 0x6F,
    16: 0x70,
}

DG_BY_TAG: Final[dict[int, int]] = {tag: dg for dg, tag in DG_TAGS.items()}

#: Short EF identifiers and file ids, so readers and the virtual chip name files one way.
EF_COM_FID: Final = 0x011E
EF_SOD_FID: Final = 0x011D
EF_CARD_ACCESS_FID: Final = 0x011C
EF_CARD_SECURITY_FID: Final = 0x011D  # in the master file, not the LDS1 application
DG_FIDS: Final[dict[int, int]] = {dg: 0x0100 + dg for dg in DG_TAGS}
