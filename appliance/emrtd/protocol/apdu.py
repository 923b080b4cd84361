"""ISO/IEC 7816-4 APDUs: command encoding (cases 1-4, short and extended), responses, status words.

`ApduChannel` is the one place where bytes meet the `CardTransport`: it counts APDUs and bytes,
follows 61xx with GET RESPONSE and answers 6Cxx by re-sending with the length the card asked for,
and turns transport failures into stable reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from appliance.errors import ApplianceError, Reason
from appliance.ports import CardTransport, TransportError

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282
SW_AUTH_FAILED = 0x6300
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_STATUS = 0x6982
SW_SM_MISSING = 0x6987
SW_SM_INCORRECT = 0x6988
SW_FILE_NOT_FOUND = 0x6A82
SW_INCORRECT_P1P2 = 0x6A86
SW_LC_INCONSISTENT = 0x6A87
SW_WRONG_P1P2 = 0x6B00

_SW_NAMES: dict[int, str] = {
    0x9000: "success",
    0x6282: "end of file reached before Le bytes",
    0x6281: "part of returned data may be corrupted",
    0x6300: "verification failed",
    0x6400: "execution error",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "reference data not usable",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed (no current EF)",
    0x6987: "expected secure messaging data objects missing",
    0x6988: "secure messaging data objects incorrect",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A86: "incorrect parameters P1-P2",
    0x6A87: "Lc inconsistent with P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2 (offset outside the EF)",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}

_MAX_GET_RESPONSE_ROUNDS = 300


def sw_name(sw: int) -> str:
    """Human name of a status word (ISO/IEC 7816-4 §5.6), including the 61xx/63Cx/6Cxx families."""
    if sw in _SW_NAMES:
        return _SW_NAMES[sw]
    sw1, sw2 = sw >> 8, sw & 0xFF
    if sw1 == 0x61:
        return f"{sw2 or 256} more bytes available"
    if sw1 == 0x6C:
        return f"wrong Le, exact length is {sw2 or 256}"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:
        return f"verification failed, {sw2 & 0x0F} tries left"
    return "unknown status"


def reason_for_sw(sw: int) -> Reason:
    """The stable reason a failed status word maps to."""
    if sw in (0x6300, 0x6982, 0x6983) or sw & 0xFFF0 == 0x63C0:
        return Reason.CHIP_ACCESS_DENIED
    if sw == SW_FILE_NOT_FOUND:
        return Reason.CHIP_FILE_NOT_FOUND
    if sw in (SW_SM_MISSING, SW_SM_INCORRECT):
        return Reason.SM_PROTOCOL
    return Reason.CHIP_COMMUNICATION


class ApduError(ApplianceError):
    """A command ended with a status word other than success; `sw` says which."""

    def __init__(self, sw: int, command: str = "") -> None:
        what = f"{command}: " if command else ""
        super().__init__(reason_for_sw(sw), f"{what}SW {sw:04X} ({sw_name(sw)})")
        self.sw = sw
        self.command = command


class ApduFormatError(ApplianceError):
    """Bytes that are not a well-formed APDU."""

    def __init__(self, detail: str) -> None:
        super().__init__(Reason.CHIP_COMMUNICATION, detail)


@dataclass(frozen=True)
class CommandApdu:
    """A command APDU. `le` is the number of bytes expected (1..65536) or None when absent.

    In the short form Le=256 encodes as 00; in the extended form 65536 encodes as 0000.
    `extended` forces the extended encoding; it is chosen anyway when data or Le need it.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ApduFormatError(f"APDU {name} out of range")
        if len(self.data) > 65535:
            raise ApduFormatError("APDU data longer than 65535 bytes")
        if self.le is not None and not 1 <= self.le <= 65536:
            raise ApduFormatError("APDU Le out of range")

    @property
    def is_extended(self) -> bool:
        return self.extended or len(self.data) > 255 or (self.le is not None and self.le > 256)

    @property
    def header(self) -> bytes:
        return bytes([self.cla, self.ins, self.p1, self.p2])

    def encode(self) -> bytes:
        out = bytearray(self.header)
        if self.is_extended:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                if not self.data:
                    out += b"\x00"
                out += (self.le % 65536).to_bytes(2, "big")
        else:
            if self.data:
                out += bytes([len(self.data)]) + self.data
            if self.le is not None:
                out += bytes([self.le % 256])
        return bytes(out)

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Parse any of the seven ISO/IEC 7816-3 §12.1.3 cases; `ApduFormatError` otherwise."""
        if len(raw) < 4:
            raise ApduFormatError("command APDU shorter than its header")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or 256)
        if body[0] != 0:
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, bytes(body[1:]))
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, bytes(body[1:-1]), le=body[-1] or 256)
            raise ApduFormatError("short APDU length fields inconsistent")
        if len(body) == 3:
            return cls(
                cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 65536, extended=True
            )
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0:
            raise ApduFormatError("extended APDU with Lc = 0")
        if len(body) == 3 + lc:
            return cls(cla, ins, p1, p2, bytes(body[3:]), extended=True)
        if len(body) == 5 + lc:
            le = int.from_bytes(body[-2:], "big") or 65536
            return cls(cla, ins, p1, p2, bytes(body[3:-2]), le=le, extended=True)
        raise ApduFormatError("extended APDU length fields inconsistent")


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise ApduFormatError("response APDU shorter than a status word")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))

    def check(self, command: str = "") -> bytes:
        """The data when the status is success, else `ApduError`."""
        if not self.ok:
            raise ApduError(self.sw, command)
        return self.data


class ApduChannel:
    """Sends command APDUs over a `CardTransport`, with the transport-level retries of ISO 7816-4.

    Counters (`apdus`, `bytes_sent`, `bytes_received`) include GET RESPONSE and re-sends, since
    they measure what crossed the air interface.
    """

    def __init__(self, transport: CardTransport) -> None:
        self.transport = transport
        self.apdus = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def exchange(self, raw: bytes) -> bytes:
        """One raw round trip; transport failures become `CHIP_REMOVED` / `CHIP_COMMUNICATION`."""
        self.apdus += 1
        self.bytes_sent += len(raw)
        try:
            response = self.transport.transmit(raw)
        except TransportError as exc:
            reason = Reason.CHIP_REMOVED if exc.removed else Reason.CHIP_COMMUNICATION
            raise ApplianceError(reason, "card transport failed") from exc
        self.bytes_received += len(response)
        return response

    def send(self, command: CommandApdu) -> ResponseApdu:
        """Send `command`; follow 61xx with GET RESPONSE and re-send once on 6Cxx.

        A protected command is never re-sent here: its MAC binds the send sequence counter, so
        the SM layer above must build a new one (the 6Cxx reaches it inside DO'99).
        """
        response = ResponseApdu.decode(self.exchange(command.encode()))
        protected = command.cla & 0x0C == 0x0C
        if response.sw1 == 0x6C and command.le is not None and not protected:
            exact = response.sw2 or 256
            response = ResponseApdu.decode(self.exchange(replace(command, le=exact).encode()))
        data = bytearray(response.data)
        rounds = 0
        while response.sw1 == 0x61:
            rounds += 1
            if rounds > _MAX_GET_RESPONSE_ROUNDS:
                raise ApduFormatError("card keeps answering 61xx")
            get_response = CommandApdu(0x00, 0xC0, 0x00, 0x00, le=response.sw2 or 256)
            response = ResponseApdu.decode(self.exchange(get_response.encode()))
            data += response.data
        return ResponseApdu(bytes(data), response.sw)
