"""Random but well-formed MRZ texts in every ICAO 9303 format, for rendering training pages.

Check digits are real (computed with the product's `check_digit`), so the texts exercise the
same structure the reader decodes; names and numbers are random, so no real person appears.
A share of lines is fully random to keep every class frequent at every kind of position.
"""

from __future__ import annotations

import random

from appliance.mrz.check_digits import check_digit

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
ALNUM = DIGITS + LETTERS
STATES = [
    "UTO",
    "D<<",
    "GBR",
    "FRA",
    "NLD",
    "USA",
    "CAN",
    "AUS",
    "UNO",
    "XXA",
    "EUE",
    "ITA",
    "ESP",
    "POL",
    "SWE",
    "CHE",
    "JPN",
    "CHN",
    "IND",
    "BRA",
    "ZAF",
    "NGA",
    "KEN",
    "MEX",
]


def _word(rng: random.Random, lo: int = 2, hi: int = 12) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(lo, hi)))


def _name(rng: random.Random, width: int) -> str:
    primary = "<".join(_word(rng) for _ in range(rng.randint(1, 2)))
    secondary = "<".join(_word(rng) for _ in range(rng.randint(0, 3)))
    text = primary + "<<" + secondary if secondary else primary
    return text[:width].ljust(width, "<")


def _date(rng: random.Random) -> str:
    return f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 31):02d}"


def _docnum(rng: random.Random, length: int = 9) -> str:
    n = rng.randint(6, length)
    return "".join(rng.choice(ALNUM) for _ in range(n)).ljust(length, "<")


def _optional(rng: random.Random, width: int) -> str:
    if rng.random() < 0.5:
        return "<" * width
    n = rng.randint(1, width)
    return "".join(rng.choice(ALNUM + "<") for _ in range(n)).ljust(width, "<")


def _sex(rng: random.Random) -> str:
    return rng.choice("MMFF<X")


def two_line(rng: random.Random, length: int, visa: bool) -> list[str]:
    code = (
        "V" + rng.choice(LETTERS + "<")
        if visa
        else (("P" if length == 44 else rng.choice("ACI")) + rng.choice(LETTERS + "<<<<"))
    )
    line1 = code + rng.choice(STATES) + _name(rng, length - 5)
    number = _docnum(rng)
    dob, doe = _date(rng), _date(rng)
    head = number + check_digit(number) + rng.choice(STATES) + dob + check_digit(dob)
    head += _sex(rng) + doe + check_digit(doe)
    if visa:
        line2 = head + _optional(rng, length - 28)
    elif length == 44:
        personal = _optional(rng, 14)
        personal_cd = "<" if personal == "<" * 14 and rng.random() < 0.5 else check_digit(personal)
        body = head + personal + personal_cd
        composite = body[0:10] + body[13:20] + body[21:43]
        line2 = body + check_digit(composite)
    else:
        body = head + _optional(rng, 7)
        composite = body[0:10] + body[13:20] + body[21:35]
        line2 = body + check_digit(composite)
    return [line1, line2]


def td1(rng: random.Random) -> list[str]:
    code = rng.choice("ACI") + rng.choice(LETTERS + "<<<<")
    if rng.random() < 0.15:  # long document number continued in the optional data
        number = "".join(rng.choice(ALNUM) for _ in range(rng.randint(10, 12)))
        line1 = code + rng.choice(STATES) + number[:9] + "<" + number[9:] + check_digit(number)
    else:
        number = _docnum(rng)
        line1 = code + rng.choice(STATES) + number + check_digit(number)
    line1 = (line1 + _optional(rng, 30 - len(line1)))[:30]
    dob, doe = _date(rng), _date(rng)
    line2 = dob + check_digit(dob) + _sex(rng) + doe + check_digit(doe) + rng.choice(STATES)
    line2 += _optional(rng, 11)
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    return [line1, line2, _name(rng, 30)]


def random_mrz(rng: random.Random) -> list[str]:
    """One MRZ: TD3 and TD1 most often (passports and ID cards), then TD2 and visas."""
    kind = rng.choices(
        ["TD3", "TD1", "TD2", "MRVA", "MRVB", "RANDOM"], weights=[35, 25, 10, 8, 7, 15]
    )[0]
    if kind == "TD3":
        return two_line(rng, 44, visa=False)
    if kind == "TD2":
        return two_line(rng, 36, visa=False)
    if kind == "MRVA":
        return two_line(rng, 44, visa=True)
    if kind == "MRVB":
        return two_line(rng, 36, visa=True)
    if kind == "TD1":
        return td1(rng)
    lines, length = rng.choice([(2, 44), (2, 36), (3, 30)])
    pool = ALNUM + "<<<<<"
    return ["".join(rng.choice(pool) for _ in range(length)) for _ in range(lines)]
