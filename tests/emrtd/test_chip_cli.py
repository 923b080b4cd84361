"""`appliance chip read` / `chip verify`: the report a border guard and a script rely on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from appliance.cli import cli
from hardware_mocks.virtual_chip import make_chip, make_profile
from tests.support import pa_pki

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
    # chip genuineness needs the chip itself: EF.SOD lists DG14, and a dump (what a cloner
    # has) cannot prove the chip's key, so the dump is not a pass and exits 1
    assert offline.exit_code == 1
    assert (report(offline)["status"], report(offline)["reason"]) == ("warn", "PA_NOT_CHECKED")
    genuineness = ("chip_authentication", "active_authentication", "pace_cam")
    offline_checks, live_checks = checks(report(offline)), checks(live)
    assert live_checks["chip_authentication"]["status"] == "pass"
    ca = offline_checks.pop("chip_authentication")
    assert (ca["status"], ca["reason"]) == ("warn", "PA_NOT_CHECKED")
    assert all(offline_checks.pop(name)["status"] == "skipped" for name in genuineness[1:])
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

    from appliance.emrtd.pki.cms import find_signer_certificate, parse_signed_data

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


def _forged_dump_without_sod(tmp_path: Path) -> tuple[Path, tuple[str, str]]:
    """A genuine dump with EF.SOD deleted and the holder renamed in DG1 and in the print."""
    from appliance.emrtd.lds import dg1

    out = tmp_path / "dump"
    run("chip", "read", "--reader", "virtual", "--can", "123456", "--out", str(out))
    first, second = PROFILE.mrz_lines
    renamed = first[:5] + ("Q" if first[5] != "Q" else "X") + first[6:]
    (out / "DG1.bin").write_bytes(dg1.encode_lines((renamed, second)))
    (out / "EF_SOD.bin").unlink()
    return out, (renamed, second)


def test_dump_without_sod_never_passes_with_or_without_the_print(
    trusted: Path, tmp_path: Path
) -> None:
    """A renamed holder and no EF.SOD once printed PASS (with --mrz) or SKIPPED, exit 0."""
    out, printed = _forged_dump_without_sod(tmp_path)
    for extra in (["--mrz", printed[0], "--mrz", printed[1]], []):
        result = run("chip", "verify", str(out), "--json", *extra)
        rep = report(result)
        assert result.exit_code == 1, rep
        assert (rep["status"], rep["reason"]) == ("fail", "PA_SOD_MISSING")
        got = checks(rep)
        for name in ("sod_signature", "ds_certificate_chain", "dg_hashes"):
            assert got[name]["status"] == "fail", name
        # DG14 is on the chip but nothing authenticates it: its key proves nothing
        assert got["chip_authentication"]["status"] != "pass"
    text = run("chip", "verify", str(out), "--mrz", printed[0], "--mrz", printed[1])
    assert text.exit_code == 1 and text.output.startswith("Result: FAIL (PA_SOD_MISSING)")


def test_a_warning_or_an_unchecked_document_exits_1(
    trusted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 0 means every required check passed: a missing CRL (revocation unknown) is not."""
    out = tmp_path / "dump"
    live = run("chip", "read", "--reader", "virtual", "--can", "123456", "--out", str(out))
    assert live.exit_code == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(fresh))
    (tmp_path / "csca.der").write_bytes(PROFILE.pki.csca_der)
    pinned = pa_pki.pin(PROFILE.pki.csca_der)
    assert run("trust", "import", str(tmp_path / "csca.der"), "--anchor", pinned).exit_code == 0
    result = run("chip", "read", "--reader", "virtual", "--can", "123456", "--json")
    assert checks(report(result))["ds_revocation"]["status"] == "warn"
    assert report(result)["status"] == "warn"
    assert result.exit_code == 1


def test_defective_chip_with_empty_files_still_reports_what_was_read(tmp_path: Path) -> None:
    """A chip whose DG2 and EF.SOD are empty: the guard sees the access, DG1, which files are
    malformed and the failed checks, not an empty report."""
    from dataclasses import replace

    from appliance.emrtd.document import document_report, read_chip, verify_document
    from appliance.emrtd.pki.trust_store import TrustStore
    from appliance.emrtd.session import CanKey
    from hardware_mocks.virtual_chip import VirtualCardTransport, VirtualChip

    contents = PROFILE.chip_contents()
    lds = dict(contents.lds_files)
    lds[0x0102] = b""  # DG2
    lds[0x011D] = b""  # EF.SOD
    chip = VirtualChip(replace(contents, lds_files=lds))
    document = read_chip(VirtualCardTransport(chip), CanKey("123456"))
    with TrustStore(tmp_path / "trust.sqlite3") as store:
        rep = document_report(document, verify_document(document, store))
    assert rep["status"] == "fail" and rep["reason"] == "PA_SOD_MISSING"
    assert rep["access"] is not None and rep["apdus"] > 0  # type: ignore[operator]
    assert rep["dg1"] is not None
    assert rep["unavailable"] == {"DG2.bin": "LDS_MALFORMED", "EF_SOD.bin": "LDS_MALFORMED"}
    assert checks(rep)["dg_hashes"]["status"] == "fail"


def test_card_security_with_a_broken_signature_fails_the_report(
    trusted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dump"
    run("chip", "read", "--reader", "virtual", "--can", "123456", "--out", str(out))
    genuine = report(run("chip", "verify", str(out), "--json"))
    assert checks(genuine)["card_security"]["status"] == "pass"
    data = bytearray((out / "EF_CardSecurity.bin").read_bytes())
    data[-2] ^= 0x01  # inside the signature, which ends the SignerInfo
    (out / "EF_CardSecurity.bin").write_bytes(bytes(data))
    result = run("chip", "verify", str(out), "--json")
    rep = report(result)
    assert result.exit_code == 1
    assert (checks(rep)["card_security"]["status"], rep["status"]) == ("fail", "fail")
    assert checks(rep)["card_security"]["reason"] == "PA_SIGNATURE_INVALID"
