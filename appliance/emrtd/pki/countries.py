"""ICAO 9303-3 issuing-state codes versus the ISO 3166 alpha-2 codes in certificate DNs.

DG1 carries ICAO three-letter codes (mostly ISO 3166-1 alpha-3, but Germany is `D`, the UK has
five codes for kinds of nationality, Kosovo is `RKS`, ...), while CSCA/DS certificates carry the
ISO alpha-2 code in their countryName (ICAO 9303-12 §7.1.1), so the two must be mapped.
"""

from __future__ import annotations

import pycountry

#: ICAO codes that are not ISO 3166-1 alpha-3 (9303-3 §5), mapped to the alpha-2 code that
#: the issuing authority's certificates use
_ICAO_SPECIAL: dict[str, str] = {
    "D": "DE",
    "GBD": "GB",
    "GBN": "GB",
    "GBO": "GB",
    "GBP": "GB",
    "GBS": "GB",
    "RKS": "XK",
    "EUE": "EU",
    "UNO": "UN",
    "UNA": "UN",
    "UNK": "UN",
}


def icao_to_alpha2(code: str) -> str | None:
    """Alpha-2 code for an ICAO issuing-state code (filler `<` stripped); None if unknown."""
    cleaned = code.replace("<", "").strip().upper()
    if cleaned in _ICAO_SPECIAL:
        return _ICAO_SPECIAL[cleaned]
    if len(cleaned) != 3 or not cleaned.isalpha():
        return None
    country = pycountry.countries.get(alpha_3=cleaned)
    return str(country.alpha_2) if country is not None else None
