"""Simulated travellers for the headless e-gate: genuine, expired, watchlisted, reused, forged,
cloned, tailgating... each carrying a virtual chip and the MRZ printed on its data page.

`TravellerSimulator(seed, run).travellers(n)` draws a reproducible mix (the kinds depend on
`seed` only; the documents also on `run`, so running the demo twice in one data directory
presents new documents rather than "reusing" the previous run's). Authenticity defects come from
`virtual_chip.defects` (real crypto: altered data groups, wrong signers, revoked or expired
certificates, cloned chips). Lost/stolen documents are drawn from a fixed pool that
`stolen_documents()` lists for the central system's watchlist; `trust_material()` is what the
appliance must import to trust the simulated issuing state (CSCA, a CRL revoking the
`revoked_ds` signer, the expired CSCA of `expired_csca`).

With a `FaceAlbum` (`appliance demo --faces DIR`) every traveller is a real person: the chip
carries an ICAO portrait made from one photo, `camera()` shows another, and `impostor`
travellers present someone else's face (without an album that kind is left out of the mix).

With `iris_share` (`appliance demo --iris SHARE`, `APPLIANCE_SIM_IRIS` for the service) that
share of the travellers carry a chip with DG4 (a synthetic NIR image of their right eye, behind
Extended Access Control: the issuing state's test CVCA, `hardware_mocks.eac_pki`) and every
traveller faces the virtual iris camera (`iris_camera()`, `hardware_mocks.virtual_iris_camera`)
with a fresh capture of their own eye, or, for the `iris_impostor` kind, of someone else's
(that kind is left out of the mix without iris). `iris_required`: the signed policy requires
the lane's iris step, so a traveller whose chip has no DG4 is expected to be referred.

Each traveller gives the appliance its devices: `scanner()` (the MRZ), and the chip either
in-process (`transport()`) or behind real pcscd (`on_pcsc_reader()`, via vpcd).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from appliance.errors import Reason
from appliance.ports import CameraError
from hardware_mocks.virtual_chip import (
    TravellerProfile,
    VirtualCardTransport,
    VirtualChip,
    make_profile,
)
from hardware_mocks.virtual_chip.defects import (
    EXPECTED,
    Defect,
    defective_contents,
    trust_material,
)
from hardware_mocks.virtual_chip.face import synthetic_face_jpeg

if TYPE_CHECKING:  # the face models load only when the demo runs with --faces
    from appliance.biometrics.face.verifier import FaceVerifier
    from appliance.ports import Camera
    from hardware_mocks.face_album import FaceAlbum, Portraits
    from hardware_mocks.virtual_iris_camera import VirtualIrisCamera


#: who comes to the lane: the lane's own scenarios, then one kind per chip defect variant
#: (derived from `Defect`, so a new variant cannot be left out of the crowd), then the impostor,
#: who holds someone else's genuine passport (needs `--faces`: a real face to mismatch)
Kind = StrEnum(
    "Kind",
    [
        ("GENUINE", "genuine"),
        ("EXPIRED", "expired"),
        ("WATCHLISTED", "watchlisted"),
        ("REUSED", "reused"),
        ("ID_CARD", "id_card"),
        ("TAILGATING", "tailgating"),
        ("MANUAL_DOOR", "manual_door"),
        *((defect.name, defect.value) for defect in Defect),
        ("IMPOSTOR", "impostor"),
        # the chip photo is a morph of the holder and an accomplice (needs `--faces`)
        ("MORPHED", "morphed"),
        # the holder's genuine passport with DG4, someone else's eye at the iris camera
        ("IRIS_IMPOSTOR", "iris_impostor"),
    ],
)
#: kinds that need real faces (`--faces`)
FACE_KINDS = frozenset({Kind.IMPOSTOR, Kind.MORPHED})
#: kinds that need iris data on the chips (`iris_share` above 0)
IRIS_KINDS = frozenset({Kind.IRIS_IMPOSTOR})


#: relative frequency of each kind in a simulated crowd
DEFAULT_MIX: dict[Kind, int] = {
    Kind.GENUINE: 60,
    Kind.EXPIRED: 5,
    Kind.WATCHLISTED: 4,
    Kind.REUSED: 4,
    Kind.ID_CARD: 2,
    Kind.TAILGATING: 3,
    Kind.MANUAL_DOOR: 1,
    **{Kind(d.value): 2 for d in Defect},
    Kind.IMPOSTOR: 5,
    Kind.MORPHED: 3,
    Kind.IRIS_IMPOSTOR: 4,
}

_KIND_REASON: dict[Kind, Reason] = {
    Kind.EXPIRED: Reason.DOCUMENT_EXPIRED,
    Kind.WATCHLISTED: Reason.WATCHLIST_HIT,
    Kind.REUSED: Reason.DOCUMENT_REUSED,
    Kind.ID_CARD: Reason.DOCUMENT_TYPE_NOT_ALLOWED,
    Kind.TAILGATING: Reason.TAILGATING,
    Kind.MANUAL_DOOR: Reason.GATE_MANUAL_OPEN,
    **{Kind(d.value): reason for d, (_, reason) in EXPECTED.items()},
}

#: seeds of the documents reported lost or stolen (the watchlist's pool)
STOLEN_POOL = range(7_000_000, 7_000_040)
#: the reader slot vpcd serves the demo's chips on (port 35963 is "Virtual PCD 00 00"), in the
#: demo's own pcscd (`hardware_mocks.pcsc_stack`), so two demos on one machine do not collide
PCSC_READER = "Virtual PCD 00 00"
PCSC_PORT = 35963
#: a small portrait keeps DG2, and so each simulated read, at a realistic 12 kB
_FACE_BYTES = 12_000


class StaticMrzScanner:
    """An `MrzScanner` that reads one document's printed MRZ (the OCR already done)."""

    def __init__(self, lines: tuple[str, ...]) -> None:
        self._lines = lines

    def lines(self, timeout_s: float) -> list[str] | None:
        return list(self._lines)


@dataclass
class SimulatedTraveller:
    """One traveller at the gate; `repr` shows no personal data."""

    sequence: int
    kind: Kind
    profile: TravellerProfile = field(repr=False)
    chip: VirtualChip = field(repr=False)
    #: what the gate's sensors report while this traveller is inside
    gate_events: tuple[str, ...] = ()
    #: with `--faces`: whose photo is on the chip and who faces the camera
    portraits: Portraits | None = None
    album: FaceAlbum | None = field(default=None, repr=False)
    #: walks away instead of through the open gate (the lane times out: the kiosk's test)
    leaves: bool = False
    #: whose eye the iris camera sees (None: this simulation has no iris camera)
    iris_identity: int | None = None
    #: the policy requires the iris step
    iris_required: bool = False
    _iris_camera: VirtualIrisCamera | None = field(default=None, repr=False)

    @property
    def carries_iris(self) -> bool:
        """The chip holds DG4 (behind Extended Access Control)."""
        return self.profile.iris

    @property
    def expected_reason(self) -> Reason:
        """The reason the e-gate must refer this traveller for (OK: it should open); the
        document's own problem first, else what the face step, then the iris step should
        find."""
        reason = _KIND_REASON.get(self.kind, Reason.OK)
        if reason is Reason.OK and self.album is not None and self.portraits is not None:
            reason = self.album.expected(self.portraits)
        if reason is Reason.OK and self.iris_required:
            if not self.carries_iris:
                return Reason.IRIS_REFERENCE_MISSING
            if self.kind is Kind.IRIS_IMPOSTOR:
                return Reason.IRIS_NO_MATCH
        return reason

    def iris_camera(self) -> Camera:
        """The iris camera with this traveller's eye (someone else's for an iris impostor);
        a fresh camera each time, its first frame rendered when the traveller was made."""
        if self.iris_identity is None:
            raise CameraError("simulated without iris: no iris camera")
        from hardware_mocks.virtual_iris_camera import VirtualIrisCamera

        if self._iris_camera is None or self._iris_camera.closed:
            self._iris_camera = VirtualIrisCamera.for_session(self.iris_identity, self.sequence)
        return self._iris_camera

    def camera(self) -> Camera:
        """The e-gate camera with this traveller in front of it (needs `--faces`)."""
        if self.album is None or self.portraits is None:
            raise RuntimeError("simulated without --faces: no camera")
        return self.album.camera(self.portraits)

    @property
    def mrz_lines(self) -> tuple[str, ...]:
        return self.profile.mrz_lines

    def scanner(self) -> StaticMrzScanner:
        return StaticMrzScanner(self.profile.mrz_lines)

    def transport(self) -> VirtualCardTransport:
        """The chip on an in-process reader."""
        return VirtualCardTransport(self.chip)

    @contextmanager
    def on_pcsc_reader(self) -> Iterator[str]:
        """The chip placed on vpcd's reader behind pcscd; yields the PC/SC reader name.

        Raises `ApplianceError` READER_BUSY when another card occupies the slot.
        """
        from hardware_mocks.vpcd import VpcdBridge

        with VpcdBridge(self.chip, port=PCSC_PORT):
            yield PCSC_READER


def _profile(seed: int, face: bytes | None = None, **overrides: object) -> TravellerProfile:
    face = face or synthetic_face_jpeg(seed % 1000, _FACE_BYTES)
    return make_profile(seed, face_image=face, **overrides)


class TravellerSimulator:
    def __init__(
        self,
        seed: int = 0,
        run: int = 0,
        mix: dict[Kind, int] | None = None,
        album: FaceAlbum | None = None,
        *,
        iris_share: float = 0.0,
        iris_required: bool = False,
    ) -> None:
        if not 0.0 <= iris_share <= 1.0:
            raise ValueError("the share of travellers with iris data is between 0 and 1")
        self.seed = seed
        self.run = run
        self.album = album
        self.iris_share = iris_share
        self.iris_required = iris_required and iris_share > 0
        mix = mix or DEFAULT_MIX
        # an impostor needs real faces: without an album there is no one to mismatch
        self.mix = {k: w for k, w in mix.items() if self._can_make(k)}
        self._passed: list[TravellerProfile] = []
        self._portraits: dict[str, Portraits] = {}
        self._rng = random.Random(seed)
        self._placed = 0

    def _document_seed(self, sequence: int) -> int:
        digest = hashlib.sha256(f"traveller/{self.seed}/{self.run}/{sequence}".encode()).digest()
        return 1_000_000 + int.from_bytes(digest[:4], "big") % 900_000_000

    def travellers(self, count: int) -> Iterator[SimulatedTraveller]:
        rng = random.Random(self.seed)
        kinds, weights = zip(*self.mix.items(), strict=True)
        for sequence in range(1, count + 1):
            kind = rng.choices(kinds, weights)[0]
            if kind is Kind.REUSED and not self._passed:
                kind = Kind.GENUINE  # nothing has passed yet that could be reused
            yield self._make(sequence, kind, rng)

    def _can_make(self, kind: Kind) -> bool:
        if kind in FACE_KINDS:
            return self.album is not None
        return kind not in IRIS_KINDS or self.iris_share > 0

    def kinds(self) -> list[Kind]:
        """The kinds `traveller` can make now (impostors need real faces, iris impostors
        iris data)."""
        return [k for k in Kind if self._can_make(k)]

    def _carries_iris(self, sequence: int, kind: Kind) -> bool:
        """Whether this traveller's chip holds DG4: a share of them, drawn from a hash so the
        rest of the crowd is the same with or without iris."""
        if kind in IRIS_KINDS:
            return True
        digest = hashlib.sha256(f"iris/{self.seed}/{self.run}/{sequence}".encode()).digest()
        return int.from_bytes(digest[:4], "big") < self.iris_share * 2**32

    def traveller(
        self, kind: Kind, *, nationality: str | None = None, leaves: bool = False
    ) -> SimulatedTraveller:
        """One traveller of `kind`, numbered after the last (`appliance sim traveller`);
        `nationality` (an ICAO code, e.g. FRA) replaces the simulated issuer's own in DG1 and
        the MRZ; a traveller who `leaves` does not walk through the open gate.

        Raises ValueError for a kind this simulator cannot make now: an impostor without real
        faces, a reused document before any genuine one went through.
        """
        if kind not in self.kinds():
            needs = "iris data (--iris)" if kind in IRIS_KINDS else "real faces (--faces)"
            raise ValueError(f"{kind.value} needs {needs}")
        if kind is Kind.REUSED and not self._passed:
            raise ValueError("reused: no genuine traveller has gone through yet")
        self._placed += 1
        traveller = self._make(self._placed, kind, self._rng, nationality)
        traveller.leaves = leaves
        return traveller

    def _make(
        self, sequence: int, kind: Kind, rng: random.Random, nationality: str | None = None
    ) -> SimulatedTraveller:
        doc_seed = self._document_seed(sequence)
        events: tuple[str, ...] = ()
        portraits: Portraits | None = None
        face: bytes | None = None
        if self.album is not None and kind is not Kind.REUSED:
            portraits = self.album.draw(
                rng, impostor=kind is Kind.IMPOSTOR, morphed=kind is Kind.MORPHED
            )
            face = self.album.reference(portraits.reference_photo, portraits.accomplice_photo)
        iris = self._carries_iris(sequence, kind)
        if kind is Kind.REUSED:
            profile = rng.choice(self._passed)
            earlier = self._portraits.get(profile.document_number)
            if self.album is not None and earlier is not None:
                portraits = self.album.again(rng, earlier)
        elif kind is Kind.WATCHLISTED:
            profile = _profile(rng.choice(STOLEN_POOL), face, iris=iris)
        elif kind is Kind.EXPIRED:
            profile = _profile(doc_seed, face, date_of_expiry=f"{20 + rng.randrange(5):02d}0615",
                               iris=iris)  # fmt: skip
        elif kind is Kind.ID_CARD:
            profile = _profile(doc_seed, face, document_code="ID", iris=iris)
        else:
            profile = _profile(doc_seed, face, iris=iris)
        if nationality:
            profile = replace(profile, nationality=nationality)
        if kind is Kind.TAILGATING:
            events = ("tailgating",)
        elif kind is Kind.MANUAL_DOOR:
            events = ("manual_open",)
        try:
            defect: Defect | None = Defect(kind.value)
        except ValueError:
            defect = None
        chip = VirtualChip(defective_contents(profile, defect) if defect else profile)
        traveller = SimulatedTraveller(sequence, kind, profile, chip, events, portraits, self.album)
        if self.iris_share > 0:
            # the eye at the camera: the holder's own, or for an iris impostor another one's
            other = 1_000_000_000 + self._document_seed(sequence + 7_777)
            traveller.iris_identity = other if kind is Kind.IRIS_IMPOSTOR else profile.seed
            traveller.iris_required = self.iris_required
            cast(Any, traveller.iris_camera()).prepare()  # a real camera renders nothing
        if kind is Kind.GENUINE and traveller.expected_reason is Reason.OK:
            self._passed.append(profile)  # only a document that went through can be reused
            if portraits is not None:
                self._portraits[profile.document_number] = portraits
        return traveller

    def stolen_documents(self) -> list[tuple[str, str, str, str]]:
        """(issuing state, document type, number, category) of every reported document."""
        out = []
        for seed in STOLEN_POOL:
            profile = make_profile(seed)
            category = "stolen" if seed % 3 else "lost"
            out.append((profile.issuing_state, profile.document_code[:1],
                        profile.document_number, category))  # fmt: skip
        return out

    def trust_material(self) -> list[bytes]:
        """CSCA certificates first, then CRLs (DER): what `appliance trust import` takes."""
        specimen = make_profile()
        files = trust_material(specimen, Defect.REVOKED_DS)
        files += [f for f in trust_material(specimen, Defect.EXPIRED_CSCA) if f not in files]
        crls = [f for f in files if _is_crl(f)]
        return [f for f in files if f not in crls] + crls

    def start_pcsc(self) -> None:
        """Make sure pcscd with the vpcd reader runs (raises when it is not installed)."""
        from hardware_mocks.pcsc_stack import ensure_pcscd

        ensure_pcscd()


def _is_crl(der: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_crl(der)
    except ValueError:
        return False
    return True


def open_simulator(
    seed: int = 0,
    run: int = 0,
    faces: Path | None = None,
    verifier: FaceVerifier | None = None,
    burst_frames: int = 3,
    iris_share: float = 0.0,
) -> TravellerSimulator:
    """Factory for `appliance.wiring` (config `hardware.traveller_simulator`); with `faces`
    (a folder of photos per person) and the lane's `verifier`, travellers have real faces;
    with `iris_share` above 0 that share carries DG4 and the policy requires the iris step."""
    album = None
    if faces is not None:
        if verifier is None:
            raise ValueError("faces need the verifier that makes and screens the portraits")
        from hardware_mocks.face_album import FaceAlbum

        album = FaceAlbum(faces, verifier, burst_frames)
    return TravellerSimulator(
        seed, run, album=album, iris_share=iris_share, iris_required=iris_share > 0
    )
