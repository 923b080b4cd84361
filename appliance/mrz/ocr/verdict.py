"""The verdict on a decoded MRZ: pass, warn or fail with a stable reason, failing closed.

Decoding (`appliance.mrz.ocr.decode`) finds the likeliest checksum-valid reading; this module
judges whether that reading may be returned: too many repairs, doubtful characters no check
digit covers, ambiguity the check digits leave (the composite's blind spot in TD1/TD2 optional
data) refuse it as `MRZ_UNREADABLE`; a failing check digit is blamed on the document
(`MRZ_CHECK_DIGIT`) only when the read is beyond doubt and otherwise a sound MRZ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.errors import Reason
from appliance.mrz.check_digits import WEIGHTS
from appliance.mrz.formats import MrzFormat
from appliance.mrz.national import NationalFormat, parse_national
from appliance.mrz.ocr.decode import (
    CHAR_VALUES,
    Decoded,
    Position,
    check_positions,
    masked_probabilities,
)
from appliance.mrz.ocr.layout import CLASSES, RELAXED_FIELDS, Layout
from appliance.mrz.parse import parse_mrz

#: Below this a character is reported as unsure (status `warn`).
UNSURE = 0.90
#: Below this an unprotected character (no check digit covers it) makes the read unreadable.
REJECT = 0.50
#: Below this an unprotected character flags the read (status `warn`): with nothing to check
#: it against, a name letter whose stroke glare faded (E read as F) can still score ~0.9.
UNSURE_UNPROTECTED = 0.97
#: A failing check digit is reported as the document's fault (`MRZ_CHECK_DIGIT`) only when every
#: character it covers was read with at least this confidence; otherwise it is our misread.
CERTAIN = 0.98
#: More repairs than this and the read is refused.
MAX_CORRECTIONS = 2
#: Refuse a read whose risk (ambiguity left by the check digits + doubt on unprotected
#: characters) exceeds this; flag it above WARN_RISK.
MAX_RISK = 0.35
WARN_RISK = 0.05


@dataclass(frozen=True)
class Verdict:
    status: str  # "pass" | "warn" | "fail"
    reason: Reason
    flags: list[str]


def protected_positions(layout: Layout, composite: bool = True) -> set[Position]:
    """Positions some check digit covers (or that are check digits themselves); with
    `composite` False, only those a field's own check digit covers."""
    groups = [g for g in layout.checks if composite or g.name != "composite"]
    return {p for g in groups for p in [*check_positions(g), (g.line, g.pos)]}


def _sound_but_for_check_digits(lines: list[str], fmt: MrzFormat | NationalFormat) -> bool:
    """Whether the text parses as an MRZ whose only faults are its check digits. A misread
    (garbage, or a line cut at the wrong length) shows as well as a format error or an
    impossible date: then the fault is ours, not the document's. An unknown country code
    alone proves nothing (specimens of fictional states, codes newer than our list)."""
    if isinstance(fmt, NationalFormat):
        national = parse_national(lines, fmt)
        return all(issue.reason is Reason.MRZ_CHECK_DIGIT for issue in national.errors)
    parsed = parse_mrz(lines)
    benign = (Reason.MRZ_CHECK_DIGIT, Reason.MRZ_NAME_TRUNCATED, Reason.MRZ_COUNTRY_UNKNOWN)
    return all(issue.reason in benign for issue in (*parsed.errors, *parsed.warnings))


def composite_blind_spot(decoded: Decoded) -> float:
    """Probability, by the model, that a character only the composite check digit covers (TD1
    and TD2 optional data) is misread and the composite still passes.

    One digit over most of a line is a weak guard: a substitution whose value differs by a
    multiple of 10 (< 0 A K U) passes it, and so do two whose weighted changes cancel (any two
    adjacent 5s read as fillers). Summed over single misreads and pairs of them; a cell the
    model sees no glyph in counts for nothing here (its doubt is in its confidence).
    """
    layout = decoded.layout
    composite = next((g for g in layout.checks if g.name == "composite"), None)
    if composite is None:
        return 0.0
    own = protected_positions(layout, composite=False)
    q = masked_probabilities(decoded.raw, layout)
    values = np.array([CHAR_VALUES[c] for c in CLASSES])
    errors = []  # per character: misread probability by the residue it shifts the sum by
    cells = [*check_positions(composite), (composite.line, composite.pos)]
    for k, (line, i) in enumerate(cells):
        if (line, i) in own:
            continue
        chosen = CLASSES.index(decoded.lines[line][i])
        other = q[line, i].copy()
        other[chosen] = 0.0
        if (line, i) == (composite.line, composite.pos):
            shift = values[chosen] - values  # the digit the sum must now match
        else:
            shift = WEIGHTS[k % 3] * (values - values[chosen])
        errors.append(np.bincount(shift % 10, weights=other, minlength=10))
    if not errors:
        return 0.0
    each = np.array(errors)
    single = float(each[:, 0].sum())
    total = each.sum(axis=0)
    opposite = (-np.arange(10)) % 10
    pairs = 0.5 * float(total @ total[opposite] - (each * each[:, opposite]).sum())
    return single + pairs


def _certain_misprint(decoded: Decoded) -> bool:
    """Whether the failing check digits are the document's fault, as far as the read goes."""
    layout, conf = decoded.layout, decoded.confidence
    covered = [
        p
        for g in layout.checks
        if g.name in decoded.failed_checks
        for p in [*check_positions(g), (g.line, g.pos)]
    ]
    # A genuinely misprinted check digit leaves the others intact; text that fails most
    # of them is not an MRZ we read well (or not an MRZ at all). A field read as all
    # fillers passes its check trivially and says nothing.
    passed = [
        g
        for g in layout.checks
        if g.name not in decoded.failed_checks
        and any(decoded.lines[line][i] != "<" for line, i in check_positions(g))
    ]
    # The document is at fault only when the read itself is beyond doubt: the failing
    # fields read with certainty, every other character confidently, and nothing repaired
    # (a repair elsewhere means the model misread there, so it may have here too).
    certain = (
        all(conf[line, i] >= CERTAIN for line, i in covered)
        and float(conf.min()) >= UNSURE
        and not decoded.corrections
    )
    # A layout with few check digits (the French card: two fields and a composite that
    # covers both) keeps only one intact when a field's digit is misprinted.
    return len(passed) >= min(2, len(layout.checks) - 2) and certain


def verdict(decoded: Decoded) -> Verdict:
    """pass / warn / fail with a stable reason, failing closed whenever the read is doubtful."""
    layout, conf = decoded.layout, decoded.confidence
    if layout.relaxed:
        return _nonstandard_verdict(decoded)
    if decoded.failed_checks:
        if _certain_misprint(decoded):
            if _sound_but_for_check_digits(decoded.lines, layout.format):
                return Verdict("fail", Reason.MRZ_CHECK_DIGIT, ["check_digit_failed"])
            return Verdict("fail", Reason.MRZ_UNREADABLE, ["check_digit_failed", "implausible"])
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["check_digit_failed", "low_confidence"])
    if len(decoded.corrections) > MAX_CORRECTIONS:
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["too_many_corrections"])
    protected = protected_positions(layout)
    unprotected = [
        float(conf[line, i])
        for line in range(layout.lines)
        for i in range(layout.length)
        if (line, i) not in protected
    ]
    if unprotected and min(unprotected) < REJECT:
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["low_confidence"])
    # Expected number of wrong characters the check digits cannot catch, roughly.
    risk = (
        decoded.ambiguity
        + sum(1.0 - c for c in unprotected if c < UNSURE)
        + composite_blind_spot(decoded)
    )
    if risk > MAX_RISK:
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["ambiguous"])
    flags: list[str] = []
    if decoded.corrections:
        flags.append("check_digit_corrected")
    doubtful_name = bool(unprotected) and min(unprotected) < UNSURE_UNPROTECTED
    if float(conf.min()) < UNSURE or risk > WARN_RISK or doubtful_name:
        flags.append("low_confidence")
    return Verdict("warn" if flags else "pass", Reason.OK, flags)


def _nonstandard_verdict(decoded: Decoded) -> Verdict:
    """A reading under a national variant of an ICAO format (`Layout.relaxed`): reported with
    its lines only when it is beyond doubt (every character read confidently, nothing
    repaired) and its only departures from ICAO are in the relaxed fields: as
    `MRZ_NONSTANDARD` when every check digit passes, as `MRZ_CHECK_DIGIT` when one is
    misprinted (`_certain_misprint`); both refusals (status fail). Anything else is
    unreadable; a reading that follows ICAO after all is left to the format itself."""
    conf = decoded.confidence
    if decoded.failed_checks:
        if not _certain_misprint(decoded):
            return Verdict("fail", Reason.MRZ_UNREADABLE, ["nonstandard", "low_confidence"])
    elif decoded.corrections or float(conf.min()) < UNSURE or decoded.ambiguity > WARN_RISK:
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["nonstandard", "low_confidence"])
    parsed = parse_mrz(decoded.lines)
    departures = {e.field for e in parsed.errors if e.reason is Reason.MRZ_FORMAT}
    if not departures:
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["nonstandard", "not_needed"])
    benign = (Reason.MRZ_FORMAT, Reason.MRZ_CHECK_DIGIT)
    other = [e for e in (*parsed.errors, *parsed.warnings) if e.reason not in benign]
    other = [
        e for e in other if e.reason not in (Reason.MRZ_COUNTRY_UNKNOWN, Reason.MRZ_NAME_TRUNCATED)
    ]
    if other or not departures <= set(RELAXED_FIELDS):
        return Verdict("fail", Reason.MRZ_UNREADABLE, ["nonstandard", "implausible"])
    flags = ["nonstandard", *sorted(f"field:{f}" for f in departures)]
    if decoded.failed_checks:
        return Verdict("fail", Reason.MRZ_CHECK_DIGIT, ["check_digit_failed", *flags])
    return Verdict("fail", Reason.MRZ_NONSTANDARD, flags)
