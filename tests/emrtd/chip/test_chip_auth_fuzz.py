"""Hostile chip data never escapes as anything but a Check or a stable reason code.

DG14, DG15 and EF.CardSecurity are read before Passive Authentication has judged them, so the
genuineness code must survive any bytes: random ones, and valid structures with mutated bytes.
"""

from __future__ import annotations

import contextlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.emrtd.chip.active_auth import run_active_authentication
from appliance.emrtd.chip.ca_keys import load_chip_key
from appliance.emrtd.chip.chip_auth import run_chip_authentication
from appliance.emrtd.lds import dg14, dg15
from appliance.emrtd.lds.security_infos import (
    ID_CA,
    ID_PK,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    SecurityInfos,
)
from appliance.emrtd.pki.checks import Check
from appliance.emrtd.protocol.apdu import CommandApdu, ResponseApdu
from appliance.emrtd.protocol.sm import SessionKeys
from appliance.errors import LdsError

KEY = ec.derive_private_key(4242, ec.BrainpoolP256R1())
SPKI = KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
DG14 = dg14.encode(
    dg14.Dg14(
        SecurityInfos(
            (
                ChipAuthenticationInfo(f"{ID_CA}.2.2", 1),
                ChipAuthenticationPublicKeyInfo(f"{ID_PK}.2", SPKI),
            )
        )
    )
)
DG15 = dg15.encode(dg15.parse_public_key_info(SPKI))


class RefusingCard:
    """Answers every command with an error: only parsing is exercised."""

    supports_extended_length = True

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        return ResponseApdu(b"", 0x6A80)

    def restart_secure_messaging(self, keys: SessionKeys) -> None:
        pass


def _mutated(data: bytes, position: int, value: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([value]) + data[position + 1 :]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.builds(_mutated, st.just(DG14), st.integers(0, 10_000),
                                            st.integers(0, 255)))  # fmt: skip
def test_any_dg14_gives_a_check_or_nothing(data: bytes) -> None:
    result = run_chip_authentication(RefusingCard(), data, lambda n: bytes(range(1, n + 1)))
    assert result is None or isinstance(result, Check)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.builds(_mutated, st.just(DG15), st.integers(0, 10_000),
                                            st.integers(0, 255)))  # fmt: skip
def test_any_dg15_gives_a_check(data: bytes) -> None:
    check = run_active_authentication(RefusingCard(), data, None, lambda n: bytes(n))
    assert isinstance(check, Check)


@settings(max_examples=200, deadline=None)
@given(st.builds(_mutated, st.just(SPKI), st.integers(0, 10_000), st.integers(0, 255)))
def test_mutated_chip_keys_load_or_raise_lds_error(spki: bytes) -> None:
    with contextlib.suppress(LdsError):  # anything else escaping fails the test
        load_chip_key(ChipAuthenticationPublicKeyInfo(f"{ID_PK}.2", spki))
