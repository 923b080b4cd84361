"""A throwaway PostgreSQL cluster in a temporary directory (tests, the benchmark, a first run).

Debian's `postgresql` package puts `initdb`/`pg_ctl` in /usr/lib/postgresql/<major>/bin. The
cluster listens on a unix socket inside its own directory only (no TCP port, nothing reachable
from the network), trusts local connections, and is removed on `stop`. PostgreSQL refuses to
run as root, so as root (a developer container, CI) every server command runs as the `postgres`
system user, which the Debian package creates, through `runuser`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

_SERVER_USER = "postgres"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL's server binaries (or the user to run them as) are not installed."""


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin directory (PG_BIN overrides)."""
    override = os.environ.get("PG_BIN")
    candidates = [override] if override else sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterUnavailable("PostgreSQL server binaries not found (apt-get install postgresql)")


class TempCluster:
    """One cluster: `start()`, `url`, `stop_server()`/`start_server()` (restart tests), `stop()`."""

    def __init__(
        self, *, durable: bool = False, database: str = "central", root: Path | None = None
    ) -> None:
        """A new cluster in a new temporary directory, or (`root`) the one already there, to
        stop and remove what another process left."""
        self.bin_dir = find_bin_dir()
        self.durable = durable
        self.database = database
        self.root = Path(tempfile.mkdtemp(prefix="pgc-")) if root is None else root
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self._as_root = os.geteuid() == 0
        if self._as_root and root is None:
            try:
                entry = pwd.getpwnam(_SERVER_USER)
            except KeyError as exc:
                raise ClusterUnavailable("no 'postgres' user to run the server as") from exc
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.user = _SERVER_USER if self._as_root else pwd.getpwuid(os.geteuid()).pw_name

    @property
    def url(self) -> str:
        """A libpq URL over the unix socket (psycopg accepts it as a conninfo)."""
        return f"postgresql://{self.user}@/{self.database}?host={self.socket_dir}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", _SERVER_USER, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> TempCluster:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8")
        options = [
            "listen_addresses=''",
            f"unix_socket_directories='{self.socket_dir}'",
            "max_connections=200",
        ]
        if not self.durable:
            # Test clusters: a crash of the whole machine may lose them, which no test needs.
            options += ["fsync=off", "full_page_writes=off"]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(options) + "\n")
        self.start_server()
        self._run("createdb", "-h", str(self.socket_dir), "-U", self.user, self.database)
        return self

    def start_server(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as if killed; it recovers from the WAL on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
