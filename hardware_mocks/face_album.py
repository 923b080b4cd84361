"""Real people for the simulated e-gate: a folder of photos per person (`appliance demo --faces`).

The chip's DG2 is made from one photo of a person as an ICAO token (the eyes placed as ISO
19794-5 wants, ~15 kB JPEG, `appliance.biometrics.face.icao_token`), and the live capture is a
*different* photo of the same person (a genuine holder) or of someone else (an impostor),
played through `VirtualCamera`. Photos are decoded and detected once, on first use.

`expected(...)` is the simulation's honest expectation: who is who decides match or no match,
but a photo pair the verifier's quality gate turns away (no face, unusable live image, poor chip
photo) is expected to be referred for the reason the verifier gives, found by running the same
capture path once per pair. Folder names are people's names: they never leave this module.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.biometrics.face.capture import capture_and_verify
from appliance.biometrics.face.decode import decode_image
from appliance.biometrics.face.icao_token import TokenFormat, encode_to_size, token_image
from appliance.biometrics.face.verifier import FaceVerifier
from appliance.errors import ApplianceError, Reason
from hardware_mocks.virtual_camera import IMAGE_SUFFIXES, VirtualCamera

#: refusals that come from the images (or an unreadable live one), not from who is in them
QUALITY_REASONS = frozenset(
    {Reason.FACE_QUALITY, Reason.FACE_NOT_FOUND, Reason.IMAGE_UNREADABLE, Reason.CAMERA_UNAVAILABLE}
)


@dataclass(frozen=True)
class Portraits:
    """Who a traveller is and which photos the chip and the camera get; no repr of either."""

    person: int
    reference_photo: Path = field(repr=False)
    live_person: int
    live_photo: Path = field(repr=False)

    @property
    def same_person(self) -> bool:
        return self.person == self.live_person


class FaceAlbum:
    def __init__(self, root: Path, verifier: FaceVerifier, burst_frames: int = 3) -> None:
        self.verifier = verifier
        self.burst_frames = burst_frames
        self.people = [
            sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            for folder in sorted(f for f in root.iterdir() if f.is_dir())
        ]
        self.people = [photos for photos in self.people if photos]
        #: people with a second photo to present live
        self.holders = [i for i, photos in enumerate(self.people) if len(photos) >= 2]
        if not self.holders or len(self.people) < 2:
            raise ApplianceError(
                Reason.USAGE,
                "--faces needs one folder of photos per person: at least two people, "
                "one of them with two photos",
            )
        self._images: dict[Path, NDArray[np.uint8] | None] = {}
        self._tokens: dict[Path, bytes | None] = {}
        self._screened: dict[tuple[Path, Path], Reason] = {}

    def image(self, photo: Path) -> NDArray[np.uint8] | None:
        if photo not in self._images:
            try:
                self._images[photo] = decode_image(photo.read_bytes())
            except (ApplianceError, OSError):
                self._images[photo] = None
        return self._images[photo]

    def reference(self, photo: Path) -> bytes | None:
        """The DG2 portrait an issuer would make of `photo`; None when it shows no face."""
        if photo not in self._tokens:
            image = self.image(photo)
            faces = self.verifier.detector.detect(image) if image is not None else []
            self._tokens[photo] = (
                encode_to_size(
                    token_image(image, max(faces, key=lambda f: f.width)), TokenFormat.JPEG
                )
                if image is not None and faces
                else None
            )
        return self._tokens[photo]

    def draw(self, rng: random.Random, impostor: bool = False) -> Portraits:
        """A holder (a photo an issuer could use for the chip) and who stands at the camera."""
        for person in rng.sample(self.holders, len(self.holders)):
            usable = [p for p in self.people[person] if self.reference(p) is not None]
            if usable:
                break
        else:
            raise ApplianceError(Reason.FACE_NOT_FOUND, "no photo in --faces shows a face")
        reference = rng.choice(usable)
        if impostor:
            live_person = rng.choice([i for i in range(len(self.people)) if i != person])
            live = rng.choice(self._decodable(self.people[live_person]) or [reference])
        else:
            live_person = person
            others = [p for p in self.people[person] if p != reference]
            live = rng.choice(self._decodable(others) or others)
        return Portraits(person, reference, live_person, live)

    def _decodable(self, photos: list[Path]) -> list[Path]:
        """A camera always delivers frames: files that do not decode are not shown to it."""
        return [p for p in photos if self.image(p) is not None]

    def again(self, rng: random.Random, earlier: Portraits) -> Portraits:
        """The same holder (same chip photo) back at the gate with another live photo."""
        others = [p for p in self.people[earlier.person] if p != earlier.reference_photo]
        others = self._decodable(others) or others
        return Portraits(
            earlier.person, earlier.reference_photo, earlier.person, rng.choice(others)
        )

    def camera(self, portraits: Portraits) -> VirtualCamera:
        """The live photo as a still burst (a traveller standing in front of the camera)."""
        image = self.image(portraits.live_photo)
        return VirtualCamera([image] * self.burst_frames if image is not None else [])

    def expected(self, portraits: Portraits) -> Reason:
        key = (portraits.reference_photo, portraits.live_photo)
        if key not in self._screened:
            reference = self.reference(portraits.reference_photo)
            camera = self.camera(portraits)
            if reference is None:
                self._screened[key] = Reason.FACE_NOT_FOUND
            else:
                result = capture_and_verify(
                    camera, self.verifier, reference, burst_frames=self.burst_frames
                )
                self._screened[key] = result.reason
        screened = self._screened[key]
        if screened in QUALITY_REASONS:
            return screened
        return Reason.OK if portraits.same_person else Reason.FACE_NO_MATCH
