"""DG5/DG7 displayed images, DG11/DG12 additional details, DG15 Active Authentication key."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from asn1crypto import keys
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from ecdsa import curves as ecdsa_curves

from appliance.emrtd.lds import dg5, dg7, dg11, dg12, dg15
from appliance.emrtd.lds.images import ImageFormat
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason


@pytest.fixture(scope="module")
def signature_jpeg() -> bytes:
    image = np.full((60, 200), 255, np.uint8)
    cv2.line(image, (10, 40), (190, 20), 0, 3)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data)


def test_dg7_round_trip(signature_jpeg: bytes) -> None:
    model = dg7.Dg7((signature_jpeg,))
    data = dg7.encode(model)
    assert data.startswith(b"\x67") and b"\x02\x01\x01\x5f\x43" in data
    parsed = dg7.parse(data)
    assert parsed == model and parsed.formats == (ImageFormat.JPEG,)
    assert "\\xff" not in repr(parsed)  # image bytes stay out of reprs and logs


def test_dg5_two_portraits(signature_jpeg: bytes) -> None:
    model = dg5.Dg5((signature_jpeg, signature_jpeg))
    assert dg5.parse(dg5.encode(model)) == model


def test_dg7_count_and_tags_are_checked(signature_jpeg: bytes) -> None:
    good = dg7.encode(dg7.Dg7((signature_jpeg,)))
    with pytest.raises(LdsError):
        dg7.parse(good.replace(b"\x02\x01\x01", b"\x02\x01\x02", 1))
    with pytest.raises(LdsError):
        dg7.parse(dg5.encode(dg5.Dg5((signature_jpeg,))))  # 65/5F40 is not DG7
    not_an_image = tlv.encode(0x67, bytes.fromhex("020101") + tlv.encode(0x5F43, b"GIF89a"))
    with pytest.raises(LdsError):
        dg7.parse(not_an_image)


DG11 = dg11.Dg11(
    full_name="ERIKSSON<<ANNA<MARIA",
    other_names=("SVENSSON<<ANNA", "ÖSTERGÅRD<<ANNA"),
    personal_number="123456789",
    full_date_of_birth="19740812",
    place_of_birth="ZENITH,UTOPIA",
    address="1 MAIN STREET<ANYTOWN",
    telephone="+1 555 0100",
    profession="ENGINEER",
    title="DR",
    personal_summary="NONE",
    proof_of_citizenship=b"\xff\xd8\xff\xe0fake",
    other_td_numbers="D23145890<X1234567",
    custody_information="NONE",
)


def test_dg11_round_trip_every_field() -> None:
    data = dg11.encode(DG11)
    assert dg11.parse(data) == DG11
    assert "ERIKSSON" not in repr(dg11.parse(data))


def test_dg11_known_encoding() -> None:
    """ICAO 9303-10 DG11 layout: 5C lists 5F0F for the A0 group of other names."""
    data = bytes.fromhex(
        "6B235C045F0E5F0F5F0E08" + b"DOE<<JOE".hex() + "A0100201015F0F0A" + b"ROE<<JOHNY".hex()
    )
    model = dg11.parse(data)
    assert model.full_name == "DOE<<JOE" and model.other_names == ("ROE<<JOHNY",)
    assert dg11.encode(model) == data


def test_dg11_tag_list_must_match() -> None:
    elements = tlv.encode(0x5F0E, b"DOE<<JOE") + tlv.encode(0x5F13, b"PILOT")
    for listed in ("5F0E", "5F0E5F135F14", "5F0E5F135F13"):
        with pytest.raises(LdsError):
            dg11.parse(tlv.encode(0x6B, tlv.encode(0x5C, bytes.fromhex(listed)) + elements))
    good = tlv.encode(0x6B, tlv.encode(0x5C, bytes.fromhex("5F0E5F13")) + elements)
    assert dg11.parse(good).profession == "PILOT"


def test_dg11_bcd_date_and_unknown_elements() -> None:
    body = tlv.encode(0x5C, bytes.fromhex("5F2B5F7F")) + tlv.encode(0x5F2B, b"\x19\x74\x08\x12")
    body += tlv.encode(0x5F7F, b"x")
    model = dg11.parse(tlv.encode(0x6B, body))
    assert model.full_date_of_birth == "19740812" and model.other == ((0x5F7F, b"x"),)


def test_dg11_rejects_non_utf8_and_bad_dates() -> None:
    bad_text = tlv.encode(0x5C, bytes.fromhex("5F0E")) + tlv.encode(0x5F0E, b"\xff\xfe")
    bad_date = tlv.encode(0x5C, bytes.fromhex("5F2B")) + tlv.encode(0x5F2B, b"1974-8-1")
    for body in (bad_text, bad_date):
        with pytest.raises(LdsError) as info:
            dg11.parse(tlv.encode(0x6B, body))
        assert info.value.reason is Reason.LDS_MALFORMED


DG12 = dg12.Dg12(
    issuing_authority="UTOPIA PASSPORT OFFICE",
    date_of_issue="20240115",
    other_persons=("ERIKSSON<<LARS",),
    endorsements="NONE",
    tax_exit_requirements="NONE",
    image_of_front=b"\xff\xd8\xff\xe0front",
    image_of_rear=b"\xff\xd8\xff\xe0rear",
    personalisation_time="20240110093000",
    personaliser_serial="PS-0042",
)


def test_dg12_round_trip_every_field() -> None:
    data = dg12.encode(DG12)
    assert data.startswith(b"\x6c")
    parsed = dg12.parse(data)
    assert parsed == DG12
    # A0 group listed as 5F1A right after issuing authority and date of issue
    listed = tlv.parse_tag_list(tlv.parse_all(tlv.parse_one(data).value)[0].value)
    assert listed[:3] == [0x5F19, 0x5F26, 0x5F1A]


def test_dg12_accepts_a0_in_tag_list() -> None:
    group = tlv.encode(0xA0, bytes.fromhex("020101") + tlv.encode(0x5F1A, b"DOE<<JANE"))
    body = tlv.encode(0x5C, bytes.fromhex("A0")) + group
    assert dg12.parse(tlv.encode(0x6C, body)).other_persons == ("DOE<<JANE",)


def test_dg12_personalisation_time_needs_14_digits() -> None:
    body = tlv.encode(0x5C, bytes.fromhex("5F55")) + tlv.encode(0x5F55, b"202401100930")
    with pytest.raises(LdsError):
        dg12.parse(tlv.encode(0x6C, body))


def _spki(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_dg15_rsa() -> None:
    key = rsa.generate_private_key(65537, 1024).public_key()
    model = dg15.parse(tlv.encode(0x6F, _spki(key)))
    assert model.algorithm == "rsa" and model.curve is None
    loaded = model.public_key()
    assert isinstance(loaded, rsa.RSAPublicKey) and loaded.public_numbers() == key.public_numbers()
    assert dg15.encode(model) == tlv.encode(0x6F, _spki(key))


def test_dg15_named_ec() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    model = dg15.parse(dg15.encode(dg15.Dg15(_spki(key), "ec", "brainpoolp256r1")))
    assert model.curve == "brainpoolp256r1"
    loaded = model.public_key()
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    assert loaded.public_numbers() == key.public_numbers()


def _explicit_spki(key: ec.EllipticCurvePublicKey) -> bytes:
    curve = ecdsa_curves.BRAINPOOLP256r1
    size = curve.baselen
    g = curve.generator
    domain = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": curve.curve.p()},
            "curve": {
                "a": curve.curve.a().to_bytes(size, "big"),
                "b": curve.curve.b().to_bytes(size, "big"),
            },
            "base": b"\x04" + g.x().to_bytes(size, "big") + g.y().to_bytes(size, "big"),
            "order": curve.order,
            "cofactor": 1,
        }
    )
    point = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": ("specified", domain)},
            "public_key": point,
        }
    ).dump()


def test_dg15_explicit_parameter_ec_key_is_kept_raw() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    spki = _explicit_spki(key)
    model = dg15.parse(tlv.encode(0x6F, spki))
    assert (model.algorithm, model.curve, model.public_key()) == ("ec", None, None)
    assert model.public_key_info == spki


def test_dg15_rejects_bad_keys() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = bytearray(_spki(key))
    spki[-1] ^= 0x01  # the point leaves the curve
    with pytest.raises(LdsError) as info:
        dg15.parse(tlv.encode(0x6F, bytes(spki)))
    assert info.value.reason is Reason.LDS_MALFORMED
    ed = bytes.fromhex("302a300506032b6570032100" + "00" * 32)  # Ed25519: not an AA key type
    with pytest.raises(LdsError) as info:
        dg15.parse(tlv.encode(0x6F, ed))
    assert info.value.reason is Reason.LDS_UNSUPPORTED
