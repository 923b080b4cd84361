"""The officer's API (#15 items 2-3): a referred check's person (DG1, chip photo, face result,
the document's timeline), decisions with a reason from the list, overrides only with a note and
recorded in the history, and the monitoring station's referrals with the pending counter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from tests.support.auth_support import local_client, log_in
from tests.support.lane_support import sim_config, wait_ready

A = "/api/v1"


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[LaneService]:
    lane = LaneService(sim_config(tmp_path), data_dir)
    yield lane
    assert lane.stop(10)


def test_referral_person_decision_and_override(service: LaneService) -> None:
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")
        placed = {}
        for kind in ("genuine", "forged_dg", "expired"):
            placed[kind] = client.post(f"{A}/sim/travellers", json={"kind": kind}).json()
        forged, expired = placed["forged_dg"]["check_id"], placed["expired"]["check_id"]
        board = client.get(f"{A}/referrals").json()
        assert board["pending"] == 2 and board["lanes"][0]["state"] in ("ready", "remove_document")
        listed = {r["check_id"]: r for r in board["referrals"]}
        assert set(listed) == {forged, expired}
        assert "PA_DG_HASH_MISMATCH" in listed[forged]["reasons"]

        hook = service.simulation
        assert hook is not None
        profile = hook.traveller(placed["expired"]["ref"]).profile  # type: ignore[union-attr]
        shown = client.get(f"{A}/checks/{expired}/person").json()
        assert shown["dg1"]["surname"] == profile.surname  # the chip's DG1, as read
        assert shown["dg1"]["date_of_birth"] == profile.date_of_birth
        person = client.get(f"{A}/checks/{forged}/person").json()
        profile = hook.traveller(placed["forged_dg"]["ref"]).profile  # type: ignore[union-attr]
        assert person["dg1"]["document_number"] == profile.document_number
        assert person["chip_photo"].startswith("data:image/")
        assert person["face"]["status"] == "skipped" and person["live_capture"] is None
        # with a face step, the lane keeps the live frame it compared (as JPEG, in memory)
        loop = service.loop
        record = loop.check(forged) if loop is not None else None
        assert record is not None
        record.live_capture = b"\xff\xd8\xff\xe0" + b"\0" * 16
        live = client.get(f"{A}/checks/{forged}/person").json()["live_capture"]
        assert live.startswith("data:image/jpeg;base64,")
        assert [e["check_id"] for e in person["timeline"]] == [forged]
        # not enrolled with central: the screen says so and shows this device's history only
        assert person["central"] == {"central": "not_enrolled", "checks": []}
        assert client.get(f"{A}/checks/nope/person").status_code == 404

        admit = {"decision": "admit", "reason": "DOCUMENT_VERIFIED_MANUALLY"}
        bare = client.post(f"{A}/checks/{forged}/decision", json=admit)
        assert bare.status_code == 422 and bare.json()["reason"] == "DECISION_NOTE_REQUIRED"
        wrong = client.post(f"{A}/checks/{forged}/decision",
                            json={**admit, "reason": "IMPOSTOR", "note": "checked"})  # fmt: skip
        assert wrong.status_code == 400
        note = "page 2 laminate checked under UV, holder matches"
        done = client.post(f"{A}/checks/{forged}/decision", json={**admit, "note": note})
        assert done.status_code == 200 and done.json()["override"] is True
        refer = {"decision": "second_line", "reason": "FURTHER_EXAMINATION"}
        second = client.post(f"{A}/checks/{expired}/decision", json=refer)
        assert second.status_code == 200 and second.json()["override"] is False

        board = client.get(f"{A}/referrals").json()
        assert board["pending"] == 0
        decided = {r["check_id"]: r["officer_decision"] for r in board["referrals"]}
        assert decided[forged]["decision"] == "admit" and decided[forged]["override"]
        assert decided[forged]["account"] == "test-officer"
        timeline = client.get(f"{A}/checks/{forged}/person").json()["timeline"]
        assert [(e["type"], e["outcome"]) for e in timeline] == [
            ("check", "REFER"),
            ("override", "admit"),
        ]
        # the supervisor reviews the overrides (the officer may not list them)
        assert client.get(f"{A}/overrides").status_code == 403
        log_in(client, service.directory, "supervisor")
        (review,) = client.get(f"{A}/overrides").json()["overrides"]
        expected = {
            "check_id": forged,
            "account": "test-officer",
            "role": "officer",
            "automated": "REFER",
            "decision": "admit",
            "reason": "DOCUMENT_VERIFIED_MANUALLY",
            "note": note,
        }
        assert {k: review[k] for k in expected} == expected
    records = service.history.recent(20, reveal=True)  # type: ignore[union-attr]
    override = next(v for v in records if v.leaf.type == "override")
    assert override.leaf.public["account"] == "test-officer"
    assert override.leaf.public["check_id"] == forged and override.leaf.reasons == (
        "DOCUMENT_VERIFIED_MANUALLY",
    )
    assert note not in json.dumps(dict(override.leaf.public))  # the note is sealed
    assert override.personal is not None and override.personal.extra["note"] == note


def test_handheld_check_with_what_the_officer_typed(data_dir: Path, tmp_path: Path) -> None:
    service = LaneService(sim_config(tmp_path, device={"mode": "handheld"}), data_dir)
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")

        def check(start: dict[str, object]) -> dict[str, object]:
            assert client.post(f"{A}/checks", json=start).status_code == 202
            answer = client.post(f"{A}/sim/travellers", json={"kind": "genuine"})
            assert answer.status_code == 200, answer.text
            result: dict[str, object] = answer.json()
            return result

        plain = check({})  # the station's MRZ scanner and the key from the MRZ
        assert plain["mode"] == "handheld" and plain["decision"] == "ADVISE"
        wrong_can = check({"can": "000000"})
        assert wrong_can["decision"] == "REFER" and wrong_can["timings_ms"]
        steps = client.get(f"{A}/checks/{wrong_can['check_id']}").json()["report"]["steps"]
        access = next(s for s in steps if s["name"] == "chip_access")
        assert access["status"] == "fail"
        wrong_key = {"document_number": "X0000000", "date_of_birth": "700101",
                     "date_of_expiry": "300101"}  # fmt: skip
        assert check(wrong_key)["decision"] == "REFER"
        both = client.post(f"{A}/checks", json={"can": "123456", "document_number": "X1"})
        assert both.status_code == 400 and both.json()["reason"] == "USAGE"
        half = client.post(f"{A}/checks", json={"document_number": "X1"})
        assert half.status_code == 400
        assert client.post(f"{A}/checks", json={"mrz": ["lower case"]}).status_code == 422
    assert service.stop(10)


def test_the_mrz_of_a_photo_of_the_data_page(service: LaneService) -> None:
    import base64
    import random

    import cv2
    import numpy as np

    from hardware_mocks.mrz_frames import render_page, scan

    page, lines = render_page(random.Random(3), "TD3", 300)
    photo = scan(page, random.Random(3), np.random.default_rng(3), 90)
    ok, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok and lines
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")
        image = base64.b64encode(jpeg.tobytes()).decode()
        read = client.post(f"{A}/mrz/read", json={"image_b64": image})
        assert read.status_code == 200, read.text
        assert read.json()["lines"] == lines and read.json()["layout"] == "TD3"
        junk = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode()
        refused = client.post(f"{A}/mrz/read", json={"image_b64": junk})
        assert refused.status_code >= 400 and refused.json()["reason"].startswith("IMAGE")


def test_the_officer_reads_a_visa_seal_from_a_photo(service: LaneService) -> None:
    """A visa seal photographed by the handheld is decoded, parsed and verified against the
    device's trust store: untrusted until its signer chains to a trusted CSCA, then valid."""
    import base64
    import hashlib

    import cv2
    import numpy as np

    from appliance.emrtd.pki.importer import import_file
    from appliance.emrtd.pki.trust_store import DEFAULT_FILE, TrustStore
    from hardware_mocks import barcode_seals as bs

    pki = bs.seal_pki("DE")
    signer = bs.issue_seal_signer(pki, "TS", 0x1A2)
    features = bs.visa_for("C01X00T47", "D", "640812", "MUSTERMANN", "ERIKA")
    ok, png = cv2.imencode(".png", bs.symbol_image(bs.make_vds(signer, features=features),
                                                  "datamatrix"))  # fmt: skip
    assert ok
    image = base64.b64encode(png.tobytes()).decode()
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        log_in(client, service.directory, "officer")
        first = client.post(f"{A}/barcodes/read", json={"image_b64": image})
        assert first.status_code == 200, first.text
        (symbol,) = first.json()["symbols"]
        assert symbol["kind"] == "icao_vds"
        assert symbol["fields"]["passport_number"] == "C01X00T47"
        assert symbol["signature"]["status"] == "untrusted"
        with TrustStore(service.directory / DEFAULT_FILE) as store:
            anchor = hashlib.sha256(pki.csca_der).hexdigest()
            assert import_file(pki.csca_der, store, "csca", anchors=[anchor]).ok
            assert import_file(signer.certificate_der, store, "signer").ok
        second = client.post(f"{A}/barcodes/read", json={"image_b64": image}).json()
        assert second["symbols"][0]["signature"]["status"] == "valid", second
        white = np.full((200, 200), 255, np.uint8)
        blank = base64.b64encode(cv2.imencode(".png", white)[1].tobytes()).decode()
        nothing = client.post(f"{A}/barcodes/read", json={"image_b64": blank}).json()
        assert (nothing["status"], nothing["reason"], nothing["symbols"]) == (
            "fail",
            "BARCODE_NOT_FOUND",
            [],
        )
