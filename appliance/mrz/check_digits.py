"""ICAO 9303-3 §4.9 check digits and the MRZ information that keys BAC and PACE."""

from __future__ import annotations

#: ICAO 9303-3 §4.9 weights, repeated over the field (the OCR decoder reasons with them too)
WEIGHTS = (7, 3, 1)


def char_value(ch: str) -> int:
    """Numeric value of an MRZ character: digits, A=10..Z=35, filler '<' = 0."""
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    if ch == "<":
        return 0
    raise ValueError("not an MRZ character")


def check_digit(field: str) -> str:
    """The check digit (as a character) of `field`, weights 7-3-1 modulo 10."""
    total = sum(char_value(c) * WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)


def mrz_information(document_number: str, date_of_birth: str, date_of_expiry: str) -> str:
    """The 'MRZ information' of ICAO 9303-11 §4.3.2 / §9.7.3 used to derive BAC/PACE keys.

    Document numbers shorter than 9 characters are padded with '<'; longer ones (TD1 long
    numbers) are used in full, each followed by its check digit. Dates are YYMMDD as printed:
    a birth date may hold '<' for an unknown month or day (9303-3 §4.7.1), the expiry may not.
    """
    number = document_number.upper().ljust(9, "<")
    if not _is_yymmdd(date_of_birth, allow_filler=True) or not _is_yymmdd(date_of_expiry):
        raise ValueError("dates must be YYMMDD")
    return (
        number
        + check_digit(number)
        + date_of_birth
        + check_digit(date_of_birth)
        + date_of_expiry
        + check_digit(date_of_expiry)
    )


def _is_yymmdd(value: str, *, allow_filler: bool = False) -> bool:
    allowed = "0123456789<" if allow_filler else "0123456789"
    return len(value) == 6 and all(c in allowed for c in value)
