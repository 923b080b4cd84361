"""ICAO/ISO 19794-5 "token" face images, as stored in DG2: fixed eye geometry, small files.

A token frontal image of width W has the eyes on a horizontal line 0.6 W from the top, centred,
0.25 W apart; the height is W / 0.75. Chips store it as JPEG or JPEG 2000 of roughly 12-20 KB.
Used to make chip-like references from ordinary photos (benchmark, virtual chip, tests).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.align import similarity_transform
from appliance.biometrics.face.detect import LEFT_EYE, RIGHT_EYE, DetectedFace

TOKEN_WIDTH = 480
TOKEN_HEIGHT = 640
DG2_TARGET_BYTES = 15_000


class TokenFormat(StrEnum):
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"


def token_image(image_bgr: NDArray[np.uint8], face: DetectedFace) -> NDArray[np.uint8]:
    """The 480x640 token crop of a face (eyes levelled, 120 px apart, at y = 288)."""
    w = TOKEN_WIDTH
    dst = np.array([[0.5 * w - 0.125 * w, 0.6 * w], [0.5 * w + 0.125 * w, 0.6 * w]])
    src = face.keypoints[[RIGHT_EYE, LEFT_EYE]]
    matrix = similarity_transform(src, dst, np.ones(2))
    token = cv2.warpAffine(
        image_bgr,
        matrix,
        (TOKEN_WIDTH, TOKEN_HEIGHT),
        flags=cv2.INTER_AREA if np.hypot(*matrix[0, :2]) < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(token, dtype=np.uint8)


def _encode(image: NDArray[np.uint8], fmt: TokenFormat, level: int) -> bytes:
    if fmt is TokenFormat.JPEG:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, level])
    else:
        ok, buf = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, level])
    if not ok:
        raise ValueError(f"{fmt} encoding failed")
    return bytes(buf.tobytes())


def encode_to_size(
    image: NDArray[np.uint8],
    fmt: TokenFormat,
    target_bytes: int = DG2_TARGET_BYTES,
    slack: float = 0.0,
) -> bytes:
    """The best-quality encoding that fits in target_bytes: the highest quality level whose
    encoding fits (the lowest level's when none does), size being monotonic in the level.
    With `slack` > 0 the first encoding that fits and fills at least (1 - slack) of the target
    is taken without looking higher: a benchmark making thousands of chip-like references
    saves the second JPEG 2000 encoding (half its time) for a file a few per cent smaller.

    JPEG 2000's level is a rate (about raw bytes x level / 1000), so the search starts at the
    level that rate predicts and usually ends after two encodings instead of ten; JPEG's
    quality is not a rate, and is bisected over its whole range."""
    lo, hi = (1, 100) if fmt is TokenFormat.JPEG else (1, 1000)
    start = (lo + hi) // 2
    if fmt is TokenFormat.JPEG2000:
        start = min(max(target_bytes * 1000 // max(image.nbytes, 1), lo), hi)
    encoded: dict[int, bytes] = {}

    def fits(level: int) -> bool:
        if level not in encoded:
            encoded[level] = _encode(image, fmt, level)
        return len(encoded[level]) <= target_bytes

    if slack > 0.0 and fits(start) and len(encoded[start]) >= (1.0 - slack) * target_bytes:
        return encoded[start]
    good, bad = _bracket(fits, start, lo, hi)
    while bad - good > 1:  # invariant: good fits (or is lo - 1), bad does not (or is hi + 1)
        mid = (good + bad) // 2
        good, bad = (mid, bad) if fits(mid) else (good, mid)
    if good < lo:
        return encoded.get(lo) or _encode(image, fmt, lo)
    return encoded[good]


def _bracket(fits: Callable[[int], bool], start: int, lo: int, hi: int) -> tuple[int, int]:
    """(a level that fits or lo - 1, a higher one that does not or hi + 1), galloping from
    start in steps that double, so a good start costs two encodings and a poor one a few more."""
    step = 1
    if fits(start):
        good = start
        while good < hi:
            probe = min(good + step, hi)
            if not fits(probe):
                return good, probe
            good, step = probe, step * 2
        return good, hi + 1
    bad = start
    while bad > lo:
        probe = max(bad - step, lo)
        if fits(probe):
            return probe, bad
        bad, step = probe, step * 2
    return lo - 1, bad
