"""Terminal Authentication over a chip session, reported as the `terminal_authentication` check.

Runs the sans-I/O `TerminalAuthentication` (appliance.emrtd.protocol.terminal_auth) after Chip
Authentication or PACE-CAM (`TerminalAuthState` keeps the key it binds to): the chain for the
CVCA EF.CVCA names, then the challenge's signature. What went wrong gets its own reason so an
officer (and the tests) can tell a terminal whose chain the chip does not trust
(`TA_CHAIN_UNTRUSTED`) from an expired one (`TA_CERT_EXPIRED`) and from a refused signature
(`TA_FAILED`). Transport faults propagate.

A chip that refuses the dynamic binding after PACE gets one retry with the static one (the
document number as ID_PICC) in a new access session; after PACE-GM or -IM that session needs a
new Chip Authentication too (`genuineness.renew_chip_authentication`), which must pass again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol, TypeVar

from appliance.emrtd.chip.chip_auth import SecureChannel
from appliance.emrtd.chip.genuineness import RenewableSession, renew_chip_authentication
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.protocol import cvc
from appliance.emrtd.protocol.apdu import ApduError
from appliance.emrtd.protocol.crypto import Random
from appliance.emrtd.protocol.files import DATA_GROUPS, EF_CVCA, ElementaryFile
from appliance.emrtd.protocol.pace import PaceResult
from appliance.emrtd.protocol.sm import SmError
from appliance.emrtd.protocol.terminal_auth import (
    GET_CHALLENGE,
    TaRefused,
    TerminalAuthentication,
    TerminalCredentials,
    compress,
    id_picc_from_mrz,
    parse_cvca_file,
)
from appliance.errors import ApplianceError, LdsError, Reason

_NAME = CheckName.TERMINAL_AUTHENTICATION
#: what ends the whole read, not just a retry (see `_transport_fault`)
_TRANSPORT_FAULTS = (Reason.CHIP_REMOVED, Reason.CHIP_COMMUNICATION, Reason.CHIP_NOT_PRESENT)


def _rights_text(credentials: TerminalCredentials) -> str:
    granted = [f"DG{n}" for n in (3, 4) if credentials.may_read(n)]
    return "read " + (" and ".join(granted) if granted else "nothing")


def run_terminal_authentication(
    channel: SecureChannel,
    credentials: TerminalCredentials,
    *,
    cvca_file: bytes | None,
    id_picc: bytes,
    ephemeral_public: bytes,
    today: date,
) -> Check:
    """TA v1 with `credentials`; `ephemeral_public` is the key Chip Authentication sent."""
    run = TerminalAuthentication(credentials, id_picc, ephemeral_public, today)
    try:
        chain = run.chain_for(parse_cvca_file(cvca_file) if cvca_file else [])
    except TaRefused as exc:
        return Check.failed(_NAME, exc.reason, exc.detail)
    except LdsError as exc:
        return Check.failed(_NAME, exc.reason, f"EF.CVCA unreadable: {exc.detail}")
    for cert in chain:
        try:
            for command in run.certificate_commands(cert):
                channel.transmit(command).check("certificate")
        except (ApduError, SmError) as exc:
            return Check.failed(
                _NAME,
                Reason.TA_CHAIN_UNTRUSTED,
                f"chip refused the {_role(cert)} certificate {cert.chr} ({exc.detail})",
            )
    try:
        channel.transmit(run.mse_set_at()).check("MSE:Set AT")
        challenge = channel.transmit(GET_CHALLENGE).check("GET CHALLENGE")
        channel.transmit(run.external_authenticate(challenge)).check("EXTERNAL AUTHENTICATE")
    except TaRefused as exc:
        return Check.failed(_NAME, exc.reason, exc.detail)
    except (ApduError, SmError) as exc:
        return Check.failed(_NAME, Reason.TA_FAILED, f"chip refused: {exc.detail}")
    return Check.passed(_NAME, f"TA v1 as {credentials.terminal.chr}: {_rights_text(credentials)}")


class EacChannel(RenewableSession, Protocol):
    """A chip session after Chip Authentication, as Terminal Authentication drives it:
    `restart_access` opens the new session a retry needs (TA runs once per session), in which
    Chip Authentication is run again (`renew_chip_authentication`)."""


def authenticate_terminal(
    channel: EacChannel,
    credentials: TerminalCredentials,
    *,
    id_picc: bytes | None,
    ca_ephemeral: bytes | None,
) -> Check:
    """TA v1 in a live session, bound to `ca_ephemeral`, the terminal's key of this session's
    Chip Authentication or PACE-CAM (none: nothing to bind to), for the CVCA EF.CVCA names, on
    today's date (UTC)."""
    if ca_ephemeral is None:
        return Check.failed(
            _NAME,
            Reason.TA_FAILED,
            "no Chip Authentication or PACE-CAM in this session to bind TA to",
        )
    if id_picc is None:
        return Check.failed(_NAME, Reason.TA_FAILED, "no chip identifier (ID_PICC) known")
    return run_terminal_authentication(
        channel,
        credentials,
        cvca_file=channel.read_optional(EF_CVCA),
        id_picc=id_picc,
        ephemeral_public=ca_ephemeral,
        today=datetime.now(UTC).date(),
    )


def eac_refusal(check: Check, credentials: TerminalCredentials, data_group: int) -> Reason | None:
    """Why DG`data_group` is not to be read after `check` (None: read it)."""
    if check.status is not CheckStatus.PASS:
        return check.reason
    return None if credentials.may_read(data_group) else Reason.TA_RIGHTS_MISSING


def id_picc(pace_chip_key: bytes | None, mrz_information: str | None) -> bytes | None:
    """ID_PICC: Comp(the chip's PACE key) after PACE, else the document number (BAC)."""
    if pace_chip_key is not None:
        return compress(pace_chip_key)
    return id_picc_from_mrz(mrz_information) if mrz_information else None


class EacFiles(Protocol):
    """The reader's result so far (`FileRead`): DG3/DG4 as EF.COM lists them, and why files
    are missing."""

    eac_protected: list[ElementaryFile]
    unavailable: dict[str, str]


R = TypeVar("R", bound=EacFiles)


def read_eac_protected(
    channel: EacChannel,
    credentials: TerminalCredentials,
    ids: tuple[bytes | None, bytes | None],
    result: R,
    read_into: Callable[[R, ElementaryFile], object],
) -> Check:
    """Terminal Authentication with `ids` (ID_PICC, the CA key), then each of DG3/DG4 read
    into `result` as far as TA and the chain's rights go; why not, noted in it."""
    check = authenticate_terminal(channel, credentials, id_picc=ids[0], ca_ephemeral=ids[1])
    for ef in result.eac_protected:
        refused = eac_refusal(check, credentials, DATA_GROUPS.index(ef) + 1)
        if refused is not None:
            result.unavailable[ef.dump_name] = refused.value
        else:
            read_into(result, ef)
    return check


@dataclass
class TerminalAuthState:
    """A session's Terminal Authentication: the keys it binds to, and its outcome (`check`).

    TA binds to the terminal's newest ephemeral key that authenticated the chip (TR-03110-1
    §3.5): Chip Authentication's, else, after PACE-CAM, PACE's own; after plain PACE or BAC
    without CA there is none. A new PACE run (SM restarted) forgets an earlier CA key.
    """

    #: the chip's ephemeral PACE key (ID_PICC after PACE)
    pace_chip_key: bytes | None = None
    #: the terminal's ephemeral Chip Authentication key (TA signs over it)
    ca_key: bytes | None = None
    check: Check | None = None
    #: the terminal's ephemeral PACE key when the mapping was CAM (the chip authenticated by it)
    pace_cam_key: bytes | None = None
    #: draws the ephemeral key of the Chip Authentication a static-binding retry runs again
    rng: Random = field(default=os.urandom, repr=False, compare=False)
    #: TA ran in the current access session (the chip allows it once per session)
    _ran_this_session: bool = field(default=False, init=False, repr=False)

    def chip_authenticated(self, ephemeral_public: bytes) -> None:
        self.ca_key = ephemeral_public

    def pace_established(self, chip_key: bytes, terminal_key: bytes, *, cam: bool) -> None:
        """A PACE run finished: ID_PICC from the chip's key; with CAM, the key TA binds to."""
        self.pace_chip_key = chip_key
        self.pace_cam_key = terminal_key if cam and terminal_key else None
        self.ca_key = None
        self._ran_this_session = False

    def after_pace(self, result: PaceResult) -> None:
        cam = result.protocol.mapping == "CAM"
        self.pace_established(result.chip_public_key, result.terminal_public_key, cam=cam)

    @property
    def binding_key(self) -> bytes | None:
        """The ephemeral key TA signs over: CA's (the newer) or PACE-CAM's; None: neither ran."""
        return self.ca_key if self.ca_key is not None else self.pace_cam_key

    def read(
        self,
        channel: EacChannel,
        credentials: TerminalCredentials,
        mrz_information: str | None,
        result: R,
        read_into: Callable[[R, ElementaryFile], object],
    ) -> None:
        """TA, then DG3/DG4 into `result` (see `read_eac_protected`); TA runs once per access
        session, the static-binding retry in a new one."""
        if self._ran_this_session:
            return  # the chip would refuse it; the first run's check stands
        self._ran_this_session = True
        ids = (id_picc(self.pace_chip_key, mrz_information), self.binding_key)
        self.check = read_eac_protected(channel, credentials, ids, result, read_into)
        if mrz_information and self._static_binding_worth_a_try():
            self._retry_static(channel, credentials, mrz_information, result, read_into)

    def _static_binding_worth_a_try(self) -> bool:
        """TR-03110-1 §3.5: after PACE, a chip that refused the signature with the dynamic
        binding may be one of the early ones with the static binding. After BAC ID_PICC
        already is the document number: nothing else to try."""
        check = self.check
        return (
            check is not None
            and check.reason is Reason.TA_FAILED
            and check.detail.startswith("chip refused")
            and self.pace_chip_key is not None
            and self.binding_key is not None
        )

    def _retry_static(
        self,
        channel: EacChannel,
        credentials: TerminalCredentials,
        mrz_information: str,
        result: R,
        read_into: Callable[[R, ElementaryFile], object],
    ) -> None:
        """One TA with the document number as ID_PICC in a new session, bound to that
        session's key: PACE-CAM's own, or (after PACE-GM/IM) a new Chip Authentication's,
        which must pass again. A failed retry leaves the dynamic binding's refusal standing."""
        renew_ca = self.ca_key is not None
        try:
            channel.restart_access()  # a new PACE session: new keys, TA may run again
        except ApplianceError as exc:
            if _transport_fault(exc):
                raise
            return  # the chip would not open another session: the first refusal stands
        if self._ran_this_session:
            return  # no new PACE session came of it: never TA twice in one
        if renew_ca and not renew_chip_authentication(channel, self.rng, self.chip_authenticated):
            return  # CA's verdict is now failed (fail closed); DG3/DG4 stay refused
        self._ran_this_session = True
        refused = {ef.dump_name: result.unavailable.pop(ef.dump_name, None)
                   for ef in result.eac_protected}  # fmt: skip
        ids = (id_picc_from_mrz(mrz_information), self.binding_key)
        retry = read_eac_protected(channel, credentials, ids, result, read_into)
        if retry.status is CheckStatus.PASS:
            self.check = Check.passed(_NAME, f"{retry.detail} (static binding: document number)")
            return
        for name, reason in refused.items():  # the dynamic binding's refusal is the news
            if reason is not None:
                result.unavailable[name] = reason


def _transport_fault(exc: ApplianceError) -> bool:
    """The card left or cannot be reached: that ends the whole read, not just a retry. A status
    word (ApduError, even one reported as CHIP_COMMUNICATION) or a bad SM answer is the chip's
    refusal."""
    return not isinstance(exc, ApduError | SmError) and exc.reason in _TRANSPORT_FAULTS


def _role(cert: cvc.CvCertificate) -> str:
    return {cvc.Role.IS: "terminal", cvc.Role.CVCA: "CVCA link"}.get(cert.role, "DV")


__all__ = [
    "EacChannel",
    "EacFiles",
    "TerminalAuthState",
    "authenticate_terminal",
    "eac_refusal",
    "id_picc",
    "read_eac_protected",
    "run_terminal_authentication",
]
