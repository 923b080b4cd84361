"""`appliance chip read` / `chip verify`: the report a border guard and a script rely on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from appliance.cli import cli
from hardware_mocks.virtual_chip import make_chip, make_profile
from tests import pa_pki

PROFILE = make_profile()
MRZ_INFO = "C01X00T47,640812,341031"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def report(result: Result) -> dict[str, object]:
    data: dict[str, object] = json.loads(result.output)
    return data


@pytest.fixture
def trusted(data_dir: Path, tmp_path: Path) -> Path:
    """Import the virtual chip's test CSCA and its CRL into the data directory's trust store."""
    csca, crl = tmp_path / "csca.der", tmp_path / "csca.crl"
    csca.write_bytes(PROFILE.pki.csca_der)
    crl.write_bytes(PROFILE.pki.crl_der)
    anchor = pa_pki.pin(PROFILE.pki.csca_der)
    assert run("trust", "import", str(csca), "--anchor", anchor).exit_code == 0
    assert run("trust", "import", str(crl)).exit_code == 0
    return data_dir


def checks(rep: dict[str, object]) -> dict[str, dict[str, str]]:
    items = rep["authenticity"]
    assert isinstance(items, list)
    return {c["name"]: c for c in items}


def test_profile_key_matches_the_documented_mrz_info() -> None:
    number, dob, doe = MRZ_INFO.split(",")
    assert PROFILE.mrz_information.startswith(number)
    assert dob in PROFILE.mrz_information and doe in PROFILE.mrz_information


def test_read_virtual_chip_report_has_the_stable_fields(trusted: Path) -> None:
    result = run("chip", "read", "--reader", "virtual", "--mrz-info", MRZ_INFO, "--json")
    rep = report(result)
    assert result.exit_code == 0, rep
    assert rep["status"] == "pass" and rep["reason"] == "OK"
    assert rep["access"] == {
        "protocol": "PACE",
        "cipher": "AES-128",
        "mapping": "GM",
        "parameter_id": 13,
        "pace_failure": None,
    }
    files = rep["files"]
    assert isinstance(files, dict)
    assert {"EF_COM.bin", "EF_SOD.bin", "DG1.bin", "DG2.bin"} <= set(files)
    dg1 = rep["dg1"]
    assert isinstance(dg1, dict)
    assert dg1["document_number"] == "C01X00T47"
    assert dg1["surname"] == "MUSTERMANN" and dg1["given_names"] == "ERIKA"
    assert dg1["date_of_birth"] == "1964-08-12" and dg1["date_of_expiry"] == "2034-10-31"
    assert (dg1["document_type"], dg1["issuing_state"], dg1["nationality"], dg1["sex"]) == (
        "P",
        "D",
        "D",
        "F",
    )
    face = rep["face_image"]
    assert isinstance(face, dict)
    assert face["format"] == "jpeg" and face["width"] and face["height"]
    assert isinstance(rep["apdus"], int) and rep["apdus"] > 5
    timings = rep["timings_ms"]
    assert isinstance(timings, dict) and "pace" in timings and "total" in timings
    by_name = checks(rep)
    for name in ("sod_signature", "ds_certificate_chain", "dg_hashes", "issuer_country"):
        assert by_name[name]["status"] == "pass", by_name[name]
    assert by_name["dg1_vs_mrz"]["status"] == "skipped"


def test_untrusted_csca_is_refused(data_dir: Path) -> None:
    result = run("chip", "read", "--reader", "virtual", "--can", "123456", "--json")
    rep = report(result)
    assert result.exit_code == 1
    assert rep["reason"] == "PA_DS_UNTRUSTED"


def test_wrong_mrz_is_access_denied(data_dir: Path) -> None:
    result = run("chip", "read", "--reader", "virtual", "--mrz-info", "X1234567,640812,341031")
    assert result.exit_code == 1
    assert "CHIP_ACCESS_DENIED" in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(data_dir: Path) -> None:
    assert run("chip", "read", "--reader", "virtual").exit_code == 2
    assert run("chip", "read", "--mrz-info", "nonsense").exit_code == 2
    assert run("chip", "read", "--can", "12").exit_code == 2


def test_printed_mrz_is_compared_with_dg1(trusted: Path) -> None:
    lines = list(PROFILE.mrz_lines)
    good = run(
        "chip", "read", "--reader", "virtual", "--json", "--mrz", lines[0], "--mrz", lines[1]
    )
    assert good.exit_code == 0
    assert checks(report(good))["dg1_vs_mrz"]["status"] == "pass"
    forged = lines[0].replace("ERIKA", "ERIKO")
    bad = run("chip", "read", "--reader", "virtual", "--can", "123456", "--json")
    bad = run(
        "chip", "read", "--reader", "virtual", "--can", "123456", "--json",
        "--mrz", forged, "--mrz", lines[1],
    )  # fmt: skip
    assert bad.exit_code == 1
    assert checks(report(bad))["dg1_vs_mrz"]["reason"] == "DG1_MRZ_MISMATCH"


def test_dump_verifies_offline_like_the_live_read(trusted: Path, tmp_path: Path) -> None:
    out = tmp_path / "dump"
    live = report(
        run("chip", "read", "--reader", "virtual", "--can", "123456", "--json", "--out", str(out))
    )
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(live["files"])  # type: ignore[arg-type]
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in out.iterdir())
    offline = run("chip", "verify", str(out), "--json")
    assert offline.exit_code == 0
    # chip genuineness needs the chip itself: a dump reports it as not performed
    genuineness = ("chip_authentication", "active_authentication", "pace_cam")
    offline_checks, live_checks = checks(report(offline)), checks(live)
    assert live_checks["chip_authentication"]["status"] == "pass"
    assert all(offline_checks.pop(name)["status"] == "skipped" for name in genuineness)
    assert offline_checks == {k: v for k, v in live_checks.items() if k not in genuineness}


def test_forged_data_group_in_a_dump_fails_and_a_deviation_excuses_only_it(
    trusted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dump"
    run("chip", "read", "--reader", "virtual", "--can", "123456", "--out", str(out))
    dg1 = bytearray((out / "DG1.bin").read_bytes())
    dg1[-3] = ord("X") if dg1[-3] != ord("X") else ord("Y")
    (out / "DG1.bin").write_bytes(bytes(dg1))
    failed = run("chip", "verify", str(out), "--json")
    assert failed.exit_code == 1
    assert report(failed)["reason"] == "PA_DG_HASH_MISMATCH"

    import hashlib

    from appliance.emrtd.auth.cms import find_signer_certificate, parse_signed_data

    ds = find_signer_certificate(parse_signed_data((out / "EF_SOD.bin").read_bytes()))
    assert ds is not None
    entry = {
        "issuer": "D",
        "ds_fingerprint": hashlib.sha256(ds.der).hexdigest(),
        "check": "dg_hashes",
        "reason_code": "PA_DG_HASH_MISMATCH",
        "description": "test batch",
    }
    (trusted / "deviations.json").write_text(json.dumps({"deviations": [entry]}))
    excused = report(run("chip", "verify", str(out), "--json"))
    by_name = checks(excused)
    assert by_name["dg_hashes"]["status"] == "warn"
    assert by_name["deviation_list"]["reason"] == "PA_DEVIATION_LISTED"
    assert excused["status"] == "warn"


def test_verify_of_a_missing_directory_is_a_fault(data_dir: Path, tmp_path: Path) -> None:
    result = run("chip", "verify", str(tmp_path / "nothing"), "--json")
    assert result.exit_code == 2
    assert report(result)["reason"] == "FILE_UNREADABLE"


@pytest.mark.pcsc
@pytest.mark.parametrize("bac_only", [False, True], ids=["pace", "bac"])
def test_read_through_pcscd(pcsc_stack: str, trusted: Path, bac_only: bool) -> None:
    from hardware_mocks.vpcd import VpcdBridge

    with VpcdBridge(make_chip(bac_only=bac_only)):
        result = run("chip", "read", "--reader", pcsc_stack, "--mrz-info", MRZ_INFO, "--json")
    rep = report(result)
    assert result.exit_code == 0, rep
    assert rep["reader"] == pcsc_stack
    access = rep["access"]
    assert isinstance(access, dict)
    assert access["protocol"] == ("BAC" if bac_only else "PACE")


@pytest.mark.pcsc
def test_card_pulled_mid_read_through_pcscd(pcsc_stack: str, data_dir: Path) -> None:
    from hardware_mocks.vpcd import VpcdBridge

    with VpcdBridge(make_chip(), remove_after_apdus=14):
        result = run("chip", "read", "--reader", pcsc_stack, "--can", "123456", "--json")
    rep = report(result)
    assert result.exit_code == 1
    assert rep["reason"] == "CHIP_REMOVED"


@pytest.mark.pcsc
def test_no_card_on_the_reader(pcsc_stack: str, data_dir: Path) -> None:
    from drivers.pcsc import PcscTransport

    deadline = time.monotonic() + 5  # pcscd notices a card left by an earlier test in ~1 s
    while PcscTransport(pcsc_stack).card_present() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = run(
        "chip", "read", "--reader", pcsc_stack, "--can", "123456", "--json", "--wait", "0.3"
    )  # fmt: skip
    assert result.exit_code == 2
    assert report(result)["reason"] == "CHIP_NOT_PRESENT"


def test_unknown_reader_is_a_fault(data_dir: Path) -> None:
    result = run("chip", "read", "--reader", "No Such Reader 99", "--can", "123456", "--json")
    assert result.exit_code == 2
    assert report(result)["reason"] == "READER_NOT_FOUND"
