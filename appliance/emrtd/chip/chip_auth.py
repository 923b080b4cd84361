"""Chip Authentication version 1 (ICAO 9303-11 §6.2, BSI TR-03110-1 §3.4 / -3 B.1).

DG14 carries the chip's static Diffie-Hellman key, signed through EF.SOD. The terminal sends
an ephemeral key; only a chip holding the static private key derives the same secret, and
Secure Messaging restarts on keys derived from it (SSC 0). A copied chip answers the next
protected command with a MAC it cannot compute: that read is the proof, so every run ends with
one (SELECT and READ BINARY of DG14, compared with what was read before).

APDUs: 3DES suites use MSE:Set KAT (DO'91 ephemeral key, DO'84 key id); AES suites use MSE:Set
AT (DO'80 protocol OID, DO'84 key id) and GENERAL AUTHENTICATE (7C { 80 ephemeral key }). The
chip answers both with the old keys; the new ones apply from the next command.

`ChipAuthentication` is the sans-I/O core; `run_chip_authentication` drives it over a
`SecureChannel` and reports a `Check`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from asn1crypto.core import ObjectIdentifier

from appliance.emrtd.chip.ca_keys import ChipKey, load_chip_key
from appliance.emrtd.lds import dg14 as dg14_file
from appliance.emrtd.lds.security_infos import (
    ID_CA,
    ChipAuthenticationInfo,
    SecurityInfos,
)
from appliance.emrtd.pki.checks import Check, CheckName
from appliance.emrtd.protocol import crypto, tlv
from appliance.emrtd.protocol.apdu import ApduError, CommandApdu, ResponseApdu
from appliance.emrtd.protocol.crypto import KDF_ENC, KDF_MAC, CipherKind, Random
from appliance.emrtd.protocol.files import data_group
from appliance.emrtd.protocol.sm import SessionKeys, SmError
from appliance.errors import LdsError, Reason

_CIPHERS = {"3DES": CipherKind.TDES, "AES-128": CipherKind.AES128,
            "AES-192": CipherKind.AES192, "AES-256": CipherKind.AES256}  # fmt: skip
_RANK = {CipherKind.TDES: 0, CipherKind.AES128: 1, CipherKind.AES192: 2, CipherKind.AES256: 3}
#: bytes of DG14 read back under the new keys (the proof read)
_PROOF_READ = 16


class SecureChannel(Protocol):
    """What the genuineness protocols need from a chip session."""

    def transmit(self, command: CommandApdu) -> ResponseApdu:
        """Send under the current Secure Messaging session."""
        ...

    def restart_secure_messaging(self, keys: SessionKeys) -> None:
        """Replace the SM keys (Chip Authentication)."""
        ...

    @property
    def supports_extended_length(self) -> bool: ...


@dataclass(frozen=True)
class CaSuite:
    """One Chip Authentication the chip offers: protocol, cipher and the key to agree with."""

    protocol: str
    cipher: CipherKind
    key: ChipKey

    @property
    def name(self) -> str:
        return f"CA-{self.key.key_agreement}-{self.cipher.value}"


class CaUnavailable(Exception):
    """DG14 offers no Chip Authentication this terminal can run; `reason` says why."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _default_protocol(key: ChipKey) -> str:
    """TR-03110 v1: a DG14 without ChipAuthenticationInfo means the 3DES suite."""
    arc = 1 if key.key_agreement == "DH" else 2
    return f"{ID_CA}.{arc}.1"


def select_suite(infos: SecurityInfos) -> CaSuite | None:
    """The strongest CA v1 suite DG14 offers, paired with its key by key id.

    None when DG14 announces no Chip Authentication at all; `CaUnavailable` when it does but
    with nothing usable (version 2+, unknown groups, a key id without its key).
    """
    public_keys = infos.chip_authentication_public_keys
    if not public_keys:
        return None
    loaded: list[ChipKey] = []
    problems: list[str] = []
    for key_info in public_keys:
        try:
            loaded.append(load_chip_key(key_info))
        except LdsError as exc:
            problems.append(exc.detail)
    if not loaded:
        reason = Reason.LDS_UNSUPPORTED if problems else Reason.LDS_MALFORMED
        raise CaUnavailable(reason, "; ".join(problems) or "no chip key")
    ca_infos: list[ChipAuthenticationInfo] = list(infos.chip_authentication_infos)
    candidates: list[CaSuite] = []
    if not ca_infos:
        candidates = [CaSuite(_default_protocol(key), CipherKind.TDES, key) for key in loaded]
    for info in ca_infos:
        if info.version != 1:
            continue
        for key in loaded:
            if info.key_id is not None and key.key_id is not None and info.key_id != key.key_id:
                continue
            if info.key_agreement.value != key.key_agreement:
                continue
            candidates.append(CaSuite(info.protocol, _CIPHERS[info.cipher.value], key))
    if not candidates:
        raise CaUnavailable(
            Reason.CHIP_PROTOCOL_UNSUPPORTED, "no Chip Authentication version 1 suite with its key"
        )
    return max(candidates, key=lambda suite: _RANK[suite.cipher])


def _key_reference(key_id: int) -> bytes:
    return tlv.encode(0x84, key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big"))


class ChipAuthentication:
    """One CA run: the commands to send and the SM keys the genuine chip will switch to."""

    def __init__(self, suite: CaSuite, rng: Random) -> None:
        self.suite = suite
        group = suite.key.group
        private = group.random_private(rng)
        self.ephemeral_public: bytes = group.encode(group.multiply(private, group.generator))
        secret = group.shared_secret(group.multiply(private, suite.key.public))
        cipher = suite.cipher
        self.keys = SessionKeys(
            cipher, crypto.kdf(secret, KDF_ENC, cipher), crypto.kdf(secret, KDF_MAC, cipher), 0
        )

    def commands(self) -> list[CommandApdu]:
        """MSE:Set KAT (3DES), or MSE:Set AT then GENERAL AUTHENTICATE (AES)."""
        key_id = self.suite.key.key_id
        reference = _key_reference(key_id) if key_id is not None else b""
        if self.suite.cipher is CipherKind.TDES:
            data = tlv.encode(0x91, self.ephemeral_public) + reference
            return [CommandApdu(0x00, 0x22, 0x41, 0xA6, data)]
        oid = bytes(ObjectIdentifier(self.suite.protocol).contents)
        set_at = CommandApdu(0x00, 0x22, 0x41, 0xA4, tlv.encode(0x80, oid) + reference)
        dynamic = tlv.encode(0x7C, tlv.encode(0x80, self.ephemeral_public))
        return [set_at, CommandApdu(0x00, 0x86, 0x00, 0x00, dynamic, le=256)]

    @staticmethod
    def check_answer(command: CommandApdu, response: ResponseApdu) -> None:
        """Each answer must be success; GENERAL AUTHENTICATE's must be an empty 7C template."""
        response.check("Chip Authentication")
        if command.ins == 0x86 and response.data not in (b"", b"\x7c\x00"):
            raise ApduError(
                response.sw, "Chip Authentication: unexpected GENERAL AUTHENTICATE data"
            )


def _proof_commands() -> tuple[CommandApdu, CommandApdu]:
    dg14 = data_group(14)
    return (
        CommandApdu(0x00, 0xA4, 0x02, 0x0C, dg14.fid_bytes),
        CommandApdu(0x00, 0xB0, 0x00, 0x00, le=_PROOF_READ),
    )


def run_chip_authentication(
    channel: SecureChannel,
    dg14: bytes,
    rng: Random,
    on_success: Callable[[bytes], None] | None = None,
) -> Check | None:
    """Chip Authentication with DG14's key, then the proof read under the new keys.

    None when DG14 does not offer CA (Active Authentication may apply instead). A failure of
    the chip (refusal, wrong MAC under the new keys, different DG14) is `CA_FAILED`; an
    unusable DG14 is `warn` (nothing proven either way). Transport faults propagate.
    `on_success` gets the terminal's ephemeral public key once CA passed: Terminal
    Authentication signs over it.
    """
    name = CheckName.CHIP_AUTHENTICATION
    try:
        suite = select_suite(dg14_file.parse(dg14).security_infos)
    except LdsError as exc:
        return Check.failed(name, exc.reason, f"DG14 unreadable: {exc.detail}")
    except CaUnavailable as exc:
        return Check.warned(name, exc.reason, exc.detail)
    if suite is None:
        return None
    run = ChipAuthentication(suite, rng)
    try:
        for command in run.commands():
            run.check_answer(command, channel.transmit(command))
    except ApduError as exc:
        return Check.failed(name, Reason.CA_FAILED, f"{suite.name}: chip refused ({exc.detail})")
    channel.restart_secure_messaging(run.keys)
    select, read = _proof_commands()
    try:
        channel.transmit(select).check("SELECT DG14 after Chip Authentication")
        echoed = channel.transmit(read).check("READ BINARY after Chip Authentication")
    except SmError as exc:
        return Check.failed(
            name, Reason.CA_FAILED, f"{suite.name}: chip cannot use the agreed keys ({exc.detail})"
        )
    except ApduError as exc:
        return Check.failed(name, Reason.CA_FAILED, f"{suite.name}: {exc.detail}")
    if not hmac.compare_digest(echoed, dg14[: len(echoed)]) or not echoed:
        return Check.failed(name, Reason.CA_FAILED, f"{suite.name}: DG14 read back differs")
    if on_success is not None:
        on_success(run.ephemeral_public)
    return Check.passed(name, f"{suite.name}, Secure Messaging restarted on the agreed keys")


__all__ = [
    "CaSuite",
    "CaUnavailable",
    "ChipAuthentication",
    "SecureChannel",
    "run_chip_authentication",
    "select_suite",
]
