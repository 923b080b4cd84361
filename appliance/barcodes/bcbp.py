"""IATA Bar Coded Boarding Pass (Resolution 792, format code 'M'): legs, conditional items,
security data.

Positions are fixed: a 23-character unique mandatory block, then per leg 37 characters of
repeated mandatory items ending with the hexadecimal size of the leg's conditional block. The
first leg's conditional block opens with '>', the version, and a hex-sized unique block; every
leg's then holds a hex-sized repeated block and the airline's own data. Security data follows
the last leg: '^', its type, a hex length and the data (the airline's signature over everything
before '^').
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from appliance.barcodes.model import BarcodeError, Kind, SignedContent, Symbol

#: (name, width) of the unique mandatory items after the format code
_UNIQUE = (("legs_count", 1), ("passenger_name", 20), ("electronic_ticket_indicator", 1))
_LEG = (
    ("pnr", 7),
    ("from_airport", 3),
    ("to_airport", 3),
    ("carrier", 3),
    ("flight_number", 5),
    ("flight_day", 3),
    ("compartment", 1),
    ("seat", 4),
    ("checkin_sequence", 5),
    ("passenger_status", 1),
)
_UNIQUE_CONDITIONAL = (
    ("passenger_description", 1),
    ("checkin_source", 1),
    ("boarding_pass_source", 1),
    ("issue_date", 4),
    ("boarding_pass_document_type", 1),  # B boarding pass, I itinerary receipt
    ("boarding_pass_issuer", 3),
    ("baggage_tag", 13),
    ("baggage_tag_2", 13),
    ("baggage_tag_3", 13),
)
_REPEATED_CONDITIONAL = (
    ("airline_numeric_code", 3),
    ("document_serial_number", 10),
    ("selectee_indicator", 1),
    ("international_document_verification", 1),
    ("marketing_carrier", 3),
    ("frequent_flyer_airline", 3),
    ("frequent_flyer_number", 16),
    ("id_ad_indicator", 1),
    ("free_baggage_allowance", 3),
    ("fast_track", 1),
)
MAX_LEGS = 4  # Resolution 792 allows up to four legs in one boarding pass


class _Cursor:
    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end

    def take(self, width: int, what: str) -> str:
        if self.pos + width > self.end:
            raise BarcodeError(f"boarding pass truncated in {what}")
        value = self.text[self.pos : self.pos + width]
        self.pos += width
        return value

    def hex_size(self, what: str) -> int:
        raw = self.take(2, what)
        try:
            return int(raw, 16)
        except ValueError as exc:
            raise BarcodeError(f"{what} size {raw!r} is not hexadecimal") from exc

    @property
    def left(self) -> int:
        return self.end - self.pos


def _items(cursor: _Cursor, layout: tuple[tuple[str, int], ...], into: dict[str, Any]) -> None:
    """Items of a sized block: a block may stop early (older versions, fewer items)."""
    for name, width in layout:
        if cursor.left <= 0:
            break
        value = cursor.take(min(width, cursor.left), name)
        into[name] = value.strip() or None


def _day_of_year(text: str | None) -> int | None:
    if text is None or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= 366 else None


def looks_like_bcbp(payload: bytes) -> bool:
    """Format code 'M', a leg count of 1 to 4 and the unique block: a boarding pass, maybe cut
    short (then reported as a malformed one, not as an unknown payload)."""
    return len(payload) >= 23 and payload[:1] == b"M" and payload[1:2] in (b"1", b"2", b"3", b"4")


def parse_bcbp(payload: bytes, symbology: str = "", *, today: date | None = None) -> Symbol:
    """A boarding pass's fields; structural faults raise `BarcodeError`."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BarcodeError("boarding pass is not ASCII text") from exc
    cursor = _Cursor(text)
    if cursor.take(1, "format code") != "M":
        raise BarcodeError("boarding pass format code is not 'M'")
    head: dict[str, Any] = {}
    for name, width in _UNIQUE:
        head[name] = cursor.take(width, name)
    if not head["legs_count"].isdigit() or not 1 <= int(head["legs_count"]) <= MAX_LEGS:
        raise BarcodeError("number of legs is not 1 to 4")
    legs: list[dict[str, Any]] = []
    fields: dict[str, Any] = {
        "document_type": "boarding_pass",
        "passenger_name": head["passenger_name"].strip(),
        "electronic_ticket": head["electronic_ticket_indicator"] == "E",
        "version": None,
        "legs": legs,
    }
    for index in range(int(head["legs_count"])):
        leg: dict[str, Any] = {}
        for name, width in _LEG:
            leg[name] = cursor.take(width, f"leg {index + 1}").strip()
        leg["flight_day"] = _day_of_year(leg["flight_day"])
        leg["flight_number"] = leg["flight_number"].lstrip("0") or leg["flight_number"]
        size = cursor.hex_size(f"leg {index + 1} conditional block")
        block = _Cursor(text, cursor.pos, cursor.pos + size)
        cursor.take(size, f"leg {index + 1} conditional block")
        if index == 0 and block.left and text[block.pos] == ">":
            block.take(1, "version marker")
            fields["version"] = block.take(1, "version")
            unique_size = block.hex_size("unique conditional block")
            unique = _Cursor(text, block.pos, block.pos + unique_size)
            block.take(unique_size, "unique conditional block")
            _items(unique, _UNIQUE_CONDITIONAL, fields)
        if block.left >= 2:
            repeated_size = block.hex_size("repeated conditional block")
            repeated = _Cursor(text, block.pos, block.pos + repeated_size)
            block.take(repeated_size, "repeated conditional block")
            _items(repeated, _REPEATED_CONDITIONAL, leg)
        if block.left:
            leg["airline_data"] = text[block.pos : block.end]
        legs.append(leg)
    fields["issue_date"] = _issue_date(fields.get("issue_date"), today)
    signed = None
    if cursor.left:
        if text[cursor.pos] != "^":
            raise BarcodeError("data after the last leg is not security data")
        message_end = cursor.pos
        cursor.take(1, "security data")
        fields["security_data_type"] = cursor.take(1, "security data type")
        length = cursor.hex_size("security data")
        data = cursor.take(length, "security data")
        if cursor.left and text[cursor.pos :].strip():
            raise BarcodeError("data after the security data")
        signed = SignedContent(
            message=payload[:message_end],
            signature=data.encode("ascii"),
            signer_reference=fields.get("boarding_pass_issuer") or legs[0]["carrier"],
            algorithm=f"bcbp-{fields['security_data_type']}",
        )
    return Symbol(symbology, Kind.BCBP, fields, signed)


def _issue_date(text: Any, today: date | None) -> str | None:
    """Date of issue: last digit of the year + day of year, resolved to the latest past date."""
    if not isinstance(text, str) or len(text) != 4 or not text.isdigit():
        return None
    today = today or date.today()
    digit, day = int(text[0]), int(text[1:])
    for year in range(today.year, today.year - 10, -1):
        if year % 10 == digit:
            try:
                issued = date(year, 1, 1) + timedelta(days=day - 1)
            except OverflowError:
                return None
            if 1 <= day <= 366 and issued.year == year:
                return issued.isoformat()
            return None
    return None
