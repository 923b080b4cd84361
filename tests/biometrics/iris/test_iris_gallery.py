"""The encrypted gallery: one enrolment per name, erasure removes the record and its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.biometrics.iris.gallery import IrisGallery
from appliance.errors import ApplianceError, Reason
from tests.biometrics.iris.conftest import encoded


def test_enrol_replaces_and_erase_removes(tmp_path: Path) -> None:
    gallery = IrisGallery(tmp_path / "iris")
    first = gallery.enrol("Ann", [encoded(0, 0).template])
    gallery.enrol("Ben", [encoded(1, 0).template])
    again = gallery.enrol("Ann", [encoded(0, 1).template, encoded(0, 2).template])
    names = sorted((e.name, len(e.templates)) for e in gallery.enrolments())
    assert names == [("Ann", 2), ("Ben", 1)]
    assert first.record_id != again.record_id
    stored = gallery.enrolments()[[e.name for e in gallery.enrolments()].index("Ann")]
    assert (stored.templates[0].code == encoded(0, 1).template.code).all()

    assert gallery.erase("Ann") == 1
    records = json.loads(gallery.path.read_text())["records"]
    assert [r["id"] for r in records] != [again.record_id]
    assert again.record_id not in gallery.path.read_text()
    assert [e.name for e in gallery.enrolments()] == ["Ben"]
    with pytest.raises(ApplianceError) as err:
        gallery.erase("Ann")
    assert err.value.reason is Reason.IRIS_NOT_ENROLLED


def test_a_record_moved_to_another_id_does_not_open(tmp_path: Path) -> None:
    gallery = IrisGallery(tmp_path / "iris")
    gallery.enrol("Ann", [encoded(0, 0).template])
    gallery.enrol("Ben", [encoded(1, 0).template])
    raw = json.loads(gallery.path.read_text())
    a, b = raw["records"]
    a["id"], b["id"] = b["id"], a["id"]  # the id is bound to the ciphertext
    gallery.path.write_text(json.dumps(raw))
    with pytest.raises(ApplianceError) as err:
        gallery.enrolments()
    assert err.value.reason is Reason.IRIS_GALLERY_DAMAGED


def test_a_lost_key_is_damage_not_an_empty_gallery(tmp_path: Path) -> None:
    gallery = IrisGallery(tmp_path / "iris")
    gallery.enrol("Ann", [encoded(0, 0).template])
    gallery.key_path.unlink()
    with pytest.raises(ApplianceError) as err:
        gallery.enrolments()
    assert err.value.reason is Reason.IRIS_GALLERY_DAMAGED
