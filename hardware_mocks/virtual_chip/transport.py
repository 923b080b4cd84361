"""An in-process `CardTransport` for the virtual chip: the reader and the card in one process.

It behaves as a contactless reader with extended-length support would: `connect()` powers the
card and returns its ATR, `disconnect()` powers it down (the session keys die with it), and
`remove()` takes the card out of the field, so the next exchange fails with
`TransportError(removed=True)`, which is what a traveller pulling the passport mid-read does.
"""

from __future__ import annotations

from appliance.ports import CardInfo, TransportError
from hardware_mocks.virtual_chip.chip import VirtualChip

READER_NAME = "Virtual in-process reader"
#: header + extended Lc (3) + 65535 data + extended Le (2), as a PC/SC reader would report it
EXTENDED_APDU_SIZE = 4 + 3 + 65535 + 2
SHORT_APDU_SIZE = 261


class VirtualCardTransport:
    """`appliance.ports.CardTransport` over a `VirtualChip`, counting APDUs and bytes."""

    def __init__(
        self,
        chip: VirtualChip,
        *,
        max_apdu: int = EXTENDED_APDU_SIZE,
        remove_after: int | None = None,
        record: bool = False,
    ) -> None:
        self.chip = chip
        self._max_apdu = max_apdu
        self._present = True
        self._connected = False
        #: pull the card out of the field after this many APDUs (None: never)
        self.remove_after = remove_after
        self.apdus = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        #: (command, response) pairs, when `record` is set: for tests that check the dialogue
        self.exchanges: list[tuple[bytes, bytes]] | None = [] if record else None

    def connect(self) -> CardInfo:
        if not self._present:
            raise TransportError("no card in the field")
        self._connected = True
        return CardInfo(atr=self.chip.power_on(), reader=READER_NAME)

    def transmit(self, apdu: bytes) -> bytes:
        if self.remove_after is not None and self.apdus >= self.remove_after:
            self.remove()
        if not self._present:
            raise TransportError("card removed from the field", removed=True)
        if not self._connected:
            raise TransportError("not connected to the card")
        if len(apdu) > self._max_apdu:
            raise TransportError("command APDU longer than the reader accepts")
        self.apdus += 1
        self.bytes_sent += len(apdu)
        response = self.chip.process_apdu(apdu)
        self.bytes_received += len(response)
        if self.exchanges is not None:
            self.exchanges.append((apdu, response))
        return response

    def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self.chip.power_off()

    def card_present(self) -> bool:
        return self._present

    def max_apdu_size(self) -> int:
        return self._max_apdu

    def remove(self) -> None:
        """The card leaves the field: it loses power and every exchange fails until `insert()`."""
        self._present = False
        self._connected = False
        self.chip.power_off()

    def insert(self) -> None:
        """The card is back in the field (the terminal must connect again)."""
        self._present = True
        self.remove_after = None


def open_virtual() -> VirtualCardTransport:
    """The `--reader virtual` transport: the default specimen passport, PACE and BAC."""
    from hardware_mocks.virtual_chip import make_chip

    return VirtualCardTransport(make_chip())
