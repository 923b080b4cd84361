"""Shared set-up for the inspection tests: a lane on a temp data dir with the test PKI trusted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.history import DeviceIdentity, History, Ledger
from appliance.inspection.policy import PolicyConfig
from appliance.inspection.steps import Lane, Transaction
from appliance.inspection.trust import TrustSnapshot
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import Watchlist
from hardware_mocks.traveller_sim import StaticMrzScanner, TravellerSimulator
from hardware_mocks.virtual_chip import TravellerProfile, VirtualCardTransport, VirtualChip
from tests.support import pa_pki

AUTHORITY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def trust_snapshot(directory: Path) -> TrustSnapshot:
    with TrustStore(directory / "trust.sqlite3") as store:
        for index, der in enumerate(TravellerSimulator().trust_material()):
            assert import_file(der, store, f"t{index}.der", anchors=[pa_pki.pin(der)]).ok
        return TrustSnapshot.of(store)


def install_authority(directory: Path, key: Ed25519PrivateKey = AUTHORITY) -> None:
    sc.install_trusted_key(directory, key.public_key(), "test-authority")


@contextmanager
def lane(
    directory: Path,
    policy: PolicyConfig | None = None,
    *,
    watchlist: Watchlist | None = None,
    mode: str = "egate",
    history: History | None = None,
    **kw: object,
) -> Iterator[Lane]:
    """A lane on `history` (e.g. `tests.support.history_support.FakeHistory`), or on a real
    ledger in `directory` when none is given."""
    policy = policy or PolicyConfig(version=1)
    with ExitStack() as stack:
        if history is None:
            history = stack.enter_context(
                Ledger(directory / "history", DeviceIdentity("gate-t", "TEST"))
            )
        yield Lane(
            policy=policy,
            mode=policy.mode("egate" if mode == "egate" else "handheld"),
            trust=trust_snapshot(directory),
            history=history,
            watchlist=watchlist,
            presence_timeout_s=0.5,
            clock=lambda: datetime.now(UTC),
            **kw,  # type: ignore[arg-type]
        )


def transaction(profile: TravellerProfile, chip: VirtualChip | None = None) -> Transaction:
    return Transaction(
        VirtualCardTransport(chip or VirtualChip(profile)), StaticMrzScanner(profile.mrz_lines)
    )
