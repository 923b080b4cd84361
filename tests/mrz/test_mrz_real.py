"""The real-image MRZ benchmark: its transcribed ground truth agrees with the printed check
digits, altered downloads never reach the cache, and our reader reads every fetched specimen as
printed (`scripts/setup.sh test` fetches the PyPI-hosted ones; skipped when offline)."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.mrz import parse_mrz
from benchmarks import mrz_real_fetch
from benchmarks.mrz_real import ORIENTATIONS, TRUTHS, load, oriented
from benchmarks.mrz_real_fetch import DEFAULT_CACHE, XMRZAPP, Image, unpack_images
from benchmarks.pinned import PinMismatch, sha256


def test_ground_truth_check_digits_are_as_noted() -> None:
    for truth in TRUTHS:
        if truth.lines is None:
            continue
        result = parse_mrz(list(truth.lines))
        assert result.valid is truth.checksums_valid, truth.image
    eolie = next(t for t in TRUTHS if t.image == "eolie_specimen_page")
    assert eolie.lines is not None
    failed = {e.field for e in parse_mrz(list(eolie.lines)).errors}
    assert failed == {"document_number", "composite"}  # misprinted on the specimen itself


def _tarball(path: Path, member: str, payload: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return path


def test_a_tarball_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    fake = _tarball(tmp_path / XMRZAPP.tarball, "xmrzapp-25.10.9/examples/example.jpg", b"x")
    cache = tmp_path / "cache"
    with pytest.raises(PinMismatch):
        unpack_images(XMRZAPP, fake, cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_an_altered_image_never_lands_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = "pkg/examples/passport.jpg"
    fake = _tarball(tmp_path / "pkg.tar.gz", member, b"not the pinned image")
    package = replace(XMRZAPP, sha256=sha256(fake))
    monkeypatch.setattr(mrz_real_fetch, "IMAGES", (Image("p", package, member, "0" * 64),))
    cache = tmp_path / "cache"
    with pytest.raises(PinMismatch):
        unpack_images(package, fake, cache)
    assert list(cache.iterdir()) == []


def _cached_images() -> dict[str, Path]:
    paths = mrz_real_fetch.available(DEFAULT_CACHE)
    if not any(t.image in paths and t.lines is not None for t in TRUTHS):
        pytest.skip("pinned real MRZ images not fetched (python -m benchmarks.mrz_real_fetch)")
    return paths


def test_reader_reads_real_specimens_as_printed_either_way_up() -> None:
    from appliance.mrz.ocr.reader import MrzImageReader

    paths = _cached_images()
    reader = MrzImageReader(threads=1)
    for truth in (t for t in TRUTHS if t.image in paths):
        image = load(paths[truth.image])
        for orientation in ORIENTATIONS:
            result = reader.read(oriented(image, orientation))
            where = f"{truth.image} {orientation}"
            if truth.lines is None:
                assert result.lines is None, where
            elif truth.checksums_valid:
                assert result.lines == list(truth.lines), where
                # exact, as the benchmark counts it: passed, or warned only for a character
                # the model was unsure of (glyph model 1.2.0 is unsure of one digit of the
                # Icelandic photo's document number at 0 and 270 degrees; 1.1.0 passed it)
                assert result.status in ("pass", "warn"), where
                assert set(result.flags) <= {"low_confidence"}, where
            else:  # misprinted check digits: the print as it is, or nothing; never "fixed"
                assert result.status == "fail", where
                assert result.lines in (None, list(truth.lines)), where
