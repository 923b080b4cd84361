"""`--mrz-info DOC,YYMMDD,YYMMDD` takes the document number as printed, '<' fillers included."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.emrtd.commands import _access_key
from appliance.emrtd.session import MrzKey
from hardware_mocks.virtual_chip import make_chip, make_profile
from hardware_mocks.virtual_chip.transport import VirtualCardTransport

#: ICAO 9303-11 Appendix D.2 worked example: L898902C<, born 690806, expiring 940623
ICAO_MRZ_INFORMATION = "L898902C<369080619406236"


def open_short_number_passport() -> VirtualCardTransport:
    """A virtual passport whose document number is 8 characters (printed with one '<')."""
    profile = make_profile(
        document_number="L898902C", date_of_birth="690806", date_of_expiry="340623"
    )
    return VirtualCardTransport(make_chip(profile=profile))


@pytest.mark.parametrize("number", ["L898902C<", "L898902C", "l898902c<", " L898902C< "])
def test_number_with_fillers_gives_the_icao_key(number: str) -> None:
    key = _access_key(f"{number},690806,940623", None, None)
    assert isinstance(key, MrzKey)
    assert key.mrz_information() == ICAO_MRZ_INFORMATION


def test_long_td1_number_with_fillers_is_used_in_full_without_them() -> None:
    """A number over 9 characters is not padded (9303-11 §4.3.2): a trailing '<' is no part."""
    plain = MrzKey("D231458907", "740812", "120415").mrz_information()
    assert plain.startswith("D231458907")
    assert MrzKey("D231458907<<", "740812", "120415").mrz_information() == plain


@pytest.mark.parametrize(
    "mrz_info",
    ["<<<<<<<<<,690806,940623", "L898<902C,690806,940623", "L898902C<,6908O6,940623", "X,Y"],
)
def test_malformed_mrz_info_is_still_a_usage_error(mrz_info: str) -> None:
    with pytest.raises(click.BadParameter):
        _access_key(mrz_info, None, None)


def test_chip_read_with_the_number_as_printed_opens_the_chip(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text(
        f'[hardware]\nvirtual_card = "{__name__}:open_short_number_passport"\n', "utf-8"
    )
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    args = ["chip", "read", "--reader", "virtual", "--mrz-info", "L898902C<,690806,340623"]
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    report = json.loads(result.output)
    # the chip opened and was read; the verdict (untrusted test CSCA here) is not the point
    assert report["access"]["protocol"] == "PACE", report
    assert "DG1.bin" in report["files"]
    assert result.exit_code in (0, 1)
