"""EF.SOD: real SODs from nine countries, LDSSecurityObject v0/v1, exact re-encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import cms

from appliance.emrtd.lds import sod
from appliance.errors import LdsError, Reason
from tests.support.data_support import REAL_SOD

REAL_SODS = sorted(REAL_SOD.glob("*.sod"))


def test_nine_countries_present() -> None:
    assert len(REAL_SODS) == 9


@pytest.mark.parametrize("path", REAL_SODS, ids=lambda p: p.stem)
def test_real_sod_parses_and_re_encodes_exactly(path: Path) -> None:
    data = path.read_bytes()
    model = sod.parse(data)
    so = model.security_object
    assert so.hash_algorithm in {"sha1", "sha224", "sha256", "sha384", "sha512"}
    assert {1, 2} <= set(so.dg_hashes)
    assert all(len(d) == hashlib.new(so.hash_algorithm).digest_size for d in so.dg_hashes.values())
    assert (so.version == 1) == (so.lds_version is not None)
    # The model holds everything that was signed: re-encoding gives the signed bytes back.
    assert sod.encode_security_object(so) == sod.encapsulated_content(model.content_info)
    assert sod.encode(model) == data


def test_real_sod_versions_and_algorithms() -> None:
    by_country = {p.stem: sod.parse(p.read_bytes()).security_object for p in REAL_SODS}
    assert by_country["DE"].version == 1 and by_country["DE"].hash_algorithm == "sha384"
    assert by_country["DE"].lds_version == "0108" and by_country["DE"].unicode_version == "040000"
    assert by_country["RU"].version == 0 and by_country["RU"].hash_algorithm == "sha1"
    assert by_country["FI"].hash_algorithm == "sha512"
    assert by_country["AT"].hash_parameters_null and not by_country["UK"].hash_parameters_null


def test_unwrap_matches_asn1crypto_view() -> None:
    data = REAL_SODS[0].read_bytes()
    info = cms.ContentInfo.load(sod.unwrap_sod(data))
    econtent = info["content"]["encap_content_info"]["content"].contents
    assert sod.encapsulated_content(sod.unwrap_sod(data)) == econtent


def _security_object(**overrides: object) -> sod.LdsSecurityObject:
    fields: dict[str, object] = {
        "hash_algorithm": "sha256",
        "dg_hashes": {1: hashlib.sha256(b"dg1").digest(), 2: hashlib.sha256(b"dg2").digest()},
    }
    fields.update(overrides)
    return sod.LdsSecurityObject(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model",
    [
        _security_object(),
        _security_object(version=1, lds_version="0108", unicode_version="040000"),
        _security_object(hash_parameters_null=True),
        _security_object(
            hash_algorithm="sha1", dg_hashes={n: bytes([n]) * 20 for n in range(1, 17)}
        ),
    ],
)
def test_security_object_round_trip(model: sod.LdsSecurityObject) -> None:
    assert sod.parse_security_object(sod.encode_security_object(model)) == model


def test_hash_length_must_match_algorithm() -> None:
    der = sod.encode_security_object(_security_object(dg_hashes={1: b"\0" * 20, 2: b"\0" * 32}))
    with pytest.raises(LdsError) as info:
        sod.parse_security_object(der)
    assert info.value.reason is Reason.LDS_MALFORMED


def test_v1_needs_version_info() -> None:
    der = sod.encode_security_object(
        _security_object(version=1, lds_version="0108", unicode_version="040000")
    )
    v0_with_info = der.replace(b"\x02\x01\x01", b"\x02\x01\x00", 1)
    with pytest.raises(LdsError):
        sod.parse_security_object(v0_with_info)


def test_unknown_hash_algorithm_is_unsupported() -> None:
    der = sod.encode_security_object(_security_object())
    md5_like = der.replace(bytes.fromhex("608648016503040201"), bytes.fromhex("2a864886f70d020505"))
    with pytest.raises(LdsError) as info:
        sod.parse_security_object(md5_like)
    assert info.value.reason is Reason.LDS_UNSUPPORTED


def test_wrong_content_type_is_refused() -> None:
    card_security = (REAL_SOD / "DE.cardsecurity").read_bytes()
    with pytest.raises(LdsError):
        sod.encapsulated_content(card_security)
    assert sod.encapsulated_content(card_security, sod.SECURITY_OBJECT_OID)[:1] == b"\x31"


def test_ef_sod_needs_tag_77() -> None:
    with pytest.raises(LdsError):
        sod.parse(sod.unwrap_sod(REAL_SODS[0].read_bytes()))
