"""Chip genuineness benchmark: Chip Authentication, Active Authentication, PACE-IM, PACE-CAM.

    python -m benchmarks.chip_genuineness [--rounds N] [--json]

Phases, each the median (and best) wall time over --rounds runs on this machine's CPU:
1. terminal-side crypto alone: CA key generation + agreement + KDF per group (brainpoolP256r1,
   NIST P-256, 2048-bit MODP), AA signature verification (RSA-1024/2048 ISO 9796-2, ECDSA
   brainpoolP256r1 plain), the PACE-IM mapping (point encoding / DH exponentiation) and the
   PACE-CAM check CA_IC * PK_IC;
2. the whole protocol against the in-process virtual chip, inside a real session (SM, APDUs,
   the chip's side of the arithmetic): Chip Authentication with its proof read, and Active
   Authentication (EC and RSA-2048 chips), reported with the APDUs each one adds; and PACE
   per mapping (GM, IM, CAM).
The card side is simulated in the same process, so phase 2 is an upper bound of the
terminal's share and a lower bound of a real chip's latency (no air interface).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from appliance.emrtd.chip.active_auth import verify_signature
from appliance.emrtd.chip.ca_keys import ChipKey
from appliance.emrtd.chip.chip_auth import CaSuite, ChipAuthentication
from appliance.emrtd.lds import dg15
from appliance.emrtd.lds.security_infos import ID_AA, ActiveAuthenticationInfo
from appliance.emrtd.protocol.crypto import CipherKind
from appliance.emrtd.protocol.domain_parameters import standard_group
from appliance.emrtd.protocol.pace_im import map_nonces
from appliance.emrtd.session import ChipSession, MrzKey, ReaderOptions
from hardware_mocks.virtual_chip import PaceOption, VirtualCardTransport, VirtualChip, make_profile
from hardware_mocks.virtual_chip.card_auth import active_authentication_signature


def timed(func: Callable[[], object], rounds: int) -> dict[str, float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 3), "min_ms": round(min(samples), 3)}


def ca_crypto(rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, parameter_id in (("ECDH brainpoolP256r1", 13), ("ECDH NIST P-256", 12),
                               ("DH 2048/256", 2)):  # fmt: skip
        group = standard_group(parameter_id)
        chip_public = group.multiply(0x1234567890ABCDEF, group.generator)
        suite = CaSuite("0.4.0.127.0.7.2.2.3.2.2", CipherKind.AES128, ChipKey(group, chip_public))
        out[name] = timed(lambda suite=suite: ChipAuthentication(suite, os.urandom), rounds)
    return out


def _dg15_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> dg15.Dg15:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return dg15.parse_public_key_info(spki)


def aa_crypto(rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    challenge = os.urandom(8)
    for bits in (1024, 2048):
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        signature = active_authentication_signature(key, challenge, os.urandom)
        model = _dg15_of(key)
        assert verify_signature(model, None, challenge, signature)
        out[f"RSA-{bits} ISO 9796-2"] = timed(
            lambda m=model, s=signature: verify_signature(m, None, challenge, s), rounds
        )
    ec_key = ec.generate_private_key(ec.BrainpoolP256R1())
    signature = active_authentication_signature(ec_key, challenge, os.urandom)
    info = ActiveAuthenticationInfo(ID_AA, 1, "0.4.0.127.0.7.1.1.4.1.3")
    model = _dg15_of(ec_key)
    assert verify_signature(model, info, challenge, signature)
    out["ECDSA brainpoolP256r1 plain"] = timed(
        lambda: verify_signature(model, info, challenge, signature), rounds
    )
    return out


def pace_im_crypto(rounds: int) -> dict[str, Any]:
    s, t = os.urandom(16), os.urandom(16)
    return {
        "ECDH brainpoolP256r1 mapping": timed(
            lambda: map_nonces(standard_group(13), s, t, CipherKind.AES128), rounds
        ),
        "DH 1024/160 mapping": timed(
            lambda: map_nonces(standard_group(0), s, t, CipherKind.AES128), rounds
        ),
    }


def cam_crypto(rounds: int) -> dict[str, Any]:
    group = standard_group(13)
    chip_public = group.multiply(0xC0FFEE, group.generator)
    return {
        "CA_IC * PK_IC (brainpoolP256r1)": timed(
            lambda: group.encode(group.multiply(0x123456789ABCDEF, chip_public)), rounds
        )
    }


def session_protocols(rounds: int) -> dict[str, Any]:
    """Genuineness inside a whole read against the in-process virtual chip."""
    out: dict[str, Any] = {}
    cases = {
        "Chip Authentication (ECDH brainpoolP256r1, AES-128)": make_profile(),
        "Active Authentication (ECDSA brainpoolP256r1)": make_profile(chip_authentication=False),
        "Active Authentication (RSA-2048 ISO 9796-2)": make_profile(
            chip_authentication=False, active_authentication="rsa"
        ),
    }
    for name, profile in cases.items():
        key = MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)
        samples, apdus = [], 0
        for _ in range(rounds):
            with_auth = ChipSession(VirtualCardTransport(VirtualChip(profile)), key)
            with_auth.open()
            with_auth.read_all()
            samples.append(with_auth.timings_ms["chip_genuineness"])
            without = ChipSession(
                VirtualCardTransport(VirtualChip(profile)),
                key,
                ReaderOptions(authenticate_chip=False),
            )
            without.open()
            without.read_all()
            apdus = with_auth.apdus - without.apdus
            assert all(c.status.value != "fail" for c in with_auth.genuineness)
        out[name] = {
            "median_ms": round(statistics.median(samples), 3),
            "min_ms": round(min(samples), 3),
            "extra_apdus": apdus,
        }
    return out


def pace_sessions(rounds: int) -> dict[str, Any]:
    """PACE itself per mapping (ECDH brainpoolP256r1, AES-128) against the virtual chip."""
    out: dict[str, Any] = {}
    for mapping in ("GM", "IM", "CAM"):
        profile = make_profile(pace_options=(PaceOption.mapped(mapping),))
        key = MrzKey(profile.document_number, profile.date_of_birth, profile.date_of_expiry)
        samples = []
        for _ in range(rounds):
            session = ChipSession(VirtualCardTransport(VirtualChip(profile)), key)
            session.open()
            assert session.access is not None and session.access.mapping == mapping
            samples.append(session.timings_ms["pace"])
        out[f"PACE-{mapping} (both sides, in process)"] = {
            "median_ms": round(statistics.median(samples), 3),
            "min_ms": round(min(samples), 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rounds = max(3, args.rounds)
    report = {
        "chip_authentication_crypto": ca_crypto(rounds),
        "active_authentication_verify": aa_crypto(rounds),
        "pace_im_mapping": pace_im_crypto(rounds),
        "pace_cam_check": cam_crypto(rounds),
        "in_session_virtual_chip": session_protocols(max(3, rounds // 3)),
        "pace_virtual_chip": pace_sessions(max(3, rounds // 3)),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for phase, figures in report.items():
        print(phase)
        for name, values in figures.items():
            extra = f", +{values['extra_apdus']} APDUs" if "extra_apdus" in values else ""
            print(f"  {name:55s} median {values['median_ms']:8.3f} ms"
                  f"  best {values['min_ms']:8.3f} ms{extra}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
