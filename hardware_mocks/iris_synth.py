"""Synthetic near-infrared eye images: one stable iris texture per identity, varied captures.

An identity (a seed) fixes the iris texture, drawn in polar coordinates (rows: pupil to limbus,
columns: angle) as multi-scale filtered noise stretched along the radius (radial furrows),
dark elliptical crypts, a collarette ring with a wavy edge and contraction furrows; also the
iris's grey level and the pupil's offset from the iris centre. A capture (a second seed) draws
what changes between two photos of the same eye: position, distance (iris radius), pupil
dilation, head tilt (the texture turns), eyelid opening, eyelashes, illuminator reflections,
defocus, sensor noise and gain. The texture is mapped between the pupil and limbus circles
linearly along each ray, the same model Daugman's rubber sheet inverts.

    synth = IrisSynth(identity=7)
    image, truth = synth.capture(capture=3)          # uint8 H x W, and where things are
    image, truth = synth.capture(capture=4, rotation_deg=9.0, defocus=3.0)

Different identities give statistically independent codes (their impostor Hamming distances
centre on 0.5), captures of one identity match. Nothing here is meant to be a real person's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
Mask = NDArray[np.bool_]

WIDTH, HEIGHT = 640, 480
_TR, _TA = 64, 1024  # texture rows (radial) and columns (angle)


@dataclass(frozen=True)
class Truth:
    """Where the synthetic eye's parts are, in image pixels."""

    pupil: tuple[float, float, float]  # x, y, r
    iris: tuple[float, float, float]
    rotation_deg: float
    upper_lid_y: float  # apex of the upper lid's edge
    lower_lid_y: float
    lid_curvature: float  # y = apex +- curvature / R * (x - x_iris)^2
    reflections: Mask  # pixels of the specular spots
    lid_occluded: Mask  # iris pixels behind the eyelids


def _wrap_blur(noise: NDArray[np.float32], sigma_r: float, sigma_a: float) -> NDArray[np.float32]:
    pad = int(4 * sigma_a) + 2
    wrapped = np.pad(noise, ((0, 0), (pad, pad)), mode="wrap")
    blurred = cv2.GaussianBlur(
        wrapped, (0, 0), sigmaX=sigma_a, sigmaY=sigma_r, borderType=cv2.BORDER_REFLECT
    )
    out = blurred[:, pad:-pad]
    return (out / (out.std() + 1e-6)).astype(np.float32)


def iris_texture(rng: np.random.Generator) -> NDArray[np.float32]:
    """A polar iris texture (_TR x _TA), zero mean, grey-level contrast ~20."""
    tex = np.zeros((_TR, _TA), dtype=np.float32)
    for sigma_r, sigma_a, weight in (
        (6.0, 3.0, 0.6),
        (8.0, 6.0, 1.0),
        (10.0, 12.0, 0.9),
        (4.0, 24.0, 0.5),
    ):
        tex += weight * _wrap_blur(
            rng.standard_normal((_TR, _TA)).astype(np.float32), sigma_r, sigma_a
        )
    rows = np.arange(_TR, dtype=np.float32)[:, None]
    cols = np.arange(_TA, dtype=np.float32)[None, :]
    # collarette: a brighter ring with a wavy edge at about a third of the way out
    wave = _wrap_blur(rng.standard_normal((1, _TA)).astype(np.float32), 0.1, 10.0)[0]
    edge = _TR * (0.3 + rng.uniform(-0.05, 0.05)) + 2.5 * wave
    tex += 1.2 * np.exp(-((rows - edge[None, :]) ** 2) / (2 * 2.5**2))
    tex -= 0.6 * (rows > edge[None, :])
    # crypts: dark lens-shaped holes, longer along the radius
    for _ in range(int(rng.integers(12, 30))):
        r0 = rng.uniform(0.15, 0.85) * _TR
        a0 = rng.uniform(0, _TA)
        sr, sa = rng.uniform(2.0, 6.0), rng.uniform(5.0, 18.0)
        da = (cols - a0 + _TA / 2) % _TA - _TA / 2
        tex -= rng.uniform(1.0, 2.5) * np.exp(
            -((rows - r0) ** 2) / (2 * sr**2) - da**2 / (2 * sa**2)
        )
    # contraction furrows: a few concentric darker arcs in the outer part
    for _ in range(int(rng.integers(1, 4))):
        r0 = rng.uniform(0.6, 0.9) * _TR
        span = rng.uniform(0.1, 0.5) * _TA
        a0 = rng.uniform(0, _TA)
        da = (cols - a0) % _TA
        tex -= 0.8 * np.exp(-((rows - r0) ** 2) / (2 * 1.2**2)) * (da < span)
    tex -= tex.mean()
    return (tex * (20.0 / (tex.std() + 1e-6))).astype(np.float32)


class IrisSynth:
    """One synthetic identity (eye)."""

    def __init__(self, identity: int) -> None:
        rng = np.random.default_rng([0x1815, identity])
        self.identity = identity
        self.texture = iris_texture(rng)
        self.iris_level = float(rng.uniform(95, 135))
        self.base_ratio = float(rng.uniform(0.32, 0.45))
        angle = rng.uniform(0, 2 * math.pi)
        size = rng.uniform(0.0, 0.06)
        self.pupil_offset = (size * math.cos(angle), size * math.sin(angle))  # x R
        self.radius = float(rng.uniform(95, 120))

    def capture(
        self,
        capture: int = 0,
        *,
        rotation_deg: float | None = None,
        dilation: float | None = None,
        defocus: float | None = None,
        noise: float | None = None,
        upper_lid: float | None = None,
        lower_lid: float | None = None,
        lashes: int | None = None,
        reflections: int | None = None,
        radius_scale: float | None = None,
    ) -> tuple[Image, Truth]:
        """A capture; every variation is drawn from `capture` unless given.

        `upper_lid`/`lower_lid`: the lid edges' apex distance from the iris centre, in iris
        radii (1.0 just touches the limbus; 0.2 nearly closes the eye).
        """
        rng = np.random.default_rng([0xC4, self.identity, capture])
        rotation = rotation_deg if rotation_deg is not None else float(rng.uniform(-10, 10))
        ratio = (
            dilation if dilation is not None else self.base_ratio + float(rng.uniform(-0.06, 0.08))
        )
        blur = defocus if defocus is not None else float(rng.uniform(0.4, 1.2))
        sigma = noise if noise is not None else float(rng.uniform(1.5, 4.0))
        up = upper_lid if upper_lid is not None else float(rng.uniform(0.6, 1.05))
        low = lower_lid if lower_lid is not None else float(rng.uniform(0.75, 1.15))
        n_lashes = lashes if lashes is not None else int(rng.integers(10, 50))
        n_spots = reflections if reflections is not None else int(rng.integers(1, 3))
        scale = radius_scale if radius_scale is not None else float(rng.uniform(0.93, 1.07))
        radius = self.radius * scale
        cx = WIDTH / 2 + float(rng.uniform(-30, 30))
        cy = HEIGHT / 2 + float(rng.uniform(-20, 20))
        ox, oy = self.pupil_offset[0] * radius, self.pupil_offset[1] * radius
        rp = ratio * radius
        curvature = float(rng.uniform(0.3, 0.5))
        gain = float(rng.uniform(0.9, 1.1))

        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        dx, dy = xx - cx, yy - cy
        dist = np.sqrt(dx**2 + dy**2)
        phi = np.arctan2(dy, dx)
        ux, uy = np.cos(phi), np.sin(phi)
        uo = ux * ox + uy * oy
        t_pupil = uo + np.sqrt(np.maximum(rp**2 - (ox**2 + oy**2) + uo**2, 0.0))
        rho = (dist - t_pupil) / np.maximum(radius - t_pupil, 1.0)
        # texture lookup: rows by rho, columns by the angle turned back by the head tilt
        angle = (phi - math.radians(rotation)) % (2 * math.pi)
        pad = 4
        tex = np.pad(self.texture, ((0, 0), (pad, pad)), mode="wrap")
        map_x = (angle / (2 * math.pi) * _TA + pad).astype(np.float32)
        map_y = (np.clip(rho, 0, 1) * (_TR - 1)).astype(np.float32)
        iris = self.iris_level + cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR)
        iris *= 1.0 - 0.25 * np.clip((rho - 0.88) / 0.12, 0, 1)  # darker limbal ring

        skin = 150 + 8 * _wrap_blur(rng.standard_normal((HEIGHT, WIDTH)).astype(np.float32), 12, 12)
        sclera = 185 - 0.05 * np.abs(dx)
        img = sclera.copy()
        a_iris = np.clip(radius - dist + 0.5, 0, 1)
        img = a_iris * iris + (1 - a_iris) * img
        pupil_dist = np.sqrt((xx - cx - ox) ** 2 + (yy - cy - oy) ** 2)
        a_pupil = np.clip(rp - pupil_dist + 0.5, 0, 1)
        img = a_pupil * (18 + 4 * rng.standard_normal(img.shape)) + (1 - a_pupil) * img

        k = curvature / radius
        upper_edge = cy - up * radius + k * dx**2
        lower_edge = cy + low * radius - k * dx**2
        a_open = np.clip(yy - upper_edge + 0.5, 0, 1) * np.clip(lower_edge - yy + 0.5, 0, 1)
        img = a_open * img + (1 - a_open) * skin
        lash_line = np.exp(-((yy - upper_edge + 1.5) ** 2) / (2 * 1.5**2)) * (
            upper_edge < lower_edge
        )
        img = img * (1 - 0.7 * lash_line) + 40 * 0.7 * lash_line
        canvas = img.astype(np.float32)
        for _ in range(n_lashes):  # lashes hang from the upper lid's edge
            x0 = cx + float(rng.uniform(-1.1, 1.1)) * radius
            y0 = cy - up * radius + k * (x0 - cx) ** 2
            length = float(rng.uniform(10, 40))
            tilt = float(rng.uniform(-0.5, 0.5)) + 0.3 * (x0 - cx) / radius
            x1, y1 = x0 + length * math.sin(tilt), y0 + length * math.cos(tilt)
            cv2.line(
                canvas,
                (round(x0), round(y0)),
                (round(x1), round(y1)),
                35.0,
                int(rng.integers(1, 3)),
                cv2.LINE_AA,
            )
        spots = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        for _ in range(n_spots):  # illuminator reflections, in or near the pupil
            a = float(rng.uniform(0, 2 * math.pi))
            d = float(rng.uniform(0.2, 1.1)) * rp
            cv2.circle(
                spots,
                (round(cx + ox + d * math.cos(a)), round(cy + oy + d * math.sin(a))),
                int(rng.integers(4, 8)),
                1,
                -1,
            )
        canvas[spots > 0] = 255.0
        if blur > 0:
            canvas = cv2.GaussianBlur(canvas, (0, 0), blur)
        canvas = canvas * gain + rng.normal(0, sigma, canvas.shape).astype(np.float32)
        image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        in_iris = (dist < radius) & (pupil_dist > rp)
        truth = Truth(
            pupil=(cx + ox, cy + oy, rp),
            iris=(cx, cy, radius),
            rotation_deg=rotation,
            upper_lid_y=cy - up * radius,
            lower_lid_y=cy + low * radius,
            lid_curvature=curvature,
            reflections=spots > 0,
            lid_occluded=in_iris & ((yy < upper_edge) | (yy > lower_edge)),
        )
        return image, truth


def png(image: Image) -> bytes:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(data)


def write_dataset(directory: Path, identities: int, captures: int, seed: int = 0) -> Path:
    """`directory/eye-NNN/capture-K.png`: the layout `benchmarks/iris.py --data` reads."""
    for i in range(identities):
        synth = IrisSynth(seed * 100_000 + i)
        eye = directory / f"eye-{i:03d}"
        eye.mkdir(parents=True, exist_ok=True)
        for c in range(captures):
            image, _ = synth.capture(c)
            (eye / f"capture-{c}.png").write_bytes(png(image))
    return directory


def virtual_iris_camera(identity: int, captures: tuple[int, ...] = (1, 2, 3), **kw: float) -> Any:
    """A simulated NIR iris camera (`hardware_mocks.virtual_iris_camera`, grayscale frames)
    whose frames are captures of `identity`'s eye; `kw` fixes variations (upper_lid=0.2: a
    closed eye)."""
    from hardware_mocks.virtual_iris_camera import VirtualIrisCamera

    return VirtualIrisCamera(identity, captures=captures, gray=True, **kw)
