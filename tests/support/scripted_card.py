"""A scripted card for interoperability tests: it answers from a fixed script, not from logic.

Each step says which command APDU the card expects (byte for byte) and what it answers. A
reader that deviates by one byte fails the test at that step, which is the point: the script is
taken from the ICAO worked examples, written by other hands than the reader's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.ports import CardInfo

Answer = bytes | Callable[[bytes], bytes]


@dataclass
class Step:
    expect: bytes | None  # None: accept any command (the answer function checks it)
    answer: Answer
    label: str = ""


@dataclass
class ScriptedCard:
    """A `CardTransport` that plays `steps` in order and records every command it received."""

    steps: list[Step]
    extended: bool = False
    received: list[bytes] = field(default_factory=list)
    connected: bool = False

    def connect(self) -> CardInfo:
        self.connected = True
        return CardInfo(atr=bytes.fromhex("3B8880010000000000000000"), reader="scripted")

    def transmit(self, apdu: bytes) -> bytes:
        self.received.append(apdu)
        index = len(self.received) - 1
        if index >= len(self.steps):
            raise AssertionError(f"unexpected extra command {apdu.hex().upper()}")
        step = self.steps[index]
        if step.expect is not None and apdu != step.expect:
            raise AssertionError(
                f"step {index} ({step.label}): expected {step.expect.hex().upper()}, "
                f"got {apdu.hex().upper()}"
            )
        return step.answer(apdu) if callable(step.answer) else step.answer

    def disconnect(self) -> None:
        self.connected = False

    def card_present(self) -> bool:
        return True

    def max_apdu_size(self) -> int:
        return 65544 if self.extended else 261

    @property
    def finished(self) -> bool:
        return len(self.received) == len(self.steps)


class CardSideSm:
    """The chip's half of Secure Messaging, written from ICAO 9303-11 §9.8 for the tests.

    It checks a protected command (MAC over SSC || padded header || DOs, then decryption) and
    builds a protected response, so scripted cards can continue after BAC/PACE.
    """

    def __init__(self, cipher: CipherKind, ks_enc: bytes, ks_mac: bytes, ssc: int) -> None:
        self.cipher, self.ks_enc, self.ks_mac, self.ssc = cipher, ks_enc, ks_mac, ssc
        self.block = cipher.block_size

    def _ssc(self) -> bytes:
        return self.ssc.to_bytes(self.block, "big")

    def _iv(self) -> bytes:
        if self.cipher is CipherKind.TDES:
            return bytes(8)
        return crypto.aes_ecb_encrypt_block(self.ks_enc, self._ssc())

    def _mac(self, data: bytes) -> bytes:
        return crypto.mac_padded(
            self.cipher, self.ks_mac, crypto.pad(self._ssc() + data, self.block)
        )

    def command(self, raw: bytes) -> CommandApdu:
        """The plain command inside a protected one (asserts the MAC)."""
        self.ssc += 1
        apdu = CommandApdu.decode(raw)
        assert apdu.cla & 0x0C == 0x0C, "command is not SM-protected"
        objects = {t.tag: t for t in tlv.parse_all(apdu.data)}
        mac_input = crypto.pad(apdu.header, self.block) + b"".join(
            tlv.encode(tag, objects[tag].value) for tag in (0x85, 0x87, 0x97) if tag in objects
        )
        assert objects[0x8E].value == self._mac(mac_input), "command MAC does not verify"
        data = b""
        if 0x87 in objects or 0x85 in objects:
            value = objects[0x87].value[1:] if 0x87 in objects else objects[0x85].value
            data = crypto.unpad(crypto.decrypt(self.cipher, self.ks_enc, value, self._iv()))
        le = None
        if 0x97 in objects:
            raw_le = int.from_bytes(objects[0x97].value, "big")
            le = raw_le or (256 if len(objects[0x97].value) == 1 else 65536)
        return CommandApdu(apdu.cla & ~0x0C & 0xFF, apdu.ins, apdu.p1, apdu.p2, data, le)

    def response(self, data: bytes, sw: int = 0x9000, odd: bool = False) -> bytes:
        self.ssc += 1
        dos = b""
        if data:
            cryptogram = crypto.encrypt(
                self.cipher, self.ks_enc, crypto.pad(data, self.block), self._iv()
            )
            dos += tlv.encode(0x85, cryptogram) if odd else tlv.encode(0x87, b"\x01" + cryptogram)
        dos += tlv.encode(0x99, sw.to_bytes(2, "big"))
        return dos + tlv.encode(0x8E, self._mac(dos)) + b"\x90\x00"
