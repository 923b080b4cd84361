"""What an `appliance` command prints when it will not do its work, and the exit codes.

Every command group refuses the same way, so a script reading `--json` sees one shape
(`status`, `reason`, `detail`) whichever command it ran, and a person reads `REASON: detail`
on stderr. Exit codes (DESIGN.md): 0 every check passed, 1 a check failed or a document was
refused, 2 usage errors and faults.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from appliance.errors import Reason

EXIT_OK, EXIT_FAILED, EXIT_FAULT = 0, 1, 2


def refuse(
    reason: Reason, detail: str, as_json: bool, *, who: str = "", exit_code: int = EXIT_FAULT
) -> NoReturn:
    """Print the refusal (JSON on stdout, or text on stderr prefixed by `who`) and exit."""
    if as_json:
        click.echo(json.dumps({"status": "fail", "reason": reason.value, "detail": detail}))
    else:
        click.echo(f"{who}: {reason.value}: {detail}" if who else f"{reason.value}: {detail}",
                   err=True)  # fmt: skip
    sys.exit(exit_code)
