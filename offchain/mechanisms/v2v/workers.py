"""Seed 001 ch. 4's aggregator workers (the SCORER account), all reading the hotspot from the chain:

- "v2v-scores": each hour's PoSOC scores (eq. 4.1) of every EV parked in it, ``PoSocScores.submitScores(hour, evs,
  scores)``, keyed (keccak256("seed001.v2v.posoc"), hour);
- "v2v-close": at midnight (once every parked hour of the day is scored), ``PoSocScores.closeDay(day)``, keyed
  (keccak256("seed001.v2v.close"), day): it seals the day's PS^H (eq. 4.17) and arms the on-chain weighted draw of
  the next aggregator mLAG (eq. 4.18), which anyone completes with ``drawAggregator(day)`` a block later;
- "v2v-fees": once the day's aggregator is drawn, each member's share of the mining reward M_r = sum beta R_i
  (eq. 4.20), ``V2VSettlement.assessFees(day, drawn aggregator, members, fees)``, keyed
  (keccak256("seed001.v2v.fees"), day): the fees go to the drawn EV, a member that does not pay has its trading
  profit locked.

They read V2VSettlement's ``EVArrived`` / ``EVDeparted`` (the sessions, the energy on departure) and ``V2VTraded``
(energy and price of every EV-to-EV trade) and PoSocScores' ``ScoreSubmitted`` / ``DayClosedForDraw`` /
``AggregatorDrawn``. The METER is the clock: hour h is over once the chain shows an arrival, departure or trade of
a later hour (departures at the start of h + 1 come before h + 1's trades), so the departing hour's SOC gap is
known before it is scored. The scores, rewards and fees are the plan's functions on what the chain recorded
(Wh, UPOS base units per kWh), so the chain holds what the model computes from the same trades. A `grid` account
(the hotspot's balancing counterparty, parked as an EV) is neither scored nor charged. docs/v2v.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import partial
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.chain import ChainClient, Manifest
from offchain.units import base_to_upos, upos_to_base, wh_to_kwh
from offchain.workers import ChainEvent, WorkerOption, WorkerSpec, contract_events

from .plan import HOURS_PER_DAY, V2VSetup, ev_hour, mining_fees, score_base

SCORES = bytes(Web3.keccak(text="seed001.v2v.posoc"))
CLOSES = bytes(Web3.keccak(text="seed001.v2v.close"))
FEES = bytes(Web3.keccak(text="seed001.v2v.fees"))
NO_GRID = "0x" + "00" * 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    ev           TEXT    NOT NULL,
    arrival      INTEGER NOT NULL,
    departure    INTEGER,
    departure_wh INTEGER,
    PRIMARY KEY (ev, arrival)
);
CREATE TABLE IF NOT EXISTS trades (
    block     INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    hour      INTEGER NOT NULL,
    seller    TEXT    NOT NULL,
    buyer     TEXT    NOT NULL,
    wh        INTEGER NOT NULL,
    price     TEXT    NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE TABLE IF NOT EXISTS scored (hour INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS closed (day INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS drawn (day INTEGER PRIMARY KEY, aggregator TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assessed (day INTEGER PRIMARY KEY);
"""


class _HotspotReader:
    """The hotspot as the chain recorded it: sessions, trades, scored hours, closed and drawn days."""

    schema = SCHEMA

    def __init__(self, settlement: Contract, scores: Contract, *, grid: str = NO_GRID,
                 setup: V2VSetup = V2VSetup()) -> None:
        self.settlement, self.scores = settlement, scores
        self.grid = Web3.to_checksum_address(grid)
        self.setup = setup

    def identity(self) -> dict[str, str]:
        return {"v2v_settlement": self.settlement.address, "posoc_scores": self.scores.address, "grid": self.grid}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        s, p = self.settlement.events, self.scores.events
        return [*contract_events(s.EVArrived, from_block, to_block), *contract_events(s.EVDeparted, from_block, to_block),
                *contract_events(s.V2VTraded, from_block, to_block), *contract_events(s.DayAssessed, from_block, to_block),
                *contract_events(p.ScoreSubmitted, from_block, to_block),
                *contract_events(p.DayClosedForDraw, from_block, to_block),
                *contract_events(p.AggregatorDrawn, from_block, to_block)]

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        a = event.args
        if event.name == "EVArrived":
            db.execute("INSERT INTO sessions VALUES (?, ?, NULL, NULL)", (a["ev"], a["hour"]))
        elif event.name == "EVDeparted":
            db.execute("UPDATE sessions SET departure = ?, departure_wh = ? WHERE ev = ? AND departure IS NULL",
                       (a["hour"], a["energyWh"], a["ev"]))
        elif event.name == "V2VTraded":
            db.execute("INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?)", (event.block, event.log_index, a["hour"],
                       a["seller"], a["buyer"], a["energyWh"], str(a["pricePerKwh"])))
        elif event.name == "ScoreSubmitted":
            db.execute("INSERT OR IGNORE INTO scored VALUES (?)", (a["hour"],))
        elif event.name == "DayClosedForDraw":
            db.execute("INSERT INTO closed VALUES (?)", (a["day"],))
        elif event.name == "AggregatorDrawn":
            db.execute("INSERT INTO drawn VALUES (?, ?)", (a["day"], a["aggregator"]))
        elif event.name == "DayAssessed":
            db.execute("INSERT INTO assessed VALUES (?)", (a["day"],))

    # --- what the tables say ----------------------------------------------------------------------------------

    def clock(self, db: sqlite3.Connection) -> int:
        """The latest hour the chain has reached (-1 before any event)."""
        (hour,) = db.execute("SELECT MAX(h) FROM (SELECT arrival AS h FROM sessions UNION ALL SELECT departure "
                             "FROM sessions UNION ALL SELECT hour FROM trades)").fetchone()
        return -1 if hour is None else int(hour)

    def parked(self, db: sqlite3.Connection, hour: int) -> list[tuple[str, int | None, int | None]]:
        """(EV, departure hour, energy on departure) of every EV but the grid parked in `hour`, by address."""
        rows = db.execute("SELECT ev, departure, departure_wh FROM sessions WHERE arrival <= ? AND "
                          "(departure IS NULL OR ? < departure) AND ev != ?", (hour, hour, self.grid)).fetchall()
        return sorted(rows, key=lambda r: int(r[0], 16))

    def parked_hours(self, db: sqlite3.Connection, first: int, last: int) -> list[int]:
        """Hours in [first, last) in which some EV (not the grid) is parked."""
        return [h for h in range(first, last) if self.parked(db, h)]

    def ev_hours(self, db: sqlite3.Connection, hour: int) -> list[tuple[str, float, float]]:
        """(EV, PoSOC score, reward $) of every EV parked in `hour`, from its net energy (Wh bought - sold), the
        hour's price and, in its departing hour, the energy it left with."""
        net: dict[str, int] = {}
        price = 0
        for seller, buyer, wh, trade_price in db.execute("SELECT seller, buyer, wh, price FROM trades WHERE hour = ?",
                                                         (hour,)):
            net[seller] = net.get(seller, 0) - wh
            net[buyer] = net.get(buyer, 0) + wh
            price = int(trade_price)
        capacity_wh = self.setup.capacity_kwh * 1000
        out = []
        for ev, departure, departure_wh in self.parked(db, hour):
            departing = departure == hour + 1
            soc_after = departure_wh / capacity_wh if departing else 0.0
            score, reward = ev_hour(self.setup, hour, wh_to_kwh(net.get(ev, 0)), 100 * base_to_upos(price),
                                    departing=departing, soc_after=soc_after)
            out.append((ev, score, reward))
        return out


class ScoresLogic(_HotspotReader):
    """v2v-scores: hour h's PoSOC scores once the chain has moved past h."""

    name = "v2v-scores"
    mechanism = SCORES

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        clock = self.clock(db)
        (first,) = db.execute("SELECT MIN(arrival) FROM sessions WHERE ev != ?", (self.grid,)).fetchone()
        if first is None:
            return []
        done = {h for (h,) in db.execute("SELECT hour FROM scored")}
        closed = {d for (d,) in db.execute("SELECT day FROM closed")}
        return [h for h in self.parked_hours(db, int(first), clock) if h not in done
                and h // HOURS_PER_DAY not in closed]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        rows = self.ev_hours(db, slot)
        return {"evs": [ev for ev, _, _ in rows], "scores": [str(score_base(score)) for _, score, _ in rows]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.scores.functions.submitScores(slot, payload["evs"], [int(s) for s in payload["scores"]])


class CloseLogic(_HotspotReader):
    """v2v-close: closes day d (arming its draw) once every parked hour of d is over and scored."""

    name = "v2v-close"
    mechanism = CLOSES

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        clock = self.clock(db)
        scored = {h for (h,) in db.execute("SELECT hour FROM scored")}
        closed = {d for (d,) in db.execute("SELECT day FROM closed")}
        ready = []
        for day in sorted({h // HOURS_PER_DAY for h in scored} - closed):
            start, end = day * HOURS_PER_DAY, (day + 1) * HOURS_PER_DAY
            over = clock >= end or not self.parked(db, max(clock, start))
            if over and all(h in scored for h in self.parked_hours(db, start, min(end, clock))):
                ready.append(day)
        return ready

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        return {"hours": sorted(h for (h,) in db.execute("SELECT hour FROM scored WHERE hour / 24 = ?", (slot,)))}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.scores.functions.closeDay(slot)


class FeesLogic(_HotspotReader):
    """v2v-fees: day d's fees (beta times each member's positive day reward) to d's drawn aggregator."""

    name = "v2v-fees"
    mechanism = FEES

    def __init__(self, settlement: Contract, scores: Contract, *, beta: float = 0.1, **options: Any) -> None:
        super().__init__(settlement, scores, **options)
        self.beta = beta

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        return [d for (d,) in db.execute("SELECT day FROM drawn WHERE day NOT IN (SELECT day FROM assessed) "
                                         "ORDER BY day")]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        rewards: dict[str, float] = {}
        for hour in range(slot * HOURS_PER_DAY, (slot + 1) * HOURS_PER_DAY):
            for ev, _, reward in self.ev_hours(db, hour):
                rewards[ev] = rewards.get(ev, 0.0) + reward
        members = sorted(rewards, key=lambda a: int(a, 16))
        fees = mining_fees(self.beta, [rewards[m] for m in members])
        (miner,) = db.execute("SELECT aggregator FROM drawn WHERE day = ?", (slot,)).fetchone()
        return {"miner": miner, "members": members, "fees": [str(upos_to_base(float(f))) for f in fees]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.settlement.functions.assessFees(slot, payload["miner"], payload["members"],
                                                    [int(f) for f in payload["fees"]])


def _make(logic: type[_HotspotReader], client: ChainClient, manifest: Manifest, **options: Any) -> _HotspotReader:
    """`logic` over the deployment's V2VSettlement and PoSocScores."""
    return logic(manifest.contract(client, "V2VSettlement"), manifest.contract(client, "PoSocScores"), **options)


def _address(value: Any) -> str | None:
    return None if Web3.is_address(str(value)) else f"must be an address, got {str(value)!r}"


_GRID = WorkerOption(str, "the hotspot's balancing counterparty (an address parked as an EV): neither scored nor "
                     "charged (default: none)", check=_address)
V2V_SCORES = WorkerSpec(
    name="v2v-scores",
    summary="seed 001 ch. 4: each hour's PoSOC scores of the parked EVs, from the chain's sessions and trades",
    results_contract="PoSocScores",
    make_logic=partial(_make, ScoresLogic),
    options={"grid": _GRID},
)
V2V_CLOSE = WorkerSpec(
    name="v2v-close",
    summary="seed 001 ch. 4: closes each day once its hours are scored, arming the on-chain aggregator draw",
    results_contract="PoSocScores",
    make_logic=partial(_make, CloseLogic),
    options={"grid": _GRID},
)
V2V_FEES = WorkerSpec(
    name="v2v-fees",
    summary="seed 001 ch. 4: each drawn day's mining fees (beta x positive day reward) to the drawn aggregator",
    results_contract="V2VSettlement",
    make_logic=partial(_make, FeesLogic),
    options={"grid": _GRID,
             "beta": WorkerOption(float, "share of each member's positive day reward paid as mining fee, 0.001-1 "
                                  "(default 0.1)", minimum=0.001, maximum=1.0)},
)
WORKERS = (V2V_SCORES, V2V_CLOSE, V2V_FEES)
