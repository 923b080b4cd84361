"""`Ledger`: one device's history, the append-only SQLite log of signed Merkle leaves.

The class is assembled from one layer per responsibility, each in its own module:
`store.LedgerStore` (the database, transactions, tree nodes, signed checkpoints),
`append.LedgerWriter` (events in, under a signed checkpoint: the write path),
`queries.LedgerQueries` (lookups and inclusion/consistency proofs: the read path) and
`erasure.LedgerErasure` (erasure on request and retention). `verify` checks the whole log
against the store layer alone, so this module may import it without a cycle.

`append`/`append_batch` return only once the event is durable (see `appliance.history.append`):
the workflow opens the gate only then. The lane sees a `Ledger` through the `History` port
(`appliance.history.port`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.history.erasure import LedgerErasure
from appliance.history.periods import RetentionPolicy
from appliance.history.queries import LedgerQueries
from appliance.history.store import DeviceIdentity
from appliance.history.verify import VerifyResult
from appliance.history.verify import verify as verify_history


class Ledger(LedgerErasure, LedgerQueries):
    """One device's history. Use as a context manager or call `close`."""

    @classmethod
    def open_default(cls, data_dir: Path, config: Any) -> Ledger:
        """Open the history in `data_dir` with the device and retention of an appliance config."""
        history_cfg = getattr(config, "history", None)
        policy = (
            RetentionPolicy(history_cfg.retention_days, history_cfg.period_days)
            if history_cfg is not None
            else RetentionPolicy()
        )
        device = DeviceIdentity(config.device.device_id, config.device.location)
        return cls(data_dir / "history", device, policy)

    def verify(self) -> VerifyResult:
        """Full verification (see `appliance.history.verify`); never raises for tampering."""
        return verify_history(self)
