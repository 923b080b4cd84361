"""Sync's Prometheus metrics in the appliance's /metrics registry: backlog, acknowledged index,
last success, consecutive failures, artefact versions and alarms, as the device's state says."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from appliance.api.metrics import LaneMetrics
from appliance.history import DocumentRef
from appliance.signed.watchlist import build_watchlist
from sync.device.service import Transient
from tests.sync.conftest import CentralServer
from tests.sync.device.conftest import publish


def _samples(metrics: LaneMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_sync_metrics_follow_the_device_state(central: CentralServer, make_device: Any) -> None:
    device = make_device("metrics", backlog_alarm=2)
    metrics = LaneMetrics()
    assert metrics.attach_sync(device.config, device.data_dir)
    before = _samples(metrics)
    assert before[("appliance_sync_enrolled", ())] == 0
    assert before[("appliance_sync_acknowledged_index", ())] == -1
    assert before[("appliance_sync_alarm", (("reason", "SYNC_FORK_DETECTED"),))] == 0

    device.enrol(central)
    device.record(5)
    issued = datetime.now(UTC) - timedelta(minutes=5)
    publish(
        central.database,
        "watchlist",
        build_watchlist([(DocumentRef("D", "X1"), "lost")], 3, issued),
    )
    device.sync()
    device.record(3)
    now = _samples(metrics)
    assert now[("appliance_sync_enrolled", ())] == 1
    assert now[("appliance_sync_backlog", ())] == 3
    assert now[("appliance_sync_acknowledged_index", ())] == 4
    assert now[("appliance_sync_consecutive_failures", ())] == 0
    assert (
        abs(
            now[("appliance_sync_last_success_timestamp_seconds", ())]
            - datetime.now(UTC).timestamp()
        )
        < 60
    )
    assert now[("appliance_sync_artefact_version", (("kind", "watchlist"),))] == 1
    assert now[("appliance_sync_alarm", (("reason", "SYNC_BACKLOG_ALARM"),))] == 1  # 3 > 2
    assert now[("appliance_sync_alarm", (("reason", "CRL_STALE"),))] == 0

    central.kill()  # two rounds fail: the failures count, the backlog stays
    for _ in range(2):
        with pytest.raises(Transient):
            device.sync(attempts=1)
    failing = _samples(metrics)
    assert failing[("appliance_sync_consecutive_failures", ())] == 2
    assert failing[("appliance_sync_backlog", ())] == 3
    assert device.status()["consecutive_failures"] == 2
    central.start()
    device.sync()
    back = _samples(metrics)
    assert (
        back[("appliance_sync_consecutive_failures", ())],
        back[("appliance_sync_backlog", ())],
    ) == (0, 0)
    assert back[("appliance_sync_alarm", (("reason", "SYNC_BACKLOG_ALARM"),))] == 0


def test_without_sync_in_the_build_the_lane_metrics_stand_alone(
    make_device: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sync.device.metrics", None)  # as if sync/ were absent
    metrics = LaneMetrics()
    assert not metrics.attach_sync(make_device("nosync").config, make_device("nosync").data_dir)
    assert b"appliance_sync_" not in metrics.render()
