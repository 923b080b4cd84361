"""`appliance trust import FILE` and `appliance trust list`: the CSCA trust store.

Exit codes (DESIGN.md): 0 imported, 1 the file's signature or issuer did not verify or it chains
to no trusted CSCA (nothing imported), 2 unreadable file or usage error (a malformed --anchor).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from appliance.cli_output import refuse
from appliance.config import load_config
from appliance.emrtd.pki.importer import import_file, normalise_fingerprint
from appliance.emrtd.pki.masterlist import TRUSTED_BY
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.inputs import read_input_file
from appliance.wiring import open_trust_store


def _store() -> TrustStore:
    try:
        return open_trust_store(load_config())
    except (OSError, ValueError) as exc:
        click.echo(f"{Reason.FILE_UNREADABLE.value}: cannot open the trust store ({exc})", err=True)
        sys.exit(2)


@click.group()
def trust() -> None:
    """CSCA master lists, CSCA/link certificates and CRLs used by Passive Authentication."""


def _fingerprints(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[str]:
    try:
        return [normalise_fingerprint(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@trust.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=_fingerprints,
    metavar="SHA256",
    help="Trust the certificate with this SHA-256 fingerprint (of its DER) as the root this "
    "file chains to; check it against the value its issuer publishes. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_command(file: Path, anchors: list[str], as_json: bool) -> None:
    """Import FILE: a master list, a DER/PEM certificate (bundle) or a CRL.

    It must chain to a CSCA already in the trust store or to one pinned with --anchor; a CRL
    must be signed by a CSCA already in the store. A seal signer certificate (visa, arrival
    attestation, VDS-NC) is taken when a CSCA in the store issued it.
    """
    try:
        data = read_input_file(file, load_config().inputs.max_trust_file_bytes)
    except ApplianceError as exc:  # missing, a device or FIFO, too large, or a broken config
        refuse(exc.reason, exc.detail, as_json)
    with _store() as store:
        try:
            report = import_file(data, store, source=file.name, anchors=anchors)
        except LdsError as exc:
            refuse(exc.reason, exc.detail, as_json)
        certs, crls = store.counts()
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "file": file.name}))
    else:
        click.echo(f"{file.name}: {report.kind.value}, {report.status.value}: {report.detail}")
        if report.ok:
            click.echo(
                f"  {report.total} in file, {report.added} new, store now {certs} cert(s)"
                f" and {crls} CRL(s)"
            )
        for fingerprint, subject, how in report.anchors:
            click.echo(f"  anchor: {subject} (SHA-256 {fingerprint}, {TRUSTED_BY[how]})")
        for problem in report.unparseable:
            click.echo(f"  unparseable (stored as raw DER): {problem}")
    sys.exit(0 if report.ok else 1)


@trust.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the store as JSON.")
def list_command(as_json: bool) -> None:
    """List the stored certificates (country, subject, serial, validity, SKI, source) and CRLs."""
    with _store() as store:
        certificates = list(store.certificates())
        crls = store.crl_rows()
    if as_json:
        rows = [c.to_dict() for c in certificates]
        click.echo(json.dumps({"certificates": rows, "crls": crls}))
        return
    for c in certificates:
        if c.parse_error:
            click.echo(f"??  unparseable  {c.fingerprint[:16]}  {c.parse_error}  [{c.source}]")
            continue
        start, end = str(c.not_before)[:10], str(c.not_after)[:10]
        click.echo(
            f"{c.country or '??':2}  {start}..{end}  serial {c.serial}  "
            f"ski {c.ski or '-'}  {c.subject}  [{c.source}]"
        )
    for r in crls:
        click.echo(
            f"CRL {str(r['this_update'])[:10]}  {r['revoked_count']} revoked  "
            f"{r['issuer']}  [{r['source']}]"
        )
    click.echo(f"{len(certificates)} certificate(s), {len(crls)} CRL(s)")
