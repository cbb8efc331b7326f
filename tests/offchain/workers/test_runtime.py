"""Worker runtime against an in-memory chain: journal protocol, crash recovery, cursor, shutdown, logs.

The fake chain has one accept-once results contract, a mempool, account nonces and knobs for the
failures the runtime must survive (dropped transactions, nonces used by someone else, keys accepted by
another submitter, a node that forgets a mined transaction). A "crash" raises out of the worker at an
injected point; the test then drops the worker and starts a new one on the same state file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from offchain.workers.logs import configure_json_logging
from offchain.workers.runtime import (
    ALREADY_ACCEPTED,
    CRASH_POINTS,
    Acceptance,
    ChainEvent,
    FaultInjector,
    FeeCapReached,
    FeeTooLow,
    Rejected,
    TxState,
    Worker,
)
from offchain.workers.state import Status, Submission, WorkerStateError

MECHANISM = hashlib.sha3_256(b"test.sum-of-readings").digest()
OTHER_SUBMITTER = "other"


class SimulatedCrash(BaseException):
    """Stands for a killed process: not an Exception, so nothing in the worker catches it."""


def crash() -> None:
    raise SimulatedCrash


@dataclass
class FakeTx:
    sender: str
    nonce: int
    mechanism: bytes
    slot: int
    payload: dict[str, Any]
    max_fee: int = 100

    def encode(self) -> bytes:
        return json.dumps({"sender": self.sender, "nonce": self.nonce, "mechanism": self.mechanism.hex(),
                           "slot": self.slot, "payload": self.payload, "max_fee": self.max_fee},
                          sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> FakeTx:
        d = json.loads(raw)
        return cls(d["sender"], d["nonce"], bytes.fromhex(d["mechanism"]), d["slot"], d["payload"], d["max_fee"])


def tx_hash(raw: bytes) -> str:
    return "0x" + hashlib.sha256(raw).hexdigest()


@dataclass
class FakeChain:
    """One account ("worker") submitting to one accept-once results contract; other senders exist too."""

    automine: bool = True
    genesis: str = "0xgenesis"
    head_block: int = 0
    nonces: Counter = field(default_factory=Counter)  # confirmed nonce per sender
    mempool: dict[str, FakeTx] = field(default_factory=dict)
    mined: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # hash -> (block, revert error)
    accepted: dict[tuple[bytes, int], Acceptance] = field(default_factory=dict)
    accept_events: list[tuple[bytes, int, str]] = field(default_factory=list)  # (mechanism, slot, tx hash)
    credited: Counter = field(default_factory=Counter)  # slot -> sum of accepted payload totals
    broadcasts: list[str] = field(default_factory=list)
    readings: list[ChainEvent] = field(default_factory=list)
    rejects: dict[int, str] = field(default_factory=dict)  # slot -> custom error at gas estimation
    mined_rejects: dict[int, str] = field(default_factory=dict)  # slot -> custom error once mined
    forgotten: set[str] = field(default_factory=set)
    before_mine: Callable[[], None] | None = None
    on_broadcast: Callable[[], None] | None = None
    head_failures: int = 0  # head() raises ConnectionError this many times
    receipt_timeouts: int = 0  # receipts() answers nothing this many times
    base_fee: int = 10  # a transaction offering less is refused at broadcast and never mined
    fee_cap: int = 10_000  # most a (re-)priced transaction may offer

    # --- test controls ---------------------------------------------------------------------------

    def emit(self, *readings: tuple[int, int]) -> None:
        """Mines one block holding one Reading(slot, value) event per pair."""
        self.head_block += 1
        for i, (slot, value) in enumerate(readings):
            self.readings.append(ChainEvent(self.head_block, i, f"0xreading{self.head_block}_{i}", "Reading",
                                            {"slot": slot, "value": value}))

    def mine(self) -> None:
        if self.before_mine is not None:
            hook, self.before_mine = self.before_mine, None
            hook()
        for h, tx in sorted(self.mempool.items(), key=lambda item: item[1].nonce):
            if tx.nonce == self.nonces[tx.sender] and tx.max_fee >= self.base_fee:
                self._execute(h, tx)
        self.mempool = {h: tx for h, tx in self.mempool.items() if tx.nonce >= self.nonces[tx.sender]}

    def _execute(self, h: str, tx: FakeTx) -> None:
        self.head_block += 1
        self.nonces[tx.sender] += 1
        key = (tx.mechanism, tx.slot)
        if key in self.accepted or tx.slot in self.mined_rejects:
            self.mined[h] = (self.head_block, self.mined_rejects.get(tx.slot, ALREADY_ACCEPTED))
            return
        self.mined[h] = (self.head_block, None)
        self.accepted[key] = Acceptance(h, self.head_block)
        self.accept_events.append((tx.mechanism, tx.slot, h))
        self.credited[tx.slot] += tx.payload["total"]

    def accept_by_other(self, slot: int) -> str:
        """Another SCORER lands a result for `slot` first."""
        tx = FakeTx(OTHER_SUBMITTER, self.nonces[OTHER_SUBMITTER], MECHANISM, slot, {"total": -1})
        h = tx_hash(tx.encode())
        self._execute(h, tx)
        return h

    def use_worker_nonce_elsewhere(self) -> None:
        """The worker's account sends an unrelated transaction with its next nonce."""
        self.head_block += 1
        self.nonces["worker"] += 1

    def drop_mempool(self) -> None:
        self.mempool.clear()

    # --- ResultChain ----------------------------------------------------------------------------

    def identity(self) -> dict[str, str]:
        return {"chain_id": "fake", "genesis": self.genesis}

    def head(self) -> int:
        if self.head_failures:
            self.head_failures -= 1
            raise ConnectionError("rpc down")
        return self.head_block

    def is_accepted(self, mechanism: bytes, slot: int) -> bool:
        return (mechanism, slot) in self.accepted

    def acceptance(self, mechanism: bytes, slot: int, since_block: int) -> Acceptance | None:
        found = self.accepted.get((mechanism, slot))
        return found if found is not None and found.block >= since_block else None

    def sign(self, calls: list[tuple[bytes, int, dict[str, Any]]]) -> list[Submission | Rejected]:
        if 2 * self.base_fee > self.fee_cap:
            raise FeeCapReached(f"base fee {self.base_fee} above the cap")
        pending = sum(1 for tx in self.mempool.values() if tx.sender == "worker")
        outcomes: list[Submission | Rejected] = []
        for mechanism, slot, payload in calls:
            if slot in self.rejects:
                outcomes.append(Rejected(self.rejects[slot], (slot,)))
                continue
            if (mechanism, slot) in self.accepted:
                outcomes.append(Rejected(ALREADY_ACCEPTED, (mechanism, slot)))
                continue
            nonce = self.nonces["worker"] + pending + len([o for o in outcomes if isinstance(o, Submission)])
            raw = FakeTx("worker", nonce, mechanism, slot, payload, 2 * self.base_fee).encode()
            outcomes.append(Submission(tx_hash(raw), nonce, raw, self.head_block))
        return outcomes

    def reprice(self, submission: Submission) -> Submission:
        tx = FakeTx.decode(submission.raw_tx)
        tx.max_fee = max(2 * self.base_fee, tx.max_fee + tx.max_fee // 8 + 1)
        if tx.max_fee > self.fee_cap:
            raise FeeCapReached(f"needs {tx.max_fee}, cap {self.fee_cap}")
        raw = tx.encode()
        return Submission(tx_hash(raw), tx.nonce, raw, self.head_block)

    def fee_too_low(self, submission: Submission) -> bool:
        return FakeTx.decode(submission.raw_tx).max_fee < self.base_fee

    def broadcast(self, raw_txs: list[bytes]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for raw_tx in raw_txs:
            h = tx_hash(raw_tx)
            self.broadcasts.append(h)
            tx = FakeTx.decode(raw_tx)
            if h in self.mined or h in self.mempool:
                outcomes.append(None)
            elif tx.nonce < self.nonces[tx.sender]:
                outcomes.append(ValueError("nonce too low"))
            elif tx.max_fee < self.base_fee:
                outcomes.append(FeeTooLow(f"max fee {tx.max_fee} below base fee {self.base_fee}"))
            else:
                # A replacement (same sender and nonce) takes the place of the transaction it outbids.
                self.mempool = {k: t for k, t in self.mempool.items() if (t.sender, t.nonce) != (tx.sender, tx.nonce)}
                self.mempool[h] = tx
                outcomes.append(None)
                if self.on_broadcast is not None:
                    self.on_broadcast()
        if self.automine:
            self.mine()
        return outcomes

    def receipts(self, tx_hashes: list[str]) -> dict[str, int | Rejected]:
        if self.receipt_timeouts:
            self.receipt_timeouts -= 1
            return {}
        if any(h in self.mempool for h in tx_hashes):
            self.mine()
        found: dict[str, int | Rejected] = {}
        for h in tx_hashes:
            if h in self.mined:
                block, error = self.mined[h]
                found[h] = Rejected(error, ()) if error is not None else block
        return found

    def tx_state(self, tx_hash_: str) -> TxState:
        if tx_hash_ in self.mined and tx_hash_ not in self.forgotten:
            return TxState.MINED
        return TxState.PENDING if tx_hash_ in self.mempool else TxState.UNKNOWN

    def confirmed_nonce(self) -> int:
        return self.nonces["worker"]


class ReadingSums:
    """Toy worker: sums Reading(slot, value) events per slot; a slot is final once a later slot is seen."""

    name = "reading-sums"
    mechanism = MECHANISM
    schema = """CREATE TABLE IF NOT EXISTS readings (
        block INTEGER, log_index INTEGER, slot INTEGER, value INTEGER, PRIMARY KEY (block, log_index));"""

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain

    def identity(self) -> dict[str, str]:
        return {"source": "fake-readings"}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return [e for e in self.chain.readings if from_block <= e.block <= to_block]

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        # A plain INSERT: applying an event twice violates the primary key instead of passing silently.
        db.execute("INSERT INTO readings VALUES (?, ?, ?, ?)",
                   (event.block, event.log_index, event.args["slot"], event.args["value"]))

    def ready_slots(self, db: sqlite3.Connection) -> list[int]:
        return [r[0] for r in db.execute(
            "SELECT DISTINCT slot FROM readings WHERE slot < (SELECT MAX(slot) FROM readings)")]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        (total,) = db.execute("SELECT SUM(value) FROM readings WHERE slot = ?", (slot,)).fetchone()
        return {"total": total}

    def call_for(self, slot: int, payload: dict[str, Any]) -> tuple[bytes, int, dict[str, Any]]:
        return (self.mechanism, slot, payload)


# --- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def state_path(tmp_path):
    return tmp_path / "workers" / "reading-sums.sqlite"


def make_worker(chain: FakeChain, state_path, *, crash_at: str | None = None, occurrence: int = 1, **kwargs) -> Worker:
    faults = FaultInjector(crash_at, occurrence, action=crash) if crash_at else FaultInjector()
    return Worker(ReadingSums(chain), chain, state_path, faults=faults, **kwargs)


def run_until_crash(chain: FakeChain, state_path, crash_at: str, occurrence: int = 1) -> None:
    worker = make_worker(chain, state_path, crash_at=crash_at, occurrence=occurrence)
    with pytest.raises(SimulatedCrash):
        worker.run_once()
    worker.close()


def three_final_slots(chain: FakeChain) -> dict[int, int]:
    """Readings for slots 0-3 (slot 3 makes 0-2 final); returns the expected total per final slot."""
    chain.emit((0, 5), (0, 7))
    chain.emit((1, 11))
    chain.emit((2, 13), (1, 17))
    chain.emit((3, 19))
    return {0: 12, 1: 28, 2: 13}


def journal(state_path) -> dict[int, tuple[str, str | None]]:
    with sqlite3.connect(state_path) as db:
        return {slot: (status, h) for slot, status, h in db.execute("SELECT slot, status, tx_hash FROM journal")}


def assert_exactly_once(chain: FakeChain, state_path, expected: dict[int, int]) -> None:
    """Each final slot accepted once on chain with its total, through the hash the journal records."""
    assert Counter(slot for _, slot, _ in chain.accept_events) == Counter(expected.keys())
    assert dict(chain.credited) == expected
    landed = {slot: h for _, slot, h in chain.accept_events}
    assert journal(state_path) == {slot: ("accepted", landed[slot]) for slot in expected}


# --- the journal protocol ----------------------------------------------------------------------------


def test_clean_run_accepts_each_final_slot_once(state_path):
    chain = FakeChain()
    expected = three_final_slots(chain)
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
        again = worker.run_once()
    assert (summary.events, summary.results, summary.accepted, summary.open) == (6, 3, 3, 0)
    assert (again.events, again.results, again.accepted) == (0, 0, 0)
    assert_exactly_once(chain, state_path, expected)
    assert len(chain.broadcasts) == 3


@pytest.mark.parametrize("automine", [True, False], ids=["automine", "mempool"])
@pytest.mark.parametrize("occurrence", [1, 2])
@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_crash_at_any_point_then_restart_submits_exactly_once(state_path, crash_at, occurrence, automine):
    chain = FakeChain(automine=automine)
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, crash_at, occurrence)
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert_exactly_once(chain, state_path, expected)
    # Nothing was signed twice: every key kept its single transaction.
    with sqlite3.connect(state_path) as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == len(expected)
        assert db.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 6


def test_crash_after_sign_rebroadcasts_the_stored_transaction(state_path):
    chain = FakeChain()
    three_final_slots(chain)
    run_until_crash(chain, state_path, "after_sign")
    with sqlite3.connect(state_path) as db:
        (stored_hash,) = db.execute("SELECT tx_hash FROM journal WHERE slot = 0").fetchone()
    assert chain.broadcasts == []
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert chain.accepted[(MECHANISM, 0)].tx_hash == stored_hash


def test_transaction_dropped_from_mempool_is_rebroadcast_with_same_hash(state_path):
    chain = FakeChain(automine=False)
    three_final_slots(chain)
    run_until_crash(chain, state_path, "after_send")
    sent = chain.broadcasts[0]
    chain.drop_mempool()
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert chain.broadcasts.count(sent) == 2
    assert chain.accepted[(MECHANISM, 0)].tx_hash == sent


def test_nonce_used_by_another_transaction_signs_the_result_again(state_path):
    chain = FakeChain()
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, "after_sign")
    chain.use_worker_nonce_elsewhere()
    with make_worker(chain, state_path) as worker:
        worker.run_once()
        first, second = worker.state.submissions(MECHANISM, 0)
    assert second.nonce > first.nonce
    assert first.tx_hash not in chain.mined
    assert_exactly_once(chain, state_path, expected)
    assert chain.accepted[(MECHANISM, 0)].tx_hash == second.tx_hash


@pytest.mark.parametrize("crash_at", ["after_insert", "after_sign"])
def test_key_accepted_by_another_submitter_is_superseded_and_never_sent(state_path, crash_at):
    chain = FakeChain()
    three_final_slots(chain)
    run_until_crash(chain, state_path, crash_at)
    other = chain.accept_by_other(0)
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
    assert journal(state_path)[0] == ("superseded", other)
    assert (summary.superseded, summary.accepted) == (1, 2)
    # Slot 0's transaction was signed in the same window as slots 1 and 2 (after_sign) and is sent only to keep
    # the nonces contiguous: it reverts; it never lands the key.
    assert chain.nonces["worker"] == 3 - (crash_at == "after_insert")
    assert [slot for _, slot, h in chain.accept_events if h == other] == [0]
    assert Counter(slot for _, slot, _ in chain.accept_events) == Counter({0: 1, 1: 1, 2: 1})


def test_revert_already_accepted_after_another_landed_first_is_superseded(state_path):
    chain = FakeChain(automine=False)
    three_final_slots(chain)
    chain.before_mine = lambda: chain.accept_by_other(0)
    with make_worker(chain, state_path) as worker:
        worker.run_once()
        (ours,) = worker.state.submissions(MECHANISM, 0)
    assert chain.mined[ours.tx_hash][1] == ALREADY_ACCEPTED
    assert journal(state_path)[0] == ("superseded", chain.accepted[(MECHANISM, 0)].tx_hash)


def test_key_found_accepted_through_our_own_transaction_is_accepted_even_if_node_forgot_it(state_path):
    chain = FakeChain()
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, "after_send")
    chain.forgotten.add(chain.broadcasts[0])
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert_exactly_once(chain, state_path, expected)


def test_refusal_at_estimation_is_deferred_and_retried_not_failed(state_path):
    """Fault 2: a result the contract refuses before anything is sent (e.g. ParticipantNotRegistered) used to be
    FAILED for ever; it stays PENDING, is reported as deferred and lands once the cause is gone."""
    chain = FakeChain()
    expected = three_final_slots(chain)
    chain.rejects[1] = "ParticipantNotRegistered"
    with make_worker(chain, state_path, retry_backoff=0.05) as worker:
        summary = worker.run_once()
        too_soon = worker.run_once()
        entry = worker.state.entry(MECHANISM, 1)
        assert (summary.accepted, summary.deferred, summary.failed, summary.open) == (2, 1, 0, 1)
        assert (too_soon.deferred, too_soon.open) == (0, 1)  # backoff: not asked again at once
        assert entry.status is Status.PENDING and entry.attempts == 1 and "ParticipantNotRegistered" in entry.error
        assert (MECHANISM, 1) not in chain.accepted and len(chain.broadcasts) == 2
        del chain.rejects[1]
        time.sleep(0.06)
        retried = worker.run_once()
    assert (retried.accepted, retried.deferred, retried.open) == (1, 0, 0)
    assert_exactly_once(chain, state_path, expected)


def test_deferred_result_is_retried_at_once_by_a_new_process(state_path):
    chain = FakeChain()
    expected = three_final_slots(chain)
    chain.rejects[1] = "ParticipantNotRegistered"
    with make_worker(chain, state_path, retry_backoff=3600) as worker:
        assert worker.run_once().deferred == 1
    del chain.rejects[1]
    with make_worker(chain, state_path, retry_backoff=3600) as worker:
        assert worker.run_once().accepted == 1
    assert_exactly_once(chain, state_path, expected)


def test_mined_transaction_that_reverted_is_failed_and_final(state_path):
    chain = FakeChain()
    three_final_slots(chain)
    chain.mined_rejects[1] = "ScoreHolderNotActive"
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
        again = worker.run_once()
        entry = worker.state.entry(MECHANISM, 1)
    assert (summary.failed, summary.deferred) == (1, 0) and again.failed == again.results == 0
    assert entry.status is Status.FAILED and "ScoreHolderNotActive" in entry.error
    assert (MECHANISM, 1) not in chain.accepted


# --- a poisoned input (issue 12, attack 6) ----------------------------------------------------------------


class PoisonedSlot(ReadingSums):
    """ReadingSums whose compute raises for one slot, as fog-matching's did on a bid of -2**63 Wh (np.abs
    overflowed), or whose call cannot be built for it; named after a registered worker when one is given."""

    def __init__(self, chain: FakeChain, bad_slot: int, *, where: str = "compute", name: str = "reading-sums") -> None:
        super().__init__(chain)
        self.bad_slot, self.where, self.name = bad_slot, where, name
        self.computed: Counter = Counter()

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        self.computed[slot] += 1
        if slot == self.bad_slot and self.where == "compute":
            raise OverflowError("int64 overflow in the benefit matrix")
        return super().compute(db, slot)

    def call_for(self, slot: int, payload: dict[str, Any]) -> tuple[bytes, int, dict[str, Any]]:
        if slot == self.bad_slot and self.where == "call_for":
            raise ValueError("payload does not fit the contract's argument types")
        return super().call_for(slot, payload)


def _run_poisoned(chain: FakeChain, state_path, logic: PoisonedSlot) -> tuple[Any, Any]:
    with Worker(logic, chain, state_path, faults=FaultInjector()) as worker:
        first = worker.run_once()
        chain.emit((4, 23))  # slot 3 becomes final: the runtime goes on after the poisoned slot
        second = worker.run_once()
    return first, second


@pytest.mark.parametrize("where", ["compute", "call_for"])
def test_a_slot_whose_result_cannot_be_made_fails_and_the_next_slots_go_on(state_path, where):
    chain = FakeChain()
    expected = three_final_slots(chain)
    logic = PoisonedSlot(chain, bad_slot=1, where=where)
    first, second = _run_poisoned(chain, state_path, logic)
    assert (first.failed, first.accepted) == (1, 2) and (second.failed, second.accepted) == (0, 1)
    status, _ = journal(state_path)[1]
    assert status == "failed" and (1, 1) not in chain.accepted
    with sqlite3.connect(state_path) as db:
        (error,) = db.execute("SELECT error FROM journal WHERE slot = 1").fetchone()
    assert ("OverflowError" if where == "compute" else "ValueError") in error
    if where == "compute":
        assert logic.computed[1] == 1, "computed again only after its backoff"
    assert dict(chain.credited) == {0: expected[0], 2: expected[2], 3: 19}


def test_a_slot_whose_compute_failed_is_computed_again_once_its_inputs_are_whole(state_path):
    """A compute failure is not final (the fedavg worker refuses a round until a stale update is retrained): a new
    process retries it at once, the same process after a backoff; once it computes, it is submitted."""
    chain = FakeChain()
    expected = three_final_slots(chain)
    logic = PoisonedSlot(chain, bad_slot=1)
    with Worker(logic, chain, state_path, faults=FaultInjector(), retry_backoff=3600) as worker:
        assert worker.run_once().failed == 1
        assert worker.run_once().failed == 0 and logic.computed[1] == 1  # backing off
    logic.bad_slot = None  # the inputs are whole now
    with Worker(logic, chain, state_path, faults=FaultInjector()) as worker:
        summary = worker.run_once()
    assert (summary.results, summary.accepted) == (1, 1)
    assert_exactly_once(chain, state_path, expected)


def test_fog_matching_fails_a_period_with_a_poisoned_bid_and_matches_the_next(tmp_path):
    """The review's attack 6 on the real fog-matching compute: a bid of -2**63 Wh (which PeriodMatching now
    refuses) in period 1's inputs; period 1 ends FAILED with the reason, period 2 is matched."""
    from types import SimpleNamespace

    from offchain.mechanisms.fog_ems.workers import FogMatchingLogic

    class FogMatchingOnFakeChain(FogMatchingLogic):
        """The real compute; bids written straight into its tables; submissions to the fake chain."""

        def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
            return []

        def ready_slots(self, db: sqlite3.Connection) -> list[int]:
            return [1, 2]

        def call_for(self, slot: int, payload: dict[str, Any]) -> tuple[bytes, int, dict[str, Any]]:
            return (self.mechanism, slot, {"total": len(payload["prosumers"])})

    chain = FakeChain()
    logic = FogMatchingOnFakeChain(SimpleNamespace(w3=None, address="0xmatching"))
    with Worker(logic, chain, tmp_path / "fog-matching.sqlite", faults=FaultInjector()) as worker:
        with worker.state.transaction() as db:
            for period, net in ((1, -(2**63)), (1, 500), (2, -700), (2, 400)):
                idx = db.execute("SELECT COUNT(*) FROM prosumer_bids WHERE period = ?", (period,)).fetchone()[0]
                db.execute("INSERT INTO prosumer_bids VALUES (?, ?, ?, ?)", (period, idx, f"0xp{idx}", net))
            for period in (1, 2):
                db.execute("INSERT INTO ev_bids VALUES (?, 0, '0xev0', 1000, 1000)", (period,))
                db.execute("INSERT INTO ev_bids VALUES (?, 1, '0xev1', 1000, 1000)", (period,))
        summary = worker.run_once()
        failed = worker.state.entry(logic.mechanism, 1)
    assert (summary.failed, summary.accepted) == (1, 1)
    assert failed.status is Status.FAILED and "prosumer bids must lie within" in failed.error
    assert (logic.mechanism, 2) in chain.accepted


def _registered_workers() -> list[str]:
    from offchain.mechanisms import WORKERS

    return sorted(WORKERS)


@pytest.mark.parametrize("worker_name", _registered_workers())
def test_no_registered_worker_stalls_on_one_poisoned_slot(tmp_path, worker_name):
    """Every worker kwx runs (offchain.mechanisms.WORKERS, so later ones too) goes through the runtime, which
    settles a slot whose compute raises as FAILED and goes on."""
    chain = FakeChain()
    three_final_slots(chain)
    state = tmp_path / f"{worker_name}.sqlite"
    first, second = _run_poisoned(chain, state, PoisonedSlot(chain, bad_slot=0, name=worker_name))
    assert (first.failed, first.accepted, second.accepted) == (1, 2, 1)
    assert journal(state)[0][0] == "failed"


# --- fee spikes (fault 3) ---------------------------------------------------------------------------------


def test_signed_transaction_outpriced_by_a_fee_spike_is_repriced_with_the_same_nonce(state_path):
    """Fault 3: a stored transaction whose max fee fell below the base fee was resent as the same bytes on
    every restart, blocking every later key. It is re-priced (same nonce) and exactly one lands."""
    chain = FakeChain()
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, "after_sign")
    chain.base_fee = 1_000  # the stored transactions offer 20
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
        subs = {slot: worker.state.submissions(MECHANISM, slot) for slot in expected}
    assert summary.accepted == 3
    assert_exactly_once(chain, state_path, expected)
    for slot, (old, new) in subs.items():
        assert old.nonce == new.nonce and old.tx_hash != new.tx_hash
        assert chain.accepted[(MECHANISM, slot)].tx_hash == new.tx_hash and old.tx_hash not in chain.mined


def test_pending_transaction_below_the_base_fee_is_repriced_and_the_old_one_never_lands(state_path):
    chain = FakeChain(automine=False)
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, "after_send", 3)  # all three in the mempool offering 20
    chain.base_fee = 500
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert_exactly_once(chain, state_path, expected)
    chain.base_fee = 1  # even if the fee falls back, the replaced transactions can never be mined
    chain.mine()
    assert_exactly_once(chain, state_path, expected)


def test_fee_cap_bounds_repricing_and_leaves_the_key_signed(state_path):
    chain = FakeChain(fee_cap=300)
    three_final_slots(chain)
    run_until_crash(chain, state_path, "after_sign")
    chain.base_fee = 1_000
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
    assert summary.accepted == 0 and summary.open == 3
    assert chain.accepted == {} and journal(state_path)[0][0] == "signed"
    chain.base_fee, chain.fee_cap = 100, 10_000  # the spike passes
    with make_worker(chain, state_path) as worker:
        assert worker.run_once().accepted == 3


# --- pipelined windows --------------------------------------------------------------------------------------


def many_final_slots(chain: FakeChain, count: int) -> dict[int, int]:
    for slot in range(count + 1):
        chain.emit((slot, slot + 1))
    return {slot: slot + 1 for slot in range(count)}


def test_windows_of_transactions_are_in_flight_at_once(state_path):
    """A window is sent before the previous window's receipts are collected: up to two windows in flight."""
    chain = FakeChain(automine=False)
    expected = many_final_slots(chain, 10)
    in_flight = []
    chain.on_broadcast = lambda: in_flight.append(len(chain.mempool))
    with make_worker(chain, state_path, window=4) as worker:
        worker.run_once()
    assert max(in_flight) == 8
    assert_exactly_once(chain, state_path, expected)


@pytest.mark.parametrize("seed", range(40))
def test_killed_at_random_points_inside_windows_repeatedly_no_duplicate_no_loss(state_path, seed):
    """Kills the worker at random crash points and occurrences inside pipelined windows, restarts it, again and
    again (sometimes with transactions dropped from the mempool or the fee spiking meanwhile): every key is
    accepted exactly once, through the transaction the journal records."""
    rng = random.Random(seed)
    chain = FakeChain(automine=rng.random() < 0.5)
    expected = many_final_slots(chain, 12)
    for _ in range(rng.randint(1, 6)):
        worker = make_worker(chain, state_path, crash_at=rng.choice(CRASH_POINTS), occurrence=rng.randint(1, 8),
                             window=rng.randint(2, 5))
        try:
            worker.run_once()
        except SimulatedCrash:
            pass
        finally:
            worker.close()
        if rng.random() < 0.3:
            chain.drop_mempool()
        if rng.random() < 0.2:
            chain.base_fee *= 5
    chain.base_fee = min(chain.base_fee, 100)
    with make_worker(chain, state_path, window=rng.randint(1, 5)) as worker:
        worker.run_once()
    assert_exactly_once(chain, state_path, expected)


def test_receipt_timeout_leaves_entry_open_and_next_run_settles_it(state_path):
    chain = FakeChain(automine=False, receipt_timeouts=10**6)
    expected = three_final_slots(chain)
    with make_worker(chain, state_path, receipt_timeout=0.05) as worker:
        with pytest.raises(TimeoutError):
            worker.run_once()
        assert worker.state.entry(MECHANISM, 0).status is Status.SIGNED
        chain.receipt_timeouts = 0
        summary = worker.run_once()
    assert summary.accepted == 3
    assert_exactly_once(chain, state_path, expected)


# --- cursor ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("occurrence", [1, 2, 3, 5])
def test_restart_mid_scan_resumes_after_the_last_applied_event(state_path, occurrence):
    chain = FakeChain()
    expected = three_final_slots(chain)
    run_until_crash(chain, state_path, "after_event", occurrence)
    with sqlite3.connect(state_path) as db:
        assert db.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == occurrence
    with make_worker(chain, state_path) as worker:
        summary = worker.run_once()
    assert summary.events == 6 - occurrence
    assert_exactly_once(chain, state_path, expected)


def test_events_are_read_in_chunks_and_new_blocks_later(state_path):
    chain = FakeChain()
    three_final_slots(chain)
    with make_worker(chain, state_path, block_chunk=1) as worker:
        first = worker.run_once()
        chain.emit((4, 23), (3, 1))
        emitted_at = chain.head_block
        second = worker.run_once()
        cursor = worker.state.cursor(0)
    assert (first.events, second.events) == (6, 2)
    assert (cursor.scanned_block, cursor.event_block, cursor.event_log_index) == (emitted_at, emitted_at, 1)
    assert chain.credited[3] == 20


def test_confirmations_hold_back_the_newest_blocks(state_path):
    chain = FakeChain()
    chain.emit((0, 1))
    chain.emit((1, 2))
    chain.emit((2, 3))
    with make_worker(chain, state_path, confirmations=2) as worker:
        first = worker.run_once()
        chain.head_block += 2
        second = worker.run_once()
    assert (first.events, first.results) == (1, 0)
    assert (second.events, second.results) == (2, 2)


def test_start_block_skips_earlier_events(state_path):
    chain = FakeChain()
    chain.emit((0, 1))
    chain.emit((1, 2))
    chain.emit((2, 3))
    with make_worker(chain, state_path, start_block=2) as worker:
        summary = worker.run_once()
    assert (summary.events, summary.results) == (2, 1)
    assert dict(chain.credited) == {1: 2}


# --- state file --------------------------------------------------------------------------------------


def test_state_file_of_another_chain_is_refused(state_path):
    chain = FakeChain()
    make_worker(chain, state_path).close()
    with pytest.raises(WorkerStateError, match="genesis"):
        make_worker(FakeChain(genesis="0xother"), state_path)


def test_second_process_on_the_same_state_file_is_refused(state_path):
    chain = FakeChain()
    with make_worker(chain, state_path):
        with pytest.raises(WorkerStateError, match="in use"):
            make_worker(chain, state_path)


def test_state_file_uses_wal(state_path):
    with make_worker(FakeChain(), state_path):
        with sqlite3.connect(state_path) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- shutdown, loop, logs ----------------------------------------------------------------------------


def test_sigterm_finishes_the_current_submission_then_stops(state_path):
    chain = FakeChain()
    three_final_slots(chain)
    chain.on_broadcast = lambda: os.kill(os.getpid(), signal.SIGTERM)
    previous = signal.getsignal(signal.SIGTERM)
    with make_worker(chain, state_path, window=1) as worker:
        worker.run_forever(poll_seconds=0.01)
    # The signal arrived while slot 0 (a window of one) was in flight: it was waited for and committed, nothing
    # else began.
    assert journal(state_path) == {0: ("accepted", chain.accepted[(MECHANISM, 0)].tx_hash)}
    assert signal.getsignal(signal.SIGTERM) is previous
    chain.on_broadcast = None
    with make_worker(chain, state_path) as worker:
        worker.run_once()
    assert set(journal(state_path)) == {0, 1, 2}


def test_run_forever_survives_a_failing_run_and_keeps_polling(state_path):
    chain = FakeChain()
    expected = three_final_slots(chain)
    chain.head_failures = 2
    with make_worker(chain, state_path) as worker:
        threading.Timer(0.5, worker.stop).start()
        worker.run_forever(poll_seconds=0.01)
    assert chain.head_failures == 0
    assert_exactly_once(chain, state_path, expected)


def test_logs_are_json_lines_with_worker_event_and_key_fields(state_path):
    chain = FakeChain()
    three_final_slots(chain)
    stream = io.StringIO()
    configure_json_logging(stream)
    try:
        with make_worker(chain, state_path) as worker:
            worker.run_once()
    finally:
        configure_json_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"ts", "level", "worker", "event"} <= line.keys() for line in lines)
    assert {line["worker"] for line in lines} == {"reading-sums"}
    sent = [line for line in lines if line["event"] == "tx_sent"]
    assert [line["slot"] for line in sent] == [0, 1, 2]
    assert all(line["mechanism"] == "0x" + MECHANISM.hex() and line["tx_hash"].startswith("0x") for line in sent)


def test_fault_injector_reads_the_environment():
    assert FaultInjector.from_env({"KWX_WORKER_CRASH_AT": "after_send:3"}).point == "after_send"
    assert FaultInjector.from_env({"KWX_WORKER_CRASH_AT": "after_send:3"}).occurrence == 3
    assert FaultInjector.from_env({}).point is None
    with pytest.raises(ValueError, match="unknown crash point"):
        FaultInjector.from_env({"KWX_WORKER_CRASH_AT": "before_lunch"})
