"""Every table and column of the history database is verified or is a cache verify rebuilds:
a column added later without saying how `verify` covers it fails here."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.history.verify import COVERAGE
from tests.support.history_support import check, open_ledger, raw

DOCS = Path(__file__).resolve().parents[2] / "docs" / "history.md"


def schema(directory: Path) -> dict[str, set[str]]:
    conn = raw(directory)
    try:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: {str(c[1]) for c in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    finally:
        conn.close()


def test_every_column_is_verified_or_a_rebuilt_cache(tmp_path: Path) -> None:
    with open_ledger(tmp_path) as ledger:
        ledger.append(check())
    found = schema(tmp_path)
    assert found == {table: set(columns) for table, columns in COVERAGE.items()}
    for table, columns in COVERAGE.items():
        for column, how in columns.items():
            assert how.split(":")[0] in ("verified", "cache"), (table, column)


def test_the_docs_list_every_column_and_how_it_is_covered(tmp_path: Path) -> None:
    """docs/history.md carries one table row `| table.column | verified/cache | ... |`."""
    text = DOCS.read_text()
    documented = {
        (m.group(1), m.group(2)): m.group(3)
        for m in re.finditer(r"^\| `(\w+)\.(\w+)` \| (verified|cache) \|", text, re.MULTILINE)
    }
    expected = {
        (table, column): how.split(":")[0]
        for table, columns in COVERAGE.items()
        for column, how in columns.items()
    }
    assert documented == expected
