"""ICAO 9303-13 Visible Digital Seals (and BSI TR-03137 profiles): header, message, signature.

Layout: magic 0xDC, version (0x02 = version 3, 0x03 = version 4), issuing country (C40),
signer identifier and certificate reference (C40: 9 characters in version 3; in version 4 the
signer identifier, two hex digits giving the reference's length, then the reference), the
document issue and signature creation dates (MMDDYYYY as a 3-byte integer), the document
feature definition reference and the document type category; then the message zone's
tag-length-value features; then 0xFF, a DER length and the signature (r||s). The signature
covers every byte before the 0xFF marker.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from appliance.barcodes import c40
from appliance.barcodes.model import BarcodeError, Kind, SignedContent, Symbol
from appliance.barcodes.vds_profiles import MRZ_GEOMETRY, PROFILES, Encoding, Feature
from appliance.errors import ApplianceError, Reason
from appliance.mrz.formats import MrzFormat
from appliance.mrz.parse import parse_mrz

MAGIC = 0xDC
SIGNATURE_TAG = 0xFF
VERSIONS = {0x02: 3, 0x03: 4}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BarcodeError(f"seal truncated in the {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def length(self, what: str) -> int:
        """A DER length (ICAO 9303-13 uses BER-TLV lengths in the message and signature)."""
        first = self.byte(what)
        if first < 0x80:
            return first
        count = first & 0x7F
        if count not in (1, 2):
            raise BarcodeError(f"length of the {what} is not a 1- or 2-byte DER length")
        return int.from_bytes(self.take(count, what), "big")

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _date(raw: bytes, what: str) -> str:
    """MMDDYYYY packed as an integer into 3 bytes -> ISO date."""
    text = f"{int.from_bytes(raw, 'big'):08d}"
    try:
        return date(int(text[4:]), int(text[:2]), int(text[2:4])).isoformat()
    except ValueError as exc:
        raise BarcodeError(f"{what} is not a calendar date") from exc


def _c40(raw: bytes, what: str) -> str:
    try:
        return c40.decode(raw)
    except ApplianceError as exc:
        raise BarcodeError(f"{what}: {exc.detail}", Reason.SEAL_C40_INVALID) from exc


def _signer(reader: _Reader, version: int) -> tuple[str, str]:
    if version == 3:
        text = _c40(reader.take(6, "signer reference"), "signer reference")
        if len(text) != 9:
            raise BarcodeError("signer reference is not 9 characters")
        return text[:4], text[4:]
    start = reader.pos
    head = _c40(reader.take(4, "signer reference"), "signer reference")
    if len(head) != 6:
        raise BarcodeError("signer reference shorter than 6 characters")
    try:
        ref_length = int(head[4:6], 16)
    except ValueError as exc:
        raise BarcodeError("certificate reference length is not hexadecimal") from exc
    total = 6 + ref_length
    reader.pos = start
    text = _c40(reader.take(c40.encoded_length(total), "signer reference"), "signer reference")
    if len(text) != total:
        raise BarcodeError("certificate reference shorter than its declared length")
    return text[:4], text[6:]


def parse_vds(data: bytes, symbology: str = "") -> Symbol:
    """A seal's fields and signature zone; structural faults raise `BarcodeError`."""
    reader = _Reader(data)
    if reader.byte("header") != MAGIC:
        raise BarcodeError("not a visible digital seal (no 0xDC magic)")
    raw_version = reader.byte("header")
    version = VERSIONS.get(raw_version)
    if version is None:
        raise BarcodeError(
            f"seal version byte 0x{raw_version:02x} unsupported", Reason.SEAL_VERSION_UNSUPPORTED
        )
    country = _c40(reader.take(2, "issuing country"), "issuing country").replace(" ", "<")
    signer, reference = _signer(reader, version)
    issued = _date(reader.take(3, "header"), "document issue date")
    signed_on = _date(reader.take(3, "header"), "signature creation date")
    feature_ref = reader.byte("header")
    category = reader.byte("header")
    fields: dict[str, Any] = {
        "document_type": None,
        "issuing_country": country.rstrip("<"),
        "version": version,
        "signer_reference": signer + reference,
        "signer_identifier": signer,
        "certificate_reference": reference,
        "issuing_date": issued,
        "signing_date": signed_on,
        "feature_definition_reference": feature_ref,
        "document_type_category": category,
    }
    features: list[tuple[int, bytes]] = []
    signature: bytes | None = None
    message_end = len(data)
    while reader.left:
        tag_at = reader.pos
        tag = reader.byte("message zone")
        length = reader.length("message zone")
        value = reader.take(length, "message zone" if tag != SIGNATURE_TAG else "signature")
        if tag == SIGNATURE_TAG:
            message_end, signature = tag_at, value
            if reader.left:
                raise BarcodeError("bytes after the signature zone")
            break
        features.append((tag, value))
    if not features:
        raise BarcodeError("the message zone holds no feature")
    reason, detail = _features(fields, feature_ref, category, features)
    signed = None
    if signature is not None:
        signed = SignedContent(
            message=data[:message_end],
            signature=signature,
            signer_reference=signer + reference,
            issuing_country=fields["issuing_country"],
            signing_date=signed_on,
        )
    return Symbol(symbology, Kind.ICAO_VDS, fields, signed, reason=reason, detail=detail)


def _features(
    fields: dict[str, Any], feature_ref: int, category: int, features: list[tuple[int, bytes]]
) -> tuple[Reason, str]:
    profile = PROFILES.get((feature_ref, category))
    unknown: dict[str, str] = {}
    if profile is None:
        fields["features"] = {f"0x{tag:02x}": value.hex() for tag, value in features}
        detail = f"no profile for feature reference 0x{feature_ref:02x}, category {category}"
        return Reason.SEAL_DOCUMENT_TYPE_UNKNOWN, detail
    fields["document_type"] = profile.document_type
    for tag, value in features:
        feature = profile.features.get(tag)
        if feature is None:  # allowed by BSI TR-03137 §3.2.3; reported, not interpreted
            unknown[f"0x{tag:02x}"] = value.hex()
            continue
        if feature.lengths is not None and len(value) not in feature.lengths:
            detail = f"feature 0x{tag:02x} ({feature.name}) has {len(value)} bytes"
            raise BarcodeError(detail, Reason.SEAL_FEATURE_INVALID)
        _decode_feature(fields, feature, value)
    if unknown:
        fields["unknown_features"] = unknown
    missing = [f"0x{t:02x}" for t in profile.required if t not in {tag for tag, _ in features}]
    if missing:
        detail = f"required feature(s) {', '.join(missing)} missing"
        raise BarcodeError(detail, Reason.SEAL_FEATURE_INVALID)
    return Reason.OK, ""


def _decode_feature(fields: dict[str, Any], feature: Feature, value: bytes) -> None:
    name = feature.name
    if feature.encoding is Encoding.C40:
        fields[name] = _c40(value, name).strip()
    elif feature.encoding is Encoding.UTF8:
        try:
            fields[name] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BarcodeError(f"{name} is not UTF-8", Reason.SEAL_FEATURE_INVALID) from exc
    elif feature.encoding is Encoding.INT:
        fields[name] = int.from_bytes(value, "big")
    elif feature.encoding is Encoding.DURATION:
        fields[name] = {"days": value[0], "months": value[1], "years": value[2]}
    elif feature.encoding is Encoding.BINARY:
        fields[name] = value.hex()
    else:
        assert feature.mrz_format is not None
        _mrz(fields, _c40(value, name), feature.mrz_format)


def _mrz(fields: dict[str, Any], text: str, fmt: MrzFormat) -> None:
    """Lay the seal's MRZ characters out as printed lines and parse them."""
    width, held = MRZ_GEOMETRY[fmt]
    text = text.replace(" ", "<")
    if len(text) != held:
        detail = f"{fmt.value} MRZ has {len(text)} characters, {held} expected"
        raise BarcodeError(detail, Reason.SEAL_FEATURE_INVALID)
    padded = text.ljust(width * ((held + width - 1) // width), "<")
    lines = [padded[i : i + width] for i in range(0, len(padded), width)]
    result = parse_mrz(lines)
    fields["mrz"] = {
        "format": fmt.value,
        "lines": lines,
        "status": result.status,
        "reason": result.reason.value,
    }
    parsed = result.fields
    if parsed is None:
        return
    fields.update(
        {
            "document_number": parsed.document_number,
            "surname": parsed.surname,
            "given_names": parsed.given_names,
            "date_of_birth": parsed.date_of_birth_iso,
            "date_of_expiry": parsed.date_of_expiry_iso,
            "nationality": parsed.nationality,
            "sex": parsed.sex,
            "mrz_document_code": parsed.document_code,
        }
    )
