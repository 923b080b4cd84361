"""`appliance check --seal IMAGE`: a visa seal shown with the passport is verified in the check.

The seal is a real DataMatrix image, decoded by the configured decoder (zxing-cpp), its signer
imported into the data directory's trust store the way an operator does (`trust import`, chained
to the issuing state's CSCA already trusted), and judged by the inspection's `seal` step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from appliance.cli import cli
from hardware_mocks import barcode_seals as bs
from tests.support.check_support import HOLDER, MRZ, provisioned, restore_logging

MRZ_ARGS = [arg for line in MRZ for arg in ("--mrz", line)]
SIGNER = bs.issue_seal_signer(bs.seal_pki("DE"), "TS", 0x1A2)


@pytest.fixture(autouse=True)
def _no_handler_left() -> Iterator[None]:
    yield
    restore_logging()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def ready(data_dir: Path, tmp_path: Path) -> Path:
    provisioned(data_dir)
    signer = tmp_path / "seal-signer.der"
    signer.write_bytes(SIGNER.certificate_der)
    imported = run("trust", "import", str(signer))
    assert imported.exit_code == 0, imported.output
    return data_dir


def visa_image(tmp_path: Path, passport_number: str) -> Path:
    features = bs.visa_for(
        passport_number, HOLDER.nationality, HOLDER.date_of_birth, HOLDER.surname,
        HOLDER.given_names,
    )  # fmt: skip
    image = bs.symbol_image(bs.make_vds(SIGNER, features=features), "datamatrix")
    path = tmp_path / f"visa-{passport_number}.png"
    assert cv2.imwrite(str(path), image)
    return path


def seal_step(out: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in out["report"]["steps"] if s["name"] == "seal"]
    return step


def test_a_visa_seal_for_this_passport_is_verified(ready: Path, tmp_path: Path) -> None:
    seal = visa_image(tmp_path, HOLDER.document_number)
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--seal", str(seal), "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == 0, out
    assert out["decision"] == "ADVISE"
    assert seal_step(out)["status"] == "pass"


def test_a_visa_seal_for_another_passport_refers(ready: Path, tmp_path: Path) -> None:
    seal = visa_image(tmp_path, "X99999999")
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--seal", str(seal), "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == 1, out
    assert out["decision"] == "REFER"
    assert seal_step(out)["status"] == "fail"
    assert "SEAL_MRZ_MISMATCH" in out["reasons"]


def test_a_seal_image_without_a_barcode_is_a_fault_and_nothing_is_recorded(
    ready: Path, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    assert cv2.imwrite(str(blank), np.full((200, 300), 255, np.uint8))
    result = run("check", "--reader", "virtual", *MRZ_ARGS, "--seal", str(blank), "--json")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["reason"] == "BARCODE_NOT_FOUND"
    shown = run("history", "show", "--recent", "5", "--json")
    assert json.loads(shown.stdout)["records"] == []
