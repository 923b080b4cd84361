"""Full reads of the virtual chip by the product's reader (`appliance.emrtd.session`), in-process.

Every behaviour knob a real chip may show is switched on in turn; the reader must get through
each and the files it reads must be exactly the files the chip was personalised with.
"""

from __future__ import annotations

import pytest

from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.session import CanKey, ChipSession, MrzKey, ReaderOptions
from appliance.errors import ApplianceError, Reason
from hardware_mocks.virtual_chip import (
    PaceOption,
    TravellerProfile,
    VirtualCardTransport,
    make_chip,
    make_profile,
)
from hardware_mocks.virtual_chip.transport import SHORT_APDU_SIZE

SPECIMEN = make_profile()


def key_of(profile: TravellerProfile) -> MrzKey:
    return MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)


MRZ_KEY = key_of(SPECIMEN)


def read_everything(
    transport: VirtualCardTransport,
    key: MrzKey | CanKey = MRZ_KEY,
    options: ReaderOptions | None = None,
) -> tuple[ChipSession, dict[str, bytes]]:
    session = ChipSession(transport, key, options)
    with session:
        session.open()
        contents = session.read_all().contents
    return session, contents


def expected_files(profile: TravellerProfile, *, pace: bool) -> dict[str, bytes]:
    files = dict(profile.build_chip_files().by_name)
    if not pace:
        files.pop("EF_CardSecurity.bin", None)  # readable only after PACE
    return files


@pytest.mark.parametrize(
    "knobs",
    [
        {},
        {"max_read_size": 0x80, "extended_length": False},
        {"max_read_size": 0x41, "extended_length": False},
        {"max_read_size": 0x400},
        {"rejects_le_on_select": True},
        {"extended_length": False},
        {"announce_extended_length": False},
        {"strict_le": True, "extended_length": False},
        {"strict_le": True},
    ],
    ids=lambda knobs: ",".join(f"{k}={v}" for k, v in knobs.items()) or "default",
)
def test_pace_mrz_full_read_with_every_knob(knobs: dict[str, object]) -> None:
    transport = VirtualCardTransport(make_chip(**knobs))  # type: ignore[arg-type]
    session, contents = read_everything(transport)
    assert session.access is not None
    assert (session.access.protocol, session.access.cipher) == ("PACE", "AES-128")
    assert contents == expected_files(SPECIMEN, pace=True)


def test_pace_with_can() -> None:
    profile = make_profile(7)
    assert profile.can is not None
    session, contents = read_everything(
        VirtualCardTransport(make_chip(profile=profile)), CanKey(profile.can)
    )
    assert session.access is not None and session.access.protocol == "PACE"
    assert contents == expected_files(profile, pace=True)


def test_bac_only_chip_is_read_with_bac() -> None:
    transport = VirtualCardTransport(make_chip(bac_only=True))
    session, contents = read_everything(transport)
    assert session.access is not None
    assert (session.access.protocol, session.access.cipher) == ("BAC", "3DES")
    expected = expected_files(make_profile(pace_options=()), pace=False)
    assert contents == expected
    assert "EF_CardAccess.bin" not in contents


def test_bac_when_the_reader_is_told_not_to_prefer_pace() -> None:
    options = ReaderOptions(prefer_pace=False)
    session, contents = read_everything(VirtualCardTransport(make_chip()), options=options)
    assert session.access is not None and session.access.protocol == "BAC"
    expected = expected_files(SPECIMEN, pace=False)
    del expected["EF_CardAccess.bin"]  # only read to find PACE parameters
    assert contents == expected


def test_short_length_only_reader() -> None:
    transport = VirtualCardTransport(make_chip(), max_apdu=SHORT_APDU_SIZE)
    _, contents = read_everything(transport)
    assert contents == expected_files(SPECIMEN, pace=True)


@pytest.mark.parametrize(
    ("option", "cipher"),
    [
        (PaceOption.generic(cipher=CipherKind.TDES), "3DES"),
        (PaceOption.generic(cipher=CipherKind.AES256, parameter_id=17), "AES-256"),
        (PaceOption.generic(cipher=CipherKind.AES192, parameter_id=15), "AES-192"),
        (PaceOption.generic(parameter_id=12), "AES-128"),
        (PaceOption.generic(ecdh=False, parameter_id=0), "AES-128"),
    ],
    ids=["3DES-bp256", "AES256-bp512", "AES192-P384", "AES128-P256", "DH-1024"],
)
def test_pace_cipher_suites_and_domain_parameters(option: PaceOption, cipher: str) -> None:
    profile = make_profile(3, pace_options=(option,))
    transport = VirtualCardTransport(make_chip(profile=profile))
    session, contents = read_everything(transport, key_of(profile))
    assert session.access is not None
    assert (session.access.protocol, session.access.cipher) == ("PACE", cipher)
    assert session.access.parameter_id == option.parameter_id
    assert contents == expected_files(profile, pace=True)


def test_parameter_id_tag_84_refused_then_retried() -> None:
    # two PACEInfos: the reader must name the domain parameters in DO'84, which this chip refuses
    options = (PaceOption.generic(), PaceOption.generic(parameter_id=12))
    profile = make_profile(4, pace_options=options)
    transport = VirtualCardTransport(make_chip(profile=profile, rejects_tag84=True), record=True)
    session, contents = read_everything(transport, key_of(profile))
    assert session.access is not None and session.access.protocol == "PACE"
    assert contents == expected_files(profile, pace=True)
    assert transport.exchanges is not None
    mse = [(c, r[-2:]) for c, r in transport.exchanges if c[1:4] == b"\x22\xc1\xa4"]
    assert [sw for _, sw in mse] == [b"\x6a\x87", b"\x90\x00"]  # refused with 84, then without
    assert b"\x84\x01" in mse[0][0] and b"\x84\x01" not in mse[1][0]


def sw_seen(transport: VirtualCardTransport, sw: bytes) -> bool:
    assert transport.exchanges is not None
    return any(response[-2:] == sw for _, response in transport.exchanges)


def test_select_without_le_on_a_chip_that_refuses_it() -> None:
    transport = VirtualCardTransport(make_chip(rejects_le_on_select=True), record=True)
    _, contents = read_everything(transport)
    assert contents == expected_files(SPECIMEN, pace=True)
    assert not sw_seen(transport, b"\x67\x00")  # the reader never sent an Le it did not need


def test_read_size_steps_down_on_a_small_buffer_chip() -> None:
    chip = make_chip(max_read_size=0x41, extended_length=False)
    transport = VirtualCardTransport(chip, record=True)
    _, contents = read_everything(transport)
    assert contents == expected_files(SPECIMEN, pace=True)
    assert sw_seen(transport, b"\x67\x00")  # refused at first, then read with smaller chunks


def test_wrong_mrz_key_is_access_denied_and_nothing_is_read() -> None:
    wrong = MrzKey(SPECIMEN.document_number, SPECIMEN.date_of_birth, "341101")
    session = ChipSession(VirtualCardTransport(make_chip()), wrong)
    with pytest.raises(ApplianceError) as info:
        session.open()
    assert info.value.reason is Reason.CHIP_ACCESS_DENIED
    assert session.sm is None


def test_wrong_can_is_access_denied() -> None:
    with pytest.raises(ApplianceError) as info:
        read_everything(VirtualCardTransport(make_chip()), CanKey("000000"))
    assert info.value.reason is Reason.CHIP_ACCESS_DENIED


@pytest.mark.parametrize("after", [1, 5, 12, 20])
def test_card_pulled_mid_read_is_chip_removed_and_a_new_read_works(after: int) -> None:
    transport = VirtualCardTransport(make_chip(max_read_size=0x80), remove_after=after)
    with pytest.raises(ApplianceError) as info:
        read_everything(transport)
    assert info.value.reason is Reason.CHIP_REMOVED
    transport.insert()
    _, contents = read_everything(transport)
    assert contents == expected_files(SPECIMEN, pace=True)


def test_many_travellers_have_distinct_readable_chips() -> None:
    seen = set()
    for seed in range(3):
        profile = make_profile(seed)
        _, contents = read_everything(VirtualCardTransport(make_chip(seed)), key_of(profile))
        assert contents["DG1.bin"] == profile.build_chip_files().by_name["DG1.bin"]
        seen.add(contents["DG1.bin"])
    assert len(seen) == 3
