"""The CSCA trust store: imported CSCA/link certificates and CRLs, in one SQLite file.

SQLite gives atomic imports (a master list lands whole or not at all) and indexed look-ups by
subject key identifier, subject DN and issuer+serial without parsing every certificate at each
inspection. Certificates are kept as the exact DER bytes imported, including ones that could
not be parsed, so a later parser fix can use them; look-ups only return parsed ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from appliance.emrtd.pki.certificates import Certificate
from appliance.emrtd.pki.crl import Crl
from appliance.errors import LdsError

_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS certificates (
    fingerprint TEXT PRIMARY KEY,
    der BLOB NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    parse_error TEXT,
    subject TEXT,
    subject_key TEXT,
    issuer_key TEXT,
    serial TEXT,
    ski TEXT,
    aki TEXT,
    country TEXT,
    not_before TEXT,
    not_after TEXT,
    is_ca INTEGER
);
CREATE INDEX IF NOT EXISTS certificates_ski ON certificates (ski);
CREATE INDEX IF NOT EXISTS certificates_subject ON certificates (subject_key);
CREATE INDEX IF NOT EXISTS certificates_issuer_serial ON certificates (issuer_key, serial);
CREATE TABLE IF NOT EXISTS crls (
    fingerprint TEXT PRIMARY KEY,
    der BLOB NOT NULL,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    issuer TEXT NOT NULL,
    issuer_key TEXT NOT NULL,
    aki TEXT,
    this_update TEXT NOT NULL,
    next_update TEXT,
    revoked_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS crls_issuer ON crls (issuer_key);
CREATE TABLE IF NOT EXISTS master_lists (
    sha256 TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    signer TEXT,
    signer_country TEXT,
    signed_at TEXT,
    entries INTEGER NOT NULL,
    added INTEGER NOT NULL
);
"""

DEFAULT_FILE = "trust_store.sqlite3"


@dataclass(frozen=True)
class MasterListRecord:
    """What identifies an imported master list: ICAO's CscaMasterList carries only version 0,
    so the file's sha256 and the CMS signing time are its version."""

    sha256: str
    signer: str | None
    signer_country: str | None
    signed_at: datetime | None


@dataclass(frozen=True)
class StoredCertificate:
    """One row of `trust list`: public certificate metadata, no key material."""

    fingerprint: str
    source: str
    parse_error: str | None
    subject: str | None
    country: str | None
    serial: str | None
    not_before: str | None
    not_after: str | None
    ski: str | None
    is_ca: bool | None

    def to_dict(self) -> dict[str, object]:
        return {
            "fingerprint_sha256": self.fingerprint,
            "country": self.country,
            "subject": self.subject,
            "serial": self.serial,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "ski": self.ski,
            "is_ca": self.is_ca,
            "source": self.source,
            "parse_error": self.parse_error,
        }


@dataclass(frozen=True)
class Candidate:
    """A certificate to store: parsed, or raw DER with the reason it could not be parsed."""

    der: bytes
    certificate: Certificate | None
    error: str | None = None

    @classmethod
    def of(cls, certificate: Certificate) -> Candidate:
        return cls(certificate.der, certificate)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CrlState:
    """An issuer's newest stored CRL: what the self-test and `sync status` report."""

    issuer: str
    this_update: datetime | None
    next_update: datetime | None

    def overdue(self, now: datetime) -> bool:
        """Past its nextUpdate: a newer CRL should exist, and revocation is not known."""
        return self.next_update is not None and self.next_update < now


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


class TrustStore:
    """CSCA anchors and CRLs. Not thread-safe: open one per thread."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db = sqlite3.connect(str(path))
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        self._parsed: dict[str, Certificate] = {}

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TrustStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def add_certificates(self, candidates: Iterable[Candidate], source: str) -> int:
        """Store every candidate in one transaction; returns how many were new."""
        with self._db:
            return self._insert_certificates(candidates, source)

    def add_master_list(
        self, candidates: Iterable[Candidate], source: str, record: MasterListRecord
    ) -> int:
        """A verified master list's certificates and its record (what the maintenance page shows
        as the master list versions), in one transaction; returns how many certificates were new.
        """
        entries = list(candidates)
        with self._db:
            added = self._insert_certificates(entries, source)
            self._db.execute(
                "INSERT OR IGNORE INTO master_lists VALUES (?,?,?,?,?,?,?,?)",
                (
                    record.sha256,
                    source,
                    datetime.now(UTC).isoformat(),
                    record.signer,
                    record.signer_country,
                    _iso(record.signed_at),
                    len(entries),
                    added,
                ),
            )
            return added

    def _insert_certificates(self, candidates: Iterable[Candidate], source: str) -> int:
        now = datetime.now(UTC).isoformat()
        rows = []
        for item in candidates:
            cert = item.certificate
            fingerprint = cert.fingerprint if cert else Certificate.fingerprint_of(item.der)
            rows.append(
                (
                    fingerprint,
                    item.der,
                    source,
                    now,
                    item.error if cert is None else None,
                    cert.subject if cert else None,
                    cert.subject_key if cert else None,
                    cert.issuer_key if cert else None,
                    str(cert.serial) if cert else None,
                    _hex(cert.subject_key_id) if cert else None,
                    _hex(cert.authority_key_id) if cert else None,
                    cert.country if cert else None,
                    _iso(cert.not_before) if cert else None,
                    _iso(cert.not_after) if cert else None,
                    int(cert.is_ca) if cert else None,
                )
            )
        before = self._db.total_changes
        self._db.executemany(
            "INSERT OR IGNORE INTO certificates VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
        )
        return self._db.total_changes - before

    def add_crl(self, crl: Crl, source: str) -> bool:
        """Store a CRL (already verified by the caller); False when it was already there."""
        with self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO crls VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    Certificate.fingerprint_of(crl.der),
                    crl.der,
                    source,
                    datetime.now(UTC).isoformat(),
                    crl.issuer,
                    crl.issuer_key,
                    _hex(crl.authority_key_id),
                    crl.this_update.isoformat(),
                    _iso(crl.next_update),
                    len(crl.revoked),
                ),
            )
            return cursor.rowcount == 1

    # -- reading -------------------------------------------------------------------------------

    def _load(self, rows: Iterable[tuple[str, bytes]]) -> list[Certificate]:
        found = []
        for fingerprint, der in rows:
            cert = self._parsed.get(fingerprint)
            if cert is None:
                try:
                    cert = Certificate.from_der(der)
                except LdsError:
                    continue
                self._parsed[fingerprint] = cert
            found.append(cert)
        return found

    def issuer_candidates(
        self, authority_key_id: bytes | None, issuer_key: str
    ) -> Iterator[Certificate]:
        """Anchors that may have issued a certificate or CRL: by AKI first, then by issuer DN.

        Both are tried (lazily, AKI matches first) because key identifiers are not unique in
        the wild (one CSCA reused its SKI across key rollovers) and some CSCAs have no SKI.
        """
        seen: set[str] = set()
        queries = []
        if authority_key_id is not None:
            queries.append(("ski", authority_key_id.hex()))
        queries.append(("subject_key", issuer_key))
        for column, value in queries:
            rows = self._db.execute(
                f"SELECT fingerprint, der FROM certificates WHERE {column} = ? "
                "AND parse_error IS NULL ORDER BY not_before DESC",
                (value,),
            ).fetchall()
            fresh = [(fp, der) for fp, der in rows if fp not in seen]
            seen.update(fp for fp, _ in fresh)
            yield from self._load(fresh)

    def certificates_by_serial(self, serial: int) -> list[Certificate]:
        """Parsed certificates with this serial number: a seal names its signer by it."""
        rows = self._db.execute(
            "SELECT fingerprint, der FROM certificates WHERE serial = ? AND parse_error IS NULL",
            (str(serial),),
        ).fetchall()
        return self._load(rows)

    def contains(self, fingerprint: str) -> bool:
        """Whether a parsed certificate with this SHA-256 fingerprint is stored (= trusted)."""
        row = self._db.execute(
            "SELECT 1 FROM certificates WHERE fingerprint = ? AND parse_error IS NULL",
            (fingerprint,),
        ).fetchone()
        return row is not None

    def anchors(self) -> list[Certificate]:
        """Every parsed certificate in the store."""
        return self._load(
            self._db.execute(
                "SELECT fingerprint, der FROM certificates WHERE parse_error IS NULL"
            ).fetchall()
        )

    def latest_crl(self, issuer: Certificate) -> Crl | None:
        """The newest stored CRL issued under `issuer`'s name (and key, when it says which)."""
        rows = self._db.execute(
            "SELECT der, aki FROM crls WHERE issuer_key = ? ORDER BY this_update DESC",
            (issuer.subject_key,),
        ).fetchall()
        known = issuer.subject_key_id
        candidates = [
            Crl.from_der(der)
            for der, aki in rows
            # same name, another key's CRL: not this issuer's
            if aki is None or known is None or aki == known.hex()
        ]
        if not candidates:
            return None
        # Newest by thisUpdate; two CRLs issued in the same second are ordered by CRL number.
        return max(candidates, key=lambda crl: (crl.this_update, crl.crl_number or -1))

    def certificates(self) -> Iterator[StoredCertificate]:
        for row in self._db.execute(
            "SELECT fingerprint, source, parse_error, subject, country, serial, not_before, "
            "not_after, ski, is_ca FROM certificates ORDER BY country, subject, not_before"
        ):
            fingerprint, source, error, subject, country, serial, start, end, ski, is_ca = row
            yield StoredCertificate(
                fingerprint=fingerprint,
                source=source,
                parse_error=error,
                subject=subject,
                country=country,
                serial=serial,
                not_before=start,
                not_after=end,
                ski=ski,
                is_ca=None if is_ca is None else bool(is_ca),
            )

    def master_lists(self) -> list[dict[str, object]]:
        """Every master list imported, newest signature first: its sha256 and signing time are
        the version a technician compares with the authority's publication."""
        cursor = self._db.execute(
            "SELECT sha256, source, imported_at, signer, signer_country, signed_at, entries, added "
            "FROM master_lists ORDER BY signed_at DESC, imported_at DESC"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def crl_rows(self) -> list[dict[str, object]]:
        cursor = self._db.execute(
            "SELECT issuer, this_update, next_update, revoked_count, source, fingerprint "
            "FROM crls ORDER BY issuer, this_update"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def newest_crls(self) -> dict[str, CrlState]:
        """Each issuer's newest CRL (by thisUpdate), by issuer."""
        newest: dict[str, CrlState] = {}
        for row in self.crl_rows():
            issuer = str(row.get("issuer") or "")
            state = CrlState(issuer, _time(row.get("this_update")), _time(row.get("next_update")))
            known = newest.get(issuer)
            if known is None or (state.this_update or _EPOCH) >= (known.this_update or _EPOCH):
                newest[issuer] = state
        return newest

    def counts(self) -> tuple[int, int]:
        (certs,) = self._db.execute("SELECT count(*) FROM certificates").fetchone()
        (crls,) = self._db.execute("SELECT count(*) FROM crls").fetchone()
        return int(certs), int(crls)
