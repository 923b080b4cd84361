"""Error rates of a 1:1 face matcher over every pair of a calibration set, vectorised.

The benchmark embeds each photo once per role (live probe, chip reference per format); here
every reference is scored against every probe as a chunked matrix product (memory bounded by
`CHUNK` rows at a time), and the rates come from sorted score arrays with `searchsorted`:
5 million impostor pairs take seconds, not hours.

Confidence bounds, both at 95 %:
- `*_ci95`: exact Clopper-Pearson interval of the rate, treating pairs as independent trials;
- `*_ci95_bootstrap`: percentile interval of 1000 resamples of the *reference identities*
  (with all their pairs), which keeps the correlation of pairs that share a person (the
  probe side is not resampled, so even this is, if anything, too narrow).
Per-group rates (`groups.json`): FNMR over the group's genuine pairs, FMR over impostor pairs
whose reference and probe both belong to the group (same-group impostors, as NIST's
demographic FRTE reports count them: cross-group impostors score far lower and would hide
a difference).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
BOOL = NDArray[np.bool_]
CHUNK = 512
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class Side:
    """Embeddings of one role (references of one format, or probes) and whose they are."""

    embeddings: F32  # (n, d), L2-normalised
    person: I64  # person code per row
    photo: I64  # photo index per row (a reference is never scored against its own photo)

    def take(self, mask: BOOL) -> Side:
        return Side(self.embeddings[mask], self.person[mask], self.photo[mask])


@dataclass(frozen=True)
class Scores:
    genuine: F32
    impostor: F32


def each_chunk(
    refs: Side, probes: Side, chunk: int = CHUNK
) -> Iterator[tuple[slice, F32, BOOL, BOOL]]:
    """(reference slice, scores, genuine mask, impostor mask) for `chunk` references at a time."""
    for start in range(0, len(refs.person), chunk):
        rows = slice(start, start + chunk)
        scores = refs.embeddings[rows] @ probes.embeddings.T
        same = refs.person[rows, None] == probes.person[None, :]
        own = refs.photo[rows, None] == probes.photo[None, :]
        yield rows, scores, same & ~own, ~same


def pair_scores(refs: Side, probes: Side, chunk: int = CHUNK) -> Scores:
    """Every genuine (same person, other photo) and impostor (other person) pair's score."""
    genuine: list[F32] = []
    impostor: list[F32] = []
    for _, scores, gen, imp in each_chunk(refs, probes, chunk):
        genuine.append(scores[gen])
        impostor.append(scores[imp])
    empty = np.zeros(0, np.float32)
    return Scores(
        np.concatenate(genuine) if genuine else empty,
        np.concatenate(impostor) if impostor else empty,
    )


def threshold_at(impostor_sorted: F32, target: float) -> tuple[float, int]:
    """Lowest threshold letting at most floor(target*N) impostor pairs through (ascending
    input)."""
    n = len(impostor_sorted)
    allowed = math.floor(target * n)
    if allowed >= n:
        return float(impostor_sorted[0]), allowed
    # the next float32 above the first impostor score that must be refused: exactly
    # representable in both float32 and float64, so comparisons agree in either
    ranked = np.float32(impostor_sorted[n - 1 - allowed])
    return float(np.nextafter(ranked, np.float32(np.inf))), allowed


def fnmr_at(genuine_sorted: F32, threshold: float) -> tuple[int, float]:
    """(genuine pairs scoring below the threshold, their share)."""
    misses = int(np.searchsorted(genuine_sorted, threshold, side="left"))
    return misses, misses / max(len(genuine_sorted), 1)


def fmr_at(impostor_sorted: F32, threshold: float) -> tuple[int, float]:
    """(impostor pairs scoring at or above the threshold, their share)."""
    n = len(impostor_sorted)
    above = n - int(np.searchsorted(impostor_sorted, threshold, side="left"))
    return above, above / max(n, 1)


def equal_error_rate(genuine_sorted: F32, impostor_sorted: F32) -> tuple[float, float]:
    """(EER, its threshold): over every observed score, the first threshold where FNMR and
    FMR are closest, and their mean there."""
    candidates = np.unique(np.concatenate([genuine_sorted, impostor_sorted]))
    fnmr = np.searchsorted(genuine_sorted, candidates, side="left") / len(genuine_sorted)
    fmr = 1.0 - np.searchsorted(impostor_sorted, candidates, side="left") / len(impostor_sorted)
    best = int(np.argmin(np.abs(fnmr - fmr)))
    return float((fnmr[best] + fmr[best]) / 2), float(candidates[best])


def clopper_pearson(errors: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact two-sided binomial interval of errors/trials (bisection on the binomial CDF)."""
    if trials <= 0:
        return 0.0, 1.0
    tail = (1 - confidence) / 2

    def cdf(k: int, p: float) -> float:  # P(X <= k), X ~ Binomial(trials, p)
        if k < 0:
            return 0.0
        if p <= 0.0:
            return 1.0
        if p >= 1.0:
            return 1.0 if k >= trials else 0.0
        i = np.arange(k + 1, dtype=np.float64)
        log_comb = np.concatenate([[0.0], np.cumsum(np.log(trials - i[1:] + 1) - np.log(i[1:]))])
        terms = log_comb + i * math.log(p) + (trials - i) * math.log1p(-p)
        peak = float(terms.max())
        return float(math.exp(peak) * np.exp(terms - peak).sum())

    def solve(k: int, goal: float) -> float:  # p with cdf(k, p) == goal (cdf falls with p)
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if cdf(k, mid) > goal else (lo, mid)
        return (lo + hi) / 2

    lower = 0.0 if errors <= 0 else solve(errors - 1, 1 - tail)
    upper = 1.0 if errors >= trials else solve(errors, tail)
    return lower, upper


def bootstrap_ci(
    errors: I64, trials: I64, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 21
) -> tuple[float, float]:
    """95 % percentile interval of sum(errors)/sum(trials) over clusters drawn with
    replacement (one entry per reference identity)."""
    n = len(trials)
    if n == 0 or int(trials.sum()) == 0:
        return 0.0, 1.0
    picks = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    rates = errors[picks].sum(1) / np.maximum(trials[picks].sum(1), 1)
    low, high = np.percentile(rates, [2.5, 97.5])
    return float(low), float(high)


@dataclass
class Counts:
    """Genuine and impostor trials and errors at one threshold, per code (identity or group)."""

    genuine: I64
    genuine_errors: I64
    impostor: I64
    impostor_errors: I64

    @classmethod
    def zeros(cls, size: int) -> Counts:
        return cls(*(np.zeros(size, np.int64) for _ in range(4)))


def counts_at(
    refs: Side,
    probes: Side,
    threshold: float,
    ref_codes: I64,
    probe_codes: I64,
    size: int,
    same_group_impostors: bool,
) -> Counts:
    """Per code of the reference: genuine trials/misses and impostor trials/false matches at
    `threshold`. With `same_group_impostors` an impostor pair counts only when the probe has
    the reference's code (groups); otherwise every impostor pair counts (identities)."""
    counts = Counts.zeros(size)
    for rows, scores, gen, imp in each_chunk(refs, probes):
        codes = np.broadcast_to(ref_codes[rows, None], scores.shape)
        labelled = codes >= 0
        if same_group_impostors:
            imp = imp & (codes == probe_codes[None, :])
        gen, imp = gen & labelled, imp & labelled
        match = scores >= np.float64(threshold)  # compared in float64, as searchsorted does
        counts.genuine += np.bincount(codes[gen], minlength=size)
        counts.genuine_errors += np.bincount(codes[gen & ~match], minlength=size)
        counts.impostor += np.bincount(codes[imp], minlength=size)
        counts.impostor_errors += np.bincount(codes[imp & match], minlength=size)
    return counts


def rates_with_bounds(errors: I64, trials: I64, name: str) -> dict[str, object]:
    """A rate with its exact and its identity-bootstrap interval (both 95 %)."""
    e, n = int(errors.sum()), int(trials.sum())
    lo, hi = clopper_pearson(e, n)
    blo, bhi = bootstrap_ci(errors, trials)
    return {
        name: round(e / n, 6) if n else None,
        f"{name}_errors": e,
        f"{name}_trials": n,
        f"{name}_ci95": [round(lo, 6), round(hi, 6)],
        f"{name}_ci95_bootstrap": [round(blo, 6), round(bhi, 6)],
    }


def at_threshold(
    refs: Sequence[Side], probes: Side, persons: int, threshold: float
) -> dict[str, object]:
    """FNMR and FMR at one threshold, pooled over the reference formats, with both bounds."""
    total = Counts.zeros(persons)
    for side in refs:
        c = counts_at(side, probes, threshold, side.person, probes.person, persons, False)
        for f in ("genuine", "genuine_errors", "impostor", "impostor_errors"):
            setattr(total, f, getattr(total, f) + getattr(c, f))
    return {
        "threshold": round(threshold, 4),
        **rates_with_bounds(total.genuine_errors, total.genuine, "fnmr"),
        **rates_with_bounds(total.impostor_errors, total.impostor, "fmr"),
    }


def per_group(
    refs: Sequence[Side],
    probes: Side,
    person_names: Sequence[str],
    groups: Mapping[str, Mapping[str, str]],
    threshold: float,
    min_pairs: int = 1,
) -> dict[str, object]:
    """FNMR and FMR per value of each attribute in `groups` (person name -> {attribute:
    value}) at `threshold`, with the worst-to-best ratio over the groups that have pairs."""
    attributes = sorted({a for labels in groups.values() for a in labels})
    out: dict[str, object] = {}
    for attribute in attributes:
        values = sorted(
            {str(g[attribute]) for g in groups.values() if g.get(attribute) is not None}
        )
        code_of = {v: i for i, v in enumerate(values)}
        person_code = np.array(
            [code_of.get(str(groups.get(name, {}).get(attribute)), -1) for name in person_names],
            dtype=np.int64,
        )
        total = Counts.zeros(len(values))
        for side in refs:
            c = counts_at(
                side,
                probes,
                threshold,
                person_code[side.person],
                person_code[probes.person],
                len(values),
                True,
            )
            for f in ("genuine", "genuine_errors", "impostor", "impostor_errors"):
                setattr(total, f, getattr(total, f) + getattr(c, f))
        table: dict[str, dict[str, object]] = {}
        for value, i in code_of.items():
            people = int(np.sum(person_code == i))
            gen, gen_e = int(total.genuine[i]), int(total.genuine_errors[i])
            imp, imp_e = int(total.impostor[i]), int(total.impostor_errors[i])
            table[value] = {
                "people": people,
                "genuine_pairs": gen,
                "fnmr": round(gen_e / gen, 6) if gen else None,
                "fnmr_ci95": [round(x, 6) for x in clopper_pearson(gen_e, gen)],
                "impostor_pairs": imp,
                "fmr": round(imp_e / imp, 6) if imp else None,
                "fmr_ci95": [round(x, 6) for x in clopper_pearson(imp_e, imp)],
            }
        out[attribute] = {
            "groups": table,
            "fnmr_ratio_worst_best": _ratio(table, "fnmr", "genuine_pairs", min_pairs),
            "fmr_ratio_worst_best": _ratio(table, "fmr", "impostor_pairs", min_pairs),
        }
    return out


def _ratio(table: Mapping[str, Mapping[str, object]], rate: str, pairs: str, least: int) -> object:
    """Worst over best rate among groups with at least `least` pairs; None with fewer than two
    such groups, "inf" when the best group made no error and another did."""
    seen = [
        float(row[rate])  # type: ignore[arg-type]
        for row in table.values()
        if row[rate] is not None and int(row[pairs]) >= least  # type: ignore[call-overload]
    ]
    if len(seen) < 2:
        return None
    worst, best = max(seen), min(seen)
    if best == 0.0:
        return 1.0 if worst == 0.0 else "inf"
    return round(worst / best, 3)
