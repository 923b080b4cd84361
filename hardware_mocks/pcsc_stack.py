"""Starts a private pcscd (with the vpcd virtual readers) for tests and the simulated appliance.

vsmartcard's vpcd driver listens for virtual cards on *every* interface (it binds INADDR_ANY and
has no option to bind an address), so a system pcscd with vpcd configured lets anyone on the
network present a card. Instead, each run (a test session, a demo) starts its own pcscd in a
private network namespace whose only interface is loopback, with its own reader.conf.d and its
own socket directory (bind-mounted over /run/pcscd in a private mount namespace, because
pcscd 1.9 always serves /run/pcscd/pcscd.comm). Clients in this process reach it through
`PCSCLITE_CSOCK_NAME`; the vpcd bridge enters the namespace to connect (`vpcd_connection`).
Two runs on one machine therefore never share a reader slot or a port. Creating namespaces
needs root (as the set-up and CI run); otherwise `PcscStackUnavailable` says so. Where even root
may not create namespaces (an unprivileged container), the run falls back to a pcscd of its own
on the standard socket, in the machine's network, with a warning, when no other pcscd runs.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
#: the system-wide vpcd configuration of Debian's package; the set-up removes it
VPCD_DRIVER_CONF = Path("/etc/reader.conf.d/vpcd")
VIRTUAL_READER_PREFIX = "Virtual PCD"
#: vpcd's first port; the driver serves two slots ("Virtual PCD 00 00" and "... 00 01")
VPCD_BASE_PORT = 35963
VPCD_SLOTS = 2
_READER_CONF = f"""# written by hardware_mocks/pcsc_stack.py for one private pcscd
FRIENDLYNAME "{VIRTUAL_READER_PREFIX}"
DEVICENAME   /dev/null:{VPCD_BASE_PORT}
LIBPATH      {VPCD_DRIVER}
CHANNELID    {VPCD_BASE_PORT}
"""
log = logging.getLogger(__name__)
_SYSTEM_SOCKET = Path("/run/pcscd/pcscd.comm")
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1


class PcscStackUnavailable(RuntimeError):
    """pcscd, the vpcd driver or namespaces are unavailable (run the README's set-up as root)."""


@dataclass
class _Sandbox:
    proc: subprocess.Popen[bytes]
    run_dir: Path
    #: in its own loopback-only network namespace (False: the fallback in the machine's network)
    isolated: bool = True

    @property
    def socket_path(self) -> Path:
        return self.run_dir / "run" / "pcscd.comm"


_lock = threading.Lock()
_current: _Sandbox | None = None
#: one socket path per process: libpcsclite reads PCSCLITE_CSOCK_NAME once and keeps it
_run_dir: Path | None = None


def pcsc_stack_installed() -> bool:
    return (
        shutil.which("pcscd") is not None
        and shutil.which("unshare") is not None
        and shutil.which("ip") is not None
        and VPCD_DRIVER.exists()
    )


def reader_name(slot: int) -> str:
    """The PC/SC name of vpcd slot `slot` (listening on `VPCD_BASE_PORT + slot`)."""
    return f"{VIRTUAL_READER_PREFIX} 00 {slot:02d}"


def claim_socket_path() -> Path:
    """This process's private pcscd socket path, set in `PCSCLITE_CSOCK_NAME` now.

    libpcsclite reads the variable once, at the first `SCardEstablishContext` of the process; a
    test session calls this before anything loads pyscard, so that a test which looks for a
    reader before the stack is up does not pin the process to the system's socket.
    """
    with _lock:
        return _claim_run_dir() / "run" / "pcscd.comm"


def _claim_run_dir() -> Path:
    """The run directory of this process's pcscd (made once; call with `_lock` held)."""
    global _run_dir
    if _run_dir is None:
        _run_dir = Path(tempfile.mkdtemp(prefix="border-appliance-pcscd-"))
        atexit.register(_cleanup)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(_run_dir / "run" / "pcscd.comm")
    return _run_dir


def ensure_pcscd(timeout_s: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Make sure this process has its private pcscd; return the process when this call started it.

    Terminating the returned process stops the daemon; the next call starts a new one on the
    same socket path.
    """
    global _current
    with _lock:
        if _current is not None and _current.proc.poll() is None:
            return None
        if not pcsc_stack_installed():
            raise PcscStackUnavailable(
                "pcscd, vsmartcard-vpcd, unshare and ip are required (scripts/setup.sh)"
            )
        if os.geteuid() != 0:
            raise PcscStackUnavailable(
                "the private pcscd needs root (network namespace): run as root, as CI does"
            )
        run_dir = _claim_run_dir()
        sandbox = _start(run_dir) if _namespaces_work() else _start_unisolated(run_dir)
        try:
            _wait_ready(sandbox, timeout_s)
        except PcscStackUnavailable:
            _stop(sandbox)
            raise
        _current = sandbox
        return sandbox.proc


def _start(run_dir: Path) -> _Sandbox:
    conf_dir, sock_dir = run_dir / "reader.conf.d", run_dir / "run"
    for d in (conf_dir, sock_dir):
        d.mkdir(mode=0o755, exist_ok=True)
    (conf_dir / "vpcd").write_text(_READER_CONF)
    (sock_dir / "pcscd.comm").unlink(missing_ok=True)  # left by a daemon that was killed
    script = (
        "set -e; ip link set lo up; mkdir -p /run/pcscd; "
        f'mount --bind "{sock_dir}" /run/pcscd; exec pcscd --foreground --error -c "{conf_dir}"'
    )
    with (run_dir / "pcscd.log").open("ab") as err:
        proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_die_with_parent,  # only prctl, before exec
        )
    sandbox = _Sandbox(proc, run_dir)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(sandbox.socket_path)
    return sandbox


def _namespaces_work() -> bool:
    probe = ["unshare", "--net", "--mount", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _start_unisolated(run_dir: Path) -> _Sandbox:
    """pcscd on the standard socket, in this machine's network: only where no namespace can be
    made and no other pcscd runs (pcscd 1.9 serves only /run/pcscd/pcscd.comm)."""
    if _SYSTEM_SOCKET.exists():
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(_SYSTEM_SOCKET)) == 0:
                raise PcscStackUnavailable(
                    "no network namespace can be made here and another pcscd already serves "
                    f"{_SYSTEM_SOCKET}: stop it, or run where namespaces work (root, not an "
                    "unprivileged container)"
                )
    conf_dir, sock_dir = run_dir / "reader.conf.d", run_dir / "run"
    for d in (conf_dir, sock_dir):
        d.mkdir(mode=0o755, exist_ok=True)
    (conf_dir / "vpcd").write_text(_READER_CONF)
    (sock_dir / "pcscd.comm").unlink(missing_ok=True)
    (sock_dir / "pcscd.comm").symlink_to(_SYSTEM_SOCKET)  # keeps this process's socket path
    log.warning(
        "no network namespace: vpcd listens on every interface of this machine's network "
        "(ports %d-%d) while this run lasts",
        VPCD_BASE_PORT,
        VPCD_BASE_PORT + VPCD_SLOTS - 1,
    )
    with (run_dir / "pcscd.log").open("ab") as err:
        proc = subprocess.Popen(
            ["pcscd", "--foreground", "--error", "-c", str(conf_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=_die_with_parent,  # only prctl, before exec
        )
    sandbox = _Sandbox(proc, run_dir, isolated=False)
    os.environ["PCSCLITE_CSOCK_NAME"] = str(sandbox.socket_path)
    return sandbox


def _die_with_parent() -> None:
    """The daemon goes when the process that started it goes (no stray pcscd after a crash)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _wait_ready(sandbox: _Sandbox, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sandbox.socket_path.exists() and _vpcd_listed():
            return
        if sandbox.proc.poll() is not None:
            log_file = sandbox.run_dir / "pcscd.log"
            last = log_file.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            raise PcscStackUnavailable(
                f"private pcscd exited with code {sandbox.proc.returncode}: {last[0]}"
            )
        time.sleep(0.05)
    raise PcscStackUnavailable("pcscd did not come up in time")


def _vpcd_listed() -> bool:
    """True when pcscd answers and lists the vpcd virtual readers.

    (Probing vpcd's TCP port instead would look to vpcd like a card being inserted and pulled.)
    """
    try:
        from smartcard.System import readers

        return any(str(r).startswith(VIRTUAL_READER_PREFIX) for r in readers())
    except Exception:
        return False


def _stop(sandbox: _Sandbox) -> None:
    if sandbox.proc.poll() is None:
        sandbox.proc.terminate()
        try:
            sandbox.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.proc.kill()
            sandbox.proc.wait()


def _cleanup() -> None:
    global _current
    if _current is not None:
        _stop(_current)
        _current = None
    if _run_dir is not None:
        shutil.rmtree(_run_dir, ignore_errors=True)


def daemon_pid() -> int | None:
    """The pid of this process's private pcscd, when it runs."""
    sandbox = _current
    return sandbox.proc.pid if sandbox is not None and sandbox.proc.poll() is None else None


def isolated() -> bool:
    """Whether this process's pcscd runs in its own loopback-only network namespace."""
    return _current is not None and _current.isolated


def vpcd_connection(port: int, timeout_s: float) -> socket.socket:
    """A TCP connection to vpcd's `port` inside the private pcscd's network namespace.

    `setns` changes only the calling thread's namespace, so a short-lived thread enters it and
    opens the socket (which stays in that namespace). Without a private pcscd in this process,
    the connection goes to this host's loopback. Raises OSError as `socket.create_connection`.
    """
    pid = daemon_pid()
    if pid is None or not isolated():
        return socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    result: list[socket.socket | BaseException] = []

    def connect() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    errno = ctypes.get_errno()
                    raise OSError(errno, f"setns: {os.strerror(errno)}")
            finally:
                os.close(fd)
            result.append(socket.create_connection(("127.0.0.1", port), timeout=timeout_s))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=connect, name="vpcd-netns-connect", daemon=True)
    thread.start()
    thread.join()
    outcome = result[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every IPv4/IPv6 TCP listener in the network namespace of `pid`."""
    found: list[tuple[str, int]] = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # TCP_LISTEN
                continue
            address, port = fields[1].split(":")
            found.append((_address(address, width), int(port, 16)))
    return found


def _address(hex_addr: str, width: int) -> str:
    raw = bytes.fromhex(hex_addr)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def interfaces(pid: int) -> list[str]:
    """Network interfaces of the namespace of `pid`."""
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines]
