"""An in-memory snapshot of the CSCA trust store for a running lane.

The trust store is SQLite and bound to the thread that opened it; the workflow runs each step
in a worker thread (so it can abandon one that overruns). A lane therefore takes one parsed,
immutable snapshot of the anchors and their newest CRLs when it starts (and again when a new
master list or CRL is imported), and Passive Authentication reads that: no database query in
the traveller's path, and every traveller of a batch judged against the same trust list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.crl import Crl
from appliance.emrtd.pki.trust_store import TrustStore


@dataclass(frozen=True)
class TrustSnapshot:
    """`appliance.emrtd.pki.passive.TrustAnchors` over certificates held in memory."""

    certificates: tuple[Certificate, ...]
    crls: dict[str, Crl | None]

    @classmethod
    def of(cls, store: TrustStore) -> TrustSnapshot:
        anchors = tuple(sorted(store.anchors(), key=lambda c: c.not_before, reverse=True))
        return cls(anchors, {c.der.hex(): store.latest_crl(c) for c in anchors})

    def issuer_candidates(
        self, authority_key_id: bytes | None, issuer_key: str
    ) -> Iterator[Certificate]:
        """Same order as the store: matches by key identifier first, then by issuer name."""
        seen: set[bytes] = set()
        if authority_key_id is not None:
            for cert in self.certificates:
                if cert.subject_key_id == authority_key_id:
                    seen.add(cert.der)
                    yield cert
        for cert in self.certificates:
            if cert.subject_key == issuer_key and cert.der not in seen:
                yield cert

    def latest_crl(self, issuer: Certificate) -> Crl | None:
        return self.crls.get(issuer.der.hex())

    def certificates_by_serial(self, serial: int) -> list[Certificate]:
        """Seal signer look-up (`appliance.barcodes.verify.SignerDirectory`)."""
        return [c for c in self.certificates if c.serial == serial]

    def anchors(self) -> list[Certificate]:
        return list(self.certificates)
