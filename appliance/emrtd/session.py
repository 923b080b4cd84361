"""The terminal's session with an eMRTD chip over a `CardTransport` (ICAO 9303-11 §4, 9303-10 §4).

Order of play: connect; read EF.CardAccess in plain from the MF; PACE with the strongest
supported PACEInfo, else (or when PACE fails and the key is the MRZ) BAC; SELECT the eMRTD
application; then files are read under Secure Messaging by the session's `FileReader`
(`file_reader.py`: read-size ladder, short EF identifiers, odd INS, extended length).

This module is access control only: which protocol, its retries and fallbacks, the SM keys and
their restart. Tolerances learned from real chips: no Le on SELECT and MSE:Set AT; MSE:Set AT
retried with (or without) DO'84 when the first form is refused.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from typing import Literal

from appliance.emrtd.chip.genuineness import authenticate_chip
from appliance.emrtd.chip.terminal_auth import TerminalAuthState
from appliance.emrtd.file_reader import FileRead, FileReader, timed
from appliance.emrtd.lds import card_access as card_access_file
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.protocol import files
from appliance.emrtd.protocol.apdu import (
    SW_OK,
    ApduChannel,
    ApduError,
    CommandApdu,
    ResponseApdu,
)
from appliance.emrtd.protocol.bac import GET_CHALLENGE, BacTerminal
from appliance.emrtd.protocol.crypto import CipherKind, Random
from appliance.emrtd.protocol.domain_parameters import is_standard, standard_group
from appliance.emrtd.protocol.files import ElementaryFile
from appliance.emrtd.protocol.pace import PacePassword, PaceProtocol
from appliance.emrtd.protocol.pace_cam import CamEvidence, cam_evidence
from appliance.emrtd.protocol.pace_terminal import PaceTerminal, supported
from appliance.emrtd.protocol.sm import SecureMessaging, SessionKeys
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.mrz.check_digits import mrz_information
from appliance.ports import CardInfo, CardTransport, TransportError


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
    #: EAC: with an inspection system's chain and key, TA after CA, then DG3/DG4 as allowed
    terminal: TerminalCredentials | None = field(default=None, repr=False)


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
        self.timings_ms: dict[str, float] = {}
        #: reads whole files, in plain before access control and under SM after it
        self.file_reader = FileReader(
            self._transmit,
            self.timings_ms,
            max_read_size=self.options.max_read_size,
            short_ef_ids=self.options.short_ef_ids,
            probe_length=self.options.probe_length,
        )
        self._pace_option: PaceOption | None = None
        #: chip genuineness checks measured in this session (Chip/Active Authentication, and
        #: pace_cam when the chip's CAM answer was unusable)
        self.genuineness: list[Check] = []
        #: what PACE-CAM showed, judged later against EF.CardSecurity and the trust store
        self.cam_evidence: CamEvidence | None = None
        #: Terminal Authentication (DG3/DG4): what it binds to in this session, its check
        self.eac = TerminalAuthState(rng=rng)

    # -- bookkeeping -------------------------------------------------------------------------

    @property
    def apdus(self) -> int:
        return self.channel.apdus

    @property
    def bytes_read(self) -> int:
        return self.file_reader.bytes_read

    def _timed(self, step: str) -> AbstractContextManager[None]:
        return timed(self.timings_ms, step)

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
                self.file_reader.learn_extended_length(self.card.atr if self.card else None)
        pace_error: ApplianceError | None = None
        if isinstance(self.key, CanKey) or self.options.prefer_pace:
            with self._timed("card_access"):
                self.card_access = self.file_reader.read_plain_optional(files.EF_CARD_ACCESS)
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
        self.eac.after_pace(result)
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
        return self.file_reader.read_optional(ef)

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

    def _read_card_security(self) -> None:
        # Optional here: any refusal the card states (even in plain) leaves the session to the
        # application SELECT that follows, which fails cleanly if the card dropped SM.
        with suppress(ApduError):
            self.file_reader.read_file(files.EF_CARD_SECURITY)

    def read_file(self, ef: ElementaryFile) -> bytes:
        """The whole content of `ef` (cached for the session)."""
        return self.file_reader.read_file(ef)

    def read_all(self) -> FileRead:
        """EF.COM, every data group it lists (but DG3/DG4), and EF.SOD, after the MF files
        access control read; with `authenticate_chip`, the chip proves itself genuine once
        EF.COM has named the data groups (Chip Authentication also re-keys SM for the rest)."""
        already_read: dict[str, bytes] = {}
        card_security = self.file_reader.cached(files.EF_CARD_SECURITY)
        if self.options.read_card_security and card_security is not None:
            already_read[files.EF_CARD_SECURITY.dump_name] = card_security
        if self.card_access:
            already_read[files.EF_CARD_ACCESS.dump_name] = self.card_access
        authenticate = self._authenticate_chip if self.options.authenticate_chip else None
        result = self.file_reader.read_all(already_read, authenticate)
        if self.options.terminal is not None and result.eac_protected:
            mrz = self.key.mrz_information() if isinstance(self.key, MrzKey) else None
            with self._timed("terminal_authentication"):
                self.eac.read(self, self.options.terminal, mrz, result, self.file_reader.read_into)
        return result

    def _authenticate_chip(self, data_groups: list[int]) -> None:
        with self._timed("chip_genuineness"):
            ca_done = self.eac.chip_authenticated
            self.genuineness.extend(authenticate_chip(self, data_groups, self._rng, ca_done))


def _mse_accepted(sw: int) -> bool:
    # 63Cx (x > 0) reports remaining password tries and still means the key was set.
    return sw == SW_OK or (sw & 0xFFF0 == 0x63C0 and sw & 0x0F > 0)


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
