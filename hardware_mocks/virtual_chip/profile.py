"""Traveller profiles: the personal data and keys one simulated ePassport is personalised with.

`TravellerProfile` holds what the data page shows (names, numbers, dates), the CAN, the face,
and the seed its chip keys derive from. `build_chip_files()` personalises a chip the way an
issuer does: MRZ with ICAO 9303-3 check digits in DG1, the portrait in DG2 (ISO/IEC 19794-5),
DG14 (Chip Authentication public key, PACEInfos, Active Authentication info), DG15 (the AA
public key), EF.COM, EF.CardAccess / EF.CardSecurity for PACE, and EF.SOD: the DG hashes signed
by a Document Signer of the test PKI. The LDS encoders are the product's own
(`appliance.emrtd.lds`), so what the chip serves is what the reader must parse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from appliance.emrtd.lds import (
    card_access,
    com,
    dg1,
    dg2,
    dg4,
    dg11,
    dg12,
    dg14,
    dg15,
    security_infos,
    sod,
)
from appliance.emrtd.lds.dg11 import Dg11
from appliance.emrtd.lds.dg12 import Dg12
from appliance.emrtd.lds.iris_19794 import EyeSubtype, IrisImageFormat
from appliance.emrtd.lds.security_infos import (
    ActiveAuthenticationInfo,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PaceInfo,
    SecurityInfo,
    SecurityInfos,
)
from appliance.emrtd.pki.countries import icao_to_alpha2
from appliance.mrz.check_digits import check_digit, mrz_information
from hardware_mocks import pki
from hardware_mocks.virtual_chip.card_pace import PaceOption
from hardware_mocks.virtual_chip.chip import ChipContents
from hardware_mocks.virtual_chip.face import synthetic_face_jpeg

if TYPE_CHECKING:
    from hardware_mocks.eac_pki import EacPki

#: ICAO 9303-11 §9.2.5 / BSI TR-03110-3 object identifiers used in DG14
ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
ID_CA_ECDH_AES_CBC_CMAC_128 = "0.4.0.127.0.7.2.2.3.2.2"
ID_AA = "2.23.136.1.1.5"
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"

FID_COM, FID_SOD, FID_CARD_ACCESS, FID_CARD_SECURITY = 0x011E, 0x011D, 0x011C, 0x011D

_SURNAMES = ("MUSTERMANN", "ERIKSSON", "OLSEN", "DUPONT", "ROSSI", "NOVAK", "SILVA", "KOWALSKA")
_GIVEN = ("ERIKA", "ANNA MARIA", "JONAS", "LUCA", "MARIE", "PETER", "JOAO", "ZOFIA")


def _mrz_text(value: str, width: int) -> str:
    """Upper case, spaces/hyphens/apostrophes to '<', other non-MRZ characters dropped, padded."""
    out = []
    for ch in value.upper():
        if ch in " -'":
            out.append("<")
        elif ("A" <= ch <= "Z") or ("0" <= ch <= "9") or ch == "<":
            out.append(ch)
    return "".join(out)[:width].ljust(width, "<")


_SPECIMEN_DG11 = Dg11(
    full_name="MUSTERMANN<<ERIKA", full_date_of_birth="19640812", place_of_birth="BERLIN"
)
_SPECIMEN_DG12 = Dg12(issuing_authority="STADT KÖLN", date_of_issue="20241101")
_PLACES = ("BERLIN", "OSLO", "LYON", "TORINO", "BRNO", "PORTO", "KRAKÓW", "GÖTEBORG")


@dataclass(frozen=True, repr=False)  # personal data: never in logs (see __repr__)
class TravellerProfile:
    """The holder and document one chip is personalised for (defaults: a specimen passport)."""

    document_number: str = "C01X00T47"
    surname: str = "MUSTERMANN"
    given_names: str = "ERIKA"
    date_of_birth: str = "640812"
    date_of_expiry: str = "341031"
    sex: Literal["M", "F", "<"] = "F"
    nationality: str = "D"
    issuing_state: str = "D"
    #: 'P' passport (TD3), 'I'/'A'/'C' identity cards (TD1)
    document_code: str = "P"
    optional_data: str = ""
    can: str | None = "123456"
    #: portrait JPEG / JPEG 2000; None draws a synthetic one from `seed`
    face_image: bytes | None = None
    #: DG2 face record format: ISO/IEC 19794-5:2005 (most passports) or 39794-5 (LDS 1.8+)
    face_standard: Literal["19794-5", "39794-5"] = "19794-5"
    #: additional personal details (DG11) and document details (DG12); None: not on the chip
    dg11: Dg11 | None = _SPECIMEN_DG11
    dg12: Dg12 | None = _SPECIMEN_DG12
    #: Chip Authentication and Active Authentication keys, and the synthetic face, derive from it
    seed: int = 0
    #: PACEInfos in EF.CardAccess; empty for a BAC-only chip
    pace_options: tuple[PaceOption, ...] = (PaceOption.generic(),)
    active_authentication: Literal["ec", "rsa"] | None = "ec"
    chip_authentication: bool = True
    pki_algorithm: pki.PkiAlgorithm = pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256
    #: hash of the DG hashes in EF.SOD and of the SOD signature
    sod_digest: str = "sha256"
    pki_cache_dir: Path | None = None
    #: DG4 with a synthetic NIR image of the right eye (identity `seed`, see iris_synth), and
    #: Extended Access Control: the chip trusts the issuing state's test CVCA (eac_pki)
    iris: bool = False
    #: DG4's iris record format: ISO/IEC 19794-6:2005 (EAC v1 passports) or 39794-6 (LDS 1.8+)
    iris_standard: Literal["19794-6", "39794-6"] = "19794-6"

    def __repr__(self) -> str:
        return f"TravellerProfile(seed={self.seed}, document_code={self.document_code!r})"

    def __post_init__(self) -> None:
        if not 1 <= len(self.document_number) <= 9 or not self.document_number.isalnum():
            raise ValueError("document number: 1 to 9 letters or digits")
        for value in (self.date_of_birth, self.date_of_expiry):
            if len(value) != 6 or not value.isdigit():
                raise ValueError("dates are YYMMDD")
        if self.can is not None and not (len(self.can) == 6 and self.can.isdigit()):
            raise ValueError("the CAN is six digits")

    @classmethod
    def synthetic(cls, seed: int, **overrides: object) -> TravellerProfile:
        """A different, plausible traveller per seed (names, numbers, dates, CAN, face)."""
        h = hashlib.sha256(f"traveller/{seed}".encode()).digest()
        alphabet = "CFGHJKLMNPRTVWXYZ0123456789"
        number = "".join(alphabet[b % len(alphabet)] for b in h[:9])
        surname, given = _SURNAMES[h[9] % len(_SURNAMES)], _GIVEN[h[10] % len(_GIVEN)]
        birth = f"{50 + h[11] % 50:02d}{1 + h[12] % 12:02d}{1 + h[13] % 28:02d}"
        expiry = f"{30 + h[14] % 6:02d}{1 + h[15] % 12:02d}{1 + h[16] % 28:02d}"
        values: dict[str, object] = {
            "document_number": number,
            "surname": surname,
            "given_names": given,
            "date_of_birth": birth,
            "date_of_expiry": expiry,
            "sex": "MF"[h[17] % 2],
            "can": f"{int.from_bytes(h[18:22], 'big') % 1_000_000:06d}",
            "seed": seed,
            "dg11": Dg11(
                full_name=f"{surname}<<{given.replace(' ', '<')}",
                full_date_of_birth="19" + birth,
                place_of_birth=_PLACES[h[22] % len(_PLACES)],
            ),
            # issued ten years before it expires, as passports are
            "dg12": Dg12(
                issuing_authority="TEST AUTHORITY",
                date_of_issue=f"20{int(expiry[:2]) - 10:02d}" + expiry[2:],
            ),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    # --- MRZ --------------------------------------------------------------------------------

    @property
    def is_td1(self) -> bool:
        return self.document_code[0] in "IAC"

    @property
    def mrz_information(self) -> str:
        """The BAC / PACE-MRZ key material (ICAO 9303-11 §9.7.3)."""
        return mrz_information(self.document_number, self.date_of_birth, self.date_of_expiry)

    @property
    def mrz_lines(self) -> tuple[str, ...]:
        """The machine readable zone, TD3 for passports and TD1 for identity cards."""
        return self._td1() if self.is_td1 else self._td3()

    def _td3(self) -> tuple[str, str]:
        name = _mrz_text(self.surname, 39).rstrip("<") + "<<" + _mrz_text(self.given_names, 39)
        line1 = (_mrz_text(self.document_code, 2) + _mrz_text(self.issuing_state, 3)
                 + _mrz_text(name, 39))  # fmt: skip
        number = _mrz_text(self.document_number, 9)
        optional = _mrz_text(self.optional_data, 14)
        line2 = (
            number + check_digit(number) + _mrz_text(self.nationality, 3)
            + self.date_of_birth + check_digit(self.date_of_birth) + self.sex
            + self.date_of_expiry + check_digit(self.date_of_expiry)
            + optional + check_digit(optional)
        )  # fmt: skip
        composite = line2[0:10] + line2[13:20] + line2[21:43]
        return line1, line2 + check_digit(composite)

    def _td1(self) -> tuple[str, str, str]:
        number = _mrz_text(self.document_number, 9)
        line1 = (_mrz_text(self.document_code, 2) + _mrz_text(self.issuing_state, 3) + number
                 + check_digit(number) + _mrz_text(self.optional_data, 15))  # fmt: skip
        line2 = (
            self.date_of_birth + check_digit(self.date_of_birth) + self.sex
            + self.date_of_expiry + check_digit(self.date_of_expiry)
            + _mrz_text(self.nationality, 3) + "<" * 11
        )  # fmt: skip
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        name = _mrz_text(self.surname, 30).rstrip("<") + "<<" + _mrz_text(self.given_names, 30)
        return line1, line2 + check_digit(composite), _mrz_text(name, 30)

    # --- keys -------------------------------------------------------------------------------

    @cached_property
    def chip_authentication_key(self) -> ec.EllipticCurvePrivateKey:
        """The chip's static ECDH key for Chip Authentication (its public half is in DG14)."""
        return pki.derive_ec_key(
            pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, self.seed, "chip-authentication"
        )

    @cached_property
    def active_authentication_key(self) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
        """The chip's Active Authentication key (public half in DG15)."""
        if self.active_authentication == "rsa":
            cache = self.pki_cache_dir or pki.default_cache_dir()
            return pki.cached_rsa_key(cache / "active-auth" / f"rsa2048-{self.seed}.pem", 2048)
        return pki.derive_ec_key(
            pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, self.seed, "active-authentication"
        )

    @property
    def pki(self) -> pki.TestPki:
        """The test PKI of the issuing state (CSCA, Document Signer, CRL)."""
        country = icao_to_alpha2(self.issuing_state) or "UT"
        return pki.load_or_create_pki(country, self.pki_algorithm, 0, self.pki_cache_dir)

    # --- personalisation --------------------------------------------------------------------

    def build_chip_files(self) -> ChipFiles:
        """Every file of this traveller's chip (cached: profiles are immutable)."""
        return _build(self)

    def chip_contents(self) -> ChipContents:
        files = self.build_chip_files()
        return ChipContents(
            mf_files=files.mf_files,
            lds_files=files.lds_files,
            mrz_information=self.mrz_information,
            can=self.can,
            pace_options=self.pace_options,
            active_authentication_key=(
                self.active_authentication_key if self.active_authentication else None
            ),
            chip_authentication_key=(
                self.chip_authentication_key if self.chip_authentication else None
            ),
            eac=self.eac_pki().chip_trust() if self.iris else None,
        )

    def eac_pki(self) -> EacPki:
        """The issuing state's test EAC chain (the chip trusts its CVCA when `iris`)."""
        from hardware_mocks.eac_pki import build_eac_pki  # eac_pki imports the chip side

        return build_eac_pki(icao_to_alpha2(self.issuing_state) or "UT")


@dataclass(frozen=True)
class ChipFiles:
    """The personalised files, by the dump names of DESIGN.md (`DG1.bin`, `EF_SOD.bin`...)."""

    by_name: dict[str, bytes]

    @property
    def mf_files(self) -> dict[int, bytes]:
        names = {"EF_CardAccess.bin": FID_CARD_ACCESS, "EF_CardSecurity.bin": FID_CARD_SECURITY}
        return {fid: self.by_name[name] for name, fid in names.items() if name in self.by_name}

    @property
    def lds_files(self) -> dict[int, bytes]:
        out = {FID_COM: self.by_name["EF_COM.bin"], FID_SOD: self.by_name["EF_SOD.bin"]}
        for number in range(1, 17):
            if f"DG{number}.bin" in self.by_name:
                out[0x0100 + number] = self.by_name[f"DG{number}.bin"]
        return out


@lru_cache(maxsize=16)
def iris_jp2(identity: int) -> bytes:
    """The enrolment image of the right eye of `identity`: a synthetic NIR capture, JPEG 2000."""
    import cv2

    from hardware_mocks.iris_synth import IrisSynth

    image, _ = IrisSynth(identity).capture(0)
    ok, buffer = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 200])
    if not ok:
        raise RuntimeError("OpenCV cannot write JPEG 2000")
    return bytes(buffer)


def _spki(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _pace_infos(profile: TravellerProfile) -> list[SecurityInfo]:
    return [PaceInfo(o.oid, 2, o.parameter_id) for o in profile.pace_options]


def _chip_authentication_infos(profile: TravellerProfile) -> list[SecurityInfo]:
    if not profile.chip_authentication:
        return []
    return [
        ChipAuthenticationPublicKeyInfo(ID_PK_ECDH, _spki(profile.chip_authentication_key)),
        ChipAuthenticationInfo(ID_CA_ECDH_AES_CBC_CMAC_128, 1),
    ]


@lru_cache(maxsize=64)
def _build(profile: TravellerProfile) -> ChipFiles:
    face = profile.face_image or synthetic_face_jpeg(profile.seed)
    groups: dict[int, bytes] = {
        1: dg1.encode_lines(profile.mrz_lines),
        2: dg2.encode(dg2.for_image(face, profile.face_standard)),
    }
    if profile.dg11 is not None:
        groups[11] = dg11.encode(profile.dg11)
    if profile.dg12 is not None:
        groups[12] = dg12.encode(profile.dg12)
    if profile.iris:
        groups[4] = dg4.encode(
            dg4.for_images(
                {EyeSubtype.RIGHT: iris_jp2(profile.seed)},
                IrisImageFormat.MONO_JPEG2000,
                profile.iris_standard,
            )
        )
    infos = _chip_authentication_infos(profile) + _pace_infos(profile)
    if profile.active_authentication == "ec":
        infos.append(ActiveAuthenticationInfo(ID_AA, 1, ECDSA_WITH_SHA256))
    if infos:
        groups[14] = dg14.encode(dg14.Dg14(SecurityInfos(tuple(infos))))
    if profile.active_authentication:
        key = profile.active_authentication_key
        curve = key.curve.name.lower() if isinstance(key, ec.EllipticCurvePrivateKey) else None
        kind: Literal["rsa", "ec"] = "rsa" if curve is None else "ec"
        groups[15] = dg15.encode(dg15.Dg15(_spki(key), kind, curve))
    files = {f"DG{n}.bin": data for n, data in sorted(groups.items())}
    files["EF_COM.bin"] = com.encode(com.EfCom("0107", "040000", tuple(sorted(groups))))
    security_object = sod.encode_security_object(
        sod.LdsSecurityObject(
            profile.sod_digest,
            {
                n: hashlib.new(profile.sod_digest, data).digest()
                for n, data in sorted(groups.items())
            },
        )
    )
    signer = profile.pki.document_signer
    files["EF_SOD.bin"] = pki.sign_sod(security_object, signer, digest_algorithm=profile.sod_digest)
    if profile.pace_options:
        card_access_infos = SecurityInfos(tuple(_pace_infos(profile)))
        files["EF_CardAccess.bin"] = card_access.encode(card_access_infos)
        card_security_infos = SecurityInfos(
            tuple(_pace_infos(profile) + _chip_authentication_infos(profile))
        )
        files["EF_CardSecurity.bin"] = pki.sign_card_security(
            security_infos.encode(card_security_infos), signer
        )
    return ChipFiles(files)
