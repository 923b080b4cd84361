"""Phase code: 1-D log-Gabor filtering along the angle, 2 bits per sample, bit-packed.

Each rubber-sheet row is a periodic signal in the angle; its log-Gabor response (a filter
with no DC and a Gaussian on a log-frequency axis, applied in the FFT domain, one-sided so the
response is analytic) is quantised to the quadrant of its phase: 2 bits (sign of the real and
of the imaginary part), as Daugman's demodulation does. The code samples 8 rows x 128 angles
= 2048 bits, Daugman's size; a bit is masked when its cell is noise (lid, lash, reflection) or
its response is too weak to have a stable phase.

Bits are laid out row by row, angle by angle, 2 bits per angle, and packed little-endian into
uint64 words (4 words per row), so matching is XOR + AND + popcount over 32 words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.iris.normalize import ANGULAR, RADIAL
from appliance.biometrics.iris.segment import Floats, Mask

CODE_ROWS = 8
CODE_COLS = 128
BITS = CODE_ROWS * CODE_COLS * 2
WORDS = BITS // 64
#: log-Gabor centre wavelength in rubber-sheet pixels along the angle, and sigma/f0
WAVELENGTH = 28.0
SIGMA_ON_F = 0.5
#: bits whose response is below this fraction of the median amplitude are masked (fragile)
WEAK_FRACTION = 0.1

Words = NDArray[np.uint64]
Bits = NDArray[np.bool_]


@dataclass(frozen=True)
class IrisTemplate:
    """A packed iris code and its mask (both `WORDS` uint64 words)."""

    code: Words
    mask: Words

    def bits(self) -> tuple[Bits, Bits]:
        """(code, mask) unpacked to CODE_ROWS x CODE_COLS x 2 booleans."""
        return unpack(self.code), unpack(self.mask)

    @property
    def usable_bits(self) -> int:
        return int(np.bitwise_count(self.mask).sum())

    def to_bytes(self) -> bytes:
        return self.code.astype("<u8").tobytes() + self.mask.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> IrisTemplate:
        if len(data) != 2 * WORDS * 8:
            raise ValueError("not an iris template")
        words = np.frombuffer(data, dtype="<u8").astype(np.uint64)
        return cls(words[:WORDS].copy(), words[WORDS:].copy())


def pack(bits: Bits) -> Words:
    """CODE_ROWS x CODE_COLS x 2 booleans -> WORDS uint64 words."""
    flat = np.packbits(bits.reshape(-1), bitorder="little")
    return flat.view("<u8").astype(np.uint64)


def unpack(words: Words) -> Bits:
    raw = np.unpackbits(words.astype("<u8").view(np.uint8), bitorder="little")
    return raw.astype(np.bool_).reshape(CODE_ROWS, CODE_COLS, 2)


def _log_gabor(n: int) -> NDArray[np.float64]:
    freq = np.fft.fftfreq(n)
    f0 = 1.0 / WAVELENGTH
    response = np.zeros(n)
    positive = freq > 0
    response[positive] = np.exp(-(np.log(freq[positive] / f0) ** 2) / (2 * np.log(SIGMA_ON_F) ** 2))
    return response


_FILTER = _log_gabor(ANGULAR)
_ROWS = (np.arange(CODE_ROWS) * (RADIAL // CODE_ROWS) + RADIAL // CODE_ROWS // 2).astype(np.intp)
_COL_STEP = ANGULAR // CODE_COLS


def encode(sheet: Floats, valid: Mask) -> IrisTemplate:
    """The template of a RADIAL x ANGULAR rubber sheet and its usable cells."""
    rows = sheet[_ROWS].astype(np.float64)
    ok = valid[_ROWS]
    for i in range(CODE_ROWS):  # noise cells take the row's mean so they do not ring
        fill = rows[i][ok[i]].mean() if ok[i].any() else 0.0
        rows[i][~ok[i]] = fill
        rows[i] -= fill
    response = np.fft.ifft(np.fft.fft(rows, axis=1) * _FILTER[None, :], axis=1)
    sampled = response[:, ::_COL_STEP]
    cells = ok[:, ::_COL_STEP]
    code = np.stack([sampled.real > 0, sampled.imag > 0], axis=-1)
    amplitude = np.abs(sampled)
    median = float(np.median(amplitude[cells])) if cells.any() else 0.0
    strong = np.stack(
        [
            np.abs(sampled.real) > WEAK_FRACTION * median,
            np.abs(sampled.imag) > WEAK_FRACTION * median,
        ],
        axis=-1,
    )
    mask = strong & cells[:, :, None]
    return IrisTemplate(pack(code), pack(mask))
