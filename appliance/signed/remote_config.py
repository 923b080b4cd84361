"""Config the border authority sets through sync: a signed TOML overlay of a few keys.

Which keys, and why only these: central may tune how the device paces and alarms, never what
it decides, which code or hardware it uses, where it reads or writes, or who it is.

- `[sync]` `interval_s`, `backoff_min_s`, `backoff_max_s`, `timeout_s`, `batch_size`,
  `backlog_alarm`: the uplink's pace and its alarm, tuned to a site's link from the fleet view;
- `[monitoring]` `min_group_size`, `alarm_factor`, `window_days`: the monitoring alarms;
- `[selftest]` `min_free_mb`: when the disk check warns;
- `[inspection]` `traveller_timeout_s`: how long the lane waits for a traveller.

A wrong value of these slows a lane or raises an alarm; none opens a gate, loosens a check,
or reaches a file, a driver or another process. Refused remotely (`CONFIG_INVALID`): every
other key, notably `[hardware]` and the face/morph factories (`module:callable`: code chosen
by whoever writes them), `[device]` (the identity the history and central know), paths and
ports (`data_dir`, `national_key_file`, serial ports, terminal keys), the decision's thresholds
(`[face]`, `[iris]`: they travel in the signed policy, with its own floor rules), `[inputs]`
limits and `[history]` retention (erasure cannot be undone).

On the device the overlay is one file, `remote-config.signed`: the authority's signature line
(kind `config`, `appliance.signed.artefacts`) then the TOML (`version = N` and the sections).
One file, one rename: a reader sees the old overlay or the new, never a half. `load_config`
lays it over the local file on every load, re-verified; an overlay that no longer verifies is
left out (the local file's values hold) and `installed_problem` says why (`sync status`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, Reason
from appliance.files import write_private
from appliance.signed import artefacts as sc

REMOTE_FILE = "remote-config.signed"
#: the keys central may set, by section (see the module doc for why)
REMOTE_KEYS: Mapping[str, frozenset[str]] = {
    "sync": frozenset(
        {"interval_s", "backoff_min_s", "backoff_max_s", "timeout_s", "batch_size", "backlog_alarm"}
    ),
    "monitoring": frozenset({"min_group_size", "alarm_factor", "window_days"}),
    "selftest": frozenset({"min_free_mb"}),
    "inspection": frozenset({"traveller_timeout_s"}),
}
_KIND = sc.ArtefactKind.CONFIG


def _invalid(detail: str) -> ApplianceError:
    return ApplianceError(Reason.CONFIG_INVALID, f"remote config: {detail}")


def parse_remote(content: bytes) -> tuple[int, dict[str, dict[str, Any]]]:
    """(version, sections) of a remote config; `CONFIG_INVALID` for a key not in
    `REMOTE_KEYS` or a malformed file (the values are checked by the caller's `Config`)."""
    try:
        body = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _invalid("not TOML") from exc
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _invalid("version must be a positive integer")
    sections: dict[str, dict[str, Any]] = {}
    for section, values in body.items():
        allowed = REMOTE_KEYS.get(section)
        if allowed is None or not isinstance(values, dict):
            raise _invalid(f"[{section}] may not be set remotely")
        for key in values:
            if key not in allowed:
                raise _invalid(f"{section}.{key} may not be set remotely")
        sections[section] = dict(values)
    return version, sections


def _split(bundle: bytes) -> tuple[bytes, bytes]:
    line, _, content = bundle.partition(b"\n")
    return line, content


def read_installed(data_dir: Path) -> tuple[int, dict[str, dict[str, Any]]] | None:
    """The overlay in force, verified now (None when none is installed); raises when the file
    is there but does not verify or has gone back in version."""
    try:
        bundle = (data_dir / REMOTE_FILE).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _invalid("unreadable") from exc
    line, content = _split(bundle)
    sc.TrustedKeys.load(data_dir / sc.KEYS_DIR).verify(_KIND, content, line or None)
    version, sections = parse_remote(content)
    sc.VersionGuard(data_dir).check(_KIND, version)
    return version, sections


def installed_problem(data_dir: Path) -> ApplianceError | None:
    """Why the installed overlay is left out (None: none installed, or it verifies)."""
    try:
        read_installed(data_dir)
    except ApplianceError as exc:
        return exc
    return None


def overlay(raw: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The local config's raw TOML with the verified remote keys laid over it (unchanged when
    there is no overlay or it does not verify)."""
    try:
        installed = read_installed(data_dir)
    except ApplianceError:
        return raw
    if installed is None:
        return raw
    merged = dict(raw)
    for section, values in installed[1].items():
        local = merged.get(section)
        merged[section] = {**(local if isinstance(local, dict) else {}), **values}
    return merged


def install_remote(data_dir: Path, content: bytes, signature: bytes) -> int:
    """Verify a remote config (signature, keys, version guard) and install it in one rename;
    a refusal changes nothing. The caller checks the values against its `Config` first."""
    sc.TrustedKeys.load(data_dir / sc.KEYS_DIR).verify(_KIND, content, signature)
    version, _ = parse_remote(content)
    guard = sc.VersionGuard(data_dir)
    guard.check(_KIND, version)
    write_private(data_dir / REMOTE_FILE, signature.strip() + b"\n" + content)
    guard.accept(_KIND, version)
    return version
