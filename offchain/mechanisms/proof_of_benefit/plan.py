"""Proof-of-Benefit's pure pipeline (seed 003 Ch5): the PEBT order stream, the rounds a proposer schedules with
the slope-variance QP (offchain/algorithms/pebt.py), the baseline without PEBT, and the block a round proposes
(transaction-set hash, net-load window, benefit, trades); for Ch6, the offline AdBEV baseline on the ePoB
sessions (AdBEV's market, offchain/mechanisms/adbev/plan.py, run on the expected arrivals). No chain I/O: the
model and the workers call these.

Energy in Wh (int) for orders and executions (what the chain settles), power in kW (float) for load curves,
prices in UPOS base units per kWh.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import eth_abi
import numpy as np
from web3 import Web3

from offchain.algorithms.pebt import PebtSolver, PendingOrders, RoundFailure, benefit
from offchain.data.seed003 import SLOT_H, SLOTS, EvPopulation
from offchain.data.seed003_pob import Sessions
from offchain.mechanisms.adbev.plan import AdbevSettings, run_adbev
from offchain.units import kw_to_w, kwh_to_wh_array, price_to_base_per_kwh, wh_to_kwh


@dataclass(frozen=True)
class PebtTerms:
    """The Ch5 scenario. round_minutes: ROUNDTIME (5 min); max_wait: rounds an order may wait before it is
    forced (2); charge/discharge_efficiency: v and varpi (the thesis gives no value: 0.95 each); price range of
    the orders' own prices (UPOS per kWh, the thesis's 10-30 p read as 0.10-0.30)."""

    round_minutes: int = 5
    max_wait: int = 2
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    price_low: float = 0.10
    price_high: float = 0.30

    @property
    def round_h(self) -> float:
        """Round length in hours."""
        return self.round_minutes / 60

    @property
    def rounds_per_slot(self) -> int:
        """Rounds in one half-hour connection slot."""
        return round(SLOT_H * 60) // self.round_minutes


@dataclass(frozen=True)
class Orders:
    """The day's PEBT transactions, one row each, in arrival order (the chronological priority). ev: the EV
    index; arrival: round it is submitted; charge: True for a buy (charging) order; wh: quantity (Wh);
    cap_wh: the most one round executes (charger rate x round); price: the order's own price (UPOS base units
    per kWh)."""

    ev: np.ndarray
    arrival: np.ndarray
    charge: np.ndarray
    wh: np.ndarray
    cap_wh: np.ndarray
    price: np.ndarray

    def __len__(self) -> int:
        return len(self.ev)

    def coefficient(self, terms: PebtTerms) -> np.ndarray:
        """Each order's effect on net load per kWh: v for a charge, -varpi for a discharge."""
        return np.where(self.charge, terms.charge_efficiency, -terms.discharge_efficiency)


def ch5_orders(population: EvPopulation, terms: PebtTerms, seed: int, slots: int | None = None) -> Orders:
    """One transaction per connected EV per half-hour slot (the thesis: #tx = #connected EVs), submitted at a
    random round of the slot; a discharging EV sells, the others buy (2:1 by the preset). Quantity: a random
    50-100 % of what the EV's charger moves in one round, so every order fits its deadline. `slots` limits the
    day to its first slots (tests)."""
    rng = np.random.default_rng(seed)
    per_slot = terms.rounds_per_slot
    slots = population.connected.shape[1] if slots is None else slots
    evs, slot_of = np.nonzero(population.connected[:, :slots])
    order = np.lexsort((evs, slot_of))
    evs, slot_of = evs[order], slot_of[order]
    arrival = slot_of * per_slot + rng.integers(per_slot, size=len(evs))
    cap = kwh_to_wh_array(population.charger_kw[evs] * terms.round_h)
    wh = np.maximum(1, np.floor(cap * rng.uniform(0.5, 1.0, len(evs)))).astype(np.int64)
    prices = rng.uniform(terms.price_low, terms.price_high, len(evs)).round(3)
    resort = np.argsort(arrival, kind="stable")
    return Orders(
        ev=evs[resort],
        arrival=arrival[resort],
        charge=~population.discharging[evs[resort]],
        wh=wh[resort],
        cap_wh=cap[resort],
        price=np.array([price_to_base_per_kwh(p) for p in prices[resort]], dtype=object),
    )


@dataclass
class PebtRun:
    """A day of rounds. net_kw[r]: realised net load of round r (kW); executed[r]: {order index: Wh} executed
    in round r; windows[r]: the proposed net-load window in W (last realised first), lambdas[r] its benefit
    (0 for a failed round); failed: {round: reason}."""

    net_kw: np.ndarray
    executed: list[dict[int, int]] = field(default_factory=list)
    windows: list[list[int]] = field(default_factory=list)
    lambdas: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def _pending(orders: Orders, remaining: np.ndarray, round_: int, last_round: int, max_wait: int):
    index = np.nonzero((orders.arrival <= round_) & (remaining > 0))[0]
    rounds_left = np.minimum(orders.arrival[index] + max_wait, last_round) - round_
    return index, rounds_left


def run_pebt(
    orders: Orders, base_kw: np.ndarray, terms: PebtTerms, solver: PebtSolver | None = None, start_kw: float | None = None
) -> PebtRun:
    """Every round r: the pending orders, the forecast (last round's household load, the thesis's forecast) and
    the last realised net load go to the QP; the first window round executes (rounded to Wh; an order at its
    deadline executes in full). A round the solver fails is marked failed with its reason and executes only
    the forced orders; the next round proceeds."""
    solver = solver or PebtSolver(window=terms.max_wait + 1, round_h=terms.round_h)
    rounds = len(base_kw)
    remaining = orders.wh.copy()
    coefficient = orders.coefficient(terms)
    run = PebtRun(net_kw=np.zeros(rounds))
    previous = float(base_kw[0] if start_kw is None else start_kw)
    for r in range(rounds):
        index, rounds_left = _pending(orders, remaining, r, rounds - 1, terms.max_wait)
        forecast = float(base_kw[r - 1] if r else base_kw[0])
        pending = PendingOrders(
            wh_to_kwh(remaining[index]), wh_to_kwh(orders.cap_wh[index]), rounds_left, coefficient[index]
        )
        try:
            schedule = solver.solve(pending, np.full(solver.window, forecast), previous)
            now = np.minimum(kwh_to_wh_array(schedule.executed_kwh[:, 0]), remaining[index])
            window = kw_to_w(np.concatenate([[previous], schedule.net_load_kw]))
            lam = benefit(window)
        except RoundFailure as failure:
            run.failed[r] = failure.reason
            now, window, lam = np.zeros(len(index), dtype=np.int64), [], 0
        now = np.where(rounds_left == 0, remaining[index], now)
        remaining[index] -= now
        run.executed.append({int(i): int(e) for i, e in zip(index, now, strict=True) if e > 0})
        run.windows.append(window)
        run.lambdas.append(lam)
        previous = float(base_kw[r] + coefficient[index] @ wh_to_kwh(now) / terms.round_h)
        run.net_kw[r] = previous
    return run


def run_immediate(orders: Orders, base_kw: np.ndarray, terms: PebtTerms) -> np.ndarray:
    """The day without PEBT: every order executes in full in the round it arrives (kW per round)."""
    net = np.array(base_kw, dtype=float)
    energy = wh_to_kwh(orders.wh) * orders.coefficient(terms)
    np.add.at(net, orders.arrival[orders.arrival < len(net)], energy[orders.arrival < len(net)] / terms.round_h)
    return net


TRADE_ABI = "(address,address,uint64,uint256)[]"


def round_trades(
    orders: Orders, executed: dict[int, int], terms: PebtTerms, accounts: list[str]
) -> list[tuple[str, str, int, int]]:
    """The round's P2P trades: the energy the discharging orders deliver (varpi x executed) goes to the charging
    orders in chronological priority (older first), each buyer paying the seller's price; EV i trades from
    accounts[i % len(accounts)]. Returns (buyer, seller, Wh, price) tuples, the BenefitSettlement layout."""
    sellers = [(i, int(wh * terms.discharge_efficiency)) for i, wh in sorted(executed.items()) if not orders.charge[i]]
    buyers = [[i, wh] for i, wh in sorted(executed.items()) if orders.charge[i]]
    trades = []
    b = 0
    for seller, supply in sellers:
        while supply > 0 and b < len(buyers):
            take = min(supply, buyers[b][1])
            buyer = buyers[b][0]
            trades.append((accounts[orders.ev[buyer] % len(accounts)], accounts[orders.ev[seller] % len(accounts)],
                           take, int(orders.price[seller])))
            supply -= take
            buyers[b][1] -= take
            if buyers[b][1] == 0:
                b += 1
    return trades


def trades_hash(trades: list[tuple[str, str, int, int]]) -> bytes:
    """keccak256(abi.encode(trades)), the hash a block commits to and BenefitSettlement checks."""
    return bytes(Web3.keccak(eth_abi.encode([TRADE_ABI], [trades])))


def tx_set_hash(orders: Orders, remaining_before: dict[int, int], round_: int) -> bytes:
    """keccak256(abi.encode(round, order ids, remaining Wh)) of the round's pending set, in id order: the public
    transaction set every peer schedules."""
    ids = sorted(remaining_before)
    return bytes(Web3.keccak(eth_abi.encode(["uint256", "uint256[]", "uint256[]"],
                                            [round_, ids, [remaining_before[i] for i in ids]])))


@dataclass(frozen=True)
class RoundBlock:
    """What round `round` (index into the day) proposes, computed from public data only: the pending set's hash,
    the trades (BenefitSettlement layout) and their hash, the net-load window (W, last realised first) and its
    benefit; `failed` is the solver's reason when the round had no schedule (then nothing is proposed)."""

    round: int
    tx_set_hash: bytes
    trades: list[tuple[str, str, int, int]]
    trades_hash: bytes
    net_load_w: list[int]
    benefit: int
    failed: str | None = None


def round_blocks(orders: Orders, run: PebtRun, terms: PebtTerms, accounts: list[str]) -> list[RoundBlock]:
    """Every round's block of the day `run` (run_pebt on `orders`): the set of orders pending at the round (what
    was left before it executed), its trades among `accounts` (round_trades) and the window and benefit the QP
    gave. The proposer and every validator call this on the same public data and so agree on every field."""
    remaining = orders.wh.copy()
    blocks = []
    for r, executed in enumerate(run.executed):
        pending = np.nonzero((orders.arrival <= r) & (remaining > 0))[0]
        before = {int(i): int(remaining[i]) for i in pending}
        trades = round_trades(orders, executed, terms, accounts)
        blocks.append(RoundBlock(r, tx_set_hash(orders, before, r), trades, trades_hash(trades), run.windows[r],
                                 run.lambdas[r], run.failed.get(r)))
        for i, wh in executed.items():
            remaining[i] -= wh
    return blocks


def expected_population(sessions: Sessions) -> EvPopulation:
    """The Ch6 sessions as the day-ahead population offline AdBEV plans with (its expected arrivals): an EV is
    connected in every half-hour slot of the day its stay touches (wall-clock slots, so AdBEV's busy-hour
    prices fall where they belong), trades at its session rate (U_i or O_j) and needs CV_i or offers DV_j."""
    per_slot = sessions.steps_per_slot
    first = sessions.arrival // per_slot
    last = (sessions.departure - 1) // per_slot
    horizon_slot = np.arange(SLOTS)
    touched = (horizon_slot[None, :] >= first[:, None]) & (horizon_slot[None, :] <= last[:, None])
    return replace(
        sessions.population,
        connected=np.roll(touched, sessions.start_slot, axis=1),
        arrival=(first + sessions.start_slot) % SLOTS,
        charger_kw=sessions.rate_kw.astype(float),
        need_kwh=sessions.demand_kwh.astype(float),
        offer_kwh=sessions.offer_kwh.astype(float),
    )


def adbev_load_kw(
    sessions: Sessions, charge_efficiency: float, discharge_efficiency: float, settings: AdbevSettings | None = None
) -> np.ndarray:
    """The EV load (kW per decision step of the sessions' horizon) of offline AdBEV: one day of its market on
    the expected population (`expected_population`); per slot the buyers charge what they traded or took from
    the grid and the sellers discharge what they sold, at the efficiencies v and varpi (v x charged - varpi x
    discharged), spread evenly over the slot's steps."""
    day = run_adbev(expected_population(sessions), settings)
    traded = np.zeros(SLOTS)
    for trade in day.trades:
        traded[trade.slot] += trade.quantity_kwh
    net_kwh = charge_efficiency * (traded + day.grid_kwh) - discharge_efficiency * traded
    horizon = np.roll(net_kwh / SLOT_H, -sessions.start_slot)
    return np.repeat(horizon, sessions.steps_per_slot)[: sessions.steps]
