"""The downlink: signed artefacts from central, verified before use and applied atomically.

For each kind this build applies (`APPLIED_KINDS`, and watchlist deltas) whose newest
version at central is above the one in force, the device fetches it and checks, before touching
anything: the content's SHA-256 and size against central's manifest; the manifest (RFC 8785 JSON
`{kind, version, sha256, size}`) signed as kind `manifest`, and the content signed as its kind,
both by a border-authority key in the data directory's `artefact-keys/` (`TrustedKeys`, the
anchors the lane already trusts; central's own TLS key vouches for nothing); the version above
the one in force (no rollback). Then it applies it with the appliance's own import:

- watchlist: `appliance.signed.watchlist.import_watchlist` (its signature, format, issue time
  and its own version guard again), written with `write_private` (temp, fsync, rename);
- policy: `parse_policy`, the version guard, then the signature and the file (`write_private`);
- crl, masterlist: the trust store's import rules (`appliance.emrtd.pki.importer`: a CRL must
  be signed by a stored CSCA; a master list must chain to one), in one SQLite transaction;
- deviations: `DeviationList.parse` (every entry names the one DS certificate it excuses),
  then `deviations.json` written with `write_private`; a running lane takes it before its
  next check (`appliance.inspection.lane.MaterialWatch`);
- config: the few keys central may set (`appliance.signed.remote_config`), checked against
  the appliance's own bounds; model: `appliance.model_overlay.install_model`, in force at the
  lane's next start.

A refusal (`SYNC_ARTEFACT_UNSIGNED`, `SYNC_ARTEFACT_INVALID`, `SYNC_ARTEFACT_ROLLBACK`, or the
importer's own reason) leaves the version in force untouched and is kept in `sync status`.
A data directory that cannot take a verified artefact (a full disk) is not a refusal: the
round fails (`DATA_DIR_UNAVAILABLE`) and the version is fetched again next round.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from pydantic import ValidationError

from appliance.config import Config
from appliance.emrtd.pki.deviations import DEFAULT_FILE as DEVIATIONS_FILE
from appliance.emrtd.pki.deviations import DeviationList
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, LdsError, Reason
from appliance.files import write_private
from appliance.inspection.policy import POLICY_FILE, parse_policy
from appliance.model_overlay import install_model
from appliance.models import model_names
from appliance.signed import artefacts as signed
from appliance.signed.remote_config import install_remote, parse_remote
from appliance.signed.watchlist import WATCHLIST_FILE, import_watchlist, load_watchlist
from appliance.signed.watchlist_delta import DELTA_KIND, apply_delta, parse_delta
from sync import protocol
from sync.device.client import CentralClient, Unreachable, refusal
from sync.device.state import SyncState
from sync.device.uplink import Refused, Transient

APPLIED_KINDS = ("watchlist", "policy", "crl", "masterlist", "deviations", "config", "model")
MANIFEST_KIND = "manifest"


@dataclass(frozen=True)
class Outcome:
    kind: str
    version: int
    applied: bool
    reason: Reason
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "version": self.version,
            "applied": self.applied,
            "reason": self.reason.value,
            "detail": self.detail,
        }


def verify_signature(kind: str, content: bytes, line: str | None, data_dir: Path) -> None:
    """`appliance.signed`'s detached signature of `content` as `kind`, by a trusted key."""
    trusted = signed.TrustedKeys.load(data_dir / signed.KEYS_DIR)
    if not line or not line.strip():
        raise ApplianceError(Reason.SYNC_ARTEFACT_UNSIGNED, f"{kind}: no signature")
    try:
        scheme, kid, encoded = line.split()
        signature = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ApplianceError(Reason.SYNC_ARTEFACT_INVALID, f"{kind}: malformed signature") from exc
    key = trusted.keys.get(kid)
    if scheme != "ed25519" or key is None:
        raise ApplianceError(
            Reason.SYNC_ARTEFACT_UNSIGNED, f"{kind}: signed by a key this device does not trust"
        )
    try:
        key.verify(signature, signed.DOMAIN + kind.encode("ascii") + b"\x00" + content)
    except InvalidSignature as exc:
        raise ApplianceError(Reason.SYNC_ARTEFACT_INVALID, f"{kind}: signature invalid") from exc


def verify_artefact(body: dict[str, Any], kind: str, version: int, data_dir: Path) -> bytes:
    """The content of a fetched artefact once every check passes (see the module doc)."""
    try:
        content = protocol.b64d(str(body["content"]))
        manifest_text = str(body["manifest"])
        manifest = json.loads(manifest_text)
    except (KeyError, ValueError) as exc:
        raise ApplianceError(Reason.SYNC_ARTEFACT_INVALID, f"{kind}: malformed answer") from exc
    verify_signature(
        MANIFEST_KIND, manifest_text.encode(), body.get("manifest_signature"), data_dir
    )
    expected = {
        "kind": kind,
        "version": version,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
    }
    if manifest != expected:
        raise ApplianceError(
            Reason.SYNC_ARTEFACT_INVALID, f"{kind}: content does not match its signed manifest"
        )
    verify_signature(kind, content, body.get("signature"), data_dir)
    return content


def apply_artefact(
    data_dir: Path, kind: str, version: int, content: bytes, line: str
) -> str | None:
    """Install verified content with the appliance's own import rules (raises on refusal);
    what to say of it beyond "applied", if anything."""
    if kind == "watchlist":
        import_watchlist(data_dir, content, line.encode("ascii"))
    elif kind == "policy":
        policy = parse_policy(content)
        guard = signed.VersionGuard(data_dir)
        guard.check(signed.ArtefactKind.POLICY, policy.version)
        path = data_dir / POLICY_FILE
        write_private(signed.signature_path(path), line.encode("ascii"))
        write_private(path, content)
        guard.accept(signed.ArtefactKind.POLICY, policy.version)
    elif kind in ("crl", "masterlist"):
        try:
            with TrustStore(data_dir / TRUST_FILE) as store:
                report = import_file(content, store, f"central {kind} v{version}")
        except LdsError as exc:
            raise ApplianceError(Reason.SYNC_ARTEFACT_INVALID, f"{kind}: {exc}") from exc
        if not report.ok:
            raise ApplianceError(report.reason, f"{kind}: {report.detail}")
    elif kind == "deviations":
        DeviationList.parse(content)  # refused (TRUST_LIST_INVALID) before anything is written
        write_private(data_dir / DEVIATIONS_FILE, content)
    elif kind == "config":
        _, sections = parse_remote(content)
        try:  # the values against the appliance's own bounds, before anything is written
            Config.model_validate(sections)
        except ValidationError as exc:
            detail = f"remote config: {exc.errors()[0]['msg']}"
            raise ApplianceError(Reason.CONFIG_INVALID, detail) from exc
        install_remote(data_dir, content, line.encode("ascii"))
    elif kind == "model":
        header = install_model(data_dir, content, line.encode("ascii"), set(model_names()))
        return f"applied: {header['name']} v{header['version']}, in force at the lane's next start"
    else:  # pragma: no cover - APPLIED_KINDS guards the callers
        raise ApplianceError(Reason.USAGE, f"{kind}: not applied by this build")
    return None


@contextlib.contextmanager
def _storage(kind: str, version: int) -> Iterator[None]:
    """A verified artefact the data directory could not take (a full disk, a file system gone
    read-only, the trust store's database locked or full) is not refused: nothing is wrong
    with it. The round fails as `Transient` and the version is fetched again next time."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        cause = getattr(exc, "strerror", None) or type(exc).__name__
        raise Transient(
            Reason.DATA_DIR_UNAVAILABLE,
            f"{kind} v{version}: not written to the data directory ({cause})",
        ) from exc


class Downlink:
    def __init__(self, data_dir: Path, client: CentralClient, state: SyncState) -> None:
        self.data_dir = data_dir
        self.client = client
        self.state = state

    def _get(self, target: str) -> dict[str, Any]:
        try:
            status, body = self.client.request("GET", target)
        except Unreachable as exc:
            raise Transient(Reason.SYNC_UNREACHABLE, f"central unreachable ({exc})") from exc
        if status != 200:
            reason, detail = refusal(status, body)
            if status >= 500:
                raise Transient(reason, detail)
            raise Refused(reason, detail)
        return body

    def run(self) -> list[Outcome]:
        """Fetch, verify and apply what is new; one outcome per kind offered (a watchlist
        delta before the full list of its version, which is then needed only when the delta
        did not apply to the list in force)."""
        listing = self._get(f"{protocol.API_PREFIX}/artefacts").get("artefacts", [])
        offered: dict[str, int] = {}
        for item in listing if isinstance(listing, list) else []:
            kind, version = str(item.get("kind")), int(item.get("version", 0))
            if kind in APPLIED_KINDS or kind == DELTA_KIND:
                offered[kind] = version
        outcomes = []
        if DELTA_KIND in offered:
            outcome = self._delta(offered.pop(DELTA_KIND))
            outcomes.append(outcome)
            if not outcome.applied and outcome.reason is not Reason.OK:
                offered.pop("watchlist", None)  # refused: the list in force stays this round
        for kind, version in offered.items():
            if kind == "model":
                outcomes.extend(self._models(version))
            else:
                outcomes.append(self._one(kind, version))
        return outcomes

    def _models(self, newest: int) -> list[Outcome]:
        """Every model version above the one in force, in order: each version is one model
        (another name, or a newer one of the same), so none is skipped; a refused one is kept
        in status (until a later model applies) and not fetched again: its signed bytes would
        be refused again."""
        current = self.state.artefacts().get("model", 0)
        refused = int(self.state.status().refused.get("model", {}).get("version", 0))
        start = max(current, refused) + 1
        if newest < start:
            return [self._one("model", newest)] if newest <= current else []
        return [self._one("model", version) for version in range(start, newest + 1)]

    def _refused(self, kind: str, version: int, exc: ApplianceError) -> Outcome:
        status = self.state.status()
        status.refused[kind] = {
            "version": version,
            "reason": exc.reason.value,
            "detail": exc.detail,
        }
        self.state.save_status(status)
        return Outcome(kind, version, False, exc.reason, exc.detail)

    def _applied(
        self, kind: str, version: int, *cleared: str, detail: str | None = None
    ) -> Outcome:
        self.state.save_artefact(kind, version)
        status = self.state.status()
        if [status.refused.pop(k, None) for k in (kind, *cleared)] != [None] * (1 + len(cleared)):
            self.state.save_status(status)
        return Outcome(kind, version, True, Reason.OK, detail or "applied")

    def _not_newer(self, kind: str, version: int, current: int, of: str = "") -> Outcome | None:
        """The outcome of an offer that is not above the version in force (`of` names what
        is in force when it is another kind): nothing to do, or a rollback refused and kept
        in status. None: newer, to be fetched."""
        if version == current:
            return Outcome(kind, version, False, Reason.OK, "already in force")
        if version > current:
            return None
        older = f"{kind}: version {version} is older than {of}{current} in force"
        return self._refused(kind, version, ApplianceError(Reason.SYNC_ARTEFACT_ROLLBACK, older))

    def _delta(self, version: int) -> Outcome:
        """Apply the watchlist delta of `version` on exactly the list in force, or say that
        the full list is needed (a base that is not the list in force is not a refusal)."""
        current = self.state.artefacts().get("watchlist", 0)
        if (not_newer := self._not_newer(DELTA_KIND, version, current, "watchlist ")) is not None:
            return not_newer
        try:
            body = self._get(f"{protocol.API_PREFIX}/artefacts/{DELTA_KIND}/{version}")
            delta = parse_delta(verify_artefact(body, DELTA_KIND, version, self.data_dir))
            base = self._installed_watchlist(current)
            if base is None or delta.base_artefact != current:
                return Outcome(
                    DELTA_KIND, version, False, Reason.OK,
                    f"its base is watchlist v{delta.base_artefact}, in force v{current}:"
                    " the full list is fetched",
                )  # fmt: skip
            if hashlib.sha256(base).hexdigest() != delta.base_sha256:
                return Outcome(
                    DELTA_KIND, version, False, Reason.OK,
                    "the list in force is not the delta's base: the full list is fetched",
                )  # fmt: skip
            result = apply_delta(base, delta)
            with _storage(DELTA_KIND, version):
                import_watchlist(self.data_dir, result, delta.result_signature.encode("ascii"))
        except ApplianceError as exc:
            if isinstance(exc, Refused):
                raise
            return self._refused(DELTA_KIND, version, exc)
        self._applied("watchlist", version, DELTA_KIND)
        return Outcome(DELTA_KIND, version, True, Reason.OK, "applied")

    def _installed_watchlist(self, current: int) -> bytes | None:
        """The bytes of the list in force, when it still verifies (else: fetch the full list)."""
        if current == 0:
            return None
        try:
            load_watchlist(self.data_dir)
            return (self.data_dir / WATCHLIST_FILE).read_bytes()
        except (ApplianceError, OSError):
            return None

    def _one(self, kind: str, version: int) -> Outcome:
        current = self.state.artefacts().get(kind, 0)
        if (not_newer := self._not_newer(kind, version, current)) is not None:
            return not_newer
        try:
            body = self._get(f"{protocol.API_PREFIX}/artefacts/{kind}/{version}")
            content = verify_artefact(body, kind, version, self.data_dir)
            line = str(body["signature"])
            with _storage(kind, version):
                said = apply_artefact(self.data_dir, kind, version, content, line)
        except ApplianceError as exc:
            if isinstance(exc, Refused):
                raise
            return self._refused(kind, version, exc)
        cleared = (DELTA_KIND,) if kind == "watchlist" else ()
        return self._applied(kind, version, *cleared, detail=said)
