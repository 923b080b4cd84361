"""A visa seal compared with the passport presented with it (`--passport-mrz`)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from appliance.barcodes.compare import seal_matches_passport
from appliance.barcodes.payload import parse_payload
from appliance.cli import cli
from appliance.errors import Reason
from appliance.mrz.check_digits import check_digit
from appliance.mrz.parse import MrzFields, parse_mrz
from hardware_mocks import barcode_seals as bs
from tests.support.barcode_support import SIGNER


def passport_mrz(
    number: str = "47110815P", birth: str = "520311", nationality: str = "GBR"
) -> list[str]:
    """A TD3 MRZ with correct check digits."""
    line1 = "P<GBRDENT<<ARTHUR<PHILIP".ljust(44, "<")
    body = (
        f"{number:<9}{check_digit(number)}{nationality}{birth}{check_digit(birth)}M"
        f"300101{check_digit('300101')}{'<' * 14}{check_digit('<' * 14)}"
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return [line1, body + check_digit(composite)]


def _fields(lines: list[str]) -> MrzFields:
    result = parse_mrz(lines)
    assert result.valid and result.fields is not None, result.to_dict()
    return result.fields


VISA = parse_payload(bs.make_vds(SIGNER)).fields


def test_visa_names_the_passport() -> None:
    assert seal_matches_passport(VISA, _fields(passport_mrz())).status == "pass"


def test_another_passport_is_a_mismatch() -> None:
    match = seal_matches_passport(VISA, _fields(passport_mrz("C01X00T47")))
    assert (match.status, match.reason) == ("fail", Reason.SEAL_MRZ_MISMATCH)
    assert "passport number" in match.detail and "C01X" not in match.detail  # no personal data
    older = seal_matches_passport(VISA, _fields(passport_mrz(birth="520312")))
    assert older.status == "fail" and "date of birth" in older.detail


def test_seal_without_passport_number_is_skipped() -> None:
    sheet = parse_payload(bs.make_vds(SIGNER, "arrival_attestation")).fields
    assert seal_matches_passport(sheet, _fields(passport_mrz())).status == "skipped"


def test_cli_passport_mrz(data_dir: Path) -> None:
    seal = bs.make_vds(SIGNER).hex()
    extra = data_dir / "signer.der"
    extra.write_bytes(SIGNER.certificate_der)
    runner = CliRunner()
    args = ["barcode", "decode", "--json", "--hex", seal, "--trust", str(extra)]
    # no CSCA in this store: untrusted whatever the passport; the match is still reported
    wrong = passport_mrz("C01X00T47")
    result = runner.invoke(cli, [*args, "--passport-mrz", wrong[0], "--passport-mrz", wrong[1]])
    assert result.exit_code == 1
    assert '"passport_match": {"status": "fail", "reason": "SEAL_MRZ_MISMATCH"' in result.stdout
    bad = runner.invoke(cli, [*args, "--passport-mrz", "P<GBR"])
    assert bad.exit_code == 2
