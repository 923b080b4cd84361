"""More training references from the training identities of a morph set's folder.

`morph_set.build` gives each person one chip photo and one look-alike accomplice: the shape of
an attack, and the held-out `test` identities are scored on exactly that. For training it wastes
most of the folder: LFW's 540 training people have 2,000 photos and many more look-alikes.
Measured on the held-out identities (`models/morph/README.md`), these extra references took
the D-EER from 20.7 to 17.3 % (S-MAD) and from 14.4 to 12.4 % (D-MAD), where no new feature
had moved them.

`build_extra` uses the `train` identities only (the same hash split, so calibration and test
identities stay unseen): every further photo of a person is a bona fide chip photo of its own,
the others of the person its live photos; and each person is morphed with their 2nd to
`partners`-th most similar others (the 1st is `build`'s pair), from a random photo of each.
Post-processing as `build` (chip sizes, JPEG / JPEG 2000, a quarter print-and-scanned).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hardware_mocks.morph_set import (
    RECIPE_VERSION,
    enrolment_embeddings,
    every_photo_jobs,
    identity_split,
    made_for,
    people_photos,
    random_photo_jobs,
    run_jobs,
    write_set,
)
from hardware_mocks.morphing import pair_by_similarity

EXTRA_SPLIT = "train"


def extra_jobs(
    out: Path, people: dict[str, list[str]], embeddings: dict[str, Any], partners: int, seed: int
) -> tuple[list[tuple[Path, str, list[str], int]], list[tuple[Any, ...]]]:
    """The bona fide jobs (photo k of a person in folder `photo{k}`, k >= 1) and the morph
    jobs (the pairs of the 2nd..`partners`-th look-alikes)."""
    bona = every_photo_jobs(out, {n: people[n] for n in sorted(embeddings)}, seed, first=1)
    known = set(pair_by_similarity(embeddings, per_person=1))
    pairs = [p for p in pair_by_similarity(embeddings, per_person=partners) if p not in known]
    return bona, random_photo_jobs(out, people, pairs, seed, random.Random(f"extra:{seed}"))


def build_extra(
    data: Path, out: Path, partners: int = 12, seed: int = 18, jobs: int = 1, log: bool = True
) -> Path:
    """Write `out/pairs.jsonl` (every entry `train`) and its images, skipped when already
    there for this recipe."""
    pairs_file = out / "pairs.jsonl"
    recipe = {"version": RECIPE_VERSION, "extra": True, "data": str(data.resolve()),
              "seed": seed, "partners": partners}  # fmt: skip
    if made_for(out, recipe):
        return pairs_file
    (out / "refs").mkdir(parents=True, exist_ok=True)
    found = people_photos(data)
    mine = [n for n in found if identity_split(n) == EXTRA_SPLIT]
    people = {n: [str(p) for p in found[n]] for n in mine}
    embeddings = enrolment_embeddings({n: found[n] for n in people})
    bona_jobs, morph_jobs = extra_jobs(out, people, embeddings, partners, seed)
    if log:
        print(f"extra morph set: {len(bona_jobs)} chip photos, {len(morph_jobs)} pairs -> {out}")
    lines = run_jobs(out, bona_jobs, morph_jobs, jobs)
    return write_set(out, lines, recipe)


__all__ = ["build_extra", "extra_jobs"]
