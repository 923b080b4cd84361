"""BAC: every value of ICAO 9303-11 Appendix D.1-D.3."""

from __future__ import annotations

import pytest

from appliance.emrtd.protocol import bac, crypto
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.errors import ApplianceError, Reason
from appliance.mrz.check_digits import mrz_information
from tests.support.icao_vectors import BAC, hexval, text


def _fixed_rng() -> bac.Random:
    values = [hexval(BAC, "rnd_ifd"), hexval(BAC, "k_ifd")]
    return lambda n: values.pop(0)


def test_mrz_information_and_document_keys() -> None:
    info = mrz_information("L898902C", "690806", "940623")
    assert info == text(BAC, "mrz_information")
    assert bac.key_seed(info) == hexval(BAC, "kseed")
    assert bac.document_keys(info) == (hexval(BAC, "kenc"), hexval(BAC, "kmac"))


def test_get_challenge_apdu() -> None:
    assert bac.GET_CHALLENGE.encode() == hexval(BAC, "get_challenge_apdu")


def test_external_authenticate_and_session_keys() -> None:
    terminal = bac.BacTerminal(text(BAC, "mrz_information"), rng=_fixed_rng())
    command = terminal.external_authenticate(hexval(BAC, "rnd_ic"))
    assert command.data == hexval(BAC, "e_ifd") + hexval(BAC, "m_ifd")
    assert command.encode() == hexval(BAC, "ext_auth_apdu")
    keys = terminal.complete(hexval(BAC, "ext_auth_response"))
    assert keys.cipher is CipherKind.TDES
    assert keys.ks_enc == hexval(BAC, "ks_enc")
    assert keys.ks_mac == hexval(BAC, "ks_mac")
    assert keys.ssc.to_bytes(8, "big") == hexval(BAC, "ssc")


def test_chip_key_half_and_session_seed() -> None:
    """D.3: K.IC from the decrypted response, and K.IFD xor K.IC."""
    kenc, _ = bac.document_keys(text(BAC, "mrz_information"))
    r = crypto.tdes_cbc_decrypt(kenc, hexval(BAC, "ext_auth_response")[:32])
    assert r[:8] == hexval(BAC, "rnd_ic") and r[8:16] == hexval(BAC, "rnd_ifd")
    assert r[16:] == hexval(BAC, "k_ic")
    seed = bytes(a ^ b for a, b in zip(hexval(BAC, "k_ifd"), r[16:], strict=True))
    assert seed == hexval(BAC, "session_kseed")


def test_forged_chip_cryptogram_is_refused() -> None:
    terminal = bac.BacTerminal(text(BAC, "mrz_information"), rng=_fixed_rng())
    terminal.external_authenticate(hexval(BAC, "rnd_ic"))
    forged = bytearray(hexval(BAC, "ext_auth_response"))
    forged[5] ^= 0x40
    with pytest.raises(ApplianceError) as caught:
        terminal.complete(bytes(forged))
    assert caught.value.reason is Reason.BAC_FAILED


def test_response_to_another_challenge_is_refused() -> None:
    """A valid cryptogram for a different RND.IC (a replay) fails the nonce check."""
    terminal = bac.BacTerminal(text(BAC, "mrz_information"), rng=_fixed_rng())
    terminal.external_authenticate(bytes(8))
    with pytest.raises(ApplianceError) as caught:
        terminal.complete(hexval(BAC, "ext_auth_response"))
    assert caught.value.reason is Reason.BAC_FAILED


def test_wrong_length_answers_are_refused() -> None:
    terminal = bac.BacTerminal(text(BAC, "mrz_information"), rng=_fixed_rng())
    with pytest.raises(ApplianceError):
        terminal.external_authenticate(b"\x01\x02")
    terminal.external_authenticate(hexval(BAC, "rnd_ic"))
    with pytest.raises(ApplianceError):
        terminal.complete(hexval(BAC, "ext_auth_response")[:39])


def test_retail_mac_equals_textbook_definition() -> None:
    """MAC algorithm 3: H_n = E_K1(x_n xor H_{n-1}), MAC = E_K1(D_K2(H_n))."""
    key = bytes(range(16))
    data = crypto.pad(b"retail MAC over several blocks", 8)
    k1, k2 = key[:8], key[8:]
    chain = bytes(8)
    for i in range(0, len(data), 8):
        block = bytes(a ^ b for a, b in zip(data[i : i + 8], chain, strict=True))
        chain = crypto.tdes_cbc_encrypt(k1 * 2, block)  # K1K1 = single DES
    expected = crypto.tdes_cbc_encrypt(k1 * 2, crypto.tdes_cbc_decrypt(k2 * 2, chain))
    assert crypto.retail_mac(key, data) == expected


def test_parity_adjustment() -> None:
    adjusted = crypto.adjust_des_parity(bytes(range(256)))
    assert all(bin(b).count("1") % 2 == 1 for b in adjusted)
    assert all(a & 0xFE == b & 0xFE for a, b in zip(adjusted, range(256), strict=True))
