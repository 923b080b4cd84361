"""Document feature definitions of Visible Digital Seals, one table per document type.

A seal's header names its message zone's layout by the Document Feature Definition Reference
and the Document Type Category (ICAO 9303-13 §2.2; BSI TR-03137 Part 1 §5-9). Each entry says
how a feature tag is encoded and under which stable field name it is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from appliance.mrz.formats import MrzFormat


class Encoding(StrEnum):
    C40 = "c40"  # alphanumeric text (BSI TR-03137 Annex B)
    MRZ = "mrz"  # C40 text that is an MRZ (the filler '<' travels as a space)
    UTF8 = "utf8"
    INT = "int"  # unsigned big-endian integer
    DURATION = "duration"  # days, months, years: one byte each
    BINARY = "binary"  # reported as hex


@dataclass(frozen=True)
class Feature:
    name: str
    encoding: Encoding
    #: allowed value lengths in bytes (None: any)
    lengths: tuple[int, ...] | None = None
    #: the MRZ format and how many characters of it the seal holds (line 2 may be cut short)
    mrz_format: MrzFormat | None = None


@dataclass(frozen=True)
class Profile:
    document_type: str
    features: dict[int, Feature]
    required: tuple[int, ...] = ()


_MRZ_TD2 = Feature("mrz", Encoding.MRZ, (48,), MrzFormat.TD2)

#: (document feature definition reference, document type category) -> profile
PROFILES: dict[tuple[int, int], Profile] = {
    # ICAO 9303-13 §4 visa; BSI TR-03137 §5 (the German visa uses MRV-B, 44 bytes)
    (0x5D, 0x01): Profile(
        "visa",
        {
            0x01: Feature("mrz", Encoding.MRZ, (48,), MrzFormat.MRV_A),
            0x02: Feature("mrz", Encoding.MRZ, (44,), MrzFormat.MRV_B),
            0x03: Feature("number_of_entries", Encoding.INT, (1,)),
            0x04: Feature("duration_of_stay", Encoding.DURATION, (3,)),
            0x05: Feature("passport_number", Encoding.C40, (6,)),
            0x06: Feature("visa_type", Encoding.BINARY, (1, 2, 3, 4)),
            0x07: Feature("additional_feature", Encoding.BINARY),
        },
    ),
    # ICAO 9303-13 §5 emergency travel document: the TD1 MRZ (90 characters)
    (0x5E, 0x03): Profile(
        "emergency_travel_document",
        {0x02: Feature("mrz", Encoding.MRZ, (60,), MrzFormat.TD1)},
        (0x02,),
    ),
    # BSI TR-03137 §6 arrival attestation document (Ankunftsnachweis)
    (0xFD, 0x02): Profile(
        "arrival_attestation",
        {0x02: _MRZ_TD2, 0x03: Feature("azr", Encoding.C40, (8,))},
        (0x02, 0x03),
    ),
    # BSI TR-03137 §7 social insurance card
    (0xFC, 0x04): Profile(
        "social_insurance_card",
        {
            0x01: Feature("social_insurance_number", Encoding.C40, (8,)),
            0x02: Feature("surname", Encoding.UTF8),
            0x03: Feature("given_names", Encoding.UTF8),
            0x04: Feature("birth_name", Encoding.UTF8),
        },
        (0x01, 0x02, 0x03),
    ),
    # BSI TR-03137 §8.2 residence permit
    (0xFB, 0x06): Profile(
        "residence_permit",
        {0x02: _MRZ_TD2, 0x03: Feature("passport_number", Encoding.C40, (6,))},
        (0x02, 0x03),
    ),
    # BSI TR-03137 §8.3 residence permit supplementary sheet
    (0xFA, 0x06): Profile(
        "residence_permit_supplementary_sheet",
        {
            0x04: Feature("mrz", Encoding.MRZ, (48,), MrzFormat.TD2),
            0x05: Feature("sheet_number", Encoding.C40, (6,)),
        },
        (0x04, 0x05),
    ),
    # BSI TR-03137 §9 address sticker of the German identity card
    (0xF9, 0x08): Profile(
        "address_sticker",
        {
            0x01: Feature("document_number", Encoding.C40, (6,)),
            0x02: Feature("municipality_code", Encoding.C40, (6,)),
            0x03: Feature("address", Encoding.C40),
        },
        (0x01, 0x02, 0x03),
    ),
}

#: characters per line and the characters a seal holds, per MRZ format
MRZ_GEOMETRY: dict[MrzFormat, tuple[int, int]] = {
    MrzFormat.MRV_A: (44, 72),  # line 2 cut after the date of expiry's check digit
    MrzFormat.MRV_B: (36, 64),
    MrzFormat.TD2: (36, 72),
    MrzFormat.TD1: (30, 90),
}
