"""`appliance barcode read|decode`: JSON keys, exit codes (0 verified, 1 not, 2 faults),
`--trust`, `--at`, and the operator's path: import the CSCA and the seal signer, then read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.emrtd.pki.certificates import Certificate
from hardware_mocks import barcode_seals as bs
from tests.support.barcode_support import AIRLINE, EXPIRED, PKI, SIGNER

SYMBOL_KEYS = {"symbology", "kind", "fields", "signature", "reason", "detail"}
SIGNATURE_KEYS = {"status", "reason", "signer"}
RECORD_KEYS = {"image", "status", "reason", "symbols", "timings_ms"}


def run(*args: str, stdin: str | None = None) -> tuple[int, list[dict[str, Any]], str]:
    result = CliRunner().invoke(cli, ["barcode", *args], input=stdin)
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, records, result.output


@pytest.fixture
def trusted(data_dir: Path, tmp_path: Path) -> Path:
    """A data directory whose trust store holds the test CSCA and SIGNER, imported by CLI."""
    (tmp_path / "csca.der").write_bytes(PKI.csca_der)
    (tmp_path / "signer.der").write_bytes(SIGNER.certificate_der)
    pin = Certificate.fingerprint_of(PKI.csca_der)
    runner = CliRunner()
    first = runner.invoke(cli, ["trust", "import", str(tmp_path / "csca.der"), "--anchor", pin])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli, ["trust", "import", str(tmp_path / "signer.der")])
    assert second.exit_code == 0 and "1 signer certificate(s)" in second.output, second.output
    return tmp_path


def _png(path: Path, *images: Any) -> str:
    path.write_bytes(bs.encode_image(bs.page(*images)))
    return str(path)


def test_read_json_lines_one_per_image(trusted: Path) -> None:
    two = _png(
        trusted / "two.png",
        bs.symbol_image(bs.make_vds(SIGNER), "datamatrix"),
        bs.symbol_image(bs.make_vdsnc(SIGNER), "qrcode", 3),
    )
    rotated = trusted / "rotated.jpg"
    seal = bs.symbol_image(bs.make_vds(SIGNER, "arrival_attestation"), "datamatrix")
    rotated.write_bytes(bs.encode_image(bs.degrade(seal, rotation_deg=30), jpeg_quality=70))
    code, records, output = run("read", "--json", two, str(rotated))
    assert code == 0, output
    assert [r["image"] for r in records] == [two, str(rotated)]
    for record in records:
        assert set(record) >= RECORD_KEYS and record["status"] == "pass"
        assert {"load", "decode", "parse_verify", "total"} <= set(record["timings_ms"])
        for symbol in record["symbols"]:
            assert set(symbol) >= SYMBOL_KEYS and set(symbol["signature"]) >= SIGNATURE_KEYS
            assert symbol["signature"]["status"] == "valid"
    kinds = sorted(s["kind"] for s in records[0]["symbols"])
    assert kinds == ["icao_vds", "vds_nc"]
    assert records[1]["symbols"][0]["fields"]["azr"] == "160113000085"


def test_read_fails_closed(trusted: Path) -> None:
    blank = trusted / "blank.png"
    blank.write_bytes(bs.encode_image(np.full((240, 320), 255, np.uint8)))
    unsigned = _png(trusted / "bp.png", bs.symbol_image(bs.make_bcbp(None).encode(), "pdf417", 2))
    code, records, _ = run("read", "--json", str(blank), unsigned)
    assert code == 1
    assert records[0]["reason"] == "BARCODE_NOT_FOUND" and records[0]["symbols"] == []
    assert records[1]["reason"] == "SEAL_NOT_SIGNED"
    assert records[1]["symbols"][0]["signature"]["status"] == "not_signed"
    assert records[1]["symbols"][0]["fields"]["legs"][1]["to_airport"] == "GVA"


def test_read_refused_image_is_exit_2(trusted: Path) -> None:
    (trusted / "not-an-image.png").write_bytes(b"hello")
    code, records, _ = run("read", "--json", str(trusted / "not-an-image.png"), "/nonexistent")
    assert code == 2
    assert [r["reason"] for r in records] == ["IMAGE_UNREADABLE", "FILE_UNREADABLE"]
    assert "Traceback" not in _


def test_decode_hex_text_stdin_and_at(trusted: Path) -> None:
    code, records, _ = run("decode", "--json", "--hex", bs.make_vds(SIGNER).hex())
    assert code == 0 and records[0]["symbols"][0]["signature"]["status"] == "valid"
    code, records, _ = run("decode", "--json", "--text", "-", stdin=bs.make_hc1(SIGNER) + "\n")
    assert code == 0 and records[0]["symbols"][0]["kind"] == "eu_dcc"
    code, records, _ = run(
        "decode", "--json", "--hex", bs.make_vds(SIGNER).hex(), "--at", "2041-01-01"
    )
    assert code == 1 and records[0]["symbols"][0]["signature"]["status"] == "expired"


def test_decode_with_extra_trust(trusted: Path) -> None:
    airline = trusted / "airline.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    airline.write_bytes(AIRLINE.signer.certificate.public_bytes(Encoding.PEM))
    bcbp = bs.make_bcbp(AIRLINE)
    code, records, _ = run("decode", "--json", "--text", bcbp)
    assert code == 1 and records[0]["symbols"][0]["signature"]["reason"] == "SEAL_SIGNER_UNKNOWN"
    code, records, _ = run("decode", "--json", "--text", bcbp, "--trust", str(airline))
    assert code == 0 and records[0]["symbols"][0]["signature"]["status"] == "valid"
    expired = bs.make_vds(EXPIRED)
    expired_pem = trusted / "expired.der"
    expired_pem.write_bytes(EXPIRED.certificate_der)
    code, records, _ = run("decode", "--json", "--hex", expired.hex(), "--trust", str(expired_pem))
    assert code == 1 and records[0]["symbols"][0]["signature"]["status"] == "expired"


@pytest.mark.parametrize(
    "args",
    [
        ("decode",),
        ("decode", "--text", "a", "--hex", "00"),
        ("decode", "--hex", "zz"),
        ("decode", "--text", "x", "--at", "yesterday"),
        ("decode", "--text", "x", "--trust", "/nonexistent"),
        ("read",),
    ],
)
def test_usage_errors_exit_2(data_dir: Path, args: tuple[str, ...]) -> None:
    code, _, output = run(*args)
    assert code == 2 and "Traceback" not in output


def test_decode_unknown_payload_is_exit_1(data_dir: Path) -> None:
    code, records, _ = run("decode", "--json", "--text", "just some text")
    assert code == 1
    assert records[0]["reason"] == "BARCODE_UNKNOWN_KIND"
    assert records[0]["symbols"][0]["kind"] == "unknown"
    assert records[0]["symbols"][0]["signature"]["status"] == "not_signed"


def test_read_with_the_passport_presented(trusted: Path) -> None:
    from tests.barcodes.test_barcodes_passport_match import passport_mrz

    seal = _png(trusted / "visa.png", bs.symbol_image(bs.make_vds(SIGNER), "datamatrix"))
    right, wrong = passport_mrz(), passport_mrz("C01X00T47")
    code, records, _ = run(
        "read", "--json", seal, "--passport-mrz", right[0], "--passport-mrz", right[1]
    )
    assert code == 0 and records[0]["symbols"][0]["passport_match"]["status"] == "pass"
    code, records, _ = run(
        "read", "--json", seal, "--passport-mrz", wrong[0], "--passport-mrz", wrong[1]
    )
    assert code == 1 and records[0]["reason"] == "SEAL_MRZ_MISMATCH"


def test_images_go_through_the_input_limits(trusted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = trusted / "appliance.toml"
    config.write_text("[inputs]\nmax_image_pixels = 10000\n")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    seal = _png(trusted / "visa.png", bs.symbol_image(bs.make_vds(SIGNER), "datamatrix"))
    code, records, _ = run("read", "--json", seal)
    assert code == 2 and records[0]["reason"] == "IMAGE_TOO_LARGE"
