"""The name field of an MRZ (ICAO 9303-3 §4.6): primary and secondary identifiers.

'<<' separates the primary identifier (surname) from the secondary identifier (given names);
a single '<' stands for a space or hyphen inside either. A name too long for its field is
truncated, and the field then ends in a letter rather than a filler: that is the only sign of
truncation the MRZ carries, so a name filling its field is reported as possibly truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FILLERS = re.compile(r"<+")


@dataclass(frozen=True)
class MrzName:
    surname: str
    given_names: str
    possibly_truncated: bool


def split_name(field: str) -> MrzName:
    """Split a name field into surname and given names, fillers turned into single spaces."""
    truncated = bool(field) and field[-1] != "<"
    primary, separator, secondary = field.partition("<<")
    if not separator:
        secondary = ""
    return MrzName(_words(primary), _words(secondary), truncated)


def _words(part: str) -> str:
    return _FILLERS.sub(" ", part).strip()
