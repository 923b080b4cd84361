"""LDSSecurityObject (ICAO 9303-10 §4.6.2.2): the hash of every data group, as EF.SOD signs it.

Kept minimal on purpose: the LDS package owns the full EF.SOD/LDS parsers; Passive
Authentication needs only the hash algorithm and the per-data-group hashes of the *verified*
eContent bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import algos, core

from appliance.emrtd.auth.algorithms import hash_name
from appliance.errors import LdsError


class _DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("number", core.Integer),
        ("hash", core.OctetString),
    ]


class _DataGroupHashes(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _DataGroupHash


class _LdsVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class _LdsSecurityObject(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("hashes", _DataGroupHashes),
        ("version_info", _LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class LdsSecurityObject:
    version: int
    hash_name: str
    hashes: dict[int, bytes]
    lds_version: str | None


def parse_lds_security_object(content: bytes) -> LdsSecurityObject:
    """Parse the eContent of EF.SOD; malformed -> `LdsError`, unknown hash -> LDS_UNSUPPORTED."""
    try:
        parsed = _LdsSecurityObject.load(content, strict=True)
        version = int(parsed["version"].native)
        hashes: dict[int, bytes] = {}
        for entry in parsed["hashes"]:
            number = int(entry["number"].native)
            if not 1 <= number <= 16 or number in hashes:
                raise LdsError(f"LDSSecurityObject: bad or repeated data group number {number}")
            hashes[number] = bytes(entry["hash"].native)
        info = parsed["version_info"]
        lds_version = None if isinstance(info, core.Void) else str(info["lds_version"].native)
        name = hash_name(parsed["hash_algorithm"])
    except LdsError:
        raise
    except Exception as exc:  # asn1crypto raises many undocumented types on bad input
        raise LdsError("LDSSecurityObject malformed") from exc
    if version not in (0, 1):
        raise LdsError(f"LDSSecurityObject version {version} unknown")
    return LdsSecurityObject(version, name, hashes, lds_version)
