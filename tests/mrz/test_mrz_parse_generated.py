"""Generated MRZs of every format: they parse back to the fields they were built from, and a
single substituted character is caught unless ICAO's check digits cannot see it.

The builder below is written from ICAO 9303 Parts 4-7 directly (not from `formats.py`), so the
parser's tables are checked against an independent reading of the standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import Reason
from appliance.mrz import MrzFormat, parse_mrz, position_alphabet
from appliance.mrz.check_digits import char_value, check_digit
from appliance.mrz.formats import ALPHABET_CHARACTERS, Alphabet

TODAY = date(2026, 11, 26)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = LETTERS + "0123456789"
MRZ_ALPHABET = ALNUM + "<"
GEOMETRY = {
    MrzFormat.TD1: (3, 30),
    MrzFormat.TD2: (2, 36),
    MrzFormat.TD3: (2, 44),
    MrzFormat.MRV_A: (2, 44),
    MrzFormat.MRV_B: (2, 36),
}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Doc:
    fmt: MrzFormat
    code: str
    state: str
    number: str
    nationality: str
    birth: date | None  # None: a birth date with unknown month and day ('YY<<<<')
    birth_year: int
    sex: str
    expiry: date
    surname: str
    given: str
    optional_1: str
    optional_2: str
    personal: str
    personal_check_filler: bool


def yymmdd(value: date) -> str:
    return value.strftime("%y%m%d")


def dob_text(doc: Doc) -> str:
    return yymmdd(doc.birth) if doc.birth else f"{doc.birth_year % 100:02d}<<<<"


def name_field(doc: Doc, length: int) -> str:
    name = doc.surname.replace(" ", "<")
    if doc.given:
        name += "<<" + doc.given.replace(" ", "<")
    return name.ljust(length, "<")


def build(doc: Doc) -> list[str]:
    """The MRZ lines of `doc`, composed as ICAO 9303 Parts 4-7 describe them."""
    n = GEOMETRY[doc.fmt][1]
    dob = dob_text(doc) + check_digit(dob_text(doc))
    exp = yymmdd(doc.expiry) + check_digit(yymmdd(doc.expiry))
    code = doc.code.ljust(2, "<")
    state = doc.state.ljust(3, "<")
    nat = doc.nationality.ljust(3, "<")
    if doc.fmt is MrzFormat.TD1:
        number, opt1 = _number_and_overflow(doc, 15)
        line1 = "".join([code, state, number, opt1])
        line2 = dob + doc.sex + exp + nat + doc.optional_2.ljust(11, "<")
        composite = check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
        return [line1, line2 + composite, name_field(doc, 30)]
    line1 = code + state + name_field(doc, n - 5)
    if doc.fmt is MrzFormat.TD2:
        number, opt1 = _number_and_overflow(doc, 7)
        line2 = number + nat + dob + doc.sex + exp + opt1
        return [line1, line2 + check_digit(line2[0:10] + line2[13:20] + line2[21:35])]
    number = doc.number.ljust(9, "<")
    head = number + check_digit(number) + nat + dob + doc.sex + exp
    if doc.fmt is MrzFormat.TD3:
        personal = doc.personal.ljust(14, "<")
        pcheck = "<" if doc.personal_check_filler else check_digit(personal)
        line2 = head + personal + pcheck
        return [line1, line2 + check_digit(line2[0:10] + line2[13:20] + line2[21:43])]
    return [line1, head + doc.optional_1.ljust(n - 28, "<")]


def _number_and_overflow(doc: Doc, overflow_len: int) -> tuple[str, str]:
    """TD1/TD2: number + check digit, and the optional data field (long-number rule)."""
    if len(doc.number) <= 9:
        number = doc.number.ljust(9, "<")
        return number + check_digit(number), doc.optional_1.ljust(overflow_len, "<")
    rest = doc.number[9:] + check_digit(doc.number)
    return doc.number[:9] + "<", (rest + "<" + doc.optional_1).ljust(overflow_len, "<")[
        :overflow_len
    ]


def words(max_words: int, min_words: int) -> st.SearchStrategy[str]:
    word = st.text(LETTERS, min_size=1, max_size=6)
    return st.lists(word, min_size=min_words, max_size=max_words).map(" ".join)


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    fmt = draw(st.sampled_from(list(MrzFormat)))
    first = {MrzFormat.TD3: "P", MrzFormat.MRV_A: "V", MrzFormat.MRV_B: "V"}.get(fmt)
    code = (first or draw(st.sampled_from("ACI"))) + draw(st.sampled_from(LETTERS + "<"))
    code = code.rstrip("<")
    countries = st.sampled_from(["UTO", "D", "FRA", "NLD", "XXA", "XXB", "GBN", "UNO", "EUE"])
    overflow_len = {MrzFormat.TD1: 15, MrzFormat.TD2: 7}.get(fmt, 0)
    max_number = 9 + overflow_len - 2 if overflow_len else 9
    number = draw(st.text(ALNUM, min_size=1, max_size=max_number))
    # optional data after a long number's continuation and its check digit and one filler
    room = overflow_len - (len(number) - 9 + 2) if len(number) > 9 else overflow_len
    opt1_len = {MrzFormat.MRV_A: 16, MrzFormat.MRV_B: 8}.get(fmt, max(room - 1, 0))
    optional_1 = draw(st.text(ALNUM, max_size=opt1_len)) if opt1_len else ""
    unknown_birth = draw(st.booleans()) and draw(st.booleans())
    birth = draw(st.dates(min_value=TODAY - timedelta(days=365 * 99), max_value=TODAY))
    personal = draw(st.text(ALNUM, max_size=14)) if fmt is MrzFormat.TD3 else ""
    return Doc(
        fmt=fmt,
        code=code,
        state=draw(countries),
        number=number,
        nationality=draw(countries),
        birth=None if unknown_birth else birth,
        birth_year=birth.year,
        sex=draw(st.sampled_from("MFX<")),
        expiry=draw(
            st.dates(
                min_value=TODAY - timedelta(days=365 * 49),
                max_value=TODAY + timedelta(days=365 * 49),
            )
        ),
        surname=draw(words(2, 1)),
        given=draw(words(2, 0)),
        optional_1=optional_1,
        optional_2=draw(st.text(ALNUM, max_size=11)) if fmt is MrzFormat.TD1 else "",
        personal=personal,
        personal_check_filler=not personal and draw(st.booleans()),
    )


@SETTINGS
@given(documents())
def test_generated_mrz_parses_back(doc: Doc) -> None:
    lines = build(doc)
    assert [len(line) for line in lines] == [GEOMETRY[doc.fmt][1]] * GEOMETRY[doc.fmt][0]
    result = parse_mrz(lines, today=TODAY)
    assert result.valid, [e.to_dict() for e in result.errors]
    assert result.format is doc.fmt
    f = result.fields
    assert f is not None
    assert (f.document_code, f.issuing_state, f.nationality) == (
        doc.code,
        doc.state,
        doc.nationality,
    )
    assert f.document_number == doc.number
    assert f.long_document_number is (len(doc.number) > 9)
    assert (f.surname, f.given_names, f.sex) == (doc.surname, doc.given, doc.sex)
    assert f.date_of_birth == dob_text(doc)
    assert f.date_of_birth_iso == (doc.birth.isoformat() if doc.birth else None)
    assert f.date_of_expiry_iso == doc.expiry.isoformat()
    if doc.fmt is MrzFormat.TD3:
        assert (f.personal_number, f.optional_data_1) == (doc.personal, None)
    else:
        assert f.optional_data_1 == doc.optional_1
    assert f.optional_data_2 == (doc.optional_2 if doc.fmt is MrzFormat.TD1 else None)
    assert result.mrz_information is not None
    assert result.mrz_information.startswith(
        doc.number.ljust(9, "<") + check_digit(doc.number.ljust(9, "<"))
    )
    # DG1 stores the same MRZ without line breaks
    assert parse_mrz("".join(lines), today=TODAY) == result


def _covered_positions(fmt: MrzFormat) -> set[tuple[int, int]]:
    """Every position inside a check-digit range or holding a check digit (9303-3 §4.9)."""
    ranges = {
        MrzFormat.TD3: [(1, 0, 10), (1, 13, 20), (1, 21, 44)],
        MrzFormat.TD2: [(1, 0, 10), (1, 13, 20), (1, 21, 36)],
        MrzFormat.TD1: [(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 30)],
        MrzFormat.MRV_A: [(1, 0, 10), (1, 13, 20), (1, 21, 28)],
        MrzFormat.MRV_B: [(1, 0, 10), (1, 13, 20), (1, 21, 28)],
    }[fmt]
    return {(line, c) for line, start, end in ranges for c in range(start, end)}


@SETTINGS
@given(documents(), st.data())
def test_single_substitution_is_caught_or_undetectable_by_design(
    doc: Doc, data: st.DataObject
) -> None:
    """A changed character makes the MRZ invalid, unless it is one ICAO cannot detect:

    - a position no check digit covers, holding a character its alphabet allows (names,
      nationality, sex...: the 9303 check digits do not protect them), or
    - a covered position whose new value equals the old one modulo 10 ('0'/'A'/'K'/'U'/'<'):
      the 7-3-1 weights are all prime to 10, so any other change alters the sum.
    """
    lines = build(doc)
    line = data.draw(st.integers(0, len(lines) - 1))
    pos = data.draw(st.integers(0, len(lines[0]) - 1))
    old = lines[line][pos]
    new = data.draw(st.sampled_from(MRZ_ALPHABET.replace(old, "")))
    changed = list(lines)
    changed[line] = changed[line][:pos] + new + changed[line][pos + 1 :]
    result = parse_mrz(changed, today=TODAY)
    if not result.valid:
        assert {e.reason for e in result.errors} <= {Reason.MRZ_FORMAT, Reason.MRZ_CHECK_DIGIT}
        assert result.mrz_information is None
        return
    if result.format is doc.fmt:
        kind = position_alphabet(doc.fmt)[line * len(lines[0]) + pos]
        assert new in ALPHABET_CHARACTERS[Alphabet(kind)]
    else:  # 'P' -> 'V' reads a passport as a visa: visible in the document code
        assert (line, pos) == (0, 0) and result.fields is not None
        assert result.fields.document_code.startswith(new)
    if (line, pos) in _covered_positions(doc.fmt):
        assert char_value(new) % 10 == char_value(old) % 10


@SETTINGS
@given(documents(), st.data())
def test_digit_only_positions_catch_every_substitution(doc: Doc, data: st.DataObject) -> None:
    """Dates of expiry and check digits hold only digits: any change there is caught."""
    lines = build(doc)
    width = len(lines[0])
    alphabets = position_alphabet(doc.fmt)
    digit_positions = [i for i, kind in enumerate(alphabets) if kind == Alphabet.DIGIT.value]
    index = data.draw(st.sampled_from(digit_positions))
    line, pos = divmod(index, width)
    new = data.draw(st.sampled_from(MRZ_ALPHABET.replace(lines[line][pos], "")))
    changed = list(lines)
    changed[line] = changed[line][:pos] + new + changed[line][pos + 1 :]
    assert not parse_mrz(changed, today=TODAY).valid


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=120),
        st.text(MRZ_ALPHABET + "\n abc", max_size=100),
        st.lists(st.text(MRZ_ALPHABET, min_size=28, max_size=46), max_size=4),
    )
)
def test_arbitrary_text_never_raises(text: str | list[str]) -> None:
    result = parse_mrz(text, today=TODAY)
    assert result.status in ("pass", "warn", "fail")
    assert result.valid is (not result.errors)
    result.to_dict()
