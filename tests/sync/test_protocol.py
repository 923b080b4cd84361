"""The wire format both sides import: the national pseudonym."""

from __future__ import annotations

import pytest

from appliance.history.events import DocumentRef
from sync import protocol

KEY = bytes(range(32))


def test_national_pseudonym_links_one_document_however_printed() -> None:
    a = protocol.national_pseudonym(KEY, DocumentRef("uto", "L898 902C3<"))
    b = protocol.national_pseudonym(KEY, DocumentRef("UTO", "L898902C3", "PM"))
    assert a == b and len(a) == 64
    assert a != protocol.national_pseudonym(KEY, DocumentRef("UTO", "L898902C4"))
    assert a != protocol.national_pseudonym(bytes(32), DocumentRef("UTO", "L898902C3"))


def test_national_key_too_short_refused() -> None:
    with pytest.raises(ValueError):
        protocol.national_pseudonym(b"short", DocumentRef("UTO", "L898902C3"))
