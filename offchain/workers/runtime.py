"""The worker runtime: read events from a persisted cursor, compute results, submit each result exactly once.

A worker is a :class:`WorkerLogic` (what to read, what to compute, which contract call submits a
result) run by a :class:`Worker` against a :class:`ResultChain` (the few chain operations the runtime
needs; :mod:`offchain.workers.web3_chain` implements it with :mod:`offchain.chain`).

Every result is keyed by (mechanism, slot) and the results contract accepts a key once
(contracts/core/ResultKeys.sol). The journal protocol, each step committed before the next one starts:

1. compute the result and insert it as PENDING with its payload;
2. build and sign the transaction, store raw bytes, hash and nonce, mark SIGNED;
3. broadcast it;
4. wait for the receipt;
5. mark ACCEPTED with the transaction hash and block.

A crash anywhere leaves the entry PENDING or SIGNED, and every run first drives open entries to a final
status: a key accepted through one of our stored transactions is ACCEPTED, through anyone else's
SUPERSEDED; an unknown transaction is rebroadcast from its stored raw bytes unless its nonce was consumed
by another transaction, in which case the payload is signed again. No key is signed twice while an
earlier transaction for it can still land, and no computed result is dropped.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from .logs import WorkerLog, worker_logger
from .state import OPEN_STATUSES, Cursor, JournalEntry, Status, Submission, WorkerState

#: Name of the custom error a results contract raises for a key it accepted before.
ALREADY_ACCEPTED = "ResultAlreadyAccepted"

#: Places where a :class:`FaultInjector` can crash the worker, in the order a result passes them.
CRASH_POINTS = ("after_event", "after_insert", "after_sign", "after_send", "after_receipt", "after_accept")
CRASH_ENV = "KWX_WORKER_CRASH_AT"


# --- what the runtime needs from the chain and from a worker -------------------------------------


@dataclass(frozen=True)
class ChainEvent:
    """One contract event a worker reads, at its position (block, log index) in the chain."""

    block: int
    log_index: int
    tx_hash: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Acceptance:
    """The transaction through which the chain accepted a result key."""

    tx_hash: str
    block: int


class TxState(StrEnum):
    """What the node knows about a transaction hash."""

    MINED = "mined"
    PENDING = "pending"  #: in the node's mempool
    UNKNOWN = "unknown"  #: never seen, or dropped


class Rejected(Exception):
    """The contract refused a transaction with custom error `error_name` (at gas estimation or mined)."""

    def __init__(self, error_name: str, values: tuple[Any, ...] = ()) -> None:
        super().__init__(f"{error_name}{values}")
        self.error_name = error_name
        self.values = values


class ResultChain(Protocol):
    """The chain operations of the runtime, for one submitting account and one results contract.

    Transaction hashes are lowercase ``0x`` hex strings.
    """

    def identity(self) -> dict[str, str]:
        """Values that tell this chain and deployment apart (chain id, genesis hash, contract address)."""

    def head(self) -> int:
        """The latest block number."""

    def is_accepted(self, mechanism: bytes, slot: int) -> bool:
        """Whether the results contract has accepted the key."""

    def acceptance(self, mechanism: bytes, slot: int, since_block: int) -> Acceptance | None:
        """The transaction that accepted the key, searched from `since_block` to the head (None if not found)."""

    def sign(self, call: Any) -> Submission:
        """Builds (next nonce, fees, gas) and signs the contract call; raises :class:`Rejected` if it would revert."""

    def broadcast(self, raw_tx: bytes) -> None:
        """Sends a signed transaction; a node that already has it is not an error."""

    def wait(self, tx_hash: str, timeout: float) -> int:
        """Waits for the receipt and returns its block; raises :class:`Rejected` if the transaction reverted."""

    def tx_state(self, tx_hash: str) -> TxState:
        """Whether the node has the transaction mined, pending, or not at all."""

    def confirmed_nonce(self) -> int:
        """The submitting account's transaction count at the latest block (nonces below it are used up)."""


class WorkerLogic(Protocol):
    """What one worker reads, computes and submits. Pure bookkeeping; the runtime owns the protocol.

    The worker keeps what it learns from events in its own tables (`schema`), changed only in
    :meth:`apply`, inside the same transaction that advances the cursor: an event is applied exactly once.
    """

    name: str  #: worker name, e.g. "surplus-score"
    mechanism: bytes  #: 32-byte mechanism id of its results
    schema: str  #: CREATE TABLE IF NOT EXISTS statements for the worker's own state

    def identity(self) -> dict[str, str]:
        """Addresses of the contracts it reads (stored with the state so it is never reused elsewhere)."""

    def fetch_events(self, from_block: int, to_block: int) -> Iterable[ChainEvent]:
        """Events it consumes in the inclusive block range."""

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        """Records `event` in the worker's tables (inside the runtime's transaction)."""

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        """Slots whose inputs are complete, so their result can be computed now."""

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """The JSON-serialisable result payload of `slot` (stored in the journal before submission)."""

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        """The contract call that submits this result (it must accept the key once on success)."""


# --- fault injection ------------------------------------------------------------------------------


def _hard_exit() -> None:
    logging.shutdown()
    os._exit(1)


@dataclass
class FaultInjector:
    """Crashes the worker the `occurrence`-th time it reaches `point` (one of :data:`CRASH_POINTS`).

    The default action is ``os._exit(1)``: no cleanup, no commit, like a killed process. Tests running
    the worker in-process pass an action raising an exception instead.
    """

    point: str | None = None
    occurrence: int = 1
    action: Callable[[], None] = _hard_exit
    _seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.point is not None and self.point not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {self.point!r}; expected one of {', '.join(CRASH_POINTS)}")
        if self.occurrence < 1:
            raise ValueError("occurrence counts from 1")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultInjector:
        """Reads ``KWX_WORKER_CRASH_AT=point`` or ``point:occurrence`` (unset: never crashes)."""
        spec = (environ if environ is not None else os.environ).get(CRASH_ENV, "").strip()
        if not spec:
            return cls()
        point, _, occurrence = spec.partition(":")
        return cls(point, int(occurrence) if occurrence else 1)

    def reached(self, point: str) -> None:
        if point == self.point:
            self._seen += 1
            if self._seen == self.occurrence:
                self.action()


# --- the runtime ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """What one :meth:`Worker.run_once` did."""

    head: int  #: chain head when the run started
    scanned_to: int  #: last block whose events are all processed
    events: int  #: events applied
    results: int  #: new results recorded in the journal
    accepted: int  #: keys that became ACCEPTED
    superseded: int  #: keys that became SUPERSEDED
    failed: int  #: keys that became FAILED
    open: int  #: keys still PENDING or SIGNED (e.g. a receipt not in yet)
    stopped: bool  #: the run ended early on a stop request

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def block_ranges(first: int, last: int, size: int) -> Iterator[tuple[int, int]]:
    """Inclusive block ranges of at most `size` blocks covering [first, last] (none if first > last)."""
    for lo in range(first, last + 1, size):
        yield lo, min(lo + size - 1, last)


class Worker:
    """Runs one :class:`WorkerLogic` against one :class:`ResultChain` with its state in `state_path`.

    ``confirmations``: blocks an event must be below the head before it is read (default 0: Avalanche
    blocks are final once accepted; raise it on chains that reorganise). ``start_block``: first block
    worth scanning (the deployment block). ``block_chunk``: most blocks per log query (public RPCs cap
    ranges). ``receipt_timeout``: seconds to wait for a receipt before leaving the entry open for the
    next run. ``faults``: crash injection for tests (default from ``KWX_WORKER_CRASH_AT``).
    """

    def __init__(
        self,
        logic: WorkerLogic,
        chain: ResultChain,
        state_path: str | Path,
        *,
        confirmations: int = 0,
        start_block: int = 0,
        block_chunk: int = 2000,
        receipt_timeout: float = 120.0,
        faults: FaultInjector | None = None,
    ) -> None:
        if confirmations < 0 or block_chunk < 1 or start_block < 0:
            raise ValueError("confirmations and start_block must be >= 0, block_chunk >= 1")
        self.logic = logic
        self.chain = chain
        self.confirmations = confirmations
        self.start_block = start_block
        self.block_chunk = block_chunk
        self.receipt_timeout = receipt_timeout
        self.faults = faults if faults is not None else FaultInjector.from_env()
        self.log: WorkerLog = worker_logger(logic.name)
        self._stop = threading.Event()
        self._changes: Counter[Status] = Counter()
        self.state = WorkerState(state_path, logic.schema)
        try:
            self.state.bind({"worker": logic.name, "mechanism": "0x" + logic.mechanism.hex(),
                             **chain.identity(), **logic.identity()})
        except BaseException:
            self.state.close()
            raise

    def close(self) -> None:
        self.state.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Asks the worker to stop after its current step (safe from a signal handler or another thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT call :meth:`stop` while inside (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum: int, _frame: object) -> None:
            self.log.info("stop_requested", signal=signal.Signals(signum).name)
            self.stop()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def run_once(self) -> RunSummary:
        """Settles open journal entries, processes events up to the safe head, submits new results."""
        self._changes.clear()
        head = self.chain.head()
        self._settle_open()
        events = self._scan(head - self.confirmations)
        results = self._submit_new()
        summary = RunSummary(
            head=head,
            scanned_to=self.state.cursor(self.start_block).scanned_block,
            events=events,
            results=results,
            accepted=self._changes[Status.ACCEPTED],
            superseded=self._changes[Status.SUPERSEDED],
            failed=self._changes[Status.FAILED],
            open=len(self.state.entries(*OPEN_STATUSES)),
            stopped=self.stopping,
        )
        self.log.info("run_done", **summary.as_dict())
        return summary

    def run_forever(self, poll_seconds: float = 5.0) -> None:
        """Runs :meth:`run_once` every `poll_seconds` until :meth:`stop` or SIGTERM/SIGINT.

        A failing run (RPC down, receipt timeout) is logged and retried on the next poll; the journal
        keeps whatever it had committed.
        """
        self.log.info("worker_started", poll_seconds=poll_seconds, confirmations=self.confirmations,
                      state=str(self.state.path))
        with self.stop_on_signals():
            while not self.stopping:
                try:
                    self.run_once()
                except Exception as exc:  # the loop must survive transient chain errors; the journal is intact
                    self.log.exception("run_failed", error=repr(exc))
                self._stop.wait(poll_seconds)
        self.log.info("worker_stopped")

    # --- events -------------------------------------------------------------------------------

    def _scan(self, safe_block: int) -> int:
        cursor = self.state.cursor(self.start_block)
        applied = 0
        for lo, hi in block_ranges(cursor.scanned_block + 1, safe_block, self.block_chunk):
            events = sorted(self.logic.fetch_events(lo, hi), key=lambda e: (e.block, e.log_index))
            for event in events:
                if cursor.is_processed(event.block, event.log_index):
                    continue
                if self.stopping:
                    return applied
                cursor = Cursor(cursor.scanned_block, event.block, event.log_index)
                with self.state.transaction() as db:
                    self.logic.apply(db, event)
                    self.state.save_cursor(db, cursor)
                applied += 1
                self.log.info("event_applied", block=event.block, log_index=event.log_index,
                              name=event.name, tx_hash=event.tx_hash)
                self.faults.reached("after_event")
            cursor = Cursor(hi, cursor.event_block, cursor.event_log_index)
            with self.state.transaction() as db:
                self.state.save_cursor(db, cursor)
        return applied

    # --- results ------------------------------------------------------------------------------

    def _submit_new(self) -> int:
        mechanism = self.logic.mechanism
        journaled = {row[0] for row in self.state.db.execute(
            "SELECT slot FROM journal WHERE mechanism = ?", ("0x" + mechanism.hex(),))}
        recorded = 0
        for slot in sorted(set(self.logic.ready_slots(self.state.db)) - journaled):
            if self.stopping:
                break
            payload = self.logic.compute(self.state.db, slot)
            self.state.insert_result(mechanism, slot, payload)
            recorded += 1
            self.log.info("result_recorded", **self._key(mechanism, slot))
            self.faults.reached("after_insert")
            self._advance(self._entry(mechanism, slot))
        return recorded

    def _settle_open(self) -> None:
        for entry in self.state.entries(*OPEN_STATUSES):
            if self.stopping:
                return
            self.log.info("recovering", status=str(entry.status), **self._key(entry.mechanism, entry.slot))
            self._advance(entry)

    def _advance(self, entry: JournalEntry) -> None:
        """Drives one open entry to a final status, or leaves it SIGNED while its transaction is pending."""
        key = (entry.mechanism, entry.slot)
        if entry.status is Status.PENDING:
            if self.chain.is_accepted(*key):
                self._settle_accepted_elsewhere(entry)
            else:
                self._sign_send_wait(entry)
            return
        if self.chain.is_accepted(*key):
            self._settle_accepted_elsewhere(entry)
            return
        latest = self.state.submissions(*key)[-1]
        tx_state = self.chain.tx_state(latest.tx_hash)
        if tx_state is TxState.UNKNOWN:
            if self.chain.confirmed_nonce() > latest.nonce:
                # Another transaction used the nonce, so ours can never land: sign the payload again.
                self.log.warning("nonce_consumed", nonce=latest.nonce, tx_hash=latest.tx_hash, **self._key(*key))
                self._sign_send_wait(entry)
                return
            self.log.info("rebroadcast", nonce=latest.nonce, tx_hash=latest.tx_hash, **self._key(*key))
            self._send(entry, latest)
        self._await(entry, latest)

    def _sign_send_wait(self, entry: JournalEntry) -> None:
        key = (entry.mechanism, entry.slot)
        try:
            submission = self.chain.sign(self.logic.call_for(entry.slot, entry.payload))
        except Rejected as rejected:
            self._settle_rejected(entry, rejected)
            return
        self.state.record_submission(*key, submission)
        self.log.info("tx_signed", nonce=submission.nonce, tx_hash=submission.tx_hash, **self._key(*key))
        self.faults.reached("after_sign")
        self._send(entry, submission)
        self._await(entry, submission)

    def _send(self, entry: JournalEntry, submission: Submission) -> None:
        self.chain.broadcast(submission.raw_tx)
        self.log.info("tx_sent", tx_hash=submission.tx_hash, **self._key(entry.mechanism, entry.slot))
        self.faults.reached("after_send")

    def _await(self, entry: JournalEntry, submission: Submission) -> None:
        try:
            block = self.chain.wait(submission.tx_hash, self.receipt_timeout)
        except Rejected as rejected:
            self._settle_rejected(entry, rejected)
            return
        self.faults.reached("after_receipt")
        self._finish(entry, Status.ACCEPTED, tx_hash=submission.tx_hash, block=block)

    def _settle_rejected(self, entry: JournalEntry, rejected: Rejected) -> None:
        if rejected.error_name == ALREADY_ACCEPTED:
            self._settle_accepted_elsewhere(entry)
        else:
            self._finish(entry, Status.FAILED, error=str(rejected))

    def _settle_accepted_elsewhere(self, entry: JournalEntry) -> None:
        """The key is accepted on chain: ACCEPTED if one of our transactions landed it, else SUPERSEDED."""
        key = (entry.mechanism, entry.slot)
        ours = self.state.submissions(*key)
        since = min((s.signed_at_block for s in ours), default=self.start_block)
        landed = self.chain.acceptance(*key, since_block=since)
        if landed is not None and landed.tx_hash in {s.tx_hash for s in ours}:
            self._finish(entry, Status.ACCEPTED, tx_hash=landed.tx_hash, block=landed.block)
        elif landed is not None:
            self._finish(entry, Status.SUPERSEDED, tx_hash=landed.tx_hash, block=landed.block)
        else:
            self._finish(entry, Status.SUPERSEDED)

    def _finish(self, entry: JournalEntry, status: Status, *, tx_hash: str | None = None,
                block: int | None = None, error: str | None = None) -> None:
        self.state.finish(entry.mechanism, entry.slot, status, tx_hash=tx_hash, block=block, error=error)
        self._changes[status] += 1
        level = logging.ERROR if status is Status.FAILED else logging.INFO
        self.log.log(level, f"result_{status}", tx_hash=tx_hash, block=block, error=error,
                     **self._key(entry.mechanism, entry.slot))
        if status is Status.ACCEPTED:
            self.faults.reached("after_accept")

    def _entry(self, mechanism: bytes, slot: int) -> JournalEntry:
        entry = self.state.entry(mechanism, slot)
        assert entry is not None, "entry inserted just before"
        return entry

    @staticmethod
    def _key(mechanism: bytes, slot: int) -> dict[str, Any]:
        return {"mechanism": "0x" + mechanism.hex(), "slot": slot}
