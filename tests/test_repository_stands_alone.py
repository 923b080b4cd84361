"""The repository stands alone: a fresh clone runs its suite with nothing beside it.

The test data the suite needs lives in `tests/data/` with its source and licence in
`tests/data/SOURCES.md`. Nothing the suite, the benchmarks or the scripts run may reach for the
design folder next to the repository (`../shared`), where a newcomer's clone has nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
#: the folders whose code runs in the suite, the benchmarks, the setup or on a device
CODE = ("appliance", "drivers", "hardware_mocks", "benchmarks", "scripts", "tests", "models")
#: `../shared`, `parent / "shared"`, `Path("shared")`, `"shared/..."`: a path into the folder
SHARED_PATH = re.compile(r"""\.\./shared\b|/\s*["']shared["']|\(\s*["']shared["']|["']shared/""")


def _code_files() -> list[Path]:
    files = [ROOT / ".ci" / "run"]
    for folder in CODE:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".sh", ".toml"} and "__pycache__" not in path.parts:
                files.append(path)
    files.remove(Path(__file__).resolve())  # it spells the patterns out
    return files


def test_no_code_reads_the_folder_beside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _code_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if SHARED_PATH.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_the_ways_a_path_is_written() -> None:
    for line in (
        'SHARED = ROOT.parent / "shared"',
        "data = Path('../shared/data')",
        'base = Path("shared")',
        'open("shared/vectors.json")',
    ):
        assert SHARED_PATH.search(line), line
    assert not SHARED_PATH.search("def test_card_side_mac_helpers_match_the_shared_primitives()")


def test_every_test_data_file_names_its_source() -> None:
    sources = (DATA / "SOURCES.md").read_text()
    files = [p for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md"]
    assert files
    assert [str(p.relative_to(DATA)) for p in files if p.name not in sources] == []
