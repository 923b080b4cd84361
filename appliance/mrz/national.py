"""National machine-readable zones outside ICAO 9303: the French identity card (1988-2021).

Why a separate table: forcing such a zone into the ICAO format of the same size (TD2, 2 x 36)
reads fields where there are none and fails check digits that are not there, so the officer
is told "unreadable" or "misprinted" for a sound card. The French card (Décret 87-178, in
use until August 2021) has its own fields and check digits:

    line 1: IDFRA, surname (25), issuing department (3), issuing office (3)
    line 2: card number (12: year and month of issue, department, serial), check digit,
            given names (14, separated by '<<'), date of birth (YYMMDD), check digit, sex,
            composite check digit over line 1 and the first 35 characters of line 2

It carries no expiry date and no nationality field. `parse_national` checks geometry,
alphabets and check digits (weights 7-3-1, ICAO 9303-3 §4.9) and never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from appliance.errors import Reason
from appliance.mrz.check_digits import check_digit
from appliance.mrz.dates import birth_date
from appliance.mrz.formats import (
    ALPHABET_CHARACTERS,
    FILLER,
    Alphabet,
    CheckSpec,
    FieldSpec,
    Span,
)
from appliance.mrz.names import split_name
from appliance.mrz.parse import MrzIssue


class NationalFormat(StrEnum):
    """Recognised national layouts (not ICAO 9303)."""

    FRA_ID = "FRA-ID"  # French national identity card, 1988-2021, 2 x 36


@dataclass(frozen=True)
class NationalLayout:
    """A national layout, in the shape of `formats.Layout` so the OCR decoder can use it."""

    format: NationalFormat
    line_count: int
    line_length: int
    fields: tuple[FieldSpec, ...]
    checks: tuple[CheckSpec, ...]
    long_number_overflow: str | None = None

    def field_spans(self, name: str) -> tuple[Span, ...]:
        return tuple(f.span for f in self.fields if f.name == name)

    def field_text(self, name: str, lines: Sequence[str]) -> str:
        return "".join(span.text(lines) for span in self.field_spans(name))


def _f(name: str, line: int, start: int, end: int, alphabet: Alphabet) -> FieldSpec:
    return FieldSpec(name, Span(line, start, end), alphabet)


#: The fixed "IDFRA" opening, one position at a time: (name, position, the only character).
_FRA_OPENING = "IDFRA"


def _fra_id() -> NationalLayout:
    fields = (
        *(
            _f("document_code" if k < 2 else "issuing_state", 0, k, k + 1, Alphabet.FILLER_OR_ALPHA)
            for k in range(5)
        ),
        _f("surname", 0, 5, 30, Alphabet.FILLER_OR_ALPHA),
        _f("issuing_office", 0, 30, 36, Alphabet.ALNUM),
        _f("document_number", 1, 0, 12, Alphabet.ALNUM),
        _f("document_number_check", 1, 12, 13, Alphabet.DIGIT),
        _f("given_names", 1, 13, 27, Alphabet.FILLER_OR_ALPHA),
        _f("date_of_birth", 1, 27, 33, Alphabet.DIGIT_OR_FILLER),
        _f("date_of_birth_check", 1, 33, 34, Alphabet.DIGIT),
        _f("sex", 1, 34, 35, Alphabet.SEX),
        _f("composite_check", 1, 35, 36, Alphabet.DIGIT),
    )
    checks = (
        CheckSpec("document_number", (Span(1, 0, 12),), Span(1, 12, 13)),
        CheckSpec("date_of_birth", (Span(1, 27, 33),), Span(1, 33, 34)),
        CheckSpec("composite", (Span(0, 0, 36), Span(1, 0, 35)), Span(1, 35, 36)),
    )
    return NationalLayout(NationalFormat.FRA_ID, 2, 36, fields, checks)


NATIONAL_LAYOUTS: dict[NationalFormat, NationalLayout] = {NationalFormat.FRA_ID: _fra_id()}
#: Characters a position of the French card's opening may hold (the decoder's alphabet there).
FIXED_CHARACTERS: dict[NationalFormat, dict[tuple[int, int], str]] = {
    NationalFormat.FRA_ID: {(0, k): ch for k, ch in enumerate(_FRA_OPENING)}
}


@dataclass(frozen=True, repr=False)
class NationalMrz:
    """The outcome of `parse_national`: fields (no trailing fillers) and errors."""

    format: NationalFormat
    lines: tuple[str, ...]
    fields: dict[str, str | None]
    errors: tuple[MrzIssue, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    def __repr__(self) -> str:  # personal data stays out of logs and tracebacks
        return f"NationalMrz({self.format.value}, <redacted>, errors={len(self.errors)})"


def recognise(lines: Sequence[str]) -> NationalFormat | None:
    """The national layout these lines are printed in, from geometry and fixed opening."""
    if len(lines) == 2 and all(len(x) == 36 for x in lines) and lines[0].startswith(_FRA_OPENING):
        return NationalFormat.FRA_ID
    return None


def parse_national(
    lines: Sequence[str], fmt: NationalFormat, *, today: date | None = None
) -> NationalMrz:
    """Check and split a national MRZ; errors name the field, never its content."""
    lay = NATIONAL_LAYOUTS[fmt]
    text = tuple(lines)
    errors: list[MrzIssue] = []
    if len(text) != lay.line_count or any(len(x) != lay.line_length for x in text):
        detail = f"expected {lay.line_count} lines of {lay.line_length} characters"
        return NationalMrz(fmt, text, {}, (MrzIssue(Reason.MRZ_FORMAT, None, detail),))
    malformed = set()
    for (line, pos), ch in FIXED_CHARACTERS[fmt].items():
        if text[line][pos] != ch:
            malformed.add("document_code")
            errors.append(
                MrzIssue(Reason.MRZ_FORMAT, "document_code", f"line {line + 1}: not this layout")
            )
            break
    for spec in lay.fields:
        allowed = ALPHABET_CHARACTERS[spec.alphabet]
        value = spec.span.text(text)
        bad = next((k for k, c in enumerate(value) if c not in allowed), None)
        if bad is not None and spec.name not in malformed:
            malformed.add(spec.name)
            where = f"line {spec.span.line + 1}, position {spec.span.start + bad + 1}"
            errors.append(MrzIssue(Reason.MRZ_FORMAT, spec.name, f"{where}: character not allowed"))
    for check in lay.checks:
        covered = "".join(span.text(text) for span in check.covers)
        if any(c not in ALPHABET_CHARACTERS[Alphabet.ALNUM] for c in covered):
            continue
        if check.digit.text(text) != check_digit(covered):
            where = f"line {check.digit.line + 1}, position {check.digit.start + 1}"
            errors.append(
                MrzIssue(Reason.MRZ_CHECK_DIGIT, check.name, f"{where}: check digit does not match")
            )
    birth = birth_date(lay.field_text("date_of_birth", text), today or datetime.now(UTC).date())
    given = split_name("<<" + lay.field_text("given_names", text).strip(FILLER))
    fields: dict[str, str | None] = {
        "document_code": "ID",
        "issuing_state": "FRA",
        "surname": lay.field_text("surname", text).strip(FILLER).replace(FILLER, " "),
        "given_names": given.given_names,
        "issuing_office": lay.field_text("issuing_office", text),
        "document_number": lay.field_text("document_number", text),
        "date_of_birth": birth.yymmdd,
        "date_of_birth_iso": birth.iso,
        "sex": lay.field_text("sex", text),
    }
    return NationalMrz(fmt, text, fields, tuple(errors))
