"""No module of the product over ~450 lines (#12): a module that grows past it does two jobs.

The limit is the issue's; a module that reaches it is split by what it does (as `ledger.py`
became store / append / queries / erasure), not by cutting lines or packing them denser.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 450


def over_limit(package: Path) -> dict[str, int]:
    """The modules under `package` longer than LIMIT lines, by path relative to it."""
    lengths = {
        str(path.relative_to(package)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(package.rglob("*.py"))
    }
    return {name: n for name, n in lengths.items() if n > LIMIT}


def test_no_product_module_over_the_limit() -> None:
    assert (ROOT / "appliance" / "cli.py").is_file()  # the walk looks at the product
    assert over_limit(ROOT / "appliance") == {}, "split these by what they do"


def test_a_long_module_is_found(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (LIMIT + 1), encoding="utf-8")
    (tmp_path / "short.py").write_text("x = 1\n" * LIMIT, encoding="utf-8")
    assert over_limit(tmp_path) == {"pkg/long.py": LIMIT + 1}
