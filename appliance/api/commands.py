"""`appliance serve`: the appliance as a running service (see `appliance/api/server.py`).

Exit codes: 0 after SIGTERM/SIGINT, 2 usage errors and faults (a non-loopback --host, a port
in use, a lane that cannot open: refused policy, missing device).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from appliance.config import data_dir, load_config
from appliance.errors import ApplianceError
from appliance.logs import setup_logging

_Hooks = tuple[Callable[[], None] | None, Callable[[str], None] | None, Callable[[], None]]


def _systemd() -> _Hooks:
    """The watchdog heartbeat, READY=1 and STOPPING=1, when this build has the sd_notify
    client (`appliance/service/notify.py`); without it, no-ops."""
    try:
        notify: Any = importlib.import_module("appliance.service.notify")
    except ImportError:
        return None, None, lambda: None
    notifier = notify.Notifier.from_env()
    heartbeat = notify.Heartbeat.from_env(notifier)
    heartbeat.start()

    def ready(url: str) -> None:
        notifier.ready(f"API on {url}")

    def stopping() -> None:
        notifier.stopping("stopping the lane")
        heartbeat.stop()

    return heartbeat.beat, ready, stopping


@click.command("serve")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: APPLIANCE_CONFIG, else the built-in defaults: real drivers).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Listen address; beyond loopback with TLS only (the device certificate).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8600, show_default=True,
              help="TCP port (0: any free port, printed when listening).")  # fmt: skip
def serve(config_file: Path | None, host: str, port: int) -> None:
    """Run the lane loop and the local API (/api/v1, /metrics) until SIGTERM."""
    from appliance.api.server import serve as run_server

    setup_logging()  # JSON lines on stderr (journald), no personal data
    config = load_config(config_file)
    directory = data_dir(config)
    on_beat, on_ready, stopping = _systemd()
    try:
        code = run_server(config, directory, host, port, on_beat=on_beat, on_ready=on_ready)
    except ApplianceError as exc:
        click.echo(f"appliance serve: {exc.reason.value}: {exc.detail}", err=True)
        sys.exit(2)
    finally:
        stopping()
    sys.exit(code)
