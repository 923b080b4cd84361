"""Which kind a decoded payload is, and its parsed `Symbol`: never an exception.

A payload that is no kind the appliance reads is reported as `unknown` (`BARCODE_UNKNOWN_KIND`);
a payload of a known kind that cannot be read is reported with that kind and its reason.
"""

from __future__ import annotations

from appliance.barcodes.bcbp import looks_like_bcbp, parse_bcbp
from appliance.barcodes.hc1 import PREFIX as HC1_PREFIX
from appliance.barcodes.hc1 import parse_hc1
from appliance.barcodes.model import Kind, Symbol
from appliance.barcodes.vds import MAGIC as VDS_MAGIC
from appliance.barcodes.vds import parse_vds
from appliance.barcodes.vdsnc import looks_like_vdsnc, parse_vdsnc
from appliance.errors import ApplianceError, Reason


def detect_kind(payload: bytes) -> Kind:
    if payload[:1] == bytes([VDS_MAGIC]):
        return Kind.ICAO_VDS
    if payload.startswith(HC1_PREFIX):
        return Kind.EU_DCC
    if looks_like_vdsnc(payload):
        return Kind.VDS_NC
    if looks_like_bcbp(payload):
        return Kind.BCBP
    return Kind.UNKNOWN


_PARSERS = {
    Kind.ICAO_VDS: parse_vds,
    Kind.EU_DCC: parse_hc1,
    Kind.VDS_NC: parse_vdsnc,
    Kind.BCBP: parse_bcbp,
}


def parse_payload(payload: bytes, symbology: str = "") -> Symbol:
    """The symbol a payload encodes; unreadable input yields a symbol with its reason."""
    kind = detect_kind(payload)
    parser = _PARSERS.get(kind)
    if parser is None:
        detail = f"{len(payload)} bytes of no known kind"
        return Symbol(
            symbology, Kind.UNKNOWN, {}, reason=Reason.BARCODE_UNKNOWN_KIND, detail=detail
        )
    try:
        return parser(payload, symbology)
    except ApplianceError as exc:
        return Symbol(symbology, kind, {}, reason=exc.reason, detail=exc.detail)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        # a parser gap must not become a traceback: report it as a malformed payload
        detail = f"unreadable {kind.value} payload ({type(exc).__name__})"
        return Symbol(symbology, kind, {}, reason=Reason.BARCODE_MALFORMED, detail=detail)
