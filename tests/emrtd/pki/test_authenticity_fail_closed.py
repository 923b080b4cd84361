"""Property: no combination of missing, skipped or failed mandatory checks is "genuine".

Starts from a genuine chip read through the virtual reader, then lets hypothesis take files
away (EF.SOD, DG1, DG14, DG15, EF.COM, EF.CardSecurity), damage EF.SOD, and choose which chip
genuineness outcomes the session produced (pass, fail, absent; live or a dump). The authenticity
step, and the policy on the whole report, may pass only for an intact, verified EF.SOD covering
DG1, and a chip that proved the key EF.SOD lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.emrtd.document import ChipDocument, read_chip
from appliance.emrtd.pki.checks import Check, CheckName, CheckStatus
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.emrtd.session import CanKey
from appliance.errors import Reason
from appliance.inspection.policy import PolicyConfig, Verdict, decide
from appliance.inspection.report import StepName, StepResult, SubCheck, build_report
from appliance.inspection.steps import Transaction, authenticity
from appliance.mrz import parse_mrz
from hardware_mocks.traveller_sim import StaticMrzScanner
from hardware_mocks.virtual_chip import VirtualCardTransport, make_chip, make_profile
from tests.support import pa_pki
from tests.support.inspection_support import lane

PROFILE = make_profile()
DROPPABLE = ("EF_SOD.bin", "DG1.bin", "DG14.bin", "DG15.bin", "EF_COM.bin", "EF_CardSecurity.bin")
GENUINENESS = (CheckName.CHIP_AUTHENTICATION, CheckName.ACTIVE_AUTHENTICATION)


@cache
def genuine() -> ChipDocument:
    return read_chip(VirtualCardTransport(make_chip(profile=PROFILE)), CanKey("123456"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrustStore]:
    with TrustStore(tmp_path_factory.mktemp("trust") / "trust.sqlite3") as trust:
        for index, der in enumerate((PROFILE.pki.csca_der, PROFILE.pki.crl_der)):
            assert import_file(der, trust, f"t{index}.der", anchors=[pa_pki.pin(der)]).ok
        yield trust


outcome = st.sampled_from([None, CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIPPED])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    dropped=st.sets(st.sampled_from(DROPPABLE)),
    sod_damage=st.sampled_from([None, "truncate", "flip", "empty"]),
    genuineness=st.fixed_dictionaries({n: outcome for n in GENUINENESS}),
    live=st.booleans(),
)
def test_authenticity_passes_only_for_an_intact_signed_and_proven_chip(
    store: TrustStore,
    tmp_path: Path,
    dropped: set[str],
    sod_damage: str | None,
    genuineness: dict[CheckName, CheckStatus | None],
    live: bool,
) -> None:
    base = genuine()
    files = {k: v for k, v in base.files.items() if k not in dropped}
    sod = files.get("EF_SOD.bin")
    if sod is not None and sod_damage == "truncate":
        files["EF_SOD.bin"] = sod[: len(sod) // 2]
    elif sod is not None and sod_damage == "flip":
        files["EF_SOD.bin"] = sod[:-2] + bytes([sod[-2] ^ 1]) + sod[-1:]
    elif sod is not None and sod_damage == "empty":
        files["EF_SOD.bin"] = b""
    checks = [
        Check(name, status, Reason.OK if status is CheckStatus.PASS else Reason.CA_FAILED, "")
        for name, status in genuineness.items()
        if status is not None
    ]
    document = replace(base, files=files, genuineness=checks, access=base.access if live else None)
    tx = Transaction(VirtualCardTransport(make_chip(profile=PROFILE)), StaticMrzScanner(()))
    tx.printed = parse_mrz(list(PROFILE.mrz_lines))
    tx.document = document
    with lane(tmp_path / "lane") as ln:
        ln.trust = store
        out = authenticity(ln, tx)

    intact = "EF_SOD.bin" not in dropped and sod_damage is None and "DG1.bin" not in dropped
    # a genuineness result only ever comes from the chip; `live` decides how its absence reads.
    # It proves something only for a key file EF.SOD vouches for (DG14 for CA, DG15 for AA).
    key_file = {
        CheckName.CHIP_AUTHENTICATION: "DG14.bin",
        CheckName.ACTIVE_AUTHENTICATION: "DG15.bin",
    }
    proven = any(
        s is CheckStatus.PASS and key_file[n] not in dropped for n, s in genuineness.items()
    )
    if out.status is CheckStatus.PASS:
        assert intact and proven, (dropped, sod_damage, genuineness, live)
    if not intact or not proven:
        assert out.status is not CheckStatus.PASS

    # and the policy on a report carrying that step never opens the gate for it
    steps = [
        StepResult(name=n, status=CheckStatus.PASS, reason=Reason.OK, duration_ms=1.0)
        for n in StepName
        if n is not StepName.AUTHENTICITY
    ]
    subs = tuple(
        SubCheck(name=c.name, status=c.status, reason=c.reason, detail=c.detail) for c in out.checks
    )
    steps.append(
        StepResult(
            name=StepName.AUTHENTICITY,
            status=out.status,
            reason=out.reason,
            duration_ms=1.0,
            checks=subs,
        )
    )
    report = build_report(
        steps=steps,
        started_at=datetime(2026, 5, 1, tzinfo=UTC),
        device_id="g",
        location="L",
        mode="egate",
        document=None,
        total_ms=1.0,
    )
    decision = decide(report, PolicyConfig(version=1))
    if not intact or not proven:
        assert decision.verdict is Verdict.REFER


def test_the_genuine_live_chip_passes(store: TrustStore, tmp_path: Path) -> None:
    """The property above is not vacuous: the untouched live read is genuine."""
    tx = Transaction(VirtualCardTransport(make_chip(profile=PROFILE)), StaticMrzScanner(()))
    tx.printed = parse_mrz(list(PROFILE.mrz_lines))
    tx.document = genuine()
    with lane(tmp_path / "lane") as ln:
        ln.trust = store
        out = authenticity(ln, tx)
    assert out.status is CheckStatus.PASS, out
