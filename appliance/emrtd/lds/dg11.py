"""DG11 (ICAO 9303-10 §4.7.11): additional personal details, tag 6B.

All fields are optional; names use the MRZ convention ("SURNAME<<GIVEN<NAMES") in full length.
Unknown elements are kept raw so a newer chip's file still reads and re-encodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from appliance.emrtd.lds import detail_fields
from appliance.emrtd.lds.detail_fields import Details, digits, text

TAG: Final = 0x6B
OTHER_NAME: Final = 0x5F0F
FULL_DATE_OF_BIRTH: Final = 0x5F2B
PROOF_OF_CITIZENSHIP: Final = 0x5F16
#: text elements in ICAO order: tag -> field name
_TEXT: Final = {
    0x5F0E: "full_name",
    0x5F10: "personal_number",
    0x5F11: "place_of_birth",
    0x5F42: "address",
    0x5F12: "telephone",
    0x5F13: "profession",
    0x5F14: "title",
    0x5F15: "personal_summary",
    0x5F17: "other_td_numbers",
    0x5F18: "custody_information",
}


@dataclass(frozen=True, repr=False)  # personal data: never in logs
class Dg11:
    full_name: str | None = None
    other_names: tuple[str, ...] = ()
    personal_number: str | None = None
    #: YYYYMMDD
    full_date_of_birth: str | None = None
    place_of_birth: str | None = None
    address: str | None = None
    telephone: str | None = None
    profession: str | None = None
    title: str | None = None
    personal_summary: str | None = None
    #: image (JPEG) of a proof of citizenship
    proof_of_citizenship: bytes | None = None
    other_td_numbers: str | None = None
    custody_information: str | None = None
    #: elements this version does not know, as (tag, value)
    other: tuple[tuple[int, bytes], ...] = ()


def parse(data: bytes) -> Dg11:
    details = detail_fields.parse(data, TAG, OTHER_NAME, "DG11")
    values: dict[str, Any] = {}  # field name -> decoded value
    other = []
    for tag, value in details.fields:
        if tag in _TEXT:
            values[_TEXT[tag]] = text(value, "DG11")
        elif tag == FULL_DATE_OF_BIRTH:
            values["full_date_of_birth"] = digits(value, 8, "DG11 date of birth")
        elif tag == PROOF_OF_CITIZENSHIP:
            values["proof_of_citizenship"] = value
        else:
            other.append((tag, value))
    names = tuple(text(name, "DG11") for name in details.group)
    return Dg11(other_names=names, other=tuple(other), **values)


def encode(model: Dg11) -> bytes:
    fields: list[tuple[int, bytes]] = []
    for tag, name in _TEXT.items():
        value = getattr(model, name)
        if value is not None:
            fields.append((tag, value.encode("utf-8")))
        if tag == 0x5F10 and model.full_date_of_birth is not None:
            fields.append((FULL_DATE_OF_BIRTH, model.full_date_of_birth.encode("ascii")))
        if tag == 0x5F15 and model.proof_of_citizenship is not None:
            fields.append((PROOF_OF_CITIZENSHIP, model.proof_of_citizenship))
    fields += model.other
    group_index = 1 if model.full_name is not None else 0
    details = Details(tuple(fields), tuple(n.encode("utf-8") for n in model.other_names))
    return detail_fields.encode(TAG, OTHER_NAME, details, group_index)
