"""The morph generator (the attacker's tool): morphs that both contributors match, chip-sized."""

from __future__ import annotations

import random

import numpy as np
import pytest

from appliance.biometrics.face.align import align_face
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.detect import NOSE
from appliance.biometrics.face.icao_token import TOKEN_HEIGHT, TOKEN_WIDTH, TokenFormat
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import ApplianceError, Reason
from hardware_mocks.morphing import (
    FACE_OVAL,
    Contributor,
    MorphGenerator,
    Variant,
    chip_encode,
    pair_by_similarity,
    print_and_scan,
)
from tests.support.face_support import photo, verifier

__all__ = ["verifier"]


@pytest.fixture(scope="module")
def generator() -> MorphGenerator:
    return MorphGenerator.load()


@pytest.fixture(scope="module")
def pair(generator: MorphGenerator) -> tuple[Contributor, Contributor]:
    return (
        generator.contributor(photo("person02/img26.jpg")),
        generator.contributor(photo("person04/img3.jpg")),
    )


def _embedding(verifier: FaceVerifier, image: np.ndarray) -> np.ndarray:
    faces = verifier.detector.detect(image)
    assert faces, "no face in the morph"
    return verifier.embedder.embed(align_face(image, max(faces, key=lambda f: f.width)))[0]


def test_dense_landmarks_fall_on_the_face(generator: MorphGenerator) -> None:
    token = generator.contributor(photo("obama/obama.jpg")).token
    face = generator.detector.detect(token)[0]
    points = generator.mesh.landmarks(token, face)
    assert points.shape == (468, 2)
    # mesh point 1 is the nose tip: within a few pixels of the detector's own nose keypoint
    assert np.linalg.norm(points[1] - face.keypoints[NOSE]) < 0.08 * face.width
    oval = points[list(FACE_OVAL)]
    margin = 0.3 * face.width
    assert (oval[:, 0] > face.box[0] - margin).all() and (oval[:, 0] < face.box[2] + margin).all()


@pytest.mark.parametrize("variant", list(Variant))
def test_morph_is_closer_to_each_contributor_than_they_are_to_each_other(
    generator: MorphGenerator,
    pair: tuple[Contributor, Contributor],
    verifier: FaceVerifier,
    variant: Variant,
) -> None:
    a, b = pair
    morph = generator.morph(a, b, 0.5, variant)
    assert morph.shape == (TOKEN_HEIGHT, TOKEN_WIDTH, 3)
    ea, eb, em = (_embedding(verifier, im) for im in (a.token, b.token, morph))
    between = float(ea @ eb)
    assert float(em @ ea) > between and float(em @ eb) > between


def test_alpha_moves_the_morph_towards_the_second_contributor(
    generator: MorphGenerator, pair: tuple[Contributor, Contributor], verifier: FaceVerifier
) -> None:
    a, b = pair
    ea, eb = _embedding(verifier, a.token), _embedding(verifier, b.token)
    low = _embedding(verifier, generator.morph(a, b, 0.3))
    high = _embedding(verifier, generator.morph(a, b, 0.7))
    assert float(high @ eb) > float(low @ eb) and float(low @ ea) > float(high @ ea)


def test_splice_keeps_the_first_contributors_background(
    generator: MorphGenerator, pair: tuple[Contributor, Contributor]
) -> None:
    a, b = pair
    spliced = generator.morph(a, b, 0.5, Variant.SPLICE)
    full = generator.morph(a, b, 0.5, Variant.FULL)
    corner = (slice(0, 80), slice(0, 80))  # background, far from the face
    diff_splice = np.abs(spliced[corner].astype(int) - a.token[corner].astype(int)).mean()
    diff_full = np.abs(full[corner].astype(int) - a.token[corner].astype(int)).mean()
    assert diff_splice < 1.0 < diff_full


@pytest.mark.parametrize("fmt", list(TokenFormat))
def test_chip_encoding_is_chip_sized_and_decodable(
    generator: MorphGenerator, pair: tuple[Contributor, Contributor], fmt: TokenFormat
) -> None:
    rng = random.Random(3)
    morph = print_and_scan(generator.morph(*pair), rng)
    data, used = chip_encode(morph, rng, fmt)
    assert used is fmt
    assert 8_000 < len(data) <= 20_000
    assert decode_image(data).shape == (TOKEN_HEIGHT, TOKEN_WIDTH, 3)


def test_no_face_is_a_reason_not_a_crash(generator: MorphGenerator) -> None:
    with pytest.raises(ApplianceError) as err:
        generator.contributor(np.full((300, 300, 3), 128, np.uint8))
    assert err.value.reason is Reason.FACE_NOT_FOUND


def test_pairs_are_chosen_among_look_alikes() -> None:
    base = np.eye(8, dtype=np.float32)
    embeddings = {f"p{i}": base[i] for i in range(8)}
    embeddings["twin"] = (base[3] + 0.05 * base[5]).astype(np.float32)
    pairs = pair_by_similarity(embeddings, per_person=1)
    assert ("p3", "twin") in pairs
    assert ("p0", "twin") not in pairs  # nobody is paired with a stranger when a look-alike exists
    assert all(a != b for a, b in pairs)
