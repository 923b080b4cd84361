"""ICAO VDS-NC (Visible Digital Seal for non-constrained environments): JSON in a QR code.

`{"data": {"hdr": {"t", "v", "is"}, "msg": {...}}, "sig": {"alg", "cer", "sigvl"}}`: the
signature (JWS-style raw r||s, base64url) is over `data` canonicalised by RFC 8785 (JCS); `cer`
is the barcode signer certificate (base64url DER), which must chain to the issuing state's CSCA.
`t` is the use case: "icao.test" (proof of testing), "icao.vacc" (proof of vaccination) and
others later.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import rfc8785

from appliance.barcodes.model import BarcodeError, Kind, SignedContent, Symbol

#: VDS-NC signature algorithms (ICAO TR VDS-NC §3: ECDSA with these curves and hashes)
ALGORITHMS = ("ES256", "ES384", "ES512")
MAX_JSON_BYTES = 64 * 1024


def looks_like_vdsnc(payload: bytes) -> bool:
    head = payload.lstrip()[:1]
    return head == b"{" and b'"data"' in payload and b'"hdr"' in payload


def _b64url(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise BarcodeError(f"VDS-NC {what} is not a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BarcodeError(f"VDS-NC {what} is not base64url") from exc


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BarcodeError(f"VDS-NC {what} is not a JSON object")
    return value


def parse_vdsnc(payload: bytes, symbology: str = "") -> Symbol:
    if len(payload) > MAX_JSON_BYTES:
        raise BarcodeError("VDS-NC payload larger than any QR code holds")
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BarcodeError("VDS-NC payload is not JSON") from exc
    top = _object(document, "document")
    data = _object(top.get("data"), "data")
    hdr = _object(data.get("hdr"), "header")
    msg = _object(data.get("msg"), "message")
    kind = hdr.get("t")
    country = hdr.get("is")
    if not isinstance(kind, str) or not isinstance(country, str):
        raise BarcodeError("VDS-NC header lacks its type or issuing state")
    pid_value = msg.get("pid")
    pid: dict[str, Any] = pid_value if isinstance(pid_value, dict) else {}
    fields: dict[str, Any] = {
        "document_type": kind,
        "vdsnc_type": kind,
        "version": hdr.get("v"),
        "issuing_country": country,
        "name": pid.get("n"),
        "date_of_birth": pid.get("dob"),
        "document_number": pid.get("dn") or pid.get("i"),
        "sex": pid.get("sex"),
        "uvci": msg.get("uvci"),
        "utci": msg.get("utci"),
        "message": msg,
    }
    sig = top.get("sig")
    if sig is None:
        return Symbol(symbology, Kind.VDS_NC, fields)
    sig = _object(sig, "signature")
    algorithm = sig.get("alg")
    if algorithm not in ALGORITHMS:
        raise BarcodeError(f"VDS-NC signature algorithm {algorithm!r} not allowed")
    try:
        message = rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise BarcodeError("VDS-NC data cannot be canonicalised (RFC 8785)") from exc
    signed = SignedContent(
        message=message,
        signature=_b64url(sig.get("sigvl"), "signature value"),
        certificate=_b64url(sig.get("cer"), "certificate"),
        algorithm=str(algorithm),
        issuing_country=country,
    )
    return Symbol(symbology, Kind.VDS_NC, fields, signed)
