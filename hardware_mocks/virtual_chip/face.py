"""A synthetic, seed-determined passport portrait (JPEG) drawn with OpenCV.

The simulated chips need a DG2 face without shipping anyone's photograph: this draws a frontal
head and shoulders on a plain background with ICAO-like framing (head about 70-80 % of the image
height), adds a little sensor-like noise so the JPEG behaves like a photo, and picks the JPEG
quality that lands near the requested size (real DG2 portraits are 15-20 KB).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

WIDTH = 420
HEIGHT = 540
DEFAULT_SIZE = 20_000

_SKIN_TONES = ((200, 220, 245), (150, 185, 225), (110, 150, 200), (70, 105, 160), (50, 75, 120))
_HAIR_COLOURS = ((20, 20, 25), (30, 50, 90), (60, 100, 150), (150, 150, 150), (40, 40, 60))
_CLOTHES = ((90, 40, 30), (40, 40, 40), (140, 120, 100), (60, 90, 40), (30, 30, 120))


def draw_portrait(seed: int) -> NDArray[np.uint8]:
    """BGR pixels of a frontal portrait; the seed picks skin, hair, clothes and proportions."""
    rng = np.random.default_rng(seed)
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    top = np.array((235, 230, 225), np.float32)
    bottom = np.array((205, 200, 195), np.float32)
    ramp = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None]
    img[:] = (top * (1 - ramp) + bottom * ramp).astype(np.uint8)

    skin = _pick(rng, _SKIN_TONES)
    hair = _pick(rng, _HAIR_COLOURS)
    cx = WIDTH // 2 + int(rng.integers(-6, 7))
    cy = int(HEIGHT * 0.42)
    head_w = int(rng.integers(100, 120))
    head_h = int(head_w * rng.uniform(1.28, 1.4))

    cv2.ellipse(img, (cx, HEIGHT + 40), (190, 150), 0, 180, 360, _pick(rng, _CLOTHES), -1)
    cv2.rectangle(
        img, (cx - 45, cy + head_h - 40), (cx + 45, cy + head_h + 70), _shade(skin, 0.85), -1
    )
    cv2.ellipse(img, (cx, cy - 15), (head_w + 12, head_h + 8), 0, 180, 360, hair, -1)
    for side in (-1, 1):
        cv2.ellipse(img, (cx + side * head_w, cy + 10), (16, 30), 0, 0, 360, _shade(skin, 0.9), -1)
    cv2.ellipse(img, (cx, cy), (head_w, head_h), 0, 0, 360, skin, -1)
    cv2.ellipse(img, (cx, cy - head_h + 25), (head_w, 50), 0, 180, 360, hair, -1)

    eye_y = cy - int(head_h * 0.12)
    eye_dx = int(head_w * 0.42)
    iris = _pick(rng, ((60, 40, 20), (40, 70, 30), (120, 80, 30), (30, 30, 30)))
    for side in (-1, 1):
        ex = cx + side * eye_dx
        cv2.ellipse(img, (ex, eye_y), (22, 11), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, (ex, eye_y), 9, iris, -1)
        cv2.circle(img, (ex, eye_y), 4, (10, 10, 10), -1)
        cv2.circle(img, (ex + 3, eye_y - 3), 2, (255, 255, 255), -1)
        cv2.ellipse(img, (ex, eye_y - 22), (26, 7), 0, 180, 360, _shade(hair, 0.8), 4)
    nose_y = cy + int(head_h * 0.22)
    cv2.line(img, (cx - 3, eye_y + 10), (cx - 8, nose_y), _shade(skin, 0.75), 2)
    cv2.ellipse(img, (cx, nose_y), (16, 7), 0, 0, 180, _shade(skin, 0.7), 2)
    mouth_y = cy + int(head_h * 0.5)
    cv2.ellipse(img, (cx, mouth_y), (32, 8), 0, 0, 180, (90, 90, 170), 5)

    blurred = cv2.GaussianBlur(img, (5, 5), 1.2).astype(np.float32)
    noise = rng.normal(0.0, 4.0, img.shape).astype(np.float32)
    noisy: NDArray[np.uint8] = np.clip(blurred + noise, 0, 255).astype(np.uint8)
    return noisy


def _pick(rng: np.random.Generator, options: tuple[tuple[int, int, int], ...]) -> tuple[int, ...]:
    return tuple(int(v) for v in options[int(rng.integers(len(options)))])


def _shade(colour: tuple[int, ...], factor: float) -> tuple[int, ...]:
    return tuple(int(c * factor) for c in colour)


def encode_jpeg_near(image: NDArray[np.uint8], target_bytes: int) -> bytes:
    """The highest-quality JPEG of `image` not larger than `target_bytes` (quality 10..95)."""
    best: bytes | None = None
    low, high = 10, 95
    while low <= high:
        quality = (low + high) // 2
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        data = buffer.tobytes()
        if len(data) <= target_bytes:
            best, low = data, quality + 1
        else:
            high = quality - 1
    if best is None:
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 10])
        best = buffer.tobytes()
    return best


@lru_cache(maxsize=32)
def synthetic_face_jpeg(seed: int = 0, target_bytes: int = DEFAULT_SIZE) -> bytes:
    """A synthetic portrait JPEG of about `target_bytes` (same seed, same bytes)."""
    return encode_jpeg_near(draw_portrait(seed), target_bytes)
