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

Results are pipelined: a window of up to ``window`` keys goes through each step together (one commit per
step for the window, one batch of chain requests), so a window's transactions are in flight at once. The
rule is unchanged: a key's transaction is committed before it is broadcast.

A crash anywhere leaves the entry PENDING or SIGNED, and every run first drives open entries to a final
status: a key accepted through one of our stored transactions is ACCEPTED, through anyone else's
SUPERSEDED; an unknown transaction is rebroadcast from its stored raw bytes unless its nonce was consumed
by another transaction, in which case the payload is signed again; a transaction whose max fee fell below
the base fee is re-priced (same nonce, so only one of the two can be mined). No key is signed twice while
an earlier transaction for it can still land, and no computed result is dropped. A key the contract
refuses at gas estimation (nothing sent) stays PENDING and is retried with backoff; a mined transaction that
reverted makes it FAILED, and so does a call that cannot be built from its payload. A slot whose result cannot
be computed (the worker's compute raised) is journaled FAILED with the reason and computed again after a
backoff like a deferred key (its inputs may be completed later); either way one poisoned input never stalls
the slots behind it.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from .logs import WorkerLog, worker_logger
from .state import OPEN_STATUSES, ChainResetError, Cursor, JournalEntry, Status, Submission, WorkerState

#: Name of the custom error a results contract raises for a key it accepted before.
ALREADY_ACCEPTED = "ResultAlreadyAccepted"

#: Places where a :class:`FaultInjector` can crash the worker, in the order a result passes them.
CRASH_POINTS = ("after_event", "after_insert", "after_sign", "after_send", "after_receipt", "after_accept")
CRASH_ENV = "KWX_WORKER_CRASH_AT"

#: After a stop request, how long in-flight receipts are still waited for (s): short, so SIGTERM ends a worker
#: within 2 s even on a loaded machine (interpreter exit takes the rest),
#: and an entry whose receipt is not in by then stays SIGNED for the next run.
STOP_GRACE = 0.5
#: Receipt polling pauses (s): short first (a local node mines in milliseconds), doubling up to the cap.
RECEIPT_FIRST_PAUSE = 0.002
RECEIPT_MAX_PAUSE = 0.25
#: Longest pause (s) between polls while the RPC is down, and between retries of a key refused at estimation.
MAX_BACKOFF = 600.0


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


class FeeTooLow(Exception):
    """The node refused a transaction because its max fee is below the current base fee."""


class FeeCapReached(Exception):
    """A transaction would need a higher fee than the configured cap allows: nothing was signed."""


class ResultChain(Protocol):
    """The chain operations of the runtime, for one submitting account and one results contract.

    Transaction hashes are lowercase ``0x`` hex strings. A node that cannot be reached raises
    ConnectionError (the runtime backs off and logs it once).
    """

    def identity(self) -> dict[str, str]:
        """Values that tell this chain and deployment apart (chain id, genesis hash, contract address)."""

    def head(self) -> int:
        """The latest block number."""

    def is_accepted(self, mechanism: bytes, slot: int) -> bool:
        """Whether the results contract has accepted the key."""

    def acceptance(self, mechanism: bytes, slot: int, since_block: int) -> Acceptance | None:
        """The transaction that accepted the key, searched from `since_block` to the head (None if not found)."""

    def sign(self, calls: Sequence[Any]) -> list[Submission | Rejected]:
        """Builds (fees, gas, next nonces) and signs the contract calls, in order: per call its Submission, or
        :class:`Rejected` if it would revert (no nonce is used for it). Raises :class:`FeeCapReached` when
        the base fee is above the fee cap (nothing signed)."""

    def broadcast(self, raw_txs: Sequence[bytes]) -> list[Exception | None]:
        """Sends signed transactions; per transaction None (the node has it, also if it had it already),
        :class:`FeeTooLow`, or another refusal."""

    def receipts(self, tx_hashes: Sequence[str]) -> dict[str, int | Rejected]:
        """The outcome of those transactions that are mined: their block, or :class:`Rejected` if they
        reverted. Transactions not mined yet are left out."""

    def reprice(self, submission: Submission) -> Submission:
        """The same transaction (nonce, call, gas) signed with fees the node takes now, outbidding the old
        ones; raises :class:`FeeCapReached` if the cap does not allow it."""

    def fee_too_low(self, submission: Submission) -> bool:
        """Whether the transaction's max fee is below the current base fee (it cannot be mined now)."""

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
    failed: int  #: keys that became FAILED (a mined transaction reverted)
    deferred: int  #: keys the contract refused at gas estimation in this run (nothing sent; retried later)
    open: int  #: keys still PENDING or SIGNED (a receipt not in yet, a deferred key)
    stopped: bool  #: the run ended early on a stop request

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def block_ranges(first: int, last: int, size: int) -> Iterator[tuple[int, int]]:
    """Inclusive block ranges of at most `size` blocks covering [first, last] (none if first > last)."""
    for lo in range(first, last + 1, size):
        yield lo, min(lo + size - 1, last)


@dataclass
class _InFlight:
    """A key's transaction the runtime is seeing through: broadcast it (unless `sent`), then its receipt."""

    entry: JournalEntry
    submission: Submission
    sent: bool
    settled: bool = False  #: the key is final already; the transaction only keeps the nonces contiguous


class Worker:
    """Runs one :class:`WorkerLogic` against one :class:`ResultChain` with its state in `state_path`.

    ``confirmations``: blocks an event must be below the head before it is read (default 0: Avalanche
    blocks are final once accepted; raise it on chains that reorganise). ``start_block``: first block
    worth scanning (the deployment block). ``block_chunk``: most blocks per log query (public RPCs cap
    ranges). ``receipt_timeout``: seconds to wait for a window's receipts before leaving its entries open
    for the next run. ``window``: keys signed and sent together. ``retry_backoff``: seconds before the
    first retry of a key refused at gas estimation (doubling per refusal, at most MAX_BACKOFF; a new
    process retries at once). ``fresh``: set an existing state file aside and start a new one.
    ``faults``: crash injection for tests (default from ``KWX_WORKER_CRASH_AT``).
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
        window: int = 64,
        retry_backoff: float = 5.0,
        fresh: bool = False,
        faults: FaultInjector | None = None,
    ) -> None:
        if confirmations < 0 or block_chunk < 1 or start_block < 0 or window < 1:
            raise ValueError("confirmations and start_block must be >= 0, block_chunk and window >= 1")
        self.logic = logic
        self.chain = chain
        self.confirmations = confirmations
        self.start_block = start_block
        self.block_chunk = block_chunk
        self.receipt_timeout = receipt_timeout
        self.window = window
        self.retry_backoff = retry_backoff
        self.faults = faults if faults is not None else FaultInjector.from_env()
        self.log: WorkerLog = worker_logger(logic.name)
        self._stop = threading.Event()
        self._stop_at: float | None = None
        self._changes: Counter[Status] = Counter()
        self._deferred = 0
        self._retry_at: dict[tuple[bytes, int], float] = {}  # in memory: a new process retries at once
        self._outstanding: list[_InFlight] = []  # sent, receipts not collected yet
        self.state = WorkerState(state_path, logic.schema, fresh=fresh)
        try:
            if self.state.set_aside is not None:
                self.log.warning("state_set_aside", old=str(self.state.set_aside), state=str(self.state.path))
            self.state.bind(self._identity())
        except BaseException:
            self.state.close()
            raise

    def _identity(self) -> dict[str, str]:
        return {"worker": self.logic.name, "mechanism": "0x" + self.logic.mechanism.hex(),
                **self.chain.identity(), **self.logic.identity()}

    def close(self) -> None:
        self.state.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Asks the worker to stop after its current step (safe from a signal handler or another thread)."""
        if self._stop_at is None:
            self._stop_at = time.monotonic()
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
        """Checks the chain is the one the state was made on (ChainResetError if it was reset), settles open
        journal entries, processes events up to the safe head, submits new results."""
        self._changes.clear()
        self._deferred = 0
        head = self.chain.head()
        self.state.bind(self._identity())
        try:
            self._drive(self._open_entries())
            self._flush()
            events = self._scan(head - self.confirmations)
            results = self._submit_new()
            self._flush()
        finally:
            self._outstanding = []
        summary = RunSummary(
            head=head,
            scanned_to=self.state.cursor(self.start_block).scanned_block,
            events=events,
            results=results,
            accepted=self._changes[Status.ACCEPTED],
            superseded=self._changes[Status.SUPERSEDED],
            failed=self._changes[Status.FAILED],
            deferred=self._deferred,
            open=len(self.state.entries(*OPEN_STATUSES)),
            stopped=self.stopping,
        )
        self.log.info("run_done", **summary.as_dict())
        return summary

    def run_forever(self, poll_seconds: float = 5.0) -> None:
        """Runs :meth:`run_once` every `poll_seconds` until :meth:`stop` or SIGTERM/SIGINT.

        An unreachable RPC is logged once (``rpc_unreachable``, then ``rpc_restored``) and polled with
        doubling pauses up to MAX_BACKOFF; another failing run is logged (``run_failed``) and retried at the
        next poll; the journal keeps whatever it had committed. A chain reset (ChainResetError) ends the
        loop: it is raised to the caller.
        """
        self.log.info("worker_started", poll_seconds=poll_seconds, confirmations=self.confirmations,
                      window=self.window, state=str(self.state.path))
        unreachable_since: float | None = None
        pause = poll_seconds
        with self.stop_on_signals():
            while not self.stopping:
                try:
                    self.run_once()
                except ChainResetError:
                    raise
                except ConnectionError as exc:  # the node is down or restarting: say so once, back off
                    if unreachable_since is None:
                        unreachable_since = time.monotonic()
                        self.log.warning("rpc_unreachable", error=str(exc))
                    pause = min(max(2 * pause, poll_seconds), MAX_BACKOFF)
                except Exception as exc:  # the loop must survive transient errors; the journal is intact
                    self.log.exception("run_failed", error=repr(exc))
                    pause = poll_seconds
                else:
                    if unreachable_since is not None:
                        self.log.info("rpc_restored", down_seconds=round(time.monotonic() - unreachable_since, 1))
                        unreachable_since = None
                    pause = poll_seconds
                self._stop.wait(pause)
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

    def _open_entries(self) -> list[JournalEntry]:
        """Open entries in the order their transactions were signed (SIGNED by nonce), then PENDING ones."""
        signed = self.state.entries(Status.SIGNED)
        nonces = {(e.mechanism, e.slot): self.state.submissions(e.mechanism, e.slot)[-1].nonce for e in signed}
        return sorted(signed, key=lambda e: nonces[(e.mechanism, e.slot)]) + self.state.entries(Status.PENDING)

    def _submit_new(self) -> int:
        mechanism = self.logic.mechanism
        now = time.monotonic()
        retry = {slot for slot in self.state.unmade_slots(mechanism) if self._retry_at.get((mechanism, slot), 0.0) <= now}
        journaled = {row[0] for row in self.state.db.execute(
            "SELECT slot FROM journal WHERE mechanism = ?", ("0x" + mechanism.hex(),))} - retry
        ready = sorted(set(self.logic.ready_slots(self.state.db)) - journaled)
        recorded = 0
        for start in range(0, len(ready), self.window):
            if self.stopping:
                break
            results, unmade = self._compute(ready[start:start + self.window])
            self.state.forget_unmade(mechanism, [slot for slot, _ in results if slot in retry])
            self.state.insert_results(mechanism, results)
            for slot, error in unmade:
                attempts = self.state.record_unmade(mechanism, slot, error)
                delay = min(self.retry_backoff * 2 ** min(attempts - 1, 30), MAX_BACKOFF)
                self._retry_at[(mechanism, slot)] = time.monotonic() + delay
                self._changes[Status.FAILED] += 1
                self.log.error("result_failed", error=error, attempts=attempts, retry_in=delay,
                               **self._key(mechanism, slot))
            for slot, _ in results:
                recorded += 1
                self.log.info("result_recorded", **self._key(mechanism, slot))
                self.faults.reached("after_insert")
            self._drive([self._entry(mechanism, slot) for slot, _ in results])
        return recorded

    def _compute(self, slots: list[int]) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
        """(slot, payload) of each slot the logic computes, and (slot, error) of each whose compute raised. A
        slot whose inputs break the computation (a poisoned bid, a bug, inputs not complete yet) is journaled
        FAILED with its reason instead of stopping every slot behind it, and computed again after a backoff."""
        results: list[tuple[int, dict[str, Any]]] = []
        unmade: list[tuple[int, str]] = []
        for slot in slots:
            try:
                results.append((slot, self.logic.compute(self.state.db, slot)))
            except Exception as exc:  # any error of the worker's own code: this slot fails, the next ones go on
                unmade.append((slot, f"{WorkerState.UNMADE}{exc!r}"))
        return results, unmade

    def _drive(self, entries: list[JournalEntry]) -> None:
        """Drives open entries towards a final status, a window at a time: recover or sign, broadcast; the
        receipts of each window are collected after the next one is sent (:meth:`_flush` collects the last)."""
        for start in range(0, len(entries), self.window):
            if self.stopping:
                return
            to_sign: list[JournalEntry] = []
            flights: list[_InFlight] = []
            for entry in entries[start:start + self.window]:
                if entry.status is Status.PENDING:
                    if self._retry_at.get((entry.mechanism, entry.slot), 0.0) <= time.monotonic():
                        to_sign.append(entry)
                else:
                    self._recover(entry, to_sign, flights)
            # Stored transactions go out before new ones are signed: a nonce manager starting from the node's
            # pending count must see their nonces as taken.
            self._send([f for f in flights if not f.sent])
            signed = self._sign(to_sign)
            self._send(signed)
            # The previous window's receipts are collected only now, so the node mines one window while the next
            # is computed, estimated and signed.
            self._flush()
            self._outstanding = flights + signed

    def _flush(self) -> None:
        """Collects the receipts of the last window sent."""
        outstanding, self._outstanding = self._outstanding, []
        self._await(outstanding)

    def _recover(self, entry: JournalEntry, to_sign: list[JournalEntry], flights: list[_InFlight]) -> None:
        """Decides what a SIGNED entry from an earlier run needs (the table in docs/workers.md)."""
        key = (entry.mechanism, entry.slot)
        self.log.info("recovering", status=str(entry.status), **self._key(*key))
        submissions = self.state.submissions(*key)
        latest = submissions[-1]
        if self.chain.is_accepted(*key):
            self._settle_accepted_elsewhere(entry)
            if self.chain.tx_state(latest.tx_hash) is TxState.UNKNOWN and self.chain.confirmed_nonce() <= latest.nonce:
                # Later transactions of its window wait behind this nonce: send it anyway (it reverts harmlessly
                # with ResultAlreadyAccepted) rather than leave a gap.
                self.log.info("gap_filled", nonce=latest.nonce, tx_hash=latest.tx_hash, **self._key(*key))
                flights.append(_InFlight(entry, latest, sent=False, settled=True))
            return
        tx_state = self.chain.tx_state(latest.tx_hash)
        if tx_state is TxState.MINED:
            flights.append(_InFlight(entry, latest, sent=True))
        elif tx_state is TxState.PENDING:
            if self.chain.fee_too_low(latest):
                self._reprice(entry, latest, flights)
            else:
                flights.append(_InFlight(entry, latest, sent=True))
        elif self.chain.confirmed_nonce() <= latest.nonce:
            self.log.info("rebroadcast", nonce=latest.nonce, tx_hash=latest.tx_hash, **self._key(*key))
            flights.append(_InFlight(entry, latest, sent=False))
        else:
            # The nonce is used. By an earlier transaction of ours for this key (one we re-priced)? Then that one
            # was mined and reverted (the key is not accepted): its receipt settles the key.
            mined = [s for s in submissions[:-1]
                     if s.nonce == latest.nonce and self.chain.tx_state(s.tx_hash) is TxState.MINED]
            if mined:
                flights.append(_InFlight(entry, mined[0], sent=True))
            else:  # by another transaction, so ours can never land: sign the payload again
                self.log.warning("nonce_consumed", nonce=latest.nonce, tx_hash=latest.tx_hash, **self._key(*key))
                to_sign.append(entry)

    def _sign(self, entries: list[JournalEntry]) -> list[_InFlight]:
        """Signs the entries' calls together and commits every transaction before any is broadcast."""
        calls, buildable = [], []
        for entry in entries:
            try:
                calls.append(self.logic.call_for(entry.slot, entry.payload))
                buildable.append(entry)
            except Exception as exc:  # a payload the contract call cannot carry fails its key, not the window
                self._finish(entry, Status.FAILED, error=f"call not built: {exc!r}")
        entries = buildable
        if not entries:
            return []
        try:
            outcomes = self.chain.sign(calls)
        except FeeCapReached as capped:
            for entry in entries:
                self._defer(entry, f"fee cap: {capped}")
            return []
        signed = [(e, o) for e, o in zip(entries, outcomes) if isinstance(o, Submission)]
        for entry, outcome in zip(entries, outcomes):
            if isinstance(outcome, Rejected):
                if outcome.error_name == ALREADY_ACCEPTED:
                    self._settle_accepted_elsewhere(entry)
                else:
                    self._defer(entry, str(outcome))
        self.state.record_submissions((e.mechanism, e.slot, s) for e, s in signed)
        for entry, submission in signed:
            self._retry_at.pop((entry.mechanism, entry.slot), None)
            self.log.info("tx_signed", nonce=submission.nonce, tx_hash=submission.tx_hash,
                          **self._key(entry.mechanism, entry.slot))
            self.faults.reached("after_sign")
        return [_InFlight(e, s, sent=False) for e, s in signed]

    def _defer(self, entry: JournalEntry, error: str) -> None:
        """The contract (or the fee cap) refused the key before anything was sent: retry it later."""
        key = (entry.mechanism, entry.slot)
        attempts = self.state.defer(*key, error)
        delay = min(self.retry_backoff * 2 ** min(attempts - 1, 30), MAX_BACKOFF)
        self._retry_at[key] = time.monotonic() + delay
        self._deferred += 1
        self.log.warning("result_deferred", error=error, attempts=attempts, retry_in=delay, **self._key(*key))

    def _reprice(self, entry: JournalEntry, stale: Submission, flights: list[_InFlight]) -> None:
        """Replaces a transaction the base fee has outgrown: same nonce, new fees; both stay on record."""
        key = (entry.mechanism, entry.slot)
        try:
            replacement = self.chain.reprice(stale)
        except FeeCapReached as capped:
            self.log.warning("fee_cap_reached", nonce=stale.nonce, tx_hash=stale.tx_hash, error=str(capped),
                             **self._key(*key))
            return
        self.state.record_submission(*key, replacement)
        self.log.warning("tx_repriced", nonce=replacement.nonce, old_tx_hash=stale.tx_hash,
                         tx_hash=replacement.tx_hash, **self._key(*key))
        flights.append(_InFlight(entry, replacement, sent=False))

    def _send(self, flights: list[_InFlight]) -> None:
        """Broadcasts the flights' transactions together; one refused as too cheap is re-priced and sent
        again. Any other refusal ends the run (the entries stay SIGNED: the next run retries them)."""
        while flights:
            outcomes = self.chain.broadcast([f.submission.raw_tx for f in flights])
            refused: Exception | None = None
            repriced: list[_InFlight] = []
            for flight, outcome in zip(flights, outcomes):
                if outcome is None:
                    flight.sent = True
                    self.log.info("tx_sent", tx_hash=flight.submission.tx_hash,
                                  **self._key(flight.entry.mechanism, flight.entry.slot))
                    self.faults.reached("after_send")
                elif isinstance(outcome, FeeTooLow):
                    replaced: list[_InFlight] = []
                    self._reprice(flight.entry, flight.submission, replaced)
                    for new in replaced:
                        flight.submission = new.submission
                        repriced.append(flight)
                elif refused is None:
                    refused = outcome
            if refused is not None:
                raise refused
            flights = repriced

    def _await(self, flights: list[_InFlight]) -> None:
        """Collects the receipts of sent flights and settles each key as its receipt arrives. Waits at most
        `receipt_timeout` (then TimeoutError, the rest stay SIGNED), and after a stop request at most
        STOP_GRACE more."""
        waiting = {f.submission.tx_hash: f for f in flights if f.sent and not f.settled}
        deadline = time.monotonic() + self.receipt_timeout
        pause = RECEIPT_FIRST_PAUSE
        while waiting:
            arrived = self.chain.receipts(list(waiting))
            accepted: list[tuple[_InFlight, int]] = []
            for tx_hash, outcome in arrived.items():
                flight = waiting.pop(tx_hash)
                self.faults.reached("after_receipt")
                if isinstance(outcome, Rejected):
                    self._settle_rejected(flight.entry, outcome)
                else:
                    accepted.append((flight, outcome))
            self._finish_many([(f.entry, Status.ACCEPTED, f.submission.tx_hash, block, None) for f, block in accepted])
            if not waiting:
                return
            now = time.monotonic()
            if self._stop_at is not None and now - self._stop_at >= STOP_GRACE:
                self.log.info("receipts_left_open", count=len(waiting))
                return
            if now >= deadline:
                raise TimeoutError(f"no receipt for {len(waiting)} transaction(s) after {self.receipt_timeout:g} s; "
                                   "they stay signed and the next run settles them")
            nap = min(pause, max(deadline - now, 0))
            if self._stop_at is None:
                self._stop.wait(nap)  # a stop request wakes it: the grace counts from the request
            else:
                time.sleep(min(nap, max(self._stop_at + STOP_GRACE - now, 0)))
            pause = min(2 * pause, RECEIPT_MAX_PAUSE)

    def _settle_rejected(self, entry: JournalEntry, rejected: Rejected) -> None:
        """A mined transaction of ours reverted: someone else's acceptance, or a final failure."""
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
        self._finish_many([(entry, status, tx_hash, block, error)])

    def _finish_many(self, settled: list[tuple[JournalEntry, Status, str | None, int | None, str | None]]) -> None:
        """Commits final statuses together, then logs each (and passes the after_accept crash point)."""
        if not settled:
            return
        self.state.finish_many((e.mechanism, e.slot, status, tx_hash, block, error)
                               for e, status, tx_hash, block, error in settled)
        for entry, status, tx_hash, block, error in settled:
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
