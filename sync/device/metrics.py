"""Prometheus metrics of sync, read from the device's own sync state at each scrape.

`appliance serve` registers `SyncCollector` in its `/metrics` registry (loaded by name, like the
self-test's `sync` part: a build without sync has none), so one scrape shows the lane and its
sync: the unsent backlog, the last index central acknowledged, the last successful round, the
rounds failed since, the artefact versions in force (and the models and the remote config from
central), and the alarms (backlog over the cap, an overdue CRL, a fork, a revocation, a refused
artefact) as 0/1 gauges an alert rule can fire on. The sync service writes the state; this only
reads it (`service.status`, no network). Labels are kinds, model names and reason codes only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from appliance.config import Config
from appliance.errors import Reason
from sync.device import service

#: alarms always exported (0 or 1), so an alert rule sees the series before the first alarm
ALARMS = (
    Reason.SYNC_BACKLOG_ALARM,
    Reason.CRL_STALE,
    Reason.SYNC_FORK_DETECTED,
    Reason.SYNC_DEVICE_REVOKED,
)


def _timestamp(text: str | None) -> float:
    if not text:
        return 0.0
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class SyncCollector(Collector):
    def __init__(self, config: Config, directory: Path) -> None:
        self.config = config
        self.directory = directory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        readable = GaugeMetricFamily(
            "appliance_sync_state_readable", "1 when the sync state could be read for this scrape"
        )
        try:
            body = service.status(self.config, self.directory)
        except Exception:  # a scrape must never fail the whole /metrics page
            readable.add_metric([], 0)
            yield readable
            return
        readable.add_metric([], 1)
        yield readable

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"appliance_sync_{name}", doc, value=value)

        acknowledged = body["acknowledged"]
        yield gauge("enrolled", "1 when this device is enrolled at central", int(body["enrolled"]))
        yield gauge("backlog", "Checks in the history not yet acknowledged by central",
                    body["backlog"])  # fmt: skip
        yield gauge("acknowledged_index", "Last history index central acknowledged (-1: none)",
                    -1 if acknowledged is None else acknowledged)  # fmt: skip
        yield gauge("history_size", "Records in the device's history", body["history_size"])
        yield gauge("last_success_timestamp_seconds",
                    "Unix time of the last successful sync round (0: never)",
                    _timestamp(body["last_success"]))  # fmt: skip
        yield gauge("consecutive_failures", "Sync rounds failed since the last successful one",
                    body["consecutive_failures"])  # fmt: skip
        yield gauge("overdue_crls", "Issuers whose newest CRL is past its nextUpdate",
                    len(body["overdue_crls"]))  # fmt: skip
        versions = GaugeMetricFamily(
            "appliance_sync_artefact_version", "Version in force of each artefact kind",
            labels=["kind"],
        )  # fmt: skip
        for kind, version in sorted(body["artefacts"].items()):
            versions.add_metric([kind], version)
        yield versions
        models = GaugeMetricFamily(
            "appliance_sync_model_version", "Version of each model installed from central",
            labels=["model"],
        )  # fmt: skip
        for name, version in sorted(body["models"].items()):
            models.add_metric([name], version)
        yield models
        remote = body["remote_config"]
        yield gauge("remote_config_version", "Version of the remote config in force (0: none)",
                    remote["version"] if remote else 0)  # fmt: skip
        alarms = GaugeMetricFamily(
            "appliance_sync_alarm", "1 for each sync alarm raised (reason code)", labels=["reason"]
        )
        raised = {str(alarm["reason"]) for alarm in body["alarms"]}
        for reason in sorted(raised | {a.value for a in ALARMS}):
            alarms.add_metric([reason], 1 if reason in raised else 0)
        yield alarms


def collector(config: Config, directory: Path) -> SyncCollector:
    """What `appliance.api.metrics` loads by name."""
    return SyncCollector(config, directory)
