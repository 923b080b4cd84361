"""Signed policy files: only a policy signed by a trusted Ed25519 key, untouched and not older
than one accepted before, is used; everything else is refused with a stable reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import ApplianceError, Reason
from appliance.inspection.policy import POLICY_FILE, default_policy_toml, load_policy
from appliance.inspection.report import StepName
from appliance.signed import artefacts as sc
from tests.support.inspection_support import AUTHORITY, install_authority


def install(directory: Path, content: bytes, key: Ed25519PrivateKey = AUTHORITY) -> Path:
    path = directory / POLICY_FILE
    sc.write_signed(path, sc.ArtefactKind.POLICY, content, key)
    return path


def refused(directory: Path) -> Reason:
    with pytest.raises(ApplianceError) as info:
        load_policy(directory)
    return info.value.reason


def test_signed_policy_loads(tmp_path: Path) -> None:
    install_authority(tmp_path)
    install(tmp_path, default_policy_toml(4, require_biometrics=False))
    policy = load_policy(tmp_path)
    assert policy.version == 4
    assert StepName.BIOMETRICS not in policy.egate.required_steps
    assert StepName.WATCHLIST in policy.egate.required_steps


def test_missing_policy_or_signature_is_unsigned(tmp_path: Path) -> None:
    install_authority(tmp_path)
    assert refused(tmp_path) is Reason.POLICY_UNSIGNED
    (tmp_path / POLICY_FILE).write_bytes(default_policy_toml(1))
    assert refused(tmp_path) is Reason.POLICY_UNSIGNED


def test_policy_signed_by_an_unknown_key_is_unsigned(tmp_path: Path) -> None:
    install_authority(tmp_path)
    install(tmp_path, default_policy_toml(1), Ed25519PrivateKey.generate())
    assert refused(tmp_path) is Reason.POLICY_UNSIGNED


def test_no_trust_anchor_trusts_nothing(tmp_path: Path) -> None:
    install(tmp_path, default_policy_toml(1))
    assert refused(tmp_path) is Reason.POLICY_UNSIGNED


@pytest.mark.parametrize("edit", ["flip_byte", "append", "loosen_rule"])
def test_tampered_policy_is_invalid(tmp_path: Path, edit: str) -> None:
    install_authority(tmp_path)
    path = install(tmp_path, default_policy_toml(1))
    content = path.read_bytes()
    if edit == "flip_byte":
        content = content[:10] + bytes([content[10] ^ 1]) + content[11:]
    elif edit == "append":
        content += b"\n# harmless comment\n"
    else:
        content = content.replace(b'    "biometrics",\n', b"", 1)
    path.write_bytes(content)
    assert refused(tmp_path) is Reason.POLICY_INVALID


def test_signature_of_another_artefact_kind_does_not_verify(tmp_path: Path) -> None:
    install_authority(tmp_path)
    content = default_policy_toml(1)
    (tmp_path / POLICY_FILE).write_bytes(content)
    signature = sc.sign(sc.ArtefactKind.WATCHLIST, content, AUTHORITY)
    sc.signature_path(tmp_path / POLICY_FILE).write_bytes(signature)
    assert refused(tmp_path) is Reason.POLICY_INVALID


@pytest.mark.parametrize(
    "content",
    [b"version = 0\n", b"not toml at all [[[", b"version = 1\nunknown_rule = true\n", b"\xff\xfe"],
)
def test_signed_but_malformed_policy_is_invalid(tmp_path: Path, content: bytes) -> None:
    install_authority(tmp_path)
    install(tmp_path, content)
    assert refused(tmp_path) is Reason.POLICY_INVALID


@pytest.mark.parametrize("signature", [b"", b"ed25519 00 !!!", b"rsa 0011 AAAA\n", b"\x00\xff"])
def test_garbage_signature_file_is_refused(tmp_path: Path, signature: bytes) -> None:
    install_authority(tmp_path)
    path = install(tmp_path, default_policy_toml(1))
    sc.signature_path(path).write_bytes(signature)
    assert refused(tmp_path) in (Reason.POLICY_INVALID, Reason.POLICY_UNSIGNED)


def test_an_older_policy_cannot_be_put_back(tmp_path: Path) -> None:
    install_authority(tmp_path)
    install(tmp_path, default_policy_toml(1))
    old = (
        (tmp_path / POLICY_FILE).read_bytes(),
        sc.signature_path(tmp_path / POLICY_FILE).read_bytes(),
    )
    install(tmp_path, default_policy_toml(2))
    assert load_policy(tmp_path).version == 2
    (tmp_path / POLICY_FILE).write_bytes(old[0])
    sc.signature_path(tmp_path / POLICY_FILE).write_bytes(old[1])
    assert refused(tmp_path) is Reason.POLICY_INVALID
