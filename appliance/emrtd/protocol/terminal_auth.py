"""Terminal Authentication, terminal side (BSI TR-03110-1 v2.20 §2.4 / -3 B.11, ICAO 9303-11 §7.1).

Extended Access Control for an ePassport: after Chip Authentication the inspection system
proves to the chip that a CVCA the chip trusts authorised it to read DG3 (fingerprints) and/or
DG4 (iris). It sends its certificate chain, each link after MSE:Set DST names the key that
verifies it (PSO:Verify Certificate), then MSE:Set AT names its own certificate, GET CHALLENGE
fetches r_PICC, and EXTERNAL AUTHENTICATE carries its signature over

    ID_PICC || r_PICC || Comp(PK_PCD)

where PK_PCD is the terminal's newest ephemeral key that authenticated the chip: the one it
sent in Chip Authentication, or, when PACE with Chip Authentication Mapping made CA needless,
its ephemeral key of PACE's key agreement (TR-03110-1 v2.20 §3.5: "C"); TA so binds the
rights to the Secure Messaging that key opened. ID_PICC is the document number with its check
digit after BAC, or Comp(the chip's ephemeral PACE key) after PACE ("dynamic binding"). TA
version 1 needs CA or PACE-CAM first: there is nothing else to bind to. This is TA version 1,
the one EAC v1 chips (every ePassport guarding DG3/DG4 behind CA v1) run; version 2 belongs to
the eID's EAC v2.

Sans-I/O: `TerminalAuthentication` turns the chip's trusted CARs (EF.CVCA) and challenge into
command APDUs; `run_terminal_authentication` (appliance.emrtd.chip) moves the bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.protocol import cvc, tlv
from appliance.emrtd.protocol.apdu import CommandApdu
from appliance.errors import ApplianceError, LdsError, Reason

GET_CHALLENGE = CommandApdu(0x00, 0x84, 0x00, 0x00, le=8)


class TaRefused(ApplianceError):
    """Terminal Authentication cannot be run or was refused; the reason says which."""


def compress(public: bytes) -> bytes:
    """Comp(): the x-coordinate of an uncompressed EC point, SHA-1 of a DH value (TR-03110-3)."""
    if len(public) % 2 == 1 and public[:1] == b"\x04":
        return public[1 : 1 + len(public) // 2]
    return hashlib.sha1(public).digest()


def id_picc_from_mrz(mrz_information: str) -> bytes:
    """ID_PICC after BAC: the document number and its check digit as in the MRZ."""
    # mrz_information = number + check digit + birth date + cd + expiry date + cd
    return mrz_information[:-14].encode("ascii")


def parse_cvca_file(data: bytes) -> list[str]:
    """The CARs of EF.CVCA (one or two DO'42, zero padded): the CVCA keys the chip trusts."""
    cars = []
    for item in tlv.iter_tlvs(data):
        if item.tag != cvc.CAR:
            raise LdsError("EF.CVCA: expected CARs (42)")
        cars.append(item.value.decode("ascii", "replace"))
    return cars


@dataclass(frozen=True)
class TerminalCredentials:
    """The inspection system's chain (link and DV certificates, then its own) and key."""

    chain: tuple[cvc.CvCertificate, ...]
    key: ec.EllipticCurvePrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        if not self.chain:
            raise ValueError("a terminal chain needs at least its own certificate")
        for issuer, subject in zip(self.chain, self.chain[1:], strict=False):
            if subject.car != issuer.chr:
                raise ValueError(f"certificate {subject.chr} is not issued by {issuer.chr}")
        if self.terminal.role is not cvc.Role.IS:
            raise ValueError("the last certificate is not an inspection system's")
        if self.terminal.public_key.point != cvc.point_of(self.key.public_key()):
            raise ValueError("the terminal key does not match its certificate")

    @property
    def terminal(self) -> cvc.CvCertificate:
        return self.chain[-1]

    @property
    def rights(self) -> int:
        """The effective rights: what every certificate of the chain grants."""
        return reduce(lambda acc, cert: acc & cert.rights, self.chain, 0x3F)

    def may_read(self, data_group: int) -> bool:
        wanted = {3: cvc.READ_DG3, 4: cvc.READ_DG4}.get(data_group, 0)
        return bool(wanted) and bool(self.rights & wanted)


class TerminalAuthentication:
    """One TA run: the chain to send for the chip's CVCA, then the challenge's signature."""

    def __init__(
        self,
        credentials: TerminalCredentials,
        id_picc: bytes,
        ephemeral_public: bytes,
        today: date,
    ) -> None:
        self.credentials = credentials
        self._id_picc = id_picc
        self._comp = compress(ephemeral_public)
        self._today = today

    def chain_for(self, trusted: list[str]) -> list[cvc.CvCertificate]:
        """The certificates to send: from the first one a trusted CVCA key verifies.

        An empty `trusted` (no EF.CVCA) sends the whole chain. Certificates not valid today
        are refused here (`TA_CERT_EXPIRED`): the chip would refuse them, or worse, a chip
        whose clock lags would accept them.
        """
        chain = list(self.credentials.chain)
        if trusted:
            starts = [i for i, cert in enumerate(chain) if cert.car in trusted]
            if not starts:
                raise TaRefused(
                    Reason.TA_CHAIN_UNTRUSTED,
                    "no terminal certificate chains to a CVCA the chip trusts",
                )
            chain = chain[starts[0] :]
        for cert in chain:
            if not cert.valid_on(self._today):
                raise TaRefused(
                    Reason.TA_CERT_EXPIRED,
                    f"{cert.role.name} certificate {cert.chr} valid "
                    f"{cert.effective.isoformat()} to {cert.expiration.isoformat()}",
                )
        return chain

    @staticmethod
    def certificate_commands(cert: cvc.CvCertificate) -> tuple[CommandApdu, CommandApdu]:
        """MSE:Set DST (the key that verifies it) and PSO:Verify Certificate."""
        set_dst = CommandApdu(0x00, 0x22, 0x81, 0xB6, tlv.encode(0x83, cert.car.encode("ascii")))
        return set_dst, CommandApdu(0x00, 0x2A, 0x00, 0xBE, cert.pso_data)

    def mse_set_at(self) -> CommandApdu:
        """MSE:Set AT for external authentication, naming the terminal's certificate."""
        chr_ = self.credentials.terminal.chr.encode("ascii")
        return CommandApdu(0x00, 0x22, 0x81, 0xA4, tlv.encode(0x83, chr_))

    def external_authenticate(self, challenge: bytes) -> CommandApdu:
        """EXTERNAL AUTHENTICATE: the signature over ID_PICC || r_PICC || Comp(PK_PCD)."""
        if len(challenge) != 8:
            raise TaRefused(Reason.TA_FAILED, "GET CHALLENGE did not return 8 bytes")
        message = self._id_picc + challenge + self._comp
        key = self.credentials.key
        algorithm = self.credentials.terminal.public_key.hash_algorithm
        der = key.sign(message, ec.ECDSA(algorithm))
        return CommandApdu(0x00, 0x82, 0x00, 0x00, cvc.plain_signature(der, key.curve))


def signed_message(id_picc: bytes, challenge: bytes, ephemeral_public: bytes) -> bytes:
    """What the terminal signs (the chip rebuilds it to verify)."""
    return id_picc + challenge + compress(ephemeral_public)


__all__ = [
    "GET_CHALLENGE",
    "TaRefused",
    "TerminalAuthentication",
    "TerminalCredentials",
    "compress",
    "id_picc_from_mrz",
    "parse_cvca_file",
    "signed_message",
]
