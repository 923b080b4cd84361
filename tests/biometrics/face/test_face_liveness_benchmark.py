"""benchmarks/face.py judges the liveness threshold on both sides: APCER on recorded attack
frames and BPCER on the bona fide recordings, at every threshold asked for."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from appliance.biometrics.face.liveness import Challenge
from appliance.biometrics.face.quality import estimate_pose
from benchmarks.face import (
    Recorded,
    bona_fide_evaluation,
    highest_accepting_turn_deg,
    pad_evaluation,
    replay,
)
from tests.biometrics.face.test_face_liveness import head_face


def turning(amplitude: float) -> Recorded:
    """A presentation whose frames show a real head turning left by `amplitude` and back."""
    yaws = [0.0] * 6 + [float(y) for y in amplitude * np.sin(np.linspace(0, math.pi, 20))]
    frames = [(i / 15, [head_face(y)]) for i, y in enumerate(yaws + [0.0] * 6)]
    return Recorded((Challenge.TURN_LEFT,), frames)


def test_each_threshold_counts_the_presentations_it_accepts() -> None:
    # the keypoint estimator reads these real turns as about 11, 16.4 and 5.5 degrees
    recorded = {"print": [turning(10.0), turning(15.0)], "screen_replay": [turning(5.0)]}
    report = pad_evaluation(recorded, [18.0, 15.0, 10.0])
    by_deg = report["apcer_by_turn_deg"]
    assert isinstance(by_deg, dict)
    accepted = {deg: {k: v["accepted_as_live"] for k, v in a.items()} for deg, a in by_deg.items()}
    assert accepted == {
        "18": {"print": 0, "screen_replay": 0},
        "15": {"print": 1, "screen_replay": 0},
        "10": {"print": 2, "screen_replay": 0},
    }
    assert by_deg["15"]["print"]["apcer"] == 0.5
    assert by_deg["15"]["print"]["presentations"] == 2
    assert by_deg["18"]["print"]["outcomes"] == {"timeout": 2}


def test_margin_is_the_largest_threshold_that_still_accepts() -> None:
    recorded = turning(15.0)
    peak = max(estimate_pose(faces[0]).yaw_deg for _, faces in recorded.frames)
    margin = highest_accepting_turn_deg(recorded)
    assert margin is not None and peak - 0.5 < margin <= peak
    assert replay(recorded, turn_deg=margin).live
    assert not replay(recorded, turn_deg=margin + 0.5).live
    assert highest_accepting_turn_deg(Recorded((Challenge.TURN_LEFT,), [])) is None


def test_bona_fide_side_is_skipped_with_a_reason_when_the_clips_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm: nothing can be fetched
    report = bona_fide_evaluation(tmp_path / "empty", [15.0])
    assert report["measured"] is False
    assert "npm" in str(report["why_not"])
