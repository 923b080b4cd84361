"""SecurityInfos in EF.CardAccess, DG14 and EF.CardSecurity: ICAO vectors and real cards."""

from __future__ import annotations

import json

import pytest

from appliance.emrtd.lds import card_access, card_security, dg14
from appliance.emrtd.lds import security_infos as si
from appliance.emrtd.protocol import tlv
from appliance.errors import LdsError, Reason
from tests.support.data_support import ICAO_VECTORS
from tests.support.data_support import REAL_SOD as REAL

VECTORS = json.loads(ICAO_VECTORS.read_text())

# An AlgorithmIdentifier naming standardized domain parameters 13 (brainpoolP256r1)
STD_PARAMS_13 = bytes.fromhex("300c060704007f0007010202010d")
EC_SPKI = bytes.fromhex(
    "3059301306072a8648ce3d020106082a8648ce3d03010703420004" + "11" * 32 + "22" * 32
)


def _set_of(*infos: str) -> bytes:
    return tlv.encode(0x31, b"".join(bytes.fromhex(i) for i in infos))


def test_icao_g1_pace_info() -> None:
    """ICAO 9303-11 G.1: ECDH generic mapping, AES-128, brainpoolP256r1."""
    info_der = bytes.fromhex(
        VECTORS["pace_g1_ecdh_gm_brainpoolp256r1"]["values"]["pace_info"]["value"]
    )
    model = card_access.parse(tlv.encode(0x31, info_der))
    (pace,) = model.pace_infos
    assert pace.protocol == "0.4.0.127.0.7.2.2.4.2.2"
    assert (pace.mapping, pace.key_agreement, pace.cipher) == (
        si.Mapping.GM,
        si.KeyAgreement.ECDH,
        si.Cipher.AES_128,
    )
    assert (pace.version, pace.parameter_id, pace.domain_parameters) == (2, 13, "brainpoolP256r1")
    assert card_access.encode(model) == tlv.encode(0x31, info_der)


def test_icao_g2_pace_info() -> None:
    """ICAO 9303-11 G.2: DH generic mapping, AES-128, the 1024-bit MODP group (160-bit order)."""
    info_der = bytes.fromhex(VECTORS["pace_g2_dh_gm_1024_160"]["values"]["pace_info"]["value"])
    (pace,) = card_access.parse(tlv.encode(0x31, info_der)).pace_infos
    assert (pace.mapping, pace.key_agreement, pace.cipher) == (
        si.Mapping.GM,
        si.KeyAgreement.DH,
        si.Cipher.AES_128,
    )
    assert (pace.parameter_id, pace.domain_parameters) == (0, "modp1024_160")


@pytest.mark.parametrize(
    ("mapping", "agreement", "cipher", "oid"),
    [
        (si.Mapping.GM, si.KeyAgreement.DH, si.Cipher.TDES, "0.4.0.127.0.7.2.2.4.1.1"),
        (si.Mapping.GM, si.KeyAgreement.ECDH, si.Cipher.AES_256, "0.4.0.127.0.7.2.2.4.2.4"),
        (si.Mapping.IM, si.KeyAgreement.DH, si.Cipher.AES_192, "0.4.0.127.0.7.2.2.4.3.3"),
        (si.Mapping.IM, si.KeyAgreement.ECDH, si.Cipher.AES_128, "0.4.0.127.0.7.2.2.4.4.2"),
        (si.Mapping.CAM, si.KeyAgreement.ECDH, si.Cipher.AES_256, "0.4.0.127.0.7.2.2.4.6.4"),
    ],
)
def test_pace_protocol_oids(
    mapping: si.Mapping, agreement: si.KeyAgreement, cipher: si.Cipher, oid: str
) -> None:
    assert si.pace_oid(mapping, agreement, cipher) == oid
    pace = si.PaceInfo(oid, 2, 12)
    assert (pace.mapping, pace.key_agreement, pace.cipher) == (mapping, agreement, cipher)


def test_cam_has_no_3des_suite() -> None:
    with pytest.raises(ValueError):
        si.pace_oid(si.Mapping.CAM, si.KeyAgreement.ECDH, si.Cipher.TDES)
    # ...so such an OID is not a PACEInfo but an unknown info, which a reader will not pick
    model = si.parse(_set_of("3012060a04007f00070202040601020102020110"))
    assert isinstance(model.infos[0], si.UnknownSecurityInfo)


@pytest.mark.parametrize("country", ["DE", "FI"])
def test_real_card_security(country: str) -> None:
    data = (REAL / f"{country}.cardsecurity").read_bytes()
    model = card_security.parse(data)
    infos = model.security_infos
    assert {p.mapping for p in infos.pace_infos} == {si.Mapping.GM, si.Mapping.CAM}
    assert infos.chip_authentication_public_keys
    for key in infos.chip_authentication_public_keys:
        assert key.key_agreement is si.KeyAgreement.ECDH and key.public_key[:1] == b"\x30"
    assert card_security.encode(model) == data
    # The signed content re-encodes to the very bytes the document signer signed.
    from appliance.emrtd.lds.sod import SECURITY_OBJECT_OID, encapsulated_content

    assert si.encode(infos) == encapsulated_content(data, SECURITY_OBJECT_OID)


def test_de_card_security_details() -> None:
    infos = card_security.parse((REAL / "DE.cardsecurity").read_bytes()).security_infos
    (ta,) = infos.terminal_authentication_infos
    assert ta.version == 2 and ta.ef_cvca is None
    (ca,) = infos.chip_authentication_infos
    assert (ca.key_agreement, ca.cipher, ca.version, ca.key_id) == (
        si.KeyAgreement.ECDH,
        si.Cipher.AES_128,
        2,
        0x48,
    )
    (domain,) = [i for i in infos.infos if isinstance(i, si.ChipAuthenticationDomainParameterInfo)]
    assert domain.domain_parameter == STD_PARAMS_13 and domain.key_id == 0x48


def test_every_info_type_round_trips_through_dg14() -> None:
    model = dg14.Dg14(
        si.SecurityInfos(
            (
                si.PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),
                si.PaceInfo("0.4.0.127.0.7.2.2.4.1.1", 2),
                si.PaceDomainParameterInfo("0.4.0.127.0.7.2.2.4.2", STD_PARAMS_13, 5),
                si.ChipAuthenticationInfo("0.4.0.127.0.7.2.2.3.2.4", 1),
                si.ChipAuthenticationDomainParameterInfo("0.4.0.127.0.7.2.2.3.2", STD_PARAMS_13),
                si.ChipAuthenticationPublicKeyInfo("0.4.0.127.0.7.2.2.1.2", EC_SPKI, 7),
                si.ActiveAuthenticationInfo("2.23.136.1.1.5", 1, "0.4.0.127.0.7.1.1.4.1.3"),
                si.TerminalAuthenticationInfo(
                    "0.4.0.127.0.7.2.2.2", 1, bytes.fromhex("300404020101")
                ),
                si.UnknownSecurityInfo("1.2.3.4", bytes.fromhex("300806032a0304020101")),
            )
        )
    )
    data = dg14.encode(model)
    assert data[:1] == b"\x6e"
    assert dg14.parse(data) == model
    infos = dg14.parse(data).security_infos
    assert infos.active_authentication_info == model.security_infos.infos[6]
    assert infos.pace_domain_parameter_infos[0].mapping is si.Mapping.GM
    assert infos.chip_authentication_infos[0].cipher is si.Cipher.AES_256


@pytest.mark.parametrize(
    ("infos", "why"),
    [
        ((), "empty set"),
        (("3011060a04007f0007020204020204023032",), "PACE version not an INTEGER"),
        (("300a060667810801010502 0101".replace(" ", ""),), "AA without signature algorithm"),
        (("3012060a04007f000702020402020201fe020100",), "negative version"),
        (("0201 02".replace(" ", ""),), "info not a SEQUENCE"),
        (("3012060a04007f00070202040202020102020100ff",), "trailing byte in info"),
    ],
)
def test_malformed_infos(infos: tuple[str, ...], why: str) -> None:
    with pytest.raises(LdsError) as info:
        si.parse(_set_of(*infos))
    assert info.value.reason is Reason.LDS_MALFORMED, why


def test_card_access_must_be_a_set() -> None:
    with pytest.raises(LdsError):
        card_access.parse(bytes.fromhex("3012060A04007F0007020204020202010202010D"))


def test_dg14_needs_tag_6e() -> None:
    with pytest.raises(LdsError):
        dg14.parse(bytes.fromhex("6f1431123012060A04007F0007020204020202010202010D"))
