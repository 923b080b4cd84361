"""Where things live on an eMRTD chip: file identifiers, short EF identifiers, LDS tags, dump names.

ICAO 9303-10 §4.4 (MF: EF.CardAccess, EF.CardSecurity, EF.ATR/INFO) and §4.6 (the LDS1 eMRTD
application: EF.COM, EF.SOD, DG1..DG16). Dump names are the ones DESIGN.md fixes for
`chip read --out` and `chip verify`.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Application identifier of the LDS1 eMRTD application (ICAO 9303-10 §4.6.1)
EMRTD_AID = bytes.fromhex("A0000002471001")

#: FID of the master file, for an explicit SELECT MF
MF_FID = 0x3F00


@dataclass(frozen=True)
class ElementaryFile:
    """An elementary file: `in_mf` files are read before the eMRTD application is selected."""

    name: str
    fid: int
    sfi: int
    dump_name: str
    in_mf: bool = False
    #: top-level BER-TLV tag of the file's content, when the whole file is one TLV
    tag: int | None = None

    @property
    def fid_bytes(self) -> bytes:
        return self.fid.to_bytes(2, "big")

    @property
    def is_single_tlv(self) -> bool:
        """True when the first bytes tell the file's length (every file but EF.ATR/INFO)."""
        return self.tag is not None


EF_CARD_ACCESS = ElementaryFile("EF.CardAccess", 0x011C, 0x1C, "EF_CardAccess.bin", True, 0x31)
EF_CARD_SECURITY = ElementaryFile(
    "EF.CardSecurity", 0x011D, 0x1D, "EF_CardSecurity.bin", True, 0x30
)
#: EF.ATR/INFO is a plain concatenation of TLVs, so it is read until the card says end of file.
EF_ATR_INFO = ElementaryFile("EF.ATR/INFO", 0x2F01, 0x01, "EF_ATR_INFO.bin", True, None)
EF_COM = ElementaryFile("EF.COM", 0x011E, 0x1E, "EF_COM.bin", False, 0x60)
EF_SOD = ElementaryFile("EF.SOD", 0x011D, 0x1D, "EF_SOD.bin", False, 0x77)
#: EF.CVCA (BSI TR-03110-1 A.1.2): the CARs of the CVCA keys the chip trusts for Terminal
#: Authentication, one or two DO'42 padded with zeros, so read to the end like EF.ATR/INFO
EF_CVCA = ElementaryFile("EF.CVCA", 0x011C, 0x1C, "EF_CVCA.bin", False, None)

#: LDS tags of DG1..DG16 (ICAO 9303-10 Table 35), in data group order
DG_TAGS = (
    0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
)  # fmt: skip

DATA_GROUPS: tuple[ElementaryFile, ...] = tuple(
    ElementaryFile(f"DG{n}", 0x0100 + n, n, f"DG{n}.bin", False, DG_TAGS[n - 1])
    for n in range(1, 17)
)

#: Every file of the eMRTD application, in the order a full read visits them
LDS_FILES: tuple[ElementaryFile, ...] = (EF_COM, *DATA_GROUPS, EF_SOD)


def data_group(number: int) -> ElementaryFile:
    """DG`number` (1..16)."""
    if not 1 <= number <= 16:
        raise ValueError("data groups are numbered 1 to 16")
    return DATA_GROUPS[number - 1]


def data_group_for_tag(tag: int) -> ElementaryFile | None:
    """The data group whose LDS tag is `tag` (as listed in EF.COM's tag list), if any."""
    for ef in DATA_GROUPS:
        if ef.tag == tag:
            return ef
    return None


def by_name(name: str) -> ElementaryFile:
    """Look a file up by its ICAO name ('DG2', 'EF.SOD') or dump name ('DG2.bin')."""
    for ef in (EF_CARD_ACCESS, EF_CARD_SECURITY, EF_ATR_INFO, *LDS_FILES):
        if name in (ef.name, ef.dump_name):
            return ef
    raise KeyError(name)
