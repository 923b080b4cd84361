"""Authenticity benchmark: Passive Authentication per signature algorithm, master list import.

    python -m benchmarks.authenticity [--emrtd DIR] [--rounds N] [--json]

Uses the real EF.SODs of DIR/real-sod (9 countries) and the German CSCA master list in DIR
(default: the repository's tests/data/emrtd, sources in tests/data/SOURCES.md). Phases:
1. master list import into a fresh trust store (parse, CMS + signer-chain verification, one
   SQLite transaction), repeated --rounds/10 times;
2. full Passive Authentication of each real EF.SOD against that store (SOD signature, DS -> CSCA
   chain, validity, CRL look-up, LDS checks), warm: the figure an inspection pays per document;
3. the bare SOD signature verification per algorithm/key (the crypto alone), including the
   pure-Python `ecdsa` fallback for curves OpenSSL lacks (brainpoolP320r1, generated key).
Chip/Active Authentication figures are added with those protocols.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from appliance.emrtd.pki.algorithms import Scheme, SignatureAlgorithm
from appliance.emrtd.pki.cms import find_signer_certificate, parse_signed_data, verify_signer
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.passive import passive_authentication
from appliance.emrtd.pki.signatures import describe_key, verify
from appliance.emrtd.pki.trust_store import TrustStore

DEFAULT_EMRTD = Path(__file__).resolve().parents[1] / "tests" / "data" / "emrtd"
AT = datetime(2026, 5, 28, tzinfo=UTC)
#: SHA-256 of the German CSCA (csca-germany, 2024) that issued the DE master list's signer: the
#: anchor an operator pins with `trust import --anchor` after comparing it with the BSI's value
DE_CSCA_SHA256 = "2084aed7a991b3158e63ad750d3dc38bc6c9dcf5958f28d1162f49884e91ada8"


def timed(func: Callable[[], object], rounds: int) -> dict[str, float]:
    """Median and best wall time of `rounds` calls, in milliseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 3), "min_ms": round(min(samples), 3)}


def ecdsa_fallback_case() -> tuple[bytes, SignatureAlgorithm, bytes, bytes]:
    """A brainpoolP320r1 key with explicit parameters: verified by `ecdsa`, not OpenSSL."""
    from asn1crypto import keys
    from ecdsa import SigningKey, curves
    from ecdsa.util import sigencode_der

    curve = curves.BRAINPOOLP320r1
    signer = SigningKey.generate(curve=curve, hashfunc=hashlib.sha256)
    fp, g, size = curve.curve, curve.generator, 40
    domain = keys.SpecifiedECDomain(
        {
            "version": "ecdpVer1",
            "field_id": {"field_type": "prime_field", "parameters": fp.p()},
            "curve": {"a": fp.a().to_bytes(size, "big"), "b": fp.b().to_bytes(size, "big")},
            "base": b"\x04" + g.x().to_bytes(size, "big") + g.y().to_bytes(size, "big"),
            "order": curve.order,
            "cofactor": 1,
        }
    )
    spki = keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="specified", value=domain),
            },
            "public_key": signer.verifying_key.to_string("uncompressed"),
        }
    ).dump()
    message = b"signed attributes"
    return (
        spki,
        SignatureAlgorithm(Scheme.ECDSA, "sha256"),
        signer.sign(message, sigencode=sigencode_der),
        message,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emrtd", type=Path, default=DEFAULT_EMRTD)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    emrtd = args.emrtd
    master_list = (emrtd / "DE_masterlist_2026-05-28.ml").read_bytes()
    sods = sorted((emrtd / "real-sod").glob("*.sod"))
    results: dict[str, object] = {}

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))

        def import_fresh() -> None:
            with TrustStore(Path(tmp) / f"ml-{next(counter)}.sqlite3") as fresh:
                report = import_file(master_list, fresh, "DE.ml", at=AT, anchors=[DE_CSCA_SHA256])
                assert report.ok and report.added == report.total

        results["master_list_import"] = {
            "certificates": 588,
            **timed(import_fresh, max(3, args.rounds // 10)),
        }
        store = TrustStore(Path(tmp) / "store.sqlite3")
        import_file(master_list, store, "DE.ml", at=AT, anchors=[DE_CSCA_SHA256])
        pa: dict[str, object] = {}
        crypto: dict[str, object] = {}
        for path in sods:
            data = path.read_bytes()
            signed = parse_signed_data(data)
            ds = find_signer_certificate(signed)
            assert ds is not None
            label = f"{signed.signer.algorithm.describe()} {describe_key(ds.spki_der)}"
            checks = passive_authentication(data, store, at=AT)
            assert checks[0].status == "pass" and checks[1].status == "pass", checks
            pa[path.stem] = {
                "algorithm": label,
                **timed(lambda d=data: passive_authentication(d, store, at=AT), args.rounds),
            }
            crypto.setdefault(label, timed(lambda s=signed, c=ds: verify_signer(s, c), args.rounds))
        spki, alg, sig, msg = ecdsa_fallback_case()
        assert verify(spki, alg, sig, msg)
        crypto["ecdsa-sha256 EC BRAINPOOLP320r1 (pure-Python ecdsa fallback)"] = timed(
            lambda: verify(spki, alg, sig, msg), max(5, args.rounds // 5)
        )
        store.close()
    results["passive_authentication"] = pa
    results["sod_signature_only"] = crypto
    # Chip genuineness (CA, AA, PACE-IM/CAM) is measured by its own module; one command gives all.
    from benchmarks import chip_genuineness

    rounds = max(3, args.rounds // 2)
    results["chip_authentication_crypto"] = chip_genuineness.ca_crypto(rounds)
    results["active_authentication_verify"] = chip_genuineness.aa_crypto(rounds)
    results["chip_genuineness_in_session"] = chip_genuineness.session_protocols(max(3, rounds // 3))

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    ml = results["master_list_import"]
    assert isinstance(ml, dict)
    median, best = ml["median_ms"], ml["min_ms"]
    print(f"master list import (588 CSCAs): median {median:.0f} ms, best {best:.0f} ms")
    print("\nfull Passive Authentication per EF.SOD (warm store):")
    for country, row in pa.items():
        assert isinstance(row, dict)
        print(f"  {country:3} {row['algorithm']:55} median {row['median_ms']:7.2f} ms")
    print("\nSOD signature verification alone, per algorithm and key:")
    for label, row in crypto.items():
        assert isinstance(row, dict)
        print(f"  {label:70} median {row['median_ms']:7.2f} ms")
    for phase in (
        "chip_authentication_crypto",
        "active_authentication_verify",
        "chip_genuineness_in_session",
    ):
        print(f"\n{phase.replace('_', ' ')}:")
        figures = results[phase]
        assert isinstance(figures, dict)
        for name, values in figures.items():
            extra = f", +{values['extra_apdus']} APDUs" if "extra_apdus" in values else ""
            print(f"  {name:70} median {values['median_ms']:7.2f} ms{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
