"""MRZ page images as a camera or scanner would deliver them, independent of the training set.

Shared by the benchmark (`benchmarks/mrz_ocr.py`), the tests and the glyph model's temperature
calibration (`models/training/mrz/calibrate.py`, seed 99; the benchmark uses its own seed), so
none of them imports another's script, and nothing in `appliance/` imports it.

Whole data pages and ID cards at a given scan resolution: ICAO geometry (2.54 mm pitch, OCR-B
at the MRZ's real size), a photo block, printed labels and values in another font, guilloche
security print, then either a flat-bed scan or a hand-held camera shot (rotation up to ±15°,
upside down, perspective, uneven light, glare, blur, sensor noise, JPEG). Negatives are the
same pages without an MRZ. Different code, fonts for clutter, names and seed from
`models/training/mrz/`, so a score here is not the model recalling its training set.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from appliance.mrz.check_digits import check_digit

OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"
CLUTTER_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Oblique.ttf",
)
_SYLLABLES = [
    "AN",
    "BER",
    "CHI",
    "DO",
    "EL",
    "FA",
    "GU",
    "HAN",
    "IS",
    "JO",
    "KAR",
    "LI",
    "MO",
    "NU",
    "OS",
    "PER",
    "QUI",
    "RA",
    "SEN",
    "TO",
    "UL",
    "VEN",
    "WI",
    "XAN",
    "YA",
    "ZE",
]
_STATES = [
    "UTO",
    "D<<",
    "NLD",
    "FRA",
    "GBR",
    "DEU",
    "AUT",
    "BEL",
    "IRL",
    "PRT",
    "GRC",
    "NOR",
    "FIN",
    "DNK",
    "CZE",
    "HUN",
    "ROU",
    "BGR",
    "HRV",
    "SVN",
    "EST",
    "LVA",
    "LTU",
    "XXB",
]


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # BGR uint8
    lines: list[str] | None  # ground truth, None for a page without MRZ
    level: str
    #: Camera shots: grey-level contrast of the faintest MRZ glyph after light falloff and glare
    #: (before blur, noise and JPEG). Near 0, glare washed a glyph out (0: a glyph lies outside
    #: the frame): nobody can read it.
    glyph_contrast: float | None = None


@dataclass(frozen=True)
class PrintedMrz:
    """Where the MRZ glyphs were printed on the page and in which grey levels."""

    centres: np.ndarray  # (n, 2) glyph centres, page pixels
    ink: int
    paper: int


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))


def _names(rng: random.Random, width: int) -> str:
    given = "<".join(_surname(rng) for _ in range(rng.randint(1, 3)))
    text = _surname(rng) + ("<" + _surname(rng) if rng.random() < 0.3 else "") + "<<" + given
    return text[:width].ljust(width, "<")


def _yymmdd(rng: random.Random, lo: int, hi: int) -> str:
    return f"{rng.randint(lo, hi) % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def _number(rng: random.Random) -> str:
    alnum = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(rng.choice(alnum) for _ in range(rng.choice([8, 9, 9, 9]))).ljust(9, "<")


def mrz_text(rng: random.Random, fmt: str) -> list[str]:
    """A well-formed MRZ of format TD1, TD2, TD3, MRV-A or MRV-B."""
    state, nat = rng.choice(_STATES), rng.choice(_STATES)
    number, dob, doe = _number(rng), _yymmdd(rng, 40, 105), _yymmdd(rng, 124, 135)
    sex = rng.choice("MF<")
    if fmt == "TD1":
        l1 = "I" + rng.choice("<D") + state + number + check_digit(number)
        l1 += "".join(rng.choice("0123456789") for _ in range(rng.choice([0, 6]))).ljust(15, "<")
        l2 = dob + check_digit(dob) + sex + doe + check_digit(doe) + nat + "<" * 11
        l2 += check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
        return [l1, l2, _names(rng, 30)]
    length = 44 if fmt in ("TD3", "MRV-A") else 36
    code = {"TD3": "P<", "TD2": "I<", "MRV-A": "V<", "MRV-B": "VD"}[fmt]
    l1 = code + state + _names(rng, length - 5)
    head = number + check_digit(number) + nat + dob + check_digit(dob) + sex + doe
    head += check_digit(doe)
    if fmt == "TD3":
        personal = ("".join(rng.choice("0123456789") for _ in range(rng.randint(0, 11)))).ljust(
            14, "<"
        )
        body = head + personal + ("<" if personal == "<" * 14 else check_digit(personal))
        return [l1, body + check_digit(body[0:10] + body[13:20] + body[21:43])]
    if fmt == "TD2":
        body = head + "<" * 7
        return [l1, body + check_digit(body[0:10] + body[13:20] + body[21:35])]
    return [l1, head + "<" * (length - 28)]


_PAGE_MM = {
    "TD3": (125.0, 88.0),
    "MRV-A": (120.0, 80.0),
    "TD2": (105.0, 74.0),
    "MRV-B": (105.0, 74.0),
    "TD1": (85.6, 54.0),
}


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(6, size))


def render_page(
    rng: random.Random,
    fmt: str,
    dpi: float,
    with_mrz: bool = True,
    printed: list[PrintedMrz] | None = None,
    lines: list[str] | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """A flat data page (grey uint8) at `dpi`, and its MRZ lines; where the MRZ glyphs lie is
    appended to `printed` when given. `lines`: print these instead of a generated MRZ (a
    misprint, a national layout)."""
    mm = dpi / 25.4
    w_mm, h_mm = _PAGE_MM[fmt]
    w, h = int(w_mm * mm), int(h_mm * mm)
    tint = rng.randint(200, 245)
    page = Image.new("L", (w, h), tint)
    draw = ImageDraw.Draw(page)
    # Guilloche: families of thin sine curves across the page.
    for k in range(rng.randint(6, 14)):
        amp, freq, phase = rng.uniform(2, 9) * mm, rng.uniform(0.02, 0.08) / mm, rng.uniform(0, 6)
        y0 = rng.uniform(0, h)
        pts = [
            (x, y0 + amp * math.sin(freq * x + phase + k)) for x in range(0, w, max(1, w // 200))
        ]
        draw.line(pts, fill=tint - rng.randint(12, 35), width=max(1, int(0.15 * mm)))
    # Photo block with a face-like shape and texture.
    # The MRZ has a clear zone (9303-3 §4.3): the photo ends above it.
    mrz_zone_mm = (20 if fmt != "TD1" else 18) + 1.5
    photo_h_mm = min(h_mm * 0.55, h_mm - mrz_zone_mm - 12)
    px, py, pw, ph = int(4 * mm), int(12 * mm), int(w_mm * 0.27 * mm), int(photo_h_mm * mm)
    photo = Image.new("L", (pw, ph), rng.randint(120, 200))
    pdraw = ImageDraw.Draw(photo)
    pdraw.ellipse((pw * 0.2, ph * 0.1, pw * 0.8, ph * 0.7), fill=rng.randint(60, 170))
    pdraw.ellipse((pw * 0.05, ph * 0.65, pw * 0.95, ph * 1.3), fill=rng.randint(20, 120))
    page.paste(photo, (px, py))
    # Printed labels and values.
    small = _font(rng.choice(CLUTTER_FONTS), int(1.6 * mm))
    value = _font(rng.choice(CLUTTER_FONTS), int(2.6 * mm))
    x0 = px + pw + int(4 * mm)
    y = int(10 * mm)
    mrz_top = h - int((20 if fmt != "TD1" else 18) * mm)
    while y < mrz_top - 6 * mm:
        draw.text(
            (x0, y),
            rng.choice(
                [
                    "Surname / Nom",
                    "Given names / Prénoms",
                    "Nationality",
                    "Date of birth",
                    "Sex",
                    "Place of birth",
                    "Authority",
                    "Date of expiry",
                    "Document no.",
                ]
            ),
            font=small,
            fill=70,
        )
        draw.text(
            (x0, y + 2 * mm),
            " ".join(_surname(rng) for _ in range(rng.randint(1, 3))),
            font=value,
            fill=rng.randint(0, 60),
        )
        y += int(rng.uniform(6.5, 8.5) * mm)
    draw.text(
        (int(4 * mm), int(3 * mm)), "PASSPORT  PASSEPORT  " + _surname(rng), font=value, fill=40
    )
    if lines is None and with_mrz:
        lines = mrz_text(rng, fmt)
    if lines is not None:
        centres, ink = _draw_mrz(draw, lines, mm, h, rng)
        if printed is not None:
            printed.append(PrintedMrz(centres, ink, tint))
    return np.asarray(page), lines


def _draw_mrz(
    draw: ImageDraw.ImageDraw, lines: list[str], mm: float, h: int, rng: random.Random
) -> tuple[np.ndarray, int]:
    """OCR-B at the ICAO size: 2.54 mm pitch, ~2.4 mm character height, 4.2 mm line spacing.
    Returns the glyph centres (page pixels) and the ink's grey level."""
    font = _font(OCRB, round(3.3 * mm))
    pitch, spacing = 2.54 * mm, rng.uniform(3.9, 4.4) * mm
    left = rng.uniform(3.5, 6.0) * mm
    bottom = h - rng.uniform(3.5, 6.0) * mm
    ink = rng.randint(0, 50)
    centres = []
    for row, text in enumerate(lines):
        y = bottom - (len(lines) - row) * spacing
        for i, ch in enumerate(text):
            draw.text((left + i * pitch, y), ch, font=font, fill=ink)
            x0, y0, x1, y1 = draw.textbbox((left + i * pitch, y), ch, font=font)
            centres.append(((x0 + x1) / 2, (y0 + y1) / 2))
    return np.array(centres, np.float32), ink


def scan(
    page: np.ndarray, rng: random.Random, nrng: np.random.Generator, quality: int
) -> np.ndarray:
    """A flat-bed scan: page on the glass within ±1°, light noise, JPEG."""
    h, w = page.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-1, 1), 1.0)
    img = cv2.warpAffine(page, rot, (w, h), borderValue=255).astype(np.float32)
    img += nrng.normal(0, 2.0, img.shape)
    return _jpeg(np.clip(img, 0, 255).astype(np.uint8), quality)


def camera(
    page: np.ndarray,
    rng: random.Random,
    nrng: np.random.Generator,
    upside_down: bool = False,
    harsh: bool = False,
    printed: PrintedMrz | None = None,
    contrast: list[float] | None = None,
) -> np.ndarray:
    """A hand-held camera shot of the page on a desk; `harsh`: a poor one (strong glare,
    defocus or motion blur, low resolution, heavy JPEG, dim corners, stronger perspective).
    With `printed` (the page's MRZ glyphs), the faintest glyph's contrast is appended to
    `contrast` (see `Sample.glyph_contrast`)."""
    h, w = page.shape
    canvas_w, canvas_h = int(w * rng.uniform(1.25, 1.6)), int(h * rng.uniform(1.4, 1.9))
    angle = rng.uniform(-15, 15) + (180 if upside_down else 0)
    centre = (
        canvas_w / 2 + rng.uniform(-0.08, 0.08) * canvas_w,
        canvas_h / 2 + rng.uniform(-0.08, 0.08) * canvas_h,
    )
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot[0, 2] += centre[0] - w / 2
    rot[1, 2] += centre[1] - h / 2
    src = np.float32([[0, 0], [canvas_w, 0], [canvas_w, canvas_h], [0, canvas_h]])
    d = (0.08 if harsh else 0.05) * min(canvas_w, canvas_h)
    dst = src + np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)])
    matrix = cv2.getPerspectiveTransform(src, dst) @ np.vstack([rot, [0, 0, 1]])
    desk = rng.randint(30, 110)
    img = cv2.warpPerspective(page, matrix, (canvas_w, canvas_h), borderValue=desk)
    img = img.astype(np.float32)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    light = 1.0 - (rng.uniform(0.3, 0.7) if harsh else rng.uniform(0.1, 0.45)) * (
        (xx - rng.uniform(0, canvas_w)) ** 2 + (yy - rng.uniform(0, canvas_h)) ** 2
    ) / (canvas_w**2 + canvas_h**2)
    img *= light
    glare = np.zeros_like(img)
    if harsh or rng.random() < 0.5:
        gx, gy = rng.uniform(0, canvas_w), rng.uniform(0, canvas_h)
        r = rng.uniform(0.05, 0.15) * canvas_w
        strength = rng.uniform(90, 170) if harsh else rng.uniform(50, 110)
        glare = strength * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * r * r))
        img += glare
    if printed is not None and contrast is not None:
        contrast.append(_faintest_glyph(printed, matrix, light, glare))
    if harsh and rng.random() < 0.4:  # hand shake: linear motion blur
        k = rng.randint(5, 9)
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        turn = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (k, k))
        img = cv2.filter2D(img, -1, kernel / kernel.sum())
    else:
        img = cv2.GaussianBlur(
            img, (0, 0), rng.uniform(1.2, 2.2) if harsh else rng.uniform(0.5, 1.6)
        )
    img += nrng.normal(0, rng.uniform(6, 14) if harsh else rng.uniform(3, 8), img.shape)
    out = np.clip(img, 0, 255).astype(np.uint8)
    frame = rng.uniform(1100, 1300) if harsh else 1600  # a phone frame's resolution
    scale = rng.uniform(0.9, 1.1) * frame / max(out.shape)
    out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return _jpeg(out, rng.randint(30, 60) if harsh else rng.randint(55, 85))


def _faintest_glyph(
    printed: PrintedMrz, matrix: np.ndarray, light: np.ndarray, glare: np.ndarray
) -> float:
    """Grey-level difference between paper and ink at the glyph that light and glare left
    the least of (both clip at white); 0 when a glyph lies outside the frame."""
    points = cv2.perspectiveTransform(printed.centres.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    h, w = light.shape
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    if not inside.all():
        return 0.0
    xs, ys = np.rint(points[:, 0]).astype(int), np.rint(points[:, 1]).astype(int)
    lit, added = light[ys, xs], glare[ys, xs]
    paper = np.minimum(255.0, printed.paper * lit + added)
    ink = np.minimum(255.0, printed.ink * lit + added)
    return float((paper - ink).min())


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)


LEVELS = (
    "clean_scan",
    "scan_150dpi",
    "camera",
    "camera_upside_down",
    "camera_degraded",
    "negative",
)


def sample(rng: random.Random, nrng: np.random.Generator, level: str) -> Sample:
    fmt = rng.choices(["TD3", "TD1", "TD2", "MRV-A", "MRV-B"], weights=[45, 30, 10, 10, 5])[0]
    printed: list[PrintedMrz] = []
    contrast: list[float] = []
    if level == "clean_scan":
        page, lines = render_page(rng, fmt, rng.choice([200, 300, 400, 600]))
        img = scan(page, rng, nrng, 92)
    elif level == "scan_150dpi":
        page, lines = render_page(rng, fmt, 150)
        img = scan(page, rng, nrng, rng.randint(70, 90))
    elif level in ("camera", "camera_upside_down"):
        page, lines = render_page(rng, fmt, rng.choice([250, 300]), printed=printed)
        upside_down = level == "camera_upside_down"
        img = camera(page, rng, nrng, upside_down, printed=printed[0], contrast=contrast)
    elif level == "camera_degraded":
        page, lines = render_page(rng, fmt, 250, printed=printed)
        upside_down = rng.random() < 0.25
        img = camera(page, rng, nrng, upside_down, True, printed[0], contrast)
    elif level == "negative":
        page, lines = render_page(rng, fmt, 200, with_mrz=False)
        img = camera(page, rng, nrng) if rng.random() < 0.5 else scan(page, rng, nrng, 85)
    else:
        raise ValueError(level)
    return Sample(
        cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), lines, level, contrast[0] if contrast else None
    )


def write_set(folder: Path, per_level: dict[str, int], seed: int) -> list[tuple[Path, Sample]]:
    """Generate the set into `folder` (PNG for scans, JPEG for camera shots)."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for level, count in per_level.items():
        for i in range(count):
            s = sample(rng, nrng, level)
            ext = ".png" if "scan" in level else ".jpg"
            path = folder / f"{level}_{i:03d}{ext}"
            cv2.imwrite(str(path), s.image)
            out.append((path, s))
    return out


def burst(
    rng: random.Random, nrng: np.random.Generator, frames: int
) -> tuple[list[np.ndarray], list[str]]:
    """Several poor camera frames of one page (the hand moves between frames)."""
    fmt = rng.choices(["TD3", "TD1", "TD2", "MRV-A", "MRV-B"], weights=[45, 30, 10, 10, 5])[0]
    page, lines = render_page(rng, fmt, 250)
    assert lines is not None
    shots = [camera(page, rng, nrng, harsh=True) for _ in range(frames)]
    return [cv2.cvtColor(s, cv2.COLOR_GRAY2BGR) for s in shots], lines


def misprinted(lines: list[str], line: int, pos: int) -> list[str]:
    """The MRZ with the check digit at (line, pos) printed wrong (the next digit, mod 10)."""
    out = list(lines)
    digit = out[line][pos]
    assert digit.isdigit(), "a check digit position"
    wrong = str((int(digit) + 1) % 10)
    out[line] = out[line][:pos] + wrong + out[line][pos + 1 :]
    return out


def french_id_text(rng: random.Random) -> list[str]:
    """The 2 x 36 MRZ of a French identity card (1988-2021, not ICAO 9303): surname, issuing
    department and office; card number, given names, birth date, sex, and their check digits
    (see appliance/mrz/national.py)."""
    l1 = "IDFRA" + _surname(rng)[:25].ljust(25, "<") + f"{rng.randint(1, 95):03d}"
    l1 += f"{rng.randint(0, 999):03d}"
    number = f"{rng.randint(88, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):03d}"
    number += f"{rng.randint(0, 99999):05d}"
    given = "<<".join(_surname(rng) for _ in range(rng.randint(1, 2)))[:14].ljust(14, "<")
    dob = _yymmdd(rng, 30, 99)
    head = number + check_digit(number) + given + dob + check_digit(dob) + rng.choice("MF")
    return [l1, head + check_digit(l1 + head)]
