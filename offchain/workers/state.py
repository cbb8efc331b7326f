"""A worker's durable state in one SQLite file: the event cursor, the submission journal and the
worker's own tables, all changed in short explicit transactions so a crash loses nothing committed.

The file runs in WAL mode with ``synchronous=FULL``: a commit is on disk before the worker takes its
next step (e.g. a signed transaction is stored before it is broadcast). An exclusive lock file beside
the database keeps a second process of the same worker away from it.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Everything up to block `scanned_block` is processed; inside a partly processed range, every event at
-- or before (event_block, event_log_index) is.
CREATE TABLE IF NOT EXISTS cursor (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    scanned_block   INTEGER NOT NULL,
    event_block     INTEGER NOT NULL,
    event_log_index INTEGER NOT NULL
);
-- One row per result key; a key is inserted once and only moves forward through its statuses.
CREATE TABLE IF NOT EXISTS journal (
    mechanism  TEXT    NOT NULL,
    slot       INTEGER NOT NULL CHECK (slot >= 0),
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'signed', 'accepted', 'superseded', 'failed')),
    payload    TEXT    NOT NULL,
    tx_hash    TEXT,
    block      INTEGER,
    error      TEXT,
    created_at REAL    NOT NULL,
    updated_at REAL    NOT NULL,
    PRIMARY KEY (mechanism, slot)
);
-- Every transaction ever signed for a key: a re-signed key keeps its older hashes, so the worker can
-- tell whether the transaction that landed was one of its own.
CREATE TABLE IF NOT EXISTS submissions (
    tx_hash         TEXT    PRIMARY KEY,
    mechanism       TEXT    NOT NULL,
    slot            INTEGER NOT NULL,
    nonce           INTEGER NOT NULL,
    raw_tx          BLOB    NOT NULL,
    signed_at_block INTEGER NOT NULL,
    signed_at       REAL    NOT NULL,
    FOREIGN KEY (mechanism, slot) REFERENCES journal (mechanism, slot)
);
CREATE INDEX IF NOT EXISTS submissions_by_key ON submissions (mechanism, slot);
"""


class Status(StrEnum):
    """Where a result key stands in the journal. PENDING and SIGNED are open; the others are final."""

    PENDING = "pending"  #: result computed and stored; no transaction signed yet
    SIGNED = "signed"  #: a signed transaction is stored; it may or may not have been broadcast
    ACCEPTED = "accepted"  #: the chain accepted the key through one of this worker's transactions
    SUPERSEDED = "superseded"  #: the chain accepted the key through someone else's transaction
    FAILED = "failed"  #: the contract rejected the result for another reason (see `error`)


OPEN_STATUSES = (Status.PENDING, Status.SIGNED)


class WorkerStateError(RuntimeError):
    """The state file cannot be used as asked (held by another process, or made for another chain)."""


@dataclass(frozen=True)
class Cursor:
    """Position of the last processed event (see the `cursor` table)."""

    scanned_block: int
    event_block: int
    event_log_index: int

    def is_processed(self, block: int, log_index: int) -> bool:
        """Whether the event at (`block`, `log_index`) was processed already."""
        return (block, log_index) <= (self.event_block, self.event_log_index) or block <= self.scanned_block


@dataclass(frozen=True)
class Submission:
    """One signed transaction for a result key."""

    tx_hash: str
    nonce: int
    raw_tx: bytes
    signed_at_block: int


@dataclass(frozen=True)
class JournalEntry:
    """One result key in the journal; `payload` is the result as the worker computed it.

    `tx_hash`: while SIGNED our latest transaction; once final, the transaction that settled the key
    (ours if ACCEPTED, someone else's if SUPERSEDED, None if unknown) with its `block`.
    """

    mechanism: bytes
    slot: int
    status: Status
    payload: dict[str, Any]
    tx_hash: str | None
    block: int | None
    error: str | None


def _hex(mechanism: bytes) -> str:
    return "0x" + mechanism.hex()


class WorkerState:
    """The SQLite state of one worker. Use as a context manager, or call :meth:`close`.

    ``path``: the database file (created with its folder if missing). ``schema``: the worker's own
    ``CREATE TABLE IF NOT EXISTS`` statements, run once on open.
    """

    def __init__(self, path: str | Path, schema: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_name(self.path.name + ".lock"), "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise WorkerStateError(f"{self.path} is in use by another worker process") from None
        # Autocommit mode: every change below happens inside an explicit BEGIN IMMEDIATE ... COMMIT.
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA + schema)

    def close(self) -> None:
        """Closes the database (uncommitted changes are dropped) and releases the lock."""
        self.db.close()
        self._lock_file.close()

    def __enter__(self) -> WorkerState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: commits on normal exit, rolls back on an exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- identity -------------------------------------------------------------------------------

    def bind(self, identity: dict[str, str]) -> None:
        """Ties the file to one chain and deployment on first use; refuses a different one later.

        ``identity``: e.g. chain id, genesis hash and contract addresses. A cursor from another chain
        (a restarted local Anvil reuses addresses and chain id, never its genesis hash) would skip or
        misread events, so a mismatch is an error rather than a silent reset.
        """
        stored = {row["key"]: row["value"] for row in self.db.execute("SELECT key, value FROM meta")}
        if not stored:
            with self.transaction() as db:
                db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(identity.items()))
            return
        different = {k: (stored.get(k), v) for k, v in identity.items() if stored.get(k) != v}
        if different:
            details = ", ".join(f"{k}: file has {old!r}, chain has {new!r}" for k, (old, new) in different.items())
            raise WorkerStateError(
                f"{self.path} belongs to another chain or deployment ({details}); "
                "use another state directory or delete the file to start over"
            )

    # --- cursor ---------------------------------------------------------------------------------

    def cursor(self, start_block: int) -> Cursor:
        """The stored cursor, or one just before `start_block` if none is stored yet."""
        row = self.db.execute("SELECT scanned_block, event_block, event_log_index FROM cursor").fetchone()
        if row is None:
            return Cursor(start_block - 1, start_block - 1, -1)
        return Cursor(row["scanned_block"], row["event_block"], row["event_log_index"])

    @staticmethod
    def save_cursor(db: sqlite3.Connection, cursor: Cursor) -> None:
        """Stores `cursor` inside the caller's transaction."""
        db.execute(
            "INSERT INTO cursor (id, scanned_block, event_block, event_log_index) VALUES (1, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET scanned_block = excluded.scanned_block, "
            "event_block = excluded.event_block, event_log_index = excluded.event_log_index",
            (cursor.scanned_block, cursor.event_block, cursor.event_log_index),
        )

    # --- journal --------------------------------------------------------------------------------

    def insert_result(self, mechanism: bytes, slot: int, payload: dict[str, Any]) -> None:
        """Records a computed result as PENDING (first step of every submission)."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO journal (mechanism, slot, status, payload, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_hex(mechanism), slot, Status.PENDING, json.dumps(payload), now, now),
            )

    def record_submission(self, mechanism: bytes, slot: int, submission: Submission) -> None:
        """Stores a signed transaction and marks the key SIGNED, before anything is broadcast."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO submissions (tx_hash, mechanism, slot, nonce, raw_tx, signed_at_block, signed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (submission.tx_hash, _hex(mechanism), slot, submission.nonce, submission.raw_tx,
                 submission.signed_at_block, now),
            )
            self._set_status(db, mechanism, slot, Status.SIGNED, tx_hash=submission.tx_hash)

    def finish(self, mechanism: bytes, slot: int, status: Status, *, tx_hash: str | None = None,
               block: int | None = None, error: str | None = None) -> None:
        """Moves a key to a final status (ACCEPTED, SUPERSEDED or FAILED)."""
        if status in OPEN_STATUSES:
            raise ValueError(f"{status} is not a final status")
        with self.transaction() as db:
            self._set_status(db, mechanism, slot, status, tx_hash=tx_hash, block=block, error=error)

    @staticmethod
    def _set_status(db: sqlite3.Connection, mechanism: bytes, slot: int, status: Status, *,
                    tx_hash: str | None = None, block: int | None = None, error: str | None = None) -> None:
        updated = db.execute(
            "UPDATE journal SET status = ?, tx_hash = ?, block = ?, error = ?, updated_at = ? "
            "WHERE mechanism = ? AND slot = ?",
            (status, tx_hash, block, error, time.time(), _hex(mechanism), slot),
        ).rowcount
        if updated != 1:
            raise KeyError(f"no journal entry for ({_hex(mechanism)}, {slot})")

    def entry(self, mechanism: bytes, slot: int) -> JournalEntry | None:
        """The journal entry of one key, or None."""
        row = self.db.execute(
            "SELECT * FROM journal WHERE mechanism = ? AND slot = ?", (_hex(mechanism), slot)
        ).fetchone()
        return None if row is None else self._entry(row)

    def entries(self, *statuses: Status) -> list[JournalEntry]:
        """Journal entries (all, or those with one of `statuses`), oldest first."""
        query = "SELECT * FROM journal"
        if statuses:
            query += f" WHERE status IN ({', '.join('?' * len(statuses))})"
        rows = self.db.execute(query + " ORDER BY created_at, slot", [str(s) for s in statuses]).fetchall()
        return [self._entry(row) for row in rows]

    def submissions(self, mechanism: bytes, slot: int) -> list[Submission]:
        """Every transaction signed for a key, oldest first."""
        rows = self.db.execute(
            "SELECT tx_hash, nonce, raw_tx, signed_at_block FROM submissions WHERE mechanism = ? AND slot = ? "
            "ORDER BY rowid",
            (_hex(mechanism), slot),
        ).fetchall()
        return [Submission(r["tx_hash"], r["nonce"], bytes(r["raw_tx"]), r["signed_at_block"]) for r in rows]

    @staticmethod
    def _entry(row: sqlite3.Row) -> JournalEntry:
        return JournalEntry(
            mechanism=bytes.fromhex(row["mechanism"][2:]),
            slot=row["slot"],
            status=Status(row["status"]),
            payload=json.loads(row["payload"]),
            tx_hash=row["tx_hash"],
            block=row["block"],
            error=row["error"],
        )
