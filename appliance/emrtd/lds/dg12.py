"""DG12 (ICAO 9303-10 §4.7.12): additional document details, tag 6C.

Holds the issuing authority, dates of issue and personalisation, names of other persons
recorded in the document (A0 group of 5F1A), endorsements and images of the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from appliance.emrtd.lds import detail_fields
from appliance.emrtd.lds.detail_fields import Details, digits, text

TAG: Final = 0x6C
OTHER_PERSON: Final = 0x5F1A
DATE_OF_ISSUE: Final = 0x5F26
PERSONALISATION_TIME: Final = 0x5F55
IMAGE_OF_FRONT: Final = 0x5F1D
IMAGE_OF_REAR: Final = 0x5F1E
_TEXT: Final = {
    0x5F19: "issuing_authority",
    0x5F1B: "endorsements",
    0x5F1C: "tax_exit_requirements",
    0x5F56: "personaliser_serial",
}


@dataclass(frozen=True, repr=False)  # names of other persons: personal data
class Dg12:
    issuing_authority: str | None = None
    #: YYYYMMDD
    date_of_issue: str | None = None
    other_persons: tuple[str, ...] = ()
    endorsements: str | None = None
    tax_exit_requirements: str | None = None
    image_of_front: bytes | None = None
    image_of_rear: bytes | None = None
    #: YYYYMMDDhhmmss
    personalisation_time: str | None = None
    personaliser_serial: str | None = None
    other: tuple[tuple[int, bytes], ...] = ()


def parse(data: bytes) -> Dg12:
    details = detail_fields.parse(data, TAG, OTHER_PERSON, "DG12")
    values: dict[str, Any] = {}  # field name -> decoded value
    other = []
    for tag, value in details.fields:
        if tag in _TEXT:
            values[_TEXT[tag]] = text(value, "DG12")
        elif tag == DATE_OF_ISSUE:
            values["date_of_issue"] = digits(value, 8, "DG12 date of issue")
        elif tag == PERSONALISATION_TIME:
            values["personalisation_time"] = digits(value, 14, "DG12 personalisation time")
        elif tag == IMAGE_OF_FRONT:
            values["image_of_front"] = value
        elif tag == IMAGE_OF_REAR:
            values["image_of_rear"] = value
        else:
            other.append((tag, value))
    persons = tuple(text(name, "DG12") for name in details.group)
    return Dg12(other_persons=persons, other=tuple(other), **values)


def encode(model: Dg12) -> bytes:
    def ascii_(value: str | None) -> bytes | None:
        return None if value is None else value.encode("ascii")

    def utf8(value: str | None) -> bytes | None:
        return None if value is None else value.encode("utf-8")

    ordered: list[tuple[int, bytes | None]] = [
        (0x5F19, utf8(model.issuing_authority)),
        (DATE_OF_ISSUE, ascii_(model.date_of_issue)),
        (0x5F1B, utf8(model.endorsements)),
        (0x5F1C, utf8(model.tax_exit_requirements)),
        (IMAGE_OF_FRONT, model.image_of_front),
        (IMAGE_OF_REAR, model.image_of_rear),
        (PERSONALISATION_TIME, ascii_(model.personalisation_time)),
        (0x5F56, utf8(model.personaliser_serial)),
    ]
    fields = [(tag, value) for tag, value in ordered if value is not None]
    group_index = sum(1 for tag, _ in fields if tag in (0x5F19, DATE_OF_ISSUE))
    persons = tuple(name.encode("utf-8") for name in model.other_persons)
    details = Details((*fields, *model.other), persons)
    return detail_fields.encode(TAG, OTHER_PERSON, details, group_index)
