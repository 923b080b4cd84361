"""A running lane takes the material sync (or a technician) installs, between travellers:
a new signed policy or watchlist is in force for the next traveller without a restart, and
material that does not verify is not taken."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from fastapi.testclient import TestClient

from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from appliance.history import DocumentRef
from appliance.inspection.policy import POLICY_FILE, load_policy, parse_policy
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import build_watchlist, import_watchlist, load_watchlist
from hardware_mocks.sim_authority import AUTHORITY_KEY, DEMO_DIR, _authority_key
from hardware_mocks.sim_lane import SimulatedStation
from tests.support.auth_support import local_client
from tests.support.lane_support import sim_config, wait_ready


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[LaneService]:
    lane = LaneService(sim_config(tmp_path), data_dir)
    yield lane
    assert lane.stop(10)


def traveller(client: TestClient, kind: str = "genuine") -> dict[str, Any]:
    answer = client.post("/api/v1/sim/travellers", json={"kind": kind})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def sign_policy(data_dir: Path, **changes: Any) -> int:
    """The authority signs the installed policy again, one version up, with `changes`."""
    key = _authority_key(data_dir / DEMO_DIR)
    assert (data_dir / DEMO_DIR / AUTHORITY_KEY).exists()
    current = load_policy(data_dir).model_dump(mode="json")
    current.update(changes, version=current["version"] + 1)
    content = tomli_w.dumps(current).encode()
    parse_policy(content)
    sc.write_signed(data_dir / POLICY_FILE, sc.ArtefactKind.POLICY, content, key)
    return int(current["version"])


def test_a_new_policy_and_watchlist_are_in_force_for_the_next_traveller(
    service: LaneService, data_dir: Path
) -> None:
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        first = traveller(client)
        assert first["decision"] == "OPEN", first
        assert service.runtime is not None
        trust = service.runtime.lane.trust

        # the authority stops serving this issuing state at this lane
        sign_policy(data_dir, egate={**load_policy(data_dir).egate.model_dump(mode="json"),
                                     "allowed_issuers": ["ZZZ"]})  # fmt: skip
        refused = traveller(client)
        assert refused["decision"] == "REFER"
        assert "DOCUMENT_TYPE_NOT_ALLOWED" in refused["reasons"], refused
        assert service.runtime.lane.trust is trust  # only the policy changed: only it reloaded

        # ... and serves it again, and lists the next traveller's passport as stolen
        sign_policy(data_dir, egate={**load_policy(data_dir).egate.model_dump(mode="json"),
                                     "allowed_issuers": []})  # fmt: skip
        station = service.runtime.station if service.runtime else None
        assert isinstance(station, SimulatedStation)
        seen = station.traveller(refused["ref"])
        assert seen is not None
        profile = seen.profile
        stolen = DocumentRef(profile.issuing_state, profile.document_number, "P")
        listed = load_watchlist(data_dir)
        content = build_watchlist([(stolen, "stolen")], listed.version + 1,
                                  datetime.now().astimezone())  # fmt: skip
        key = _authority_key(data_dir / DEMO_DIR)
        import_watchlist(data_dir, content, sc.sign(sc.ArtefactKind.WATCHLIST, content, key))
        again = present_again(service, station, seen)
        assert again.result.decision.verdict.value == "REFER"
        assert "WATCHLIST_HIT" in [r.value for r in again.result.decision.reasons]


def present_again(service: LaneService, station: SimulatedStation, seen: Any) -> Any:
    """The same traveller (the same passport) at the lane once more; its check record."""
    ref = station.place(seen)
    deadline = time.monotonic() + 60
    while (record := service.find_ref(ref)) is None:
        assert time.monotonic() < deadline, "no decision"
        time.sleep(0.02)
    return record


def test_material_that_does_not_verify_is_not_taken(service: LaneService, data_dir: Path) -> None:
    """A policy file replaced by hand without the authority's signature: the verified policy
    stays in force (the gate keeps its rules); a tampered watchlist fails the watchlist step
    for the next traveller, as it would at start."""
    with local_client(create_app(service)) as client:
        wait_ready(client, service)
        assert traveller(client)["decision"] == "OPEN"
        policy = load_policy(data_dir)
        loose = policy.model_dump(mode="json")
        loose.update(
            version=policy.version + 1, egate={**loose["egate"], "allowed_issuers": ["ZZZ"]}
        )
        (data_dir / POLICY_FILE).write_bytes(tomli_w.dumps(loose).encode())  # no new signature
        assert traveller(client)["decision"] == "OPEN"  # the verified policy is still in force
        assert service.runtime is not None
        assert service.runtime.lane.policy.version == policy.version

        watchlist = data_dir / "watchlist.json"
        watchlist.write_bytes(watchlist.read_bytes().replace(b'"version"', b'"version" ', 1))
        tampered = traveller(client)
        assert tampered["decision"] == "REFER" and "WATCHLIST_INVALID" in tampered["reasons"]
