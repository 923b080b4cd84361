"""EU Digital COVID Certificate (`HC1:`): base45 (RFC 9285), zlib, COSE_Sign1 (RFC 9052), CWT.

Recognised as a named kind because border authorities still meet it; its signature is checked
when the signer certificate is in the trust material (looked up by the COSE `kid`, the first 8
bytes of the SHA-256 of the certificate's DER, EU DCC technical specification vol. 1 §3.3.1).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import cbor2

from appliance.barcodes.model import BarcodeError, Kind, SignedContent, Symbol

PREFIX = b"HC1:"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
#: COSE algorithm identifiers (RFC 9053) the DCC allows
COSE_ALGORITHMS = {-7: "ES256", -37: "PS256"}
MAX_INFLATED = 64 * 1024  # a DCC is a few hundred bytes; bounds a zlib bomb
_COSE_SIGN1_TAG = 18
_CWT_HCERT = -260
_CERTIFICATE_TYPES = {"v": "vaccination", "t": "test", "r": "recovery"}


def base45_decode(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i : i + 3]
        try:
            values = [_VALUE[c] for c in chunk]
        except KeyError as exc:
            raise BarcodeError("HC1 payload is not base45") from exc
        if len(values) == 1:
            raise BarcodeError("HC1 base45 has a dangling character")
        n = sum(v * 45**k for k, v in enumerate(values))
        size = 2 if len(values) == 3 else 1
        if n >= 256**size:
            raise BarcodeError("HC1 base45 group out of range")
        out += n.to_bytes(size, "big")
    return bytes(out)


def base45_encode(data: bytes) -> str:
    """For the test-data generator."""
    out = []
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        n = int.from_bytes(chunk, "big")
        digits = 3 if len(chunk) == 2 else 2
        for _ in range(digits):
            n, r = divmod(n, 45)
            out.append(_ALPHABET[r])
    return "".join(out)


def _inflate(data: bytes) -> bytes:
    if data[:1] != b"\x78":  # the specification allows an uncompressed COSE message too
        return data
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise BarcodeError("HC1 zlib data corrupt") from exc
    if inflater.unconsumed_tail:
        raise BarcodeError("HC1 payload inflates beyond any certificate's size")
    return out


def _loads(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise BarcodeError(f"HC1 {what} is not CBOR") from exc


def _date(value: Any) -> str | None:
    if isinstance(value, int) and 0 <= value < 2**40:
        return datetime.fromtimestamp(value, UTC).date().isoformat()
    return None


def parse_hc1(payload: bytes, symbology: str = "") -> Symbol:
    try:
        text = payload[len(PREFIX) :].decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise BarcodeError("HC1 payload is not ASCII") from exc
    message = _loads(_inflate(base45_decode(text)), "message")
    if isinstance(message, cbor2.CBORTag):
        if message.tag != _COSE_SIGN1_TAG:
            raise BarcodeError(f"HC1 CBOR tag {message.tag} is not COSE_Sign1")
        message = message.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise BarcodeError("HC1 message is not a COSE_Sign1 array")
    protected_raw, unprotected, body, signature = message
    if not all(isinstance(v, bytes) for v in (protected_raw, body, signature)):
        raise BarcodeError("HC1 COSE_Sign1 members have the wrong types")
    protected = _loads(protected_raw, "protected header") if protected_raw else {}
    if not isinstance(protected, Mapping) or not isinstance(unprotected, Mapping):
        raise BarcodeError("HC1 COSE headers are not maps")
    algorithm_id = protected.get(1, unprotected.get(1))
    algorithm = COSE_ALGORITHMS.get(algorithm_id) if isinstance(algorithm_id, int) else None
    kid = protected.get(4, unprotected.get(4))
    claims = _loads(body, "payload")
    if not isinstance(claims, Mapping):
        raise BarcodeError("HC1 payload is not a CWT claims map")
    hcert = claims.get(_CWT_HCERT)
    dcc = hcert.get(1) if isinstance(hcert, Mapping) else None
    if not isinstance(dcc, Mapping):
        raise BarcodeError("HC1 CWT holds no health certificate (claim -260)")
    names_value = dcc.get("nam")
    names: Mapping[str, Any] = names_value if isinstance(names_value, Mapping) else {}
    entries = [(k, dcc[k]) for k in ("v", "t", "r") if isinstance(dcc.get(k), list | tuple)]
    certificate_type, records = entries[0] if entries else (None, [])
    first: Mapping[str, Any] = records[0] if records and isinstance(records[0], Mapping) else {}
    fields: dict[str, Any] = {
        "document_type": _CERTIFICATE_TYPES.get(str(certificate_type)),
        "issuing_country": claims.get(1) if isinstance(claims.get(1), str) else None,
        "surname": names.get("fn"),
        "given_names": names.get("gn"),
        "name": " ".join(str(n) for n in (names.get("gn"), names.get("fn")) if n) or None,
        "date_of_birth": dcc.get("dob"),
        "uvci": first.get("ci"),
        "issuing_date": _date(claims.get(6)),
        "date_of_expiry": _date(claims.get(4)),
        "schema_version": dcc.get("ver"),
    }
    sig_structure = cbor2.dumps(["Signature1", protected_raw, b"", body])
    signed = SignedContent(
        message=sig_structure,
        signature=signature,
        algorithm=algorithm or "unsupported",
        issuing_country=fields["issuing_country"],
        key_id=kid if isinstance(kid, bytes) else None,
    )
    return Symbol(symbology, Kind.EU_DCC, fields, signed)
