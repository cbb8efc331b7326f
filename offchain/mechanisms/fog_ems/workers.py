"""The fog EMS workers: "fog-matching" (below) and "fedavg-aggregator" (offchain.mechanisms.fog_ems.fedavg).

Seed 000's Hungarian matching worker "fog-matching" (the SCORER): one certified assignment per period.

It reads PeriodMatching's ``ProsumerBidPlaced`` / ``EVBidPlaced`` (the bids, with their arrival index) and
``PeriodMatched`` (periods matched by anyone) and, for every period whose bidding window has closed by the
last block it has scanned and that is not matched yet, computes the benefit matrix from the bids
(``offchain.algorithms.matching.benefit_matrix``, the contract's own rule), the maximum-benefit assignment
(``hungarian``) and its LP dual certificate (``dual_certificate``), and submits
``PeriodMatching.submitAssignment(period, prosumerBids, evBids, u, v)``, keyed (keccak256("seed000.matching"),
period) — the key the contract accepts once for either kind of match (docs/seed000-contracts.md §4).

The runtime (offchain.workers.runtime) keeps the cursor and the journal, so a worker killed anywhere and
restarted never submits a period twice and resumes at the next unmatched period. A period matched by the
greedy fallback before the worker got to it is never computed (its ``PeriodMatched`` is read first) or,
if it raced the worker, ends SUPERSEDED. Choices: docs/seed000-chain.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import numpy as np
from web3 import Web3
from web3.contract import Contract

from offchain.algorithms.matching import (
    benefit_matrix,
    certified_assignment,
)
from offchain.chain import ChainClient, Manifest
from offchain.workers import (
    ChainEvent,
    WorkerLogic,
    WorkerOption,
    WorkerSpec,
    contract_events,
)
from offchain.workers.registry import existing_folder, integer

#: keccak256("seed000.matching"): PeriodMatching.MECHANISM, the key of a period's match.
MECHANISM = bytes(Web3.keccak(text="seed000.matching"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS prosumer_bids (
    period   INTEGER NOT NULL,
    idx      INTEGER NOT NULL,
    prosumer TEXT    NOT NULL,
    net_wh   INTEGER NOT NULL,
    PRIMARY KEY (period, idx)
);
CREATE TABLE IF NOT EXISTS ev_bids (
    period       INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    ev           TEXT    NOT NULL,
    available_wh INTEGER NOT NULL,
    capacity_wh  INTEGER NOT NULL,
    PRIMARY KEY (period, idx)
);
CREATE TABLE IF NOT EXISTS matched (
    period INTEGER PRIMARY KEY,
    method INTEGER NOT NULL
);
"""


class FogMatchingLogic:
    """The fog-matching :class:`~offchain.workers.runtime.WorkerLogic` over a PeriodMatching contract
    (``matching``) that the submitting account may call ``submitAssignment`` on (role SCORER)."""

    name = "fog-matching"
    mechanism = MECHANISM
    schema = SCHEMA

    def __init__(self, matching: Contract) -> None:
        self.matching = matching
        self.w3 = matching.w3
        self._schedule_seconds: tuple[int, int, int] | None = None

    def identity(self) -> dict[str, str]:
        return {"period_matching": self.matching.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        events = self.matching.events
        return [
            *contract_events(events.ProsumerBidPlaced, from_block, to_block),
            *contract_events(events.EVBidPlaced, from_block, to_block),
            *contract_events(events.PeriodMatched, from_block, to_block),
        ]

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        # The contract takes one bid per agent and period and matches a period once, so plain INSERTs also
        # guard against an event applied twice.
        args = event.args
        if event.name == "ProsumerBidPlaced":
            db.execute("INSERT INTO prosumer_bids VALUES (?, ?, ?, ?)",
                       (args["period"], args["index"], args["prosumer"], args["netWh"]))
        elif event.name == "EVBidPlaced":
            db.execute("INSERT INTO ev_bids VALUES (?, ?, ?, ?, ?)",
                       (args["period"], args["index"], args["ev"], args["availableWh"], args["freeCapacityWh"]))
        elif event.name == "PeriodMatched":
            db.execute("INSERT INTO matched VALUES (?, ?)", (args["period"], int(args["method"])))

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        """Periods with bids, not matched, whose bidding closed at or before the last scanned block (so
        every bid of the period has been read)."""
        row = db.execute("SELECT scanned_block FROM cursor WHERE id = 1").fetchone()
        if row is None:
            return []
        scanned_time = self.w3.eth.get_block(row[0])["timestamp"]
        genesis, period_seconds, bidding_seconds = self._schedule()
        if scanned_time < genesis + bidding_seconds:
            return []
        last_closed = (scanned_time - genesis - bidding_seconds) // period_seconds
        rows = db.execute(
            "SELECT DISTINCT period FROM prosumer_bids WHERE period <= ? "
            "AND period NOT IN (SELECT period FROM matched) ORDER BY period",
            (last_closed,),
        )
        return [period for (period,) in rows]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"prosumers", "evs"}`` (bid indices of the pairs) and ``{"u", "v"}`` (potentials, Wh) of `slot`."""
        net = [n for (n,) in db.execute("SELECT net_wh FROM prosumer_bids WHERE period = ? ORDER BY idx", (slot,))]
        evs = db.execute("SELECT available_wh, capacity_wh FROM ev_bids WHERE period = ? ORDER BY idx",
                         (slot,)).fetchall()
        available = np.array([a for a, _ in evs], dtype=np.int64)
        capacity = np.array([c for _, c in evs], dtype=np.int64)
        certified = certified_assignment(benefit_matrix(np.array(net, dtype=np.int64), available, capacity))
        return {"prosumers": certified.assignment.prosumers.tolist(), "evs": certified.assignment.evs.tolist(),
                "u": [int(x) for x in certified.u], "v": [int(x) for x in certified.v]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.matching.functions.submitAssignment(
            slot, payload["prosumers"], payload["evs"], payload["u"], payload["v"])

    def _schedule(self) -> tuple[int, int, int]:
        """(genesisTime, periodSeconds, biddingSeconds): immutable per deployment, read once."""
        if self._schedule_seconds is None:
            functions = self.matching.functions
            self._schedule_seconds = (functions.genesisTime().call(), functions.periodSeconds().call(),
                                      functions.biddingSeconds().call())
        return self._schedule_seconds


def make_fog_matching_logic(client: ChainClient, manifest: Manifest) -> FogMatchingLogic:
    """The worker over the deployment's PeriodMatching (``kwx worker fog-matching``)."""
    return FogMatchingLogic(client.contract("PeriodMatching", manifest.address("PeriodMatching")))


def make_fedavg_logic(client: ChainClient, manifest: Manifest, **options: Any) -> WorkerLogic:
    """The fedavg-aggregator worker (``kwx worker fedavg-aggregator``); options as
    :func:`offchain.mechanisms.fog_ems.fedavg.make_fedavg_logic`."""
    from .fedavg import (
        make_fedavg_logic as make,  # imported here: it loads torch (~2 s), which no other worker needs
    )

    return make(client, manifest, **options)


FOG_MATCHING = WorkerSpec(
    name="fog-matching",
    summary="seed 000 Hungarian matching: a certified optimal assignment per closed, unmatched period",
    results_contract="PeriodMatching",
    make_logic=make_fog_matching_logic,
)

FEDAVG_AGGREGATOR = WorkerSpec(
    name="fedavg-aggregator",
    summary="seed 000 FedAvg rounds of the fog nodes' LSTM updates in a model store, recorded in FogModelRegistry",
    results_contract="FogModelRegistry",
    make_logic=make_fedavg_logic,
    options={
        "store_dir": WorkerOption(str, "folder of the model store, an existing folder (required)",
                                  check=existing_folder, required=True),
        "contributors": WorkerOption(str, "comma-separated fog-node addresses each round waits for (required)",
                                     required=True),
        "weighting": WorkerOption(str, "samples (FedAvg by sample count, default) or uniform",
                                  choices=("samples", "uniform")),
        "through_round": WorkerOption(integer, "last round version to publish, 1 to 2^32 - 1 (default: no limit)",
                                      minimum=1, maximum=2**32 - 1),
    },
)
