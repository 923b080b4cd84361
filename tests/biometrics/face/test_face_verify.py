"""End-to-end 1:1 verification against chip-like references: decisions and their reasons."""

from __future__ import annotations

import json

import cv2
import numpy as np

from appliance.biometrics.face.compare import OperatingPoint, threshold_for
from appliance.biometrics.face.icao_token import TokenFormat, token_image
from appliance.biometrics.face.liveness import LivenessResult
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import Reason
from tests.support.face_support import chip_reference, photo, verifier

__all__ = ["verifier"]


def test_same_person_matches_from_jpeg2000_and_jpeg_references(verifier: FaceVerifier) -> None:
    live = photo("obama/obama-480p.jpg")
    for fmt in TokenFormat:
        result = verifier.verify(chip_reference(verifier, "obama/obama.jpg", fmt), [live])
        assert result.reason is Reason.OK, result.as_dict()
        assert result.status == "pass"
        assert result.score is not None and result.score >= result.threshold


def test_different_people_do_not_match(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    for other in ("biden/biden.jpg", "person01/img1.jpg", "person05/img13.jpg"):
        result = verifier.verify(reference, [photo(other)])
        assert result.reason is Reason.FACE_NO_MATCH, other
        assert result.status == "fail"
        assert result.score is not None and result.score < result.threshold


def test_best_frame_of_a_burst_is_compared(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "person02/img26.jpg")
    good = photo("person02/img27.jpg")
    blank = np.full_like(good, 120)
    blurred = cv2.GaussianBlur(good, (0, 0), 12)
    result = verifier.verify(reference, [blank, blurred, good, blank])
    assert result.reason is Reason.OK
    sharp = next(f for f in result.quality["live"] if f["measure"] == "sharpness")
    assert sharp["ok"] is True


def test_no_face_in_live_frames(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    result = verifier.verify(reference, [np.full((480, 640, 3), 90, np.uint8)])
    assert result.reason is Reason.FACE_NOT_FOUND
    assert result.subject == "live"
    assert result.score is None


def test_no_face_in_reference(verifier: FaceVerifier) -> None:
    ok, blank = cv2.imencode(".jp2", np.full((640, 480, 3), 200, np.uint8))
    assert ok
    result = verifier.verify(bytes(blank.tobytes()), [photo("obama/obama.jpg")])
    assert result.reason is Reason.FACE_NOT_FOUND
    assert result.subject == "reference"


def test_unreadable_reference(verifier: FaceVerifier) -> None:
    result = verifier.verify(b"\xff\xd8\xff\xe0garbage", [photo("obama/obama.jpg")])
    assert result.reason is Reason.IMAGE_UNREADABLE
    assert result.status == "fail"


def test_dark_live_frame_asks_for_light(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    dark = (photo("obama/obama-480p.jpg").astype(np.float32) * 0.22).astype(np.uint8)
    result = verifier.verify(reference, [dark])
    assert result.reason is Reason.FACE_QUALITY
    assert result.subject == "live"
    assert result.instruction is not None and "dark" in result.instruction


def test_distant_live_face_asks_to_step_closer(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    live = photo("obama/obama-480p.jpg")
    small = cv2.resize(live, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small[:380, :440]
    result = verifier.verify(reference, [canvas])
    assert result.reason is Reason.FACE_QUALITY
    assert result.instruction == "step closer"


def test_two_people_in_the_live_frame(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    left, right = photo("obama/obama-480p.jpg"), photo("biden/biden.jpg")
    h = min(left.shape[0], right.shape[0])
    result = verifier.verify(reference, [np.hstack([left[:h], right[:h]])])
    assert result.reason is Reason.FACE_QUALITY
    assert result.instruction == "one person at a time, please"


def test_failed_liveness_refuses_before_comparing(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    not_live = LivenessResult(False, "timeout", ("turn_left", "turn_right"), 0, 3.0)
    result = verifier.verify(reference, [photo("obama/obama-480p.jpg")], liveness=not_live)
    assert result.reason is Reason.FACE_NOT_LIVE
    assert result.score is None
    assert result.liveness == not_live.as_dict()


def test_report_is_json_ready_and_carries_no_pixels(verifier: FaceVerifier) -> None:
    reference = chip_reference(verifier, "obama/obama.jpg")
    report = verifier.verify(reference, [photo("obama/obama-480p.jpg")]).as_dict()
    assert set(report) >= {"status", "reason", "score", "threshold", "quality", "timings_ms"}
    assert {"detect", "align", "embed", "total"} <= set(report["timings_ms"])  # type: ignore[arg-type]
    json.dumps(report)  # JSON-ready as it is


def test_stricter_operating_point_has_a_higher_threshold() -> None:
    assert threshold_for(OperatingPoint.FMR_0_05_PERCENT) > threshold_for(
        OperatingPoint.FMR_0_1_PERCENT
    )


def test_poor_chip_photo_is_reported_as_the_documents(verifier: FaceVerifier) -> None:
    """No match against an unusable chip photo is not blamed on the traveller."""
    image = photo("biden/biden.jpg")
    face = verifier.detector.detect(image)[0]
    token = (token_image(image, face).astype(np.float32) * 0.13).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", token, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    result = verifier.verify(bytes(encoded.tobytes()), [photo("obama/obama-480p.jpg")])
    assert result.reason is Reason.FACE_QUALITY
    assert result.subject == "reference"
    assert any(not f["ok"] for f in result.quality["reference"])
