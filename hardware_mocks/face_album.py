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

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    #: `morphed`: the chip photo blends the holder's reference photo with this one
    accomplice_photo: Path | None = field(default=None, repr=False)

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
        self._morphs: dict[tuple[Path, Path], bytes | None] = {}
        self._generator: Any = None

    def image(self, photo: Path) -> NDArray[np.uint8] | None:
        if photo not in self._images:
            try:
                self._images[photo] = decode_image(photo.read_bytes())
            except (ApplianceError, OSError):
                self._images[photo] = None
        return self._images[photo]

    def reference(self, photo: Path, accomplice: Path | None = None) -> bytes | None:
        """The DG2 portrait an issuer would make of `photo` (a morph of it with `accomplice`,
        as an attacker would submit it); None when it shows no face."""
        if accomplice is not None:
            return self.morphed(photo, accomplice)
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

    def morphed(self, photo: Path, accomplice: Path) -> bytes | None:
        """A holder-weighted morph (alpha 0.35, so the holder still matches it), spliced or
        full, as the issuer would store it; None when either photo shows no face."""
        key = (photo, accomplice)
        if key not in self._morphs:
            from hardware_mocks.morphing import FaceMesh, MorphGenerator, Variant

            if self._generator is None:
                self._generator = MorphGenerator(self.verifier.detector, FaceMesh.load())
            a, b = self.image(photo), self.image(accomplice)
            try:
                if a is None or b is None:
                    raise ApplianceError(Reason.FACE_NOT_FOUND, "no photo")
                gen = self._generator
                odd = hashlib.sha256(f"{photo}|{accomplice}".encode()).digest()[0] % 2
                variant = Variant.SPLICE if odd else Variant.FULL
                morph = gen.morph(gen.contributor(a), gen.contributor(b), 0.35, variant)
                self._morphs[key] = encode_to_size(morph, TokenFormat.JPEG)
            except ApplianceError:
                self._morphs[key] = None
        return self._morphs[key]

    def draw(self, rng: random.Random, impostor: bool = False, morphed: bool = False) -> Portraits:
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
        accomplice = None
        if morphed:  # an accomplice who looks alike: the first decodable photo of another
            candidates = [i for i in range(len(self.people)) if i != person]
            for other in rng.sample(candidates, len(candidates)):
                photos = self._decodable(self.people[other])
                if photos and self.morphed(reference, photos[0]) is not None:
                    accomplice = photos[0]
                    break
        return Portraits(person, reference, live_person, live, accomplice)

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
        if portraits.accomplice_photo is not None:
            key = (portraits.accomplice_photo, portraits.live_photo)
        if key not in self._screened:
            reference = self.reference(portraits.reference_photo, portraits.accomplice_photo)
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
        if portraits.accomplice_photo is not None:
            return Reason.MORPH_SUSPECTED  # the morph step must refer, whatever the face found
        return Reason.OK if portraits.same_person else Reason.FACE_NO_MATCH
