"""National MRZ layouts (issue #17): the French identity card of 1988-2021 (2 x 36, not ICAO
9303) is parsed with its own fields and check digits and read from images as `FRA-ID`, not
forced into a TD2 reading."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from appliance.errors import Reason
from appliance.mrz import parse_mrz
from appliance.mrz.national import NationalFormat, parse_national, recognise
from appliance.mrz.ocr.reader import MrzImageReader
from appliance.mrz.read_command import parsed_fields
from hardware_mocks.mrz_frames import camera, french_id_text, misprinted, render_page, scan

#: The specimen card published by the French administration ("DOUEL, CHRISTIANE").
SPECIMEN = ("IDFRADOUEL<<<<<<<<<<<<<<<<<<<<932013", "0506932020438CHRISTIANE<<NI2906209F3")


def test_the_french_specimen_parses_with_its_own_fields_and_check_digits() -> None:
    assert recognise(SPECIMEN) is NationalFormat.FRA_ID
    parsed = parse_national(SPECIMEN, NationalFormat.FRA_ID)
    assert parsed.valid
    assert parsed.fields["surname"] == "DOUEL"
    assert parsed.fields["given_names"] == "CHRISTIANE NI"
    assert parsed.fields["document_number"] == "050693202043"
    assert parsed.fields["date_of_birth_iso"] == "1929-06-20"
    assert parsed.fields["sex"] == "F"
    assert not parse_mrz(list(SPECIMEN)).valid  # as ICAO TD2 it would be refused


@pytest.mark.parametrize(
    ("where", "fields"),
    [((1, 12), {"document_number", "composite"}), ((1, 33), {"date_of_birth", "composite"})],
)
def test_a_misprinted_french_check_digit_names_its_field(
    where: tuple[int, int], fields: set[str]
) -> None:
    parsed = parse_national(misprinted(list(SPECIMEN), *where), NationalFormat.FRA_ID)
    assert {e.field for e in parsed.errors} == fields
    assert {e.reason for e in parsed.errors} == {Reason.MRZ_CHECK_DIGIT}


def test_no_personal_data_in_the_national_result_repr() -> None:
    assert "DOUEL" not in repr(parse_national(SPECIMEN, NationalFormat.FRA_ID))


@pytest.fixture(scope="module")
def reader() -> MrzImageReader:
    return MrzImageReader(threads=1)


@pytest.mark.parametrize("seed", range(4))
def test_a_french_card_is_read_as_its_own_layout(reader: MrzImageReader, seed: int) -> None:
    rng = random.Random(seed)
    lines = french_id_text(rng)
    page, _ = render_page(rng, "TD2", 300, lines=lines)
    nrng = np.random.default_rng(seed)
    image = scan(page, rng, nrng, 90) if seed % 2 else camera(page, rng, nrng)
    if seed == 3:
        image = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    result = reader.read(image)
    assert (result.status, result.layout, result.lines) == ("pass", "FRA-ID", lines)
    fields = parsed_fields(lines, result.layout)
    assert fields["document_number"] == lines[1][:12]


def test_a_misprinted_french_card_is_reported_as_printed(reader: MrzImageReader) -> None:
    rng = random.Random(7)
    printed = misprinted(french_id_text(rng), 1, 33)
    page, _ = render_page(rng, "TD2", 300, lines=printed)
    result = reader.read(scan(page, rng, np.random.default_rng(7), 90))
    assert result.reason is Reason.MRZ_CHECK_DIGIT
    assert (result.layout, result.lines) == ("FRA-ID", printed)
    assert "check_digit:date_of_birth" in result.flags
