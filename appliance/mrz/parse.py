"""Parse and validate an MRZ of any ICAO 9303 format: text in, `MrzResult` out, never raises.

Errors (`valid` false) are faults of the MRZ itself: a character outside the MRZ alphabet or a
position's alphabet, a wrong geometry or document code, a check digit that does not match.
Warnings are things an officer may want to know that do not make the MRZ wrong: a country code
not in ICAO's list, a date that is not on the calendar, a name that may be truncated.
No issue's text ever contains the MRZ's characters, so results can be logged safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from appliance.errors import Reason
from appliance.mrz import countries
from appliance.mrz.check_digits import check_digit, mrz_information
from appliance.mrz.dates import MrzDate, birth_date, expiry_date
from appliance.mrz.formats import (
    ALPHABET_CHARACTERS,
    FILLER,
    LAYOUTS,
    MRZ_CHARACTERS,
    CheckSpec,
    Layout,
    MrzFormat,
    Span,
    detect_format,
)
from appliance.mrz.names import split_name

#: Longer input is not an MRZ; refusing it early bounds the work done on hostile input.
MAX_INPUT_CHARACTERS = 1000
#: Character faults reported one by one before the rest are summarised.
MAX_CHARACTER_ISSUES = 5
#: One string holding a whole MRZ without line breaks (as in DG1): its length -> (lines, length)
_CONCATENATED = {90: (3, 30), 72: (2, 36), 88: (2, 44)}


@dataclass(frozen=True)
class MrzIssue:
    """One error or warning: a stable reason, the field concerned, a detail without content."""

    reason: Reason
    field: str | None
    detail: str

    def to_dict(self) -> dict[str, str | None]:
        return {"reason": self.reason.value, "field": self.field, "detail": self.detail}


@dataclass(frozen=True, repr=False)
class MrzFields:
    """The fields of a parsed MRZ; those a format does not have are None.

    Text fields are shown without their trailing fillers; dates are YYMMDD as printed plus
    the ISO calendar date (None when a part is unknown or the date is not on the calendar).
    """

    document_code: str
    issuing_state: str
    document_number: str
    document_number_check_digit: str
    long_document_number: bool
    nationality: str
    date_of_birth: str
    date_of_birth_iso: str | None
    sex: str
    date_of_expiry: str
    date_of_expiry_iso: str | None
    surname: str
    given_names: str
    name_possibly_truncated: bool
    optional_data_1: str | None
    optional_data_2: str | None
    personal_number: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def __repr__(self) -> str:  # personal data stays out of logs and tracebacks
        return "MrzFields(<redacted>)"


@dataclass(frozen=True, repr=False)
class MrzResult:
    """The outcome of `parse_mrz`: format, normalised lines, fields, errors and warnings."""

    format: MrzFormat | None
    lines: tuple[str, ...]
    fields: MrzFields | None
    errors: tuple[MrzIssue, ...] = ()
    warnings: tuple[MrzIssue, ...] = ()
    _birth: MrzDate | None = field(default=None, compare=False)
    _expiry: MrzDate | None = field(default=None, compare=False)

    @property
    def valid(self) -> bool:
        """True when every character, the geometry and every check digit are right."""
        return not self.errors and self.fields is not None

    @property
    def status(self) -> str:
        if not self.valid:
            return "fail"
        return "warn" if self.warnings else "pass"

    @property
    def reason(self) -> Reason:
        """The first error's reason, else the first warning's, else OK."""
        issues = self.errors or self.warnings
        return issues[0].reason if issues else Reason.OK

    @property
    def date_of_birth(self) -> date | None:
        return self._birth.value if self._birth else None

    @property
    def date_of_expiry(self) -> date | None:
        return self._expiry.value if self._expiry else None

    @property
    def mrz_information(self) -> str | None:
        """The BAC/PACE 'MRZ information' (9303-11 §4.3.2), only from a valid MRZ.

        It is key material for the chip, so it is not part of `to_dict`.
        """
        if not self.valid or self.fields is None:
            return None
        f = self.fields
        return mrz_information(f.document_number, f.date_of_birth, f.date_of_expiry)

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form (keys never renamed; new ones may be added)."""
        return {
            "status": self.status,
            "reason": self.reason.value,
            "valid": self.valid,
            "format": self.format.value if self.format else None,
            "lines": list(self.lines),
            "fields": self.fields.to_dict() if self.fields else None,
            "errors": [issue.to_dict() for issue in self.errors],
            "warnings": [issue.to_dict() for issue in self.warnings],
        }

    def __repr__(self) -> str:  # personal data stays out of logs and tracebacks
        fmt = self.format.value if self.format else None
        return f"MrzResult(format={fmt!r}, status={self.status!r}, reason={self.reason.value!r})"


def parse_mrz(lines: str | Sequence[str], *, today: date | None = None) -> MrzResult:
    """Parse and validate an MRZ given as lines, or as one string (line breaks optional).

    Surrounding whitespace and lower case are tolerated; `today` (default: the UTC date) is the
    reference for the date century rules. Bad input gives a result with errors, never raises.
    """
    reference = today or datetime.now(UTC).date()
    text_lines, input_issue = _normalise(lines)
    if input_issue is not None:
        return MrzResult(None, tuple(text_lines), None, (input_issue,))
    first = text_lines[0][:1] if text_lines else ""
    fmt = detect_format(len(text_lines), len(text_lines[0]) if text_lines else 0, first)
    character_errors = _character_errors(text_lines)
    if fmt is None:
        geometry = _describe_geometry(text_lines)
        issue = MrzIssue(Reason.MRZ_FORMAT, None, f"no MRZ format has {geometry}")
        return MrzResult(None, tuple(text_lines), None, (*character_errors, issue))
    lay = LAYOUTS[fmt]
    length_errors = tuple(
        MrzIssue(
            Reason.MRZ_FORMAT,
            None,
            f"line {i + 1} has {len(line)} characters, {fmt.value} lines have {lay.line_length}",
        )
        for i, line in enumerate(text_lines)
        if len(line) != lay.line_length
    )
    if character_errors or length_errors:
        return MrzResult(fmt, tuple(text_lines), None, (*character_errors, *length_errors))
    return _Parser(lay, tuple(text_lines), reference).run()


def _normalise(lines: object) -> tuple[list[str], MrzIssue | None]:
    """Lines, stripped and upper-cased (ASCII only: 'ß'.upper() would change the length)."""
    if isinstance(lines, bytes | bytearray):
        try:
            lines = bytes(lines).decode("ascii")
        except UnicodeDecodeError:
            return [], MrzIssue(Reason.MRZ_FORMAT, None, "input is not ASCII text")
    if isinstance(lines, str):
        parts: list[str] = [lines]
    elif isinstance(lines, Sequence) and all(isinstance(item, str) for item in lines):
        parts = list(lines)
    else:
        return [], MrzIssue(Reason.MRZ_FORMAT, None, "input is not text")
    if sum(len(part) for part in parts) > MAX_INPUT_CHARACTERS:
        return [], MrzIssue(Reason.MRZ_FORMAT, None, "input is too long to be an MRZ")
    out = [
        _ascii_upper(line.strip()) for part in parts for line in part.splitlines() if line.strip()
    ]
    if len(out) == 1 and len(out[0]) in _CONCATENATED:
        count, length = _CONCATENATED[len(out[0])]
        out = [out[0][i * length : (i + 1) * length] for i in range(count)]
    if not out:
        return [], MrzIssue(Reason.MRZ_FORMAT, None, "no MRZ text")
    return out, None


def _ascii_upper(line: str) -> str:
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in line)


def _character_errors(lines: Sequence[str]) -> tuple[MrzIssue, ...]:
    bad = [
        (i, j)
        for i, line in enumerate(lines)
        for j, c in enumerate(line)
        if c not in MRZ_CHARACTERS
    ]
    issues = [
        MrzIssue(
            Reason.MRZ_FORMAT,
            None,
            f"line {i + 1}, position {j + 1}: character outside the MRZ alphabet (A-Z 0-9 <)",
        )
        for i, j in bad[:MAX_CHARACTER_ISSUES]
    ]
    if len(bad) > MAX_CHARACTER_ISSUES:
        more = len(bad) - MAX_CHARACTER_ISSUES
        issues.append(MrzIssue(Reason.MRZ_FORMAT, None, f"{more} more such characters"))
    return tuple(issues)


def _describe_geometry(lines: Sequence[str]) -> str:
    lengths = sorted({len(line) for line in lines})
    shown = "/".join(str(n) for n in lengths)
    return f"{len(lines)} line{'s' if len(lines) != 1 else ''} of {shown} characters"


def _where(span: Span, offset: int = 0) -> str:
    return f"line {span.line + 1}, position {span.start + offset + 1}"


class _Parser:
    """Validates one MRZ of known format and correct geometry, collecting issues."""

    def __init__(self, lay: Layout, lines: tuple[str, ...], today: date) -> None:
        self.lay = lay
        self.lines = lines
        self.today = today
        self.errors: list[MrzIssue] = []
        self.warnings: list[MrzIssue] = []
        #: fields with a character outside their alphabet: their check digits are not computed
        self.malformed: set[str] = set()

    def text(self, name: str) -> str:
        return self.lay.field_text(name, self.lines)

    def error(self, reason: Reason, field_name: str | None, detail: str) -> None:
        self.errors.append(MrzIssue(reason, field_name, detail))

    def warn(self, reason: Reason, field_name: str | None, detail: str) -> None:
        self.warnings.append(MrzIssue(reason, field_name, detail))

    def run(self) -> MrzResult:
        self.check_alphabets()
        number, number_check, optional_1, long_number = self.document_number()
        self.check_digits()
        birth = birth_date(self.text("date_of_birth"), self.today)
        expiry = expiry_date(self.text("date_of_expiry"), self.today)
        self.check_dates(birth, expiry)
        self.check_countries()
        name = split_name(self.text("name"))
        if name.possibly_truncated:
            self.warn(Reason.MRZ_NAME_TRUNCATED, "name", "the name fills its field")
        fmt = self.lay.format
        fields = MrzFields(
            document_code=self.text("document_code").rstrip(FILLER),
            issuing_state=self.text("issuing_state").rstrip(FILLER),
            document_number=number,
            document_number_check_digit=number_check,
            long_document_number=long_number,
            nationality=self.text("nationality").rstrip(FILLER),
            date_of_birth=birth.yymmdd,
            date_of_birth_iso=birth.iso,
            sex=self.text("sex"),
            date_of_expiry=expiry.yymmdd,
            date_of_expiry_iso=expiry.iso,
            surname=name.surname,
            given_names=name.given_names,
            name_possibly_truncated=name.possibly_truncated,
            optional_data_1=optional_1,
            optional_data_2=(
                self.text("optional_data_2").rstrip(FILLER) if fmt is MrzFormat.TD1 else None
            ),
            personal_number=(
                self.text("personal_number").rstrip(FILLER) if fmt is MrzFormat.TD3 else None
            ),
        )
        return MrzResult(
            fmt, self.lines, fields, tuple(self.errors), tuple(self.warnings), birth, expiry
        )

    def check_alphabets(self) -> None:
        """Each position against its alphabet; one error per field, at its first bad position."""
        for spec in self.lay.fields:
            if spec.name in self.malformed:
                continue
            allowed = ALPHABET_CHARACTERS[spec.alphabet]
            text = spec.span.text(self.lines)
            bad = next((k for k, c in enumerate(text) if c not in allowed), None)
            if bad is not None:
                self.malformed.add(spec.name)
                self.error(
                    Reason.MRZ_FORMAT,
                    _public_name(spec.name),
                    f"{_where(spec.span, bad)}: character not allowed here ({spec.alphabet.value})",
                )
        birth = self.text("date_of_birth")
        if "date_of_birth" not in self.malformed and not _whole_parts_unknown(birth):
            self.malformed.add("date_of_birth")
            self.error(
                Reason.MRZ_FORMAT,
                "date_of_birth",
                "an unknown part of the date must be filled with '<' as a whole",
            )

    def document_number(self) -> tuple[str, str, str | None, bool]:
        """(number, its check digit, optional data 1, long?) with the TD1/TD2 long-number rule.

        A number longer than 9 characters shows its first 9, a '<' where the check digit
        would be, then continues in the optional data with its check digit and a '<'
        (9303-5 §4.2.2); other optional data may follow.
        """
        number = self.text("document_number")
        check = self.text("document_number_check")
        overflow = self.lay.long_number_overflow
        if overflow is None or check != FILLER:
            optional = self.text(overflow) if overflow else self.optional_data_1_or_none()
            return number.rstrip(FILLER), check, _strip(optional), False
        optional = self.text(overflow)
        spec = self.lay.check("document_number")
        continued = optional.split(FILLER, 1)[0]
        if FILLER in number or len(continued) < 2:
            self.error(
                Reason.MRZ_FORMAT,
                "document_number",
                f"{_where(spec.digit)}: check digit missing and the number does not continue "
                "in the optional data",
            )
            self.malformed.add("document_number_check")
            return number.rstrip(FILLER), check, _strip(optional), False
        full, long_check = number + continued[:-1], continued[-1]
        if long_check not in "0123456789" or check_digit(full) != long_check:
            self.error(
                Reason.MRZ_CHECK_DIGIT,
                "document_number",
                "check digit of the long document number (in the optional data) does not match",
            )
        self.malformed.add("document_number_check")  # handled here, not by check_digits()
        rest = optional[len(continued) + 1 :]  # after the check digit's separating '<'
        return full, long_check, _strip(rest), True

    def optional_data_1_or_none(self) -> str | None:
        if self.lay.field_spans("optional_data_1"):
            return self.text("optional_data_1")
        return None

    def check_digits(self) -> None:
        for spec in self.lay.checks:
            name = spec.name
            digit_field = "composite_check" if name == "composite" else f"{name}_check"
            if digit_field in self.malformed:
                continue  # already reported: the check position does not hold a digit
            found = spec.digit.text(self.lines)
            covered = "".join(span.text(self.lines) for span in spec.covers)
            if name == "personal_number" and found == FILLER:
                if covered.strip(FILLER):
                    self.error(
                        Reason.MRZ_CHECK_DIGIT,
                        "personal_number",
                        f"{_where(spec.digit)}: check digit missing for a personal number",
                    )
                continue  # '<' is allowed when the personal number is empty (9303-4 §4.2.2)
            if check_digit(covered) != found:
                self.error(Reason.MRZ_CHECK_DIGIT, name, _mismatch(spec))

    def check_dates(self, birth: MrzDate, expiry: MrzDate) -> None:
        for field_name, value in (("date_of_birth", birth), ("date_of_expiry", expiry)):
            if field_name in self.malformed or value.value is not None or not value.problem:
                continue
            self.warn(Reason.MRZ_DATE_INVALID, field_name, value.problem)
        if birth.value and expiry.value and expiry.value <= birth.value:
            self.warn(Reason.MRZ_DATE_INVALID, "date_of_expiry", "expiry is not after birth")

    def check_countries(self) -> None:
        for field_name in ("issuing_state", "nationality"):
            if field_name in self.malformed:
                continue
            if not countries.is_known(self.text(field_name)):
                self.warn(Reason.MRZ_COUNTRY_UNKNOWN, field_name, "code not in ICAO 9303-3")


def _public_name(name: str) -> str:
    """Check-digit positions are reported under the field they protect."""
    if name == "composite_check":
        return "composite"
    return name.removesuffix("_check")


def _whole_parts_unknown(yymmdd: str) -> bool:
    """'<' may stand for a whole unknown year, month or day, never for one digit of it."""
    parts = (yymmdd[:2], yymmdd[2:4], yymmdd[4:])
    return all(part == FILLER * 2 or FILLER not in part for part in parts)


def _mismatch(spec: CheckSpec) -> str:
    return f"{_where(spec.digit)}: check digit does not match"


def _strip(value: str | None) -> str | None:
    return value.rstrip(FILLER) if value is not None else None
