"""EF.COM and DG1: the ICAO Appendix D EF.COM, every MRZ layout, exact round trips."""

from __future__ import annotations

import json

import pytest

from appliance.emrtd.lds import com, dg1
from appliance.errors import LdsError, Reason
from tests.support.data_support import ICAO_VECTORS

VECTORS = json.loads(ICAO_VECTORS.read_text())

TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)


def test_appendix_d_ef_com() -> None:
    data = bytes.fromhex(VECTORS["bac_appendix_d"]["values"]["ef_com_plain"]["value"])
    model = com.parse(data)
    assert model == com.EfCom(lds_version="0106", unicode_version="040000", data_groups=(1, 2))
    assert model.lds_version_text == "1.6"
    assert com.encode(model) == data


def test_com_lists_every_data_group_in_order() -> None:
    model = com.EfCom("0108", "040000", (1, 2, 3, 7, 11, 12, 14, 15, 16))
    assert com.parse(com.encode(model)) == model


@pytest.mark.parametrize(
    "hex_data",
    [
        "60145F0104303130365F36063034303030305C026199",  # 99 is no DG tag
        "60145F0104303130365F36063034303030305C026161",  # DG1 twice
        "600F5F36063034303030305C026175",  # no LDS version
        "60145F0104303130415F36063034303030305C026175",  # "010A" is not digits
        "61145F0104303130365F36063034303030305C026175",  # wrong outer tag
        "60145F0104303130365F36063034303030305C02617500",  # trailing byte
    ],
)
def test_com_rejects_malformed(hex_data: str) -> None:
    with pytest.raises(LdsError) as info:
        com.parse(bytes.fromhex(hex_data))
    assert info.value.reason is Reason.LDS_MALFORMED


@pytest.mark.parametrize(("lines", "layout"), [(TD1, "TD1"), (TD2, "TD2"), (TD3, "TD3")])
def test_dg1_round_trip_every_layout(lines: tuple[str, ...], layout: str) -> None:
    data = dg1.encode_lines(lines)
    assert data[:1] == b"\x61" and b"\x5f\x1f" in data
    model = dg1.parse(data)
    assert model.lines == lines
    assert model.layout == layout
    assert dg1.encode(model) == data


def test_dg1_known_encoding() -> None:
    mrz = "".join(TD3).encode()
    data = bytes([0x61, 0x5B, 0x5F, 0x1F, 0x58]) + mrz
    assert dg1.parse(data).lines == TD3


@pytest.mark.parametrize(
    "mrz",
    [b"P<UTO" * 10, "".join(TD3).lower().encode(), "".join(TD3).replace("<", " ").encode()],
)
def test_dg1_rejects_bad_mrz(mrz: bytes) -> None:
    data = bytes([0x61, len(mrz) + 3, 0x5F, 0x1F, len(mrz)]) + mrz
    with pytest.raises(LdsError):
        dg1.parse(data)


def test_dg1_encoder_refuses_lines_of_the_wrong_width() -> None:
    with pytest.raises(LdsError):
        dg1.encode_lines((TD3[0][:40], TD3[1] + "<<<<"))


@pytest.mark.parametrize(("lines", "layout"), [(TD1, "TD1"), (TD2, "TD2"), (TD3, "TD3")])
def test_dg1_fields_come_from_the_mrz_parser(lines: tuple[str, ...], layout: str) -> None:
    result = dg1.parse(dg1.encode_lines(lines)).fields()
    assert result.valid and result.format is not None and result.format.value == layout
    assert result.fields is not None
    assert result.fields.surname == "ERIKSSON" and result.fields.given_names == "ANNA MARIA"
    assert result.fields.date_of_birth == "740812"


def test_dg1_bad_check_digit_is_a_finding_not_an_error() -> None:
    broken = (TD3[0], TD3[1][:9] + "7" + TD3[1][10:])
    result = dg1.parse(dg1.encode_lines(broken)).fields()
    assert not result.valid
    assert Reason.MRZ_CHECK_DIGIT in {issue.reason for issue in result.errors}


def test_dg1_keeps_the_mrz_out_of_repr() -> None:
    assert "ERIKSSON" not in repr(dg1.parse(dg1.encode_lines(TD3)))
