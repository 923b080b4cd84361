"""Publishing signed artefacts and fetching them as a device's downlink does."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.signed import artefacts as signed
from sync.central import artefacts
from tests.sync.conftest import CentralServer, central_cli, enrolled


def _authority_key(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "authority.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return key, path


def test_publish_and_fetch_with_the_signature_verified(
    central: CentralServer, tmp_path: Path
) -> None:
    key, key_path = _authority_key(tmp_path)
    watchlist = tmp_path / "watchlist.json"
    watchlist.write_text('{"version": 7, "entries": []}')
    crl = tmp_path / "csca.crl"
    crl.write_bytes(b"0\x82\x01\x00 not really DER, opaque to central")
    out = central_cli(
        central.database, "publish", "watchlist", str(watchlist), "--key", str(key_path)
    )
    assert out.stdout.strip() == "published watchlist version 1"
    central_cli(central.database, "publish", "crl", str(crl), "--key", str(key_path))
    central_cli(central.database, "publish", "crl", str(crl), "--key", str(key_path))

    _, client = enrolled(central, "downlink")
    status, body = client.signed("GET", "/api/v1/artefacts")
    assert status == 200
    assert {(a["kind"], a["version"]) for a in body["artefacts"]} == {("watchlist", 1), ("crl", 2)}

    status, fetched = client.signed("GET", "/api/v1/artefacts/watchlist/1")
    assert status == 200
    content = base64.b64decode(fetched["content"])
    assert content == watchlist.read_bytes()
    # the device's own verifier (appliance.signed) accepts it with the authority's public key
    anchors = tmp_path / "device-data"
    signed.install_trusted_key(anchors, key.public_key(), "authority")
    trusted = signed.TrustedKeys.load(anchors / signed.KEYS_DIR)
    kid = trusted.verify(signed.ArtefactKind.WATCHLIST, content, fetched["signature"].encode())
    assert kid == signed.key_id(key.public_key())
    # the manifest binds kind, version and content hash under the same key
    manifest = json.loads(fetched["manifest"])
    assert manifest["kind"] == "watchlist" and manifest["version"] == 1
    assert artefacts.verify_line(
        "manifest", fetched["manifest"].encode(), fetched["manifest_signature"], key.public_key()
    )

    status, fetched = client.signed("GET", "/api/v1/artefacts/crl/2")
    crl_content = base64.b64decode(fetched["content"])
    assert artefacts.verify_line("crl", crl_content, fetched["signature"], key.public_key())
    assert not artefacts.verify_line(
        "crl", crl_content + b"x", fetched["signature"], key.public_key()
    )
    # a CRL signature never passes for another kind
    assert not artefacts.verify_line(
        "masterlist", crl_content, fetched["signature"], key.public_key()
    )
    status, body = client.signed("GET", "/api/v1/artefacts/crl/9")
    assert (status, body["reason"]) == (404, "SYNC_NOT_FOUND")


def test_signature_is_the_signed_artefact_format(tmp_path: Path) -> None:
    key, _ = _authority_key(tmp_path)
    content = b'{"version": 3}'
    ours = artefacts.signature_line("policy", content, key)
    assert ours.encode() == signed.sign(signed.ArtefactKind.POLICY, content, key)


def test_older_version_refused(central: CentralServer, tmp_path: Path) -> None:
    _, key_path = _authority_key(tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text("version = 5\n")
    args = ("publish", "policy", str(policy), "--key", str(key_path))
    central_cli(central.database, *args, "--version", "5")
    refused = central_cli(central.database, *args, "--version", "4", check=False)
    assert refused.returncode == 1 and "SYNC_ARTEFACT_VERSION" in refused.stderr
    refused = central_cli(central.database, *args, "--version", "5", check=False)
    assert refused.returncode == 1
    assert "version 6" in central_cli(central.database, *args).stdout
