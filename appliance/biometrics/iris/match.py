"""Masked fractional Hamming distance with rotation search, 1:1 and 1:N.

    HD = || (code_A xor code_B) and mask_A and mask_B || / || mask_A and mask_B ||

minimised over circular shifts of the probe along the angle (a head tilt; one code column is
360/128 = 2.8 degrees), then normalised for the number of bits compared, as Daugman does, so
that a score from few bits (a heavily occluded eye) cannot look as good as one from many:

    HD_norm = 0.5 - (0.5 - HD) * sqrt(n / 911)

The probe's shifted codes and masks are precomputed once (shifting bits, then packing), so the
gallery is never moved: 1:N is one XOR/AND/popcount pass over packed uint64 arrays per shift,
over chunks of the gallery, and gives the 1:1 scores bit for bit (same integer counts, same
float64 arithmetic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.iris.encode import CODE_COLS, WORDS, IrisTemplate, Words, pack

#: Daugman's typical number of bits compared (the reference of the normalisation)
NORM_BITS = 911
#: rotation search: +-6 code columns = +-16.9 degrees of head tilt
MAX_SHIFT = 6
#: degrees per code column
DEGREES_PER_SHIFT = 360.0 / CODE_COLS
#: fewer bits compared than this: no score (the normalised distance would be meaningless)
MIN_BITS = 100
#: gallery entries per step. Not smaller: numpy copies a broadcast (stride-0) operand through
#: its buffer when rows are shorter than that buffer (np.getbufsize(), 8192 elements), which
#: doubled the cost of combining the probe's words with the gallery's (measured, numpy 2.4)
_CHUNK = 8192


@dataclass(frozen=True)
class MatchScore:
    hd_norm: float  # the score: normalised HD, minimum over shifts
    hd_raw: float  # the raw fractional HD at that shift
    bits: int  # bits compared there
    shift: int  # code columns the probe was shifted (+ counter-clockwise in the image)

    @property
    def rotation_deg(self) -> float:
        return self.shift * DEGREES_PER_SHIFT

    def as_dict(self) -> dict[str, object]:
        return {
            "hd_norm": round(self.hd_norm, 4),
            "hd_raw": round(self.hd_raw, 4),
            "bits_compared": self.bits,
            "rotation_deg": round(self.rotation_deg, 1),
        }


def normalise(hd: NDArray[np.float64], bits: NDArray[np.int64]) -> NDArray[np.float64]:
    return 0.5 - (0.5 - hd) * np.sqrt(bits / NORM_BITS)


@dataclass(frozen=True)
class ShiftedProbe:
    """A probe's code and mask at every shift: (shifts, WORDS) each."""

    shifts: NDArray[np.int64]
    codes: Words
    masks: Words

    @classmethod
    def of(cls, probe: IrisTemplate, max_shift: int = MAX_SHIFT) -> ShiftedProbe:
        code, mask = probe.bits()
        shifts = np.arange(-max_shift, max_shift + 1, dtype=np.int64)
        codes = np.stack([pack(np.roll(code, int(s), axis=1)) for s in shifts])
        masks = np.stack([pack(np.roll(mask, int(s), axis=1)) for s in shifts])
        return cls(shifts, codes, masks)


def _scores(
    probe: ShiftedProbe, codes: Words, masks: Words
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """(best normalised HD, raw disagreeing bits, bits compared, per gallery entry) and the
    index of the best shift."""
    both = masks[None, :, :] & probe.masks[:, None, :]
    diff = (codes[None, :, :] ^ probe.codes[:, None, :]) & both
    n = np.bitwise_count(both).sum(axis=-1, dtype=np.int64)
    d = np.bitwise_count(diff).sum(axis=-1, dtype=np.int64)
    hd = np.where(n > 0, d / np.maximum(n, 1), 0.5)
    norm = np.where(n >= MIN_BITS, normalise(hd, n), 0.5)
    best = np.argmin(norm, axis=0)
    cols = np.arange(norm.shape[1])
    return norm[best, cols], hd[best, cols].astype(np.float64), np.stack([n[best, cols], best])


def compare(probe: IrisTemplate, reference: IrisTemplate, max_shift: int = MAX_SHIFT) -> MatchScore:
    """The 1:1 score of `probe` against `reference`."""
    shifted = ShiftedProbe.of(probe, max_shift)
    norm, hd, extra = _scores(shifted, reference.code[None, :], reference.mask[None, :])
    return MatchScore(
        float(norm[0]), float(hd[0]), int(extra[0, 0]), int(shifted.shifts[extra[1, 0]])
    )


class Gallery:
    """Packed templates for 1:N search, stored word-major: `codes` and `masks` are
    (WORDS, N) uint64, so the per-entry popcount sum runs over whole contiguous rows (numpy
    reduces a leading axis with vector adds; summing 32 words of each entry would not)."""

    def __init__(self, templates: list[IrisTemplate]) -> None:
        self.codes = np.zeros((WORDS, len(templates)), dtype=np.uint64)
        self.masks = np.zeros((WORDS, len(templates)), dtype=np.uint64)
        for i, template in enumerate(templates):
            self.codes[:, i] = template.code
            self.masks[:, i] = template.mask

    def __len__(self) -> int:
        return int(self.codes.shape[1])

    def search(self, probe: IrisTemplate, max_shift: int = MAX_SHIFT) -> NDArray[np.float64]:
        """The best normalised HD of the probe against every entry (N,), all shifts tried:
        `compare`'s score for each, bit for bit, at a fraction of the cost.

        Chunks of `_CHUNK` entries, one shift at a time (2-D operations keep numpy on its
        fast paths), into buffers allocated once (fresh multi-megabyte temporaries per step
        would cost more than the arithmetic)."""
        shifted = ShiftedProbe.of(probe, max_shift)
        total = len(self)
        out = np.empty(total, dtype=np.float64)
        work = _Buffers(len(shifted.shifts), min(_CHUNK, max(total, 1)))
        for start in range(0, total, work.size):
            stop = min(start + work.size, total)
            n, d = work.counts(shifted, self.codes[:, start:stop], self.masks[:, start:stop])
            work.best(n, d, out[start:stop])
        return out


class _Buffers:
    """Work arrays of one `Gallery.search`, for chunks of up to `size` entries."""

    def __init__(self, shifts: int, size: int) -> None:
        self.size = size
        self.both = np.empty((WORDS, size), dtype=np.uint64)
        self.diff = np.empty_like(self.both)
        self.count = np.empty((WORDS, size), dtype=np.uint8)
        self.half = np.empty((WORDS // 2, size), dtype=np.uint8)
        self.n = np.empty((shifts, size), dtype=np.uint16)
        self.d = np.empty_like(self.n)
        self.f = np.empty((3, shifts, size), dtype=np.float64)

    def counts(
        self, probe: ShiftedProbe, codes: Words, masks: Words
    ) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
        """Bits compared and bits disagreeing, (shifts, k) each, for the k entries given."""
        k = codes.shape[1]
        both, diff, count, half = (
            self.both[:, :k],
            self.diff[:, :k],
            self.count[:, :k],
            self.half[:, :k],
        )
        n, d = self.n[:, :k], self.d[:, :k]
        for s in range(len(probe.shifts)):
            np.bitwise_and(masks, probe.masks[s, :, None], out=both)
            np.bitwise_xor(codes, probe.codes[s, :, None], out=diff)
            np.bitwise_and(diff, both, out=diff)
            for words, total in ((both, n[s]), (diff, d[s])):
                np.bitwise_count(words, out=count)
                # word counts are <= 64: pairs of words still fit a byte, halving the wide sum
                np.add(count[: WORDS // 2], count[WORDS // 2 :], out=half)
                np.sum(half, axis=0, dtype=np.uint16, out=total)
        return n, d

    def best(self, n: NDArray[np.uint16], d: NDArray[np.uint16], out: NDArray[np.float64]) -> None:
        """`normalise(d / n, n)` minimised over the shifts into `out`, in place: the very
        float64 operations `compare` does, in its order, so the scores are equal bit for bit."""
        k = n.shape[1]
        bits, hd, tmp = self.f[0, :, :k], self.f[1, :, :k], self.f[2, :, :k]
        np.copyto(bits, n)
        np.maximum(bits, 1.0, out=tmp)
        np.divide(d, tmp, out=hd)
        np.subtract(0.5, hd, out=hd)
        np.divide(bits, float(NORM_BITS), out=bits)
        np.sqrt(bits, out=bits)
        np.multiply(hd, bits, out=hd)
        np.subtract(0.5, hd, out=hd)
        np.copyto(hd, 0.5, where=n < MIN_BITS)
        np.min(hd, axis=0, out=out)


def degrees_of_freedom(impostor_hd: NDArray[np.float64]) -> float:
    """Daugman's N = p(1 - p) / sigma^2 of a binomial fitted to impostor distances."""
    p = float(np.mean(impostor_hd))
    var = float(np.var(impostor_hd))
    return p * (1 - p) / var if var > 0 else math.inf
