"""The reader session: the ICAO worked examples replayed byte for byte, and real-world fallbacks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from appliance.emrtd.protocol import bac, crypto, files, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.session import CanKey, ChipSession, MrzKey, ReaderOptions
from appliance.errors import ApplianceError, Reason
from appliance.ports import CardInfo, TransportError
from tests.support.icao_vectors import BAC, G1, hexval
from tests.support.scripted_card import CardSideSm, ScriptedCard, Step

SW_OK = b"\x90\x00"
APPENDIX_D_KEY = MrzKey("L898902C", "690806", "940623")
SELECT_AID_PLAIN = bytes.fromhex("00A4040C07A0000002471001")


def _fixed(*values: bytes) -> bac.Random:
    queue = list(values)
    return lambda n: queue.pop(0)


# -- ICAO Appendix D: BAC and the first protected reads -----------------------------------------


def test_appendix_d_replay_byte_for_byte() -> None:
    """A scripted card answers with Appendix D's RND.IC and responses; the reader must send
    exactly the worked example's commands and decode EF.COM from the answers."""
    card = ScriptedCard(
        [
            # the prelude: no EF.CardAccess (a BAC-only chip), the application selected in plain
            Step(bytes.fromhex("00A4020C02011C"), b"\x6a\x82", "SELECT EF.CardAccess"),
            Step(SELECT_AID_PLAIN, SW_OK, "SELECT eMRTD application"),
            # from here on, exactly Appendix D
            Step(hexval(BAC, "get_challenge_apdu"), hexval(BAC, "rnd_ic") + SW_OK, "GET CHALLENGE"),
            Step(
                hexval(BAC, "ext_auth_apdu"), hexval(BAC, "ext_auth_response") + SW_OK, "EXT AUTH"
            ),
            Step(
                hexval(BAC, "sm_select_ef_com_protected_apdu"),
                hexval(BAC, "sm_select_ef_com_rapdu"),
                "SELECT EF.COM",
            ),
            Step(
                hexval(BAC, "sm_read_binary_4_protected_apdu"),
                hexval(BAC, "sm_read_binary_4_rapdu"),
                "READ BINARY 4",
            ),
            Step(
                hexval(BAC, "sm_read_binary_18_protected_apdu"),
                hexval(BAC, "sm_read_binary_18_rapdu"),
                "READ BINARY 18",
            ),
        ]
    )
    session = ChipSession(
        card,
        APPENDIX_D_KEY,
        ReaderOptions(short_ef_ids=False, probe_length=True),  # the example probes 4 bytes
        rng=_fixed(hexval(BAC, "rnd_ifd"), hexval(BAC, "k_ifd")),
    )
    access = session.open()
    assert access.protocol == "BAC" and access.cipher == "3DES"
    assert session.read_file(files.EF_COM) == hexval(BAC, "ef_com_plain")
    assert card.finished
    assert session.apdus == 7
    assert session.bytes_read == len(hexval(BAC, "ef_com_plain"))
    assert {"connect", "card_access", "bac", "select_application", "read EF.COM"} <= set(
        session.timings_ms
    )


def test_appendix_d_with_the_wrong_mrz_is_access_denied() -> None:
    card = ScriptedCard(
        [
            Step(None, b"\x6a\x82"),
            Step(SELECT_AID_PLAIN, SW_OK),
            Step(hexval(BAC, "get_challenge_apdu"), hexval(BAC, "rnd_ic") + SW_OK),
            Step(None, b"\x63\x00"),  # what a chip says when E_IFD does not verify
        ]
    )
    session = ChipSession(card, MrzKey("L898902C", "690806", "940624"))
    with pytest.raises(ApplianceError) as caught:
        session.open()
    assert caught.value.reason is Reason.CHIP_ACCESS_DENIED


# -- ICAO Appendix G.1: PACE, then reading under AES Secure Messaging -----------------------------


def _g1_card(*, mse_answers: list[bytes] | None = None) -> tuple[ScriptedCard, list[Step]]:
    card_access = tlv.encode(0x31, hexval(G1, "pace_info"))
    sm = CardSideSm(CipherKind.AES128, hexval(G1, "ks_enc"), hexval(G1, "ks_mac"), 0)
    ef_com = hexval(BAC, "ef_com_plain")

    def card_security(raw: bytes) -> bytes:
        command = sm.command(raw)
        assert (command.ins, command.p1) == (0xB0, 0x9D)  # SFI 1D in the MF
        return sm.response(b"", 0x6A82)

    def select_application(raw: bytes) -> bytes:
        command = sm.command(raw)
        assert command.encode() == SELECT_AID_PLAIN  # no Le
        return sm.response(b"")

    def read_com(raw: bytes) -> bytes:
        command = sm.command(raw)
        offset = 0 if command.p1 & 0x80 else (command.p1 << 8) | command.p2
        assert command.le is not None
        return sm.response(ef_com[offset : offset + command.le])

    steps = [
        Step(bytes.fromhex("00B09C0004"), card_access[:4] + SW_OK, "CardAccess 4"),
        Step(bytes.fromhex("00B0000412"), card_access[4:] + SW_OK, "CardAccess rest"),
    ]
    for answer in mse_answers or []:
        steps.append(Step(None, answer, "MSE:Set AT refused"))
    steps += [
        Step(hexval(G1, "mse_set_at_apdu_icao"), SW_OK, "MSE:Set AT"),
        Step(
            hexval(G1, "ga1_apdu"),
            tlv.encode(0x7C, tlv.encode(0x80, hexval(G1, "encrypted_nonce_z"))) + SW_OK,
            "GA1",
        ),
        Step(hexval(G1, "ga2_apdu_map_nonce"), hexval(G1, "ga2_response"), "GA2"),
        Step(hexval(G1, "ga3_apdu_key_agreement"), hexval(G1, "ga3_response"), "GA3"),
        Step(hexval(G1, "ga4_apdu_mutual_auth"), hexval(G1, "ga4_response"), "GA4"),
        Step(None, card_security, "READ BINARY EF.CardSecurity"),
        Step(None, select_application, "SELECT eMRTD application"),
        Step(None, read_com, "READ BINARY EF.COM 4"),
        Step(None, read_com, "READ BINARY EF.COM rest"),
    ]
    return ScriptedCard(steps), steps


def _g1_rng() -> bac.Random:
    return _fixed(
        hexval(G1, "terminal_mapping_private_key"), hexval(G1, "terminal_ephemeral_private_key")
    )


def test_g1_pace_replay_then_secure_reads() -> None:
    card, _ = _g1_card()
    session = ChipSession(
        card,
        MrzKey("T22000129", "640812", "101031"),
        ReaderOptions(probe_length=True),  # the scripted exchange probes 4 bytes first
        rng=_g1_rng(),
    )
    access = session.open()
    assert access.as_dict() == {
        "protocol": "PACE",
        "cipher": "AES-128",
        "mapping": "GM",
        "parameter_id": 13,
        "pace_failure": None,
    }
    assert session.read_file(files.EF_COM) == hexval(BAC, "ef_com_plain")
    assert card.finished


def test_mse_set_at_is_retried_with_do84_after_6a87() -> None:
    card, _ = _g1_card(mse_answers=[b"\x6a\x87"])
    # the ICAO form goes first, the refused one is replaced by the form with DO'84
    card.steps[2].expect = hexval(G1, "mse_set_at_apdu_icao")
    card.steps[3].expect = hexval(G1, "mse_set_at_apdu_gmrtd_variant_with_84")
    session = ChipSession(
        card,
        MrzKey("T22000129", "640812", "101031"),
        ReaderOptions(probe_length=True),  # the scripted exchange probes 4 bytes first
        rng=_g1_rng(),
    )
    assert session.open().protocol == "PACE"


def test_pace_failure_falls_back_to_bac() -> None:
    card_access = tlv.encode(0x31, hexval(G1, "pace_info"))
    card = ScriptedCard(
        [
            Step(None, card_access[:4] + SW_OK),
            Step(None, card_access[4:] + SW_OK),
            Step(None, b"\x6a\x80"),  # MSE:Set AT refused ...
            Step(None, b"\x6a\x80"),  # ... in both forms
            Step(SELECT_AID_PLAIN, SW_OK),
            Step(hexval(BAC, "get_challenge_apdu"), hexval(BAC, "rnd_ic") + SW_OK),
            Step(hexval(BAC, "ext_auth_apdu"), hexval(BAC, "ext_auth_response") + SW_OK),
        ]
    )
    rng = _fixed(hexval(BAC, "rnd_ifd"), hexval(BAC, "k_ifd"))
    session = ChipSession(card, APPENDIX_D_KEY, rng=rng)
    access = session.open()
    assert access.protocol == "BAC"
    assert access.pace_failure == Reason.CHIP_COMMUNICATION.value


def test_can_without_pace_is_unsupported() -> None:
    card = ScriptedCard([Step(None, b"\x6a\x82")])
    with pytest.raises(ApplianceError) as caught:
        ChipSession(card, CanKey("123456")).open()
    assert caught.value.reason is Reason.CHIP_PROTOCOL_UNSUPPORTED


# -- A card with behaviour: BAC, SM, files, and the quirks real chips have ------------------------


@dataclass
class QuirkyCard:
    """A BAC chip written for these tests (not the virtual chip), with configurable quirks."""

    files: dict[int, bytes]
    mrz_information: str = "L898902C<369080619406236"
    max_le: int = 0xFFFF  # longer READ BINARY Le is refused with 6700
    refuse_sfi: bool = False
    answer_6cxx: bool = False  # refuse long Le with 6Cxx (exact length) instead of 6700
    atr_info: bytes | None = None
    extended: bool = False
    remove_after: int | None = None
    corrupt_macs: bool = False
    denied: frozenset[int] = frozenset()  # FIDs whose access conditions this terminal lacks
    strict_eof: bool = False  # Le past the end of the file: 6Cxx with the bytes left
    atr: bytes = b"\x3b\x80\x80\x01\x01"
    received: list[bytes] = field(default_factory=list)
    sm: CardSideSm | None = None
    current: int | None = None
    rnd_ic: bytes = b""

    def connect(self) -> CardInfo:
        return CardInfo(self.atr, "quirky")

    def disconnect(self) -> None:
        pass

    def card_present(self) -> bool:
        return True

    def max_apdu_size(self) -> int:
        return 65544 if self.extended else 261

    def transmit(self, raw: bytes) -> bytes:
        self.received.append(raw)
        if self.remove_after is not None and len(self.received) > self.remove_after:
            raise TransportError("card left the field", removed=True)
        if self.sm is None:
            return self._plain(CommandApdu.decode(raw))
        command = self.sm.command(raw)
        data, sw, odd = self._file_command(command)
        response = self.sm.response(data, sw, odd)
        if self.corrupt_macs:  # flip a bit of DO'8E, as a man in the middle would
            response = response[:-3] + bytes([response[-3] ^ 1]) + response[-2:]
        return response

    def _plain(self, command: CommandApdu) -> bytes:
        if command.ins == 0x84:
            self.rnd_ic = os.urandom(8)
            return self.rnd_ic + SW_OK
        if command.ins == 0x82:
            return self._external_authenticate(command.data)
        if command.ins == 0xA4 and command.p1 == 0x04:
            return SW_OK
        if command.ins == 0xB0 and command.p1 & 0x80:
            fid = {0x1C: 0x011C, 0x01: 0x2F01}.get(command.p1 & 0x1F)
            if fid == 0x2F01 and self.atr_info is not None:
                return self.atr_info[: command.le] + b"\x62\x82"
            return b"\x6a\x82"
        return b"\x6d\x00"

    def _external_authenticate(self, data: bytes) -> bytes:
        k_enc, k_mac = bac.document_keys(self.mrz_information)
        if crypto.retail_mac(k_mac, crypto.pad(data[:32], 8)) != data[32:]:
            return b"\x63\x00"
        s = crypto.tdes_cbc_decrypt(k_enc, data[:32])
        rnd_ifd, k_ifd = s[:8], s[16:]
        assert s[8:16] == self.rnd_ic
        k_ic = os.urandom(16)
        e_ic = crypto.tdes_cbc_encrypt(k_enc, self.rnd_ic + rnd_ifd + k_ic)
        keys = bac.session_keys(k_ifd, k_ic, self.rnd_ic, rnd_ifd)
        self.sm = CardSideSm(keys.cipher, keys.ks_enc, keys.ks_mac, keys.ssc)
        return e_ic + crypto.retail_mac(k_mac, crypto.pad(e_ic, 8)) + SW_OK

    def _file_command(self, command: CommandApdu) -> tuple[bytes, int, bool]:
        if command.ins == 0xA4:
            fid = int.from_bytes(command.data, "big")
            if fid not in self.files:
                return b"", 0x6A82, False
            self.current = fid
            return b"", 0x9000, False
        if command.ins not in (0xB0, 0xB1) or command.le is None:
            return b"", 0x6D00, False
        if command.le > self.max_le:
            return b"", (0x6C00 | self.max_le) if self.answer_6cxx else 0x6700, False
        if command.ins == 0xB0 and command.p1 & 0x80:
            if self.refuse_sfi:
                return b"", 0x6A86, False
            sfi = command.p1 & 0x1F
            matches = [f for f in self.files if f & 0x1F == sfi and f >> 8 == 1]
            if not matches:
                return b"", 0x6A82, False
            self.current, offset = matches[0], command.p2
        elif command.ins == 0xB0:
            offset = (command.p1 << 8) | command.p2
        else:
            offset_do = tlv.parse_one(command.data)
            assert offset_do.tag == 0x54
            offset = int.from_bytes(offset_do.value, "big")
        if self.current is None:
            return b"", 0x6986, False
        if self.current in self.denied:
            return b"", 0x6982, False
        content = self.files[self.current]
        if offset > len(content):
            return b"", 0x6B00, False
        if self.strict_eof and command.ins == 0xB0 and offset + command.le > len(content):
            return b"", 0x6C00 | (len(content) - offset), False
        if command.ins == 0xB1:
            chunk = content[offset : offset + command.le - 4]
            return tlv.encode(0x53, chunk), 0x9000, True
        chunk = content[offset : offset + command.le]
        return chunk, 0x9000 if len(chunk) == command.le else 0x6282, False


def _lds(dg2_size: int = 1200) -> dict[int, bytes]:
    com = tlv.encode(0x60, tlv.encode(0x5F01, b"0107") + tlv.encode(0x5C, b"\x61\x75\x63\x6f"))
    dg1 = tlv.encode(0x61, tlv.encode(0x5F1F, b"P<UTOERIKSSON<<ANNA<MARIA".ljust(88, b"<")))
    dg2 = tlv.encode(0x75, bytes(i % 251 for i in range(dg2_size)))
    dg15 = tlv.encode(0x6F, bytes(range(200)))
    sod = tlv.encode(0x77, b"\x30" + bytes(300))
    return {0x011E: com, 0x0101: dg1, 0x0102: dg2, 0x010F: dg15, 0x011D: sod}


def _read_all(
    card: QuirkyCard, options: ReaderOptions | None = None
) -> tuple[ChipSession, dict[str, bytes]]:
    session = ChipSession(card, APPENDIX_D_KEY, options)
    session.open()
    result = session.read_all()
    return session, result.contents


def test_full_read_gets_every_listed_file_and_skips_eac_ones() -> None:
    lds = _lds()
    card = QuirkyCard(lds)
    session, contents = _read_all(card)
    assert contents == {
        "EF_COM.bin": lds[0x011E],
        "DG1.bin": lds[0x0101],
        "DG2.bin": lds[0x0102],
        "DG15.bin": lds[0x010F],
        "EF_SOD.bin": lds[0x011D],
    }
    assert session.bytes_read == sum(len(v) for v in contents.values())
    # DG3 is listed in EF.COM but needs EAC: never asked for
    assert not any(c[2] & 0x1F == 3 and c[1] == 0xB0 for c in card.received if c[2] & 0x80)


def test_apdu_count_is_the_minimum_the_read_size_allows() -> None:
    lds = _lds(dg2_size=5000)
    card = QuirkyCard(lds)
    session, _ = _read_all(card)
    # CardAccess, SELECT AID, GET CHALLENGE, EXT AUTH, then per file only its 0xDF chunks:
    # the first chunk also tells the file's length, so no APDU is spent on a header probe
    expected = 4 + sum(-(-len(c) // 0xDF) for c in lds.values())
    assert session.apdus == expected


def test_length_probe_costs_one_apdu_per_file() -> None:
    lds = _lds(dg2_size=5000)
    session, contents = _read_all(QuirkyCard(lds), ReaderOptions(probe_length=True))
    assert contents["DG2.bin"] == lds[0x0102]
    assert session.apdus == 4 + sum(1 + -(-(len(c) - 4) // 0xDF) for c in lds.values())


def test_read_size_steps_down_when_the_card_refuses_it() -> None:
    lds = _lds()
    card = QuirkyCard(lds, max_le=0x80)
    session, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]
    refusals = [r for r in card.received if len(r) > 4]
    assert refusals  # the card saw the long Le, said 6700, and the reader went on at 0x80
    assert session.file_reader._read_size == 0x80


def test_6cxx_gives_the_exact_read_size() -> None:
    lds = _lds()
    card = QuirkyCard(lds, max_le=0x70, answer_6cxx=True)
    session, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]
    assert session.file_reader._read_size == 0x70


def test_cards_without_short_ef_ids_get_select() -> None:
    lds = _lds()
    card = QuirkyCard(lds, refuse_sfi=True)
    _, contents = _read_all(card)
    assert contents["DG1.bin"] == lds[0x0101]


def test_offsets_beyond_32767_use_odd_ins_and_extended_length() -> None:
    lds = _lds(dg2_size=40000)
    atr_info = tlv.encode(0x7F66, tlv.encode(0x02, b"\x10\x00") + tlv.encode(0x02, b"\x10\x00"))
    card = QuirkyCard(lds, atr_info=atr_info, extended=True)
    session, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]
    assert any(CommandApdu.decode(r).ins == 0xB1 for r in card.received[4:])
    assert (
        session.file_reader._extended_read_size is not None
        and session.file_reader._extended_read_size > 0xFF
    )
    # far fewer APDUs than 40000 / 0xDF
    assert session.apdus < 60


def test_offsets_beyond_32767_in_short_length() -> None:
    lds = _lds(dg2_size=33000)
    card = QuirkyCard(lds)
    _, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]


def test_missing_file_is_file_not_found() -> None:
    card = QuirkyCard(_lds())
    session = ChipSession(card, APPENDIX_D_KEY)
    session.open()
    with pytest.raises(ApplianceError) as caught:
        session.read_file(files.data_group(11))
    assert caught.value.reason is Reason.CHIP_FILE_NOT_FOUND


def test_card_pulled_mid_read_is_chip_removed() -> None:
    card = QuirkyCard(_lds(dg2_size=5000), remove_after=10)
    session = ChipSession(card, APPENDIX_D_KEY)
    session.open()
    with pytest.raises(ApplianceError) as caught:
        session.read_all()
    assert caught.value.reason is Reason.CHIP_REMOVED


def test_forged_response_mac_is_sm_mac_invalid() -> None:
    card = QuirkyCard(_lds())
    session = ChipSession(card, APPENDIX_D_KEY)
    session.open()
    card.corrupt_macs = True
    with pytest.raises(ApplianceError) as caught:
        session.read_file(files.EF_COM)
    assert caught.value.reason is Reason.SM_MAC_INVALID


def test_keys_never_show_in_repr() -> None:
    assert "L898902C" not in repr(APPENDIX_D_KEY)
    assert "123456" not in repr(CanKey("123456"))


def test_refused_and_absent_files_are_reported_and_the_read_goes_on() -> None:
    lds = _lds()
    com = tlv.encode(0x60, tlv.encode(0x5F01, b"0107") + tlv.encode(0x5C, b"\x61\x75\x6b\x6f"))
    lds[0x011E] = com  # lists DG11, which the card does not have
    card = QuirkyCard(lds, denied=frozenset({0x010F}))
    session = ChipSession(card, APPENDIX_D_KEY)
    session.open()
    result = session.read_all()
    assert result.unavailable == {
        "DG11.bin": "CHIP_FILE_NOT_FOUND",
        "DG15.bin": "CHIP_ACCESS_DENIED",
    }
    assert set(result.contents) == {"EF_COM.bin", "DG1.bin", "DG2.bin", "EF_SOD.bin"}


def test_6cxx_at_the_end_of_a_file_does_not_shrink_later_reads() -> None:
    lds = _lds()
    card = QuirkyCard(lds, strict_eof=True)
    session, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]
    assert session.file_reader._read_size == 0xDF


def test_extended_length_announced_only_in_the_atr() -> None:
    """Historical bytes 80 73 A0 21 C0: card capabilities, third byte b7 = extended Lc/Le."""
    atr = bytes.fromhex("3B8580018073A021C0") + b"\x00"
    lds = _lds(dg2_size=5000)
    card = QuirkyCard(lds, atr=atr, extended=True)
    session, contents = _read_all(card)
    assert contents["DG2.bin"] == lds[0x0102]
    assert session.file_reader._extended_read_size == (1024 - 21) // 16 * 16 - 1
    silent = QuirkyCard(lds, extended=True)
    session, _ = _read_all(silent)
    assert session.file_reader._extended_read_size is None  # nothing announced: short length only
