"""Iris codes: same eye matches, different eyes do not, rotation search, packing, 1:N."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from appliance.biometrics.iris import match as match_module
from appliance.biometrics.iris.encode import BITS, WORDS, IrisTemplate, pack, unpack
from appliance.biometrics.iris.match import (
    DEGREES_PER_SHIFT,
    MAX_SHIFT,
    NORM_BITS,
    Gallery,
    compare,
    normalise,
)
from appliance.biometrics.iris.pipeline import encode_eye
from appliance.config import IrisConfig
from hardware_mocks.iris_synth import IrisSynth
from tests.biometrics.iris.conftest import CAPTURES, IDENTITIES, encoded

THRESHOLD = IrisConfig().threshold


def test_captures_of_one_eye_match() -> None:
    for identity in range(IDENTITIES):
        for a, b in itertools.combinations(range(CAPTURES), 2):
            score = compare(encoded(identity, a).template, encoded(identity, b).template)
            assert score.hd_norm <= THRESHOLD, (identity, a, b, score)


def test_different_eyes_do_not_match() -> None:
    for i, j in itertools.combinations(range(IDENTITIES), 2):
        score = compare(encoded(i, 0).template, encoded(j, 1).template)
        assert score.hd_norm > THRESHOLD, (i, j, score)
        assert 0.35 < score.hd_raw < 0.6  # unrelated codes agree on about half their bits


def test_rotation_search_recovers_a_head_tilt() -> None:
    synth = IrisSynth(21)
    upright = encode_eye(synth.capture(1, rotation_deg=0.0)[0]).template
    tilted = encode_eye(synth.capture(1, rotation_deg=11.0)[0]).template
    found = compare(tilted, upright)
    assert found.hd_norm <= THRESHOLD
    assert abs(abs(found.rotation_deg) - 11.0) <= DEGREES_PER_SHIFT
    without = compare(tilted, upright, max_shift=0)
    assert without.hd_norm > found.hd_norm + 0.1  # the search is what made it match


def test_a_tilt_beyond_the_search_range_does_not_match() -> None:
    synth = IrisSynth(22)
    upright = encode_eye(synth.capture(1, rotation_deg=0.0)[0]).template
    tilted = encode_eye(synth.capture(1, rotation_deg=45.0)[0]).template
    assert compare(tilted, upright).hd_norm > THRESHOLD
    assert compare(tilted, upright, max_shift=18).hd_norm <= THRESHOLD


def test_packing_round_trips() -> None:
    bits = np.random.default_rng(3).integers(0, 2, (8, 128, 2)).astype(bool)
    words = pack(bits)
    assert words.dtype == np.uint64 and words.shape == (WORDS,)
    assert (unpack(words) == bits).all()
    template = IrisTemplate(words, pack(~bits))
    back = IrisTemplate.from_bytes(template.to_bytes())
    assert (back.code == template.code).all() and (back.mask == template.mask).all()
    with pytest.raises(ValueError):
        IrisTemplate.from_bytes(template.to_bytes()[:-1])
    assert BITS == 2048


def test_normalisation_discounts_few_bits() -> None:
    hd = np.array([0.2, 0.2, 0.2])
    bits = np.array([NORM_BITS, NORM_BITS // 4, 4 * NORM_BITS])
    norm = normalise(hd, bits)
    assert norm[0] == pytest.approx(0.2)
    assert norm[1] == pytest.approx(0.5 - 0.3 * 0.5, abs=1e-3)  # fewer bits: nearer 0.5
    assert norm[2] == pytest.approx(0.5 - 0.3 * 2.0)


def test_masked_bits_do_not_count() -> None:
    rng = np.random.default_rng(4)
    code = rng.integers(0, 2, (8, 128, 2)).astype(bool)
    other = code.copy()
    other[:4] = ~other[:4]  # the first half of the rows disagree everywhere...
    mask = np.ones_like(code)
    mask[:4] = False  # ...but are masked in the probe
    probe = IrisTemplate(pack(other), pack(mask))
    reference = IrisTemplate(pack(code), pack(np.ones_like(code)))
    score = compare(probe, reference, max_shift=0)
    assert score.hd_raw == 0.0 and score.bits == BITS // 2


def test_gallery_search_equals_one_to_one_scores() -> None:
    templates = [encoded(i, c).template for i in range(IDENTITIES) for c in range(2)]
    gallery = Gallery(templates)
    probe = encoded(2, 2).template
    scores = gallery.search(probe)
    expected = [compare(probe, t).hd_norm for t in templates]
    assert np.allclose(scores, expected, atol=1e-5)
    assert int(np.argmin(scores)) in (4, 5)  # identity 2's two templates
    assert MAX_SHIFT >= 4


def test_gallery_counts_full_words_exactly() -> None:
    """Every bit valid and every bit different: word counts of 64 summed without overflow."""
    code = np.random.default_rng(5).integers(0, 2, (8, 128, 2)).astype(bool)
    ones = np.ones_like(code)
    probe = IrisTemplate(pack(code), pack(ones))
    opposite = IrisTemplate(pack(~code), pack(ones))
    same = IrisTemplate(pack(code), pack(ones))
    scores = Gallery([opposite, same]).search(probe, max_shift=0)
    assert scores[0] == pytest.approx(0.5 + 0.5 * np.sqrt(BITS / NORM_BITS))
    assert scores[0] == pytest.approx(compare(probe, opposite, max_shift=0).hd_norm)
    assert scores[1] == pytest.approx(0.5 - 0.5 * np.sqrt(BITS / NORM_BITS))


def _random_template(rng: np.random.Generator, occluded: float) -> IrisTemplate:
    code = rng.integers(0, 2, (8, 128, 2)).astype(bool)
    mask = rng.random((8, 128, 2)) >= occluded
    return IrisTemplate(pack(code), pack(mask))


@pytest.mark.parametrize("chunk", [None, 97], ids=["one-chunk", "chunks"])
def test_gallery_search_is_the_one_to_one_score_bit_for_bit(
    chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1:N is only a faster way to the 1:1 score: on a random gallery (occlusion from none to
    so much that too few bits remain, MIN_BITS; probe and entries related at some shifts) every
    score is `compare`'s, bit for bit, whatever the chunking."""
    if chunk is not None:
        monkeypatch.setattr(match_module, "_CHUNK", chunk)
    rng = np.random.default_rng(19)
    probe = _random_template(rng, 0.2)
    templates = [_random_template(rng, float(o)) for o in rng.uniform(0.0, 0.97, 300)]
    code, mask = probe.bits()
    for i, shift in enumerate((-6, -1, 0, 3, 6, 7)):  # the probe itself, tilted, and noisier
        noisy = np.roll(code, shift, axis=1) ^ (rng.random(code.shape) < 0.1 * i)
        templates[i * 40] = IrisTemplate(pack(noisy), pack(np.roll(mask, shift, axis=1)))
    scores = Gallery(templates).search(probe)
    expected = np.array([compare(probe, t).hd_norm for t in templates])
    assert np.array_equal(scores, expected)
    assert (expected == 0.5).any() and expected.min() < 0.2  # both extremes were exercised
