"""`appliance serve`: the lane loop in a thread and the local API on uvicorn, in one process.

One process owns the hardware ports. The listening socket is bound here (so a port in use is
one clear line and exit 2, and `--port 0` picks a free port); the lane opens in the background
and the health endpoint answers 503 until it is ready. SIGTERM or SIGINT (uvicorn's handlers)
stop the API, then the lane finishes or safely aborts the current traveller (gate closed, the
decision already durable) and the process exits 0, within 10 s. A lane that cannot open (policy
refused, a device missing) stops the service with exit 2 and its reason.

`on_beat` and `on_ready` are where systemd's watchdog heartbeat and READY=1 plug in.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from appliance.config import Config
from appliance.errors import ApplianceError, Reason

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8600
#: seconds the API gets to close its connections (event streams never end on their own)
GRACEFUL_S = 2
#: seconds the lane gets to finish the current traveller after the API stopped
LANE_STOP_S = 6.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int, *, tls: bool = False) -> socket.socket:
    """The listening socket; `ApplianceError` (USAGE) when it cannot be had, `TLS_REQUIRED`
    for a non-loopback address without TLS."""
    if not is_loopback(host) and not tls:
        raise ApplianceError(
            Reason.TLS_REQUIRED,
            f"--host {host} is not a loopback address: beyond this machine the API listens "
            "with TLS only",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ApplianceError(
            Reason.USAGE, f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    config: Config,
    directory: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    on_beat: Callable[[], None] | None = None,
    on_ready: Callable[[str], None] | None = None,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0, or 2 when the lane cannot open)."""
    ssl: dict[str, str] = {}
    if not is_loopback(host):  # beyond loopback: TLS with the device certificate, logins
        from appliance.api.tls import device_certificate

        simulated = "hardware_mocks" in (config.hardware.station or "")
        cert, key = device_certificate(directory, create_if_missing=simulated, host=host)
        ssl = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    sock = bind(host, port, tls=bool(ssl))
    bound_port = sock.getsockname()[1]
    scheme = "https" if ssl else "http"
    url = f"{scheme}://{host if ':' not in host else f'[{host}]'}:{bound_port}"
    failed: list[ApplianceError] = []
    server: uvicorn.Server | None = None

    def lane_failed(exc: ApplianceError) -> None:
        failed.append(exc)
        if server is not None:
            server.should_exit = True

    def lane_ready() -> None:
        simulated = " with simulated hardware" if service.simulation is not None else ""
        say(f"appliance: lane ready{simulated}; API on {url}/api/v1 (health {url}/api/v1/health)")
        if on_ready is not None:
            on_ready(url)

    service = LaneService(
        config, directory, on_beat=on_beat, on_ready=lane_ready, on_failed=lane_failed
    )
    app = create_app(service)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_S,
            **ssl,  # type: ignore[arg-type]
        )
    )
    where = "TLS, logins required" if ssl else "loopback only"
    say(f"appliance: listening on {url} ({where}); opening the lane")
    # uvicorn handles SIGTERM/SIGINT while it runs and raises the signal again when it has
    # stopped: these handlers take that second delivery, so the lane stops and we exit 0
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    service.start()
    try:
        server.run(sockets=[sock])
    finally:
        ended = service.stop(LANE_STOP_S)
        sock.close()
    if failed:
        say(f"appliance serve: lane not opened: {failed[0]}")
        return 2
    if not ended:
        log.warning("lane loop did not end in %.0f s; the gate was closed", LANE_STOP_S)
    say("appliance: stopped")
    return 0
