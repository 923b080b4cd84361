"""The inspection report: its JSON schema in docs/ is the one the code generates, real reports
validate against it, reports are immutable and carry no personal data."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from appliance.inspection.policy import PolicyConfig
from appliance.inspection.report import SCHEMA_FILE, InspectionReport, json_schema
from appliance.inspection.workflow import CheckSession, DeviceInfo
from appliance.signed.watchlist import build_watchlist, parse_watchlist
from hardware_mocks.virtual_chip import VirtualChip, make_profile
from hardware_mocks.virtual_chip.defects import Defect, defective_contents
from tests.support.inspection_support import lane, transaction

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / SCHEMA_FILE).read_text())


def test_schema_in_docs_is_the_generated_one() -> None:
    assert json_schema() == SCHEMA, "run: python -m appliance.inspection.report docs"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[InspectionReport]:
    from datetime import UTC, datetime

    directory = tmp_path_factory.mktemp("reports")
    profile = make_profile(21)
    wl = parse_watchlist(build_watchlist([], 1, datetime.now(UTC)))
    with lane(directory, PolicyConfig(version=1), watchlist=wl) as ln:
        session = CheckSession(ln, DeviceInfo("gate-t", "TEST"))
        return [
            session.run(transaction(profile)).report,
            session.run(
                transaction(profile, VirtualChip(defective_contents(profile, Defect.FORGED_DG)))
            ).report,
            session.run(transaction(make_profile(22, date_of_expiry="200101"))).report,
        ]


def test_reports_validate_against_the_schema(reports: list[InspectionReport]) -> None:
    for report in reports:
        jsonschema.validate(report.to_json(), SCHEMA)
        assert report.to_json()["schema_version"] == 1


def test_schema_rejects_what_a_consumer_must_not_accept(reports: list[InspectionReport]) -> None:
    data = reports[0].to_json()
    for broken in (
        {**data, "schema_version": 2},
        {**data, "steps": [{**data["steps"][0], "status": "ok"}]},
        {**data, "steps": [{**data["steps"][0], "reason": "NOT_A_REASON"}]},
        {**data, "surname": "MUSTERMANN"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_report_round_trips_and_is_immutable(reports: list[InspectionReport]) -> None:
    report = reports[1]
    data = report.model_dump(mode="json", exclude={"status", "reason", "timings_ms"})
    again = InspectionReport.model_validate(data)
    assert again == report and again.reason == report.reason
    with pytest.raises(ValidationError):
        report.steps = ()  # type: ignore[misc]
    with pytest.raises(ValidationError):
        report.steps[0].status = "pass"  # type: ignore[misc]


def test_no_personal_data_in_reports(reports: list[InspectionReport]) -> None:
    profile = make_profile(21)
    text = json.dumps([r.to_json() for r in reports])
    for value in (
        profile.document_number,
        profile.surname,
        profile.given_names,
        profile.date_of_birth,
        make_profile(22).document_number,
    ):
        assert value not in text
