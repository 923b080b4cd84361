"""Basic Access Control, card side (ICAO 9303-11 §4.3): GET CHALLENGE and EXTERNAL AUTHENTICATE.

The chip knows its document keys (from the MRZ information printed on the data page), answers
GET CHALLENGE with RND.IC, checks the terminal's cryptogram and MAC, returns its own and derives
the same 3DES session keys and SSC as the terminal.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from appliance.emrtd.protocol import crypto
from appliance.emrtd.protocol.crypto import CipherKind, Random
from hardware_mocks.virtual_chip.card_sm import CardSecureMessaging


class BacRefused(Exception):
    """The terminal's EXTERNAL AUTHENTICATE does not prove knowledge of the document keys."""


def document_keys(mrz_information: str) -> tuple[bytes, bytes]:
    """(K_enc, K_mac) from the MRZ information: K_seed = SHA-1(MRZ info)[:16], then the KDF."""
    k_seed = hashlib.sha1(mrz_information.encode("ascii")).digest()[:16]
    return (
        crypto.kdf(k_seed, crypto.KDF_ENC, CipherKind.TDES),
        crypto.kdf(k_seed, crypto.KDF_MAC, CipherKind.TDES),
    )


@dataclass
class CardBac:
    """BAC state of one chip session: the last challenge handed out, if any."""

    mrz_information: str
    rng: Random
    rnd_ic: bytes | None = None

    def get_challenge(self) -> bytes:
        self.rnd_ic = self.rng(8)
        return self.rnd_ic

    def external_authenticate(self, data: bytes) -> tuple[bytes, CardSecureMessaging]:
        """Check E_IFD || M_IFD; return E_IC || M_IC and the session. A challenge is single-use."""
        rnd_ic, self.rnd_ic = self.rnd_ic, None
        if rnd_ic is None or len(data) != 40:
            raise BacRefused("no challenge outstanding or wrong cryptogram length")
        k_enc, k_mac = document_keys(self.mrz_information)
        e_ifd, m_ifd = data[:32], data[32:]
        if not hmac.compare_digest(crypto.retail_mac(k_mac, crypto.pad(e_ifd, 8)), m_ifd):
            raise BacRefused("terminal MAC does not verify")
        s = crypto.tdes_cbc_decrypt(k_enc, e_ifd)
        rnd_ifd, echoed_rnd_ic, k_ifd = s[:8], s[8:16], s[16:]
        if not hmac.compare_digest(echoed_rnd_ic, rnd_ic):
            raise BacRefused("terminal did not return the chip's challenge")
        k_ic = self.rng(16)
        e_ic = crypto.tdes_cbc_encrypt(k_enc, rnd_ic + rnd_ifd + k_ic)
        m_ic = crypto.retail_mac(k_mac, crypto.pad(e_ic, 8))
        seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
        session = CardSecureMessaging(
            CipherKind.TDES,
            crypto.kdf(seed, crypto.KDF_ENC, CipherKind.TDES),
            crypto.kdf(seed, crypto.KDF_MAC, CipherKind.TDES),
            ssc=int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"),
        )
        return e_ic + m_ic, session
