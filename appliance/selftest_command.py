"""`appliance selftest`: every configured part checked once (see `appliance.selftest`).

Exit codes: 0 when no check failed (warnings are shown and still exit 0: the lane decides
correctly with them), 1 when one failed, 2 when the config or data directory is unusable.
Run it with the lane stopped: it opens the reader and the gate controller itself.
"""

from __future__ import annotations

import json
import sys

import click

from appliance.config import data_dir, load_config
from appliance.logs import setup_logging
from appliance.selftest import SelftestReport, run_selftest

_MARK = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skipped": "--  "}


def render(report: SelftestReport) -> str:
    lines = [f"Selftest: {report.status.value.upper()} ({report.reason.value})"]
    for check in report.checks:
        reason = "" if check.reason.value == "OK" else f" [{check.reason.value}]"
        lines.append(
            f"  {_MARK[check.status.value]} {check.name:<24}{reason} {check.detail}"
            f" ({check.duration_ms:.0f} ms)"
        )
    lines.append(f"Total: {report.total_ms:.0f} ms")
    return "\n".join(lines)


@click.command("selftest")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def selftest(as_json: bool) -> None:
    """Check every configured part: reader, camera, gate, models, trust, policy, clock, disk,
    history."""
    setup_logging()
    config = load_config()
    report = run_selftest(config, data_dir(config))
    click.echo(json.dumps(report.to_json()) if as_json else render(report))
    sys.exit(report.exit_code)
