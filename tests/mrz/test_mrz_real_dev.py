"""The MRZ reader on the real development set (tests/data/mrz-real: 28 specimen documents,
scans, photos and screenshots) at any orientation, and misprinted check digits told apart
from misreads (issue #17). Fail closed throughout: never a checksum-valid wrong reading."""

from __future__ import annotations

import random
from functools import cache

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from appliance.errors import Reason
from appliance.mrz import parse_mrz
from appliance.mrz.ocr.reader import MrzImageReader
from benchmarks.mrz_real import ORIENTATIONS, Truth, dev_set, load, oriented
from hardware_mocks.mrz_frames import PrintedMrz, misprinted, mrz_text, render_page, scan

#: Images of the set the reader reads exactly as they lie (the rest it refuses, for now).
READ = (
    "pe-aus-app-screenshot",
    "pe-bdr-pass",
    "pe-can-pass-annot",
    "pe-che-id",
    "pe-cze-pass",
    "pe-cze-pass2",
    "pe-deu-id",
    "pe-fin-pass",
    "pe-fra-dipl",
    "pe-hrv-pass",
    "pe-hun-pass",
    "pe-isl-pass",
    "pe-ltu-pass",
    "pe-lux-pass",
    "pe-lva-photo",
    "pe-mac-id",
    "pe-nld-pass-2001",
    "pe-pol-pass",
    "pe-pol-passfactory",
    "pe-pol-visa-passfactory",
    "pe-rou-id",
    "pe-svn-id",
    "pe-twn-pass",
    "pe-twn-pass-1995",
    "pe-usa-ead",
    "pe-usa-prc-old",
    "pe-usa-visa",
)


@cache
def _reader() -> MrzImageReader:
    return MrzImageReader(threads=1)


@cache
def _set() -> dict[str, tuple[Truth, npt.NDArray[np.uint8]]]:
    truths, paths = dev_set()
    return {t.image: (t, load(paths[t.image])) for t in truths}


def _never_wrong_but_valid(truth: Truth, lines: list[str] | None, where: str) -> None:
    if lines is not None and list(truth.lines or ()) != lines:
        assert not parse_mrz(lines).valid, f"{where}: wrong but checksum-valid"


def _tilted(image: npt.NDArray[np.uint8], degrees: float) -> npt.NDArray[np.uint8]:
    """Turned counter-clockwise by `degrees` on a white canvas that holds all of it."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * s + w * c), int(h * c + w * s)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return np.asarray(cv2.warpAffine(image, m, (nw, nh), borderValue=(255, 255, 255)))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_real_documents_read_the_same_whichever_way_up(orientation: str) -> None:
    reader = _reader()
    exact = []
    for name, (truth, image) in _set().items():
        result = reader.read(oriented(image, orientation))
        _never_wrong_but_valid(truth, result.lines, f"{name} {orientation}")
        if result.lines == list(truth.lines or ()):
            exact.append(name)
    assert set(READ) <= set(exact), sorted(set(READ) - set(exact))


@pytest.mark.parametrize("degrees", [-30, -20, 20, 30, 110])
def test_real_documents_read_on_a_page_tilted_up_to_thirty_degrees(degrees: float) -> None:
    reader = _reader()
    for name in ("pe-deu-id", "pe-pol-pass", "pe-usa-visa", "pe-twn-pass"):
        truth, image = _set()[name]
        result = reader.read(_tilted(image, degrees))
        assert result.lines == list(truth.lines or ()), f"{name} {degrees}"
        assert result.status == "pass", f"{name} {degrees}"


def test_a_real_misprinted_specimen_is_reported_as_printed_with_its_check_digits() -> None:
    """The old US resident card: its document-number check digit (and so the composite) is
    misprinted, and its document code has a digit where ICAO puts a letter. The printed lines
    come back as MRZ_CHECK_DIGIT naming both digits, never 'unreadable' nor 'corrected'."""
    truth, image = _set()["pe-usa-prc-old"]
    assert not truth.checksums_valid
    for orientation in ORIENTATIONS:
        result = _reader().read(oriented(image, orientation))
        assert result.status == "fail"
        assert result.reason is Reason.MRZ_CHECK_DIGIT, orientation
        assert result.lines == list(truth.lines or ())
        assert {"check_digit:document_number", "check_digit:composite"} <= set(result.flags)


#: (seed, format, (line, position) of the check digit printed wrong, fields that then fail)
MISPRINTS = [
    (0, "TD3", (1, 9), {"document_number", "composite"}),
    (1, "TD3", (1, 19), {"date_of_birth", "composite"}),
    (0, "TD3", (1, 43), {"composite"}),
    (0, "TD1", (0, 14), {"document_number", "composite"}),
    (1, "TD1", (1, 14), {"date_of_expiry", "composite"}),
    (0, "TD2", (1, 19), {"date_of_birth", "composite"}),
    (2, "TD2", (1, 35), {"composite"}),
]


@pytest.mark.parametrize(("seed", "fmt", "where", "fields"), MISPRINTS)
def test_a_misprinted_check_digit_is_reported_with_the_printed_lines(
    seed: int, fmt: str, where: tuple[int, int], fields: set[str]
) -> None:
    rng = random.Random(seed * 100 + where[1])
    printed = misprinted(mrz_text(rng, fmt), *where)
    page, _ = render_page(rng, fmt, 300, lines=printed)
    result = _reader().read(scan(page, rng, np.random.default_rng(seed), 90))
    assert result.reason is Reason.MRZ_CHECK_DIGIT
    assert result.status == "fail"
    assert result.lines == printed
    named = {f.removeprefix("check_digit:") for f in result.flags if f.startswith("check_digit:")}
    assert named == fields


def test_an_old_card_with_digits_for_nationality_is_nonstandard_with_its_lines() -> None:
    """The Romanian specimen prints '132' where ICAO puts the nationality; every check digit
    passes. It is reported as printed, as MRZ_NONSTANDARD (a refusal), never as an ICAO pass
    nor as unreadable."""
    truth, image = _set()["pe-rou-id"]
    for orientation in ORIENTATIONS:
        result = _reader().read(oriented(image, orientation))
        assert result.reason is Reason.MRZ_NONSTANDARD, orientation
        assert result.status == "fail"
        assert result.lines == list(truth.lines or ())
        assert "field:nationality" in result.flags


def test_a_synthetic_card_with_a_national_code_is_nonstandard() -> None:
    rng = random.Random(11)
    lines = mrz_text(rng, "TD2")
    lines[1] = lines[1][:10] + "642" + lines[1][13:]  # not covered by any check digit
    page, _ = render_page(rng, "TD2", 300, lines=lines)
    result = _reader().read(scan(page, rng, np.random.default_rng(11), 90))
    assert (result.reason, result.lines) == (Reason.MRZ_NONSTANDARD, lines)
    assert parse_mrz(lines).valid is False


def test_a_coloured_frame_drawn_round_the_mrz_does_not_hide_it() -> None:
    """A red box drawn tight round the MRZ (as an app screenshot marks it) touches the
    glyphs; in luminance it is as dark as ink and glued the two lines into one blob."""
    rng = random.Random(5)
    printed: list[PrintedMrz] = []
    page, lines = render_page(rng, "TD3", 300, printed=printed)
    colour = cv2.cvtColor(scan(page, rng, np.random.default_rng(5), 92), cv2.COLOR_GRAY2BGR)
    centres = printed[0].centres
    x0, y0 = centres.min(axis=0) - 18
    x1, y1 = centres.max(axis=0) + 18
    cv2.rectangle(colour, (int(x0), int(y0)), (int(x1), int(y1)), (40, 30, 210), 4)
    result = _reader().read(colour)
    assert result.lines == lines
    assert result.status == "pass"


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_a_photographed_page_tilted_twenty_degrees_with_a_red_frame_reads(
    orientation: str,
) -> None:
    """The app screenshot: a passport photographed ~20° off level, in perspective, its MRZ
    boxed in red. Straight views merge its two lines into one blob; the longest blob's
    direction gives the view that levels them."""
    truth, image = _set()["pe-aus-app-screenshot"]
    result = _reader().read(oriented(image, orientation))
    assert result.lines == list(truth.lines or ())
