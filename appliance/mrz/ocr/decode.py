"""MRZ-aware decoding: per-position alphabets, check-digit-guided repair, and an honest verdict.

The classifier gives, for every cell, a probability for each of the 37 MRZ characters and for
"junk". Decoding keeps only the characters the position may hold, then, where a check digit
fails, looks for the *cheapest* change among characters the model itself found plausible
(0/O, 1/I, 8/B, 5/S, 2/Z...) that makes every check digit - including the composite - pass.
Every such change is reported; a read that needed too many, or an unsure guess, or whose
unprotected characters (names, country codes) are doubtful, is refused as `MRZ_UNREADABLE`
rather than returned as a checksum-valid but possibly wrong MRZ: that verdict is
`appliance.mrz.ocr.verdict`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations, product

import numpy as np
import numpy.typing as npt

from appliance.mrz.check_digits import WEIGHTS, char_value
from appliance.mrz.formats import MrzFormat
from appliance.mrz.national import NationalFormat
from appliance.mrz.ocr.layout import (
    CLASSES,
    LAYOUT_OF,
    RELAXED_OF,
    CheckGroup,
    Layout,
)

#: A character the model gives less than this is never used to repair a check digit...
MIN_ALTERNATIVE = 0.02
#: ...unless it is the OCR-B look-alike of the character read (blur makes 0 and O, 1 and I,
#: 8 and B, 5 and S, 2 and Z near-identical, and a blurred glyph can be read confidently as its
#: twin): then the check digits may choose it down to this probability. The repair is still
#: costed, reported, and refused when another repair is about as likely.
TWIN_FLOOR = 0.001
OCR_B_TWINS = {a: b for x, y in ("0O", "1I", "8B", "5S", "2Z") for a, b in ((x, y), (y, x))}

Position = tuple[int, int]


@dataclass(frozen=True)
class Correction:
    """A character changed to satisfy a check digit: what the model read, what was chosen."""

    line: int
    pos: int
    read: str
    chosen: str
    confidence: float  # the model's probability for the chosen character


@dataclass(frozen=True)
class Decoded:
    layout: Layout
    lines: list[str]
    confidence: npt.NDArray[np.float64]  # (lines, length): probability of each chosen char
    failed_checks: list[str]
    corrections: list[Correction]
    score: float  # mean log-probability of the chosen characters (higher is better)
    ambiguity: float  # relative likelihood of other checksum-valid readings (see _ambiguity)
    raw: npt.NDArray[np.float32] = field(repr=False)  # (lines, length, 38) classifier output


@cache
def _mask(fmt: MrzFormat | NationalFormat, relaxed: bool = False) -> npt.NDArray[np.float64]:
    layout = RELAXED_OF[fmt] if relaxed and isinstance(fmt, MrzFormat) else LAYOUT_OF[fmt]
    mask = np.zeros((layout.lines, layout.length, len(CLASSES)))
    for line in range(layout.lines):
        for pos in range(layout.length):
            for ch in layout.allowed(line, pos):
                mask[line, pos, CLASSES.index(ch)] = 1.0
    return mask


def masked_probabilities(probs: npt.NDArray[np.float32], layout: Layout) -> npt.NDArray[np.float64]:
    """(lines, length, 38) model output -> (lines, length, 37) over allowed characters only.

    The junk probability stays in the denominator: a cell the model thinks is no glyph at all
    gets a low confidence for whatever character is chosen there.
    """
    mask = _mask(layout.format, layout.relaxed)
    allowed = probs[..., : len(CLASSES)].astype(np.float64) * mask
    denom = allowed.sum(axis=-1, keepdims=True) + probs[..., len(CLASSES) :].astype(np.float64)
    masked: npt.NDArray[np.float64] = allowed / np.maximum(denom, 1e-12)
    return masked


def check_positions(group: CheckGroup) -> list[Position]:
    return [(s.line, i) for s in group.spans for i in range(s.start, s.end)]


CHAR_VALUES = {ch: char_value(ch) for ch in CLASSES}


def _valid(group: CheckGroup, text: list[list[str]]) -> bool:
    digit = text[group.line][group.pos]
    if digit == "<":
        if not group.filler_allowed:
            return False
        return group.long_number or all(text[line][i] == "<" for line, i in check_positions(group))
    total = sum(
        WEIGHTS[k % 3] * CHAR_VALUES[text[line][i]]
        for k, (line, i) in enumerate(check_positions(group))
    )
    return digit.isdigit() and total % 10 == int(digit)


class _Search:
    """Cheapest repairs, scored by -log p(chosen) + log p(read), over the masked probabilities.

    Check digits are weighted sums modulo 10, so the effect of changing one character is a
    constant delta: candidates are tested arithmetically, not by rebuilding strings.
    """

    def __init__(self, q: npt.NDArray[np.float64], best: list[list[str]]) -> None:
        self.q = q
        self.best = best
        self.logq = np.log(np.maximum(q, 1e-12))

    def cost(self, pos: Position, ch: str) -> float:
        line, i = pos
        return float(
            self.logq[line, i, CLASSES.index(self.best[line][i])]
            - self.logq[line, i, CLASSES.index(ch)]
        )

    def alternatives(self, pos: Position, floor: float, text: list[list[str]]) -> list[str]:
        line, i = pos
        order = np.argsort(-self.q[line, i])[:4]
        current = text[line][i]
        found = [CLASSES[k] for k in order if self.q[line, i, k] >= floor and CLASSES[k] != current]
        twin = OCR_B_TWINS.get(current)
        if twin and twin not in found and self.q[line, i, CLASSES.index(twin)] >= TWIN_FLOOR:
            found.append(twin)
        return found

    def repairs(
        self, group: CheckGroup, text: list[list[str]], positions: list[Position], keep: int = 4
    ) -> list[tuple[float, dict[Position, str]]]:
        """Up to `keep` cheapest assignments (cost, changes) of at most two characters among
        `positions` that make `group` valid; no change first when `text` already satisfies it."""
        covered = check_positions(group)
        weight = {p: WEIGHTS[k % 3] for k, p in enumerate(covered)}
        total = sum(weight[p] * CHAR_VALUES[text[p[0]][p[1]]] for p in covered)
        check_pos = (group.line, group.pos)
        found: list[tuple[float, dict[Position, str]]] = []
        if _valid(group, text):
            found.append((0.0, {}))

        def ok(delta: int, digit: str) -> bool:
            if digit == "<":
                return False  # filler check digits are handled by `_valid` on the text as is
            return (total + delta) % 10 == int(digit)

        moves: list[tuple[Position, str, int]] = []  # (position, new char, sum delta)
        for p in positions:
            for ch in self.alternatives(p, MIN_ALTERNATIVE, text):
                if p == check_pos:
                    moves.append((p, ch, 0))
                else:
                    delta = weight[p] * (CHAR_VALUES[ch] - CHAR_VALUES[text[p[0]][p[1]]])
                    moves.append((p, ch, delta))
        digit = text[group.line][group.pos]
        for p, ch, delta in moves:
            if ok(delta, ch if p == check_pos else digit):
                found.append((self.cost(p, ch), {p: ch}))
        strong = [m for m in moves if self.q[m[0][0], m[0][1], CLASSES.index(m[1])] >= 0.05]
        for (p1, c1, d1), (p2, c2, d2) in combinations(strong, 2):
            if p1 == p2:
                continue
            new_digit = c1 if p1 == check_pos else c2 if p2 == check_pos else digit
            if ok(d1 + d2, new_digit):
                found.append((self.cost(p1, c1) + self.cost(p2, c2), {p1: c1, p2: c2}))
        found.sort(key=lambda item: item[0])
        return found[:keep]


def decode(probs: npt.NDArray[np.float32], layout: Layout) -> Decoded:
    """Decode (lines, length, 38) classifier output for `layout`."""
    q = masked_probabilities(probs, layout)
    best = [[CLASSES[int(k)] for k in row] for row in q.argmax(axis=-1)]
    search = _Search(q, best)
    simple = [g for g in layout.checks if g.name != "composite"]
    composite = next((g for g in layout.checks if g.name == "composite"), None)

    options: list[list[tuple[float, dict[Position, str]]]] = []
    failed: list[str] = []
    for group in simple:
        positions = [*check_positions(group), (group.line, group.pos)]
        found = search.repairs(group, best, positions, keep=3)
        if not found:
            failed.append(group.name)
            found = [(0.0, {})]
        options.append(found)

    protected = {p for g in simple for p in [*check_positions(g), (g.line, g.pos)]}
    chosen: tuple[float, dict[Position, str]] | None = None
    combos = sorted(product(*options), key=lambda combo: sum(c for c, _ in combo))
    for combo in combos[:64]:
        if chosen is not None and sum(c for c, _ in combo) >= chosen[0]:
            break  # sorted by cost: nothing cheaper is left
        changes: dict[Position, str] = {}
        cost = 0.0
        for part_cost, part in combo:
            cost += part_cost
            changes.update(part)
        text = [list(row) for row in best]
        for (line, i), ch in changes.items():
            text[line][i] = ch
        if composite is None or _valid(composite, text):
            candidate = (cost, changes)
        else:
            free = [
                p
                for p in [*check_positions(composite), (composite.line, composite.pos)]
                if p not in protected
            ]
            fixes = search.repairs(composite, text, free, keep=1)
            if not fixes:
                continue
            candidate = (cost + fixes[0][0], {**changes, **fixes[0][1]})
        if chosen is None or candidate[0] < chosen[0]:
            chosen = candidate
    if chosen is None:
        chosen = (0.0, {})
        if composite is not None:
            failed.append(composite.name)

    text = [list(row) for row in best]
    for (line, i), ch in chosen[1].items():
        text[line][i] = ch
    ambiguity = _ambiguity(search, simple, options, composite, protected, failed, chosen[1], text)
    conf = np.array(
        [
            [q[line, i, CLASSES.index(text[line][i])] for i in range(layout.length)]
            for line in range(layout.lines)
        ]
    )
    corrections = [
        Correction(line, i, best[line][i], ch, float(conf[line, i]))
        for (line, i), ch in sorted(chosen[1].items())
    ]
    score = float(np.mean(np.log(np.maximum(conf, 1e-12))))
    return Decoded(
        layout, ["".join(r) for r in text], conf, failed, corrections, score, ambiguity, probs
    )


def _ambiguity(
    search: _Search,
    simple: list[CheckGroup],
    options: list[list[tuple[float, dict[Position, str]]]],
    composite: CheckGroup | None,
    protected: set[Position],
    failed: list[str],
    changes: dict[Position, str],
    text: list[list[str]],
) -> float:
    """How likely a *different* checksum-valid reading is, relative to the chosen one.

    Check digits (weights 7-3-1, modulo 10) cannot tell every pair of errors apart: two unsure
    characters can be wrong together and still pass. For each check group this sums, over the
    other assignments that also satisfy every check, their likelihood relative to the chosen
    one. Near 0: the check digits settled the read; near 1 or more: a coin toss.
    """
    total = 0.0
    for group, found in zip(simple, options, strict=True):
        if group.name in failed:
            continue
        cells = {*check_positions(group), (group.line, group.pos)}
        mine = {p: c for p, c in changes.items() if p in cells}
        my_cost = sum(search.cost(p, c) for p, c in mine.items())
        for cost, alt in found:
            if alt == mine:
                continue
            trial = [list(row) for row in text]
            for line, i in cells:
                trial[line][i] = search.best[line][i]
            for (line, i), ch in alt.items():
                trial[line][i] = ch
            if composite is None or _valid(composite, trial):
                total += math.exp(-(cost - my_cost))
    if composite is not None and composite.name not in failed:
        free = [
            p
            for p in [*check_positions(composite), (composite.line, composite.pos)]
            if p not in protected
        ]
        mine = {p: c for p, c in changes.items() if p in free}
        my_cost = sum(search.cost(p, c) for p, c in mine.items())
        before = [list(row) for row in text]
        for line, i in free:
            before[line][i] = search.best[line][i]
        for cost, alt in search.repairs(composite, before, free, keep=3):
            if alt != mine:
                total += math.exp(-(cost - my_cost))
    return total
