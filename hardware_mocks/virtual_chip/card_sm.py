"""Secure Messaging, card side (ICAO 9303-11 §9.8): unprotect commands, protect responses.

The mirror image of the terminal's `appliance.emrtd.protocol.sm`: the card checks DO'8E over
SSC || padded header || DO'87/'85 || DO'97 before it decrypts anything, and answers with
DO'87/'85 (the response data, encrypted), DO'99 (the status word) and DO'8E. Any fault in a
protected command is an `SmViolation`: the chip answers it in plain (6987 when the SM data
objects are missing, 6988 when they are wrong) and ends the session, as ICAO requires.
"""

from __future__ import annotations

import hmac

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.apdu import SW_SM_INCORRECT, SW_SM_MISSING, CommandApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.tlv import encode

_SM_CLA_BITS = 0x0C


class SmViolation(Exception):
    """A protected command the card must refuse; `sw` is the plain status word to answer."""

    def __init__(self, sw: int, detail: str) -> None:
        super().__init__(detail)
        self.sw = sw


class CardSecureMessaging:
    """One SM session as the chip holds it (keys from BAC, PACE or Chip Authentication)."""

    def __init__(self, cipher: CipherKind, ks_enc: bytes, ks_mac: bytes, ssc: int = 0) -> None:
        self.cipher = cipher
        self._ks_enc = ks_enc
        self._ks_mac = ks_mac
        self._block = cipher.block_size
        self.ssc = ssc

    def _ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self._block, "big")

    def _increment(self) -> None:
        self.ssc = (self.ssc + 1) % (1 << (8 * self._block))

    def _iv(self) -> bytes:
        if self.cipher is CipherKind.TDES:
            return bytes(8)
        return crypto.aes_ecb_encrypt_block(self._ks_enc, self._ssc_bytes())

    def _mac(self, data: bytes) -> bytes:
        padded = crypto.pad(self._ssc_bytes() + data, self._block)
        return crypto.mac_padded(self.cipher, self._ks_mac, padded)

    def unprotect(self, command: CommandApdu) -> CommandApdu:
        """The plain command inside a protected one (increments the SSC); `SmViolation` if bad."""
        self._increment()
        objects, mac_offset = _split_command(command.data)
        if 0x8E not in objects:
            raise SmViolation(SW_SM_MISSING, "protected command without DO'8E")
        header = crypto.pad(command.header, self._block)
        expected = self._mac(header + command.data[:mac_offset])
        if not hmac.compare_digest(expected, objects[0x8E]):
            raise SmViolation(SW_SM_INCORRECT, "command MAC does not verify")
        data = self._decrypt(objects)
        le: int | None = None
        if 0x97 in objects:
            le_bytes = objects[0x97]
            if len(le_bytes) > 2:
                raise SmViolation(SW_SM_INCORRECT, "DO'97 longer than two bytes")
            value = int.from_bytes(le_bytes, "big")
            le = value or (65536 if len(le_bytes) == 2 else 256)
        return CommandApdu(
            command.cla & ~_SM_CLA_BITS & 0xFF,
            command.ins,
            command.p1,
            command.p2,
            data,
            le=le,
            extended=(le or 0) > 256 or len(data) > 255,
        )

    def _decrypt(self, objects: dict[int, bytes]) -> bytes:
        if 0x87 in objects:
            value = objects[0x87]
            if not value or value[0] != 0x01:
                raise SmViolation(SW_SM_INCORRECT, "DO'87 without padding-content indicator")
            cryptogram = value[1:]
        elif 0x85 in objects:
            cryptogram = objects[0x85]
        else:
            return b""
        if not cryptogram or len(cryptogram) % self._block:
            raise SmViolation(SW_SM_INCORRECT, "cryptogram is not whole cipher blocks")
        padded = crypto.decrypt(self.cipher, self._ks_enc, cryptogram, self._iv())
        try:
            return crypto.unpad(padded)
        except ValueError:
            raise SmViolation(SW_SM_INCORRECT, "bad padding in the command data") from None

    def protect(self, data: bytes, sw: int, *, odd_ins: bool = False) -> bytes:
        """The protected response data field (increments the SSC): DO'87/'85, DO'99, DO'8E.

        Odd INS answers carry BER-TLV data (DO'53 of READ BINARY B1), which ISO 7816-4 puts
        in DO'85, without the padding-content indicator.
        """
        self._increment()
        dos = b""
        if data:
            cryptogram = crypto.encrypt(
                self.cipher, self._ks_enc, crypto.pad(data, self._block), self._iv()
            )
            dos += encode(0x85, cryptogram) if odd_ins else encode(0x87, b"\x01" + cryptogram)
        dos += encode(0x99, sw.to_bytes(2, "big"))
        return dos + encode(0x8E, self._mac(dos))


def protected_size(data_length: int, block_size: int) -> int:
    """Bytes of a protected response carrying `data_length` plain bytes (to check Le limits)."""
    size = 4 + 10  # DO'99 and DO'8E
    if data_length:
        cryptogram = (data_length // block_size + 1) * block_size
        body = cryptogram + 1
        size += 1 + len(_length_bytes(body)) + body
    return size


def _length_bytes(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _split_command(data: bytes) -> tuple[dict[int, bytes], int]:
    """SM data objects of a command and where DO'8E starts: DO'85/'87, DO'97, DO'8E, once each."""
    objects: dict[int, bytes] = {}
    pos = 0
    mac_offset = len(data)
    while pos < len(data):
        tag = data[pos]
        start = pos
        pos += 1
        if pos >= len(data):
            raise SmViolation(SW_SM_INCORRECT, "SM data object without a length")
        first = data[pos]
        pos += 1
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 3 or pos + count > len(data):
                raise SmViolation(SW_SM_INCORRECT, "bad SM length field")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if tag not in (0x85, 0x87, 0x97, 0x8E) or tag in objects or pos + length > len(data):
            raise SmViolation(SW_SM_INCORRECT, "unexpected or malformed SM data object")
        objects[tag] = bytes(data[pos : pos + length])
        pos += length
        if tag == 0x8E:
            mac_offset = start
            if pos != len(data):
                raise SmViolation(SW_SM_INCORRECT, "data after DO'8E")
    if 0x85 in objects and 0x87 in objects:
        raise SmViolation(SW_SM_INCORRECT, "both DO'85 and DO'87")
    return objects, mac_offset
