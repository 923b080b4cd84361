"""Property tests: whatever bytes a chip (or an attacker's chip) returns, the TLV codec and every
LDS parser answer with a model or `LdsError` (LDS_MALFORMED / LDS_UNSUPPORTED), nothing else."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.emrtd.lds import (
    FILE_NAMES,
    com,
    dg1,
    dg2,
    dg7,
    dg11,
    dg12,
    dg14,
    dg15,
    encode_file,
    parse_file,
    raw_data_group,
)
from appliance.emrtd.lds import security_infos as si
from appliance.emrtd.lds.data_groups import DG_TAGS
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason
from tests.support.data_support import REAL_SOD as REAL

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_REASONS = {Reason.LDS_MALFORMED, Reason.LDS_UNSUPPORTED}
#: a mutated header may declare a decompression bomb: refused by its size before decoding
_IMAGE_REASONS = {*_REASONS, Reason.IMAGE_TOO_LARGE}


def _jpeg() -> bytes:
    image = np.zeros((40, 32, 3), np.uint8)
    image[10:30, 8:24] = (40, 120, 200)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data)


def _samples() -> dict[str, bytes]:
    jpeg = _jpeg()
    infos = si.SecurityInfos(
        (
            si.PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),
            si.ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.2", 1, 1),
            si.ActiveAuthenticationInfo("2.23.136.1.1.5", 1, "0.4.0.127.0.7.1.1.4.1.3"),
        )
    )
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    samples = {
        "EF_COM.bin": com.encode(com.EfCom("0108", "040000", (1, 2, 11, 12, 14, 15))),
        "EF_CardAccess.bin": si.encode(infos),
        "EF_CardSecurity.bin": (REAL / "DE.cardsecurity").read_bytes(),
        "EF_SOD.bin": (REAL / "UK.sod").read_bytes(),
        "DG1.bin": dg1.encode_lines(
            (
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
            )
        ),
        "DG2.bin": dg2.encode(dg2.for_image(jpeg)),
        "DG7.bin": dg7.encode(dg7.Dg7((jpeg,))),
        "DG11.bin": dg11.encode(dg11.Dg11(full_name="A<<B", other_names=("C<<D",), title="X")),
        "DG12.bin": dg12.encode(dg12.Dg12("AUTH", "20240101", ("E<<F",))),
        "DG14.bin": dg14.encode(dg14.Dg14(infos)),
        "DG15.bin": dg15.encode(dg15.Dg15(spki, "ec", "secp256r1")),
        "DG3.bin": raw_data_group.encode(raw_data_group.RawDataGroup(3, b"\x7f\x61\x00")),
    }
    samples["DG2_39794.bin"] = dg2.encode(dg2.for_image(jpeg, "39794-5"))
    return samples


SAMPLES = _samples()


def _parse(name: str, data: bytes) -> None:
    try:
        parse_file(name.replace("_39794", ""), data)
    except LdsError as exc:
        assert exc.reason in _REASONS


def test_samples_parse_and_round_trip() -> None:
    for name, data in SAMPLES.items():
        real_name = name.replace("_39794", "")
        assert encode_file(real_name, parse_file(real_name, data)) == data, name


def test_registry_names() -> None:
    assert "EF_COM.bin" in FILE_NAMES and "DG16.bin" in FILE_NAMES and len(FILE_NAMES) == 20
    assert isinstance(parse_file("DG3", SAMPLES["DG3.bin"]), raw_data_group.RawDataGroup)
    for bad in ("DG0.bin", "DG17.bin", "EF_DIR.bin", "../DG1.bin"):
        with pytest.raises(LdsError) as info:
            parse_file(bad, b"")
        assert info.value.reason is Reason.LDS_UNSUPPORTED


@st.composite
def mutations(draw: st.DrawFn, sample: bytes) -> bytes:
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        # half of the edits land in the first bytes, where the structure lives
        limit = len(data) - 1 if draw(st.booleans()) else min(len(data) - 1, 160)
        pos = draw(st.integers(0, max(limit, 0)))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF]))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 4))]
        else:
            del data[pos:]
    return bytes(data)


_TAG_POOL = [
    0x02, 0x04, 0x05, 0x06, 0x30, 0x31, 0x5C, 0x5F0E, 0x5F0F, 0x5F1F, 0x5F2B, 0x5F43, 0x65,
    0x7F60, 0x7F61, 0x7F2E, 0x5F2E, 0xA0, 0xA1, 0xA7, 0x80, 0x81, 0x87, 0x88,
]  # fmt: skip

_tlv_trees = st.recursive(
    st.tuples(st.sampled_from(_TAG_POOL), st.binary(max_size=12)).map(lambda t: tlv.encode(*t)),
    lambda children: st.tuples(st.sampled_from(_TAG_POOL), st.lists(children, max_size=4)).map(
        lambda t: tlv.encode(t[0], b"".join(t[1]))
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("name", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_mutated_files_give_only_lds_errors(name: str, data: st.DataObject) -> None:
    _parse(name, data.draw(mutations(SAMPLES[name])))


@pytest.mark.parametrize("name", FILE_NAMES)
@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_give_only_lds_errors(name: str, raw: bytes) -> None:
    _parse(name, raw)


PARSED_FILES = [n for n in FILE_NAMES if n.startswith("EF") or n in SAMPLES]


@pytest.mark.parametrize("name", PARSED_FILES)
@FUZZ
@given(body=st.lists(_tlv_trees, max_size=4))
def test_random_tlv_structures_give_only_lds_errors(name: str, body: list[bytes]) -> None:
    """Well-framed TLV trees under the file's own outer tag reach the deeper checks."""
    outer = {"EF_COM.bin": 0x60, "EF_SOD.bin": 0x77}.get(name)
    if name.startswith("DG"):
        outer = DG_TAGS[int(name[2:-4])]
    content = b"".join(body)
    _parse(name, tlv.encode(outer, content) if outer else tlv.encode(0x31, content))


@FUZZ
@given(data=st.data())
def test_mutated_face_images_decode_or_give_lds_error(data: st.DataObject) -> None:
    face = dg2.parse(SAMPLES["DG2.bin"]).face
    mutated = data.draw(mutations(face.data))
    try:
        dg2.FaceImage(face.format, mutated, face.width, face.height).decode()
    except LdsError as exc:
        assert exc.reason in _IMAGE_REASONS


# --- the TLV codec itself ---

_tags = st.one_of(
    st.integers(0x01, 0xFE).filter(lambda t: t & 0x1F != 0x1F),
    st.tuples(st.sampled_from([0x5F, 0x7F, 0x9F, 0xBF]), st.integers(0x00, 0x7F)).map(
        lambda t: (t[0] << 8) | t[1]
    ),
    st.tuples(st.integers(0x80, 0xFF), st.integers(0x00, 0x7F)).map(
        lambda t: 0x5F0000 | (t[0] << 8) | t[1]
    ),
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.tuples(_tags, st.binary(max_size=300)), max_size=6))
def test_tlv_round_trip(items: list[tuple[int, bytes]]) -> None:
    encoded = tlv.encode_all(items)
    parsed = tlv.parse_all(encoded)
    assert [(t.tag, t.value) for t in parsed] == items
    assert sum(t.size for t in parsed) == len(encoded)
    assert tlv.parse_tag_list(tlv.encode_tag_list([tag for tag, _ in items])) == [
        tag for tag, _ in items
    ]


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=64))
def test_tlv_arbitrary_bytes(raw: bytes) -> None:
    for call in (tlv.parse_all, tlv.parse_tag_list, tlv.header_size):
        try:
            call(raw)
        except LdsError as exc:
            assert exc.reason is Reason.LDS_MALFORMED


def test_tlv_long_lengths() -> None:
    value = bytes(70000)
    encoded = tlv.encode(0x5F2E, value)
    assert encoded[:5] == bytes.fromhex("5F2E830111")
    assert tlv.parse_exact(encoded, 0x5F2E, "x").value == value
    assert tlv.header_size(encoded) == (6, 70000)
    assert hashlib.sha256(tlv.parse_one(encoded).value).digest() == hashlib.sha256(value).digest()
