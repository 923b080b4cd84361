"""Presentation-attack simulator: print and screen-replay artefacts held up to the camera.

An attack turns a face photo into an artefact (a print: ink gamut, halftone screen, paper grain,
blur; a screen: gamma and colour cast, RGB sub-pixel stripes resampled into moire, glare, a
bezel) and plays it as a flat card in a scene, rotated in 3D about its vertical axis by a
pinhole-camera homography. The simulated attacker reads the kiosk and turns the card the way
each challenge asks, as far as 40 degrees: the best a flat artefact can do.

What it cannot simulate: a bona fide traveller turning their head (a real 3D face), a replayed
video of the right person doing the right turns, masks. Error rates from it are APCER on these
two synthetic attack types only.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]


class AttackType(StrEnum):
    PRINT = "print"
    SCREEN_REPLAY = "screen_replay"


def print_artefact(photo: Image, rng: np.random.Generator) -> Image:
    """A photo as a colour print: compressed gamut, halftone screen, paper grain, slight blur."""
    img = photo.astype(np.float32)
    gray = img.mean(axis=2, keepdims=True)
    img = 0.85 * img + 0.15 * gray  # inks desaturate
    img = 28.0 + img * (232.0 - 28.0) / 255.0  # paper white and ink black
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    screen = 0.93 + 0.07 * np.cos((xx + yy) * (2 * np.pi / 3.0)) * np.cos(
        (xx - yy) * (2 * np.pi / 3.0)
    )
    img *= screen[:, :, None]
    grain = cv2.GaussianBlur(rng.normal(0, 5.0, (h, w)).astype(np.float32), (0, 0), 1.2)
    img += grain[:, :, None]
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    return np.asarray(np.clip(img, 0, 255), dtype=np.uint8)


def screen_artefact(photo: Image, rng: np.random.Generator) -> Image:
    """A photo on a phone/tablet screen: gamma, blue cast, sub-pixel moire, glare, bezel."""
    img = 255.0 * (photo.astype(np.float32) / 255.0) ** 0.85
    img += np.array([8.0, 0.0, -6.0], np.float32)  # BGR: cooler white point
    h, w = img.shape[:2]
    # RGB stripes of a panel at 3x the photo's resolution, resampled by a non-integer factor
    stripes = np.repeat(img, 3, axis=1)
    mask = np.zeros((1, 3 * w, 3), np.float32)
    for channel, offset in ((2, 0), (1, 1), (0, 2)):  # R, G, B sub-pixels, left to right
        mask[0, offset::3, channel] = 1.0
    panel = stripes * (0.35 + 0.65 * mask)
    # the camera samples the panel at a pitch that is not a multiple of the stripes: moire
    sampled = cv2.resize(panel, (round(3 * w / 2.83), h), interpolation=cv2.INTER_AREA)
    shown = cv2.resize(sampled, (w, h), interpolation=cv2.INTER_LINEAR) / (0.35 + 0.65 / 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0.3, 1.2)
    band = np.exp(
        -(((xx * np.cos(angle) + yy * np.sin(angle)) - 0.4 * w) ** 2) / (2 * (0.08 * w) ** 2)
    )
    screen = np.clip(shown + 60.0 * band[:, :, None], 0, 255).astype(np.uint8)
    bezel = max(8, w // 30)
    framed = cv2.copyMakeBorder(
        screen, bezel, bezel, bezel, bezel, cv2.BORDER_CONSTANT, value=(12, 12, 12)
    )
    return np.asarray(framed, dtype=np.uint8)


ARTEFACTS = {AttackType.PRINT: print_artefact, AttackType.SCREEN_REPLAY: screen_artefact}


def background(size: tuple[int, int], rng: np.random.Generator) -> Image:
    """A plain kiosk backdrop with sensor noise."""
    w, h = size
    ramp = np.linspace(150, 110, h, dtype=np.float32)[:, None, None] * np.ones(
        (1, w, 3), np.float32
    )
    return np.clip(ramp + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)


def present_card(
    card: Image,
    scene: Image,
    yaw_deg: float,
    card_width_px: float,
    offset_px: tuple[float, float] = (0.0, 0.0),
    focal_px: float = 1000.0,
    noise: float = 2.0,
    rng: np.random.Generator | None = None,
) -> Image:
    """The card as a plane at distance `focal_px` (so it is `card_width_px` wide when square to
    the camera), rotated by yaw about its vertical axis, composited onto the scene."""
    h, w = card.shape[:2]
    half_w, half_h = card_width_px / 2, card_width_px * h / w / 2
    yaw = np.radians(yaw_deg)
    sh, sw = scene.shape[:2]
    cx, cy = sw / 2 + offset_px[0], sh / 2 + offset_px[1]
    corners_3d = np.array(
        [[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]]
    )
    projected = []
    for x, y in corners_3d:
        xr, zr = x * np.cos(yaw), x * np.sin(yaw)
        depth = focal_px + zr
        projected.append([cx + focal_px * xr / depth, cy + focal_px * y / depth])
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, np.array(projected, np.float32))
    warped = cv2.warpPerspective(card, matrix, (sw, sh), flags=cv2.INTER_AREA)
    cover = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (sw, sh))
    frame = np.where(cover[:, :, None] > 127, warped, scene)
    if noise > 0:
        gen = rng or np.random.default_rng(0)
        frame = np.clip(frame.astype(np.float32) + gen.normal(0, noise, frame.shape), 0, 255)
    return np.asarray(frame, dtype=np.uint8)


def attack_sequence(
    photo: Image,
    attack: AttackType,
    challenges: Sequence[str],
    rng: np.random.Generator,
    scene_size: tuple[int, int] = (960, 720),
    fps: float = 15.0,
    max_yaw_deg: float = 40.0,
    step_s: float = 1.2,
) -> list[Image]:
    """Frames of an attacker presenting the artefact: facing the camera, then for each
    challenge ("turn_left"/"turn_right") swinging the card from the opposite side right
    through to the asked side and back, to get the most apparent turn out of perspective."""
    card = ARTEFACTS[attack](photo, rng)
    scene = background(scene_size, rng)
    width = 0.45 * scene_size[0]
    frames = [present_card(card, scene, 0.0, width, rng=rng) for _ in range(4)]
    half = max(2, int(step_s * fps / 2))
    for challenge in challenges:
        # card yaw > 0 (right edge away) moves the nose towards the image's right, which is
        # what the subject turning to their left does
        sign = 1.0 if challenge == "turn_left" else -1.0
        ramp = np.concatenate(
            [np.linspace(0, -1, half // 2), np.linspace(-1, 1, half), np.linspace(1, 0, half)]
        )
        for t in ramp:
            jitter = (float(rng.normal(0, 3)), float(rng.normal(0, 2)))
            frames.append(present_card(card, scene, sign * max_yaw_deg * t, width, jitter, rng=rng))
    return frames
