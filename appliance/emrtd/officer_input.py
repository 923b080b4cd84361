"""What an officer types to open a chip, and waiting for the document: shared by every command
that reads one (`chip read`, `appliance check`), so the rules for a CAN or a document number and
dates are written once and a key typed one way is accepted everywhere.

`access_key_from_options` raises `click.BadParameter` naming the option: it serves the command
line only. The number may be given as printed in the MRZ, with its `<` fillers (`MrzKey` pads it
again); dates are YYMMDD.
"""

from __future__ import annotations

import time

import click

from appliance.emrtd.session import AccessKey, CanKey, MrzKey
from appliance.errors import ApplianceError, Reason
from appliance.ports import CardTransport


def access_key_from_options(mrz_info: str | None, can: str | None) -> AccessKey | None:
    """The key from `--can N` or `--mrz-info DOC,YYMMDD,YYMMDD`; None when neither is given."""
    if can:
        if not can.isdigit() or len(can) != 6:
            raise click.BadParameter("a CAN is 6 digits", param_hint="--can")
        return CanKey(can)
    if not mrz_info:
        return None
    parts = [p.strip().upper() for p in mrz_info.split(",")]
    if len(parts) != 3:
        raise click.BadParameter("expected DOC,YYMMDD,YYMMDD", param_hint="--mrz-info")
    number, dob, doe = parts[0].rstrip("<"), parts[1], parts[2]
    if not (number.isascii() and number.isalnum()):
        raise click.BadParameter(
            "the document number is letters and digits (trailing '<' allowed)",
            param_hint="--mrz-info",
        )
    if not all(len(d) == 6 and d.isdigit() for d in (dob, doe)):
        raise click.BadParameter("dates must be YYMMDD", param_hint="--mrz-info")
    return MrzKey(number, dob, doe)


def wait_for_document(transport: CardTransport, timeout_s: float) -> None:
    """Poll the reader until a document is there; `CHIP_NOT_PRESENT` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not transport.card_present():
        if time.monotonic() >= deadline:
            raise ApplianceError(Reason.CHIP_NOT_PRESENT, "no document on the reader")
        time.sleep(0.05)
