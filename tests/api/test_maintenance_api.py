"""The technician's API (#15 item 4): overview, gate test cycle (lane out of service while it
runs, back after), models, trust material, logs, imports with the CLI's checks (recorded in the
history), and a diagnostics bundle that holds no traveller data."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.api.app import create_app
from appliance.api.lane_service import LaneService
from appliance.api.maintenance_routes import trust_summary
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import build_watchlist
from hardware_mocks.sim_authority import _authority_key
from tests.support.auth_support import REMOTE, local_client, log_in
from tests.support.lane_support import sim_config, wait_ready

A = "/api/v1"


@pytest.fixture
def service(data_dir: Path, tmp_path: Path) -> Iterator[LaneService]:
    lane = LaneService(sim_config(tmp_path), data_dir)
    yield lane
    assert lane.stop(10)


def test_maintenance_routes_and_the_bundle(service: LaneService) -> None:
    app = create_app(service)
    with local_client(app) as local:
        deadline = time.monotonic() + 30
        wait_ready(local, service)
        log_in(local, service.directory, "officer")
        refs = [
            local.post(f"{A}/sim/travellers", json={"kind": kind}).json()["ref"]
            for kind in ("genuine", "forged_dg", "watchlisted")
        ]
        hook = service.simulation
        assert hook is not None
        profiles = [hook.traveller(ref).profile for ref in refs]  # type: ignore[union-attr]

        tech = local_client(app, REMOTE)
        log_in(tech, service.directory, "technician")
        overview = tech.get(f"{A}/maintenance/overview").json()
        assert overview["lane"]["state"] in ("ready", "remove_document") and overview["simulated"]
        assert overview["uptime_s"] > 0 and overview["disk"]["free_bytes"] > 0
        models = tech.get(f"{A}/maintenance/models").json()["models"]
        assert models and all(len(m["sha256"]) == 64 and m["present"] for m in models)
        assert {m["origin"] for m in models} == {"shipped"}
        trust = tech.get(f"{A}/maintenance/trust").json()
        assert sum(trust["csca_per_country"].values()) >= 1
        assert trust["crls"] and trust["crls"][0]["next_update"] and not trust["crl_overdue"]
        assert trust["watchlist"]["version"] >= 1 and trust["policy"]["version"] >= 1
        assert trust["watchlist"]["age_h"] >= 0 and trust["policy"]["age_h"] >= 0
        assert isinstance(trust["master_lists"], list)
        # the alarm: once a CRL is past its nextUpdate, the page is told so
        later = trust_summary(service.directory, datetime(2100, 1, 1, tzinfo=UTC))
        assert later["crl_overdue"] and all(c["overdue"] for c in later["crls"])

        since = service.events.last_seq
        cycle = tech.post(f"{A}/maintenance/gate-test")
        assert cycle.status_code == 200, cycle.text
        assert cycle.json() == {
            "status": "pass",
            "steps": [{"action": "open", "gate": "open"}, {"action": "close", "gate": "closed"}],
        }
        states = [e.data.get("state") for e in service.events.since(since)]
        assert "out_of_service" in states, "the lane is out of service while the gate cycles"
        while tech.get(f"{A}/lane").json()["state"] != "ready":
            assert time.monotonic() < deadline + 30
            time.sleep(0.05)

        logs = tech.get(f"{A}/maintenance/logs?level=WARNING&contains=maintenance").json()
        assert logs["lines"] and all("maintenance" in json.dumps(x).lower() for x in logs["lines"])
        assert not tech.get(f"{A}/maintenance/logs?level=ERROR&contains=maintenance").json()[
            "lines"
        ]

        material = hook.source.trust_material()  # type: ignore[attr-defined]
        crl = {"kind": "trust", "content_b64": base64.b64encode(material[-1]).decode(),
               "filename": "issuer.crl"}  # fmt: skip
        imported = tech.post(f"{A}/maintenance/import", json=crl)
        assert imported.status_code == 200 and imported.json()["status"] == "pass", imported.text
        junk = {"kind": "trust", "content_b64": base64.b64encode(b"not a CRL" * 20).decode()}
        refused = tech.post(f"{A}/maintenance/import", json=junk)
        assert refused.status_code >= 400 and refused.json()["reason"] != "OK"
        unsigned = {"kind": "watchlist", "content_b64": base64.b64encode(b"{}").decode()}
        refused = tech.post(f"{A}/maintenance/import", json=unsigned)
        assert refused.status_code >= 400 and refused.json()["reason"].startswith("WATCHLIST")
        # signed by the authority, but older than the installed one: refused (anti-rollback)
        key = _authority_key(service.directory / "demo")
        version = trust["watchlist"]["version"]

        def signed_watchlist(number: int) -> dict[str, str]:
            content = build_watchlist([], number, datetime.now(UTC))
            signature = sc.sign(sc.ArtefactKind.WATCHLIST, content, key)
            return {"kind": "watchlist", "content_b64": base64.b64encode(content).decode(),
                    "signature_b64": base64.b64encode(signature).decode()}  # fmt: skip

        newer = tech.post(f"{A}/maintenance/import", json=signed_watchlist(version + 2))
        assert newer.status_code == 200 and newer.json()["version"] == version + 2, newer.text
        older = tech.post(f"{A}/maintenance/import", json=signed_watchlist(version + 1))
        assert older.status_code >= 400 and "older" in older.json()["detail"], older.text
        policy = {"kind": "policy", "content_b64": base64.b64encode(b"version = 99").decode()}
        refused = tech.post(f"{A}/maintenance/import", json=policy)
        assert refused.status_code >= 400 and refused.json()["reason"].startswith("POLICY")

        bundle = tech.get(f"{A}/maintenance/bundle")
        assert bundle.status_code == 200
        assert bundle.headers["content-type"] == "application/gzip"
        with tarfile.open(fileobj=io.BytesIO(bundle.content), mode="r:gz") as tar:
            names = sorted(m.name for m in tar.getmembers())
            contents = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]
        assert names == [
            f"diagnostics/{n}"
            for n in ("config.json", "logs.jsonl", "overview.json", "selftest.json", "trust.json")
        ]
        assert json.loads(contents["diagnostics/selftest.json"])["checks"]
        said = "\n".join(contents.values())
        for profile in profiles:
            for value in (profile.document_number, profile.surname, profile.given_names,
                          profile.date_of_birth, profile.mrz_lines[-1]):  # fmt: skip
                assert value not in said
    changes = [
        (v.leaf.outcome, v.leaf.public.get("change"), v.leaf.public.get("status"))
        for v in service.history.recent(30)  # type: ignore[union-attr]
        if v.leaf.type == "officer_action"
    ]
    assert ("config_change", "import:crl", "pass") in changes or any(
        c[0] == "config_change" and c[2] == "pass" for c in changes
    )
    assert sum(1 for c in changes if c[0] == "config_change" and c[2] == "fail") == 4
    assert any(c[0] == "gate_test" for c in changes)


def test_models_sent_through_sync_show_as_such_and_a_broken_one_as_refused(
    service: LaneService,
) -> None:
    """The technician sees which models are in force: a model the authority sent (the sync
    overlay) replaces the shipped one in the list, and one that no longer verifies is shown
    refused, not silently as the shipped one."""
    from appliance import model_overlay, models

    name = "mrz_glyphs"
    shipped = models.manifest_entry(name, models.models_dir())
    content = model_overlay.build_package(
        {**shipped, "name": name, "version": 2},
        (models.models_dir() / shipped["file"]).read_bytes(),
    )
    app = create_app(service)
    try:
        with local_client(app) as local:
            wait_ready(local, service)
            key = _authority_key(service.directory / "demo")  # made with the simulated lane
            signature = sc.sign(sc.ArtefactKind.MODEL, content, key)
            model_overlay.install_model(service.directory, content, signature, {name})
            models.use_overlay(service.directory)
            tech = local_client(app, REMOTE)
            log_in(tech, service.directory, "technician")
            listed = {m["name"]: m for m in tech.get(f"{A}/maintenance/models").json()["models"]}
            assert (listed[name]["origin"], listed[name]["version"]) == ("sync", 2)
            assert listed[name]["file"] == "mrz_glyphs-v2.onnx" and listed[name]["present"]
            assert {m["origin"] for n, m in listed.items() if n != name} == {"shipped"}
            model = service.directory / "models" / "mrz_glyphs-v2.onnx"
            model.write_bytes(model.read_bytes() + b"\0")
            listed = {m["name"]: m for m in tech.get(f"{A}/maintenance/models").json()["models"]}
            assert listed[name] == {"name": name, "origin": "sync", "reason": "MODEL_UNAVAILABLE"}
    finally:
        models.use_overlay(None)
        model_overlay._cache.clear()
