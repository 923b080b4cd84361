"""The product wheel holds the product, `appliance`, `drivers` and `sync` without the central
service (`sync.central`): all of it and nothing else.

A device installs this wheel (scripts/install.sh); the simulated hardware, benchmarks, training
and tests stay in the repository. The wheel is built here with the pinned backend from a copy of
the repository, so a subpackage that the package finder misses (a folder without
`__init__.py`) or a mock that slips into the wheel fails this test, not a device in the field.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("appliance", "drivers", "sync")
#: what stays in the repository although its top-level package ships
NOT_SHIPPED = ("sync/central/",)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("appliance", "drivers", "hardware_mocks", "benchmarks", "sync", "tests"):
        if (ROOT / folder).is_dir():
            ignore = IGNORED if folder != "tests" else shutil.ignore_patterns("*")
            shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip_wheel, "--wheel-dir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (built,) = out.glob("border_appliance-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_only_the_product_packages(wheel_names: set[str]) -> None:
    top = {name.split("/", 1)[0] for name in wheel_names}
    packages = {name for name in top if not name.endswith(".dist-info")}
    assert packages == set(PRODUCT)


def test_every_product_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    modules = {
        path.relative_to(ROOT).as_posix()
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
        and not path.relative_to(ROOT).as_posix().startswith(NOT_SHIPPED)
    }
    assert modules, "no product modules found"
    assert sorted(modules - wheel_names) == []


def test_the_central_service_stays_out_of_the_wheel(wheel_names: set[str]) -> None:
    assert "sync/protocol.py" in wheel_names
    assert "sync/device/__init__.py" in wheel_names
    assert [name for name in wheel_names if name.startswith(NOT_SHIPPED)] == []


def test_the_wheel_installs_the_appliance_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert "appliance = appliance.cli:main" in entry_points


def test_the_product_never_imports_what_the_wheel_leaves_out() -> None:
    # the import-rule test checks `appliance/`; the drivers must not need the mocks either
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "drivers").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.lstrip().startswith(("import ", "from "))
        and line.split()[1].split(".")[0] in {"hardware_mocks", "benchmarks", "tests", "sync"}
    ]
    assert offenders == []
