"""Enrolment with a one-time token, and the signed requests that authenticate a device."""

from __future__ import annotations

import json
import time

from sync import protocol
from sync.central.simdevice import CentralClient, SimulatedDevice
from tests.sync.conftest import CentralServer, central_cli, enrolled, issue_token


def test_token_from_the_cli_enrols_once(shared_central: CentralServer) -> None:
    device = SimulatedDevice(f"cli-enrol-{time.time_ns()}")
    token = central_cli(shared_central.database, "token", "--device", device.device_id)
    token_text = token.stdout.strip()
    client = CentralClient(shared_central.url, device.device_id, device.auth_key)
    status, body = client.enrol(device, token_text)
    assert status == 201, body
    assert body["next_index"] == 0 and body["checkpoint_size"] == 0 and body["witness"] == "ok"
    # the token is spent: a second enrolment with it (say, another key) is refused
    again = SimulatedDevice(device.device_id)
    status, body = CentralClient(shared_central.url, again.device_id, again.auth_key).enrol(
        again, token_text
    )
    assert (status, body["reason"]) == (401, "SYNC_TOKEN_INVALID")
    # and the name cannot be given a new token while it is enrolled
    refused = central_cli(
        shared_central.database, "token", "--device", device.device_id, check=False
    )
    assert refused.returncode == 2 and "already enrolled" in refused.stderr


def test_unknown_token_refused(shared_central: CentralServer) -> None:
    device = SimulatedDevice("nobody")
    client = CentralClient(shared_central.url, device.device_id, device.auth_key)
    status, body = client.enrol(device, "x" * 43)
    assert (status, body["reason"]) == (401, "SYNC_TOKEN_INVALID")


def test_expired_token_refused(shared_central: CentralServer) -> None:
    from datetime import timedelta

    import psycopg

    from sync.central import auth

    device = SimulatedDevice(f"expired-{time.time_ns()}")
    with psycopg.connect(shared_central.database, autocommit=True) as conn:
        token = auth.issue_token(conn, device.device_id, timedelta(seconds=-1))
    client = CentralClient(shared_central.url, device.device_id, device.auth_key)
    status, body = client.enrol(device, token)
    assert (status, body["reason"]) == (401, "SYNC_TOKEN_INVALID")


def test_oversized_body_refused_before_reading(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "oversized")
    target = f"/api/v1/devices/{device.device_id}/batches"
    headers = {"Content-Length": str(protocol.MAX_BODY_BYTES + 1)}
    status, body = client.raw("POST", target, b"", headers)
    assert (status, body["reason"]) == (413, "FILE_TOO_LARGE")


def test_enrolment_binds_the_origin_to_the_device(shared_central: CentralServer) -> None:
    device = SimulatedDevice(f"origin-{time.time_ns()}")
    request = device.enrol_request(issue_token(shared_central.database, device.device_id))
    request["origin"] = "appliance.history/someone-else"
    client = CentralClient(shared_central.url, device.device_id, device.auth_key)
    status, body = client.raw("POST", "/api/v1/devices/enrol", json.dumps(request).encode())
    assert (status, body["reason"]) == (422, "SYNC_BATCH_INVALID")


def test_signed_request_accepted(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "signed")
    status, body = client.cursor()
    assert status == 200 and body["device_id"] == device.device_id


def test_bad_signature_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "badsig")
    target = f"/api/v1/devices/{device.device_id}/cursor"
    headers = protocol.sign_request(device.auth_key, device.device_id, "GET", target)
    # signed by another key
    impostor = SimulatedDevice(device.device_id)
    forged = protocol.sign_request(impostor.auth_key, device.device_id, "GET", target)
    assert client.raw("GET", target, b"", forged)[1]["reason"] == "SYNC_AUTH_FAILED"
    # a signature over another path, or another body, does not carry over
    other = dict(headers, **{protocol.HEADER_NONCE: "fresh-nonce-1"})
    status, body = client.raw("GET", target, b"", other)
    assert (status, body["reason"]) == (401, "SYNC_AUTH_FAILED")
    batch_target = f"/api/v1/devices/{device.device_id}/batches"
    signed = protocol.sign_request(device.auth_key, device.device_id, "POST", batch_target, b"{}")
    status, body = client.raw("POST", batch_target, b'{"events": []}', signed)
    assert (status, body["reason"]) == (401, "SYNC_AUTH_FAILED")
    # unsigned
    status, body = client.raw("GET", target)
    assert (status, body["reason"]) == (401, "SYNC_AUTH_FAILED")


def test_replay_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "replay")
    target = f"/api/v1/devices/{device.device_id}/cursor"
    headers = protocol.sign_request(device.auth_key, device.device_id, "GET", target)
    assert client.raw("GET", target, b"", headers)[0] == 200
    status, body = client.raw("GET", target, b"", headers)
    assert (status, body["reason"]) == (401, "SYNC_REPLAY")
    # a request signed outside the replay window (an old capture, a wrong clock)
    old = time.time() - protocol.REPLAY_WINDOW_S - 60
    status, body = client.signed("GET", target, now=old)
    assert (status, body["reason"]) == (401, "SYNC_REPLAY")


def test_device_uses_only_its_own_log(shared_central: CentralServer) -> None:
    _, client_a = enrolled(shared_central, "own-a")
    b, _ = enrolled(shared_central, "own-b")
    status, body = client_a.signed("GET", f"/api/v1/devices/{b.device_id}/cursor")
    assert (status, body["reason"]) == (401, "SYNC_AUTH_FAILED")


def test_revoked_device_refused(shared_central: CentralServer) -> None:
    device, client = enrolled(shared_central, "revoked")
    device.check(2)
    assert client.send(device.batch(0, 2, 0))[0] == 200
    central_cli(shared_central.database, "revoke", "--device", device.device_id)
    device.check(1)
    status, body = client.send(device.batch(2, 3, 2))
    assert (status, body["reason"]) == (403, "SYNC_DEVICE_REVOKED")
    status, body = client.cursor()
    assert (status, body["reason"]) == (403, "SYNC_DEVICE_REVOKED")
