"""Basic Access Control, terminal side (ICAO 9303-11 §4.3, worked example in Appendix D).

Sans-I/O: `BacTerminal` turns the chip's challenge into the EXTERNAL AUTHENTICATE command and the
chip's answer into session keys; the reader moves the bytes. Randomness is injected so the
Appendix D exchange can be replayed exactly.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.emrtd.protocol.crypto import KDF_ENC, KDF_MAC, CipherKind, Random
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import ApplianceError, Reason

GET_CHALLENGE = CommandApdu(0x00, 0x84, 0x00, 0x00, le=8)


def key_seed(mrz_information: str) -> bytes:
    """K_seed: the first 16 bytes of SHA-1 over the MRZ information."""
    return hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]


def document_keys(mrz_information: str) -> tuple[bytes, bytes]:
    """(K_enc, K_mac), the document basic access keys derived from the MRZ information."""
    seed = key_seed(mrz_information)
    return crypto.kdf(seed, KDF_ENC, CipherKind.TDES), crypto.kdf(seed, KDF_MAC, CipherKind.TDES)


def session_keys(k_ifd: bytes, k_ic: bytes, rnd_ic: bytes, rnd_ifd: bytes) -> SessionKeys:
    """Session keys from K.IFD xor K.IC, and SSC = last 4 bytes of RND.IC || of RND.IFD."""
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return SessionKeys(
        cipher=CipherKind.TDES,
        ks_enc=crypto.kdf(seed, KDF_ENC, CipherKind.TDES),
        ks_mac=crypto.kdf(seed, KDF_MAC, CipherKind.TDES),
        ssc=int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big"),
    )


class BacTerminal:
    """One BAC run: `external_authenticate(rnd_ic)` then `complete(response_data)`."""

    def __init__(self, mrz_information: str, rng: Random = os.urandom) -> None:
        self._k_enc, self._k_mac = document_keys(mrz_information)
        self._rng = rng
        self._rnd_ic = b""
        self._rnd_ifd = b""
        self._k_ifd = b""

    def external_authenticate(self, rnd_ic: bytes) -> CommandApdu:
        """EXTERNAL AUTHENTICATE carrying E_IFD || M_IFD for the chip's 8-byte challenge."""
        if len(rnd_ic) != 8:
            raise ApplianceError(Reason.BAC_FAILED, "GET CHALLENGE did not return 8 bytes")
        self._rnd_ic = rnd_ic
        self._rnd_ifd = self._rng(8)
        self._k_ifd = self._rng(16)
        s = self._rnd_ifd + rnd_ic + self._k_ifd
        e_ifd = crypto.tdes_cbc_encrypt(self._k_enc, s)
        m_ifd = crypto.retail_mac(self._k_mac, crypto.pad(e_ifd, 8))
        return CommandApdu(0x00, 0x82, 0x00, 0x00, e_ifd + m_ifd, le=40)

    def complete(self, response: bytes) -> SessionKeys:
        """Check the chip's E_IC || M_IC (MAC first, then both nonces) and derive session keys."""
        if not self._rnd_ic:
            raise ApplianceError(Reason.BAC_FAILED, "EXTERNAL AUTHENTICATE not computed yet")
        if len(response) != 40:
            raise ApplianceError(Reason.BAC_FAILED, "chip cryptogram has the wrong length")
        e_ic, m_ic = response[:32], response[32:]
        if not hmac.compare_digest(crypto.retail_mac(self._k_mac, crypto.pad(e_ic, 8)), m_ic):
            raise ApplianceError(Reason.BAC_FAILED, "chip cryptogram MAC does not verify")
        r = crypto.tdes_cbc_decrypt(self._k_enc, e_ic)
        rnd_ic, rnd_ifd, k_ic = r[:8], r[8:16], r[16:]
        if not (
            hmac.compare_digest(rnd_ic, self._rnd_ic)
            and hmac.compare_digest(rnd_ifd, self._rnd_ifd)
        ):
            raise ApplianceError(Reason.BAC_FAILED, "chip did not echo the nonces")
        return session_keys(self._k_ifd, k_ic, rnd_ic, rnd_ifd)
