"""Seed 002's community peak control as one pure pipeline: each day the system operator publishes a penalty
vector from the previous day's aggregate purchases, the platform publishes per-participant recommended
purchase schedules found by the best-first search, and every participant's meter agent decides its hourly
purchases and sales by the paper's NOREC or REC rules, with an explicit flexibility model (a battery). Energies in
kWh, prices in EUR/kWh (UPOS per kWh on chain), days 0-based here and 1-based in reports.

Called by the model (the off-chain week) and by the workers (one day at a time), so both compute the same
figures. Choices where the paper is wrong or silent: docs/peak_control.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from offchain.algorithms.par_search import (
    HOURS,
    SearchResult,
    SearchSettings,
    best_first_schedule,
    par,
    penalty_vector,
    split_schedule,
)

Scenario = Literal["norec", "rec"]
SCENARIOS: tuple[Scenario, ...] = ("norec", "rec")


@dataclass(frozen=True)
class Flexibility:
    """Each participant's means to buy at another hour than it consumes, which the paper leaves implicit: a
    battery of `storage_hours` times the participant's mean hourly consumption (kWh), charged or discharged at
    most at capacity / `charge_hours` per hour, lossless, empty at the start and end of every day (so each
    participant's bought minus sold equals consumption minus production every day). 0 hours: no flexibility.
    `carry_over` (beyond the paper): the battery may keep at midnight what the next day's deficits will use (the
    agent knows its next day as it knows its current one), so evening purchases can serve the next morning; each
    day then conserves energy up to the change of charge, and the last day of a run ends empty."""

    storage_hours: float = 6.0
    charge_hours: float = 4.0
    carry_over: bool = False

    def capacity(self, consumption: np.ndarray) -> np.ndarray:
        """(n,) kWh from (n, ..., 24) hourly consumption."""
        return self.storage_hours * consumption.reshape(consumption.shape[0], -1).mean(axis=1)

    def power(self, consumption: np.ndarray) -> np.ndarray:
        """(n,) kWh per hour."""
        return self.capacity(consumption) / self.charge_hours


@dataclass(frozen=True)
class RecRules:
    """Sec. 5.2's deviation rules: when a participant needs `min_hours` or more recommended hours, or the even
    spread of its shortfall adds at most `cap_kwh` per hour (the paper's "300", unit unstated, read as kWh),
    it spreads the shortfall over its recommended hours; otherwise it buys as without recommendations. `excess`:
    when the recommendations exceed the need, buy them "in-order" (the paper: in time order until the need is
    bought) or "scaled" (every recommended hour scaled by need / total, which keeps the recommended shape)."""

    min_hours: int = 6
    cap_kwh: float = 300.0
    excess: Literal["in-order", "scaled"] = "in-order"


@dataclass(frozen=True)
class PeakSettings:
    """Everything a week run depends on. `threshold`: the PAR at or above which no penalties apply (0.85; the
    paper's Sec. 4 example 0.90); `low`, `high`: the multiplier range; `first_day`: the first 0-based day with
    penalties and recommendations (2: the paper's day 3; days before behave as NOREC in both scenarios)."""

    threshold: float = 0.85
    low: float = 1.1
    high: float = 1.5
    first_day: int = 2
    search: SearchSettings = field(default_factory=SearchSettings)
    rules: RecRules = field(default_factory=RecRules)
    flexibility: Flexibility = field(default_factory=Flexibility)


@dataclass(frozen=True)
class DayDecision:
    """One day's purchases and sales per participant (n, 24) kWh and the battery's state of charge (n, 25) kWh
    at the start of every hour and the end of the day."""

    bought: np.ndarray
    sold: np.ndarray
    charge: np.ndarray


@dataclass(frozen=True)
class WeekRun:
    """One scenario's week: `bought`, `sold`, `recommended` (n, days, 24) kWh; `multipliers` (days, 24);
    `searches` the best-first search of each day that had one (None otherwise); `stored` (n, days + 1) kWh in each
    battery at every midnight (all 0 unless the flexibility carries over)."""

    scenario: Scenario
    bought: np.ndarray
    sold: np.ndarray
    recommended: np.ndarray
    multipliers: np.ndarray
    searches: tuple[SearchResult | None, ...]
    stored: np.ndarray

    @property
    def aggregate(self) -> np.ndarray:
        """(days, 24) community purchases, kWh."""
        return self.bought.sum(axis=0)

    @property
    def daily_par(self) -> np.ndarray:
        """(days,) Eq. 11 of each day's aggregate purchases."""
        return np.asarray(par(self.aggregate))


def recommend(previous_bought: np.ndarray, search: SearchSettings) -> tuple[np.ndarray, SearchResult]:
    """The day's recommendations from the previous day's purchases (n, 24) kWh: the best-first search on their
    aggregate, split among participants in proportion to what each bought (n, 24) kWh."""
    result = best_first_schedule(previous_bought.sum(axis=0), search)
    return split_schedule(result.best, previous_bought.sum(axis=1)), result


def rec_targets(recommended: np.ndarray, need: np.ndarray, deficit: np.ndarray, rules: RecRules) -> np.ndarray:
    """Sec. 5.2's REC purchase plan (n, 24) kWh for participants with recommendations `recommended` (n, 24),
    daily need `need` (n,) and hourly deficits `deficit` (n, 24).

    1. no recommended hour: buy each hour's deficit (NOREC);
    2. recommended total >= need: buy along the recommended hours in time order until the need is bought;
    3. recommended total < need (the paper says "greater" twice): add the shortfall evenly to the k recommended
       hours;
    4. unless k < `min_hours` and that addition exceeds `cap_kwh` per hour: then NOREC."""
    hours = recommended > 0
    k = hours.sum(axis=1)
    total = recommended.sum(axis=1)
    before = np.cumsum(recommended, axis=1) - recommended
    if rules.excess == "scaled":
        along = recommended * (need / np.where(total > 0, total, 1.0))[:, None]
    else:
        along = np.clip(np.minimum(recommended, need[:, None] - before), 0.0, None)
    addition = np.where(k > 0, (need - total) / np.maximum(k, 1), 0.0)
    spread = recommended + addition[:, None] * hours
    plan = np.where((total >= need)[:, None], along, spread)
    norec = (k == 0) | ((total < need) & (k < rules.min_hours) & (addition > rules.cap_kwh))
    return np.where(norec[:, None], deficit, plan)


def operate_day(net: np.ndarray, target: np.ndarray, capacity: np.ndarray, power: np.ndarray,
                start: np.ndarray | None = None, carry: np.ndarray | None = None) -> DayDecision:
    """The meter agents' hourly decisions for one day. `net` (n, 24): consumption minus production, kWh;
    `target` (n, 24): the purchases the agent aims at; `start` (n,): the battery's charge at midnight (default
    empty); `carry` (n,): what it may keep for the next day (default nothing). Each hour the battery absorbs the
    difference ``target - net`` within its power, its free or stored energy, and what the rest of the day plus
    `carry` still needs (a battery never holds energy that will not be used, so a surplus beyond that is sold);
    the grid takes the rest (bought if positive, sold if negative). What the battery holds after 23:00 beyond
    `carry` is sold then."""
    n = net.shape[0]
    keep = np.zeros(n) if carry is None else carry
    deficit = np.clip(net, 0.0, None)
    later_need = deficit[:, ::-1].cumsum(axis=1)[:, ::-1] - deficit + keep[:, None]
    charge = np.zeros((n, HOURS + 1))
    charge[:, 0] = 0.0 if start is None else start
    bought, sold = np.zeros((n, HOURS)), np.zeros((n, HOURS))
    for h in range(HOURS):
        state = charge[:, h]
        upper = np.minimum(power, np.maximum(np.minimum(capacity, later_need[:, h]) - state, 0.0))
        lower = -np.minimum(power, state)
        flow = np.clip(target[:, h] - net[:, h], lower, upper)
        grid = net[:, h] + flow
        if h == HOURS - 1:
            left = state + flow - np.minimum(state + flow, keep)
            grid, flow = grid - left, flow - left
        charge[:, h + 1] = state + flow
        bought[:, h], sold[:, h] = np.clip(grid, 0.0, None), np.clip(-grid, 0.0, None)
    return DayDecision(bought=bought, sold=sold, charge=charge)


def run_week(consumption: np.ndarray, production: np.ndarray, scenario: Scenario,
             settings: PeakSettings = PeakSettings()) -> WeekRun:
    """One scenario over the week ((n, days, 24) kWh inputs). Penalties for day d come from day d-1's aggregate
    purchases in the same scenario (from `first_day` on, both scenarios); under "rec" every participant also gets
    its recommendation from day d-1 and follows the REC rules with its battery; under "norec" it buys each
    deficit and sells each surplus."""
    n, days, _ = consumption.shape
    net = consumption - production
    capacity, power = settings.flexibility.capacity(consumption), settings.flexibility.power(consumption)
    bought, sold = np.zeros_like(net), np.zeros_like(net)
    recommended = np.zeros_like(net)
    multipliers = np.ones((days, HOURS))
    searches: list[SearchResult | None] = []
    stored = np.zeros((n, days + 1))
    for d in range(days):
        deficit = np.clip(net[:, d], 0.0, None)
        target, search = deficit, None
        if d >= settings.first_day:
            multipliers[d] = penalty_vector(bought[:, d - 1].sum(axis=0), settings.threshold, settings.low,
                                            settings.high)
            if scenario == "rec":
                recommended[:, d], search = recommend(bought[:, d - 1], settings.search)
                target = rec_targets(recommended[:, d], deficit.sum(axis=1), deficit, settings.rules)
        searches.append(search)
        if target is deficit:
            bought[:, d], sold[:, d] = deficit, np.clip(-net[:, d], 0.0, None)
        else:
            carry = None
            if settings.flexibility.carry_over and d + 1 < days:
                carry = np.clip(net[:, d + 1], 0.0, None).sum(axis=1)
            day = operate_day(net[:, d], target, capacity, power, stored[:, d], carry)
            bought[:, d], sold[:, d], stored[:, d + 1] = day.bought, day.sold, day.charge[:, -1]
    return WeekRun(scenario=scenario, bought=bought, sold=sold, recommended=recommended, multipliers=multipliers,
                   searches=tuple(searches), stored=stored)


@dataclass(frozen=True)
class Costs:
    """Per participant (n,) EUR over the week: `purchase` at day-ahead prices times the multipliers, of which
    `premium` is the multipliers' part (paid to the premium recipient), `sales` at day-ahead prices,
    `wire_fees` and `overload_fines` (the operator's hooks; the paper gives no formula, 0 by default), and
    `net` = purchase + fees + fines - sales."""

    purchase: np.ndarray
    premium: np.ndarray
    sales: np.ndarray
    wire_fees: np.ndarray
    overload_fines: np.ndarray

    @property
    def net(self) -> np.ndarray:
        return self.purchase + self.wire_fees + self.overload_fines - self.sales


def week_costs(run: WeekRun, prices: np.ndarray, wire_fee: float = 0.0, overload_kwh: float | None = None,
               overload_fine: float = 0.0) -> Costs:
    """What each participant pays over `run`'s week at the (days, 24) EUR/kWh `prices` (the same price for
    buying and selling: trades settle at the day-ahead price, with the operator as counterparty of last resort).
    `wire_fee` EUR per kWh bought; `overload_fine` EUR per kWh a participant buys above `overload_kwh` in an
    hour (None: no limit)."""
    base = run.bought * prices[None, :, :]
    purchase = (base * run.multipliers[None, :, :]).sum(axis=(1, 2))
    premium = purchase - base.sum(axis=(1, 2))
    over = np.zeros_like(run.bought) if overload_kwh is None else np.clip(run.bought - overload_kwh, 0.0, None)
    return Costs(purchase=purchase, premium=premium, sales=(run.sold * prices[None, :, :]).sum(axis=(1, 2)),
                 wire_fees=wire_fee * run.bought.sum(axis=(1, 2)),
                 overload_fines=overload_fine * over.sum(axis=(1, 2)))
