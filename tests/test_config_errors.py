"""A missing or broken `APPLIANCE_CONFIG`, an unknown key or an unusable data directory is one
clear line and exit 2, never a Python traceback (appliance/config.py, appliance/cli.py)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import cli
from appliance.config import SIMULATED_CONFIG, ConfigError, InputsConfig, load_config
from appliance.config import data_dir as state_dir
from appliance.errors import Reason
from tests.support.data_support import MASTER_LIST

REPO = Path(__file__).resolve().parents[1]
#: the console script users run, else the same entry point through the interpreter
_SCRIPT = Path(sys.executable).with_name("appliance")
APPLIANCE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "appliance.cli"]


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "appliance.toml"
    path.write_text(text)
    return path


BROKEN = {
    "missing": (None, "No such file"),
    "not TOML": ("[chip\nreader = ", "not TOML"),
    "unknown key": ("[chip]\nreadr = 'virtual'\n", "chip.readr: Extra inputs are not permitted"),
    "unknown section": ("[chips]\nreader = 'x'\n", "chips: Extra inputs"),
    "wrong type": ("[history]\nretention_days = 'soon'\n", "history.retention_days"),
    "out of range": ("[inputs]\nmax_image_pixels = 0\n", "inputs.max_image_pixels"),
    "not UTF-8": ("\udcff", "not TOML"),
}


def broken_config(tmp_path: Path, case: str) -> Path:
    text = BROKEN[case][0]
    if text is None:
        return tmp_path / "missing.toml"
    path = tmp_path / "appliance.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_load_config_raises_one_line_config_invalid(tmp_path: Path, case: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(broken_config(tmp_path, case))
    assert err.value.reason is Reason.CONFIG_INVALID
    assert BROKEN[case][1] in err.value.detail
    assert "\n" not in str(err.value)


@pytest.mark.timeout(10)
def test_a_fifo_or_device_as_config_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        with pytest.raises(ConfigError) as err:
            load_config(path)
        assert "not a regular file" in err.value.detail


def test_the_inputs_section_is_read(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[inputs]\nmax_image_pixels = 1000\nmax_trust_file_bytes = 10\n")
    limits = load_config(path).inputs
    assert (limits.max_image_pixels, limits.max_trust_file_bytes) == (1000, 10)
    assert limits.max_image_bytes == InputsConfig().max_image_bytes


def test_an_unusable_data_dir_is_data_dir_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    for path, why in ((occupied, "not a directory"), (occupied / "sub", "Not a directory")):
        monkeypatch.setenv("APPLIANCE_DATA_DIR", str(path))
        with pytest.raises(ConfigError) as err:
            state_dir()
        assert err.value.reason is Reason.DATA_DIR_UNAVAILABLE and why in err.value.detail


def test_a_data_dir_without_write_permission_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readonly = tmp_path / "ro"
    readonly.mkdir(mode=0o500)
    monkeypatch.setenv("APPLIANCE_DATA_DIR", str(readonly))
    real_access = os.access
    # root may write anywhere; ask access(2) as the unprivileged user the appliance runs as
    monkeypatch.setattr(os, "access", lambda p, m: real_access(p, m) and os.geteuid() != 0)
    with pytest.raises(ConfigError) as err:
        state_dir()
    assert err.value.reason is Reason.DATA_DIR_UNAVAILABLE and "not writable" in err.value.detail


# Commands that read the config or open the data directory, each with arguments that get past
# their own usage checks.
COMMANDS = [
    ["trust", "list"],
    ["history", "show", "--recent", "1"],
    ["face", "compare", "a.jpg", "b.jpg"],
    ["chip", "read", "--can", "123456", "--reader", "virtual"],
    ["demo", "--headless", "--travellers", "1"],
]

#: the commands that keep state (`face compare` needs no data directory)
STATEFUL = [args for args in COMMANDS if args[0] != "face"]


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("case", ["missing", "unknown key", "not TOML"])
def test_commands_exit_2_with_one_line_for_a_broken_config(
    tmp_path: Path, data_dir: Path, args: list[str], case: str
) -> None:
    env = {"APPLIANCE_CONFIG": str(broken_config(tmp_path, case))}
    code, out, err = invoke(args, env)
    assert code == 2
    said = (out + err).strip()
    assert "CONFIG_INVALID" in said and len(said.splitlines()) == 1
    assert "Traceback" not in said


@pytest.mark.parametrize("args", STATEFUL, ids=lambda a: " ".join(a[:2]))
def test_commands_exit_2_with_one_line_for_an_unusable_data_dir(
    tmp_path: Path, args: list[str]
) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("")
    env = {"APPLIANCE_DATA_DIR": str(occupied), "APPLIANCE_CONFIG": str(SIMULATED_CONFIG)}
    code, out, err = invoke(args, env)
    assert code == 2
    said = (out + err).strip()
    assert "DATA_DIR_UNAVAILABLE" in said and len(said.splitlines()) == 1
    assert "Traceback" not in said


@pytest.mark.parametrize(
    "env",
    [
        {"APPLIANCE_CONFIG": "/nonexistent/appliance.toml"},
        {"APPLIANCE_CONFIG": "unknown.toml"},
        {"APPLIANCE_DATA_DIR": "occupied"},
    ],
    ids=["missing config", "unknown key", "data dir is a file"],
)
def test_a_real_process_prints_one_line_and_no_traceback(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "unknown.toml").write_text("[device]\nlocaton = 'typo'\n")
    (tmp_path / "occupied").write_text("")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    run_env |= env | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [*APPLIANCE, "trust", "list"],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("appliance: ")


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_full_disk_under_a_command_is_one_line_and_exit_2_not_a_traceback(
    tmp_path: Path, as_json: bool
) -> None:
    """The kernel refuses (EFBIG) every write past 2 kB, for that process only: the trust
    store's database cannot be created. No command catches that; the last net in
    `appliance.cli.main` must, naming where it came from and not what was being written."""
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    run_env |= {"APPLIANCE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}
    args = ["trust", "import", str(MASTER_LIST), *(["--json"] if as_json else [])]

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [*APPLIANCE, *args],
        cwd=tmp_path,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=full_disk,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    if as_json:
        said = json.loads(proc.stdout)
        assert (said["status"], said["reason"]) == ("fail", "DATA_DIR_UNAVAILABLE")
        detail = said["detail"]
    else:
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("appliance: DATA_DIR_UNAVAILABLE: ")
        detail = line
    assert "trust_store.py:" in detail  # where, for the technician
