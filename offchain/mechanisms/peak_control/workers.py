"""Seed 002's workers, both holding PAR_CONTROL (the SCORER account by default):

- "peak-penalties": publishes day d's penalty vector on PenaltySchedule, keyed (keccak256("seed002.penalties"), d);
- "peak-recommendations": commits day d's recommendation root on RecommendationBoard, keyed
  (keccak256("seed002.recommendations"), d).

Both read the hourly order book's purchases: ``OrderPlaced`` (each order's period), ``Trade`` (the buyer of every
fill) and ``GridFilled`` (buys the operator supplied as counterparty of last resort), so day d-1's purchases are
what the chain recorded. A day is ready while its update window is open at the last scanned block (every
contract of day d-1 is concluded by then: docs/peak_control-contracts.md); the runtime keeps the cursor and the
journal, so a restarted worker neither submits a day twice nor skips one. The computation is the plan's
(offchain.mechanisms.peak_control.plan), so the chain publishes what the model computes from the same purchases.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import numpy as np
from web3 import Web3
from web3.contract import Contract

from offchain.algorithms.par_search import HOURS, par, penalty_vector
from offchain.chain import ChainClient, Manifest
from offchain.units import wh_to_kwh
from offchain.workers import ChainEvent, WorkerOption, WorkerSpec, contract_events
from offchain.workers.registry import integer

from .commitments import DayCommitment, commit_day, schedule_wh
from .plan import PeakSettings, recommend

PENALTIES = bytes(Web3.keccak(text="seed002.penalties"))
RECOMMENDATIONS = bytes(Web3.keccak(text="seed002.recommendations"))
BPS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY,
    period   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS purchases (
    block     INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    period    INTEGER NOT NULL,
    buyer     TEXT    NOT NULL,
    wh        INTEGER NOT NULL,
    PRIMARY KEY (block, log_index)
);
"""


def day_purchases(db: sqlite3.Connection, day: int) -> tuple[list[str], np.ndarray]:
    """The buyers of day `day` (sorted addresses) and their purchases (n, 24) kWh, from the worker's tables."""
    rows = db.execute("SELECT buyer, period, SUM(wh) FROM purchases WHERE period >= ? AND period < ? "
                      "GROUP BY buyer, period", (day * HOURS, (day + 1) * HOURS)).fetchall()
    buyers = sorted({r[0] for r in rows})
    index = {b: i for i, b in enumerate(buyers)}
    bought = np.zeros((len(buyers), HOURS))
    for buyer, period, wh in rows:
        bought[index[buyer], period - day * HOURS] = wh_to_kwh(int(wh))
    return buyers, bought


def day_commitment(buyers: list[str], previous_bought: np.ndarray, day: int,
                   settings: PeakSettings = PeakSettings()) -> DayCommitment:
    """Day `day`'s recommendations from the previous day's purchases, as the committed tree (each buyer of that
    day gets a leaf)."""
    recommended, _ = recommend(previous_bought, settings.search)
    return commit_day(day, {b: schedule_wh(r) for b, r in zip(buyers, recommended)})


def penalty_payload(aggregate_kwh: np.ndarray, threshold: float) -> dict[str, Any]:
    """PenaltySchedule.publish's vector (bps) and reference PAR (bps) from a day's 24 aggregate kWh."""
    vector = penalty_vector(aggregate_kwh, threshold)
    return {"bps": [int(round(m * BPS)) for m in vector], "par_bps": int(round(float(par(aggregate_kwh)) * BPS))}


class _PurchaseReader:
    """Reads the hourly book's purchases and the day calendar of the results contract (TradingDays)."""

    schema = SCHEMA

    def __init__(self, book: Contract, results: Contract, first_day: int) -> None:
        self.book, self.results, self.first_day = book, results, first_day
        self.w3 = book.w3

    def identity(self) -> dict[str, str]:
        return {"hourly_book": self.book.address, "results": self.results.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        events = self.book.events
        return [*contract_events(events.OrderPlaced, from_block, to_block),
                *contract_events(events.Trade, from_block, to_block),
                *contract_events(events.GridFilled, from_block, to_block)]

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        args = event.args
        if event.name == "OrderPlaced":
            db.execute("INSERT INTO orders VALUES (?, ?)", (args["orderId"], args["period"]))
        elif event.name == "Trade":
            db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?)",
                       (event.block, event.log_index, args["period"], args["buyer"], args["quantityWh"]))
        elif event.name == "GridFilled" and args["isBuy"]:
            (period,) = db.execute("SELECT period FROM orders WHERE order_id = ?", (args["orderId"],)).fetchone()
            db.execute("INSERT INTO purchases VALUES (?, ?, ?, ?, ?)",
                       (event.block, event.log_index, period, args["owner"], args["quantityWh"]))

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        """The day whose update window holds the last scanned block, from `first_day` on."""
        row = db.execute("SELECT scanned_block FROM cursor WHERE id = 1").fetchone()
        if row is None:
            return []
        scanned = self.w3.eth.get_block(row[0])["timestamp"]
        functions = self.results.functions
        genesis = functions.genesisTime().call()
        day_seconds = functions.hourSeconds().call() * HOURS
        lead, update = functions.openLeadSeconds().call(), functions.updateSeconds().call()
        day = (scanned + lead + update - genesis) // day_seconds if scanned + lead + update >= genesis else -1
        opens = genesis + day * day_seconds - lead - update
        return [day] if day >= self.first_day and opens <= scanned < opens + update else []


class PenaltyLogic(_PurchaseReader):
    """peak-penalties: day d's vector from day d-1's aggregate purchases."""

    name = "peak-penalties"
    mechanism = PENALTIES

    def __init__(self, book: Contract, schedule: Contract, *, first_day: int = 2, threshold: float = 0.85) -> None:
        super().__init__(book, schedule, first_day)
        self.threshold = threshold

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        _, bought = day_purchases(db, slot - 1)
        return penalty_payload(bought.sum(axis=0), self.threshold)

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.results.functions.publish(slot, payload["bps"], payload["par_bps"])


class RecommendationLogic(_PurchaseReader):
    """peak-recommendations: day d's Merkle root over every buyer of day d-1."""

    name = "peak-recommendations"
    mechanism = RECOMMENDATIONS

    def __init__(self, book: Contract, board: Contract, *, first_day: int = 2) -> None:
        super().__init__(book, board, first_day)

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        """As the penalties, but only days whose previous day had a purchase (nobody to recommend to
        otherwise)."""
        return [day for day in super().ready_slots(db) if db.execute(
            "SELECT 1 FROM purchases WHERE period >= ? AND period < ? LIMIT 1",
            ((day - 1) * HOURS, day * HOURS)).fetchone()]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        buyers, bought = day_purchases(db, slot - 1)
        tree = day_commitment(buyers, bought, slot)
        return {"root": "0x" + tree.root.hex(), "participants": len(buyers)}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.results.functions.commit(slot, bytes.fromhex(payload["root"][2:]), payload["participants"])


def _make_penalties(client: ChainClient, manifest: Manifest, **options: Any) -> PenaltyLogic:
    return PenaltyLogic(manifest.contract(client, "HourlyEnergyOrderBook"), manifest.contract(client, "PenaltySchedule"),
                        **options)


def _make_recommendations(client: ChainClient, manifest: Manifest, **options: Any) -> RecommendationLogic:
    return RecommendationLogic(manifest.contract(client, "HourlyEnergyOrderBook"),
                               manifest.contract(client, "RecommendationBoard"), **options)


_FIRST_DAY = WorkerOption(integer, "first day with penalties and recommendations, 1-10000 (default 2: the paper's day 3)",
                          minimum=1, maximum=10_000)
PEAK_PENALTIES = WorkerSpec(
    name="peak-penalties",
    summary="seed 002: publishes each day's penalty vector from the previous day's purchases",
    results_contract="PenaltySchedule",
    make_logic=_make_penalties,
    options={"first_day": _FIRST_DAY,
             "threshold": WorkerOption(float, "PAR threshold, 0.01-1 (default 0.85)", minimum=0.01, maximum=1.0)},
)
PEAK_RECOMMENDATIONS = WorkerSpec(
    name="peak-recommendations",
    summary="seed 002: commits each day's recommended purchase schedules as a Merkle root",
    results_contract="RecommendationBoard",
    make_logic=_make_recommendations,
    options={"first_day": _FIRST_DAY},
)
WORKERS = (PEAK_PENALTIES, PEAK_RECOMMENDATIONS)
