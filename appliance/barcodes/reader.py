"""From decoded symbols to verified `Symbol`s, and the per-image outcome: one home for the CLI
and the inspection step.

Fail closed: an image passes only when it held at least one symbol and every symbol was read
and carries a `valid` signature; `not_signed`, `untrusted`, `expired` and `invalid` all fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.barcodes.compare import seal_matches_passport
from appliance.barcodes.model import Kind, SignatureStatus, Symbol
from appliance.barcodes.payload import parse_payload
from appliance.barcodes.verify import TrustContext, verify_symbol
from appliance.errors import Reason
from appliance.mrz.parse import MrzFields
from appliance.ports import DecodedSymbol

#: more symbols than any travel document carries on one page: refuse rather than loop
MAX_SYMBOLS = 16


@dataclass(frozen=True)
class Outcome:
    status: str  # "pass" or "fail"
    reason: Reason
    symbols: tuple[Symbol, ...]


def read_symbols(
    decoded: Sequence[DecodedSymbol], context: TrustContext, passport: MrzFields | None = None
) -> list[Symbol]:
    """Parse and verify each decoded payload (at most `MAX_SYMBOLS`); a seal is compared with
    the `passport` presented with it when one is given."""
    symbols = []
    for item in decoded[:MAX_SYMBOLS]:
        symbol = parse_payload(item.payload, item.symbology)
        symbol = dataclasses.replace(symbol, signature=verify_symbol(symbol, context))
        if passport is not None and symbol.kind is Kind.ICAO_VDS and symbol.reason is Reason.OK:
            match = seal_matches_passport(symbol.fields, passport)
            symbol = dataclasses.replace(symbol, passport_match=match.to_dict())
        symbols.append(symbol)
    return symbols


def outcome(decoded: Sequence[DecodedSymbol], symbols: Sequence[Symbol]) -> Outcome:
    if not symbols:
        return Outcome("fail", Reason.BARCODE_NOT_FOUND, ())
    if len(decoded) > MAX_SYMBOLS:
        return Outcome("fail", Reason.BARCODE_TOO_MANY_SYMBOLS, tuple(symbols))
    for symbol in symbols:
        if symbol.reason not in (Reason.OK, Reason.SEAL_DOCUMENT_TYPE_UNKNOWN):
            return Outcome("fail", symbol.reason, tuple(symbols))
        if symbol.signature.status is not SignatureStatus.VALID:
            return Outcome("fail", symbol.signature.reason, tuple(symbols))
        if symbol.passport_match and symbol.passport_match["status"] == "fail":
            return Outcome("fail", Reason.SEAL_MRZ_MISMATCH, tuple(symbols))
    return Outcome("pass", Reason.OK, tuple(symbols))
