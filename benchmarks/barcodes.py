"""Barcode benchmark: decode rate per symbology and degradation, zbar vs zxing-cpp; verification.

    python -m benchmarks.barcodes [--samples N] [--rounds N] [--json]

Symbols are generated and signed under the simulated CSCA (`hardware_mocks.barcode_seals`):
DataMatrix holds an ICAO VDS visa seal (binary), QR a VDS-NC (JSON text) and an EU DCC (HC1
text), PDF417 and Aztec a signed two-leg boarding pass. Each is rendered at 3 to 5 pixels per
module and degraded (rotation, blur, down-scaling, perspective skew, JPEG, low contrast, a
mix), with a seeded jitter per sample. A decode counts only when the decoder returns the exact
payload bytes (`altered`: it found the symbol but returned other bytes, as zbar does with binary
QR content).
`+deskew` is the appliance's decoder (`drivers.barcode.ZxingScanner`: zxing-cpp, and a turned
PDF417 deskewed and read again). Then ms per frame for each decoder, and parse + verification
time per seal kind (warm).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from appliance.barcodes.payload import parse_payload
from appliance.barcodes.verify import TrustContext, verify_symbol
from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.ports import Frame
from drivers.barcode import ZbarScanner, ZxingScanner
from hardware_mocks import barcode_seals as bs


@dataclass(frozen=True)
class Level:
    name: str
    apply: Callable[[np.ndarray, random.Random], np.ndarray]


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    data = bs.encode_image(image, jpeg_quality=quality)
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


LEVELS = (
    Level("clean", lambda im, r: im),
    Level("rotate 5-20°", lambda im, r: bs.degrade(im, rotation_deg=r.uniform(5, 20))),
    Level("rotate 30-60°", lambda im, r: bs.degrade(im, rotation_deg=r.uniform(30, 60))),
    Level("blur σ1.0-1.6", lambda im, r: bs.degrade(im, blur_px=r.uniform(1.0, 1.6))),
    Level("small ×0.35-0.5", lambda im, r: bs.degrade(im, scale=r.uniform(0.35, 0.5))),
    Level("skew 15-30%", lambda im, r: bs.skew(im, r.uniform(0.15, 0.3))),
    Level("JPEG q15-30", lambda im, r: _jpeg(im, r.randint(15, 30))),
    Level("contrast 0.2-0.35", lambda im, r: bs.degrade(im, contrast=r.uniform(0.2, 0.35))),
    Level(
        "mix rot+blur+JPEG",
        lambda im, r: _jpeg(
            bs.degrade(im, rotation_deg=r.uniform(-25, 25), blur_px=r.uniform(0.6, 1.0)),
            r.randint(35, 60),
        ),
    ),
)


def _payloads() -> list[tuple[str, str, bytes]]:
    """(label, symbology, payload): what each symbology carries on travel documents."""
    pki = bs.seal_pki()
    signer = bs.issue_seal_signer(pki, "TS", 0x1A2)
    airline = bs.issue_seal_signer(pki, "AC", 0x4AC)
    bcbp = bs.make_bcbp(airline).encode()
    return [
        ("datamatrix VDS", "datamatrix", bs.make_vds(signer)),
        ("qr VDS-NC", "qrcode", bs.make_vdsnc(signer)),
        ("qr VDS (bin)", "qrcode", bs.make_vds(signer)),
        ("pdf417 BCBP", "pdf417", bcbp),
        ("aztec BCBP", "aztec", bcbp),
    ]


def decode_rates(samples: int) -> tuple[list[dict[str, Any]], dict[str, float]]:
    decoders = {
        "zbar": ZbarScanner(),
        "zxing": ZxingScanner(deskew=False),
        "appliance": ZxingScanner(),  # zxing-cpp plus the PDF417 deskew pass
    }
    rows: list[dict[str, Any]] = []
    times: dict[str, list[float]] = {name: [] for name in decoders}
    for label, symbology, payload in _payloads():
        for level in LEVELS:
            rng = random.Random(f"{label}/{level.name}")
            counts = {name: {"ok": 0, "altered": 0} for name in decoders}
            for _ in range(samples):
                clean = bs.symbol_image(payload, symbology, rng.randint(3, 5))
                frame = Frame(level.apply(clean, rng), 0.0)
                for name, decoder in decoders.items():
                    started = time.perf_counter()
                    found = decoder.decode(frame)
                    times[name].append((time.perf_counter() - started) * 1000)
                    if any(s.payload == payload for s in found):
                        counts[name]["ok"] += 1
                    elif found:
                        counts[name]["altered"] += 1
            row: dict[str, Any] = {"symbol": label, "level": level.name, "samples": samples}
            for name, count in counts.items():
                row[f"{name}_ok"], row[f"{name}_altered"] = count["ok"], count["altered"]
            rows.append(row)
    ms = {name: round(statistics.mean(values), 2) for name, values in times.items()}
    return rows, ms


def verification_times(rounds: int) -> dict[str, float]:
    pki = bs.seal_pki()
    signer = bs.issue_seal_signer(pki, "TS", 0x1A2)
    airline = bs.issue_seal_signer(pki, "AC", 0x4AC)
    store = TrustStore(":memory:")
    import_file(pki.csca_der, store, "csca", anchors=[Certificate.fingerprint_of(pki.csca_der)])
    for s in (signer, airline):
        import_file(s.certificate_der, store, "signer")
    context = TrustContext(store)
    payloads = {
        "icao_vds (visa)": bs.make_vds(signer),
        "vds_nc": bs.make_vdsnc(signer),
        "bcbp (signed)": bs.make_bcbp(airline).encode(),
        "eu_dcc (HC1)": bs.make_hc1(signer).encode(),
    }
    out = {}
    for name, payload in payloads.items():
        verify_symbol(parse_payload(payload), context)  # warm caches
        spent = []
        for _ in range(rounds):
            started = time.perf_counter()
            signature = verify_symbol(parse_payload(payload), context)
            spent.append((time.perf_counter() - started) * 1000)
            assert signature.status.value == "valid", signature
        out[name] = round(statistics.median(spent), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="images per cell")
    parser.add_argument("--rounds", type=int, default=50, help="verifications per seal kind")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows, ms = decode_rates(args.samples)
    verify_ms = verification_times(args.rounds)
    if args.json:
        print(json.dumps({"decode": rows, "ms_per_frame": ms, "verify_ms": verify_ms}))
        return 0
    print(f"decode rate (exact payload), {args.samples} images per cell (alt: found, other bytes)")
    print(f"{'symbol':<15} {'degradation':<20} {'zbar':>12} {'zxing-cpp':>10} {'+deskew':>8}")
    for row in rows:
        n = row["samples"]
        zbar = f"{100 * row['zbar_ok'] / n:.0f}%" + (
            f" ({row['zbar_altered']} alt)" if row["zbar_altered"] else ""
        )
        zxing = f"{100 * row['zxing_ok'] / n:.0f}%"
        ours = f"{100 * row['appliance_ok'] / n:.0f}%"
        print(f"{row['symbol']:<15} {row['level']:<20} {zbar:>12} {zxing:>10} {ours:>8}")
    print(
        f"mean ms per frame: zbar {ms['zbar']}, zxing-cpp {ms['zxing']}, "
        f"zxing-cpp + deskew (the appliance's) {ms['appliance']}"
    )
    print("parse + verify per seal (median ms, warm):")
    for name, value in verify_ms.items():
        print(f"  {name:<18} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
