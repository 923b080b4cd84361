"""Render MRZ blocks in OCR-B with heavy, randomised degradation (the *training* generator).

The benchmark's generator (`hardware_mocks/mrz_frames.py`) is its own, independent code with
its own seed, so the measured accuracy is not a measure of how well the model memorised this one.
"""

from __future__ import annotations

import glob
import math
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts/opentype/ocr-b", "/usr/share/fonts/truetype/ocr-b")


def ocrb_fonts() -> dict[str, str]:
    """Paths of the Debian fonts-ocr-b faces we train on (regular, sharp, oblique)."""
    found: dict[str, str] = {}
    for folder in FONT_DIRS:
        for path in glob.glob(f"{folder}/*.otf") + glob.glob(f"{folder}/*.ttf"):
            name = path.rsplit("/", 1)[-1].split(".")[0].upper()
            found[name] = path
    if "OCRB" not in found:
        raise SystemExit("OCR-B not found: apt-get install fonts-ocr-b")
    return found


@dataclass
class Block:
    image: np.ndarray  # grey uint8
    upside_down: bool


def _font(path: str, size: int, cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}):  # noqa: B006
    key = (path, size)
    if key not in cache:
        cache[key] = ImageFont.truetype(path, size)
    return cache[key]


def render_lines(
    lines: list[str], pitch: float, rng: random.Random, fonts: dict[str, str], hi: int = 3
) -> np.ndarray:
    """Ink mask (float32 0..1, 1 = ink) of the MRZ at `pitch` px, margins included.

    Drawn `hi` times larger, then printed (`_print`: stroke weight, ink spread, toner or
    halftone texture) and scanned down (optical blur, then area or aliasing resampling). Real
    MRZs vary round OCR-B's nominal proportions: glyphs a little small or narrow for the
    pitch (a page printed with its own OCR-B cut), strokes thin or heavy.
    """
    face = fonts["OCRB"] if rng.random() < 0.8 or "OCRBS" not in fonts else fonts["OCRBS"]
    advance_ratio = 0.723  # OCR-B advance per em
    size = max(8, round(pitch * hi / advance_ratio / rng.uniform(0.98, 1.12)))
    if rng.random() < 0.3:  # a smaller glyph at the same pitch
        size = max(8, round(size * rng.uniform(0.8, 0.98)))
    font = _font(face, size)
    p = pitch * hi
    spacing = size * rng.uniform(1.35, 1.9)
    margin_x = p * rng.uniform(1.0, 4.0)
    margin_y = size * rng.uniform(0.8, 2.5)
    width = int(2 * margin_x + len(lines[0]) * p)
    height = int(2 * margin_y + (len(lines) - 1) * spacing + size)
    # Glyphs narrower or wider than OCR-B's: drawn on a canvas stretched by 1/aspect, at the
    # pitch it stretches to, then squeezed back to the page's width.
    aspect = rng.uniform(0.85, 1.08) if rng.random() < 0.4 else 1.0
    canvas = Image.new("L", (max(1, int(width / aspect)), height), 0)
    draw = ImageDraw.Draw(canvas)
    jitter = rng.uniform(0.0, 0.04) * p
    for row, text in enumerate(lines):
        y0 = margin_y + row * spacing + rng.uniform(-0.03, 0.03) * size
        for i, ch in enumerate(text):
            x = margin_x + i * p + rng.uniform(-jitter, jitter)
            draw.text(
                (x / aspect, y0 + rng.uniform(-jitter, jitter) * 0.5), ch, font=font, fill=255
            )
    ink = np.asarray(canvas, dtype=np.uint8)
    if aspect != 1.0:
        ink = cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)
    ink = _print(ink, size, hi, rng, np.random.default_rng(rng.getrandbits(32)))
    if rng.random() < 0.6:  # scanner or lens optics before the sensor samples the page
        ink = cv2.GaussianBlur(ink, (0, 0), hi * rng.uniform(0.15, 0.7))
    small_size = (max(1, width // hi), max(1, height // hi))
    if rng.random() < 0.8:
        small = cv2.resize(ink, small_size, interpolation=cv2.INTER_AREA)
    else:  # a cheap resampler: aliased strokes, as a downscaled photo or screenshot shows
        small = cv2.resize(ink, small_size, interpolation=cv2.INTER_LINEAR)
    return np.clip(small, 0.0, 1.0).astype(np.float32)


def _print(
    ink: np.ndarray, size: int, hi: int, rng: random.Random, nrng: np.random.Generator
) -> np.ndarray:
    """Print the drawn glyphs (uint8 mask) as float ink in 0..1: stroke weight, spread, texture."""
    mask = ink.astype(np.float32) / 255.0
    r = rng.random()
    if r < 0.45:  # ink spread: rounded corners, strokes thinner or heavier than the font's
        blurred = cv2.GaussianBlur(mask, (0, 0), max(0.5, size * rng.uniform(0.01, 0.04)))
        mask = (blurred > rng.uniform(0.3, 0.7)).astype(np.float32)
    elif r < 0.65:
        k = max(1, round(hi * rng.uniform(0.3, 1.0)))
        op = cv2.erode if rng.random() < 0.5 else cv2.dilate
        mask = op(mask, np.ones((k, k), np.uint8))
    t = rng.random()
    if t < 0.25:  # toner or inkjet: mottled coverage
        noise = nrng.normal(0, 1, mask.shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), max(0.7, size * rng.uniform(0.01, 0.05)))
        noise /= max(float(noise.std()), 1e-6)
        mask *= np.clip(1.0 - rng.uniform(0.1, 0.45) * np.abs(noise), 0.0, 1.0)
    elif t < 0.4:  # halftone screen at about the scan's sampling pitch (moire after it)
        period = hi * rng.uniform(0.5, 2.0)
        angle = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float32)
        u = (np.cos(angle) * xx + np.sin(angle) * yy) * 2 * math.pi / period
        v = (-np.sin(angle) * xx + np.cos(angle) * yy) * 2 * math.pi / period
        screen = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
        mask *= 1.0 - rng.uniform(0.2, 0.6) * screen
    return mask


def _paper(shape: tuple[int, int], rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    h, w = shape
    base = rng.uniform(140, 250)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(angle) * xx / max(w, 1) + np.sin(angle) * yy / max(h, 1)) * rng.uniform(0, 70)
    paper = base - ramp
    if rng.random() < 0.5:  # guilloche-like security background
        f1, f2 = rng.uniform(0.02, 0.15), rng.uniform(0.02, 0.15)
        paper += rng.uniform(3, 25) * np.sin(f1 * xx + 3 * np.sin(f2 * yy))
    if rng.random() < 0.5:
        texture = cv2.GaussianBlur(nrng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2)
        paper += texture * rng.uniform(2, 12)
    return paper


def degrade(
    img: np.ndarray, rng: random.Random, nrng: np.random.Generator, pitch: float = 12.0
) -> np.ndarray:
    """Camera/scanner faults on a float grey image: glare, blur, noise, JPEG, and the
    artefacts of scanning software (sharpening, binarisation, resampling).

    Blur is bounded relative to the glyph `pitch`: a 2-px blur that a 12-px glyph survives
    wipes out a 5-px one, and a label on a glyph nobody could read only teaches the model
    to doubt every low-resolution glyph.
    """
    small = min(1.0, pitch / 10.0)
    h, w = img.shape
    if rng.random() < 0.45:  # glare spot
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        sx, sy = rng.uniform(0.05, 0.4) * w, rng.uniform(0.1, 1.0) * h
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        spot = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))
        img = img + spot * rng.uniform(40, 180)
    r = rng.random()
    if r < 0.45:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 2.2) * small)
    elif r < 0.75:  # hand shake
        k = max(3, round(rng.randint(3, 9) * small))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    img = img + nrng.normal(0, rng.uniform(0, 16), img.shape).astype(np.float32)
    if rng.random() < 0.2:  # a scanner's or phone's sharpening (unsharp mask): halos
        soft = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.7, 2.0))
        img = img + rng.uniform(0.4, 1.5) * (img - soft)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.05:  # binarised (fax, document scanner in black-and-white mode)
        block = 2 * max(1, round(1.5 * pitch)) + 1
        out = cv2.adaptiveThreshold(
            out, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, rng.uniform(4, 20)
        )
    if rng.random() < 0.6:
        _, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 95)])
        out = cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)
    if rng.random() < 0.1:  # a small image enlarged for display (a screenshot, a web page)
        f = rng.uniform(1.3, 2.5)
        out = cv2.resize(out, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
    return out


def render_block(
    lines: list[str], rng: random.Random, nrng: np.random.Generator, fonts: dict[str, str]
) -> Block:
    """An MRZ on paper, turned by up to ±15° (sometimes upside down), then degraded."""
    # A third of the pages at low resolution (4.5-9 px per glyph: a 100-150 dpi scan, a
    # thumbnail), where glyph shapes rest on a few pixels; drawn at a finer scale there.
    pitch = rng.uniform(4.5, 9.0) if rng.random() < 0.33 else rng.uniform(7.0, 36.0)
    ink = render_lines(lines, pitch, rng, fonts, hi=max(3, min(8, math.ceil(30 / pitch))))
    upside_down = rng.random() < 0.2
    angle = rng.uniform(-15, 15) + (180 if upside_down else 0)
    h, w = ink.shape
    diag = int(math.hypot(h, w)) + 4
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rot[0, 2] += (diag - w) / 2
    rot[1, 2] += (diag - h) / 2
    matrix = np.vstack([rot, [0, 0, 1]])
    if rng.random() < 0.4:  # mild perspective
        src = np.float32([[0, 0], [diag, 0], [diag, diag], [0, diag]])
        d = diag * 0.04
        dst = src + np.float32([[rng.uniform(-d, d), rng.uniform(-d, d)] for _ in range(4)])
        matrix = cv2.getPerspectiveTransform(src, dst) @ matrix
    ink = cv2.warpPerspective(ink, matrix, (diag, diag), borderValue=0)
    paper = _paper(ink.shape, rng, nrng)
    img = paper * (1 - ink) + rng.uniform(0, 100) * ink
    return Block(degrade(img, rng, nrng, pitch), upside_down)
