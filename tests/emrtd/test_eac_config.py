"""[chip] terminal_certificates / terminal_key: the EAC inspection system from the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import ChipConfig
from appliance.emrtd.document import document_report, read_chip
from appliance.emrtd.session import MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.wiring import reader_options, terminal_credentials
from hardware_mocks.eac_pki import write_terminal_files
from hardware_mocks.virtual_chip import VirtualCardTransport, VirtualChip, make_profile
from tests.support import pa_pki
from tests.support.config_support import simulated_config

PROFILE = make_profile(iris=True)


def _config(tmp_path: Path) -> ChipConfig:
    certs, key = write_terminal_files(tmp_path / "eac", PROFILE.eac_pki())
    return ChipConfig(terminal_certificates=[str(p) for p in certs], terminal_key=str(key))


def test_configured_terminal_reads_dg4_and_the_report_says_so(tmp_path: Path) -> None:
    options = reader_options(_config(tmp_path))
    assert options.terminal is not None and options.terminal.may_read(4)
    key = MrzKey(PROFILE.document_number, PROFILE.date_of_birth, PROFILE.date_of_expiry)
    document = read_chip(VirtualCardTransport(VirtualChip(PROFILE)), key, options)
    assert "DG4.bin" in document.files
    report = document_report(document)
    assert report["terminal_authentication"]["status"] == "pass"  # type: ignore[index]
    assert report["files"]["DG4.bin"] > 1000  # type: ignore[index]


def test_no_terminal_configured_is_no_eac() -> None:
    assert terminal_credentials(ChipConfig()) is None
    assert reader_options(ChipConfig()).terminal is None


@pytest.mark.parametrize("damage", ["missing", "garbage", "other_key", "no_key"])
def test_unusable_terminal_files_are_config_invalid(tmp_path: Path, damage: str) -> None:
    config = _config(tmp_path)
    if damage == "missing":
        config.terminal_certificates[0] = str(tmp_path / "nowhere.cvcert")
    elif damage == "garbage":
        Path(config.terminal_certificates[1]).write_bytes(b"\x7f\x21\x03abc")
    elif damage == "other_key":
        other = write_terminal_files(tmp_path / "other", make_profile(issuing_state="F").eac_pki())
        config.terminal_key = str(other[1])
    else:
        config.terminal_key = ""
    with pytest.raises(ApplianceError) as caught:
        terminal_credentials(config)
    assert caught.value.reason is Reason.CONFIG_INVALID


def open_iris_chip() -> VirtualCardTransport:
    """`hardware.virtual_card` for the CLI test: the EAC chip with DG4."""
    return VirtualCardTransport(VirtualChip(PROFILE))


def test_chip_read_cli_runs_eac_from_the_config(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs, key = write_terminal_files(tmp_path / "eac", PROFILE.eac_pki())
    config = simulated_config(
        tmp_path / "appliance.toml",
        hardware={"virtual_card": f"{__name__}:open_iris_chip"},
        chip={"terminal_certificates": [str(p) for p in certs], "terminal_key": str(key)},
    )
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    runner = CliRunner()
    csca, crl = tmp_path / "csca.der", tmp_path / "csca.crl"
    csca.write_bytes(PROFILE.pki.csca_der)
    crl.write_bytes(PROFILE.pki.crl_der)
    pin = pa_pki.pin(PROFILE.pki.csca_der)
    assert runner.invoke(cli, ["trust", "import", str(csca), "--anchor", pin]).exit_code == 0
    assert runner.invoke(cli, ["trust", "import", str(crl)]).exit_code == 0
    info = f"{PROFILE.document_number},{PROFILE.date_of_birth},{PROFILE.date_of_expiry}"
    args = ["chip", "read", "--reader", "virtual", "--mrz-info", info, "--json"]
    result = runner.invoke(cli, args, catch_exceptions=False)
    report = json.loads(result.output)
    assert result.exit_code == 0, report
    assert report["terminal_authentication"]["status"] == "pass"
    assert report["files"]["DG4.bin"] > 1000
    # a terminal key file that is not there: a configuration fault, exit 2, no traceback
    broken = simulated_config(
        tmp_path / "broken.toml",
        hardware={"virtual_card": f"{__name__}:open_iris_chip"},
        chip={"terminal_certificates": [str(p) for p in certs], "terminal_key": "/nonexistent"},
    )
    monkeypatch.setenv("APPLIANCE_CONFIG", str(broken))
    result = runner.invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2
    assert json.loads(result.output)["reason"] == "CONFIG_INVALID"
