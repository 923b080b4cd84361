"""What `verify` found: the `Problem`s (kind, first record concerned, detail) and the sizes.

Shared by the checks of each table (`verify_checkpoints`, `verify_tree`, `verify_keys`); the
JSON form is what `appliance history verify --json` prints.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from appliance.history import merkle

MAX_REPORTED = 100
_SQLITE_CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """A damaged page or file (reported as `storage_corrupt`), not a fault of this process."""
    return exc.sqlite_errorcode & 0xFF in _SQLITE_CORRUPT


@dataclass(frozen=True)
class Problem:
    kind: str
    #: the first record concerned (None for problems of the key or a checkpoint alone)
    index: int | None
    detail: str
    checkpoint_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "checkpoint_size": self.checkpoint_size,
            "detail": self.detail,
        }


@dataclass
class VerifyResult:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    latest_file_size: int | None = None
    #: the largest signed size up to which every record and root verified (what `recover`
    #: keeps)
    verified_size: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problems_total == 0

    @property
    def first_bad_index(self) -> int | None:
        indices = [p.index for p in self.problems if p.index is not None]
        return min(indices) if indices else None

    def add(self, problem: Problem) -> None:
        self.problems_total += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(problem)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root.hex(),
            "checkpoints": self.checkpoints,
            "latest_file_size": self.latest_file_size,
            "verified_size": self.verified_size,
            "first_bad_index": self.first_bad_index,
            "problems_total": self.problems_total,
            "problems": [p.to_json() for p in self.problems],
        }
