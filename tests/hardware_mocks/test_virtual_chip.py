"""The virtual chip alone, driven with hand-built APDUs and the ICAO 9303-11 worked examples.

The Appendix D (BAC + SM) and G.1 (PACE ECDH-GM AES) exchanges are replayed against the chip
byte for byte, with its random numbers fixed to the examples': the card side then has to produce
exactly the chip answers ICAO printed, independently of our own terminal code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import standard_group
from appliance.emrtd.protocol.sm import SecureMessaging, SessionKeys
from hardware_mocks.virtual_chip.atr import build_atr
from hardware_mocks.virtual_chip.card_pace import PaceOption, public_key_data_object
from hardware_mocks.virtual_chip.chip import (
    Access,
    ChipConfig,
    ChipContents,
    VirtualChip,
)
from hardware_mocks.virtual_chip.file_system import do53_capacity
from tests.support.data_support import ICAO_VECTORS

VECTORS = json.loads(ICAO_VECTORS.read_text())
BAC = {k: v["value"] for k, v in VECTORS["bac_appendix_d"]["values"].items()}
G1 = {k: v["value"] for k, v in VECTORS["pace_g1_ecdh_gm_brainpoolp256r1"]["values"].items()}
#: G.1's chip ephemeral private key (ICAO prints it; the test checks it against the public key)
G1_CHIP_EPHEMERAL_PRIVATE = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"

SELECT_APP = bytes.fromhex("00A4040C07A0000002471001")
AID_APP = bytes.fromhex("A0000002471001")
BIG_FILE = bytes(range(256)) * 160  # 40 960 bytes: offsets beyond 32767 need READ BINARY B1


def fixed_rng(*chunks: str) -> Random:
    """An rng that hands out the given hex values in order, each exactly as long as asked."""
    queue: Iterator[str] = iter(chunks)

    def rng(n: int) -> bytes:
        value = bytes.fromhex(next(queue))
        assert len(value) == n, f"asked for {n} bytes, example has {len(value)}"
        return value

    return rng


def contents(mrz: str = BAC["mrz_information"], **extra: object) -> ChipContents:
    return ChipContents(
        mf_files={0x011C: b"\x31\x14" + bytes.fromhex(G1["pace_info"])},
        lds_files={
            0x011E: bytes.fromhex(BAC["ef_com_plain"]),
            0x0101: b"\x61\x03\x5f\x1f\x00",
            0x0102: BIG_FILE,
            0x0103: b"\x63\x00",
        },
        mrz_information=mrz,
        pace_options=(PaceOption.generic(parameter_id=13),),
        **extra,  # type: ignore[arg-type]
    )


def make(config: ChipConfig | None = None, **kwargs: object) -> VirtualChip:
    chip = VirtualChip(contents(**kwargs), config)  # type: ignore[arg-type]
    chip.power_on()
    return chip


def send(chip: VirtualChip, hex_apdu: str | bytes) -> ResponseApdu:
    raw = bytes.fromhex(hex_apdu) if isinstance(hex_apdu, str) else hex_apdu
    return ResponseApdu.decode(chip.process_apdu(raw))


def bac_session(chip: VirtualChip, mrz: str = BAC["mrz_information"]) -> SecureMessaging:
    """Run BAC with the terminal-side code and return its SM session."""
    from appliance.emrtd.protocol.bac import BacTerminal

    terminal = BacTerminal(mrz)
    rnd_ic = send(chip, "0084000008").check()
    answer = send(chip, terminal.external_authenticate(rnd_ic).encode()).check()
    return SecureMessaging(terminal.complete(answer))


def sm_send(chip: VirtualChip, sm: SecureMessaging, command: CommandApdu) -> ResponseApdu:
    raw = chip.process_apdu(sm.protect(command).encode())
    return sm.unprotect(ResponseApdu.decode(raw))


# --- ICAO worked examples, card side ----------------------------------------------------------


def test_appendix_d_bac_and_secure_messaging_byte_for_byte() -> None:
    config = ChipConfig(rng=fixed_rng(BAC["rnd_ic"], BAC["k_ic"]))
    chip = make(config)
    assert send(chip, SELECT_APP).sw == 0x9000
    assert send(chip, BAC["get_challenge_apdu"]).encode().hex().upper() == BAC["rnd_ic"] + "9000"
    answer = chip.process_apdu(bytes.fromhex(BAC["ext_auth_apdu"]))
    assert answer.hex().upper() == BAC["ext_auth_response"] + "9000"
    assert chip.access is Access.BAC
    for step in ("sm_select_ef_com", "sm_read_binary_4", "sm_read_binary_18"):
        raw = chip.process_apdu(bytes.fromhex(BAC[f"{step}_protected_apdu"]))
        assert raw.hex().upper() == BAC[f"{step}_rapdu"], step


def test_g1_pace_ecdh_generic_mapping_byte_for_byte() -> None:
    rng = fixed_rng(G1["nonce_s"], G1["chip_mapping_private_key"], G1_CHIP_EPHEMERAL_PRIVATE)
    chip = make(ChipConfig(rng=rng), mrz=G1["mrz_information"])
    assert send(chip, G1["mse_set_at_apdu_icao"]).sw == 0x9000
    r1 = send(chip, G1["ga1_apdu"])
    assert r1.data.hex().upper() == "7C128010" + G1["encrypted_nonce_z"]
    r2 = send(chip, G1["ga2_apdu_map_nonce"])
    assert r2.data.hex().upper() == "7C43824104" + G1["chip_mapping_public_key_xy"]
    r3 = send(chip, G1["ga3_apdu_key_agreement"])
    assert r3.data.hex().upper() == "7C43844104" + G1["chip_ephemeral_public_key_xy"]
    r4 = chip.process_apdu(bytes.fromhex(G1["ga4_apdu_mutual_auth"]))
    assert r4.hex().upper() == G1["ga4_response"]
    assert chip.access is Access.PACE
    # the session keys are G.1's: a command protected with them is accepted
    sm = SecureMessaging(
        SessionKeys(CipherKind.AES128, bytes.fromhex(G1["ks_enc"]), bytes.fromhex(G1["ks_mac"]))
    )
    assert sm_send(chip, sm, CommandApdu(0x00, 0xA4, 0x04, 0x0C, AID_APP)).sw == 0x9000


def test_g1_with_parameter_id_tag_84_is_accepted_unless_the_chip_refuses_it() -> None:
    chip = make(mrz=G1["mrz_information"])
    assert send(chip, G1["mse_set_at_apdu_gmrtd_variant_with_84"]).sw == 0x9000
    picky = make(ChipConfig(rejects_tag84=True), mrz=G1["mrz_information"])
    assert send(picky, G1["mse_set_at_apdu_gmrtd_variant_with_84"]).sw == 0x6A87
    assert send(picky, G1["mse_set_at_apdu_icao"]).sw == 0x9000


# --- file system and READ BINARY --------------------------------------------------------------


def test_mf_files_are_readable_without_secure_messaging() -> None:
    chip = make()
    assert send(chip, "00A4020C02011C").sw == 0x9000
    response = send(chip, "00B0000000")
    assert response.sw == 0x6282  # fewer bytes than Le: end of file reached
    assert response.data == chip.contents.mf_files[0x011C]
    # short EF identifier in P1 (bit 8 set) selects and reads in one command
    assert send(chip, "00B09C0004").data == chip.contents.mf_files[0x011C][:4]


def test_application_files_need_bac_or_pace() -> None:
    chip = make()
    assert send(chip, SELECT_APP).sw == 0x9000
    assert send(chip, "00A4020C02011E").sw == 0x9000
    assert send(chip, "00B0000004").sw == 0x6982
    assert send(chip, "00B09E0004").sw == 0x6982
    assert send(chip, "00A4020C020199").sw == 0x6A82  # no such file


def test_read_binary_offsets_lengths_and_end_of_file() -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    com = chip.contents.lds_files[0x011E]
    assert sm_send(chip, sm, CommandApdu(0, 0xB0, 0x9E, 0x00, le=4)).data == com[:4]
    response = sm_send(chip, sm, CommandApdu(0, 0xB0, 0x00, 0x04, le=0xDF))
    assert (response.sw, response.data) == (0x6282, com[4:])
    assert sm_send(chip, sm, CommandApdu(0, 0xB0, 0x00, len(com), le=1)).sw == 0x6B00
    # no current EF after selecting the application again
    sm_send(chip, sm, CommandApdu(0, 0xA4, 0x04, 0x0C, AID_APP))
    assert sm_send(chip, sm, CommandApdu(0, 0xB0, 0x00, 0x00, le=1)).sw == 0x6986


def test_extended_length_and_odd_ins_beyond_32767() -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    assert sm_send(chip, sm, CommandApdu(0, 0xA4, 0x02, 0x0C, b"\x01\x02")).ok
    first = sm_send(chip, sm, CommandApdu(0, 0xB0, 0x00, 0x00, le=4096, extended=True))
    assert first.data == BIG_FILE[:4096]
    offset = 40000
    odd = CommandApdu(0, 0xB1, 0, 0, b"\x54\x02" + offset.to_bytes(2, "big"), le=0x400)
    response = sm_send(chip, sm, odd)
    # DO'53 carries the data; Ne counts its header, and the file ends first
    assert response.sw == 0x6282
    assert response.data[:2] == b"\x53\x82"
    assert response.data[4:] == BIG_FILE[offset:]
    whole = sm_send(chip, sm, CommandApdu(0, 0xB1, 0, 0, b"\x54\x01\x00", le=65536))
    assert whole.data[4:] == BIG_FILE[: 65536 - 4][: len(BIG_FILE)]


def test_max_read_size_and_no_extended_length() -> None:
    chip = make(ChipConfig(max_read_size=0xA0, extended_length=False))
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    sm_send(chip, sm, CommandApdu(0, 0xA4, 0x02, 0x0C, b"\x01\x02"))
    assert sm_send(chip, sm, CommandApdu(0, 0xB0, 0, 0, le=0xA1)).sw == 0x6700
    assert sm_send(chip, sm, CommandApdu(0, 0xB0, 0, 0, le=0xA0)).data == BIG_FILE[:0xA0]
    # an extended APDU is refused outright (plain 6700: the chip cannot even parse it)
    raw = sm.protect(CommandApdu(0, 0xB0, 0, 0, le=0x400, extended=True)).encode()
    assert chip.process_apdu(raw) == b"\x67\x00"


def test_strict_le_answers_6cxx_with_the_exact_length() -> None:
    chip = make(ChipConfig(strict_le=True))
    send(chip, "00A4020C02011C")
    size = len(chip.contents.mf_files[0x011C])
    assert send(chip, "00B0000000").sw == 0x6C00 | size
    assert send(chip, f"00B00000{size:02X}").sw == 0x9000


def test_select_with_le_is_refused_only_when_configured() -> None:
    assert send(make(), "00A4040C07A000000247100100").sw == 0x9000
    picky = make(ChipConfig(rejects_le_on_select=True))
    assert send(picky, "00A4040C07A000000247100100").sw == 0x6700
    assert send(picky, SELECT_APP).sw == 0x9000


def test_ef_atr_info_announces_extended_length_when_supported() -> None:
    announced = send(make(), "00B0810000").data
    assert b"\x7f\x66" in announced
    quiet = send(make(ChipConfig(extended_length=False)), "00B0810000").data
    assert b"\x7f\x66" not in quiet
    assert build_atr(True) != build_atr(False)


# --- authentication failures and SM errors ----------------------------------------------------


def test_wrong_bac_key_gives_6300_and_no_access() -> None:
    chip = make()
    send(chip, SELECT_APP)
    with pytest.raises(ApduError) as info:
        bac_session(chip, mrz="L898902C<369080619406237")
    assert info.value.sw == 0x6300
    assert chip.access is Access.NONE
    assert send(chip, "00B09E0004").sw == 0x6982


def test_external_authenticate_without_challenge_is_refused() -> None:
    chip = make()
    assert send(chip, BAC["ext_auth_apdu"]).sw == 0x6985


def test_wrong_pace_password_gives_6300() -> None:
    from appliance.emrtd.protocol.pace import PacePassword, PaceProtocol
    from appliance.emrtd.protocol.pace_terminal import PaceTerminal

    chip = make(can="123456")
    terminal = PaceTerminal(
        PaceProtocol.from_oid(PaceOption.generic().oid), 13, PacePassword.from_can("654321")
    )
    assert send(chip, terminal.mse_set_at().encode()).sw == 0x9000
    r = send(chip, terminal.step1().encode()).check()
    r = send(chip, terminal.step2(r).encode()).check()
    r = send(chip, terminal.step3(r).encode()).check()
    assert send(chip, terminal.step4(r).encode()).sw == 0x6300
    assert chip.access is Access.NONE


def test_pace_with_can_unknown_to_the_chip_is_refused() -> None:
    chip = make()  # personalised without a CAN
    assert send(chip, "0022C1A40F800A04007F00070202040202830102").sw == 0x6A88


def test_bac_only_chip_has_no_card_access_and_refuses_pace() -> None:
    chip = make(ChipConfig(bac_only=True))
    assert send(chip, "00A4020C02011C").sw == 0x6A82
    assert send(chip, G1["mse_set_at_apdu_icao"]).sw == 0x6A86


def test_wrong_mac_gives_6988_and_ends_the_session() -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    raw = bytearray(sm.protect(CommandApdu(0, 0xA4, 0x02, 0x0C, b"\x01\x1e")).encode())
    raw[-3] ^= 0x01  # flip a bit of the MAC
    assert chip.process_apdu(bytes(raw)) == b"\x69\x88"
    assert chip.access is Access.NONE
    assert send(chip, "00B09E0004").sw == 0x6982


def test_plain_command_after_sm_gives_6987_and_ends_the_session() -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    assert send(chip, "00B09E0004").sw == 0x6987
    assert chip.access is Access.NONE
    # the old session is gone: even a correctly protected command is no longer accepted
    assert chip.process_apdu(sm.protect(CommandApdu(0, 0xB0, 0x9E, 0, le=4)).encode()) == (
        b"\x69\x87"
    )


def test_ssc_replay_is_rejected() -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    raw = sm.protect(CommandApdu(0, 0xB0, 0x9E, 0, le=4)).encode()
    assert ResponseApdu.decode(chip.process_apdu(raw)).sw == 0x9000
    assert chip.process_apdu(raw) == b"\x69\x88"


def test_power_cycle_clears_the_security_status() -> None:
    chip = make()
    send(chip, SELECT_APP)
    bac_session(chip)
    chip.power_off()
    assert chip.process_apdu(SELECT_APP) == b"\x6f\x00"  # no power, no answer
    chip.power_on()
    assert chip.access is Access.NONE


@pytest.mark.parametrize(
    "apdu",
    ["", "00", "00B0", "00B000", "00A4040C05A0000002", "FFB0000000", "00FE000000",
     "00B1000003540100", "00860000027C00", "0086000003", "0082000000"],
)  # fmt: skip
def test_garbage_gets_a_status_word_never_an_exception(apdu: str) -> None:
    response = make().process_apdu(bytes.fromhex(apdu))
    assert len(response) == 2 and response != b"\x90\x00"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzzed_apdus_never_raise_plain_or_protected(raw: bytes) -> None:
    chip = make()
    send(chip, SELECT_APP)
    for candidate in (raw, bytes([0x0C]) + raw[1:] if raw else raw):
        response = chip.process_apdu(candidate)
        assert len(response) >= 2 and response[-2:] != b"\x6f\x00"  # 6F00: a chip fault
    bac_session(chip)
    response = chip.process_apdu(bytes([0x0C]) + raw[1:] if raw else raw)
    assert len(response) >= 2 and response[-2:] != b"\x6f\x00"


@settings(max_examples=300, deadline=None)
@given(
    ins=st.sampled_from([0xA4, 0xB0, 0xB1, 0x84, 0x82, 0x22, 0x86, 0x88, 0x2A, 0xCA]),
    p1=st.integers(0, 255),
    p2=st.integers(0, 255),
    data=st.binary(max_size=80),
    le=st.one_of(st.none(), st.integers(1, 65536)),
)
def test_fuzzed_commands_inside_a_valid_session_get_protected_answers(
    ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    chip = make()
    send(chip, SELECT_APP)
    sm = bac_session(chip)
    try:
        response = sm_send(chip, sm, CommandApdu(0x00, ins, p1, p2, data, le=le))
    except ApduError as refused:  # a plain SM error: only if the session itself was disturbed
        assert refused.sw in (0x6987, 0x6988)
        return
    assert response.sw != 0x6F00  # 6F00 would be a fault inside the chip


def test_card_side_mac_helpers_match_the_shared_primitives() -> None:
    # sanity on the test itself: BAC document keys as Appendix D prints them
    from hardware_mocks.virtual_chip.card_bac import document_keys

    k_enc, k_mac = document_keys(BAC["mrz_information"])
    assert (k_enc.hex().upper(), k_mac.hex().upper()) == (BAC["kenc"], BAC["kmac"])
    assert crypto.kdf(bytes.fromhex(BAC["kseed"]), 1, CipherKind.TDES) == k_enc


@pytest.mark.parametrize(("ne", "capacity"), [(2, 0), (129, 127), (259, 255), (260, 256)])
def test_do53_capacity_counts_the_header_that_length_needs(ne: int, capacity: int) -> None:
    assert do53_capacity(ne) == capacity
    assert len(tlv.encode(0x53, bytes(capacity))) <= ne


def test_g2_dh_tokens_are_macs_over_the_public_value_in_do84() -> None:
    g2 = {k: v["value"] for k, v in VECTORS["pace_g2_dh_gm_1024_160"]["values"].items()}
    option = PaceOption.generic(ecdh=False, parameter_id=0)
    group = standard_group(0)
    ks_mac = bytes.fromhex(g2["ks_mac"])
    chip_public = group.decode(bytes.fromhex(g2["chip_ephemeral_public_key"]))
    terminal_public = group.decode(bytes.fromhex(g2["terminal_ephemeral_public_key"]))
    t_ifd = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(option.oid, group, chip_public)
    )
    t_ic = crypto.token_mac(
        CipherKind.AES128, ks_mac, public_key_data_object(option.oid, group, terminal_public)
    )
    assert (t_ifd.hex().upper(), t_ic.hex().upper()) == (
        g2["auth_token_T_IFD"],
        g2["auth_token_T_IC"],
    )


def test_g2_dh_chip_encrypts_the_nonce_as_printed() -> None:
    g2 = {k: v["value"] for k, v in VECTORS["pace_g2_dh_gm_1024_160"]["values"].items()}
    chip = VirtualChip(
        ChipContents(
            mf_files={},
            lds_files={},
            mrz_information=G1["mrz_information"],
            pace_options=(PaceOption.generic(ecdh=False, parameter_id=0),),
        ),
        ChipConfig(rng=fixed_rng(g2["nonce_s"])),
    )
    chip.power_on()
    assert send(chip, "0022C1A4" + "0F" + g2["mse_set_at_data"]).sw == 0x9000
    assert send(chip, "10860000027C0000").data.hex().upper() == "7C128010" + g2["encrypted_nonce_z"]
