"""A worker's durable state in one SQLite file: the event cursor, the submission journal and the
worker's own tables, all changed in short explicit transactions so a crash loses nothing committed.

The file runs in WAL mode with ``synchronous=FULL``: a commit is on disk before the worker takes its
next step (e.g. a signed transaction is stored before it is broadcast). An exclusive lock file beside
the database keeps a second process of the same worker away from it.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
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
-- One row per result key; a key is inserted once and only moves forward through its statuses. `attempts`:
-- how often the contract refused the key at gas estimation (nothing sent; retried with backoff), with the
-- last refusal in `error`.
CREATE TABLE IF NOT EXISTS journal (
    mechanism  TEXT    NOT NULL,
    slot       INTEGER NOT NULL CHECK (slot >= 0),
    status     TEXT    NOT NULL CHECK (status IN ('pending', 'signed', 'accepted', 'superseded', 'failed')),
    payload    TEXT    NOT NULL,
    tx_hash    TEXT,
    block      INTEGER,
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
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

    PENDING = "pending"  #: result computed and stored; no transaction signed yet (or refused at estimation: retried)
    SIGNED = "signed"  #: a signed transaction is stored; it may or may not have been broadcast
    ACCEPTED = "accepted"  #: the chain accepted the key through one of this worker's transactions
    SUPERSEDED = "superseded"  #: the chain accepted the key through someone else's transaction
    #: final: a mined transaction of ours reverted for another reason, or no result or call could be made (`error`)
    FAILED = "failed"


OPEN_STATUSES = (Status.PENDING, Status.SIGNED)


class WorkerStateError(RuntimeError):
    """The state file cannot be used as asked (held by another process, unreadable, or made for another chain)."""


class ChainResetError(WorkerStateError):
    """The chain behind the RPC is not the one the state file was made on (a new genesis: a restarted local
    chain, which reuses chain id and addresses). The cursor and journal mean nothing there."""


#: What to tell the user whenever a state file cannot be used as it is.
FRESH_HINT = "run with --fresh to set it aside and start a new state"


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
    attempts: int = 0  #: refusals at gas estimation so far (the key is retried while PENDING)


def _hex(mechanism: bytes) -> str:
    return "0x" + mechanism.hex()


class WorkerState:
    """The SQLite state of one worker. Use as a context manager, or call :meth:`close`.

    ``path``: the database file (created with its folder if missing). ``schema``: the worker's own
    ``CREATE TABLE IF NOT EXISTS`` statements, run once on open.
    """

    def __init__(self, path: str | Path, schema: str = "", *, fresh: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_name(self.path.name + ".lock"), "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise WorkerStateError(f"{self.path} is in use by another worker process; stop it first") from None
        #: Where ``fresh`` moved the previous file (None: nothing was set aside).
        self.set_aside: Path | None = None
        try:
            if fresh:
                self.set_aside = self._set_aside()
            elif self._is_empty():
                # SQLite would silently start a new database in an empty file: the cursor and journal are gone,
                # and starting over must be the user's decision.
                raise WorkerStateError(f"{self.path} is empty (0 bytes): its cursor and journal are lost; {FRESH_HINT}")
            self.db = self._open(schema)
        except BaseException:
            self._lock_file.close()
            raise

    def _is_empty(self) -> bool:
        wal = self.path.with_name(self.path.name + "-wal")
        return (self.path.exists() and self.path.stat().st_size == 0
                and (not wal.exists() or wal.stat().st_size == 0))

    def _set_aside(self) -> Path | None:
        """Renames the state file (and its WAL files) to ``<name>.<UTC time>.old``; returns the new name."""
        if not self.path.exists():
            return None
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.{stamp}.old")
        for suffix in ("-wal", "-shm", ""):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                os.replace(source, target.with_name(target.name + suffix))
        return target

    def _open(self, schema: str) -> sqlite3.Connection:
        """The connection, set up and checked; WorkerStateError (one line) for a file SQLite cannot use."""
        db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: explicit BEGIN IMMEDIATE ... COMMIT
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(problems[0])
            db.executescript(SCHEMA + schema)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(journal)")}
            if "attempts" not in columns:  # a file from before deferred retries
                db.execute("ALTER TABLE journal ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise WorkerStateError(f"{self.path} is not a usable worker state file ({exc}); {FRESH_HINT}") from None
        return db

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
        if "genesis" in different:
            old, new = different["genesis"]
            raise ChainResetError(
                f"the chain was reset: {self.path} was made on genesis {old}, the RPC now serves genesis {new}; "
                f"{FRESH_HINT} (or --on-reset fresh to do so by itself)"
            )
        if different:
            details = ", ".join(f"{k}: file has {old!r}, chain has {new!r}" for k, (old, new) in different.items())
            raise WorkerStateError(
                f"{self.path} belongs to another chain or deployment ({details}); "
                f"use another state directory, or {FRESH_HINT}"
            )

    # --- cursor ---------------------------------------------------------------------------------

    def identity(self) -> dict[str, str]:
        """What the file was bound to (empty before the first bind)."""
        return {row["key"]: row["value"] for row in self.db.execute("SELECT key, value FROM meta")}

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
        self.insert_results(mechanism, [(slot, payload)])

    def insert_results(self, mechanism: bytes, results: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Records (slot, payload) results as PENDING in one commit (a window's worth)."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO journal (mechanism, slot, status, payload, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(_hex(mechanism), slot, Status.PENDING, json.dumps(payload), now, now) for slot, payload in results],
            )

    #: The error prefix of a key whose result could not be computed (journaled FAILED, with no transaction).
    UNMADE = "compute failed: "

    def record_unmade(self, mechanism: bytes, slot: int, error: str) -> int:
        """Journals a slot whose result could not be computed as FAILED with `error` (which starts with UNMADE),
        counting the attempts; returns them. The runtime computes it again after a backoff."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                "INSERT INTO journal (mechanism, slot, status, payload, error, attempts, created_at, updated_at) "
                "VALUES (?, ?, ?, '{}', ?, 1, ?, ?) ON CONFLICT (mechanism, slot) DO UPDATE SET "
                "error = excluded.error, attempts = journal.attempts + 1, updated_at = excluded.updated_at",
                (_hex(mechanism), slot, Status.FAILED, error, now, now),
            )
            (attempts,) = db.execute("SELECT attempts FROM journal WHERE mechanism = ? AND slot = ?",
                                     (_hex(mechanism), slot)).fetchone()
        return attempts

    def unmade_slots(self, mechanism: bytes) -> list[int]:
        """Slots journaled FAILED because their result could not be computed (no transaction was ever signed)."""
        rows = self.db.execute(
            "SELECT slot FROM journal WHERE mechanism = ? AND status = ? AND error LIKE ? AND NOT EXISTS "
            "(SELECT 1 FROM submissions s WHERE s.mechanism = journal.mechanism AND s.slot = journal.slot)",
            (_hex(mechanism), Status.FAILED, self.UNMADE + "%"),
        )
        return [slot for (slot,) in rows]

    def forget_unmade(self, mechanism: bytes, slots: Iterable[int]) -> None:
        """Removes the FAILED rows of unmade slots whose result has now been computed (re-inserted as PENDING)."""
        unmade = set(self.unmade_slots(mechanism))
        with self.transaction() as db:
            db.executemany("DELETE FROM journal WHERE mechanism = ? AND slot = ?",
                           [(_hex(mechanism), slot) for slot in slots if slot in unmade])

    def record_submission(self, mechanism: bytes, slot: int, submission: Submission) -> None:
        """Stores a signed transaction and marks the key SIGNED, before anything is broadcast."""
        self.record_submissions([(mechanism, slot, submission)])

    def record_submissions(self, signed: Iterable[tuple[bytes, int, Submission]]) -> None:
        """Stores signed transactions and marks their keys SIGNED in one commit, before any is broadcast."""
        now = time.time()
        with self.transaction() as db:
            for mechanism, slot, submission in signed:
                db.execute(
                    "INSERT INTO submissions (tx_hash, mechanism, slot, nonce, raw_tx, signed_at_block, signed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (submission.tx_hash, _hex(mechanism), slot, submission.nonce, submission.raw_tx,
                     submission.signed_at_block, now),
                )
                self._set_status(db, mechanism, slot, Status.SIGNED, tx_hash=submission.tx_hash)

    def defer(self, mechanism: bytes, slot: int, error: str) -> int:
        """Counts a refusal at gas estimation (nothing was sent; the key stays PENDING); returns the attempts."""
        with self.transaction() as db:
            db.execute("UPDATE journal SET attempts = attempts + 1, error = ?, updated_at = ? "
                       "WHERE mechanism = ? AND slot = ?", (error, time.time(), _hex(mechanism), slot))
            (attempts,) = db.execute("SELECT attempts FROM journal WHERE mechanism = ? AND slot = ?",
                                     (_hex(mechanism), slot)).fetchone()
        return attempts

    def finish(self, mechanism: bytes, slot: int, status: Status, *, tx_hash: str | None = None,
               block: int | None = None, error: str | None = None) -> None:
        """Moves a key to a final status (ACCEPTED, SUPERSEDED or FAILED)."""
        self.finish_many([(mechanism, slot, status, tx_hash, block, error)])

    def finish_many(self, settled: Iterable[tuple[bytes, int, Status, str | None, int | None, str | None]]) -> None:
        """Moves keys to final statuses in one commit: (mechanism, slot, status, tx_hash, block, error) each."""
        with self.transaction() as db:
            for mechanism, slot, status, tx_hash, block, error in settled:
                if status in OPEN_STATUSES:
                    raise ValueError(f"{status} is not a final status")
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
            attempts=row["attempts"],
        )
