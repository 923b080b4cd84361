"""Face image quality gate, in the spirit of ISO/IEC 29794-5 (measures, not a single score).

Each measure is a `Finding` with its value, its limit and, for a live capture, the instruction
the kiosk shows ("step closer", "look at the camera"). A poor live frame asks for a new capture;
a poor chip photo is reported as the document's, never blamed on the traveller.

Measures: face count, inter-eye distance, pose (yaw, roll from keypoints; pitch as the nose's
position between eyes and mouth), face fully in the frame, sharpness (variance of the Laplacian
on the aligned chip), exposure (mean luminance and clipped pixels), contrast, eyes visible
(the eye patches of the chip must show the sclera/iris contrast of an open, uncovered eye:
sunglasses and hands give dark, flat patches; this is a coarse occlusion check, not a blink
detector).
Limits were set on the shared face set so that its usable photos pass (see benchmarks/face.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.detect import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, DetectedFace
from appliance.biometrics.findings import Finding


class Subject(StrEnum):
    REFERENCE = "reference"  # the chip (DG2) photo
    LIVE = "live"  # the camera frame


@dataclass(frozen=True)
class QualityPolicy:
    min_inter_eye_px: float
    max_yaw_deg: float
    max_roll_deg: float
    pitch_index_range: tuple[float, float]
    min_sharpness: float
    luminance_range: tuple[float, float]
    max_clipped_fraction: float
    min_contrast: float
    min_eye_visibility: float


LIVE_POLICY = QualityPolicy(
    min_inter_eye_px=40.0,
    max_yaw_deg=25.0,
    max_roll_deg=20.0,
    pitch_index_range=(0.30, 0.75),
    min_sharpness=15.0,
    luminance_range=(50.0, 210.0),
    max_clipped_fraction=0.15,
    min_contrast=18.0,
    min_eye_visibility=0.25,
)
REFERENCE_POLICY = QualityPolicy(
    min_inter_eye_px=30.0,
    max_yaw_deg=25.0,
    max_roll_deg=20.0,
    pitch_index_range=(0.30, 0.75),
    min_sharpness=8.0,
    luminance_range=(40.0, 220.0),
    max_clipped_fraction=0.20,
    min_contrast=15.0,
    min_eye_visibility=0.0,
)


@dataclass(frozen=True)
class Pose:
    yaw_deg: float
    roll_deg: float
    pitch_index: float
    #: inter-eye distance over eye-to-mouth distance: shrinks as the face (or a card) turns
    width_ratio: float


def estimate_pose(face: DetectedFace) -> Pose:
    """Approximate head pose from keypoints (eye-aligned frame).

    Yaw: the nose tip sits about half an inter-eye distance in front of the eyes, so its
    sideways offset over the (foreshortened) eye distance is ~0.5 tan(yaw). A flat picture
    turned in front of the camera keeps this ratio, which liveness uses. Pitch: where the nose
    tip falls between the eye line (0) and the mouth (1); ~0.53 when frontal.
    """
    kp = face.keypoints
    eye_vec = kp[LEFT_EYE] - kp[RIGHT_EYE]
    roll = math.atan2(eye_vec[1], eye_vec[0])
    c, s = math.cos(-roll), math.sin(-roll)
    rot = np.array([[c, -s], [s, c]])
    pts = (kp - kp[RIGHT_EYE]) @ rot.T
    ied = max(float(pts[LEFT_EYE, 0]), 1e-6)
    mid_x, eye_y = ied / 2, float(pts[LEFT_EYE, 1] + pts[RIGHT_EYE, 1]) / 2
    yaw_index = (float(pts[NOSE, 0]) - mid_x) / ied
    span = float(pts[MOUTH, 1]) - eye_y
    pitch_index = (float(pts[NOSE, 1]) - eye_y) / span if span > 1e-6 else 0.0
    return Pose(
        yaw_deg=math.degrees(math.atan(yaw_index / 0.5)),
        roll_deg=math.degrees(roll),
        pitch_index=pitch_index,
        width_ratio=ied / span if span > 1e-6 else 0.0,
    )


def eye_visibility(chip_rgb: NDArray[np.uint8]) -> float:
    """Lower of the two eye patches' luminance spread (5th-95th percentile) relative to the
    face's: an open eye (sclera next to iris) spreads wide, a lens or a hand does not."""
    gray = cv2.cvtColor(chip_rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    face_spread = float(np.subtract(*np.percentile(gray[25:135, 30:120], [95, 5])))
    spreads = []
    for cx, cy in ((46, 47), (101, 47)):  # eye centres of the chip template
        patch = gray[cy - 7 : cy + 8, cx - 13 : cx + 14]
        spreads.append(float(np.subtract(*np.percentile(patch, [95, 5]))))
    return min(spreads) / max(face_spread, 1.0)


def assess(
    image_bgr: NDArray[np.uint8],
    faces: list[DetectedFace],
    chip_rgb: NDArray[np.uint8],
    subject: Subject,
    policy: QualityPolicy | None = None,
) -> list[Finding]:
    """All findings for the main face (faces[0]) of an image; `chip_rgb` is its aligned chip."""
    policy = policy or (LIVE_POLICY if subject is Subject.LIVE else REFERENCE_POLICY)
    face = faces[0]
    h, w = image_bgr.shape[:2]
    pose = estimate_pose(face)
    gray = cv2.cvtColor(chip_rgb, cv2.COLOR_RGB2GRAY)
    region = gray[25:135, 30:120].astype(np.float64)  # forehead to chin, cheek to cheek
    sharpness = float(cv2.Laplacian(gray[25:135, 30:120], cv2.CV_64F).var())
    clipped = float(np.mean((region <= 5) | (region >= 250)))
    x0, y0, x1, y1 = face.box
    margin = 0.05 * face.width
    in_frame = x0 >= -margin and y0 >= -margin and x1 <= w + margin and y1 <= h + margin
    lum_lo, lum_hi = policy.luminance_range
    pitch_lo, pitch_hi = policy.pitch_index_range
    luminance = float(region.mean())
    findings = [
        Finding(
            "face_count",
            float(len(faces)),
            "== 1" if subject is Subject.LIVE else ">= 1",
            len(faces) == 1 or subject is Subject.REFERENCE,
            "one person at a time, please",
        ),
        Finding(
            "inter_eye_px",
            face.inter_eye_px,
            f">= {policy.min_inter_eye_px:g}",
            face.inter_eye_px >= policy.min_inter_eye_px,
            "step closer",
        ),
        Finding("face_in_frame", float(in_frame), "== 1", in_frame, "step back a little"),
        Finding(
            "yaw_deg",
            pose.yaw_deg,
            f"|x| <= {policy.max_yaw_deg:g}",
            abs(pose.yaw_deg) <= policy.max_yaw_deg,
            "look at the camera",
        ),
        Finding(
            "roll_deg",
            pose.roll_deg,
            f"|x| <= {policy.max_roll_deg:g}",
            abs(pose.roll_deg) <= policy.max_roll_deg,
            "hold your head straight",
        ),
        Finding(
            "pitch_index",
            pose.pitch_index,
            f"{pitch_lo:g}..{pitch_hi:g}",
            pitch_lo <= pose.pitch_index <= pitch_hi,
            "look straight at the camera",
        ),
        Finding(
            "sharpness",
            sharpness,
            f">= {policy.min_sharpness:g}",
            sharpness >= policy.min_sharpness,
            "hold still",
        ),
        Finding(
            "luminance",
            luminance,
            f"{lum_lo:g}..{lum_hi:g}",
            lum_lo <= luminance <= lum_hi,
            "too dark: step into the light" if luminance < lum_lo else "too bright",
        ),
        Finding(
            "clipped_fraction",
            clipped,
            f"<= {policy.max_clipped_fraction:g}",
            clipped <= policy.max_clipped_fraction,
            "avoid strong light on your face",
        ),
        Finding(
            "contrast",
            float(region.std()),
            f">= {policy.min_contrast:g}",
            float(region.std()) >= policy.min_contrast,
            "step into the light",
        ),
    ]
    if policy.min_eye_visibility > 0:
        eyes = eye_visibility(chip_rgb)
        findings.append(
            Finding(
                "eye_visibility",
                eyes,
                f">= {policy.min_eye_visibility:g}",
                eyes >= policy.min_eye_visibility,
                "please remove sunglasses, keep your eyes open",
            )
        )
    return findings
