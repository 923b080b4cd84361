"""Test barcodes: seals and boarding passes signed under the simulated CSCA, and their images.

A seal signer is issued by the test CSCA of `hardware_mocks.pki` exactly as a visa or arrival
attestation signer is by a real CSCA (BSI TR-03137 §5.3: CN = the two-character signer
identifier, C = the country, serial = the certificate reference read as hex, digitalSignature).
Payloads are built byte by byte from the specifications, independently of the parsers under
test; `render` draws them with zxing-cpp's writer and degrades the image (rotation, blur,
scale, JPEG) for the decoding tests and the benchmark.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

import cbor2
import cv2
import numpy as np
import rfc8785
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from appliance.barcodes import c40
from appliance.barcodes.hc1 import base45_encode
from hardware_mocks.pki import Signer, TestPki, derive_ec_key, load_or_create_pki

SIGNER_NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SIGNER_NOT_AFTER = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
_HASHES = {32: hashes.SHA256, 48: hashes.SHA384, 66: hashes.SHA512, 64: hashes.SHA512}


@dataclass(frozen=True)
class SealSigner:
    signer: Signer
    identifier: str  # e.g. "DETS": country + the CN
    reference: str  # certificate reference, hex of the serial

    @property
    def certificate_der(self) -> bytes:
        return self.signer.certificate_der

    def sign_raw(self, message: bytes) -> bytes:
        """ECDSA r||s with the hash the key size calls for (ICAO 9303-13)."""
        key = self.signer.key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        size = (key.curve.key_size + 7) // 8
        der = key.sign(message, ec.ECDSA(_HASHES[size](), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def seal_pki(country: str = "DE") -> TestPki:
    """The simulated CSCA the seals chain to (same as the simulated passports')."""
    return load_or_create_pki(country)


def issue_seal_signer(
    pki: TestPki,
    cn: str = "TS",
    serial: int = 0x27,
    *,
    not_before: dt.datetime = SIGNER_NOT_BEFORE,
    not_after: dt.datetime = SIGNER_NOT_AFTER,
    country: str | None = None,
    issuer: Signer | None = None,
) -> SealSigner:
    """A seal signer certificate issued by the test CSCA (or `issuer`)."""
    csca = issuer or pki.csca
    country = country or pki.country
    key = derive_ec_key(pki.algorithm, pki.seed, f"seal/{country}/{cn}/{serial}/{not_after}")
    ski = csca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                    x509.NameAttribute(NameOID.COMMON_NAME, cn),
                ]
            )
        )
        .issuer_name(csca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.AuthorityKeyIdentifier(ski.value.digest, None, None), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    assert isinstance(csca.key, ec.EllipticCurvePrivateKey)
    certificate = builder.sign(csca.key, hashes.SHA256(), ecdsa_deterministic=True)
    signer = Signer(key, certificate, pki.algorithm)
    return SealSigner(signer, f"{country}{cn}", f"{serial:x}".upper())


# -- ICAO VDS ---------------------------------------------------------------------------------


def _date(value: dt.date) -> bytes:
    return int(value.strftime("%m%d%Y")).to_bytes(3, "big")


def _tlv(tag: int, value: bytes) -> bytes:
    if len(value) < 0x80:
        return bytes([tag, len(value)]) + value
    if len(value) < 0x100:
        return bytes([tag, 0x81, len(value)]) + value
    return bytes([tag, 0x82]) + len(value).to_bytes(2, "big") + value


def vds_header(
    signer: SealSigner,
    feature_ref: int,
    category: int,
    *,
    country: str = "D<<",
    version: int = 4,
    issued: dt.date = dt.date(2026, 1, 5),
    signed: dt.date = dt.date(2026, 1, 6),
) -> bytes:
    if version == 3:
        reference = signer.identifier + signer.reference.rjust(5, "0")
    else:
        reference = signer.identifier + f"{len(signer.reference):02X}" + signer.reference
    return (
        bytes([0xDC, 0x02 if version == 3 else 0x03])
        + c40.encode(country)
        + c40.encode(reference)
        + _date(issued)
        + _date(signed)
        + bytes([feature_ref, category])
    )


VISA_MRZ = (
    "VCD<<DENT<<ARTHUR<PHILIP<<<<<<<<<<<<",
    "1234567XY7GBR5203116M2005250<<<<<<<<",
)
TD2_MRZ = (
    "ATD<<RESIDORCE<<ROLAND<<<<<<<<<<<<<<",
    "6525845096USA7008038M2201018<<<<<<06",
)


def visa_features(passport_number: str = "47110815P", days: int = 90) -> bytes:
    mrz = VISA_MRZ[0] + VISA_MRZ[1][:28]
    return (
        _tlv(0x02, c40.encode(mrz))
        + _tlv(0x03, bytes([2]))
        + _tlv(0x04, bytes([days, 0, 0]))
        + _tlv(0x05, c40.encode(passport_number))
    )


def visa_for(
    passport_number: str,
    nationality: str,
    date_of_birth: str,
    surname: str,
    given_names: str,
    *,
    sex: str = "F",
    visa_number: str = "V12345678",
    valid_until: str = "301231",
) -> bytes:
    """Visa features (MRV-B, duration, passport number) for the holder of a given passport."""
    from appliance.mrz.check_digits import check_digit

    name = f"{surname}<<{given_names}".replace(" ", "<")
    line1 = f"VCD<<{name}".ljust(36, "<")[:36]
    line2 = (
        f"{visa_number}{check_digit(visa_number)}{nationality:<<3}{date_of_birth}"
        f"{check_digit(date_of_birth)}{sex}{valid_until}{check_digit(valid_until)}"
    )
    return (
        _tlv(0x02, c40.encode(line1 + line2[:28]))
        + _tlv(0x04, bytes([30, 0, 0]))
        + _tlv(0x05, c40.encode(passport_number))
    )


def arrival_attestation_features(azr: str = "160113000085") -> bytes:
    return _tlv(0x02, c40.encode("".join(TD2_MRZ))) + _tlv(0x03, c40.encode(azr))


def supplementary_sheet_features(sheet: str = "AB1234567") -> bytes:
    return _tlv(0x04, c40.encode("".join(TD2_MRZ))) + _tlv(0x05, c40.encode(sheet))


DOCUMENTS = {
    "visa": (0x5D, 0x01, visa_features),
    "arrival_attestation": (0xFD, 0x02, arrival_attestation_features),
    "residence_permit_supplementary_sheet": (0xFA, 0x06, supplementary_sheet_features),
}


def make_vds(
    signer: SealSigner,
    document: str = "visa",
    *,
    version: int = 4,
    country: str = "D<<",
    signed: dt.date = dt.date(2026, 1, 6),
    tamper: bool = False,
    signature: bytes | None = None,
    features: bytes | None = None,
) -> bytes:
    """A signed seal; `tamper` changes its signing date after signing; `features` replaces
    the document's sample message zone (e.g. `visa_for(...)`)."""
    feature_ref, category, sample = DOCUMENTS[document]
    message_zone = sample() if features is None else features
    header = vds_header(
        signer, feature_ref, category, country=country, version=version, signed=signed
    )
    message = header + message_zone
    sig = signer.sign_raw(message) if signature is None else signature
    if tamper:  # another (valid) signature creation date than the one signed
        later = signed + dt.timedelta(days=1)
        message = (
            vds_header(
                signer, feature_ref, category, country=country, version=version, signed=later
            )
            + message_zone
        )
    return message + _tlv(0xFF, sig)


# -- VDS-NC -----------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_vdsnc(
    signer: SealSigner, *, country: str = "D", tamper: bool = False, with_certificate: bool = True
) -> bytes:
    data: dict[str, Any] = {
        "hdr": {"t": "icao.vacc", "v": 1, "is": country},
        "msg": {
            "uvci": "U32870",
            "pid": {"n": "Smith Bill", "dob": "1990-01-02", "sex": "M", "i": "A1234567Z"},
            "ve": [
                {
                    "des": "XM68M6",
                    "nam": "Comirnaty",
                    "dis": "RA01.0",
                    "vd": [
                        {
                            "dvc": "2021-03-03",
                            "seq": 1,
                            "ctr": "DEU",
                            "adm": "RIVM",
                            "lot": "VC35679",
                        }
                    ],
                }
            ],
        },
    }
    signature = signer.sign_raw(rfc8785.dumps(data))
    if tamper:
        data["msg"]["uvci"] = "U32871"
    sig: dict[str, str] = {"alg": "ES256", "sigvl": _b64url(signature)}
    if with_certificate:
        sig["cer"] = _b64url(signer.certificate_der)
    return json.dumps({"data": data, "sig": sig}, separators=(",", ":")).encode()


# -- IATA BCBP --------------------------------------------------------------------------------

BCBP_TWO_LEGS = (
    "M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 226F001A0025 14D>6181WW6225BAC 00141234560032A"
    "0141234567890 1AC AC 1234567890123    20KYLX58ZDEF456 FRAGVALH 3664 227C012C0002 12E2A01409"
    "87654321 1AC AC 1234567890123    2PCNWQ"
)


def make_bcbp(signer: SealSigner | None, *, base: str = BCBP_TWO_LEGS, tamper: bool = False) -> str:
    """A boarding pass; signed: '^', type '1', hex length, base64 of the ECDSA r||s."""
    if signer is None:
        return base
    security = base64.b64encode(signer.sign_raw(base.encode())).decode()
    text = base if not tamper else base.replace("001A", "002A", 1)
    return f"{text}^1{len(security):02X}{security}"


# -- EU DCC (HC1) -----------------------------------------------------------------------------


def make_hc1(signer: SealSigner, *, tamper: bool = False) -> str:
    kid = hashlib.sha256(signer.certificate_der).digest()[:8]
    protected = cbor2.dumps({1: -7, 4: kid})
    dcc = {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "gn": "Erika", "fnt": "MUSTERFRAU", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "v": [
            {
                "tg": "840539006",
                "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W",
                "co": "DE",
                "dn": 2,
                "sd": 2,
                "dt": "2021-05-29",
            }
        ],
    }
    claims = {1: "DE", 4: 1_900_000_000, 6: 1_622_000_000, -260: {1: dcc}}
    payload = cbor2.dumps(claims)
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])
    signature = signer.sign_raw(sig_structure)
    if tamper:
        payload = payload.replace(b"Erika", b"Erikb")
    cose = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    return "HC1:" + base45_encode(zlib.compress(cose, 9))


# -- images -----------------------------------------------------------------------------------

FORMATS = {
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "qrcode": zxingcpp.BarcodeFormat.QRCode,
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
    "aztec": zxingcpp.BarcodeFormat.Aztec,
}


def symbol_image(payload: bytes | str, symbology: str, module_px: int = 4) -> np.ndarray:
    """A clean grey image of one symbol with a quiet zone."""
    barcode = zxingcpp.create_barcode(payload, FORMATS[symbology])
    image = np.array(
        zxingcpp.write_barcode_to_image(barcode, scale=module_px, add_quiet_zones=True)
    )
    return image.astype(np.uint8)


def degrade(
    image: np.ndarray,
    *,
    rotation_deg: float = 0.0,
    blur_px: float = 0.0,
    scale: float = 1.0,
    contrast: float = 1.0,
) -> np.ndarray:
    """Rotate on a white page, blur (Gaussian sigma), rescale and flatten contrast."""
    out = image
    if rotation_deg:
        h, w = out.shape[:2]
        side = int((h * h + w * w) ** 0.5) + 8
        canvas = np.full((side, side), 255, np.uint8)
        y, x = (side - h) // 2, (side - w) // 2
        canvas[y : y + h, x : x + w] = out
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), rotation_deg, 1.0)
        out = cv2.warpAffine(canvas, matrix, (side, side), borderValue=255)
    if scale != 1.0:
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if blur_px:
        out = cv2.GaussianBlur(out, (0, 0), blur_px)
    if contrast != 1.0:
        out = (128 + (out.astype(np.float32) - 128) * contrast).clip(0, 255).astype(np.uint8)
    return out


def skew(image: np.ndarray, amount: float) -> np.ndarray:
    """Perspective: the top edge shrunk by `amount` (0.2 = 20 %), as a document held tilted."""
    h, w = image.shape[:2]
    pad = 16
    canvas = np.full((h + 2 * pad, w + 2 * pad), 255, np.uint8)
    canvas[pad : pad + h, pad : pad + w] = image
    h2, w2 = canvas.shape
    inset = amount * w2 / 2
    src = np.float32([[0, 0], [w2, 0], [w2, h2], [0, h2]])
    dst = np.float32([[inset, 0], [w2 - inset, 0], [w2, h2], [0, h2]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(canvas, matrix, (w2, h2), borderValue=255)


def encode_image(image: np.ndarray, *, jpeg_quality: int | None = None) -> bytes:
    """PNG, or JPEG at `jpeg_quality`."""
    if jpeg_quality is None:
        ok, buf = cv2.imencode(".png", image)
    else:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    assert ok
    return bytes(buf.tobytes())


def page(*symbols: np.ndarray, gap: int = 40) -> np.ndarray:
    """Several symbols side by side on one white page."""
    height = max(s.shape[0] for s in symbols) + 2 * gap
    width = sum(s.shape[1] for s in symbols) + gap * (len(symbols) + 1)
    canvas = np.full((height, width), 255, np.uint8)
    x = gap
    for s in symbols:
        canvas[gap : gap + s.shape[0], x : x + s.shape[1]] = s
        x += s.shape[1] + gap
    return canvas


def main(argv: list[str] | None = None) -> int:
    """`python -m hardware_mocks.barcode_seals DIR`: the test CSCA, seal signers and sample
    images, to try `appliance trust import` and `appliance barcode read` by hand."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    out: Path = args.directory
    out.mkdir(parents=True, exist_ok=True)
    pki = seal_pki()
    signer, airline = issue_seal_signer(pki, "TS", 0x1A2), issue_seal_signer(pki, "AC", 0x4AC)
    files = {
        "1-csca.der": pki.csca_der,
        "2-seal-signer.der": signer.certificate_der,
        "2-airline-signer.der": airline.certificate_der,
        "visa.png": encode_image(symbol_image(make_vds(signer), "datamatrix")),
        "arrival-attestation-rotated.jpg": encode_image(
            degrade(
                symbol_image(make_vds(signer, "arrival_attestation"), "datamatrix"), rotation_deg=25
            ),
            jpeg_quality=70,
        ),
        "vds-nc.png": encode_image(symbol_image(make_vdsnc(signer), "qrcode", 3)),
        "boarding-pass.png": encode_image(symbol_image(make_bcbp(airline), "pdf417", 2)),
        "hc1.png": encode_image(symbol_image(make_hc1(signer), "qrcode", 3)),
    }
    for name, data in files.items():
        (out / name).write_bytes(data)
        print(out / name)
    print(f"CSCA SHA-256 (for trust import --anchor): {hashlib.sha256(pki.csca_der).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
