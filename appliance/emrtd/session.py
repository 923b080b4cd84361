"""The terminal's session with an eMRTD chip over a `CardTransport` (ICAO 9303-11 §4, 9303-10 §4).

Order of play: connect; read EF.CardAccess in plain from the MF; PACE with the strongest
supported PACEInfo, else (or when PACE fails and the key is the MRZ) BAC; SELECT the eMRTD
application; read files under Secure Messaging: the first few bytes tell the TLV length, then
chunked READ BINARY (short EF identifier in P1 for the first read, odd INS B1 with DO'54 for
offsets beyond 32767, the read size stepping down when the card refuses it).

Tolerances learned from real chips: no Le on SELECT and MSE:Set AT; MSE:Set AT retried with
(or without) DO'84 when the first form is refused; SELECT by FID when a card rejects short EF
identifiers; extended length only when EF.ATR/INFO announces it and the reader carries it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

from appliance.config import ChipConfig
from appliance.emrtd.chip.genuineness import authenticate_chip
from appliance.emrtd.lds import card_access as card_access_file
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.protocol import files, tlv
from appliance.emrtd.protocol.apdu import (
    SW_END_OF_FILE,
    SW_OK,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    ApduChannel,
    ApduError,
    CommandApdu,
    ResponseApdu,
)
from appliance.emrtd.protocol.bac import GET_CHALLENGE, BacTerminal, Random
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.domain_parameters import is_standard, standard_group
from appliance.emrtd.protocol.files import ElementaryFile
from appliance.emrtd.protocol.pace import PacePassword, PaceProtocol, PaceTerminal, supported
from appliance.emrtd.protocol.pace_cam import CamEvidence, cam_evidence
from appliance.emrtd.protocol.sm import SecureMessaging, SessionKeys
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.mrz.check_digits import mrz_information
from appliance.ports import CardInfo, CardTransport, TransportError

#: read sizes tried in turn when a card refuses a READ BINARY length (6700, 6Cxx)
_READ_SIZE_LADDER = (0xDF, 0xA0, 0x80, 0x68, 0x40, 0x20, 0x10)
#: SW answers that mean "this card does not take a short EF identifier in P1"
_SFI_REFUSED = (0x6A86, 0x6B00, 0x6D00, 0x6A81, 0x6986, 0x6981, 0x6A00)
#: bytes of SM overhead around READ BINARY data in a response: 87 82 LL LL 01 | 99 02 SW | 8E 08
_SM_RESPONSE_OVERHEAD = 5 + 4 + 10 + 2
#: response buffer assumed when a card announces extended length without saying how much
_UNSIZED_EXTENDED_RESPONSE = 1024
#: bytes read first to learn a file's length (tag, and a length of up to 0x82 LL LL)
_FIRST_READ = 4
#: largest DO'53 header around READ BINARY (B1) data: 53 82 LL LL
_DO53_HEADER = 4
#: LDS files that need Terminal Authentication (EAC): not attempted
_EAC_PROTECTED = ("DG3", "DG4")


@dataclass(frozen=True)
class MrzKey:
    """BAC/PACE password from the MRZ: document number, date of birth and expiry (YYMMDD).

    The number may be given as printed, with its '<' fillers: they are stripped, and
    `mrz_information` pads a number shorter than 9 characters back to 9 with '<' (9303-11
    §4.3.2), so "L898902C<" and "L898902C" give the same key; a long TD1 number (over 9
    characters) is used in full, without trailing fillers.
    """

    document_number: str = field(repr=False)
    date_of_birth: str = field(repr=False)
    date_of_expiry: str = field(repr=False)

    def mrz_information(self) -> str:
        number = self.document_number.strip().upper().rstrip("<")
        try:
            return mrz_information(number, self.date_of_birth, self.date_of_expiry)
        except ValueError as exc:
            raise ApplianceError(Reason.USAGE, "MRZ key: dates must be YYMMDD") from exc


@dataclass(frozen=True)
class CanKey:
    """PACE password from the card access number printed on the document."""

    can: str = field(repr=False)


AccessKey = MrzKey | CanKey


@dataclass(frozen=True)
class ReaderOptions:
    prefer_pace: bool = True
    #: largest READ BINARY Le in short length; stepped down when the card refuses it
    max_read_size: int = 0xDF
    #: use extended length when EF.ATR/INFO announces it and the transport carries it
    allow_extended_length: bool = True
    #: read with a short EF identifier in P1 (saves a SELECT per file)
    short_ef_ids: bool = True
    #: after PACE, read EF.CardSecurity (needed later for PACE-CAM and Chip Authentication)
    read_card_security: bool = True
    #: read a file's first 4 bytes to learn its length before reading the rest (the ICAO
    #: Appendix D sequence). Off by default: a first read of a whole chunk learns the length
    #: from the same answer and saves one APDU per file.
    probe_length: bool = False
    #: prove the chip genuine after access: Chip Authentication (DG14), else Active
    #: Authentication (DG15); PACE-CAM evidence is kept whenever PACE used that mapping
    authenticate_chip: bool = True

    @classmethod
    def from_config(cls, chip: ChipConfig) -> ReaderOptions:
        """The reader behaviour the appliance config's [chip] section asks for."""
        return cls(
            prefer_pace=chip.prefer_pace,
            max_read_size=chip.max_read_size,
            allow_extended_length=chip.allow_extended_length,
        )


@dataclass(frozen=True)
class PaceOption:
    """One PACEInfo of EF.CardAccess."""

    protocol: PaceProtocol
    parameter_id: int
    #: several PACEInfos or a proprietary id: DO'84 is needed to say which
    ambiguous: bool = False


@dataclass
class AccessResult:
    protocol: Literal["PACE", "BAC"]
    cipher: str
    mapping: str | None = None
    parameter_id: int | None = None
    #: reason PACE failed before the BAC fallback, if it did
    pace_failure: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "protocol": self.protocol,
            "cipher": self.cipher,
            "mapping": self.mapping,
            "parameter_id": self.parameter_id,
            "pace_failure": self.pace_failure,
        }


@dataclass
class FileRead:
    """What reading every file gave: contents by dump name, and why the others are missing."""

    contents: dict[str, bytes] = field(default_factory=dict)
    #: dump name -> reason code (CHIP_FILE_NOT_FOUND, CHIP_ACCESS_DENIED)
    unavailable: dict[str, str] = field(default_factory=dict)


def parse_pace_options(card_access: bytes) -> list[PaceOption]:
    """The usable PACEInfos of EF.CardAccess, strongest first (ICAO 9303-11 §9.2.1).

    PACEInfos with unknown OIDs, versions other than 2, mappings not plugged in, or domain
    parameters we cannot compute are skipped. Malformed DER is `LDS_MALFORMED`.
    """
    infos = card_access_file.parse(card_access)
    # DO'84 is needed when the chip offers several sets of domain parameters
    ambiguous = len(infos.pace_infos) + len(infos.pace_domain_parameter_infos) > 1
    options: list[PaceOption] = []
    for info in infos.pace_infos:
        try:
            protocol = PaceProtocol.from_oid(info.protocol)
        except ApplianceError:
            continue
        if info.version != 2 or info.parameter_id is None or not supported(protocol):
            continue
        if is_standard(info.parameter_id):
            options.append(PaceOption(protocol, info.parameter_id, ambiguous))
    return sorted(options, key=_strength, reverse=True)


_CIPHER_RANK = {
    CipherKind.TDES: 0,
    CipherKind.AES128: 1,
    CipherKind.AES192: 2,
    CipherKind.AES256: 3,
}


def _strength(option: PaceOption) -> tuple[int, int, int, int]:
    group = standard_group(option.parameter_id)
    # security of the group in bits: half the curve order; DH is weighed by its subgroup
    bits = group.order.bit_length() // 2
    return (
        _CIPHER_RANK[option.protocol.cipher],
        bits,
        1 if option.protocol.key_agreement == "ECDH" else 0,
        # at equal strength CAM wins: it authenticates the chip inside PACE (ICAO 9303-11 J.1)
        1 if option.protocol.mapping == "CAM" else 0,
    )


class ChipSession:
    """One terminal session with one chip. Not thread-safe; one session per card presentation."""

    def __init__(
        self,
        transport: CardTransport,
        key: AccessKey,
        options: ReaderOptions | None = None,
        rng: Random = os.urandom,
    ) -> None:
        self.channel = ApduChannel(transport)
        self.key = key
        self.options = options or ReaderOptions()
        self._rng = rng
        self.sm: SecureMessaging | None = None
        self.access: AccessResult | None = None
        self.card: CardInfo | None = None
        self.card_access: bytes | None = None
        self.bytes_read = 0
        self.timings_ms: dict[str, float] = {}
        self._read_size = min(self.options.max_read_size, 0xDF)
        self._extended_read_size: int | None = None
        self._sfi_ok = self.options.short_ef_ids
        self._cache: dict[str, bytes] = {}
        self._pace_option: PaceOption | None = None
        #: chip genuineness checks measured in this session (Chip/Active Authentication, and
        #: pace_cam when the chip's CAM answer was unusable)
        self.genuineness: list[Check] = []
        #: what PACE-CAM showed, judged later against EF.CardSecurity and the trust store
        self.cam_evidence: CamEvidence | None = None

    # -- bookkeeping -------------------------------------------------------------------------

    @property
    def apdus(self) -> int:
        return self.channel.apdus

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - start) * 1000
            self.timings_ms[step] = round(self.timings_ms.get(step, 0.0) + elapsed, 3)

    # -- session -----------------------------------------------------------------------------

    def open(self) -> AccessResult:
        """Connect, authenticate (PACE, else BAC) and select the eMRTD application."""
        with self._timed("connect"):
            try:
                self.card = self.channel.transport.connect()
            except TransportError as exc:
                reason = Reason.CHIP_REMOVED if exc.removed else Reason.CHIP_NOT_PRESENT
                raise ApplianceError(reason, "no card to connect to") from exc
        if self.options.allow_extended_length and self.channel.transport.max_apdu_size() > 261:
            with self._timed("atr_info"):
                self._learn_extended_length()
        pace_error: ApplianceError | None = None
        if isinstance(self.key, CanKey) or self.options.prefer_pace:
            with self._timed("card_access"):
                self.card_access = self._read_plain_optional(files.EF_CARD_ACCESS)
            options = self._pace_options()
            if not options and isinstance(self.key, CanKey):
                raise ApplianceError(
                    Reason.CHIP_PROTOCOL_UNSUPPORTED, "a CAN needs PACE, which the chip lacks"
                )
            if options:
                try:
                    with self._timed("pace"):
                        self.access = self._pace(options[0])
                except ApplianceError as exc:
                    if exc.reason is Reason.CHIP_REMOVED or isinstance(self.key, CanKey):
                        raise
                    pace_error = exc
        if self.access is not None:
            if self.options.read_card_security:
                with self._timed("card_security"):
                    self._read_card_security()
            with self._timed("select_application"):
                self._select_application()
            return self.access
        try:
            with self._timed("select_application"):
                self._select_application()
            with self._timed("bac"):
                self.access = self._bac()
        except ApplianceError as exc:
            # A chip without BAC says so with a protocol error: then PACE's failure is the news.
            if pace_error is not None and exc.reason not in (
                Reason.CHIP_ACCESS_DENIED,
                Reason.CHIP_REMOVED,
                Reason.BAC_FAILED,
            ):
                raise pace_error from exc
            raise
        if pace_error is not None:
            self.access.pace_failure = pace_error.reason.value
        return self.access

    def close(self) -> None:
        """Forget the session keys and release the card."""
        self.sm = None
        with suppress(TransportError):
            self.channel.transport.disconnect()

    def __enter__(self) -> ChipSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- access control ----------------------------------------------------------------------

    def _pace_options(self) -> list[PaceOption]:
        if not self.card_access:
            return []
        try:
            return parse_pace_options(self.card_access)
        except LdsError:
            return []  # an unreadable EF.CardAccess: BAC is still worth a try

    def _password(self) -> PacePassword:
        if isinstance(self.key, CanKey):
            return PacePassword.from_can(self.key.can)
        return PacePassword.from_mrz(self.key.mrz_information())

    def _pace(self, option: PaceOption) -> AccessResult:
        terminal = PaceTerminal(option.protocol, option.parameter_id, self._password(), self._rng)
        first_with_84 = option.ambiguous or option.parameter_id >= 32
        response = self._transmit_plain(terminal.mse_set_at(first_with_84))
        if not _mse_accepted(response.sw):
            if response.sw == 0x6300 or response.sw & 0xFFF0 == 0x63C0:
                raise ApduError(response.sw, "MSE:Set AT")
            response = self._transmit_plain(terminal.mse_set_at(not first_with_84))
            if not _mse_accepted(response.sw):
                raise ApduError(response.sw, "MSE:Set AT")
        r1 = self._transmit_plain(terminal.step1()).check("GENERAL AUTHENTICATE")
        r2 = self._transmit_plain(terminal.step2(r1)).check("GENERAL AUTHENTICATE")
        r3 = self._transmit_plain(terminal.step3(r2)).check("GENERAL AUTHENTICATE")
        r4 = self._transmit_plain(terminal.step4(r3)).check("GENERAL AUTHENTICATE")
        result = terminal.finish(r4)
        self.sm = SecureMessaging(result.keys)
        self._pace_option = option
        if result.protocol.mapping == "CAM":
            try:
                self.cam_evidence = cam_evidence(result, terminal.mapping)
            except ApplianceError as exc:
                self.genuineness.append(Check.failed(CheckName.PACE_CAM, exc.reason, exc.detail))
        return AccessResult(
            protocol="PACE",
            cipher=result.protocol.cipher.value,
            mapping=result.protocol.mapping,
            parameter_id=result.parameter_id,
        )

    def _bac(self) -> AccessResult:
        if not isinstance(self.key, MrzKey):
            raise ApplianceError(Reason.CHIP_PROTOCOL_UNSUPPORTED, "BAC needs the MRZ key")
        terminal = BacTerminal(self.key.mrz_information(), self._rng)
        rnd_ic = self._transmit_plain(GET_CHALLENGE).check("GET CHALLENGE")
        response = self._transmit_plain(terminal.external_authenticate(rnd_ic))
        keys: SessionKeys = terminal.complete(response.check("EXTERNAL AUTHENTICATE"))
        self.sm = SecureMessaging(keys)
        return AccessResult(protocol="BAC", cipher=CipherKind.TDES.value)

    def _select_application(self) -> None:
        select = CommandApdu(0x00, 0xA4, 0x04, 0x0C, files.EMRTD_AID)
        self._transmit(select).check("SELECT eMRTD application")

    # -- chip genuineness (the `GenuinenessSession` the auth protocols drive) ---------------

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        """Send one command under the session's Secure Messaging."""
        return self._transmit(command)

    def restart_secure_messaging(self, keys: SessionKeys) -> None:
        """Chip Authentication: from the next command on, SM runs on the agreed keys."""
        if self.sm is None:
            raise ApplianceError(Reason.SM_PROTOCOL, "no Secure Messaging session to restart")
        self.sm.rekey(keys)

    @property
    def supports_extended_length(self) -> bool:
        return self.channel.transport.max_apdu_size() > 261

    @property
    def chip_authenticated_by_pace(self) -> bool:
        return self.cam_evidence is not None or any(
            c.name is CheckName.PACE_CAM for c in self.genuineness
        )

    def read_optional(self, ef: ElementaryFile) -> bytes | None:
        try:
            return self.read_file(ef)
        except ApduError as exc:
            if exc.reason is Reason.SM_PROTOCOL:
                raise
            return None
        except LdsError:
            return None  # malformed: `read_all` records it when it reads the file for the dump

    def restart_access(self) -> None:
        """A new PACE (same option) or BAC session, then the application again."""
        self.sm = None
        if self.access is not None and self.access.protocol == "PACE" and self._pace_option:
            with self._timed("pace"):
                self._pace(self._pace_option)
            with self._timed("select_application"):
                self._select_application()
            return
        with self._timed("select_application"):
            self._select_application()
        with self._timed("bac"):
            self._bac()

    # -- transmission ------------------------------------------------------------------------

    def _transmit_plain(self, command: CommandApdu) -> ResponseApdu:
        return self.channel.send(command)

    def _transmit(self, command: CommandApdu) -> ResponseApdu:
        """Send under Secure Messaging once a session exists, in plain before."""
        if self.sm is None:
            return self.channel.send(command)
        protected = self.sm.protect(command)
        return self.sm.unprotect(self.channel.send(protected))

    # -- files -------------------------------------------------------------------------------

    def _learn_extended_length(self) -> None:
        """Use extended length only when the card announces it (ISO/IEC 7816-4 §8.1.1.2.7).

        EF.ATR/INFO may carry DO'7F66 with the card's buffer sizes: reads are sized to fit
        them. A card-capabilities announcement without sizes (DO'47 in EF.ATR/INFO, or
        compact-TLV tag 7 in the ATR's historical bytes) gets a modest extended read size.
        """
        data = self._read_plain_optional(files.EF_ATR_INFO) or b""
        max_response: int | None = None
        capabilities: bytes | None = None
        try:
            info = tlv.find(data, 0x7F66) if data else None
            if info is not None:
                limits = [item.value for item in info.children() if item.tag == 0x02]
                if len(limits) >= 2:
                    max_response = int.from_bytes(limits[1], "big")
            caps = tlv.find(data, 0x47) if data else None
            capabilities = caps.value if caps is not None else None
        except LdsError:
            pass
        if capabilities is None and self.card is not None:
            capabilities = card_capabilities_from_atr(self.card.atr)
        if max_response is None:
            if capabilities is None or len(capabilities) < 3 or not capabilities[2] & 0x40:
                return
            max_response = _UNSIZED_EXTENDED_RESPONSE
        max_data = ((max_response - _SM_RESPONSE_OVERHEAD) // 16) * 16 - 1
        if max_data > 0xFF:
            self._extended_read_size = min(max_data, 0xFFFF)

    def _read_plain_optional(self, ef: ElementaryFile) -> bytes | None:
        """A file of the MF read before access control; None when absent or refused."""
        try:
            return self.read_file(ef)
        except ApplianceError as exc:
            if exc.reason in (Reason.CHIP_REMOVED, Reason.CHIP_NOT_PRESENT):
                raise
            return None

    def _read_card_security(self) -> None:
        # Optional here: any refusal the card states (even in plain) leaves the session to the
        # application SELECT that follows, which fails cleanly if the card dropped SM.
        with suppress(ApduError):
            self.read_file(files.EF_CARD_SECURITY)

    def read_file(self, ef: ElementaryFile) -> bytes:
        """The whole content of `ef` (cached for the session)."""
        if ef.dump_name in self._cache:
            return self._cache[ef.dump_name]
        with self._timed(f"read {ef.name}"):
            data = self._read(ef)
        self._cache[ef.dump_name] = data
        self.bytes_read += len(data)
        return data

    def _read(self, ef: ElementaryFile) -> bytes:
        probe = ef.is_single_tlv and self.options.probe_length
        # A whole first chunk may run past a short file: a 6Cxx then tells where it ends.
        data, eof = self._read_first(ef, _FIRST_READ if probe else self._chunk_size(), not probe)
        if not ef.is_single_tlv:
            while not eof:
                chunk, eof = self._read_at(len(data), self._chunk_size(), final=True)
                data += chunk
                eof = eof or not chunk
            return data
        while True:
            try:
                header, length = tlv.header_size(data)
                break
            except LdsError:
                if eof or len(data) >= 6:
                    raise LdsError(f"{ef.name}: unreadable TLV header") from None
                chunk, eof = self._read_at(len(data), 6 - len(data))
                data += chunk
        total = header + length
        while len(data) < total:
            # beyond 32767 the data comes wrapped in DO'53: leave room for its header
            wanted = total - len(data) + (_DO53_HEADER if len(data) > 0x7FFF else 0)
            size = min(self._chunk_size(), wanted)
            chunk, eof = self._read_at(len(data), size, final=size == wanted)
            if not chunk:
                raise LdsError(f"{ef.name}: file ends before its TLV does")
            data += chunk
        return data[:total]

    def _chunk_size(self) -> int:
        return self._extended_read_size or self._read_size

    def _read_first(self, ef: ElementaryFile, size: int, final: bool) -> tuple[bytes, bool]:
        """First READ BINARY: by short EF identifier when the card takes it, else SELECT first."""
        if self._sfi_ok:
            try:
                return self._read_at(0, size, sfi=ef.sfi, final=final)
            except ApduError as exc:
                if exc.sw not in _SFI_REFUSED:
                    raise
            self._sfi_ok = False
        select = CommandApdu(0x00, 0xA4, 0x02, 0x0C, ef.fid_bytes)
        self._transmit(select).check(f"SELECT {ef.name}")
        return self._read_at(0, size, final=final)

    def _read_at(
        self, offset: int, size: int, sfi: int | None = None, final: bool = False
    ) -> tuple[bytes, bool]:
        """READ BINARY at `offset` of the current EF, or of EF `sfi` (which becomes current).

        `final`: this read should reach the end of the file, so a 6Cxx asking for less says
        where the file ends rather than what the card can send. Returns (data, end reached).
        """
        while True:
            if sfi is not None:
                command = CommandApdu(0x00, 0xB0, 0x80 | sfi, offset, le=size)
            elif offset <= 0x7FFF:
                command = CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, le=size)
            else:
                offset_do = tlv.encode(0x54, offset.to_bytes((offset.bit_length() + 7) // 8, "big"))
                command = CommandApdu(0x00, 0xB1, 0x00, 0x00, offset_do, le=size)
            response = self._transmit(command)
            smaller = self._smaller_size(response.sw, size, final)
            if smaller is None:
                break
            size = smaller
        if response.sw in _SFI_REFUSED and sfi is not None:
            raise ApduError(response.sw, "READ BINARY")
        data, eof = self._read_result(response, size, "READ BINARY")
        if command.ins == 0xB1 and data:
            try:
                wrapped = tlv.parse_one(data)
            except LdsError:
                raise LdsError("READ BINARY (B1) answer is not a DO'53") from None
            if wrapped.tag != 0x53:
                raise LdsError("READ BINARY (B1) answer is not a DO'53")
            data = wrapped.value
        return data, eof

    def _smaller_size(self, sw: int, size: int, final: bool) -> int | None:
        """The next read size after a refusal of `size`, or None when the answer is no refusal."""
        if sw >> 8 == 0x6C and 0 < (sw & 0xFF) < size:
            exact = sw & 0xFF
            if final:
                return exact  # the file ends there: no lesson about the card's read size
        elif sw == SW_WRONG_LENGTH:
            lower = [s for s in _READ_SIZE_LADDER if s < size]
            if not lower:
                raise ApduError(sw, "READ BINARY")
            exact = lower[0]
        else:
            return None
        # The card's limit holds for the rest of the session.
        self._extended_read_size = None
        self._read_size = min(self._read_size, exact)
        return exact

    @staticmethod
    def _read_result(response: ResponseApdu, size: int, command_name: str) -> tuple[bytes, bool]:
        if response.sw == SW_OK:
            return response.data, len(response.data) < size
        if response.sw in (SW_END_OF_FILE, SW_WRONG_P1P2):
            return response.data, True
        raise ApduError(response.sw, command_name)

    def read_all(self) -> FileRead:
        """EF.COM, every data group it lists (but the EAC-protected DG3/DG4), and EF.SOD."""
        result = FileRead()
        if self.options.read_card_security and files.EF_CARD_SECURITY.dump_name in self._cache:
            result.contents[files.EF_CARD_SECURITY.dump_name] = self._cache[
                files.EF_CARD_SECURITY.dump_name
            ]
        if self.card_access:
            result.contents[files.EF_CARD_ACCESS.dump_name] = self.card_access
        com = self._read_into(result, files.EF_COM)
        listed = _com_data_groups(com) if com is not None else None
        if listed is None:
            # no usable EF.COM: try the data groups a passport commonly carries
            listed = [files.data_group(n) for n in (1, 2, 5, 7, 11, 12, 13, 14, 15, 16)]
        wanted = [ef for ef in listed if ef.name not in _EAC_PROTECTED]
        if self.options.authenticate_chip:
            numbers = [files.DATA_GROUPS.index(ef) + 1 for ef in wanted]
            with self._timed("chip_genuineness"):
                self.genuineness.extend(authenticate_chip(self, numbers, self._rng))
        for ef in wanted:
            self._read_into(result, ef)
        self._read_into(result, files.EF_SOD)
        return result

    def _read_into(self, result: FileRead, ef: ElementaryFile) -> bytes | None:
        try:
            data = self.read_file(ef)
        except ApduError as exc:
            # The card refused this file (absent, access conditions, unsupported): note why and
            # go on; a broken SM session (6987/6988) ends the read.
            if exc.reason is Reason.SM_PROTOCOL:
                raise
            result.unavailable[ef.dump_name] = exc.reason.value
            return None
        except LdsError as exc:
            # A malformed file (empty, truncated TLV) fails its own checks, not the whole read:
            # the report still shows the access, DG1 and which file was malformed.
            result.unavailable[ef.dump_name] = exc.reason.value
            return None
        result.contents[ef.dump_name] = data
        return data


def card_capabilities_from_atr(atr: bytes) -> bytes | None:
    """The card capabilities (compact-TLV tag 7) in the ATR's historical bytes, if any.

    ISO/IEC 7816-3 §8.2 locates the historical bytes after the interface bytes; with category
    indicator 80 they are compact-TLV objects (ISO/IEC 7816-4 §8.1.1).
    """
    if len(atr) < 2:
        return None
    count = atr[1] & 0x0F
    pos, indicator = 2, atr[1]
    while True:
        pos += bin(indicator & 0xF0).count("1")
        if not indicator & 0x80 or pos > len(atr):
            break
        indicator = atr[pos - 1]
    historical = atr[pos : pos + count]
    if len(historical) != count or not historical or historical[0] != 0x80:
        return None
    i = 1
    while i < len(historical):
        tag, length = historical[i] >> 4, historical[i] & 0x0F
        value = historical[i + 1 : i + 1 + length]
        if tag == 0x7:
            return value
        i += 1 + length
    return None


def _mse_accepted(sw: int) -> bool:
    # 63Cx (x > 0) reports remaining password tries and still means the key was set.
    return sw == SW_OK or (sw & 0xFFF0 == 0x63C0 and sw & 0x0F > 0)


def _com_data_groups(com: bytes) -> list[ElementaryFile] | None:
    """The data groups EF.COM's tag list (DO'5C) names, in data group order."""
    try:
        outer = tlv.parse_one(com)
        tags = tlv.find(outer.value, 0x5C) if outer.tag == 0x60 else None
    except LdsError:
        return None
    if tags is None:
        return None
    listed = {files.data_group_for_tag(t) for t in tags.value}
    return [ef for ef in files.DATA_GROUPS if ef in listed]


__all__ = [
    "AccessKey",
    "AccessResult",
    "CanKey",
    "ChipSession",
    "FileRead",
    "MrzKey",
    "PaceOption",
    "ReaderOptions",
    "parse_pace_options",
]
