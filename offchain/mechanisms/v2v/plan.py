"""Seed 001 ch. 4 (V2V trading at a workplace parking hotspot): the pure pipeline, no chain I/O.

Table 4.1's day (arrival, departure, initial state of charge, hourly TOU prices), the price factor delta
(eqs 4.2-4.4), the V2V price rule the thesis omits, the PoSOC proof score (eq 4.1, daily 4.17), the
mining fee M_r = sum_i beta * R_i (eq 4.20) and the profit metric of Figs 4.7-4.10. Every choice where the
thesis is silent or wrong is in docs/v2v.md; units: energies in kWh, prices in cents per kWh, hours 0-23.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from dataclasses import dataclass

import numpy as np

from offchain.units import score_to_base

HOURS_PER_DAY = 24

#: Table 4.1 period names and their index in the price arrays.
OFF, MID, ON = 0, 1, 2
PERIOD_NAMES = ("off-peak", "mid-peak", "on-peak")


@dataclass(frozen=True)
class V2VSetup:
    """The parameters of the parking hotspot (Table 4.1 and the choices of docs/v2v.md).

    Times in hours of the day, energies in kWh, prices in cents per kWh. `price_mean`/`price_std`: Table 4.1's
    off/mid/on-peak TOU price distributions (the grid's selling price p^Gsell). `feed_in_ratio`: the grid's
    buying price p^Gbuy as a fraction of p^Gsell (not given). `rate_kw`: the charger's power per hour (not
    given). `eta`: the range-anxiety weight of eq. 4.16 (negative: leaving below SOC_max costs reward).
    `price_noise`: "normal" (Table 4.1) or "uniform" (the thesis's UD runs: same mean and standard deviation).
    """

    capacity_kwh: float = 42.0
    soc_min: float = 0.2
    soc_max: float = 0.8
    rate_kw: float = 7.0
    arrival_mean: float = 7.0
    arrival_std: float = 1.0
    arrival_range: tuple[float, float] = (4.0, 10.0)
    departure_mean: float = 18.0
    departure_std: float = 1.0
    departure_range: tuple[float, float] = (8.0, 22.0)
    soc_mean: float = 0.5
    soc_std: float = 0.1
    soc_range: tuple[float, float] = (0.4, 0.8)
    price_mean: tuple[float, float, float] = (6.8, 10.0, 12.9)
    price_std: tuple[float, float, float] = (2.6, 1.5, 2.0)
    price_floor: float = 0.5
    feed_in_ratio: float = 0.6
    eta: float = -2.0
    omega: float = 0.0
    price_noise: str = "normal"

    def __post_init__(self) -> None:
        if not 0 <= self.soc_min < self.soc_max <= 1:
            raise ValueError(f"need 0 <= soc_min < soc_max <= 1, got {self.soc_min}, {self.soc_max}")
        if self.capacity_kwh <= 0 or self.rate_kw <= 0:
            raise ValueError("capacity_kwh and rate_kw must be positive")
        if not 0 < self.feed_in_ratio < 1:
            raise ValueError(f"feed_in_ratio must lie in (0, 1), got {self.feed_in_ratio}")
        if self.price_noise not in ("normal", "uniform"):
            raise ValueError(f"price_noise must be 'normal' or 'uniform', got {self.price_noise!r}")


def tou_period(hour: int) -> int:
    """Ontario's winter TOU period of `hour` (0-23): off-peak 19-7, on-peak 7-11 and 17-19, mid-peak 11-17.

    Table 4.1 prints on-peak "1am-11am" (a typo: it overlaps off-peak); Ontario's schedule it cites is used.
    """
    h = hour % HOURS_PER_DAY
    if 7 <= h < 11 or 17 <= h < 19:
        return ON
    if 11 <= h < 17:
        return MID
    return OFF


def price_factors(setup: V2VSetup) -> np.ndarray:
    """delta per period (eqs 4.2-4.4) from Table 4.1's mean prices: (0, (mid - off) / off, (on - off) / off).

    delta_off = 0 is what the formula gives for off-peak (the thesis leaves it undefined).
    """
    off = setup.price_mean[OFF]
    return np.array([0.0, (setup.price_mean[MID] - off) / off, (setup.price_mean[ON] - off) / off])


@dataclass(frozen=True)
class EVDay:
    """One EV's day at the hotspot: parked in hours arrival .. departure - 1 (integers), SOC on arrival
    (fraction of capacity) and the 24 hourly grid selling prices p^Gsell (cents per kWh)."""

    arrival: int
    departure: int
    soc0: float
    grid_sell: np.ndarray

    @property
    def hours(self) -> np.ndarray:
        """The parked hours."""
        return np.arange(self.arrival, self.departure)


def sample_prices(setup: V2VSetup, rng: np.random.Generator) -> np.ndarray:
    """24 hourly grid selling prices (cents per kWh), each from its period's Table 4.1 distribution
    (normal, or uniform with the same mean and standard deviation), floored at `price_floor`."""
    periods = np.array([tou_period(h) for h in range(HOURS_PER_DAY)])
    mean = np.asarray(setup.price_mean)[periods]
    std = np.asarray(setup.price_std)[periods]
    if setup.price_noise == "normal":
        noise = rng.standard_normal(HOURS_PER_DAY)
    else:
        noise = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), HOURS_PER_DAY)
    return np.maximum(mean + std * noise, setup.price_floor)


def sample_day(setup: V2VSetup, rng: np.random.Generator) -> EVDay:
    """One EV's day from Table 4.1: arrival ~ N(7, 1) in [4, 10], departure ~ N(18, 1) in [8, 22] (rounded to
    whole hours, at least one hour after arrival), SOC ~ N(0.5, 0.1) in [0.4, 0.8] (Table 4.1's upper 0.9
    lies above SOC_max, so the window's top is used), hourly prices from :func:`sample_prices`."""
    arrival = int(round(np.clip(rng.normal(setup.arrival_mean, setup.arrival_std), *setup.arrival_range)))
    departure = int(round(np.clip(rng.normal(setup.departure_mean, setup.departure_std), *setup.departure_range)))
    departure = max(departure, arrival + 1)
    soc0 = float(np.clip(rng.normal(setup.soc_mean, setup.soc_std), *setup.soc_range))
    return EVDay(arrival, departure, soc0, sample_prices(setup, rng))


def grid_buy(setup: V2VSetup, grid_sell: np.ndarray | float) -> np.ndarray | float:
    """The grid's buying (feed-in) price p^Gbuy, cents per kWh: `feed_in_ratio` times its selling price."""
    return setup.feed_in_ratio * grid_sell


def v2v_price(setup: V2VSetup, grid_sell: np.ndarray | float) -> np.ndarray | float:
    """The V2V price p^v2v, cents per kWh: the midpoint of the grid's buying and selling prices, so that
    p^Gsell > p^v2v > p^Gbuy (the thesis's assumption; it gives no rule)."""
    return (grid_sell + grid_buy(setup, grid_sell)) / 2


def feasible_action(setup: V2VSetup, soc: float, requested_kwh: float) -> float:
    """The energy (kWh, + charge / - discharge) the battery can take this hour: `requested_kwh` clipped to the
    charger's rate and to the SOC window (eqs 4.12-4.13: -(SOC - SOC_min) <= A / E_max <= SOC_max - SOC)."""
    low = -min(setup.rate_kw, max(soc - setup.soc_min, 0.0) * setup.capacity_kwh)
    high = min(setup.rate_kw, max(setup.soc_max - soc, 0.0) * setup.capacity_kwh)
    return float(np.clip(requested_kwh, low, high))


def step_reward(setup: V2VSetup, delta: float, action_kwh: float, price_v2v: float, *, departing: bool,
                soc_after: float) -> float:
    """Eqs 4.14-4.16 in dollars: -delta * A * (p^v2v + Omega) / 100, plus eta * (SOC - SOC_max)^2 when the EV
    departs after this hour."""
    reward = -delta * action_kwh * (price_v2v + setup.omega) / 100.0
    if departing:
        reward += setup.eta * (soc_after - setup.soc_max) ** 2
    return float(reward)


def posoc_score(setup: V2VSetup, delta: float, action_kwh: float, *, departing: bool, soc_after: float) -> float:
    """PoSOC proof score of one hour (eq. 4.1): delta * (D - C) with D = |A| discharged and C = A charged (kWh;
    Algorithm 4's D <- A has the sign wrong), plus the SOC gap (SOC_max - SOC) * capacity in kWh when departing
    (eq. 4.1 and Algorithm 4; eq. 4.17 adds it every hour, read here as a typo)."""
    discharged = max(-action_kwh, 0.0)
    charged = max(action_kwh, 0.0)
    score = delta * (discharged - charged)
    if departing:
        score += (setup.soc_max - soc_after) * setup.capacity_kwh
    return float(score)


def ev_hour(setup: V2VSetup, hour: int, action_kwh: float, price_v2v: float, *, departing: bool,
            soc_after: float) -> tuple[float, float]:
    """One EV's parked hour as the chain records it: (PoSOC score, reward $) of moving `action_kwh` (+ bought)
    at `price_v2v` cents per kWh, with the SOC it leaves with if it departs after the hour."""
    delta = float(price_factors(setup)[tou_period(hour)])
    return (posoc_score(setup, delta, action_kwh, departing=departing, soc_after=soc_after),
            step_reward(setup, delta, action_kwh, price_v2v, departing=departing, soc_after=soc_after))


def score_base(points: float) -> int:
    """A signed PoSOC score in EPOS base units (PoSocScores' int): units.score_to_base on its magnitude."""
    return score_to_base(points) if points >= 0 else -score_to_base(-points)


def daily_scores(hourly: np.ndarray) -> np.ndarray:
    """PS^H of eq. 4.17: each EV's sum of its hourly scores (rows = EVs, columns = hours)."""
    return np.asarray(hourly, dtype=float).sum(axis=1)


def draw_weights(daily: np.ndarray) -> np.ndarray:
    """WeightedRandom weights of eq. 4.18: daily scores clipped at 0 (a net charger can score below 0) and
    normalised; equal weights when no score is positive."""
    clipped = np.maximum(np.asarray(daily, dtype=float), 0.0)
    total = clipped.sum()
    return clipped / total if total > 0 else np.full(len(clipped), 1.0 / len(clipped))


def draw_seed(block_hash: bytes, day: int, contract: str, chain_id: int) -> bytes:
    """PoSocScores' draw seed: keccak256(abi.encode(blockhash(drawBlock), day, contract, chainid))."""
    from eth_abi import encode
    from eth_utils import keccak

    return keccak(encode(["bytes32", "uint256", "address", "uint256"], [block_hash, day, contract, chain_id]))


def draw_index(seed: bytes, weights: Sequence[int]) -> int:
    """The on-chain weighted draw of eq. 4.18 (PoSocScores.drawAggregator) on integer weights (PS^H in EPOS
    base units, clipped at 0; every weight 1 when none is positive): the first index whose cumulative weight
    exceeds int(seed) mod total."""
    clipped = [max(int(w), 0) for w in weights]
    if not clipped:
        raise ValueError("a draw needs at least one EV")
    if sum(clipped) == 0:
        clipped = [1] * len(clipped)
    target = int.from_bytes(seed, "big") % sum(clipped)
    return next(k for k, cumulative in enumerate(accumulate(clipped)) if target < cumulative)


def mining_fees(beta: float, rewards: np.ndarray) -> np.ndarray:
    """Each EV's share of the mining reward (eq. 4.20), M_r = sum_i beta * R_i: beta times the EV's day reward,
    0 for a day with no positive reward (nobody pays for a loss)."""
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta}")
    return beta * np.maximum(np.asarray(rewards, dtype=float), 0.0)


def profit_vs_grid(setup: V2VSetup, action_kwh: float, grid_sell: float) -> float:
    """Figs 4.7-4.10's profit of one V2V trade over trading with the grid, percent: a purchase saves
    (p^Gsell - p^v2v) / p^Gsell, a sale earns (p^v2v - p^Gbuy) / p^Gbuy more; 0 without a trade."""
    if action_kwh == 0:
        return 0.0
    p = float(v2v_price(setup, grid_sell))
    buy = float(grid_buy(setup, grid_sell))
    return 100.0 * ((grid_sell - p) / grid_sell if action_kwh > 0 else (p - buy) / buy)
