"""CPU cost of parsing every LDS file of a typical chip, and of decoding its face image.

Run: .venv/bin/python benchmarks/lds_parse.py  (real SOD / CardSecurity / photo from tests/data)
Prints microseconds per parse for each file: the parsers' share of the chip-read budget.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.emrtd.lds import com, dg1, dg2, dg11, dg12, dg14, dg15, parse_file
from appliance.emrtd.lds import security_infos as si

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"  # sources: tests/data/SOURCES.md
REAL = DATA / "emrtd" / "real-sod"


def _portrait(size: int) -> bytes:
    """A real face re-encoded to about `size` bytes, like a chip's 15-25 KB DG2 image."""
    source = (DATA / "faces" / "person01" / "img1.jpg").read_bytes()
    image = cv2.imdecode(np.frombuffer(source, np.uint8), cv2.IMREAD_COLOR)
    image = cv2.resize(image, (480, 640), interpolation=cv2.INTER_AREA)
    for quality in range(95, 5, -5):
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(data) <= size:
            return bytes(data)
    raise RuntimeError("could not reach the target size")


def _files() -> dict[str, bytes]:
    infos = si.SecurityInfos((si.PaceInfo("0.4.0.127.0.7.2.2.4.2.2", 2, 13),))
    key = ec.generate_private_key(ec.BrainpoolP256R1()).public_key()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    mrz = (
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    )
    return {
        "EF_CardAccess.bin": si.encode(infos),
        "EF_CardSecurity.bin": (REAL / "DE.cardsecurity").read_bytes(),
        "EF_COM.bin": com.encode(com.EfCom("0108", "040000", (1, 2, 11, 12, 14, 15))),
        "EF_SOD.bin": (REAL / "DE.sod").read_bytes(),
        "DG1.bin": dg1.encode_lines(mrz),
        "DG2.bin": dg2.encode(dg2.for_image(_portrait(20_000))),
        "DG11.bin": dg11.encode(dg11.Dg11(full_name="ERIKSSON<<ANNA<MARIA", title="DR")),
        "DG12.bin": dg12.encode(dg12.Dg12("UTOPIA PASSPORT OFFICE", "20240115")),
        "DG14.bin": (dg14.encode(dg14.Dg14(si.SecurityInfos((*infos.infos,))))),
        "DG15.bin": dg15.encode(dg15.Dg15(spki, "ec", "brainpoolp256r1")),
    }


def _per_call_us(call: object, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        call()  # type: ignore[operator]
    return (time.process_time() - start) / repeat * 1e6


def main() -> None:
    files = _files()
    total = 0.0
    print(f"{'file':<22}{'bytes':>8}{'parse us':>12}")
    for name, data in files.items():
        cost = _per_call_us(lambda name=name, data=data: parse_file(name, data), 300)
        total += cost
        print(f"{name:<22}{len(data):>8}{cost:>12.1f}")
    print(f"{'all files':<22}{sum(map(len, files.values())):>8}{total:>12.1f}")
    face = dg2.parse(files["DG2.bin"]).face
    print(f"DG2 face decode (OpenCV, {face.format}): {_per_call_us(face.decode, 50) / 1000:.2f} ms")


if __name__ == "__main__":
    main()
