"""The virtual eMRTD chip: ISO/IEC 7816-4 file system and ICAO 9303 access control, sans-I/O.

`process_apdu(bytes) -> bytes` is the whole interface (plus power on/off/reset), so the same
chip runs in-process (`VirtualCardTransport`) and behind real pcscd (`hardware_mocks.vpcd`).

The chip has a master file (EF.CardAccess, EF.ATR/INFO, EF.CardSecurity) and the LDS1 eMRTD
application (EF.COM, DG1..DG16, EF.SOD). Application files are readable only inside a Secure
Messaging session opened by BAC or PACE (EF.CardSecurity only after PACE). Once SM is up, every
command must be protected: a plain one or a bad MAC ends the session (6987/6988). Inside a
session the chip also proves it is genuine on request: INTERNAL AUTHENTICATE (Active
Authentication, DG15's key) and Chip Authentication (DG14's key, SM restarts on new keys).

`ChipConfig` switches on the real-world quirks a robust reader has to survive: a maximum read
size (6700 above it), SELECT/MSE that refuse an Le field, MSE that refuses the parameter-id tag
84 (6A87), no extended length (or extended length not announced in EF.ATR/INFO), 6Cxx instead
of 6282 for reads past the end of a file, and BAC-only chips without PACE.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from appliance.emrtd.protocol import tlv
from appliance.emrtd.protocol.apdu import ApduFormatError, CommandApdu
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.terminal_auth import compress
from appliance.errors import LdsError
from hardware_mocks.virtual_chip.atr import build_atr, build_atr_info
from hardware_mocks.virtual_chip.card_auth import (
    AuthenticationRefused,
    active_authentication_signature,
    chip_authentication_cipher,
    chip_authentication_session,
)
from hardware_mocks.virtual_chip.card_bac import BacRefused, CardBac
from hardware_mocks.virtual_chip.card_pace import (
    CardPace,
    PaceOption,
    PaceRefused,
    PasswordRef,
    oid_der,
    pace_password,
)
from hardware_mocks.virtual_chip.card_sm import (
    CardSecureMessaging,
    SmViolation,
    protected_size,
)
from hardware_mocks.virtual_chip.card_ta import CardTerminalAuth, EacMemory, EacTrust
from hardware_mocks.virtual_chip.file_system import FileSystem
from hardware_mocks.virtual_chip.status import (
    SW_AUTH_FAILED,
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS,
    SW_DATA_NOT_FOUND,
    SW_INS_NOT_SUPPORTED,
    SW_LAST_COMMAND_EXPECTED,
    SW_LC_INCONSISTENT,
    SW_NO_PRECISE_DIAGNOSIS,
    SW_OK,
    SW_SECURITY_STATUS,
    SW_SM_MISSING,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    Response,
)

log = logging.getLogger(__name__)

FID_CARD_ACCESS = 0x011C
FID_CARD_SECURITY = 0x011D
FID_ATR_INFO = 0x2F01
FID_CVCA = 0x011C  # in the eMRTD application (EF.CardAccess has the same FID in the MF)
#: DG3 (fingerprints) and DG4 (iris) need Extended Access Control (Terminal Authentication)
EAC_PROTECTED = frozenset({0x0103, 0x0104})


class Access(StrEnum):
    """The security status reached in this session."""

    NONE = "none"
    BAC = "BAC"
    PACE = "PACE"


@dataclass(frozen=True)
class ChipConfig:
    """Behaviour knobs, defaults being a well-behaved modern passport."""

    #: largest Ne READ BINARY accepts; above it the chip answers 6700 (real chips: 0xDF..0xFFFF)
    max_read_size: int = 65536
    #: SELECT and MSE:Set AT with an Le field are answered 6700 (seen on some chips)
    rejects_le_on_select: bool = False
    #: MSE:Set AT with the parameter-id DO'84 is answered 6A87
    rejects_tag84: bool = False
    #: extended length APDUs accepted (else 6700)
    extended_length: bool = True
    #: False: extended length works but neither EF.ATR/INFO nor the ATR says so (None: it does
    #: whenever it is supported)
    announce_extended_length: bool | None = None
    #: answer 6Cxx (xx = bytes left) instead of data + 6282 when Ne runs past the end of a file
    strict_le: bool = False
    #: no PACE: no EF.CardAccess, MSE:Set AT for PACE refused
    bac_only: bool = False
    #: after PACE, Terminal Authentication takes the document number (MRZ password) or the CAN
    #: as ID_PICC, the "static binding" some States issued (TR-03110-1 §3.5), not Comp(PK_PICC)
    ta_static_binding: bool = False
    #: Terminal Authentication expects an ID_PICC no terminal sends: both bindings refused
    ta_refuses_every_binding: bool = False
    #: source of RND.IC, K.IC, PACE nonces and keys (inject fixed bytes to replay ICAO examples)
    rng: Random = field(default=os.urandom, compare=False)

    @property
    def announces_extended_length(self) -> bool:
        if self.announce_extended_length is None:
            return self.extended_length
        return self.announce_extended_length


@dataclass(frozen=True)
class ChipContents:
    """What a chip is personalised with: its files and the secrets its protocols need."""

    #: master-file EFs by FID (EF.CardAccess 011C, EF.CardSecurity 011D); EF.ATR/INFO is added
    mf_files: Mapping[int, bytes]
    #: eMRTD application EFs by FID (EF.COM 011E, DG1 0101 .. DG16 0110, EF.SOD 011D)
    lds_files: Mapping[int, bytes]
    #: MRZ information (document number, birth and expiry dates with check digits): BAC/PACE key
    mrz_information: str
    can: str | None = None
    #: the PACEInfos of EF.CardAccess, in the chip's order of preference
    pace_options: tuple[PaceOption, ...] = ()
    #: private half of DG15's key (INTERNAL AUTHENTICATE); None: no Active Authentication
    active_authentication_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = field(
        default=None, repr=False
    )
    #: private half of DG14's ChipAuthenticationPublicKeyInfo; None: no Chip Authentication
    chip_authentication_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    #: CVCA trust point(s) and personalisation date for Terminal Authentication; None: no
    #: EAC, DG3/DG4 are never released
    eac: EacTrust | None = None


class PersonalisationSource(Protocol):
    """Anything that can personalise a chip (a `TravellerProfile`)."""

    def chip_contents(self) -> ChipContents: ...


class VirtualChip:
    """One simulated eMRTD chip. Not thread-safe: one reader talks to a card at a time."""

    def __init__(
        self, contents: ChipContents | PersonalisationSource, config: ChipConfig | None = None
    ) -> None:
        if not isinstance(contents, ChipContents):
            contents = contents.chip_contents()
        self.contents = contents
        self.config = config or ChipConfig()
        announce = self.config.extended_length and self.config.announces_extended_length
        mf = {FID_ATR_INFO: build_atr_info(announce, self.config.max_read_size + 64)}
        mf.update(
            (fid, bytes(data))
            for fid, data in contents.mf_files.items()
            if not (self.config.bac_only and fid == FID_CARD_ACCESS)
        )
        #: trust points and current date: kept across sessions, as in the chip's memory
        self.eac_memory = EacMemory.personalise(contents.eac) if contents.eac else None
        lds = dict(contents.lds_files)
        if self.eac_memory is not None:
            lds.setdefault(FID_CVCA, self.eac_memory.cvca_file())
        self.files = FileSystem(
            mf,
            lds,
            max_read_size=self.config.max_read_size,
            strict_le=self.config.strict_le,
            rejects_le_on_select=self.config.rejects_le_on_select,
        )
        self.atr = build_atr(announce)
        self.powered = False
        #: APDUs processed since power-on (the benchmark reports it)
        self.apdu_count = 0
        self._reset_state()

    # --- power --------------------------------------------------------------------------------

    def power_on(self) -> bytes:
        """Power the chip (fresh session state unless it is already powered); return the ATR."""
        if not self.powered:
            self.powered = True
            self._reset_state()
        return self.atr

    def power_off(self) -> None:
        self.powered = False
        self._reset_state()

    def reset(self) -> bytes:
        """Warm reset: security status and selections are lost, as on a real card."""
        self.powered = True
        self._reset_state()
        return self.atr

    def _reset_state(self) -> None:
        self.files.reset()
        self._sm: CardSecureMessaging | None = None
        self._access = Access.NONE
        self._bac = CardBac(self.contents.mrz_information, self.config.rng)
        self._pace: CardPace | None = None
        #: cipher of a Chip Authentication armed by MSE:Set AT, waiting for GENERAL AUTHENTICATE
        self._ca_cipher: CipherKind | None = None
        #: Chip Authentication succeeded in this session (SM now runs on its keys)
        self.chip_authenticated = False
        #: keys of a PACE run completed under SM: they take over once its answer is protected
        self._pending_sm: CardSecureMessaging | None = None
        #: Terminal Authentication: ID_PICC of this session, the terminal's newest ephemeral key
        #: that authenticated the chip (Chip Authentication's, or PACE's after PACE-CAM), which
        #: TA binds to, and its state
        self._id_picc = self.contents.mrz_information[:-14].encode("ascii")
        self._ca_terminal_key: bytes | None = None
        self._ta = self._new_ta()
        self.apdu_count = 0

    @property
    def access(self) -> Access:
        return self._access

    # --- APDU dispatch ------------------------------------------------------------------------

    def process_apdu(self, apdu: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW1 SW2) out. Never raises."""
        if not self.powered:
            return SW_NO_PRECISE_DIAGNOSIS.to_bytes(2, "big")
        self.apdu_count += 1
        try:
            command = CommandApdu.decode(apdu)
        except ApduFormatError:
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        if command.is_extended and not self.config.extended_length:
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        if command.cla & 0x80 or command.cla & 0x63:
            return SW_CLA_NOT_SUPPORTED.to_bytes(2, "big")
        if command.cla & 0x0C == 0x0C:
            return self._process_protected(command)
        if command.cla & 0x0C:
            return SW_CLA_NOT_SUPPORTED.to_bytes(2, "big")
        if self._sm is not None:
            self._end_session()
            return SW_SM_MISSING.to_bytes(2, "big")
        response = self._dispatch(command)
        return response.data + response.sw.to_bytes(2, "big")

    def _dispatch(self, command: CommandApdu) -> Response:
        """Run one plain command; a fault in the chip itself is 6F00, as on a real card."""
        try:
            return self._run(command)
        except Exception:  # the bridge thread must survive any input; the test sees 6F00
            log.exception("virtual chip fault on INS %02X", command.ins)
            return Response.status(SW_NO_PRECISE_DIAGNOSIS)

    def _end_session(self) -> None:
        self._sm = None
        self._access = Access.NONE
        self._pace = None
        self._ca_cipher = None
        self.chip_authenticated = False
        self._ca_terminal_key = None
        self._ta = self._new_ta()

    def _new_ta(self) -> CardTerminalAuth | None:
        memory = self.eac_memory
        return CardTerminalAuth(memory, self.config.rng) if memory is not None else None

    def _process_protected(self, command: CommandApdu) -> bytes:
        sm = self._sm
        if sm is None:
            return SW_SM_MISSING.to_bytes(2, "big")
        try:
            plain = sm.unprotect(command)
        except SmViolation as exc:
            self._end_session()
            return exc.sw.to_bytes(2, "big")
        response = self._dispatch(plain)
        # Ne of the protected command bounds the protected answer; a missing Le is taken as the
        # largest of its length form (some terminals leave it out of case 1 and 3 commands).
        capacity = command.le or (65536 if command.is_extended else 256)
        if protected_size(len(response.data), sm.cipher.block_size) > capacity:
            response = Response.status(SW_WRONG_LENGTH)
        body = sm.protect(response.data, response.sw, odd_ins=bool(command.ins & 1))
        if self._pending_sm is not None:  # PACE finished under an older SM session
            self._sm, self._pending_sm = self._pending_sm, None
        return body + response.sw.to_bytes(2, "big")

    def _run(self, command: CommandApdu) -> Response:
        handler = {
            0xA4: self._select,
            0xB0: self._read_binary,
            0xB1: self._read_binary_odd,
            0x84: self._get_challenge,
            0x82: self._external_authenticate,
            0x22: self._manage_security_environment,
            0x86: self._general_authenticate,
            0x88: self._internal_authenticate,
            0x2A: self._perform_security_operation,
        }.get(command.ins)
        if handler is None:
            return Response.status(SW_INS_NOT_SUPPORTED)
        return handler(command)

    # --- file system ---------------------------------------------------------------------------

    def _readable(self, in_application: bool, fid: int) -> bool:
        """Access conditions: MF files are free (EF.CardSecurity only after PACE); the eMRTD
        application needs BAC or PACE, and DG3/DG4 would need EAC."""
        if not in_application:
            return fid != FID_CARD_SECURITY or self._access is Access.PACE
        if fid in EAC_PROTECTED:
            return self._ta is not None and self._ta.may_read(fid & 0xFF)
        return self._access is not Access.NONE

    def _select(self, command: CommandApdu) -> Response:
        return self.files.select(command)

    def _read_binary(self, command: CommandApdu) -> Response:
        return self.files.read_binary(command, self._readable)

    def _read_binary_odd(self, command: CommandApdu) -> Response:
        return self.files.read_binary_odd(command, self._readable)

    # --- BAC ----------------------------------------------------------------------------------

    def _get_challenge(self, command: CommandApdu) -> Response:
        if command.p1 or command.p2:
            return Response.status(SW_WRONG_P1P2)
        if command.le != 8 or command.data:
            return Response.status(SW_WRONG_LENGTH)
        if self._sm is not None and self._ta is not None and self._ta.wants_challenge:
            return Response(self._ta.get_challenge(), SW_OK)
        return Response(self._bac.get_challenge(), SW_OK)

    def _external_authenticate(self, command: CommandApdu) -> Response:
        if self._sm is not None:
            return self._terminal_authenticate(command)
        if self._bac.rnd_ic is None:
            return Response.status(SW_CONDITIONS)
        try:
            answer, session = self._bac.external_authenticate(command.data)
        except BacRefused:
            return Response.status(SW_AUTH_FAILED)
        self._sm = session
        self._access = Access.BAC
        return Response(answer, SW_OK)

    # --- PACE ---------------------------------------------------------------------------------

    def _manage_security_environment(self, command: CommandApdu) -> Response:
        if command.le is not None and self.config.rejects_le_on_select:
            return Response.status(SW_WRONG_LENGTH)
        try:
            objects = {item.tag: item.value for item in tlv.parse_all(command.data)}
        except LdsError:
            return Response.status(SW_WRONG_DATA)
        p1p2 = (command.p1, command.p2)
        if p1p2 == (0xC1, 0xA4) and not self.config.bac_only:
            return self._set_at_pace(objects)
        if p1p2 == (0x41, 0xA4):
            return self._set_at_chip_authentication(objects)
        if p1p2 == (0x41, 0xA6):
            return self._set_kat_chip_authentication(objects)
        if p1p2 in ((0x81, 0xB6), (0x81, 0xA4)):
            return self._set_terminal_authentication(p1p2[1], objects)
        return Response.status(SW_WRONG_P1P2)

    def _set_at_pace(self, objects: dict[int, bytes]) -> Response:
        if 0x84 in objects and self.config.rejects_tag84:
            return Response.status(SW_LC_INCONSISTENT)
        option = self._pace_option(objects.get(0x80), objects.get(0x84))
        ref = objects.get(0x83)
        if option is None or ref is None or len(ref) != 1 or ref[0] not in (1, 2):
            return Response.status(SW_WRONG_DATA)
        contents = self.contents
        password = pace_password(PasswordRef(ref[0]), contents.mrz_information, contents.can)
        if password is None:
            return Response.status(SW_DATA_NOT_FOUND)
        # the identifier a static-binding chip expects in TA: what the password was made of
        self._static_id_picc = (contents.mrz_information[:-14] if ref[0] == 1
                                else contents.can or "").encode("ascii")  # fmt: skip
        try:
            self._pace = CardPace(
                option, password, self.config.rng, contents.chip_authentication_key
            )
        except ValueError:  # PACE-CAM offered but this chip has no CA key: misconfigured chip
            return Response.status(SW_DATA_NOT_FOUND)
        return Response.status(SW_OK)

    # --- Chip Authentication and Active Authentication ------------------------------------------

    def _set_at_chip_authentication(self, objects: dict[int, bytes]) -> Response:
        """CA with GENERAL AUTHENTICATE (AES suites): MSE:Set AT names the protocol OID."""
        if self._access is Access.NONE:
            return Response.status(SW_SECURITY_STATUS)
        if self.contents.chip_authentication_key is None:
            return Response.status(SW_DATA_NOT_FOUND)
        oid = objects.get(0x80)
        cipher = chip_authentication_cipher(_oid_text(oid)) if oid else None
        if cipher is None:
            return Response.status(SW_WRONG_DATA)
        self._ca_cipher = cipher
        return Response.status(SW_OK)

    def _set_kat_chip_authentication(self, objects: dict[int, bytes]) -> Response:
        """CA for 3DES chips: MSE:Set KAT carries the terminal's ephemeral key in DO'91."""
        if self._access is Access.NONE:
            return Response.status(SW_SECURITY_STATUS)
        if 0x91 not in objects:
            return Response.status(SW_WRONG_DATA)
        return self._chip_authenticate(objects[0x91], CipherKind.TDES, b"")

    def _chip_authenticate(
        self, terminal_key: bytes, cipher: CipherKind, answer: bytes
    ) -> Response:
        key = self.contents.chip_authentication_key
        if key is None:
            return Response.status(SW_DATA_NOT_FOUND)
        try:
            session = chip_authentication_session(key, terminal_key, cipher)
        except AuthenticationRefused:
            return Response.status(SW_WRONG_DATA)
        self._install_session(session)
        self.chip_authenticated = True
        self._ca_terminal_key = terminal_key
        self._ta = self._new_ta()  # TA's rights are bound to the SM of the newest key
        return Response(answer, SW_OK)

    def _install_session(self, session: CardSecureMessaging) -> None:
        """New SM keys: at once without SM, else after this command's answer is protected."""
        if self._sm is None:
            self._sm = session
        else:
            self._pending_sm = session

    def _internal_authenticate(self, command: CommandApdu) -> Response:
        key = self.contents.active_authentication_key
        if key is None:
            return Response.status(SW_INS_NOT_SUPPORTED)
        if self._access is Access.NONE:
            return Response.status(SW_SECURITY_STATUS)
        if command.p1 or command.p2:
            return Response.status(SW_WRONG_P1P2)
        try:
            signature = active_authentication_signature(key, command.data, self.config.rng)
        except AuthenticationRefused:
            return Response.status(SW_WRONG_LENGTH)
        return Response(signature, SW_OK)

    def _pace_option(self, oid: bytes | None, parameter_id: bytes | None) -> PaceOption | None:
        if oid is None:
            return None
        for option in self.contents.pace_options:
            if oid_der(option.oid)[2:] != oid:
                continue
            if parameter_id is None or int.from_bytes(parameter_id, "big") == option.parameter_id:
                return option
        return None

    def _general_authenticate(self, command: CommandApdu) -> Response:
        pace = self._pace
        if pace is None and self._ca_cipher is not None:
            return self._general_authenticate_ca(command, self._ca_cipher)
        if pace is None or (command.p1, command.p2) != (0x00, 0x00):
            return Response.status(SW_CONDITIONS)
        last = not command.cla & 0x10
        if last != (pace.step == 4):  # steps 1-3 are chained (CLA b5), step 4 ends the chain
            self._pace = None
            return Response.status(SW_LAST_COMMAND_EXPECTED if pace.step == 4 else SW_CONDITIONS)
        try:
            answer, session = pace.general_authenticate(command.data)
        except PaceRefused as exc:
            self._pace = None
            return Response.status(exc.sw)
        if session is not None:
            self._pace = None
            self._access = Access.PACE
            self._id_picc = (
                b"not an identifier a terminal has"
                if self.config.ta_refuses_every_binding
                else self._static_id_picc
                if self.config.ta_static_binding
                else compress(pace.chip_public_key)
            )
            # after PACE-CAM the terminal's PACE key is the one TA binds to; a plain PACE
            # leaves nothing to bind to until Chip Authentication
            self._ca_terminal_key = pace.terminal_public_key if pace.chip_authenticating else None
            self.chip_authenticated = False
            self._ta = self._new_ta()
            self._install_session(session)
        return Response(answer, SW_OK)

    def _general_authenticate_ca(self, command: CommandApdu, cipher: CipherKind) -> Response:
        self._ca_cipher = None
        try:
            outer = tlv.parse_one(command.data)
            inner = tlv.find(outer.value, 0x80) if outer.tag == 0x7C else None
        except LdsError:
            inner = None
        if inner is None:
            return Response.status(SW_WRONG_DATA)
        return self._chip_authenticate(inner.value, cipher, b"\x7c\x00")

    # --- Terminal Authentication (card_ta.py) -----------------------------------------------------

    def _ta_ready(self) -> CardTerminalAuth | Response:
        """TA needs EAC on this chip and Chip Authentication or PACE-CAM in this SM session."""
        if self._ta is None:
            return Response.status(SW_INS_NOT_SUPPORTED)
        if self._sm is None or self._ca_terminal_key is None:
            return Response.status(SW_SECURITY_STATUS)
        return self._ta

    def _set_terminal_authentication(self, template: int, objects: dict[int, bytes]) -> Response:
        ta = self._ta_ready()
        if isinstance(ta, Response):
            return ta
        if 0x83 not in objects:
            return Response.status(SW_WRONG_DATA)
        sw = ta.set_dst(objects[0x83]) if template == 0xB6 else ta.set_at(objects[0x83])
        return Response.status(sw)

    def _perform_security_operation(self, command: CommandApdu) -> Response:
        """PSO:Verify Certificate (P1P2 00BE), the only PSO this chip knows."""
        if (command.p1, command.p2) != (0x00, 0xBE):
            return Response.status(SW_WRONG_P1P2)
        ta = self._ta_ready()
        if isinstance(ta, Response):
            return ta
        sw = ta.verify_certificate(command.data)
        if sw == SW_OK:  # a CVCA link certificate may have moved the trust point: EF.CVCA says so
            self.files.application[FID_CVCA] = ta.memory.cvca_file()
        return Response.status(sw)

    def _terminal_authenticate(self, command: CommandApdu) -> Response:
        ta = self._ta_ready()
        if isinstance(ta, Response):
            return Response.status(SW_CONDITIONS)
        assert self._ca_terminal_key is not None  # checked by _ta_ready
        sw = ta.external_authenticate(command.data, self._id_picc, self._ca_terminal_key)
        return Response.status(sw)


def _oid_text(content: bytes) -> str:
    """Dotted text of OID content octets (the value of DO'80, without tag and length)."""
    try:
        return str(core.ObjectIdentifier.load(b"\x06" + bytes([len(content)]) + content).dotted)
    except (ValueError, TypeError):
        return ""
