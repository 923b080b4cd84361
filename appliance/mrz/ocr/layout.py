"""What the reader may expect at each MRZ position, derived from the parser's format tables.

`appliance.mrz.formats` is the one table of ICAO 9303 fields, alphabets and check digits; this
module only reshapes it for decoding (allowed characters per cell, check groups as positions) and
adds two free constraints on dates that a reader can exploit: a month's tens digit is 0 or 1 and
a day's is 0 to 3, which by themselves rule out many misreads.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.mrz.formats import (
    ALPHABET_CHARACTERS,
    FILLER,
    LAYOUTS,
    Alphabet,
    MrzFormat,
    Span,
    formats_with_geometry,
)
from appliance.mrz.formats import Layout as FormatTable
from appliance.mrz.national import (
    FIXED_CHARACTERS,
    NATIONAL_LAYOUTS,
    NationalFormat,
    NationalLayout,
)

#: Output classes of the glyph classifier, in the model's order (a 38th class is "junk").
CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


@dataclass(frozen=True)
class CheckGroup:
    """A check digit at (`line`, `pos`) computed over the concatenation of `spans`."""

    name: str
    spans: tuple[Span, ...]
    line: int
    pos: int
    filler_allowed: bool = False  # '<' is a valid check digit when every covered char is '<'
    long_number: bool = False  # TD1/TD2: '<' here means the number continues in optional data


@dataclass(frozen=True)
class Layout:
    """One MRZ format as the decoder sees it."""

    format: MrzFormat | NationalFormat
    lines: int
    length: int
    alphabets: tuple[tuple[str, ...], ...]  # allowed characters, per line and position
    checks: tuple[CheckGroup, ...]
    fields: dict[str, tuple[Span, ...]]
    #: a national variant of an ICAO format: its country-code fields may hold digits too
    #: (`nonstandard`); read only when the format itself gave nothing
    relaxed: bool = False

    @property
    def name(self) -> str:
        return self.format.value

    @property
    def is_visa(self) -> bool:
        return self.format in (MrzFormat.MRV_A, MrzFormat.MRV_B)

    def allowed(self, line: int, pos: int) -> str:
        return self.alphabets[line][pos]


def _date_tens(allowed: list[list[str]], span: Span) -> None:
    month, day = span.start + 2, span.start + 4
    for pos, tens in ((month, "01"), (day, "0123")):
        keep = tens + (FILLER if FILLER in allowed[span.line][pos] else "")
        allowed[span.line][pos] = keep


def _build(fmt: MrzFormat | NationalFormat) -> Layout:
    table: FormatTable | NationalLayout = (
        NATIONAL_LAYOUTS[fmt] if isinstance(fmt, NationalFormat) else LAYOUTS[fmt]
    )
    allowed = [[""] * table.line_length for _ in range(table.line_count)]
    fields: dict[str, list[Span]] = {}
    for run in table.fields:
        chars = ALPHABET_CHARACTERS[run.alphabet]
        for pos in range(run.span.start, run.span.end):
            allowed[run.span.line][pos] = chars
        fields.setdefault(run.name, []).append(run.span)
    for name in ("date_of_birth", "date_of_expiry"):
        for span in table.field_spans(name):
            _date_tens(allowed, span)
    if isinstance(fmt, NationalFormat):  # a national layout's fixed opening ("IDFRA")
        for (line, pos), ch in FIXED_CHARACTERS[fmt].items():
            allowed[line][pos] = ch
    checks = []
    for spec in table.checks:
        digit_alphabet = next(
            f.alphabet
            for f in table.fields
            if f.span.line == spec.digit.line and f.span.start <= spec.digit.start < f.span.end
        )
        filler = digit_alphabet is Alphabet.DIGIT_OR_FILLER
        long_number = (
            filler and spec.name == "document_number" and table.long_number_overflow is not None
        )
        checks.append(
            CheckGroup(
                spec.name, spec.covers, spec.digit.line, spec.digit.start, filler, long_number
            )
        )
    return Layout(
        fmt,
        table.line_count,
        table.line_length,
        tuple(tuple(row) for row in allowed),
        tuple(checks),
        {name: tuple(spans) for name, spans in fields.items()},
    )


LAYOUT_OF: dict[MrzFormat | NationalFormat, Layout] = {
    fmt: _build(fmt) for fmt in (*MrzFormat, *NationalFormat)
}


#: Fields a national variant fills with its own codes (an old Romanian card puts digits where
#: the nationality goes, an old US card a digit as the document code's second character);
#: everything else keeps its ICAO alphabet and check digits, and the document code its first.
RELAXED_FIELDS = ("document_code", "issuing_state", "nationality")


def _relaxed(layout: Layout) -> Layout:
    allowed = [list(row) for row in layout.alphabets]
    for name in RELAXED_FIELDS:
        for span in layout.fields.get(name, ()):
            for pos in range(span.start, span.end):
                if (span.line, pos) != (0, 0):
                    allowed[span.line][pos] = ALPHABET_CHARACTERS[Alphabet.ALNUM]
    rows = tuple(tuple(row) for row in allowed)
    return Layout(
        layout.format, layout.lines, layout.length, rows, layout.checks, layout.fields, True
    )


RELAXED_OF: dict[MrzFormat, Layout] = {fmt: _relaxed(LAYOUT_OF[fmt]) for fmt in MrzFormat}


def relaxed_layouts_for(lines: int, length: int) -> tuple[Layout, ...]:
    """The nonstandard variants of the ICAO formats of this size (no visas: they carry too few
    check digits to vouch for a reading outside the format's rules)."""
    return tuple(
        RELAXED_OF[fmt]
        for fmt in formats_with_geometry(lines, length)
        if fmt not in (MrzFormat.MRV_A, MrzFormat.MRV_B)
    )


def layouts_for(lines: int, length: int) -> tuple[Layout, ...]:
    """The formats with this many lines of this length (visas differ from TD2/TD3 by 'V'),
    ICAO's first, then the recognised national layouts of that size."""
    national = [
        LAYOUT_OF[fmt]
        for fmt, table in NATIONAL_LAYOUTS.items()
        if (table.line_count, table.line_length) == (lines, length)
    ]
    return tuple(LAYOUT_OF[fmt] for fmt in formats_with_geometry(lines, length)) + tuple(national)
