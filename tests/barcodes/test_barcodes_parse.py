"""Payload parsers: C40, ICAO VDS / BSI TR-03137, VDS-NC, IATA BCBP, EU DCC; bad input is a
reason, never a traceback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.barcodes import c40
from appliance.barcodes.model import Kind
from appliance.barcodes.payload import parse_payload
from appliance.errors import ApplianceError, Reason
from hardware_mocks import barcode_seals as bs
from tests.support.barcode_support import SIGNER, specimens

SPEC = specimens()


@pytest.mark.parametrize("text", sorted(SPEC["c40"]))
def test_c40_matches_the_bsi_examples(text: str) -> None:
    assert c40.encode(text).hex() == SPEC["c40"][text]
    assert c40.decode(bytes.fromhex(SPEC["c40"][text])) == text.replace("<", " ")


@pytest.mark.parametrize("raw", ["fe", "fe45fe45", "ffff", "0001", "fe3d"])
def test_c40_refuses_what_is_not_c40(raw: str) -> None:
    with pytest.raises(ApplianceError) as caught:
        c40.decode(bytes.fromhex(raw))
    assert caught.value.reason is Reason.SEAL_C40_INVALID


@given(st.text(alphabet=" 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=60))
def test_c40_round_trip(text: str) -> None:
    assert c40.decode(c40.encode(text)) == text


def _vds(name: str) -> dict[str, object]:
    symbol = parse_payload(bytes.fromhex(SPEC["vds"][name]), "datamatrix")
    assert (symbol.kind, symbol.reason) == (Kind.ICAO_VDS, Reason.OK)
    return symbol.fields


def test_bsi_visa_specimen() -> None:
    fields = _vds("bsi_tr03137_annex_f_visa")
    assert fields["document_type"] == "visa"
    assert (fields["version"], fields["signer_reference"]) == (4, "DETS32")
    assert (fields["issuing_date"], fields["signing_date"]) == ("2020-01-01", "2021-12-03")
    assert fields["passport_number"] == "47110815P"
    assert fields["duration_of_stay"] == {"days": 160, "months": 0, "years": 0}
    assert (fields["surname"], fields["given_names"]) == ("DENT", "ARTHUR PHILIP")
    assert (fields["document_number"], fields["date_of_birth"]) == ("1234567XY", "1952-03-11")
    assert fields["mrz"]["format"] == "MRV-B" and fields["mrz"]["status"] == "pass"  # type: ignore[index]


def test_bsi_arrival_attestation_specimen_version_3() -> None:
    fields = _vds("bsi_tr03137_annex_c_arrival_attestation")
    assert fields["document_type"] == "arrival_attestation"
    assert (fields["version"], fields["signer_identifier"]) == (3, "DETS")
    assert fields["certificate_reference"] == "00027"
    assert fields["azr"] == "160113000085"
    assert fields["surname"] == "MUSTERMANN" and fields["nationality"] == "ALB"


def test_bsi_residence_permit_and_social_insurance_specimens() -> None:
    permit = _vds("bsi_tr03137_annex_e_residence_permit")
    assert (permit["document_type"], permit["passport_number"]) == ("residence_permit", "UFO001979")
    card = _vds("bsi_tr03137_annex_d_social_insurance_card")
    assert card["surname"] == "Perschweiß" and card["birth_name"] == "Jâcobénidicturius"
    assert card["social_insurance_number"] == "65170839J003"


def test_generated_supplementary_sheet() -> None:
    symbol = parse_payload(bs.make_vds(SIGNER, "residence_permit_supplementary_sheet"))
    assert symbol.fields["document_type"] == "residence_permit_supplementary_sheet"
    assert symbol.fields["sheet_number"] == "AB1234567"
    assert symbol.fields["mrz"]["format"] == "TD2"


def test_bcbp_resolution_792_examples() -> None:
    one = parse_payload(SPEC["bcbp"]["iata_res792_attachment_b_example_1"].encode(), "pdf417")
    assert (one.kind, one.reason) == (Kind.BCBP, Reason.OK)
    assert one.fields["passenger_name"] == "DESMARAIS/LUC"
    (leg,) = one.fields["legs"]
    assert (leg["from_airport"], leg["to_airport"], leg["flight_number"]) == ("YUL", "FRA", "834")
    assert one.fields["security_data_type"] == "1" and one.signed is not None
    two = parse_payload(SPEC["bcbp"]["iata_res792_attachment_b_example_2"].encode(), "aztec")
    assert two.reason is Reason.OK and two.fields["version"] == "6"
    first, second = two.fields["legs"]
    expected_keys = {
        "pnr", "from_airport", "to_airport", "carrier", "flight_number", "flight_day",
        "compartment", "seat", "checkin_sequence", "passenger_status",
    }  # fmt: skip
    assert expected_keys <= set(first) and expected_keys <= set(second)
    assert (second["carrier"], second["seat"], second["flight_day"]) == ("LH", "012C", 227)
    assert first["frequent_flyer_number"] == "1234567890123" and first["airline_data"] == "LX58Z"
    assert two.fields["boarding_pass_issuer"] == "AC"


def test_vdsnc_and_hc1_fields() -> None:
    nc = parse_payload(bs.make_vdsnc(SIGNER), "qrcode")
    assert (nc.kind, nc.fields["vdsnc_type"], nc.fields["uvci"]) == (
        Kind.VDS_NC,
        "icao.vacc",
        "U32870",
    )
    assert nc.fields["name"] == "Smith Bill" and nc.fields["document_number"] == "A1234567Z"
    dcc = parse_payload(bs.make_hc1(SIGNER).encode(), "qrcode")
    assert (dcc.kind, dcc.reason) == (Kind.EU_DCC, Reason.OK)
    assert dcc.fields["surname"] == "Musterfrau" and dcc.fields["document_type"] == "vaccination"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xdc\x09" + bytes(30), Reason.SEAL_VERSION_UNSUPPORTED),
        (b"\xdc\x03\x6a", Reason.BARCODE_MALFORMED),
        (b"hello world", Reason.BARCODE_UNKNOWN_KIND),
        (b"M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 1", Reason.BARCODE_MALFORMED),
        (b"HC1:%%%", Reason.BARCODE_MALFORMED),
        (b"HC1:" + b"6BF" * 3, Reason.BARCODE_MALFORMED),
        (b'{"data": {"hdr": 1}, "sig": 2}', Reason.BARCODE_MALFORMED),
    ],
)
def test_malformed_payloads_have_their_reason(payload: bytes, reason: Reason) -> None:
    assert parse_payload(payload).reason is reason


def test_wrong_c40_in_a_seal_feature() -> None:
    good = bytearray(bs.make_vds(SIGNER))
    header_end = 18  # version 4, 2-character reference: 18 header bytes
    good[header_end + 2] = 0xFF  # first MRZ byte: 0xFF.. is beyond C40's 64000 words
    assert parse_payload(bytes(good)).reason is Reason.SEAL_C40_INVALID


def test_unknown_document_type_keeps_raw_features() -> None:
    seal = bytearray(bs.make_vds(SIGNER))
    seal[16] = 0x42  # document feature definition reference of no known profile
    symbol = parse_payload(bytes(seal))
    assert symbol.reason is Reason.SEAL_DOCUMENT_TYPE_UNKNOWN
    assert "0x02" in symbol.fields["features"]


def test_feature_of_the_wrong_length() -> None:
    seal = bs.vds_header(SIGNER, 0xFD, 0x02) + bytes([0x03, 0x02]) + c40.encode("AB")
    assert parse_payload(seal).reason is Reason.SEAL_FEATURE_INVALID


@pytest.mark.parametrize(
    "payload",
    [
        bs.make_vds(SIGNER),
        bs.make_vds(SIGNER, "arrival_attestation", version=3),
        bs.make_vdsnc(SIGNER),
        bs.make_bcbp(SIGNER).encode(),
        bs.make_hc1(SIGNER).encode(),
    ],
)
def test_every_truncation_is_a_reason(payload: bytes) -> None:
    for end in range(len(payload)):
        symbol = parse_payload(payload[:end])
        assert isinstance(symbol.reason, Reason)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    for prefix in (b"", b"\xdc\x02", b"\xdc\x03", b"HC1:", b"M1"):
        assert isinstance(parse_payload(prefix + data).reason, Reason)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.integers(0, 255))
def test_fuzz_one_byte_changed_in_a_seal(index: int, value: int) -> None:
    seal = bytearray(bs.make_vds(SIGNER))
    seal[index % len(seal)] = value
    assert isinstance(parse_payload(bytes(seal)).reason, Reason)
