"""Symmetric primitives of ICAO Doc 9303-11 (BAC, PACE, Secure Messaging).

Public on purpose: the terminal side (`sm.py`, `bac.py`, `pace.py`) and the card side
(`hardware_mocks/virtual_chip`) must compute exactly the same bytes, so they share this module.
Everything here is a thin, documented layer over `cryptography`; no cipher is hand-written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from enum import StrEnum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

#: a source of n random bytes: `os.urandom` in service, fixed nonces in tests (both sides of
#: every protocol, terminal and simulated card, take one)
Random = Callable[[int], bytes]

#: ICAO 9303-11 §9.7.1 KDF counters
KDF_ENC = 1
KDF_MAC = 2
KDF_PACE_PASSWORD = 3


class CipherKind(StrEnum):
    """The block ciphers of the ICAO cipher suites (names as reports print them)."""

    TDES = "3DES"
    AES128 = "AES-128"
    AES192 = "AES-192"
    AES256 = "AES-256"

    @property
    def key_length(self) -> int:
        return {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}[self.value]

    @property
    def block_size(self) -> int:
        return 8 if self is CipherKind.TDES else 16


def kdf(shared_secret: bytes, counter: int, cipher: CipherKind) -> bytes:
    """ICAO 9303-11 §9.7.1: key = H(K || counter) truncated to the cipher's key length.

    SHA-1 for 3DES and AES-128, SHA-256 for AES-192/256. 3DES keys get their DES parity bits
    set, as ICAO's worked examples show (the parity bits do not change the DES key schedule).
    """
    data = shared_secret + counter.to_bytes(4, "big")
    if cipher in (CipherKind.TDES, CipherKind.AES128):
        digest = hashlib.sha1(data).digest()
    else:
        digest = hashlib.sha256(data).digest()
    key = digest[: cipher.key_length]
    return adjust_des_parity(key) if cipher is CipherKind.TDES else key


def adjust_des_parity(key: bytes) -> bytes:
    """Set the low bit of each byte so that every byte has odd parity (FIPS 46-3)."""
    out = bytearray()
    for b in key:
        high = b & 0xFE
        out.append(high | ((bin(high).count("1") + 1) & 1))
    return bytes(out)


def pad(data: bytes, block_size: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 0x80, then zeros up to a block boundary."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block_size)


def unpad(data: bytes) -> bytes:
    """Remove ISO/IEC 9797-1 method 2 padding; `ValueError` when there is none."""
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise ValueError("no ISO 9797-1 method 2 padding")
    return stripped[:-1]


def _tdes_key(key: bytes) -> bytes:
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ValueError("3DES keys are 16 or 24 bytes")


def tdes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    """Two-key 3DES-EDE in CBC mode, no padding (the caller pads)."""
    enc = Cipher(TripleDES(_tdes_key(key)), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(8)) -> bytes:
    dec = Cipher(TripleDES(_tdes_key(key)), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES (the 'retail MAC'), over already padded data.

    Single-DES CBC under K1 over all blocks but the last, then 3DES (K1, K2, K1) on the last
    block chained to that: identical to the textbook final transformation E_K1(D_K2(H_n)).
    """
    if len(key) != 16 or not data or len(data) % 8:
        raise ValueError("retail MAC needs a 16-byte key and padded, non-empty data")
    k1 = key[:8]
    chain = bytes(8)
    if len(data) > 8:
        single = Cipher(TripleDES(k1 * 3), modes.CBC(bytes(8))).encryptor()
        chain = (single.update(data[:-8]) + single.finalize())[-8:]
    return tdes_cbc_encrypt(key, data[-8:], iv=chain)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    """AES-CBC, no padding (the caller pads)."""
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(16)) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_ecb_encrypt_block(key: bytes, block: bytes) -> bytes:
    """One AES block: used for the SM IV, E(KSenc, SSC)."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """Full 16-byte AES-CMAC (NIST SP 800-38B); ICAO truncates it to 8 bytes."""
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def encrypt(cipher: CipherKind, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC-encrypt block-aligned `data` with the suite's cipher (zero IV unless given)."""
    if cipher is CipherKind.TDES:
        return tdes_cbc_encrypt(key, data, iv or bytes(8))
    return aes_cbc_encrypt(key, data, iv or bytes(16))


def decrypt(cipher: CipherKind, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    if cipher is CipherKind.TDES:
        return tdes_cbc_decrypt(key, data, iv or bytes(8))
    return aes_cbc_decrypt(key, data, iv or bytes(16))


def mac_padded(cipher: CipherKind, key: bytes, padded: bytes) -> bytes:
    """The 8-byte Secure Messaging MAC over data the caller already padded (ICAO 9303-11 §9.8).

    3DES: retail MAC. AES: CMAC truncated to 8 bytes (the input is block aligned, so CMAC adds
    no padding of its own).
    """
    if cipher is CipherKind.TDES:
        return retail_mac(key, padded)
    return aes_cmac(key, padded)[:8]


def token_mac(cipher: CipherKind, key: bytes, data: bytes) -> bytes:
    """The 8-byte MAC of a PACE authentication token (ICAO 9303-11 §4.4.3.4).

    3DES: retail MAC over ISO 9797-1 method-2 padded data. AES: CMAC of the unpadded data,
    truncated to 8 bytes.
    """
    if cipher is CipherKind.TDES:
        return retail_mac(key, pad(data, 8))
    return aes_cmac(key, data)[:8]
