"""Deployment: the systemd units, the install script and the installed tree.

`systemd-analyze` runs offline (no booted systemd needed): `verify --root` on a root made from
the staged install (the unit files as installed, the entry point they start, the host's own
units for the targets they name), `security --offline=true` on the unit file. The install into a
temporary DESTDIR (a venv and a pip install) is made once per session.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.config import load_config
from appliance.models import models_dir
from appliance.wiring import load_factory

REPO = Path(__file__).resolve().parents[2]
UNITS = ("appliance.service", "appliance-kiosk.service", "appliance-sync.service")
VENV = Path("opt/appliance/venv")


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} missing in CI (scripts/setup.sh installs systemd)")
        pytest.skip(f"{tool} not installed")
    return path


def _unit(name: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file (later values after earlier ones)."""
    entries: dict[str, list[str]] = {}
    for line in (REPO / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


@pytest.fixture(scope="module")
def destdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scripts/install.sh --destdir into a fresh temporary directory (once per session)."""
    root = tmp_path_factory.mktemp("destdir")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "install.sh"), "--destdir", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return root


def _installed_python(destdir: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    return subprocess.run(
        [str(destdir / VENV / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=destdir,
        timeout=120,
    )


# --- the units ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["appliance.service", "appliance-sync.service"])
def test_service_exposure_is_at_most_2(name: str) -> None:
    tool = _need("systemd-analyze")
    proc = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", f"systemd/{name}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    found = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", proc.stdout)
    assert found, proc.stdout + proc.stderr
    assert float(found.group(1)) <= 2.0, proc.stdout


def test_service_unit_contract() -> None:
    """What `appliance serve` and the technician rely on: readiness and watchdog by
    notification from the main process, restart on failure, a quick stop, its own user."""
    unit = _unit("appliance.service")
    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] and unit["WatchdogSec"][-1] not in ("0", "infinity")
    assert unit["Restart"] == ["on-failure"]
    assert unit["TimeoutStopSec"] == ["10s"]
    assert unit["ExecStart"] == [
        "/opt/appliance/venv/bin/appliance serve --config /etc/appliance/appliance.toml"
    ]
    assert unit["User"] == ["appliance"]
    assert unit["StateDirectory"] == ["appliance"]
    assert "APPLIANCE_DATA_DIR=/var/lib/appliance" in unit["Environment"]
    assert unit["DevicePolicy"] == ["closed"]
    allowed = {value.split()[0] for value in unit["DeviceAllow"]}
    assert {"char-video4linux", "char-ttyS", "char-ttyUSB", "char-ttyACM"} <= allowed
    assert unit["IPAddressDeny"] == ["any"]


def test_sync_unit_runs_the_sync_loop_as_the_appliance_user() -> None:
    unit = _unit("appliance-sync.service")
    assert unit["ExecStart"] == ["/opt/appliance/venv/bin/appliance sync run --json"]
    assert unit["User"] == ["appliance"] and unit["StateDirectory"] == ["appliance"]
    assert "APPLIANCE_CONFIG=/etc/appliance/appliance.toml" in unit["Environment"]
    assert unit["IPAddressDeny"] == ["any"] and unit["PrivateDevices"] == ["yes"]


def test_kiosk_unit_starts_after_the_service_is_ready() -> None:
    unit = _unit("appliance-kiosk.service")
    assert "appliance.service" in " ".join(unit["After"])
    assert unit["Requires"] == ["appliance.service"]
    assert unit["User"] == ["appliance-kiosk"]
    command = unit["ExecStart"][0].split()
    assert command[0] == "/usr/bin/cage"
    assert "/usr/bin/chromium" in command and "--kiosk" in command
    assert command[-1] == "http://127.0.0.1:8600/kiosk/"


def test_units_verify(destdir: Path, tmp_path: Path) -> None:
    """`systemd-analyze verify` on the installed unit files: no error and no warning."""
    tool = _need("systemd-analyze")
    root = tmp_path / "root"
    shutil.copytree(destdir / "lib", root / "lib")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    entry_point = root / VENV / "bin" / "appliance"
    entry_point.parent.mkdir(parents=True)
    shutil.copy2(destdir / VENV / "bin" / "appliance", entry_point)
    # the kiosk's compositor is a Debian package a screenless CI does not install
    cage = Path("/usr/bin/cage")
    (root / "usr/bin").mkdir(parents=True)
    if cage.exists():
        shutil.copy2(cage, root / "usr/bin/cage")
    else:
        (root / "usr/bin/cage").write_text("#!/bin/sh\n")
        (root / "usr/bin/cage").chmod(0o755)
    proc = subprocess.run(
        [tool, "verify", f"--root={root}", "--man=no", *UNITS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout + proc.stderr == ""


def test_sysusers_and_tmpfiles_make_users_and_private_directories(
    destdir: Path, tmp_path: Path
) -> None:
    sysusers, tmpfiles = _need("systemd-sysusers"), _need("systemd-tmpfiles")
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --root chowns to the new users: needs root")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    shutil.copytree(destdir / "usr", root / "usr")
    subprocess.run([sysusers, f"--root={root}"], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [tmpfiles, f"--root={root}", "--create"], check=True, capture_output=True, timeout=60
    )
    users = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").open()}
    groups = {line.split(":")[0]: line.strip().split(":") for line in (root / "etc/group").open()}
    assert users["appliance"][5] == "/var/lib/appliance"
    assert users["appliance"][6].strip().endswith("nologin")
    assert "appliance-kiosk" in users
    assert "appliance" in groups["video"][3].split(",")
    assert "appliance" in groups["dialout"][3].split(",")
    state = (root / "var/lib/appliance").stat()
    assert state.st_mode & 0o777 == 0o700
    assert state.st_uid == int(users["appliance"][2])


# --- the install ----------------------------------------------------------------------------------


def test_install_tree(destdir: Path) -> None:
    for unit in UNITS:
        installed = destdir / "lib/systemd/system" / unit
        assert installed.read_bytes() == (REPO / "systemd" / unit).read_bytes()
    for kind in ("sysusers.d", "tmpfiles.d"):
        installed = destdir / "usr/lib" / kind / "appliance.conf"
        assert installed.read_bytes() == (REPO / "systemd" / kind / "appliance.conf").read_bytes()
    assert (destdir / "etc/pam.d/appliance-kiosk").is_file()
    config = destdir / "etc/appliance/appliance.toml"
    assert load_config(config).data_dir == Path("/var/lib/appliance")
    # the staged venv runs from /opt/appliance/venv: nothing in bin/ names the staging path
    entry_point = destdir / VENV / "bin" / "appliance"
    assert entry_point.read_text().splitlines()[0].startswith("#!/opt/appliance/venv/bin/python")
    for script in (destdir / VENV / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            assert str(destdir) not in script.read_bytes().decode(errors="replace"), script


def test_installed_models_match_manifest(destdir: Path) -> None:
    models = destdir / "opt/appliance/models"
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest == json.loads((REPO / "models/manifest.json").read_text())
    for entry in manifest["models"]:
        digest = hashlib.sha256((models / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], entry["file"]


def test_installed_entry_point_runs_help(destdir: Path) -> None:
    python = destdir / VENV / "bin" / "python"
    proc = subprocess.run(
        [str(python), str(destdir / VENV / "bin" / "appliance"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: appliance" in proc.stdout


def test_installed_appliance_finds_its_models_without_override(destdir: Path) -> None:
    proc = _installed_python(
        destdir,
        "import json; from appliance.models import models_dir, selftest;"
        "print(json.dumps([str(models_dir()), selftest()]))",
    )
    assert proc.returncode == 0, proc.stderr
    where, report = json.loads(proc.stdout)
    assert Path(where) == destdir / "opt/appliance/models"
    assert report and all(model["status"] == "pass" for model in report), report


def test_reinstall_keeps_the_devices_config(destdir: Path) -> None:
    """A second install (an update) over the same tree works and keeps the technician's
    config, writing the shipped one beside it; the tree stays valid for the other tests."""
    config = destdir / "etc/appliance/appliance.toml"
    edited = config.read_text().replace('device_id = "gate-01"', 'device_id = "gate-07"')
    config.write_text(edited)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts/install.sh"), "--destdir", str(destdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert config.read_text() == edited
    shipped = (destdir / "etc/appliance/appliance.toml.new").read_bytes()
    assert shipped == (REPO / "config/appliance.toml").read_bytes()
    assert (destdir / VENV / "bin" / "appliance").read_text().startswith("#!/opt/appliance/")


def test_install_usage_error_exits_2() -> None:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts/install.sh"), "--bogus"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "usage: scripts/install.sh" in proc.stderr


# --- the production config and the models in a checkout -----------------------------------------


def test_production_config_parses_and_names_real_drivers_only() -> None:
    path = REPO / "config/appliance.toml"
    config = load_config(path)
    assert "hardware_mocks" not in path.read_text()
    assert config.chip.reader != "virtual"
    assert config.face.camera != "virtual"
    assert config.inspection.gate_port != "simulated"
    assert config.inspection.face_verifier
    for factory in (config.hardware.pcsc_card, config.hardware.gate, config.hardware.camera):
        assert factory.startswith("drivers.")
        assert callable(load_factory(factory))


def test_models_dir_in_a_checkout_and_by_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLIANCE_MODELS_DIR", raising=False)
    assert models_dir() == REPO / "models"
    monkeypatch.setenv("APPLIANCE_MODELS_DIR", "/srv/models")
    assert models_dir() == Path("/srv/models")


def test_the_guard_screens_are_installed_where_the_service_finds_them(destdir: Path) -> None:
    installed = destdir / "opt/appliance/guard_ui"
    for page in ("index.html", "officer.html", "monitor.html", "maintenance.html", "guard.js"):
        assert (installed / page).read_bytes() == (REPO / "guard_ui" / page).read_bytes()
    assert not (installed / "README.md").exists()
