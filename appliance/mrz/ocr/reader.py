"""Read the MRZ of one image: locate, try each reading (orientation, line length), decode, judge.

`MrzImageReader` loads the ONNX model once and is then reused for every image or camera
frame, so a batch of images pays the model start-up once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from appliance.errors import Reason
from appliance.mrz.ocr.decode import Decoded, decode
from appliance.mrz.ocr.layout import CLASSES, Layout, layouts_for, relaxed_layouts_for
from appliance.mrz.ocr.lines import aligned_strips, stretched_strips
from appliance.mrz.ocr.localize import (
    GrayImage,
    LineBox,
    Locator,
    tilt_turns,
    to_gray,
    turned,
)
from appliance.mrz.ocr.recognizer import GlyphRecognizer
from appliance.mrz.ocr.segment import cut_glyphs
from appliance.mrz.ocr.strip import FloatArray, LineStrip, extract_strip
from appliance.mrz.ocr.verdict import Verdict, verdict

#: Candidate line groups tried per view: a page's printed lines above the MRZ can outrank
#: it as a 3-line group (an old ID card's address over its 2-line MRZ), so a few more than
#: the locator's default; they cost time only on images whose first candidates fail.
CANDIDATES = 6
#: Glyph width / text height of a full line, per line length, to try the likelier length first.
_EXPECTED_RATIO = {44: 46.0, 36: 37.5, 30: 31.0}


@dataclass(frozen=True)
class MrzRead:
    """The outcome for one image: `lines` is None unless the MRZ was read with confidence."""

    status: str
    reason: Reason
    lines: list[str] | None
    layout: str | None
    flags: list[str]
    field_confidence: dict[str, float]
    corrections: list[dict[str, object]]
    timings_ms: dict[str, float] = field(default_factory=dict)
    decoded: Decoded | None = field(default=None, repr=False)
    #: camera frames read to reach this result (1 for a single image; see fusion.py)
    frames: int = 1


def unreadable(flags: list[str], decoded: Decoded | None = None) -> MrzRead:
    return MrzRead("fail", Reason.MRZ_UNREADABLE, None, None, flags, {}, [], decoded=decoded)


def field_confidence(decoded: Decoded) -> dict[str, float]:
    """Per field: the confidence of its least certain character."""
    out: dict[str, float] = {}
    for name, spans in decoded.layout.fields.items():
        values = [
            float(decoded.confidence[s.line, i]) for s in spans for i in range(s.start, s.end)
        ]
        out[name] = round(min(values), 4)
    return out


#: Refusals that still show the lines: the document is at fault, or outside ICAO, not our read.
_SHOWN = (Reason.MRZ_CHECK_DIGIT, Reason.MRZ_NONSTANDARD)


def result_of(decoded: Decoded, judged: Verdict) -> MrzRead:
    show = judged.status != "fail" or judged.reason in _SHOWN
    if not show:
        return unreadable(judged.flags, decoded)
    flags = list(judged.flags)
    if judged.reason is Reason.MRZ_CHECK_DIGIT:  # which printed check digit disagrees
        flags += [f"check_digit:{name}" for name in decoded.failed_checks]
    return MrzRead(
        judged.status,
        judged.reason,
        decoded.lines,
        decoded.layout.name,
        flags,
        field_confidence(decoded),
        [
            {
                "line": c.line,
                "position": c.pos,
                "read": c.read,
                "chosen": c.chosen,
                "confidence": round(c.confidence, 4),
            }
            for c in decoded.corrections
        ],
        decoded=decoded,
    )


def _rank(decoded: Decoded, judged: Verdict) -> tuple[int, float]:
    order = {"pass": 3, "warn": 2}.get(judged.status, 0)
    if judged.reason in _SHOWN:
        order = 1
    elif decoded.layout.relaxed and order == 0:
        order = -1  # a refused national variant never stands for the format's own refusal
    return order, decoded.score - 2.0 * len(decoded.failed_checks)


class MrzImageReader:
    """Reads MRZs from images; construct once, call `read` per image or frame."""

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        self.recognizer = GlyphRecognizer(model_path, threads)

    def read(self, image: npt.NDArray[np.uint8]) -> MrzRead:
        timings: dict[str, float] = {}
        start = time.perf_counter()
        upright = to_gray(image)
        tries = _Attempts(self.recognizer)
        locator = Locator(upright)
        first, second = locator.straight_views()
        timings["localise"] = _ms(start)
        # The view the page's lines run along first; the other straight view and the views
        # that level a tilted page (its longest line's and its strokes' direction) only when
        # that gave no reading worth reporting (not paid on every image).
        for attempt in range(2):
            t0 = time.perf_counter()
            if attempt == 0:
                turns: tuple[int, ...] = (first,)
            else:
                tilts = tilt_turns(locator.line_tilt(), locator.text_tilt())
                turns = (second, *tilts)
            found = locator.candidates(turns, CANDIDATES)
            timings["localise"] += _ms(t0)
            if self._read_views(upright, found, tries) or tries.reportable():
                break
        return tries.finish(timings, start)

    def _read_views(
        self, upright: GrayImage, found: list[tuple[int, list[LineBox]]], tries: _Attempts
    ) -> bool:
        """Try the candidate groups (each in its view of the image); True once one passes."""
        views: dict[int, GrayImage] = {}
        # (boxes, common-extent lines, upside down, length) whose lines did not hold `length`
        # glyphs even at their common extent: tried stretched, last, only if nothing passed.
        short: list[tuple[GrayImage, list[LineBox], list[LineStrip], bool, int]] = []
        for turn, group in found:
            if turn not in views:  # each view of the image is turned once, when first needed
                views[turn] = turned(upright, turn)
            gray = views[turn]
            sides = [_Side(gray, group, upside_down) for upside_down in (False, True)]
            if sides[0].strips is None:
                continue
            # Each line length on both readings of the group, likeliest length first: an
            # upside-down MRZ costs one failed attempt, not every length of the wrong reading.
            for length in _lengths(sides[0].strips):
                for side in sides:
                    if side.strips is None:
                        continue
                    glyphs = tries.cut(side.strips, length)
                    if glyphs is None:  # a line's ends lost to glare?
                        t0 = time.perf_counter()
                        common = side.common()
                        tries.segment_s += time.perf_counter() - t0
                        glyphs = tries.cut(common, length)
                    if glyphs is None:
                        short.append((gray, side.boxes, side.common(), side.upside_down, length))
                    elif tries.recognise(glyphs, len(side.strips), length):
                        return True
        for gray, boxes, lines, upside_down, length in short:
            for stretched in stretched_strips(gray, boxes, lines, upside_down, length):
                glyphs = tries.cut(stretched, length)
                if glyphs is not None and tries.recognise(glyphs, len(lines), length):
                    return True
        return False


class _Side:
    """One reading of a candidate group (as it lies, or turned by 180°), its lines cut lazily."""

    def __init__(self, gray: GrayImage, group: list[LineBox], upside_down: bool) -> None:
        self.gray = gray
        self.upside_down = upside_down
        self.boxes = group[::-1] if upside_down else group
        self._common: list[LineStrip] | None = None

    @cached_property
    def strips(self) -> list[LineStrip] | None:
        return _strips(self.gray, self.boxes, self.upside_down)

    def common(self) -> list[LineStrip]:
        """The lines cut to their common extent (`aligned_strips`), computed once."""
        assert self.strips is not None
        if self._common is None:
            self._common = aligned_strips(self.gray, self.boxes, self.strips, self.upside_down)
        return self._common


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _strips(gray: GrayImage, boxes: list[LineBox], upside_down: bool) -> list[LineStrip] | None:
    strips = []
    for box in boxes:
        strip = extract_strip(gray, box, upside_down)
        if strip is None:
            return None
        strips.append(strip)
    return strips


def _cut(lines: list[LineStrip], length: int) -> FloatArray | None:
    """All lines cut into `length` cells, as one batch; None when a line does not hold them."""
    cells = [cut_glyphs(s, length) for s in lines]
    if any(c is None for c in cells):
        return None
    return np.concatenate([c for c in cells if c is not None])


class _Attempts:
    """The readings tried on one image: the best so far, and where the time went."""

    def __init__(self, recognizer: GlyphRecognizer) -> None:
        self.recognizer = recognizer
        self.entry: tuple[tuple[int, float], Decoded, Verdict] | None = None
        self.segment_s = 0.0
        self.recognise_s = 0.0

    def cut(self, lines: list[LineStrip], length: int) -> FloatArray | None:
        started = time.perf_counter()
        glyphs = _cut(lines, length)
        self.segment_s += time.perf_counter() - started
        return glyphs

    def recognise(self, glyphs: FloatArray, lines: int, length: int) -> bool:
        """Classify the cells, decode them under each plausible layout and keep the best
        reading; True once one passes outright."""
        started = time.perf_counter()
        probs = self.recognizer.probabilities(glyphs).reshape(lines, length, -1)
        self.recognise_s += time.perf_counter() - started
        for layout in _layouts(probs, lines, length):
            self._judge(decode(probs, layout))
        if not self.reportable():  # a national variant, only when the formats read nothing
            for layout in relaxed_layouts_for(lines, length):
                self._judge(decode(probs, layout))
        return self.entry is not None and self.entry[2].status == "pass"

    def _judge(self, decoded: Decoded) -> None:
        judged = verdict(decoded)
        rank = _rank(decoded, judged)
        if self.entry is None or rank > self.entry[0]:
            self.entry = (rank, decoded, judged)

    def reportable(self) -> bool:
        """Whether the best reading so far would be reported (passed, flagged, or a
        misprinted check digit)."""
        return self.entry is not None and self.entry[0][0] > 0

    def finish(self, timings: dict[str, float], start: float) -> MrzRead:
        if self.entry is None:
            result = unreadable(["no_mrz_found"])
            result.timings_ms.update(timings, total=_ms(start))
            return result
        _, decoded, judged = self.entry
        result = result_of(decoded, judged)
        result.timings_ms.update(
            timings,
            segment=round(self.segment_s * 1000, 2),
            recognise=round(self.recognise_s * 1000, 2),
        )
        result.timings_ms["total"] = _ms(start)
        return result


def _lengths(strips: list[LineStrip]) -> Iterator[int]:
    """Line lengths to try, likeliest first from the lines' width-to-height ratio."""
    if len(strips) == 3:
        yield 30
        return
    ratio = float(np.median([(s.x1 - s.x0) / s.text_height for s in strips]))
    yield from sorted((44, 36), key=lambda n: abs(_EXPECTED_RATIO[n] - ratio))


def _layouts(probs: npt.NDArray[np.float32], lines: int, length: int) -> list[Layout]:
    """Document or visa layout, by how strongly the first character reads as 'V'."""
    candidates = layouts_for(lines, length)
    if len(candidates) == 1:
        return list(candidates)
    p_visa = float(probs[0, 0, CLASSES.index("V")])
    p_doc = float(sum(probs[0, 0, CLASSES.index(c)] for c in "ACIP"))
    visa = [layout for layout in candidates if layout.is_visa]
    docs = [layout for layout in candidates if not layout.is_visa]
    if p_visa > 10 * p_doc:
        return visa
    if p_doc > 10 * p_visa:
        return docs
    return docs + visa
