"""Secure Messaging, terminal side (ICAO 9303-11 §9.8, ISO/IEC 7816-4 §6).

A protected command carries its data encrypted in DO'87 (DO'85 for odd INS), the expected length
in DO'97 and a MAC in DO'8E over SSC || padded header || those DOs. A protected response carries
DO'87/'85, the status word in DO'99 and DO'8E. The MAC is checked before anything is decrypted.

3DES sessions (BAC, PACE with 3DES) use the retail MAC and a zero IV; AES sessions use CMAC and
IV = E(KSenc, SSC). The send sequence counter is incremented before every command and every
response. Sans-I/O: bytes (as `CommandApdu`/`ResponseApdu`) in, bytes out.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.tlv import encode
from appliance.errors import ApplianceError, LdsError, Reason

_SM_CLA_BITS = 0x0C


class SmError(ApplianceError):
    """A protected response that is not acceptable: `SM_MAC_INVALID` or `SM_PROTOCOL`."""


@dataclass(frozen=True)
class SessionKeys:
    """Keys and starting SSC of an SM session, as BAC, PACE or Chip Authentication derive them."""

    cipher: CipherKind
    ks_enc: bytes
    ks_mac: bytes
    ssc: int = 0


class SecureMessaging:
    """One SM session. `rekey` replaces the keys in place (Chip Authentication restarts SM)."""

    def __init__(self, keys: SessionKeys) -> None:
        self.rekey(keys)

    def rekey(self, keys: SessionKeys) -> None:
        if len(keys.ks_enc) != keys.cipher.key_length or len(keys.ks_mac) != keys.cipher.key_length:
            raise ValueError("session key length does not match the cipher")
        self.cipher = keys.cipher
        self._ks_enc = keys.ks_enc
        self._ks_mac = keys.ks_mac
        self._block = keys.cipher.block_size
        self.ssc = keys.ssc

    @property
    def ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self._block, "big")

    def _iv(self) -> bytes:
        if self.cipher is CipherKind.TDES:
            return bytes(8)
        return crypto.aes_ecb_encrypt_block(self._ks_enc, self.ssc_bytes)

    def _mac(self, data: bytes) -> bytes:
        return crypto.mac_padded(
            self.cipher, self._ks_mac, crypto.pad(self.ssc_bytes + data, self._block)
        )

    def _increment(self) -> None:
        self.ssc = (self.ssc + 1) % (1 << (8 * self._block))

    def protect(self, command: CommandApdu) -> CommandApdu:
        """The protected form of `command` (increments the SSC)."""
        self._increment()
        cla = command.cla | _SM_CLA_BITS
        header = bytes([cla, command.ins, command.p1, command.p2])
        dos = b""
        if command.data:
            cryptogram = crypto.encrypt(
                self.cipher, self._ks_enc, crypto.pad(command.data, self._block), self._iv()
            )
            # Odd INS carries BER-TLV data, which goes in DO'85 without the padding indicator.
            dos += (
                encode(0x85, cryptogram) if command.ins & 1 else encode(0x87, b"\x01" + cryptogram)
            )
        if command.le is not None:
            le_bytes = (
                (command.le % 65536).to_bytes(2, "big")
                if command.le > 256
                else bytes([command.le % 256])
            )
            dos += encode(0x97, le_bytes)
        mac = self._mac(crypto.pad(header, self._block) + dos)
        data = dos + encode(0x8E, mac)
        extended = command.is_extended or len(data) > 255
        return CommandApdu(
            cla, command.ins, command.p1, command.p2, data, le=65536 if extended else 256,
            extended=extended,
        )  # fmt: skip

    def unprotect(self, response: ResponseApdu) -> ResponseApdu:
        """Check and decrypt a protected response (increments the SSC).

        A response with no data at all is the card refusing in plain (ICAO: 6987/6988 end the
        session): it raises `ApduError` with that status word, or `SM_PROTOCOL` if it claims
        success. Anything else must carry DO'99 and a valid DO'8E, or `SmError` is raised.
        """
        self._increment()
        if not response.data:
            if response.ok:
                raise SmError(Reason.SM_PROTOCOL, "protected response without DO'99/DO'8E")
            raise ApduError(response.sw, "secured command")
        objects, mac_offset = _split_response(response.data)
        if 0x8E not in objects or 0x99 not in objects:
            raise SmError(Reason.SM_PROTOCOL, "protected response lacks DO'99 or DO'8E")
        expected = self._mac(response.data[:mac_offset])
        if not hmac.compare_digest(expected, objects[0x8E]):
            raise SmError(Reason.SM_MAC_INVALID, "response MAC does not verify")
        status = objects[0x99]
        if len(status) != 2:
            raise SmError(Reason.SM_PROTOCOL, "DO'99 is not a status word")
        plain = b""
        if 0x87 in objects or 0x85 in objects:
            plain = self._decrypt_do(objects)
        return ResponseApdu(plain, int.from_bytes(status, "big"))

    def _decrypt_do(self, objects: dict[int, bytes]) -> bytes:
        if 0x87 in objects:
            value = objects[0x87]
            if not value or value[0] != 0x01:
                raise SmError(Reason.SM_PROTOCOL, "DO'87 without padding-content indicator 01")
            cryptogram = value[1:]
        else:
            cryptogram = objects[0x85]
        if not cryptogram or len(cryptogram) % self._block:
            raise SmError(Reason.SM_PROTOCOL, "cryptogram is not whole cipher blocks")
        padded = crypto.decrypt(self.cipher, self._ks_enc, cryptogram, self._iv())
        try:
            return crypto.unpad(padded)
        except ValueError:
            raise SmError(Reason.SM_PROTOCOL, "bad padding in decrypted response") from None


def _split_response(data: bytes) -> tuple[dict[int, bytes], int]:
    """The SM data objects of a response, and where DO'8E starts (the MAC covers what precedes).

    Strict on purpose: only DO'85/'87/'99/'8E, each once, DO'8E last.
    """
    objects: dict[int, bytes] = {}
    pos = 0
    mac_offset = -1
    while pos < len(data):
        tag = data[pos]
        start = pos
        try:
            length, pos = _read_length(data, pos + 1)
        except LdsError as exc:
            raise SmError(Reason.SM_PROTOCOL, "malformed SM data object") from exc
        if tag not in (0x85, 0x87, 0x99, 0x8E) or tag in objects or pos + length > len(data):
            raise SmError(Reason.SM_PROTOCOL, "unexpected or malformed SM data object")
        objects[tag] = bytes(data[pos : pos + length])
        pos += length
        if tag == 0x8E:
            mac_offset = start
            if pos != len(data):
                raise SmError(Reason.SM_PROTOCOL, "data after DO'8E")
    if 0x85 in objects and 0x87 in objects:
        raise SmError(Reason.SM_PROTOCOL, "both DO'85 and DO'87 in one response")
    return objects, mac_offset


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise LdsError("SM: missing length")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 3 or pos + 1 + count > len(data):
        raise LdsError("SM: bad length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


__all__ = ["SecureMessaging", "SessionKeys", "SmError"]
