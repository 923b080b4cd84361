"""Find the MRZ in a photo or scan: groups of 2 or 3 long, parallel, evenly spaced text lines.

Works on a downscaled copy for speed. Dark text is lifted off uneven light with a black-hat
filter, characters are joined into line blobs by a horizontal closing (lines tilted by up to
±15° still join, since neighbouring glyphs overlap vertically), and each blob becomes a rotated
rectangle. MRZ lines are then the blobs that come in parallel groups of equal length at the
spacing of MRZ lines (or half as long or more and flush with one end, where glare wiped part
of a line; the reader takes the lost part's extent from the other lines). Upside-down is
*not* decided here (a rectangle has no "up"); the reader tries both readings of each group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

#: OpenCV returns loosely typed arrays; grey uint8 images in practice.
GrayImage = npt.NDArray[Any]

#: Longest side of the working copy; MRZ glyphs stay >= ~6 px for MRZs spanning 30% of a frame.
WORK_SIZE = 900


@dataclass(frozen=True)
class LineBox:
    """One text line as a rotated rectangle in the *original* image's pixel coordinates."""

    cx: float
    cy: float
    length: float
    height: float
    angle_deg: float  # direction of the line's baseline, in (-90, 90]

    def scaled(self, factor: float) -> LineBox:
        return LineBox(
            self.cx * factor,
            self.cy * factor,
            self.length * factor,
            self.height * factor,
            self.angle_deg,
        )


def to_gray(image: npt.NDArray[np.uint8]) -> GrayImage:
    """Grey copy of a BGR, BGRA or grey image: each pixel's brightest colour channel.

    Why not luminance: MRZ ink is black in every channel, while coloured marks over or around
    it (a highlighter, a red frame drawn round the MRZ, a stamp, coloured guilloches) are
    bright in at least one channel and so fade to paper here instead of joining the text.
    """
    if image.ndim == 2:
        return image
    blue, green, red = image[..., 0], image[..., 1], image[..., 2]
    return cv2.max(cv2.max(blue, green), red)


def percentile_u8(image: GrayImage, q: float) -> float:
    """Percentile of a uint8 image from its histogram (np.percentile sorts: 10x slower)."""
    hist = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, cumulative[-1] * q / 100.0))


def _ink(small: GrayImage) -> GrayImage:
    """Binary mask of thin dark strokes (text), independent of the light across the image."""
    smooth = cv2.GaussianBlur(small, (3, 3), 0)  # sensor noise would otherwise pass as ink
    blackhat = cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, np.ones((9, 9), np.uint8))
    _, ink = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Otsu on a mostly blank page can pick a threshold inside the noise: insist on real contrast.
    floor = max(12.0, percentile_u8(blackhat, 99.0) * 0.25)
    ink[blackhat < floor] = 0
    return ink


def _line_blobs(ink: GrayImage, join: int) -> list[LineBox]:
    joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, join), np.uint8))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pieces: list[LineBox] = []
    for contour in contours:
        if len(contour) < 5:
            continue
        # The tests below keep only pieces with h >= 3, w >= 2h and area >= 0.45 w h, so an
        # area under 0.45 * 18 rules a piece out before fitting its rectangle (most specks).
        area = cv2.contourArea(contour)
        if area < 0.45 * 18:
            continue
        rect = cv2.minAreaRect(contour)
        (cx, cy), (w, h) = rect[0], rect[1]
        w, h = max(w, h), min(w, h)
        angle = _long_side_angle(cv2.boxPoints(rect))
        if h < 3 or w < 2 * h or abs(angle) > 35:
            continue
        # A line blob is mostly ink along its length: reject thin diagonal strokes / frames.
        if area < 0.45 * w * h:
            continue
        pieces.append(LineBox(cx, cy, w, h, angle))
    min_length = 0.15 * max(ink.shape)
    return [b for b in _bridge_gaps(pieces) if b.length >= min_length and b.length >= 8 * b.height]


def _bridge_gaps(boxes: list[LineBox], max_gap: float = 10.0) -> list[LineBox]:
    """The blobs, plus lines rebuilt from pieces that lie end to end on one axis.

    Glare can wipe a stretch of an MRZ line and split it in two blobs; nothing else is printed
    in line with the MRZ (its clear zone, ICAO 9303-3), so pieces of the same height on the
    same axis, at most `max_gap` heights apart, are joined. The pieces stay candidates too.
    """
    out = list(boxes)
    for a, b in combinations(boxes, 2):
        if abs(a.angle_deg - b.angle_deg) > 3.0 or not 0.6 <= a.height / b.height <= 1.6:
            continue
        theta = math.radians(
            (a.angle_deg * a.length + b.angle_deg * b.length) / (a.length + b.length)
        )
        ux, uy = math.cos(theta), math.sin(theta)
        height = (a.height + b.height) / 2
        dx, dy = b.cx - a.cx, b.cy - a.cy
        if abs(-dx * uy + dy * ux) > 0.5 * height:
            continue  # not on the same axis
        along = dx * ux + dy * uy
        gap = abs(along) - (a.length + b.length) / 2
        if gap < -2 * height or gap > max_gap * height:
            continue
        lo = min(-a.length / 2, along - b.length / 2)
        hi = max(a.length / 2, along + b.length / 2)
        mid = (lo + hi) / 2
        out.append(LineBox(a.cx + mid * ux, a.cy + mid * uy, hi - lo, height, math.degrees(theta)))
    return out


def _long_side_angle(points: npt.NDArray[Any]) -> float:
    """Direction of a rectangle's long side in degrees, folded into (-90, 90]."""
    e1 = points[1] - points[0]
    e2 = points[2] - points[1]
    edge = e1 if float(np.hypot(*e1)) >= float(np.hypot(*e2)) else e2
    angle = math.degrees(math.atan2(float(edge[1]), float(edge[0])))
    while angle <= -90.0:
        angle += 180.0
    while angle > 90.0:
        angle -= 180.0
    return angle


def _compatible(a: LineBox, b: LineBox, max_gap: float = 4.0) -> bool:
    """Whether two lines could be neighbouring MRZ lines: parallel, about as high, at MRZ
    line spacing, and equally long, or (glare having wiped part of one) half as long or more
    and ending where the other starts or ends."""
    if abs(a.angle_deg - b.angle_deg) > 4.0:
        return False
    if not 0.5 <= a.height / b.height <= 2.0:
        return False
    longer, shorter = max(a.length, b.length), min(a.length, b.length)
    if shorter < 0.5 * longer:
        return False
    theta = math.radians((a.angle_deg + b.angle_deg) / 2)
    dx, dy = b.cx - a.cx, b.cy - a.cy
    along = dx * math.cos(theta) + dy * math.sin(theta)
    across = -dx * math.sin(theta) + dy * math.cos(theta)
    height = (a.height + b.height) / 2
    if not 1.1 * height < abs(across) < max_gap * height:
        return False
    if shorter >= 0.8 * longer:
        return abs(along) < 0.12 * longer
    return abs(abs(along) - (longer - shorter) / 2) < 0.06 * longer


def _across(box: LineBox, origin: LineBox) -> float:
    theta = math.radians(origin.angle_deg)
    return -(box.cx - origin.cx) * math.sin(theta) + (box.cy - origin.cy) * math.cos(theta)


def _group_lines(boxes: list[LineBox]) -> list[tuple[float, list[LineBox]]]:
    """Candidate MRZs, best first: 3-line groups (TD1) with even spacing, then pairs.

    `_compatible` is symmetric, so each pair is judged once (at both gaps) and the trios are
    built from pairs that passed: a page of many lines has thousands of trios but far fewer
    compatible pairs."""
    n = len(boxes)
    near = [[False] * n for _ in range(n)]  # neighbouring lines (max_gap 4)
    wide = [[False] * n for _ in range(n)]  # lines of one group, not neighbours (max_gap 8)
    for i, j in combinations(range(n), 2):
        if _compatible(boxes[i], boxes[j], max_gap=8.0):
            wide[i][j] = wide[j][i] = True
            near[i][j] = near[j][i] = _compatible(boxes[i], boxes[j])
    groups: list[tuple[float, list[LineBox]]] = []
    for i, j, k in combinations(range(n), 3):
        if not (wide[i][j] and wide[i][k] and wide[j][k]):
            continue
        trio = (boxes[i], boxes[j], boxes[k])
        a, b, c = sorted((i, j, k), key=lambda t: _across(boxes[t], trio[0]))
        if not (near[a][b] and near[b][c]):
            continue
        ordered = [boxes[a], boxes[b], boxes[c]]
        gaps = [_across(ordered[1], ordered[0]), _across(ordered[2], ordered[1])]
        if max(gaps) < 1.35 * min(gaps):
            groups.append((sum(x.length for x in trio) * 1.5 * _evenness(trio), ordered))
    for i, j in combinations(range(n), 2):
        if near[i][j]:
            pair = (boxes[i], boxes[j])
            ordered = sorted(pair, key=lambda b: _across(b, pair[0]))
            groups.append((sum(x.length for x in pair) * _evenness(pair), ordered))
    return groups


def _evenness(lines: tuple[LineBox, ...]) -> float:
    """Shortest / longest line: MRZ lines are all equally long (glare that shortens one is
    the exception), while printed lines that merely stack like an MRZ's rarely are."""
    lengths = [b.length for b in lines]
    return min(lengths) / max(lengths)


def find_mrz_candidates(gray: GrayImage, limit: int = 4) -> list[list[LineBox]]:
    """Up to `limit` candidate line groups (in image coordinates), most MRZ-like first.

    Lines inside a group are ordered top to bottom as the image lies; the reader also tries
    the group turned by 180°.
    """
    return [group for _, group in find_mrz_candidates_turned(gray, limit, turns=(0,))]


def _turn_matrix(shape: tuple[int, ...], degrees: int) -> tuple[npt.NDArray[Any], tuple[int, int]]:
    """Affine map turning an image of `shape` clockwise by `degrees` onto a canvas that holds
    all of it, and that canvas's (width, height)."""
    h, w = shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = round(h * s + w * c), round(h * c + w * s)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m, (nw, nh)


def turned(image: GrayImage, degrees: int, border: int = cv2.BORDER_REPLICATE) -> GrayImage:
    """The image turned clockwise by `degrees` on a canvas that holds all of it (quarter turns
    are exact; others interpolate)."""
    if degrees % 360 == 0:
        return image
    if degrees % 90 == 0:
        codes = {
            90: cv2.ROTATE_90_CLOCKWISE,
            180: cv2.ROTATE_180,
            270: cv2.ROTATE_90_COUNTERCLOCKWISE,
        }
        return cv2.rotate(image, codes[degrees % 360])
    m, size = _turn_matrix(image.shape, degrees)
    return cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR, borderMode=border)


def _turned_back(group: list[LineBox], shape: tuple[int, ...], degrees: int) -> list[LineBox]:
    """A group found in `turned(image, degrees)` (`shape`: the image's), in the coordinates
    of `turned(image, quarter(degrees))`, the nearest exact quarter turn: its lines are then
    cut from those pixels (one interpolation, not two) and lie within ±45° of level there, in
    the same top-to-bottom order."""
    m, _ = _turn_matrix(shape, degrees)
    back = cv2.invertAffineTransform(m)  # view -> image
    quarter = quarter_of(degrees)
    out = []
    for box in group:
        x, y = back @ np.array([box.cx, box.cy, 1.0])
        h, w = shape[:2]
        for _ in range(quarter // 90):  # image -> image turned a quarter clockwise
            x, y, h, w = h - 1 - y, x, w, h
        angle = box.angle_deg - (degrees - quarter)
        out.append(LineBox(float(x), float(y), box.length, box.height, angle))
    return out


def quarter_of(degrees: int) -> int:
    """The quarter turn (0, 90, 180, 270) nearest to `degrees`."""
    return (round(degrees / 90) * 90) % 360


#: Views the locator looks through first, in degrees clockwise: as the image lies and a
#: quarter turn on (each view joins lines tilted up to ~15° from its axis).
TURNS = (0, 90)
#: A page tilted by less than this from an axis is left to those two views.
MIN_TILT = 8.0


class Locator:
    """The MRZ lines of one image, looked for through views turned by any angle.

    Why views: line blobs only form along the horizontal closing, so text running up or down
    the page yields no line-shaped blob as the image lies but clean ones a quarter turn on,
    and text tilted ~20° or more merges across lines. The ink mask of the small working copy
    is computed once; each view's blobs once per joining distance. The reader looks through
    the likelier straight view first (`straight_views`), then the other and the views that
    level a tilted page, only while nothing was read; the 180° ambiguity of each view is left
    to the reader (both sides of each group).
    """

    def __init__(self, gray: GrayImage) -> None:
        self.scale = min(1.0, WORK_SIZE / max(gray.shape))
        small = (
            gray
            if self.scale == 1.0
            else cv2.resize(gray, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        )
        self.ink = _ink(small)
        self._blobs: dict[tuple[int, int], list[LineBox]] = {}

    def blobs(self, turn: int, join: int) -> list[LineBox]:
        """Line blobs of the view turned by `turn` degrees, in that view's small coordinates."""
        key = (turn, join)
        if key not in self._blobs:
            view = turned(self.ink, turn, cv2.BORDER_CONSTANT)
            if turn % 90:  # interpolation greys the mask's edges: keep it binary, lines apart
                view = np.where(view > 127, 255, 0).astype(np.uint8)
            self._blobs[key] = _line_blobs(view, join)
        return self._blobs[key]

    def straight_views(self) -> tuple[int, int]:
        """The image as it lies and a quarter turn on, the one with more line-shaped ink first
        (the way most of the page's text runs)."""
        ink = {turn: sum(b.length * b.height for b in self.blobs(turn, 13)) for turn in TURNS}
        first, second = sorted(TURNS, key=lambda t: -ink[t])
        return first, second

    def text_tilt(self) -> float:
        """The dominant direction of the page's strokes, in degrees in [-45, 45): how far its
        text lines are tilted from the nearest axis (modulo 90°, so up, down and sideways).

        Printed text is made of horizontal and vertical strokes, so the gradient directions
        of its ink cluster at its tilt and the tilt + 90°; the strength-weighted mean of 4x
        the gradient angle finds that cluster in one pass over the small copy (a few ms).
        """
        strokes = cv2.GaussianBlur(self.ink, (5, 5), 0)
        gx = cv2.Sobel(strokes, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(strokes, cv2.CV_32F, 0, 1, ksize=3)
        weight = gx * gx + gy * gy
        angle4 = 4.0 * np.arctan2(gy, gx)
        c = float((weight * np.cos(angle4)).sum())
        s = float((weight * np.sin(angle4)).sum())
        return math.degrees(math.atan2(s, c)) / 4.0

    def line_tilt(self) -> float | None:
        """The direction of the longest line-shaped blob of the straight views, in degrees in
        [-45, 45) (None when there is none). Exact where `text_tilt` is swayed by other strokes
        (a photo, a signature): two MRZ lines tilted by 20° merge into one long blob in the
        straight view, which still points along them."""
        best: tuple[float, float] | None = None
        for turn in TURNS:
            for blob in self.blobs(turn, 13):
                if best is None or blob.length > best[0]:
                    best = (blob.length, blob.angle_deg - turn)
        if best is None:
            return None
        return (best[1] + 45.0) % 90.0 - 45.0

    def candidates(self, turns: tuple[int, ...], limit: int = 4) -> list[tuple[int, list[LineBox]]]:
        """Candidate groups seen through each view in `turns`, most MRZ-like first: (a quarter
        turn, group in the coordinates of `turned(gray, that quarter turn)`); a group seen
        through a view between quarter turns is mapped back to the nearest one."""
        found: list[tuple[float, int, list[LineBox]]] = []
        for turn in turns:
            # Joining distance: 13 px suits most glyph sizes at the working scale; 7 keeps
            # small, tightly spaced lines apart, 25 bridges the gaps of large glyphs (600 dpi
            # scans, close-ups). Every distance is tried: printed text elsewhere on the page
            # may group well at one distance while the MRZ only holds together at another.
            for join in (13, 7, 25):
                for score, group in _group_lines(self.blobs(turn, join)):
                    if turn % 90 == 0:
                        found.append((score, turn % 360, group))
                    else:
                        back = _turned_back(group, self.ink.shape, turn)
                        found.append((score, quarter_of(turn), back))
        found.sort(key=lambda item: -item[0])
        seen: list[tuple[int, list[LineBox]]] = []
        for _, turn, group in found:
            if not any(t == turn and _same_group(group, other) for t, other in seen):
                seen.append((turn, group))
            if len(seen) == limit:
                break
        return [(turn, [box.scaled(1 / self.scale) for box in group]) for turn, group in seen]


def tilt_turns(*tilts: float | None) -> tuple[int, ...]:
    """The views that level lines tilted by any of `tilts` degrees (none for a tilt the
    straight views already cover), each tilt once."""
    levels: list[int] = []
    for tilt in tilts:
        if tilt is None or abs(tilt) < MIN_TILT:
            continue
        level = -round(tilt)
        if all(abs(level - other) > 4 for other in levels):
            levels.append(level)
    return tuple(turn for level in levels for turn in (level, level + 90))


def find_mrz_candidates_turned(
    gray: GrayImage, limit: int = 4, turns: tuple[int, ...] = TURNS
) -> list[tuple[int, list[LineBox]]]:
    """`Locator(gray).candidates(turns, limit)`."""
    return Locator(gray).candidates(turns, limit)


def _same_group(a: list[LineBox], b: list[LineBox]) -> bool:
    if len(a) != len(b):
        return False
    return all(
        math.hypot(x.cx - y.cx, x.cy - y.cy) < 0.5 * max(x.height, y.height)
        for x, y in zip(a, b, strict=True)
    )
