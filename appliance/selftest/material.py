"""Self-test of what the decision rests on: model files, trust store and CRLs, signed policy
and watchlist."""

from __future__ import annotations

import time

from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.inspection.lane import load_installed_watchlist
from appliance.inspection.policy import PolicyConfig, load_policy
from appliance.inspection.report import StepName
from appliance.model_overlay import overlay_entry
from appliance.models import (
    file_sha256,
    load_file_session,
    load_session,
    manifest_entry,
    model_names,
)
from appliance.selftest.result import (
    Context,
    PartCheck,
    failed,
    parse_time,
    passed,
    skipped,
    timed,
    warned,
)


def model_checks(ctx: Context) -> list[PartCheck]:
    """Each manifest model: present, SHA-256 as in the manifest (re-read now), loads."""
    try:
        names = model_names(ctx.models)
    except ApplianceError as exc:
        return [failed("models", exc.reason, exc.detail)]
    out: list[PartCheck] = []
    for name in names:
        label = f"model:{name}"
        started = time.perf_counter()
        overlay = _overlay_check(ctx, name, label)
        if overlay is not None:
            out.append(timed(overlay, started))
            continue
        try:
            entry = manifest_entry(name, ctx.models)
            path = ctx.models / entry["file"]
            if not path.is_file():
                check = failed(label, Reason.MODEL_UNAVAILABLE, f"file missing: {entry['file']}")
            elif file_sha256(path) != entry["sha256"]:
                check = failed(label, Reason.MODEL_UNAVAILABLE, f"sha256 differs: {entry['file']}")
            else:
                load_session(name, ctx.models)
                check = passed(label, f"{entry['file']}: sha256 as in the manifest, loads")
        except ApplianceError as exc:
            check = failed(label, exc.reason, exc.detail)
        out.append(timed(check, started))
    return out


def _overlay_check(ctx: Context, name: str, label: str) -> PartCheck | None:
    """A model sync installed in the data directory's overlay (in force instead of the shipped
    one): its signed entry verified against the file now, and it loads; None: not installed."""
    try:
        found = overlay_entry(ctx.directory, name)
        if found is None:
            return None
        directory, entry = found
        load_file_session(directory / entry["file"], entry["sha256"])
    except ApplianceError as exc:
        return failed(label, exc.reason, f"overlay: {exc.detail}")
    return passed(label, f"overlay v{entry['version']}: signed entry verified, loads")


def trust_checks(ctx: Context) -> list[PartCheck]:
    """CSCA count > 0; per issuer, its newest CRL within its nextUpdate (else warn)."""
    path = ctx.directory / TRUST_FILE
    if not path.is_file():
        return [failed("trust_store", Reason.TRUST_STORE_EMPTY, "no trust store in the data dir")]
    with TrustStore(path) as store:
        certificates = list(store.certificates())
        crls = store.newest_crls()
        crl_count = store.counts()[1]
    cas = [c for c in certificates if c.is_ca and c.parse_error is None]
    if not cas:
        return [failed("trust_store", Reason.TRUST_STORE_EMPTY, "no CSCA: nothing can be proven")]
    issuers = sorted({c.subject for c in cas if c.subject})
    valid = [c for c in cas if (end := parse_time(c.not_after)) is None or end >= ctx.now]
    detail = f"{len(cas)} CSCA certificate(s) ({len(valid)} valid now), {crl_count} CRL(s)"
    out = [passed("trust_store", detail)]
    for issuer in issuers:
        newest = crls.get(issuer)
        label = f"crl:{issuer}"
        if newest is None:
            out.append(warned(label, Reason.CRL_MISSING, "no CRL: revocation cannot be checked"))
        elif newest.overdue(ctx.now):
            assert newest.next_update is not None
            detail = f"newest CRL's nextUpdate {newest.next_update.date().isoformat()} has passed"
            out.append(warned(label, Reason.CRL_STALE, detail))
        else:
            until = newest.next_update.date().isoformat() if newest.next_update else "no nextUpdate"
            out.append(passed(label, f"newest CRL current (next update {until})"))
    return out


def policy_check(ctx: Context) -> tuple[PartCheck, PolicyConfig | None]:
    try:
        policy = load_policy(ctx.directory)
    except ApplianceError as exc:
        return failed("policy", exc.reason, exc.detail), None
    mode = policy.mode(ctx.config.device.mode)
    detail = (
        f"'{policy.name}' v{policy.version}, signature valid; {ctx.config.device.mode} mode "
        f"requires {len(mode.required_steps)} steps"
    )
    return passed("policy", detail), policy


def watchlist_check(ctx: Context, policy: PolicyConfig | None) -> PartCheck:
    """Signed, not rolled back, not dated in the future, within the policy's maximum age."""
    rules = policy or PolicyConfig(version=1)
    required = StepName.WATCHLIST in rules.mode(ctx.config.device.mode).required_steps
    watchlist, error = load_installed_watchlist(ctx.directory)
    if error is not None:
        return failed("watchlist", error.reason, error.detail)
    if watchlist is None:
        if required:
            return failed("watchlist", Reason.WATCHLIST_MISSING, "none installed; policy needs one")
        return skipped("watchlist", "none installed (the policy does not require one)")
    if watchlist.issued_in_future(ctx.now):
        return failed("watchlist", Reason.WATCHLIST_INVALID, "issued in the future (clock?)")
    age_h = watchlist.age(ctx.now).total_seconds() / 3600
    limit = rules.watchlist_max_age_h
    detail = f"v{watchlist.version}, {len(watchlist)} entries, {age_h:.1f} h old (max {limit:g} h)"
    if age_h > limit:
        return failed("watchlist", Reason.WATCHLIST_STALE, detail)
    return passed("watchlist", detail)
