"""The `appliance` command line.

Each command group lives next to the code it drives (for example `appliance/mrz/commands.py`)
and is imported only when used, so `appliance mrz check` never pays for loading ONNX models and
one package's import error cannot break another's commands.

Exit codes (DESIGN.md): 0 every check passed, 1 a check failed or a document was refused,
2 usage errors and faults (no reader, unreadable file).
"""

from __future__ import annotations

import errno
import importlib
import sqlite3
import sys
import traceback
from typing import Any

import click

from appliance.cli_output import refuse
from appliance.errors import Reason

# command name -> "module:attribute" of a click command or group
_COMMANDS: dict[str, str] = {
    "chip": "appliance.emrtd.commands:chip",
    "mrz": "appliance.mrz.commands:mrz",
    "trust": "appliance.emrtd.pki.commands:trust",
    "history": "appliance.history.commands:history",
    "demo": "appliance.inspection.commands:demo",
    "face": "appliance.biometrics.face.commands:face",
    "check": "appliance.inspection.check_command:check",
    "selftest": "appliance.selftest_command:selftest",
    "barcode": "appliance.barcodes.commands:barcode",
    # the central service lives in the repository's sync/ (not in the product wheel)
    "central": "sync.central.cli:central",
    "serve": "appliance.api.commands:serve",
    "sim": "appliance.api.sim_commands:sim",
    "users": "appliance.accounts.commands:users",
    "tls": "appliance.api.tls:tls",
    # the device side of sync ships in the wheel (sync/device), loaded by name like central
    "sync": "sync.device.cli:sync",
    "iris": "appliance.biometrics.iris.commands:iris",
    "morph": "appliance.biometrics.morph.commands:morph",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return _unavailable(cmd_name)
            raise
        command: click.Command = getattr(module, attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """A broken config or data directory is one line on stderr and exit 2, whichever
        command found it (commands that report their own errors may print it themselves)."""
        from appliance.config import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"appliance: {exc}", err=True)
            ctx.exit(2)


def _unavailable(name: str) -> click.Command:
    @click.command(
        name=name,
        help="(not available in this build)",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def _cmd(args: tuple[str, ...]) -> None:
        click.echo(f"appliance {name}: not available in this build", err=True)
        sys.exit(2)

    return _cmd


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="border-appliance")
def cli() -> None:
    """Border-checkpoint appliance: read and verify ePassports, verify the holder, keep history."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point; click turns usage errors into exit code 2, and what no
    command caught ends as a reason and exit code 2, never a traceback: a data directory
    that cannot be written (a full disk, a read-only file system, a locked database) as
    `DATA_DIR_UNAVAILABLE`, anything else as `INTERNAL_ERROR`. The detail names the error's
    kind and the line of code it came from, never its message (which may carry data)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        return cli.main(args=argv, prog_name="appliance")
    except (OSError, sqlite3.OperationalError) as exc:
        code = errno.errorcode.get(getattr(exc, "errno", None) or 0, type(exc).__name__)
        detail = f"the data directory cannot be read or written ({code} at {_where(exc)})"
        refuse(Reason.DATA_DIR_UNAVAILABLE, detail, "--json" in args, who="appliance")
    except Exception as exc:  # the last net: a bug is a fault with a reason, not a traceback
        detail = f"{type(exc).__name__} at {_where(exc)}"
        refuse(Reason.INTERNAL_ERROR, detail, "--json" in args, who="appliance")


def _where(exc: BaseException) -> str:
    """The innermost frame of `exc`'s traceback in this project: file and line only."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/appliance/" in f.filename
              or "/sync/" in f.filename or "/drivers/" in f.filename]  # fmt: skip
    frame = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    path = frame.filename.replace("\\", "/")
    return f"{'/'.join(path.split('/')[-2:])}:{frame.lineno}"


if __name__ == "__main__":
    main()
