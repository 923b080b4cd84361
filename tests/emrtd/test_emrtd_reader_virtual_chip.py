"""The reader against the virtual chip (another helper's card side), in-process, quirk by quirk.

Both sides share only `appliance.emrtd.protocol.crypto`/`apdu`; the protocol logic on each side was
written separately, so agreement here is a real interoperability check.
"""

from __future__ import annotations

import pytest
from asn1crypto.core import ObjectIdentifier

from appliance.emrtd.protocol import files, tlv
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.session import CanKey, ChipSession, MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.ports import CardInfo
from hardware_mocks.virtual_chip.card_pace import PaceOption
from hardware_mocks.virtual_chip.chip import ChipConfig, ChipContents, VirtualChip
from tests.emrtd.test_emrtd_reader import _lds

MRZ_INFORMATION = "L898902C<369080619406236"
KEY = MrzKey("L898902C", "690806", "940623")


class InProcess:
    def __init__(self, chip: VirtualChip, extended: bool) -> None:
        self.chip, self.extended = chip, extended

    def connect(self) -> CardInfo:
        return CardInfo(self.chip.power_on(), "in-process")

    def transmit(self, apdu: bytes) -> bytes:
        return self.chip.process_apdu(apdu)

    def disconnect(self) -> None:
        self.chip.power_off()

    def card_present(self) -> bool:
        return True

    def max_apdu_size(self) -> int:
        return 65544 if self.extended else 261


def _card_access(options: tuple[PaceOption, ...]) -> bytes:
    infos = b"".join(
        tlv.encode(
            0x30,
            ObjectIdentifier(o.oid).dump()
            + b"\x02\x01\x02"
            + tlv.encode(0x02, bytes([o.parameter_id])),
        )
        for o in options
    )
    return tlv.encode(0x31, infos)


def _chip(
    config: ChipConfig, options: tuple[PaceOption, ...] = (PaceOption.generic(),)
) -> tuple[VirtualChip, dict[int, bytes]]:
    lds = _lds(dg2_size=40000)
    contents = ChipContents(
        mf_files={0x011C: _card_access(options)},
        lds_files=lds,
        mrz_information=MRZ_INFORMATION,
        can="123456",
        pace_options=options,
    )
    return VirtualChip(contents, config), lds


@pytest.mark.parametrize(
    "config",
    [
        ChipConfig(),
        ChipConfig(bac_only=True),
        ChipConfig(rejects_tag84=True),
        ChipConfig(extended_length=False, max_read_size=0x80),
        ChipConfig(strict_le=True, extended_length=False),
        ChipConfig(rejects_le_on_select=True),
        ChipConfig(announce_extended_length=False),
    ],
    ids=["default", "bac-only", "rejects-84", "small-reads", "strict-le", "le-on-select", "quiet"],
)
@pytest.mark.parametrize("extended_reader", [True, False], ids=["ext-reader", "short-reader"])
def test_full_read_under_every_quirk(config: ChipConfig, extended_reader: bool) -> None:
    chip, lds = _chip(config)
    with ChipSession(InProcess(chip, extended_reader), KEY) as session:
        access = session.open()
        result = session.read_all()
    assert access.protocol == ("BAC" if config.bac_only else "PACE")
    assert result.contents["DG2.bin"] == lds[0x0102]
    assert result.contents["EF_SOD.bin"] == lds[0x011D]
    assert result.unavailable == {}


@pytest.mark.parametrize(
    "option",
    [
        PaceOption.generic(False, CipherKind.AES128, 0),
        PaceOption.generic(True, CipherKind.TDES, 12),
        PaceOption.generic(True, CipherKind.AES256, 17),
    ],
    ids=["DH-1024-AES128", "P256-3DES", "bp512-AES256"],
)
@pytest.mark.parametrize("key", [KEY, CanKey("123456")], ids=["mrz", "can"])
def test_pace_suites_with_mrz_and_can(option: PaceOption, key: MrzKey | CanKey) -> None:
    chip, lds = _chip(ChipConfig(), (option,))
    with ChipSession(InProcess(chip, True), key) as session:
        access = session.open()
        assert (access.protocol, access.parameter_id) == ("PACE", option.parameter_id)
        assert access.cipher == option.cipher.value
        assert session.read_file(files.EF_COM) == lds[0x011E]


def test_strongest_pace_info_is_chosen() -> None:
    options = (
        PaceOption.generic(False, CipherKind.AES128, 0),
        PaceOption.generic(True, CipherKind.AES256, 13),
    )
    chip, _ = _chip(ChipConfig(), options)
    with ChipSession(InProcess(chip, True), KEY) as session:
        assert session.open().as_dict()["cipher"] == "AES-256"


def test_wrong_mrz_is_access_denied_after_pace_and_bac() -> None:
    chip, _ = _chip(ChipConfig())
    session = ChipSession(InProcess(chip, True), MrzKey("L898902C", "690806", "940624"))
    with session, pytest.raises(ApplianceError) as caught:
        session.open()
    assert caught.value.reason is Reason.CHIP_ACCESS_DENIED
