"""`appliance history stats`: face-check failure rates per traveller group from the public part
of the history's check events, with a minimum group size and an alarm factor."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import Config
from appliance.history.events import Event, EventType
from appliance.history.ledger import Ledger
from appliance.history.stats import (
    FaceCheck,
    age_band,
    cohort_of,
    face_check,
    group_stats,
)
from tests.support.history_support import person

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("birth", "band"),
    [
        ("2010-06-01", "0-17"),
        ("2008-06-02", "0-17"),  # 18 tomorrow
        ("2008-06-01", "18-29"),
        ("1990-01-01", "30-39"),
        ("1956-06-01", "70+"),
        ("1960-12-31", "60-69"),
        (None, "unknown"),
        ("1990-13-01", "unknown"),
        ("2030-01-01", "unknown"),
    ],
)
def test_age_band_on_a_day(birth: str | None, band: str) -> None:
    assert age_band(birth, date(2026, 6, 1)) == band


def test_cohort_is_coarse() -> None:
    cohort = cohort_of("F", "1985-03-14", "D<<", date(2026, 6, 1))
    assert cohort == {"sex": "F", "age_band": "40-49", "nationality": "D"}
    assert cohort_of("<", None, "", date(2026, 6, 1)) == {
        "sex": "X",
        "age_band": "unknown",
        "nationality": "unknown",
    }


def _checks(group: dict[str, str], total: int, no_match: int, quality: int = 0) -> list[FaceCheck]:
    reasons = ["FACE_NO_MATCH"] * no_match + ["FACE_QUALITY"] * quality
    reasons += ["OK"] * (total - len(reasons))
    return [FaceCheck(group, r) for r in reasons]


def test_rates_per_group_are_exact() -> None:
    checks = (
        _checks({"sex": "F", "age_band": "30-39"}, 40, no_match=2, quality=1)
        + _checks({"sex": "M", "age_band": "30-39"}, 60, no_match=3)
        + [FaceCheck({"sex": "M", "age_band": "30-39"}, "FACE_NOT_LIVE")] * 4
    )
    result = group_stats(checks, ["sex", "age_band"], min_group_size=20, alarm_factor=10.0)
    assert result["checks"] == 104
    female = result["by"]["sex"]["groups"]["F"]
    male = result["by"]["sex"]["groups"]["M"]
    assert female["checks"] == 40
    assert female["failures"] == {"face_no_match": 2, "face_quality": 1, "liveness": 0}
    assert female["rates"] == {"face_no_match": 0.05, "face_quality": 0.025, "liveness": 0.0}
    assert male["checks"] == 64
    assert male["rates"]["face_no_match"] == round(3 / 64, 6)
    assert male["rates"]["liveness"] == round(4 / 64, 6)
    assert result["by"]["age_band"]["groups"]["30-39"]["checks"] == 104
    # at factor 10 only failures that no other check shares alarm (the others' rate is 0)
    alarms = {(a["group"], a["failure"]): a["ratio"] for a in result["alarms"]}
    assert alarms == {("F", "face_quality"): None, ("M", "liveness"): None}


def test_small_groups_are_hidden() -> None:
    checks = (
        _checks({"nationality": "D"}, 30, no_match=0)
        + _checks({"nationality": "UTO"}, 19, no_match=5)
        + _checks({"nationality": "FRA"}, 2, no_match=2)
    )
    result = group_stats(checks, ["nationality"], min_group_size=20, alarm_factor=2.0)
    table = result["by"]["nationality"]
    assert set(table["groups"]) == {"D"}
    assert table["hidden_groups"] == 2 and table["hidden_checks"] == 21
    assert "UTO" not in json.dumps(result) and "FRA" not in json.dumps(result)
    assert result["alarms"] == []  # the hidden groups' failures raise no alarm of their own


def test_alarm_fires_when_a_group_exceeds_the_others_by_the_factor() -> None:
    # F: 6/100 = 6 %; everyone else (M): 3/100 = 3 %, exactly half
    checks = _checks({"sex": "F"}, 100, no_match=6) + _checks({"sex": "M"}, 100, no_match=3)
    at_factor = group_stats(checks, ["sex"], min_group_size=20, alarm_factor=2.0)
    assert at_factor["alarms"] == []  # exceeds means more than, not equal to
    below = group_stats(checks, ["sex"], min_group_size=20, alarm_factor=1.9)
    assert below["alarms"] == [
        {
            "attribute": "sex",
            "group": "F",
            "failure": "face_no_match",
            "rate": 0.06,
            "others_rate": 0.03,
            "ratio": 2.0,
            "factor": 1.9,
        }
    ]


def _report(status: str, reason: str) -> dict[str, object]:
    return {
        "steps": [
            {"name": "mrz", "status": "pass"},
            {"name": "biometrics", "status": status, "reason": reason},
        ]
    }


def _check_event(cohort: dict[str, str] | None, status: str, reason: str) -> Event:
    public: dict[str, object] = {"report": _report(status, reason), "decision": {}}
    if cohort is not None:
        public["cohort"] = cohort
    return Event(EventType.CHECK, "REFER", ["FACE_NO_MATCH"], public, personal=person())  # type: ignore[arg-type]


def test_only_checks_whose_face_step_ran_count(tmp_path: Path) -> None:
    cohort = {"sex": "F", "age_band": "30-39", "nationality": "D"}
    with Ledger.open_default(tmp_path, Config()) as ledger:
        ledger.append_batch(
            [
                _check_event(cohort, "fail", "FACE_NO_MATCH"),
                _check_event(cohort, "skipped", "OK"),  # no face step configured
                _check_event(None, "fail", "FACE_NO_MATCH"),  # recorded before cohorts existed
                Event(EventType.GATE_EVENT, "CLOSED"),
            ]
        )
        leaves = [v.leaf for v in ledger.recent(10)]
    found = [c for c in (face_check(leaf) for leaf in leaves) if c is not None]
    assert found == [FaceCheck(cohort, "FACE_NO_MATCH")]


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(tmp_path))
    config = tmp_path / "appliance.toml"
    config.write_text("[monitoring]\nmin_group_size = 5\nalarm_factor = 2.0\nwindow_days = 7\n")
    monkeypatch.setenv("APPLIANCE_CONFIG", str(config))
    return tmp_path


def _fill(data: Path, female_failures: int, old: int = 0) -> None:
    f = {"sex": "F", "age_band": "30-39", "nationality": "D"}
    m = {"sex": "M", "age_band": "30-39", "nationality": "D"}
    events = [_check_event(f, "fail", "FACE_NO_MATCH") for _ in range(female_failures)]
    events += [_check_event(f, "pass", "OK") for _ in range(10 - female_failures)]
    events += [_check_event(m, "fail", "FACE_NO_MATCH")]
    events += [_check_event(m, "pass", "OK") for _ in range(9)]
    stale = NOW - timedelta(days=20)
    events += [
        Event(
            EventType.CHECK,
            "REFER",
            [],
            _check_event(m, "fail", "FACE_NO_MATCH").public,
            time=stale,
        )
        for _ in range(old)
    ]
    with Ledger.open_default(data, Config()) as ledger:
        ledger.append_batch(events)


def test_stats_command_reports_groups_in_the_window(configured: Path) -> None:
    _fill(configured, female_failures=1, old=30)
    result = CliRunner().invoke(cli, ["history", "stats", "--by", "sex,age_band", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["status"] == "pass" and payload["reason"] == "OK"
    assert payload["window_days"] == 7 and payload["checks"] == 20  # the 30 old ones are out
    assert payload["by"]["sex"]["groups"]["F"]["rates"]["face_no_match"] == 0.1
    assert set(payload["by"]) == {"sex", "age_band"}
    wide = CliRunner().invoke(cli, ["history", "stats", "--days", "30", "--json"])
    assert json.loads(wide.output)["checks"] == 50


def test_stats_command_exits_1_on_an_alarm(configured: Path) -> None:
    _fill(configured, female_failures=3)  # F 30 % against M 10 %
    result = CliRunner().invoke(cli, ["history", "stats", "--by", "sex"])
    assert result.exit_code == 1, result.output
    assert "ALARM sex=F: face_no_match 30.00% against 10.00%" in result.output
    as_json = CliRunner().invoke(cli, ["history", "stats", "--by", "sex", "--json"])
    assert json.loads(as_json.output)["reason"] == "FACE_GROUP_RATE_ALARM"


def test_an_unknown_attribute_is_a_usage_error(configured: Path) -> None:
    result = CliRunner().invoke(cli, ["history", "stats", "--by", "sex,date_of_birth"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
