"""The simulated authority (hardware_mocks/sim_authority.py) installs its key as a trust anchor
only in a data directory that trusts no other authority: running the demo or the simulated
service in a real appliance's data directory must not make simulated signatures valid there."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.cli import cli
from appliance.inspection.policy import POLICY_FILE
from appliance.signed import artefacts as sc


def test_demo_refuses_a_data_directory_that_trusts_a_real_authority(data_dir: Path) -> None:
    real = Ed25519PrivateKey.generate().public_key()
    sc.install_trusted_key(data_dir, real, "national-authority")
    result = CliRunner().invoke(cli, ["demo", "--headless", "--travellers", "1", "--json"])
    assert result.exit_code == 2
    assert '"reason": "DEMO_AUTHORITY_REFUSED"' in result.stdout
    trusted = sc.TrustedKeys.load(data_dir / sc.KEYS_DIR)
    assert list(trusted.keys) == [sc.key_id(real)]  # the demo key did not join it
    assert not (data_dir / POLICY_FILE).exists()  # nothing was signed with it either


def test_demo_reuses_its_own_anchor(data_dir: Path) -> None:
    for _ in range(2):
        result = CliRunner().invoke(cli, ["demo", "--headless", "--travellers", "1"])
        assert result.exit_code == 0, result.stderr
    assert len(sc.TrustedKeys.load(data_dir / sc.KEYS_DIR).keys) == 1
