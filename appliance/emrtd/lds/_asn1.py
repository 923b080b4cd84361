"""asn1crypto behind the LDS error contract: any decoding failure becomes `LdsError`.

asn1crypto parses lazily and reports bad input with a spread of built-in exceptions; parsers
here load strictly (no trailing bytes) and touch `.native` inside `asn1_errors` so that every
fault surfaces as `LDS_MALFORMED` at parse time, not later in a caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from asn1crypto import core

from appliance.errors import LdsError

_DECODE_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    AttributeError,
    RecursionError,
)

T = TypeVar("T", bound=core.Asn1Value)


@contextmanager
def asn1_errors(what: str) -> Iterator[None]:
    """Turn asn1crypto's exceptions into `LdsError`; the message names the structure only."""
    try:
        yield
    except LdsError:
        raise
    except _DECODE_ERRORS as exc:
        raise LdsError(f"{what}: malformed DER ({type(exc).__name__})") from None


def load(spec: type[T], data: bytes, what: str, *, deep: bool = True) -> T:
    """Decode all of `data` as `spec`, forcing the lazy parse so errors show up here.

    `deep=False` leaves inner values lazy (a CMS message's certificates, which Passive
    Authentication parses anyway): callers must then read them inside `asn1_errors`.
    """
    with asn1_errors(what):
        value: T = spec.load(data, strict=True)
        if deep:
            _ = value.native
    return value
