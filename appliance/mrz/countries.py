"""Codes for issuing states, organizations and nationalities (ICAO 9303-3 §5).

ICAO uses the ISO 3166-1 alpha-3 codes (from pycountry, so the list follows ISO's updates),
except that Germany is 'D', and adds codes for British nationality classes, the UN, other
international organizations and persons without (a known) nationality. 'UTO' is ICAO's
fictitious Utopia of the specimen documents. An unknown code is a warning, not an error:
a new state or organization must not lock its travellers out before the list is updated.
"""

from __future__ import annotations

from functools import cache

ICAO_CODES: dict[str, str] = {
    "D": "Germany",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNO": "United Nations Organization or one of its officials",
    "UNA": "Specialized agency of the United Nations or one of its officials",
    "UNK": "Resident of Kosovo with a travel document issued by UNMIK",
    "EUE": "European Union",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community or one of its emissaries",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XEC": "Economic Community of West African States",
    "XES": "Organisation of Eastern Caribbean States",
    "XMP": "Parliamentary Assembly of the Mediterranean",
    "XOM": "Sovereign Military Order of Malta",
    "XPO": "International Criminal Police Organization (INTERPOL)",
    "XDC": "Southern African Development Community",
    "XXA": "Stateless person (1954 Convention)",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other than under the 1951 Convention)",
    "XXX": "Person of unspecified nationality",
    "UTO": "Utopia (ICAO specimen documents)",
}

#: Codes outside ISO 3166-1 and 9303-3 that issuers print on genuine documents today.
IN_USE_CODES: dict[str, str] = {
    "RKS": "Kosovo (printed on Republic of Kosovo documents; not an ISO 3166-1 code)",
}

#: ISO codes ICAO replaces: an MRZ must not use them.
NOT_USED_IN_MRZ = frozenset({"DEU"})


@cache
def _iso_codes() -> dict[str, str]:
    import pycountry  # loaded on first use: keeps `import appliance.mrz` light

    return {
        country.alpha_3: country.name
        for country in pycountry.countries
        if country.alpha_3 not in NOT_USED_IN_MRZ
    }


def country_name(code: str) -> str | None:
    """The state or organization an MRZ code ('D', 'UTO', 'FRA'...) stands for, or None.

    Trailing fillers are ignored, so the printed field ('D<<') can be passed as is.
    """
    code = code.rstrip("<")
    return ICAO_CODES.get(code) or IN_USE_CODES.get(code) or _iso_codes().get(code)


def is_known(code: str) -> bool:
    return country_name(code) is not None
