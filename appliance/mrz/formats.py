"""Field layout tables of the ICAO 9303 machine-readable zones (Parts 4 to 7), as data.

Every position of every format belongs to exactly one field and carries an alphabet, so the
parser validates characters position by position and the OCR decoder can restrict each position
to the characters it may legally hold (`position_alphabet`). Check digits and the exact ranges
they cover (including each composite) are listed here too, so the rules live in one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MRZ_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
FILLER = "<"


class MrzFormat(StrEnum):
    """The five ICAO 9303 MRZ formats."""

    TD1 = "TD1"  # ID card, 3 x 30 (9303-5)
    TD2 = "TD2"  # ID card / official travel document, 2 x 36 (9303-6)
    TD3 = "TD3"  # passport, 2 x 44 (9303-4)
    MRV_A = "MRV-A"  # full-page visa, 2 x 44 (9303-7)
    MRV_B = "MRV-B"  # smaller visa, 2 x 36 (9303-7)


class Alphabet(StrEnum):
    """The kind of character a position may hold; `ALPHABET_CHARACTERS` gives the characters."""

    DIGIT = "digit"
    DIGIT_OR_FILLER = "digit-or-filler"  # unknown birth-date parts, TD1/TD2 long-number check
    FILLER_OR_ALPHA = "filler-or-alpha"  # names, country codes, second document-code character
    ALNUM = "alnum"  # letters, digits and filler: document numbers, optional data
    SEX = "sex"
    PASSPORT_CODE = "passport-code"  # first character of a TD3 document code
    CARD_CODE = "card-code"  # first character of a TD1/TD2 document code
    VISA_CODE = "visa-code"  # first character of an MRV document code


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

ALPHABET_CHARACTERS: dict[Alphabet, str] = {
    Alphabet.DIGIT: _DIGITS,
    Alphabet.DIGIT_OR_FILLER: _DIGITS + FILLER,
    Alphabet.FILLER_OR_ALPHA: _LETTERS + FILLER,
    Alphabet.ALNUM: _DIGITS + _LETTERS + FILLER,
    Alphabet.SEX: "FMX<",
    Alphabet.PASSPORT_CODE: "P",
    Alphabet.CARD_CODE: "ACI",
    Alphabet.VISA_CODE: "V",
}


@dataclass(frozen=True)
class Span:
    """Characters `[start, end)` of line `line` (all 0-based)."""

    line: int
    start: int
    end: int

    def text(self, lines: Sequence[str]) -> str:
        return lines[self.line][self.start : self.end]


@dataclass(frozen=True)
class FieldSpec:
    """A run of positions with one alphabet. Runs sharing a name form one field, in order."""

    name: str
    span: Span
    alphabet: Alphabet


@dataclass(frozen=True)
class CheckSpec:
    """A check digit at `digit` protecting the concatenation of `covers` (9303-3 §4.9)."""

    name: str  # the protected field, or "composite"
    covers: tuple[Span, ...]
    digit: Span


@dataclass(frozen=True)
class Layout:
    """One format: its geometry, every position's field and alphabet, its check digits."""

    format: MrzFormat
    line_count: int
    line_length: int
    fields: tuple[FieldSpec, ...]
    checks: tuple[CheckSpec, ...]
    #: TD1/TD2: a document number longer than 9 characters continues in this field, its check
    #: digit position then holding '<' (9303-5 §4.2.2, 9303-6 §4.2.2); None where not allowed.
    long_number_overflow: str | None

    def field_spans(self, name: str) -> tuple[Span, ...]:
        return tuple(f.span for f in self.fields if f.name == name)

    def field_text(self, name: str, lines: Sequence[str]) -> str:
        return "".join(span.text(lines) for span in self.field_spans(name))

    def check(self, name: str) -> CheckSpec:
        return next(c for c in self.checks if c.name == name)


def _f(name: str, line: int, start: int, end: int, alphabet: Alphabet) -> FieldSpec:
    return FieldSpec(name, Span(line, start, end), alphabet)


def _two_line(fmt: MrzFormat, length: int) -> Layout:
    """TD2, TD3, MRV-A, MRV-B share the first 28 characters of line 2; their tails differ."""
    visa = fmt in (MrzFormat.MRV_A, MrzFormat.MRV_B)
    code = {
        MrzFormat.TD3: Alphabet.PASSPORT_CODE,
        MrzFormat.TD2: Alphabet.CARD_CODE,
    }.get(fmt, Alphabet.VISA_CODE)
    number_check = Alphabet.DIGIT_OR_FILLER if fmt is MrzFormat.TD2 else Alphabet.DIGIT
    fields = [
        _f("document_code", 0, 0, 1, code),
        _f("document_code", 0, 1, 2, Alphabet.FILLER_OR_ALPHA),
        _f("issuing_state", 0, 2, 5, Alphabet.FILLER_OR_ALPHA),
        _f("name", 0, 5, length, Alphabet.FILLER_OR_ALPHA),
        _f("document_number", 1, 0, 9, Alphabet.ALNUM),
        _f("document_number_check", 1, 9, 10, number_check),
        _f("nationality", 1, 10, 13, Alphabet.FILLER_OR_ALPHA),
        _f("date_of_birth", 1, 13, 19, Alphabet.DIGIT_OR_FILLER),
        _f("date_of_birth_check", 1, 19, 20, Alphabet.DIGIT),
        _f("sex", 1, 20, 21, Alphabet.SEX),
        _f("date_of_expiry", 1, 21, 27, Alphabet.DIGIT),
        _f("date_of_expiry_check", 1, 27, 28, Alphabet.DIGIT),
    ]
    checks = [
        CheckSpec("document_number", (Span(1, 0, 9),), Span(1, 9, 10)),
        CheckSpec("date_of_birth", (Span(1, 13, 19),), Span(1, 19, 20)),
        CheckSpec("date_of_expiry", (Span(1, 21, 27),), Span(1, 27, 28)),
    ]
    if fmt is MrzFormat.TD3:
        fields += [
            _f("personal_number", 1, 28, 42, Alphabet.ALNUM),
            _f("personal_number_check", 1, 42, 43, Alphabet.DIGIT_OR_FILLER),
            _f("composite_check", 1, 43, 44, Alphabet.DIGIT),
        ]
        checks.append(CheckSpec("personal_number", (Span(1, 28, 42),), Span(1, 42, 43)))
    elif fmt is MrzFormat.TD2:
        fields += [
            _f("optional_data_1", 1, 28, 35, Alphabet.ALNUM),
            _f("composite_check", 1, 35, 36, Alphabet.DIGIT),
        ]
    else:  # visas have no composite check digit
        fields.append(_f("optional_data_1", 1, 28, length, Alphabet.ALNUM))
    if not visa:
        covers = (Span(1, 0, 10), Span(1, 13, 20), Span(1, 21, length - 1))
        checks.append(CheckSpec("composite", covers, Span(1, length - 1, length)))
    overflow = "optional_data_1" if fmt is MrzFormat.TD2 else None
    return Layout(fmt, 2, length, tuple(fields), tuple(checks), overflow)


def _td1() -> Layout:
    fields = (
        _f("document_code", 0, 0, 1, Alphabet.CARD_CODE),
        _f("document_code", 0, 1, 2, Alphabet.FILLER_OR_ALPHA),
        _f("issuing_state", 0, 2, 5, Alphabet.FILLER_OR_ALPHA),
        _f("document_number", 0, 5, 14, Alphabet.ALNUM),
        _f("document_number_check", 0, 14, 15, Alphabet.DIGIT_OR_FILLER),
        _f("optional_data_1", 0, 15, 30, Alphabet.ALNUM),
        _f("date_of_birth", 1, 0, 6, Alphabet.DIGIT_OR_FILLER),
        _f("date_of_birth_check", 1, 6, 7, Alphabet.DIGIT),
        _f("sex", 1, 7, 8, Alphabet.SEX),
        _f("date_of_expiry", 1, 8, 14, Alphabet.DIGIT),
        _f("date_of_expiry_check", 1, 14, 15, Alphabet.DIGIT),
        _f("nationality", 1, 15, 18, Alphabet.FILLER_OR_ALPHA),
        _f("optional_data_2", 1, 18, 29, Alphabet.ALNUM),
        _f("composite_check", 1, 29, 30, Alphabet.DIGIT),
        _f("name", 2, 0, 30, Alphabet.FILLER_OR_ALPHA),
    )
    checks = (
        CheckSpec("document_number", (Span(0, 5, 14),), Span(0, 14, 15)),
        CheckSpec("date_of_birth", (Span(1, 0, 6),), Span(1, 6, 7)),
        CheckSpec("date_of_expiry", (Span(1, 8, 14),), Span(1, 14, 15)),
        CheckSpec(
            "composite",
            (Span(0, 5, 30), Span(1, 0, 7), Span(1, 8, 15), Span(1, 18, 29)),
            Span(1, 29, 30),
        ),
    )
    return Layout(MrzFormat.TD1, 3, 30, fields, checks, "optional_data_1")


LAYOUTS: dict[MrzFormat, Layout] = {
    MrzFormat.TD1: _td1(),
    MrzFormat.TD2: _two_line(MrzFormat.TD2, 36),
    MrzFormat.TD3: _two_line(MrzFormat.TD3, 44),
    MrzFormat.MRV_A: _two_line(MrzFormat.MRV_A, 44),
    MrzFormat.MRV_B: _two_line(MrzFormat.MRV_B, 36),
}


def layout(fmt: MrzFormat) -> Layout:
    return LAYOUTS[fmt]


def position_alphabet(fmt: MrzFormat) -> list[str]:
    """The alphabet name (an `Alphabet` value) of every position, line after line.

    Index `line * line_length + column`; `ALPHABET_CHARACTERS` maps each name to its characters.
    """
    lay = LAYOUTS[fmt]
    out = [""] * (lay.line_count * lay.line_length)
    for spec in lay.fields:
        base = spec.span.line * lay.line_length
        for column in range(spec.span.start, spec.span.end):
            out[base + column] = spec.alphabet.value
    return out


def formats_with_geometry(line_count: int, line_length: int) -> tuple[MrzFormat, ...]:
    """The formats with this many lines of this length (TD2/MRV-B and TD3/MRV-A share one)."""
    return tuple(
        lay.format
        for lay in LAYOUTS.values()
        if lay.line_count == line_count and lay.line_length == line_length
    )


def detect_format(line_count: int, line_length: int, first_character: str) -> MrzFormat | None:
    """The format of an MRZ from its geometry and its first character ('V' marks a visa).

    A document code that fits no format of this size still gets the document format, so the
    parser can report the code itself as the fault rather than the whole geometry.
    """
    candidates = formats_with_geometry(line_count, line_length)
    if not candidates:
        return None
    visas = [f for f in candidates if LAYOUTS[f].fields[0].alphabet is Alphabet.VISA_CODE]
    documents = [f for f in candidates if f not in visas]
    if first_character == "V" and visas:
        return visas[0]
    return documents[0] if documents else candidates[0]
