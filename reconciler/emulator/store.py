"""SQLite state of the emulator: the seed it was built from, statuses and wide statuses.

One connection guarded by one re-entrant lock, so the server thread, test threads and
the admin surface never interleave inside a transaction; file databases use WAL. The
static part of the portal (brands, definitions, tokens) is the seed itself, kept as
JSON in ``meta``; statuses live in their own tables. A database that holds a seed is
"used": :class:`Store` never seeds it again. A file it cannot write is refused when it
is opened, not at the first write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler.emulator._seedcheck import parse_seed
from reconciler.emulator.seed import Seed

__all__ = ["StatusRow", "Store", "WideRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS statuses (
    email TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    source TEXT NOT NULL,
    legal_basis TEXT,
    legal_basis_explanation TEXT,
    PRIMARY KEY (email, subscription_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS wide_statuses (
    email TEXT NOT NULL,
    brand INTEGER NOT NULL,
    status TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (email, brand)
) WITHOUT ROWID;
"""

_STATUS_SELECT = (
    "SELECT email, subscription_id, status, timestamp, source, legal_basis, "
    "legal_basis_explanation FROM statuses"
)
_WIDE_SELECT = "SELECT email, brand, status, timestamp, source FROM wide_statuses"

# SQLite allows 999 bound parameters in old builds; stay well under it.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One stored subscription status (``email`` normalised, ``subscription_id`` a string)."""

    email: str
    subscription_id: str
    status: str
    timestamp: str
    source: str
    legal_basis: str | None = None
    legal_basis_explanation: str | None = None


@dataclass(frozen=True, slots=True)
class WideRow:
    """One stored wide status: UNSUBSCRIBED means opted out of all email of the brand."""

    email: str
    brand: int
    status: str
    timestamp: str
    source: str


class Store:
    """The emulator's database. Every method is thread-safe."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._seed: Seed | None = None
        try:
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_SCHEMA)
            if path != ":memory:":
                self._check_writable()
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'seed'").fetchone()
            if row is not None:
                self._seed = parse_seed(json.loads(row[0]), source=f"{path} (stored seed)")
        except BaseException:
            self._conn.close()
            raise

    def _check_writable(self) -> None:
        # SQLite opens a file it may not write read-only without a word, and an existing
        # database needs no write to open; every status write would then fail. A write
        # that is rolled back finds out now. Raises sqlite3.OperationalError whose
        # sqlite_errorname starts with SQLITE_READONLY.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("CREATE TABLE _write_probe (x)")
        finally:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    @property
    def seed(self) -> Seed | None:
        """The seed the current state was built from; None for an empty database."""
        return self._seed

    def is_empty(self) -> bool:
        """True when no seed was ever applied to this database."""
        return self._seed is None

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[None]:
        """Hold the lock for a unit of work; commit it, or roll it back when ``commit`` is
        False (the lying-server fault) or when the body raises."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT" if commit else "ROLLBACK")

    def load(self, seed: Seed) -> None:
        """Replace all state with ``seed``; it becomes the state :meth:`reset` returns to."""
        with self.transaction():
            self._conn.execute("DELETE FROM statuses")
            self._conn.execute("DELETE FROM wide_statuses")
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seed', ?)",
                (json.dumps(seed.to_dict(), sort_keys=True),),
            )
            self.put_statuses(
                StatusRow(
                    s.email,
                    s.subscription,
                    s.status,
                    s.timestamp,
                    s.source,
                    s.legal_basis,
                    s.legal_basis_explanation,
                )
                for s in seed.statuses
            )
            for opt in seed.opt_outs:
                self.put_wide(
                    WideRow(opt.email, opt.brand, "UNSUBSCRIBED", opt.timestamp, opt.source)
                )
        self._seed = seed

    def reset(self) -> None:
        """Go back to the seed the state was built from."""
        if self._seed is not None:
            self.load(self._seed)

    def statuses(self, emails: Sequence[str]) -> dict[str, dict[str, StatusRow]]:
        """Stored statuses of ``emails`` (normalised), per email then subscription id."""
        found: dict[str, dict[str, StatusRow]] = {}
        with self._lock:
            for part in _chunks(emails):
                marks = ",".join("?" * len(part))
                sql = f"{_STATUS_SELECT} WHERE email IN ({marks})"
                rows = self._conn.execute(sql, part).fetchall()
                for row in rows:
                    found.setdefault(row[0], {})[row[1]] = StatusRow(*row)
        return found

    def wide(self, emails: Sequence[str], brand: int) -> dict[str, WideRow]:
        """Stored wide statuses of ``emails`` for one brand."""
        found: dict[str, WideRow] = {}
        with self._lock:
            for part in _chunks(emails):
                marks = ",".join("?" * len(part))
                sql = f"{_WIDE_SELECT} WHERE brand = ? AND email IN ({marks})"
                rows = self._conn.execute(sql, [brand, *part]).fetchall()
                for row in rows:
                    found[row[0]] = WideRow(*row)
        return found

    def wide_all_brands(self, email: str) -> list[WideRow]:
        """Every stored wide status of one subscriber."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT email, brand, status, timestamp, source FROM wide_statuses "
                "WHERE email = ? ORDER BY brand",
                (email,),
            ).fetchall()
        return [WideRow(*row) for row in rows]

    def put_statuses(self, rows: Iterable[StatusRow]) -> None:
        """Insert or replace statuses."""
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO statuses (email, subscription_id, status, timestamp, "
                "source, legal_basis, legal_basis_explanation) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.email,
                        r.subscription_id,
                        r.status,
                        r.timestamp,
                        r.source,
                        r.legal_basis,
                        r.legal_basis_explanation,
                    )
                    for r in rows
                ],
            )

    def put_wide(self, row: WideRow) -> None:
        """Insert or replace one wide status."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO wide_statuses (email, brand, status, timestamp, source) "
                "VALUES (?, ?, ?, ?, ?)",
                (row.email, row.brand, row.status, row.timestamp, row.source),
            )

    def dump(self) -> tuple[list[StatusRow], list[WideRow]]:
        """Every stored status and wide status, sorted (for the admin state dump)."""
        with self._lock:
            statuses = self._conn.execute(
                "SELECT email, subscription_id, status, timestamp, source, legal_basis, "
                "legal_basis_explanation FROM statuses ORDER BY email, CAST(subscription_id AS "
                "INTEGER)"
            ).fetchall()
            wide = self._conn.execute(
                "SELECT email, brand, status, timestamp, source FROM wide_statuses "
                "ORDER BY email, brand"
            ).fetchall()
        return [StatusRow(*r) for r in statuses], [WideRow(*r) for r in wide]


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start : start + _CHUNK])
