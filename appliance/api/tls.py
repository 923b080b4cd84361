"""The device's TLS certificate: what the service needs to listen beyond loopback.

    appliance tls create [--name HOST]...     # at provisioning (self-signed, ECDSA P-256)

Beyond loopback the service listens with TLS only (`appliance serve --host ADDR`), with the
certificate and key in `<data dir>/tls/` (the key 0600, written with `write_private`). A device
gets them at provisioning, by this command or by putting a certificate from the authority's own
CA there; a simulated service makes a self-signed one at its first start beyond loopback. Why a
self-signed certificate is acceptable on the device: the handhelds pin it (its SHA-256 is
printed), there is no public CA for a gate's address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.errors import ApplianceError, Reason
from appliance.files import private_dir, write_private

VALID_DAYS = 825


def paths(directory: Path) -> tuple[Path, Path]:
    folder = directory / "tls"
    return folder / "device.crt", folder / "device.key"


def create(directory: Path, names: list[str], now: datetime | None = None) -> Path:
    """Make a self-signed device certificate for `names` (host names or IP addresses)."""
    cert_path, key_path = paths(directory)
    private_dir(cert_path.parent)
    moment = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in dict.fromkeys([*names, socket.gethostname(), "localhost", "127.0.0.1"]):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "appliance")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - timedelta(minutes=5))
        .not_valid_after(moment + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path


def device_certificate(directory: Path, *, create_if_missing: bool, host: str) -> tuple[Path, Path]:
    """The certificate and key to listen with; `TLS_REQUIRED` when none was provisioned."""
    cert_path, key_path = paths(directory)
    if not (cert_path.is_file() and key_path.is_file()):
        if not create_if_missing:
            raise ApplianceError(
                Reason.TLS_REQUIRED,
                f"--host {host} is not a loopback address and no device certificate exists "
                f"({cert_path}): run `appliance tls create` at provisioning",
            )
        create(directory, [host] if host not in ("0.0.0.0", "::") else [])
    return cert_path, key_path


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@click.group("tls")
def tls() -> None:
    """The device certificate for listening beyond loopback."""


@tls.command("create")
@click.option("--name", "names", multiple=True, help="Host name or IP address (repeatable).")
@click.option("--force", is_flag=True, help="Replace an existing certificate.")
def create_command(names: tuple[str, ...], force: bool) -> None:
    """Create the self-signed device certificate (prints its SHA-256 to pin)."""
    from appliance.config import data_dir, load_config

    directory = data_dir(load_config())
    cert_path, _ = paths(directory)
    if cert_path.exists() and not force:
        click.echo(f"appliance tls create: {cert_path} exists (--force replaces it)", err=True)
        sys.exit(2)
    created = create(directory, list(names))
    click.echo(f"{created} sha256 {fingerprint(created)}")
