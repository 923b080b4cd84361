"""MRZ-aware decoding: alphabets per position, check-digit repair, flags, refusals, fusion.

Classifier output is simulated here (probability tables), so each rule is tested exactly;
tests/mrz/test_mrz_ocr_reader.py runs the real model on rendered images.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.errors import Reason
from appliance.mrz import parse_mrz
from appliance.mrz.formats import MrzFormat
from appliance.mrz.ocr.decode import decode
from appliance.mrz.ocr.fusion import FrameFuser, read_until_confident
from appliance.mrz.ocr.layout import CLASSES, LAYOUT_OF
from appliance.mrz.ocr.reader import MrzRead, result_of
from appliance.mrz.ocr.verdict import verdict

TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
JUNK = len(CLASSES)


def table(lines: list[str], p: float = 0.995) -> npt.NDArray[np.float32]:
    """A confident classifier output for `lines`: p on the character, the rest spread."""
    out = np.full((len(lines), len(lines[0]), JUNK + 1), (1 - p) / JUNK, np.float32)
    for i, line in enumerate(lines):
        for j, ch in enumerate(line):
            out[i, j, CLASSES.index(ch)] = p
    return out


def unsure(probs: npt.NDArray[np.float32], line: int, pos: int, **choices: float) -> None:
    """Set the output at one cell to the given {char: probability} (junk takes the rest)."""
    probs[line, pos] = 0.0
    for ch, p in choices.items():
        probs[line, pos, CLASSES.index("<" if ch == "filler" else ch)] = p
    probs[line, pos, JUNK] = max(0.0, 1.0 - sum(choices.values()))


def read(probs: npt.NDArray[np.float32], fmt: MrzFormat = MrzFormat.TD3) -> MrzRead:
    decoded = decode(probs, LAYOUT_OF[fmt])
    return result_of(decoded, verdict(decoded))


def test_a_clean_read_passes_with_high_field_confidence() -> None:
    result = read(table(TD3))
    assert (result.status, result.reason, result.lines) == ("pass", Reason.OK, TD3)
    assert result.field_confidence["document_number"] > 0.99
    assert result.corrections == []


def test_position_alphabet_turns_a_letter_o_in_a_date_into_zero_without_a_guess() -> None:
    probs = table(TD3)
    unsure(probs, 1, 14, O=0.90, **{"0": 0.09})  # birth date 740812: position 14 is '4'?
    probs = table(TD3)
    unsure(probs, 1, 22, O=0.90, **{"0": 0.09})  # expiry "120415": position 22 is '2'...
    probs = table(TD3)
    unsure(probs, 1, 21, O=0.70, **{"1": 0.29})  # expiry tens of year '1': O is not a digit
    result = read(probs)
    assert result.lines == TD3
    assert result.corrections == []  # the alphabet alone decided: O is impossible there


def test_check_digit_resolves_0_versus_o_and_flags_the_guess() -> None:
    probs = table(TD3)
    # Document number L898902C3: the model leans to 'O' at the '0' (position 5).
    unsure(probs, 1, 5, O=0.55, **{"0": 0.44})
    result = read(probs)
    assert result.lines == TD3
    assert result.status == "warn" and result.reason is Reason.OK
    assert "check_digit_corrected" in result.flags
    assert result.corrections == [
        {
            "line": 1,
            "position": 5,
            "read": "O",
            "chosen": "0",
            "confidence": pytest.approx(0.44, abs=0.01),
        }
    ]


@pytest.mark.parametrize(("pos", "wrong"), [(1, "B"), (5, "O"), (6, "Z"), (3, "B")])
def test_each_classic_confusion_is_repaired_by_the_check_digits(pos: int, wrong: str) -> None:
    probs = table(TD3)
    truth = TD3[1][pos]
    unsure(probs, 1, pos, **{wrong: 0.6, truth: 0.39})
    result = read(probs)
    assert result.lines == TD3 and "check_digit_corrected" in result.flags


def test_a_blurred_zero_read_confidently_as_o_is_repaired_by_its_check_digit() -> None:
    probs = table(TD3)
    unsure(probs, 1, 5, O=0.995, **{"0": 0.004})  # the twin is far below MIN_ALTERNATIVE
    result = read(probs)
    assert result.lines == TD3 and result.status == "warn"
    assert result.corrections[0]["read"] == "O" and result.corrections[0]["chosen"] == "0"


def test_an_unlikely_non_twin_is_still_never_used_for_a_repair() -> None:
    probs = table(TD3)
    unsure(probs, 1, 6, **{"3": 0.995, "2": 0.004})  # 2 read as 3: not OCR-B look-alikes
    result = read(probs)
    assert result.status == "fail" and result.corrections == []


def test_a_misread_with_no_plausible_alternative_is_refused_not_returned() -> None:
    probs = table(TD3)
    unsure(probs, 1, 6, **{"3": 0.80})  # '2' read as '3', nothing else plausible, junk 0.2
    result = read(probs)
    assert result.lines is None
    assert (result.status, result.reason) == ("fail", Reason.MRZ_UNREADABLE)


def test_a_confidently_read_wrong_check_digit_is_the_documents_fault() -> None:
    lines = [TD3[0], TD3[1][:9] + "7" + TD3[1][10:]]  # printed check digit wrong
    result = read(table(lines, p=0.999))
    assert (result.status, result.reason) == ("fail", Reason.MRZ_CHECK_DIGIT)
    assert result.lines == lines  # shown, so an officer can see the misprint


def test_an_unsure_name_character_makes_the_read_unreadable() -> None:
    probs = table(TD3)
    unsure(probs, 0, 8, K=0.40, X=0.35)  # names have no check digit to arbitrate
    result = read(probs)
    assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE


def test_a_doubtful_but_likely_name_character_is_returned_flagged() -> None:
    probs = table(TD3)
    unsure(probs, 0, 8, K=0.75, X=0.2)
    result = read(probs)
    assert result.lines == TD3 and result.status == "warn" and "low_confidence" in result.flags


def test_too_many_repairs_are_refused() -> None:
    probs = table(TD3)
    unsure(probs, 1, 5, O=0.55, **{"0": 0.44})  # document number
    unsure(probs, 1, 15, B=0.55, **{"8": 0.44})  # birth date 740812: '0'? position 15 is '8'
    unsure(probs, 1, 24, S=0.55, **{"4": 0.44})
    result = read(probs)
    # Birth date and expiry positions are digits only, so only the document number needs a
    # guess: still accepted, flagged.
    assert result.lines == TD3 and result.status == "warn"
    probs = table(TD3)
    for pos, wrong in ((5, "O"), (7, "B"), (37, "O"), (29, "I")):  # 3 groups need a guess
        truth = TD3[1][pos]
        unsure(probs, 1, pos, **{wrong: 0.55, truth: 0.44})
    result = read(probs)
    assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE


def test_junk_probability_lowers_the_confidence_of_any_character() -> None:
    probs = table(TD3)
    unsure(probs, 0, 30, filler=0.3)  # 70% "not a glyph here"
    result = read(probs)
    assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE


def test_td1_with_its_composite_check_decodes() -> None:
    probs = table(TD1)
    unsure(probs, 0, 7, **{"1": 0.5, "I": 0.49})  # document number D23145890: '3' -> no
    probs = table(TD1)
    unsure(probs, 0, 10, **{"S": 0.6, "5": 0.39})  # D231[4]5890 -> position 10 is '5'
    result = read(probs, MrzFormat.TD1)
    assert result.lines == TD1 and result.layout == "TD1"
    assert result.corrections and result.corrections[0]["chosen"] == "5"


TD1_OPTIONAL = [  # optional data "355936" after the document number: only the composite covers it
    "IDFRA8R9CUENUN8355936<<<<<<<<<",
    "4408165F3405097DNK<<<<<<<<<<<3",
    "CHIFANUPER<<VEN<FABER<PERCHIXA",
]


def test_doubt_on_many_characters_only_the_composite_covers_adds_up_to_a_refusal() -> None:
    # A filler and A, K, U or 0 share the value 0 mod 10: mistaking one for another never
    # changes the composite sum. Each cell alone looks fine (0.92, no single rival above 2%),
    # but over six blurred optional-data cells the chance of such a silent misread is ~0.45.
    probs = table(TD1_OPTIONAL)
    for pos in range(22, 28):
        unsure(probs, 0, pos, filler=0.92, A=0.019, K=0.019, U=0.019, **{"0": 0.019})
    result = read(probs, MrzFormat.TD1)
    assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE
    # The same doubt on one cell is flagged, not refused.
    probs = table(TD1_OPTIONAL)
    unsure(probs, 0, 22, filler=0.92, A=0.019, K=0.019, U=0.019, **{"0": 0.019})
    assert read(probs, MrzFormat.TD1).lines == TD1_OPTIONAL


def test_faded_fillers_the_composite_covers_are_returned_flagged() -> None:
    # Glare wiped the last two fillers: the model sees no glyph at all there (junk), which is
    # doubt (flagged) but no rival reading the composite would let through.
    probs = table(TD1_OPTIONAL)
    unsure(probs, 0, 28, filler=0.06)
    unsure(probs, 0, 29, filler=0.01)
    result = read(probs, MrzFormat.TD1)
    assert result.lines == TD1_OPTIONAL
    assert result.status == "warn" and "low_confidence" in result.flags


def test_a_misread_with_an_impossible_date_is_never_blamed_on_the_document() -> None:
    # Confidently read, two checks pass, one fails: looks like a misprint, but a birth date of
    # month 13 says the text is not this document's MRZ (a wrong line length, say).
    lines = [TD3[0], TD3[1][:13] + "741312" + TD3[1][19:]]
    result = read(table(lines, p=0.999))
    assert (result.status, result.reason) == ("fail", Reason.MRZ_UNREADABLE)
    assert result.lines is None and "implausible" in result.flags


def test_a_misprinted_check_digit_of_an_unknown_state_is_still_the_documents_fault() -> None:
    # Specimens of fictional states (and codes newer than our list) carry unknown codes.
    lines = [TD3[0].replace("UTO", "EOL"), TD3[1].replace("UTO", "EOL")]
    lines[1] = lines[1][:9] + "7" + lines[1][10:]
    result = read(table(lines, p=0.999))
    assert (result.status, result.reason, result.lines) == ("fail", Reason.MRZ_CHECK_DIGIT, lines)


class _Frames:
    """A stand-in reader that replays prepared classifier outputs, one per frame."""

    def __init__(self, tables: list[npt.NDArray[np.float32]]) -> None:
        self.tables = tables

    def read(self, image: object) -> MrzRead:
        decoded = decode(self.tables.pop(0), LAYOUT_OF[MrzFormat.TD3])
        return result_of(decoded, verdict(decoded))


def test_fusion_outvotes_damage_that_moves_between_frames() -> None:
    frames = []
    for damaged in ((0, 8), (0, 20), (0, 12)):
        probs = table(TD3, p=0.99)
        unsure(probs, *damaged, Q=0.45, X=0.35)  # glare over one name character per frame
        frames.append(probs)
    fuser = FrameFuser(_Frames(frames), min_frames=2)  # type: ignore[arg-type]
    first = fuser.add(None)  # type: ignore[arg-type]
    assert first.lines is None and not fuser.confident
    second = fuser.add(None)  # type: ignore[arg-type]
    assert second.lines == TD3
    fuser.add(None)  # type: ignore[arg-type]
    assert fuser.confident and fuser.result.lines == TD3 and fuser.frames_used == 3


def test_two_frames_that_pass_alike_settle_it_whatever_a_ruined_frame_adds() -> None:
    """A frame whose grid slipped by one cell reads every character confidently wrong; the
    fused vote is then in doubt, but the two good frames agree exactly."""
    slipped = [line[1:] + "<" for line in TD3]
    frames = [table(slipped, p=0.9999), table(TD3, p=0.99), table(TD3, p=0.99)]
    fuser = FrameFuser(_Frames(frames), min_frames=2)  # type: ignore[arg-type]
    for _ in range(3):
        fuser.add(None)  # type: ignore[arg-type]
    assert fuser.confident and fuser.result.lines == TD3 and fuser.result.status == "pass"


def test_stream_reading_stops_at_the_first_confident_fused_read() -> None:
    frames = [table(TD3, p=0.99) for _ in range(5)]
    unsure(frames[0], 0, 8, Q=0.45, X=0.35)
    source = _Frames(frames)
    result = read_until_confident([None] * 5, source, min_frames=2)  # type: ignore[arg-type, list-item]
    assert result.lines == TD3 and result.status == "pass"
    assert len(source.tables) == 2  # three frames settled the damaged name; two never read
    assert result.frames == 3  # reported: how many frames the read needed


def test_stream_reading_gives_up_unreadable_after_max_frames() -> None:
    frames = [table(TD3, p=0.97) for _ in range(4)]
    for probs in frames:
        unsure(probs, 0, 8, Q=0.45, X=0.40)  # the same character is hidden in every frame
    result = read_until_confident([None] * 4, _Frames(frames), max_frames=3)  # type: ignore[arg-type, list-item]
    assert result.lines is None and result.reason is Reason.MRZ_UNREADABLE
    assert result.frames == 3


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    fmt=st.sampled_from(list(MrzFormat)),
    noise=st.floats(0.0, 1.0),
)
def test_whatever_the_classifier_says_a_returned_read_passes_every_check_digit(
    seed: int, fmt: MrzFormat, noise: float
) -> None:
    layout = LAYOUT_OF[fmt]
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(JUNK + 1, 0.05 + noise), (layout.lines, layout.length))
    result = read(probs.astype(np.float32), fmt)
    if result.lines is not None and result.reason is Reason.OK:
        parsed = parse_mrz(result.lines)
        assert not [e for e in parsed.errors if e.reason is Reason.MRZ_CHECK_DIGIT]
