"""hardware_mocks/morph_extra.py: the extra training set uses the training identities only,
every further photo as a chip photo of its own, and look-alikes other than the main set's."""

from __future__ import annotations

import shutil
from pathlib import Path

from hardware_mocks.morph_extra import build_extra
from hardware_mocks.morph_set import (
    enrolment_embeddings,
    identity_split,
    people_photos,
    person_id,
    read_pairs,
)
from hardware_mocks.morphing import pair_by_similarity
from tests.support.face_support import FACES

#: folder name -> the test photos' folder it copies; the names are chosen by their split
PEOPLE = {
    "obama": "obama",  # train, 3 photos
    "person04": "person04",  # train, 2 photos
    "biden-d": "biden",  # train
    "person02-b": "person02",  # train
    "biden-b": "biden",  # test: must stay out
}


def test_extra_set_is_training_only_with_every_further_photo_and_new_look_alikes(
    tmp_path: Path,
) -> None:
    root = tmp_path / "faces"
    for name, source in PEOPLE.items():
        shutil.copytree(FACES / source, root / name)
    assert identity_split("biden-b") == "test"
    train = {n for n in PEOPLE if identity_split(n) == "train"}
    assert len(train) == 4

    pairs_file = build_extra(root, tmp_path / "extra", partners=3, log=False)
    entries = read_pairs(pairs_file)
    assert {e.split for e in entries} == {"train"}
    assert person_id("biden-b") not in {p for e in entries for p in e.people}
    assert all("biden-b" not in p.path for e in entries for p in e.probes)
    assert all((pairs_file.parent / e.reference).is_file() for e in entries)

    # every photo but a person's first (the main set's chip photo) is a chip photo of its own,
    # checked against the person's other photos
    bona = [e for e in entries if e.label == "bona_fide"]
    photos = people_photos(root)
    assert len(bona) == sum(len(photos[n]) - 1 for n in train) == 5
    assert len({e.reference for e in bona}) == len(bona)
    assert all(e.probes and all(p.person == e.people[0] for p in e.probes) for e in bona)

    # morphs: the 2nd and 3rd look-alikes, never the pair the main set already has
    embeddings = enrolment_embeddings({n: photos[n] for n in train})
    first = {frozenset(map(person_id, p)) for p in pair_by_similarity(embeddings, 1)}
    wanted = {frozenset(map(person_id, p)) for p in pair_by_similarity(embeddings, 3)} - first
    morphed = {frozenset(e.people) for e in entries if e.label == "morph"}
    assert morphed == wanted and morphed
    assert sum(e.label == "morph" for e in entries) == 2 * len(wanted)  # full and splice

    # made once: a second call with the same recipe reuses the set
    stamp = (pairs_file.parent / "recipe.json").stat().st_mtime_ns
    assert build_extra(root, tmp_path / "extra", partners=3, log=False) == pairs_file
    assert (pairs_file.parent / "recipe.json").stat().st_mtime_ns == stamp
