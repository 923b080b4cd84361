"""Offline watchlist: keyed hashes only, imported from a signed file, refused when tampered,
rolled back or malformed; lookups normalise the document the way ICAO prints it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.errors import ApplianceError, Reason
from appliance.history import DocumentRef
from appliance.inspection.policy import PolicyConfig, Verdict
from appliance.inspection.report import StepName
from appliance.inspection.steps import STEPS
from appliance.inspection.workflow import CheckSession, DeviceInfo
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import (
    CLOCK_SKEW,
    WATCHLIST_FILE,
    build_watchlist,
    import_watchlist,
    load_watchlist,
    parse_watchlist,
)
from hardware_mocks.virtual_chip import make_profile
from tests.support.inspection_support import AUTHORITY, install_authority, lane, transaction

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
STOLEN = DocumentRef("UTO", "L898902C3", "P")
LOST = DocumentRef("D", "C01X00T47", "P")


def publish(version: int = 1, key: bytes | None = None) -> bytes:
    return build_watchlist([(STOLEN, "stolen"), (LOST, "lost")], version, NOW, key)


def signed(content: bytes) -> bytes:
    return sc.sign(sc.ArtefactKind.WATCHLIST, content, AUTHORITY)


def test_import_then_lookup(tmp_path: Path) -> None:
    install_authority(tmp_path)
    content = publish()
    imported = import_watchlist(tmp_path, content, signed(content))
    loaded = load_watchlist(tmp_path)
    assert len(loaded) == len(imported) == 2
    assert loaded.lookup(STOLEN) == "stolen"
    assert loaded.lookup(LOST) == "lost"
    assert loaded.lookup(DocumentRef("UTO", "L898902C4", "P")) is None
    assert loaded.lookup(DocumentRef("UTO", "L898902C3", "I")) is None  # another document type
    # as the MRZ prints it: lower case and filler characters do not matter
    assert loaded.lookup(DocumentRef("uto", "L898902C3<", "PD")) == "stolen"
    assert loaded.age(NOW) == NOW - NOW


def test_file_never_holds_clear_numbers() -> None:
    content = publish()
    assert b"L898902C3" not in content and b"C01X00T47" not in content
    assert json.loads(content)["hash"] == "HMAC-SHA256"


def test_each_list_key_gives_other_hashes() -> None:
    first = parse_watchlist(publish(key=b"k" * 32))
    second = parse_watchlist(publish(key=b"m" * 32))
    assert set(first.entries).isdisjoint(second.entries)
    assert first.lookup(STOLEN) == second.lookup(STOLEN) == "stolen"


def test_tampered_list_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    install_authority(tmp_path)
    content = publish()
    body = json.loads(content)
    body["entries"] = body["entries"][:1]  # someone removes an entry
    forged = json.dumps(body).encode()
    with pytest.raises(ApplianceError) as info:
        import_watchlist(tmp_path, forged, signed(content))
    assert info.value.reason is Reason.WATCHLIST_INVALID
    assert not (tmp_path / WATCHLIST_FILE).exists()


def test_edit_on_disk_after_import_is_caught_at_load(tmp_path: Path) -> None:
    install_authority(tmp_path)
    content = publish()
    import_watchlist(tmp_path, content, signed(content))
    (tmp_path / WATCHLIST_FILE).write_bytes(content.replace(b'"stolen"', b'"lost"'))
    with pytest.raises(ApplianceError) as info:
        load_watchlist(tmp_path)
    assert info.value.reason is Reason.WATCHLIST_INVALID


def test_unsigned_list_is_refused(tmp_path: Path) -> None:
    install_authority(tmp_path)
    with pytest.raises(ApplianceError) as info:
        import_watchlist(tmp_path, publish(), None)
    assert info.value.reason is Reason.WATCHLIST_INVALID


def test_older_list_cannot_replace_a_newer_one(tmp_path: Path) -> None:
    install_authority(tmp_path)
    newer, older = publish(5), publish(4)
    import_watchlist(tmp_path, newer, signed(newer))
    with pytest.raises(ApplianceError) as info:
        import_watchlist(tmp_path, older, signed(older))
    assert info.value.reason is Reason.WATCHLIST_INVALID
    assert load_watchlist(tmp_path).version == 5


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(format="other"),
        lambda b: b.update(version=0),
        lambda b: b.update(version=True),
        lambda b: b.update(issued_at="2026-05-01T08:00:00"),  # no time zone
        lambda b: b.update(key="!!"),
        lambda b: b.update(key="AAAA"),  # too short
        lambda b: b["entries"].append({"h": "zz", "category": "stolen"}),
        lambda b: b["entries"].append({"h": "a" * 64, "category": "found"}),
        lambda b: b.pop("entries"),
    ],
)
def test_signed_but_malformed_list_is_invalid(tmp_path: Path, mutate: object) -> None:
    install_authority(tmp_path)
    body = json.loads(publish())
    mutate(body)  # type: ignore[operator]
    content = json.dumps(body).encode()
    with pytest.raises(ApplianceError) as info:
        import_watchlist(tmp_path, content, signed(content))
    assert info.value.reason is Reason.WATCHLIST_INVALID


@pytest.mark.parametrize("content", [b"", b"[]", b"{", b"\xff", b'{"format": 1}'])
def test_garbage_is_invalid_never_another_exception(content: bytes) -> None:
    with pytest.raises(ApplianceError) as info:
        parse_watchlist(content)
    assert info.value.reason is Reason.WATCHLIST_INVALID


def test_list_dated_in_the_future_is_refused_at_import(tmp_path: Path) -> None:
    """A list dated ahead of the device clock would never grow stale: it is invalid."""
    install_authority(tmp_path)
    content = publish()
    earlier = NOW - CLOCK_SKEW - timedelta(seconds=1)
    with pytest.raises(ApplianceError) as info:
        import_watchlist(tmp_path, content, signed(content), now=earlier)
    assert info.value.reason is Reason.WATCHLIST_INVALID
    assert not (tmp_path / WATCHLIST_FILE).exists()
    # within the allowed clock skew it is accepted
    within = NOW - CLOCK_SKEW + timedelta(seconds=1)
    assert import_watchlist(tmp_path, content, signed(content), now=within).version == 1


def test_lane_refers_when_its_list_is_dated_in_the_future(tmp_path: Path) -> None:
    """A list installed while the clock was ahead (or set back since) fails the step."""
    future = datetime.now(UTC) + timedelta(days=365)
    listed = parse_watchlist(build_watchlist([(STOLEN, "stolen")], 1, future))
    policy = PolicyConfig(version=1)
    egate = policy.egate.model_copy(
        update={
            "required_steps": tuple(
                n
                for n, _ in STEPS
                if n
                not in (
                    StepName.BIOMETRICS,
                    StepName.GATE_SENSORS,
                    StepName.SEAL,
                    StepName.IRIS,
                    StepName.MORPH,
                )
            )
        }
    )
    policy = PolicyConfig(version=1, egate=egate)
    with lane(tmp_path, policy, watchlist=listed) as ln:
        result = CheckSession(ln, DeviceInfo("gate-t", "TEST")).run(transaction(make_profile(11)))
    assert result.decision.verdict is Verdict.REFER
    assert result.decision.reasons == (Reason.WATCHLIST_INVALID,)
    step = result.report.step(StepName.WATCHLIST)
    assert step is not None and "future" in step.detail
