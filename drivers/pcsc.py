"""PC/SC contactless reader adapter (pcsc-lite via pyscard's low-level `smartcard.scard` API).

The low-level API is used rather than pyscard's object layer because a gate needs exact control:
exclusive connections (no other process may interleave APDUs inside a Secure Messaging session),
SCardGetStatusChange for insert/remove events with timeouts, and the precise error codes that tell
"card pulled off the reader mid-read" (`CHIP_REMOVED`) from other faults.
"""

from __future__ import annotations

import logging
import os
import time

from smartcard import scard

from appliance.ports import CardEvent, CardEventKind, CardInfo, TransportError

log = logging.getLogger(__name__)

#: pcsc-lite error codes meaning the card left the field or the reader disappeared
_REMOVED_ERRORS = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_E_UNKNOWN_READER,
    getattr(scard, "SCARD_E_NO_READERS_AVAILABLE", 0x8010002E),
}


#: connect errors of a card that is present but not yet (or no longer) powered
_ACTIVATING = {
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_E_NOT_READY,
}


class ReaderNotFound(Exception):
    """No PC/SC reader matches the configured name (or pcscd is not running)."""


def _error_text(code: int) -> str:
    try:
        return str(scard.SCardGetErrorMessage(code))
    except Exception:
        return f"0x{code & 0xFFFFFFFF:08X}"


class _Context:
    """An owned SCARDCONTEXT, released on close."""

    def __init__(self) -> None:
        rv, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if rv != scard.SCARD_S_SUCCESS:
            raise ReaderNotFound(f"PC/SC service unavailable: {_error_text(rv)}")

    def close(self) -> None:
        if self.handle is not None:
            scard.SCardReleaseContext(self.handle)
            self.handle = None


def list_readers() -> list[str]:
    """Names of the readers pcscd knows now (empty when pcscd is not running)."""
    try:
        ctx = _Context()
    except ReaderNotFound:
        return []
    try:
        rv, names = scard.SCardListReaders(ctx.handle, [])
        return list(names) if rv == scard.SCARD_S_SUCCESS else []
    finally:
        ctx.close()


def find_reader(name: str) -> str:
    """The reader whose name is exactly `name`.

    No prefix or substring match: "Virtual PCD 00 0" must not pick "Virtual PCD 00 01", nor
    "ACS" whichever reader (perhaps a virtual one) happens to be listed first.
    """
    names = list_readers()
    if name in names:
        _refuse_system_virtual_reader(name)
        return name
    listed = ", ".join(repr(n) for n in names) or "none (is pcscd running?)"
    raise ReaderNotFound(f"no PC/SC reader named exactly {name!r}; readers: {listed}")


#: vsmartcard-vpcd's readers: a simulated set-up's, never a production reader
_VIRTUAL_READER_PREFIX = "Virtual PCD"


def _refuse_system_virtual_reader(name: str) -> None:
    """A vpcd reader on the system pcscd takes cards from anyone on the network: refuse it.

    The tests and the demo serve vpcd from a pcscd of their own, which they name through
    PCSCLITE_CSOCK_NAME (`hardware_mocks.pcsc_stack`); a production install has no vpcd at all.
    """
    if name.startswith(_VIRTUAL_READER_PREFIX) and not os.environ.get("PCSCLITE_CSOCK_NAME"):
        raise ReaderNotFound(
            f"{name!r} is a vsmartcard virtual reader on the system pcscd, which accepts cards "
            "from the network: refused (a production install must not have vsmartcard-vpcd)"
        )


class PcscTransport:
    """`CardTransport` over one PC/SC reader, connected exclusively with T=1 or T=0."""

    def __init__(self, reader: str, *, max_apdu: int = 65544, share_exclusive: bool = True):
        self.reader = reader
        self._max_apdu = max_apdu
        self._share = scard.SCARD_SHARE_EXCLUSIVE if share_exclusive else scard.SCARD_SHARE_SHARED
        self._ctx: _Context | None = None
        self._card: int | None = None
        self._protocol = scard.SCARD_PROTOCOL_T1
        #: how long to wait for a present card to become usable on connect
        self.activation_timeout_s = 1.0

    def connect(self) -> CardInfo:
        self.disconnect()
        try:
            self._ctx = _Context()
        except ReaderNotFound as exc:
            raise TransportError(str(exc)) from exc
        # A document just placed on the reader shows as present a moment before the reader has
        # powered it: while it stays present, retry briefly instead of calling it absent.
        deadline = time.monotonic() + self.activation_timeout_s
        while True:
            rv, card, protocol = scard.SCardConnect(
                self._ctx.handle,
                self.reader,
                self._share,
                scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            if rv not in _ACTIVATING or time.monotonic() >= deadline:
                break
            if not _card_present(self.reader):
                break
            time.sleep(0.02)
        if rv != scard.SCARD_S_SUCCESS:
            self.disconnect()
            # no session existed yet, so a missing card is "not present", not "removed"
            raise TransportError(f"connect failed: {_error_text(rv)}")
        self._card, self._protocol = card, protocol
        rv, _reader, _state, _proto, atr = scard.SCardStatus(card)
        if rv != scard.SCARD_S_SUCCESS:
            raise TransportError(f"status failed: {_error_text(rv)}", removed=True)
        return CardInfo(atr=bytes(atr), reader=self.reader)

    def transmit(self, apdu: bytes) -> bytes:
        if self._card is None:
            raise TransportError("not connected")
        rv, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if rv != scard.SCARD_S_SUCCESS:
            # pcsc-lite often reports a pulled card as a failed transaction: ask the reader.
            removed = rv in _REMOVED_ERRORS or _card_gone(self.reader)
            raise TransportError(f"transmit failed: {_error_text(rv)}", removed=removed)
        if len(response) < 2:
            # vpcd and some readers answer a card that left mid-command with no bytes at all
            raise TransportError("no status word from the card", removed=_card_gone(self.reader))
        return bytes(response)

    def disconnect(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None

    def card_present(self) -> bool:
        return _card_present(self.reader)

    def max_apdu_size(self) -> int:
        return self._max_apdu


def _reader_state(ctx: _Context, reader: str, current: int, timeout_ms: int) -> int | None:
    rv, states = scard.SCardGetStatusChange(ctx.handle, timeout_ms, [(reader, current)])
    if rv == scard.SCARD_E_TIMEOUT:
        return None
    if rv != scard.SCARD_S_SUCCESS:
        raise ReaderNotFound(f"reader state unavailable: {_error_text(rv)}")
    return int(states[0][1])


def _card_present(reader: str) -> bool:
    try:
        ctx = _Context()
    except ReaderNotFound:
        return False
    try:
        state = _reader_state(ctx, reader, scard.SCARD_STATE_UNAWARE, 0)
        return bool(state is not None and state & scard.SCARD_STATE_PRESENT)
    except ReaderNotFound:
        return False
    finally:
        ctx.close()


def _card_gone(reader: str, settle_s: float = 1.5) -> bool:
    """After a failed transmit, whether the card left (the reader may need a moment to notice)."""
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        if not _card_present(reader):
            return True
        time.sleep(0.05)
    return False


class PcscReader:
    """`CardReader` port: presence events and transports for one named PC/SC reader."""

    def __init__(self, name: str, *, max_apdu: int = 65544) -> None:
        self.name = find_reader(name)
        self._max_apdu = max_apdu
        self._known = scard.SCARD_STATE_UNAWARE

    def wait_for_event(self, timeout_s: float) -> CardEvent | None:
        ctx = _Context()
        try:
            known_present = bool(self._known & scard.SCARD_STATE_PRESENT)
            known_count = self._known >> 16
            state = _reader_state(ctx, self.name, self._known, int(timeout_s * 1000))
            if state is None:
                return None
            self._known = state & ~scard.SCARD_STATE_CHANGED
            present = bool(state & scard.SCARD_STATE_PRESENT)
            if present and not known_present:
                return CardEvent(CardEventKind.INSERTED, self.name)
            if present and state >> 16 != known_count:
                # pcscd counts card events in the upper 16 bits: present before and now, but
                # counted events in between, is a card swapped between two looks: a new card
                return CardEvent(CardEventKind.INSERTED, self.name)
            if not present and known_present:
                return CardEvent(CardEventKind.REMOVED, self.name)
            return None
        finally:
            ctx.close()

    def transport(self) -> PcscTransport:
        return PcscTransport(self.name, max_apdu=self._max_apdu)


def open_reader(name: str) -> PcscTransport:
    """Factory used by the appliance's wiring: a transport for the reader named `name`."""
    return PcscTransport(find_reader(name))
