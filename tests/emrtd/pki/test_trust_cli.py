"""`appliance trust import|list`: output, JSON shape, exit codes (0 ok, 1 invalid, 2 unreadable)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from appliance.cli import cli
from tests.support import pa_pki
from tests.support.data_support import MASTER_LIST


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["trust", *args])
    return result.exit_code, result.stdout


def test_import_master_list_then_list(data_dir: Path) -> None:
    # the operator pins the German CSCA (in production: the BSI's published fingerprint)
    anchor = pa_pki.master_list_anchor(MASTER_LIST.read_bytes())
    code, out = run("import", str(MASTER_LIST), "--anchor", anchor)
    assert code == 0, out
    assert "588 in file, 588 new" in out
    code, out = run("list", "--json")
    assert code == 0
    listing = json.loads(out)
    assert len(listing["certificates"]) == 588 and listing["crls"] == []
    first = listing["certificates"][0]
    expected = {"country", "subject", "serial", "not_before", "not_after", "ski", "source"}
    assert expected <= set(first)
    assert first["source"] == MASTER_LIST.name
    assert (data_dir / "trust_store.sqlite3").is_file()
    code, out = run("list")
    assert code == 0 and out.strip().endswith("588 certificate(s), 0 CRL(s)")


def test_import_json_and_crl(data_dir: Path, tmp_path: Path) -> None:
    csca = pa_pki.csca("NZ")
    (tmp_path / "csca.pem").write_bytes(csca.pem)
    (tmp_path / "nz.crl").write_bytes(pa_pki.crl(csca, [7]))
    code, out = run(
        "import", str(tmp_path / "csca.pem"), "--anchor", pa_pki.pin(csca.der), "--json"
    )
    report = json.loads(out)
    assert (code, report["kind"], report["status"], report["added"]) == (
        0,
        "certificate",
        "pass",
        1,
    )
    code, out = run("import", str(tmp_path / "nz.crl"))
    assert code == 0 and "1 revoked" in out
    listing = json.loads(run("list", "--json")[1])
    assert [c["revoked_count"] for c in listing["crls"]] == [1]


def test_signature_failure_exits_1(data_dir: Path, tmp_path: Path) -> None:
    forged = bytearray(MASTER_LIST.read_bytes())
    forged[len(forged) // 2] ^= 0x01
    (tmp_path / "forged.ml").write_bytes(bytes(forged))
    anchor = pa_pki.master_list_anchor(MASTER_LIST.read_bytes())
    code, out = run("import", str(tmp_path / "forged.ml"), "--anchor", anchor, "--json")
    assert code == 1
    assert json.loads(out)["reason"] == "TRUST_LIST_INVALID"
    assert json.loads(run("list", "--json")[1])["certificates"] == []


def test_unreadable_files_exit_2(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01garbage")
    code, out = run("import", str(tmp_path / "junk.bin"), "--json")
    assert (code, json.loads(out)["reason"]) == (2, "LDS_MALFORMED")
    code, out = run("import", str(tmp_path / "missing.ml"), "--json")
    assert (code, json.loads(out)["reason"]) == (2, "FILE_UNREADABLE")
