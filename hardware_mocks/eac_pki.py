"""A test EAC PKI: CVCA -> DV -> inspection system, card-verifiable certificates (TR-03110-3).

Keys derive from (country, seed, label) as in `hardware_mocks.pki`, so the same arguments give
the same chain; dates are relative to `today`. Variants for the refusal tests: an expired or
not yet valid terminal certificate, a chain signed by another country's CVCA (the chip does not
trust it), rights without DG4, a DV certificate whose signature is broken.

    eac = build_eac_pki("UT", today=date(2026, 12, 4))
    ChipContents(..., eac=eac.chip_trust())       # the chip side
    ReaderOptions(terminal=eac.credentials())     # the terminal side
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.emrtd.protocol import cvc
from appliance.emrtd.protocol.terminal_auth import TerminalCredentials
from appliance.files import private_dir, write_private
from hardware_mocks import pki
from hardware_mocks.virtual_chip.card_ta import EacTrust

#: id-TA-ECDSA-SHA-256
TA_ECDSA_SHA256 = f"{cvc.ID_TA_ECDSA}.3"
ALL_RIGHTS = cvc.READ_DG3 | cvc.READ_DG4


def _key(country: str, seed: int, label: str) -> ec.EllipticCurvePrivateKey:
    return pki.derive_ec_key(pki.PkiAlgorithm.ECDSA_BRAINPOOL_P256, f"{country}/{seed}", label)


@dataclass(frozen=True)
class EacPki:
    cvca: cvc.CvCertificate
    dv: cvc.CvCertificate
    terminal: cvc.CvCertificate
    terminal_key: ec.EllipticCurvePrivateKey
    #: the day the chip was personalised (its first current date)
    issued: date

    def credentials(self) -> TerminalCredentials:
        return TerminalCredentials((self.dv, self.terminal), self.terminal_key)

    def chip_trust(self) -> EacTrust:
        return EacTrust((self.cvca,), self.issued)


def _request(car: str, chr_: str, key: ec.EllipticCurvePrivateKey, role: cvc.Role, rights: int,
             start: date, end: date, *, curve: bool = False) -> cvc.CertificateRequest:  # fmt: skip
    public = cvc.CvPublicKey(
        TA_ECDSA_SHA256, cvc.point_of(key.public_key()), key.curve if curve else None
    )
    return cvc.CertificateRequest(car, chr_, public, role, rights, start, end)


def build_eac_pki(
    country: str = "UT",
    seed: int = 0,
    *,
    today: date | None = None,
    rights: int = ALL_RIGHTS,
    terminal_valid: tuple[int, int] = (-1, 30),
    dv_rights: int = ALL_RIGHTS,
) -> EacPki:
    """The chain of `country`; `terminal_valid` is (first, last) day relative to `today`."""
    today = today or datetime.now(UTC).date()
    cvca_key = _key(country, seed, "eac-cvca")
    dv_key = _key(country, seed, "eac-dv")
    is_key = _key(country, seed, "eac-is")
    cvca_name, dv_name, is_name = f"{country}CVCA00001", f"{country}DV000001", f"{country}IS00001"
    cvca = cvc.issue(
        _request(cvca_name, cvca_name, cvca_key, cvc.Role.CVCA, ALL_RIGHTS,
                 today - timedelta(days=365), today + timedelta(days=3 * 365), curve=True),
        cvca_key, TA_ECDSA_SHA256,
    )  # fmt: skip
    dv = cvc.issue(
        _request(cvca_name, dv_name, dv_key, cvc.Role.DV_DOMESTIC, dv_rights,
                 today - timedelta(days=30), today + timedelta(days=90)),
        cvca_key, TA_ECDSA_SHA256,
    )  # fmt: skip
    first, last = terminal_valid
    terminal = cvc.issue(
        _request(dv_name, is_name, is_key, cvc.Role.IS, rights,
                 today + timedelta(days=first), today + timedelta(days=last)),
        dv_key, TA_ECDSA_SHA256,
    )  # fmt: skip
    return EacPki(cvca, dv, terminal, is_key, today - timedelta(days=200))


def with_broken_dv_signature(eac: EacPki) -> EacPki:
    """The same chain with one bit of the DV certificate's signature flipped."""
    signature = bytearray(eac.dv.signature)
    signature[-1] ^= 0x01
    return replace(eac, dv=replace(eac.dv, signature=bytes(signature)))


def write_terminal_files(directory: Path, eac: EacPki) -> tuple[list[Path], Path]:
    """The terminal's certificates (DV, IS) and key, for [chip] terminal_certificates/_key."""
    private_dir(directory)
    certs = []
    for name, cert in (("dv.cvcert", eac.dv), ("terminal.cvcert", eac.terminal)):
        path = directory / name
        write_private(path, cert.encode())
        certs.append(path)
    key_path = directory / "terminal-key.pem"
    pem = eac.terminal_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(key_path, pem)
    return certs, key_path


__all__ = [
    "ALL_RIGHTS",
    "TA_ECDSA_SHA256",
    "EacPki",
    "build_eac_pki",
    "with_broken_dv_signature",
    "write_terminal_files",
]
