"""Terminal Authentication, chip side (BSI TR-03110-1 §2.4 / -3 §2.5, C.4): who may read DG3/DG4.

The chip holds its CVCA trust point(s) and a current date (no clock: the most recent effective
date of a CVCA, DV or accurate terminal certificate it accepted, never moved back). A terminal
walks its chain down from a trust point: MSE:Set DST names the verifying key, PSO:Verify
Certificate presents the next certificate, which the chip accepts when the key signs it, its
role may follow the issuer's (CVCA -> CVCA link or DV -> IS), and it has not expired by the
chip's date. The keys imported so live for the session only, except a CVCA link certificate,
which replaces the trust point. MSE:Set AT names the terminal's certificate, GET CHALLENGE
draws r_PICC, and EXTERNAL AUTHENTICATE must carry the terminal key's signature over
ID_PICC || r_PICC || Comp(the terminal's ephemeral key of this session's Chip Authentication, or
of its PACE run when that was PACE-CAM). The rights granted are those every certificate of the
chain holds, once per session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.emrtd.protocol import cvc
from appliance.emrtd.protocol.crypto import Random
from appliance.emrtd.protocol.terminal_auth import signed_message
from appliance.errors import LdsError
from hardware_mocks.virtual_chip.status import (
    SW_AUTH_FAILED,
    SW_CONDITIONS,
    SW_DATA_NOT_FOUND,
    SW_OK,
    SW_WRONG_DATA,
)

#: which roles a key of each role may certify
_MAY_CERTIFY = {
    cvc.Role.CVCA: (cvc.Role.CVCA, cvc.Role.DV_DOMESTIC, cvc.Role.DV_FOREIGN),
    cvc.Role.DV_DOMESTIC: (cvc.Role.IS,),
    cvc.Role.DV_FOREIGN: (cvc.Role.IS,),
}


@dataclass(frozen=True)
class EacTrust:
    """What a chip is personalised with for EAC: its CVCA certificate(s) and first date."""

    cvca: tuple[cvc.CvCertificate, ...]
    issued: date


@dataclass(frozen=True)
class _Key:
    """A public key the chip may verify with: from a trust point or an accepted certificate."""

    chr: str
    cert_key: cvc.CvPublicKey
    key: ec.EllipticCurvePublicKey
    curve: ec.EllipticCurve
    role: cvc.Role
    rights: int


def _trust_key(cert: cvc.CvCertificate) -> _Key:
    curve = cert.public_key.curve
    if curve is None:
        raise ValueError("a CVCA trust point needs its domain parameters")
    return _Key(cert.chr, cert.public_key, cert.public_key.key(), curve, cert.role, cert.rights)


@dataclass
class EacMemory:
    """The chip's persistent EAC state: trust points and current date survive power cycles."""

    trust_points: dict[str, _Key]
    current_date: date

    @classmethod
    def personalise(cls, trust: EacTrust) -> EacMemory:
        points = {cert.chr: _trust_key(cert) for cert in trust.cvca}
        return cls(points, trust.issued)

    def cvca_file(self) -> bytes:
        """EF.CVCA: the trust points' CHRs, zero padded to 36 bytes."""
        body = b"".join(
            bytes([cvc.CAR, len(name)]) + name.encode("ascii") for name in self.trust_points
        )
        return body.ljust(36, b"\x00")


@dataclass
class CardTerminalAuth:
    """One session's Terminal Authentication. SW_OK answers leave the next step armed."""

    memory: EacMemory
    rng: Random
    _imported: dict[str, _Key] = field(default_factory=dict)
    _verifier: _Key | None = None
    _terminal: _Key | None = None
    _challenge: bytes | None = None
    #: the rights granted once EXTERNAL AUTHENTICATE verified (None: not authenticated)
    rights: int | None = None

    def _known(self, name: str) -> _Key | None:
        return self._imported.get(name) or self.memory.trust_points.get(name)

    def set_dst(self, car: bytes) -> int:
        self._verifier = self._known(car.decode("ascii", "replace"))
        return SW_OK if self._verifier is not None else SW_DATA_NOT_FOUND

    def verify_certificate(self, data: bytes) -> int:
        issuer, self._verifier = self._verifier, None
        if issuer is None:
            return SW_CONDITIONS
        try:
            cert = cvc.parse_pso(data)
            key = cert.public_key.key(issuer.curve)
        except LdsError:
            return SW_WRONG_DATA
        if cert.car != issuer.chr or cert.role not in _MAY_CERTIFY.get(issuer.role, ()):
            return SW_WRONG_DATA
        if not cert.signed_by(issuer.key, issuer.cert_key):
            return SW_WRONG_DATA
        if cert.expiration < self.memory.current_date:
            return SW_WRONG_DATA  # expired by what the chip knows of today
        accurate = cert.role is not cvc.Role.IS or issuer.role is cvc.Role.DV_DOMESTIC
        if accurate and cert.effective > self.memory.current_date:
            self.memory.current_date = cert.effective
        entry = _Key(cert.chr, cert.public_key, key, issuer.curve, cert.role,
                     cert.rights & issuer.rights)  # fmt: skip
        if cert.role is cvc.Role.CVCA:
            self.memory.trust_points[cert.chr] = entry  # a link certificate: the new trust point
        else:
            self._imported[cert.chr] = entry
        return SW_OK

    def set_at(self, chr_: bytes) -> int:
        if self.rights is not None:
            return SW_CONDITIONS  # one Terminal Authentication per session (TR-03110-1 §3.5.2)
        entry = self._imported.get(chr_.decode("ascii", "replace"))
        if entry is None or entry.role is not cvc.Role.IS:
            self._terminal = None
            return SW_DATA_NOT_FOUND
        self._terminal = entry
        self._challenge = None
        return SW_OK

    @property
    def wants_challenge(self) -> bool:
        return self._terminal is not None

    def get_challenge(self) -> bytes:
        self._challenge = self.rng(8)
        return self._challenge

    def external_authenticate(self, signature: bytes, id_picc: bytes, ca_key: bytes) -> int:
        terminal, challenge = self._terminal, self._challenge
        self._terminal = self._challenge = None
        if terminal is None or challenge is None:
            return SW_CONDITIONS
        size = (terminal.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return SW_AUTH_FAILED
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        message = signed_message(id_picc, challenge, ca_key)
        try:
            terminal.key.verify(
                encode_dss_signature(r, s),
                message,
                ec.ECDSA(terminal.cert_key.hash_algorithm),
            )
        except InvalidSignature:
            return SW_AUTH_FAILED
        self.rights = terminal.rights
        return SW_OK

    def may_read(self, data_group: int) -> bool:
        wanted = {3: cvc.READ_DG3, 4: cvc.READ_DG4}[data_group]
        return self.rights is not None and bool(self.rights & wanted)
