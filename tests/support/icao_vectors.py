"""The ICAO Doc 9303 Part 11 worked examples of tests/data/vectors, as bytes."""

from __future__ import annotations

import json
from functools import cache

from tests.support.data_support import ICAO_VECTORS as VECTORS


@cache
def _load() -> dict[str, dict[str, dict[str, dict[str, object]]]]:
    return json.loads(VECTORS.read_text())  # type: ignore[no-any-return]


def section(name: str) -> dict[str, dict[str, object]]:
    return _load()[name]["values"]


def hexval(section_name: str, key: str) -> bytes:
    """A value of the vectors file as bytes (every value is upper-case hex)."""
    return bytes.fromhex(str(section(section_name)[key]["value"]))


def text(section_name: str, key: str) -> str:
    return str(section(section_name)[key]["value"])


BAC = "bac_appendix_d"
G1 = "pace_g1_ecdh_gm_brainpoolp256r1"
G2 = "pace_g2_dh_gm_1024_160"
