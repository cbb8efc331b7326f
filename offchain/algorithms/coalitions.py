"""Loss-minimising coalitions of prosumers — seed 001, thesis §3.3 (eqs 3.5-3.15, Algorithm 3).

One slot (24 h in the thesis): every prosumer has a forecast production and consumption (kWh) and a
position (km). Sellers (surplus) and buyers (deficit) form coalitions; inside a coalition sellers ship
energy to buyers, the rest is traded with the distribution centre (EDC).

The pipeline, with the choices the thesis leaves open (docs/seed001.md explains each):

1. Singleton PoEG scores (offchain.algorithms.poeg).
2. Initial pairing (Alg. 3 lines 8-18, which as printed may loop forever): every seller/buyer pair that
   passes the printed proximity test  d_ij < d_i and d_ij < d_j  is a candidate; candidates are taken
   nearest first (ties by index), each prosumer at most once. A finite sorted list, so it terminates.
   Candidates come from the `neighbours` nearest prosumers of each prosumer (k-d tree), not all pairs.
3. Per coalition, the corrected transportation LP (spec §3.5): maximise the members' summed loss
   saving  sum_ij X_ij * C * (d_i + d_j - 2 s d_ij)  subject to  sum_j X_ij <= surplus_i,
   sum_i X_ij <= deficit_j, X >= 0; what is left goes to / comes from the EDC. That is the same as
   minimising the coalition loss of eq. 3.21. With the default trade rule a trade i->j is only
   allowed when it cuts both parties' own losses, so no member ever does worse than alone; with the
   default division of the loss that is every trade shorter than the two EDC legs, 2s*d_ij < d_i + d_j.
   HiGHS via scipy.optimize.linprog; a coalition with a single seller or a single buyer is a fractional
   knapsack and is filled greedily (exact, no LP needed).
4. Merge-and-split under the Pareto order on member scores, in rounds. A round's merge step repeats
   passes until none improves; a pass evaluates the merges of coalition pairs joined by an eligible
   trade (from one with spare supply to one with spare demand) and applies the Pareto-improving ones by
   decreasing gain, each coalition at most once per pass, so a coalition can absorb several others in
   one round (Table 3.2, itr 3). The split step then tests the coalitions the round created. Every
   accepted operation raises the summed score, so no partition repeats and the loop ends;
   `max_rounds` bounds it anyway and the result says whether it converged.

Member score (eq. 3.6): PS_{S,i} = PS_i + (E_i^loss - E_{S,i}^loss), where seller and buyer together are
charged 2s times an intra-coalition trade's loss (eq. 3.7), s = `intra_loss_charge`. Default s = 0.5:
the physical loss is charged once, so the members' accounted losses add up to what the lines lose and
eq. 3.19's savings are energy actually saved. s = 1 is eq. 3.7 read literally (each party charged the
whole loss, so every intra loss is counted twice). `intra_loss_division` says how the charge is shared:
in proportion to the parties' own distances to the EDC (default: both save the same fraction of their
stand-alone loss, so every trade that shortens the route lowers both parties' losses) or equally (then a
seller next to the EDC loses by any long trade). docs/seed001.md §2 gives the reasons.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.spatial import cKDTree

from offchain.algorithms.poeg import LossModel, distances_to_centre, poeg_scores, scores_to_base
from offchain.units import kwh_to_wh

Members = tuple[int, ...]
TradeRule = Literal["both_gain", "coalition_optimum"]


@dataclass(frozen=True)
class Market:
    """One slot's prosumers: positions (km, shape (n, 2)), forecast production and consumption (kWh)."""

    xy_km: NDArray[np.float64]
    production_kwh: NDArray[np.float64]
    consumption_kwh: NDArray[np.float64]
    centre_km: tuple[float, float] = (10.0, 10.0)

    def __post_init__(self) -> None:
        n = len(self.production_kwh)
        if np.shape(self.xy_km) != (n, 2) or len(self.consumption_kwh) != n:
            raise ValueError("xy_km must be (n, 2) and production/consumption of length n")
        if np.any(np.asarray(self.production_kwh) < 0) or np.any(np.asarray(self.consumption_kwh) < 0):
            raise ValueError("production and consumption must be >= 0 kWh")

    @classmethod
    def from_frame(cls, prosumers: pd.DataFrame, centre_km: tuple[float, float] = (10.0, 10.0)) -> Market:
        """From a frame with columns x_km, y_km, production_kwh, consumption_kwh (row order = index)."""
        return cls(
            xy_km=prosumers[["x_km", "y_km"]].to_numpy(float),
            production_kwh=prosumers["production_kwh"].to_numpy(float),
            consumption_kwh=prosumers["consumption_kwh"].to_numpy(float),
            centre_km=centre_km,
        )

    @property
    def n(self) -> int:
        return len(self.production_kwh)

    @cached_property
    def balance_kwh(self) -> NDArray[np.float64]:
        """P_i - C_i: > 0 seller, < 0 buyer."""
        return np.asarray(self.production_kwh, float) - np.asarray(self.consumption_kwh, float)

    @cached_property
    def surplus_kwh(self) -> NDArray[np.float64]:
        return np.maximum(self.balance_kwh, 0.0)

    @cached_property
    def deficit_kwh(self) -> NDArray[np.float64]:
        return np.maximum(-self.balance_kwh, 0.0)

    @cached_property
    def is_seller(self) -> NDArray[np.bool_]:
        return self.balance_kwh > 0

    @cached_property
    def distance_to_centre_km(self) -> NDArray[np.float64]:
        return distances_to_centre(self.xy_km, self.centre_km)


@dataclass(frozen=True)
class CoalitionConfig:
    """Knobs of coalition formation (defaults = the thesis reading documented in docs/seed001.md)."""

    loss: LossModel = LossModel()
    #: Factor s: seller and buyer are charged 2s x an intra-coalition trade's loss between them. 0.5 charges
    #: the physical loss once (accounts = lines); 1.0 is eq. 3.7 read literally (each intra loss counted twice).
    intra_loss_charge: float = 0.5
    #: How the charge is shared: "proportional" = in proportion to the parties' own distances to the EDC
    #: (both save the same fraction of their stand-alone loss, so a trade that shortens the route lowers
    #: both parties' losses: "both_gain" then equals "coalition_optimum"); "equal" = s x the loss to each.
    intra_loss_division: Literal["proportional", "equal"] = "proportional"
    #: "both_gain": a trade is allowed only if it lowers both parties' own losses (default);
    #: "coalition_optimum": any trade that lowers the coalition's summed loss (the bare LP).
    trade_rule: TradeRule = "both_gain"
    #: Initial pairing test (Alg. 3 line 11): "printed" = d_ij < d_i and d_ij < d_j (closer to each other
    #: than either is to the EDC, whatever the loss charge); "loss_charge" = each party's own accounted
    #: loss falls (s*d_ij < d_i and s*d_ij < d_j with the equal division). The two agree when s = 1 with
    #: the equal division.
    pairing_test: Literal["printed", "loss_charge"] = "printed"
    #: Nearest prosumers (k-d tree) searched for pairing and merge candidates.
    neighbours: int = 12
    #: Plan of a merged coalition: "optimal" = the LP optimum of the union (a function of the member set
    #: alone); "pareto_floor" = the best plan in which no member saves less than now (finds every
    #: merge that raises the total without hurting anyone, but the plan then depends on the path).
    merge_plan: Literal["optimal", "pareto_floor"] = "optimal"
    #: Only try merges that can add trade (an eligible edge from a coalition with spare supply to one
    #: with spare demand). False also tries pure re-routing merges between neighbouring coalitions.
    complementary_merges_only: bool = True
    #: Upper bound on merge/split rounds.
    max_rounds: int = 20
    #: Coalitions up to this size get every bipartition tested as a split; larger ones single-member splits.
    split_exhaustive_max: int = 4
    #: Score differences below this (kWh) count as equal in the Pareto order and the LP clean-up.
    tolerance_kwh: float = 1e-7

    def __post_init__(self) -> None:
        if not 0 < self.intra_loss_charge <= 1:
            raise ValueError(f"intra_loss_charge must be in (0, 1], got {self.intra_loss_charge}")
        if self.intra_loss_division not in ("equal", "proportional"):
            raise ValueError(f"unknown intra_loss_division {self.intra_loss_division!r}")
        if self.trade_rule not in ("both_gain", "coalition_optimum"):
            raise ValueError(f"unknown trade_rule {self.trade_rule!r}")
        if self.merge_plan not in ("optimal", "pareto_floor"):
            raise ValueError(f"unknown merge_plan {self.merge_plan!r}")
        if self.pairing_test not in ("printed", "loss_charge"):
            raise ValueError(f"unknown pairing_test {self.pairing_test!r}")
        if self.neighbours < 1 or self.max_rounds < 1 or self.split_exhaustive_max < 2:
            raise ValueError("neighbours, max_rounds >= 1 and split_exhaustive_max >= 2 required")


@dataclass(frozen=True)
class CoalitionPlan:
    """The LP optimum of one member set: trades (seller, buyer, kWh) and each member's saving (kWh)."""

    members: Members
    trades: tuple[tuple[int, int, float], ...]
    savings_kwh: tuple[float, ...]  # aligned with members

    @property
    def total_saving_kwh(self) -> float:
        return float(sum(self.savings_kwh))

    def saving_of(self) -> dict[int, float]:
        return dict(zip(self.members, self.savings_kwh))


class CoalitionSolver:
    """Solves and caches the per-coalition LP: a plan depends only on the member set (and the floors,
    when given), so each is solved once per slot."""

    def __init__(self, market: Market, config: CoalitionConfig = CoalitionConfig()) -> None:
        self.market = market
        self.config = config
        self.lp_solves = 0
        self.greedy_solves = 0
        self._cache: dict[Members, CoalitionPlan] = {}

    def unit_gains_km(self, sellers: NDArray[np.int_], buyers: NDArray[np.int_]) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """Per-kWh saving (in km of line, multiply by the loss coefficient for kWh) of every seller->buyer
        trade: the seller's own, the buyer's own, their sum, and whether the trade rule allows it."""
        m = self.market
        d_ij = np.hypot(
            m.xy_km[sellers, 0][:, None] - m.xy_km[buyers, 0][None, :],
            m.xy_km[sellers, 1][:, None] - m.xy_km[buyers, 1][None, :],
        )
        d_seller, d_buyer = m.distance_to_centre_km[sellers][:, None], m.distance_to_centre_km[buyers][None, :]
        seller_gain, buyer_gain = own_gains_km(self.config, d_ij, d_seller, d_buyer)
        allowed = trade_allowed(self.config.trade_rule, seller_gain, buyer_gain)
        return seller_gain, buyer_gain, seller_gain + buyer_gain, allowed

    def plan(self, members: Iterable[int], floors: Sequence[float] | None = None) -> CoalitionPlan:
        """The coalition's loss-minimising trades. `floors` (kWh, aligned with the sorted members) adds
        the constraints "member k saves at least floors[k]": the best plan that hurts nobody."""
        key = tuple(sorted(members))
        floor_key = None if floors is None or max(floors, default=0.0) <= self.config.tolerance_kwh else tuple(floors)
        cached = self._cache.get((key, floor_key))
        if cached is None:
            cached = self._cache[(key, floor_key)] = self._solve(key, floor_key)
        return cached

    def _solve(self, members: Members, floors: tuple[float, ...] | None) -> CoalitionPlan:
        m, tol = self.market, self.config.tolerance_kwh
        idx = np.asarray(members, dtype=int)
        sellers = idx[m.surplus_kwh[idx] > tol]
        buyers = idx[m.deficit_kwh[idx] > tol]
        savings = dict.fromkeys(members, 0.0)
        if len(sellers) == 0 or len(buyers) == 0:
            return CoalitionPlan(members, (), tuple(savings.values()))
        seller_gain, buyer_gain, total, allowed = self.unit_gains_km(sellers, buyers)
        si, bj = np.nonzero(allowed)
        if len(si) == 0:
            return CoalitionPlan(members, (), tuple(savings.values()))
        supply, demand = m.surplus_kwh[sellers], m.deficit_kwh[buyers]
        coefficient = self.config.loss.coefficient_per_km
        if floors is None and (len(sellers) == 1 or len(buyers) == 1):
            flows = _fill_star(total[si, bj], supply, demand, si, bj)
            self.greedy_solves += 1
        else:
            own_gains = None
            if floors is not None:
                floor_of = dict(zip(members, floors))
                lower = [floor_of[int(i)] / coefficient for i in np.concatenate([sellers, buyers])]  # km*kWh
                own_gains = (seller_gain[si, bj], buyer_gain[si, bj], np.asarray(lower), tol / coefficient)
            flows = _transport_lp(total[si, bj], supply, demand, si, bj, own_gains)
            self.lp_solves += 1
        trades = []
        for e in np.nonzero(flows > tol)[0]:
            s_local, b_local, x = si[e], bj[e], float(flows[e])
            seller, buyer = int(sellers[s_local]), int(buyers[b_local])
            trades.append((seller, buyer, x))
            savings[seller] += coefficient * x * seller_gain[s_local, b_local]
            savings[buyer] += coefficient * x * buyer_gain[s_local, b_local]
        return CoalitionPlan(members, tuple(trades), tuple(float(v) for v in savings.values()))


def own_gains_km(
    config: CoalitionConfig, d_ij: NDArray, d_seller: NDArray, d_buyer: NDArray
) -> tuple[NDArray, NDArray]:
    """Per-kWh saving (km of line) of a seller->buyer trade for the seller and for the buyer: each one's
    EDC distance minus its part of the 2s x d_ij charged for the trade (`intra_loss_division`)."""
    charged = 2 * config.intra_loss_charge * d_ij
    if config.intra_loss_division == "equal":
        seller_part = 0.5
    else:
        both = d_seller + d_buyer
        # two prosumers on the EDC itself are 0 km apart: nothing to share, any part will do
        seller_part = np.divide(d_seller, both, out=np.full(np.broadcast(d_ij, both).shape, 0.5), where=both > 0)
    return d_seller - seller_part * charged, d_buyer - (1 - seller_part) * charged


def trade_allowed(rule: TradeRule, seller_gain: NDArray, buyer_gain: NDArray) -> NDArray[np.bool_]:
    """The trade rule on per-kWh own gains: both parties gain ("both_gain") or their sum does."""
    if rule == "both_gain":
        return (seller_gain > 0) & (buyer_gain > 0)
    return seller_gain + buyer_gain > 0


def _fill_star(gain, supply, demand, si, bj) -> NDArray[np.float64]:
    """Exact optimum when one side has a single member: serve the best edges first (fractional knapsack)."""
    remaining_supply, remaining_demand = supply.astype(float).copy(), demand.astype(float).copy()
    flows = np.zeros(len(gain))
    for e in np.argsort(-gain, kind="stable"):
        x = min(remaining_supply[si[e]], remaining_demand[bj[e]])
        flows[e] = x
        remaining_supply[si[e]] -= x
        remaining_demand[bj[e]] -= x
    return flows


#: Price (per km*kWh) of falling short of the floors in a floored LP: far above any floor's shadow price, so
#: the shortfall is only used where HiGHS cannot meet floors that hold exactly (it reports such degenerate
#: problems as infeasible).
_FLOOR_SHORTFALL_PRICE = 1e6


def _transport_lp(gain, supply, demand, si, bj, own_gains=None) -> NDArray[np.float64]:
    """max gain.x  s.t. per-seller outflow <= supply, per-buyer inflow <= demand, x >= 0 (HiGHS).
    own_gains = (seller gain per edge, buyer gain per edge, lower bounds for sellers then buyers, allowed
    shortfall) adds "each member's own saving >= its bound".

    The floors are elastic: one shortfall variable t >= 0, priced at _FLOOR_SHORTFALL_PRICE, relaxes them
    all, and a plan missing them by more than the allowed shortfall is an error. Floors are never loosened
    by a fixed slack: a floor's shadow price can be far above 1 (50 seen), so a slack of tol / 2m per member
    once bought more than tol in total and a re-solve of the same member set passed for a Pareto improvement.

    Coalition LPs are small (tens of edges), where a dense constraint matrix is cheaper to hand over."""
    n_edges, n_sellers, n_buyers = len(gain), len(supply), len(demand)
    edges = np.arange(n_edges)
    a_ub = np.zeros((n_sellers + n_buyers, n_edges))
    a_ub[si, edges] = 1.0
    a_ub[n_sellers + bj, edges] = 1.0
    b_ub = np.concatenate([supply, demand])
    cost = -np.asarray(gain, float)
    if own_gains is not None:
        seller_gain, buyer_gain, lower, allowed_shortfall = own_gains
        floor_rows = np.zeros((n_sellers + n_buyers, n_edges))
        floor_rows[si, edges] = -seller_gain
        floor_rows[n_sellers + bj, edges] = -buyer_gain
        binding = lower > 0
        shortfall_column = np.concatenate([np.zeros(len(b_ub)), -np.ones(int(binding.sum()))])
        a_ub = np.column_stack([np.vstack([a_ub, floor_rows[binding]]), shortfall_column])
        b_ub = np.concatenate([b_ub, -lower[binding]])
        cost = np.append(cost, _FLOOR_SHORTFALL_PRICE)
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"coalition LP failed: {result.message}")
    flows = result.x[:n_edges]
    if own_gains is not None and result.x[n_edges] > allowed_shortfall:
        raise RuntimeError(f"coalition LP misses its floors by {result.x[n_edges]:.3g} km*kWh")
    return _within_capacity(np.maximum(flows, 0.0), supply, demand, si, bj)


def _within_capacity(flows, supply, demand, si, bj) -> NDArray[np.float64]:
    """HiGHS may overshoot a capacity by its feasibility tolerance (1e-7 kWh); scale such a seller's or
    buyer's flows down so every plan is exactly feasible. A merged coalition can then always reproduce its
    parts' plans, so floors at the members' current savings stay attainable."""
    for ends, capacity in ((si, supply), (bj, demand)):
        used = np.bincount(ends, weights=flows, minlength=len(capacity))
        over = used > capacity
        if np.any(over):
            scale = np.ones(len(capacity))
            scale[over] = capacity[over] / used[over]
            flows = flows * scale[ends]
    return flows


@dataclass(frozen=True)
class RoundRecord:
    """One row of the Table 3.2-style log."""

    label: str  # "singletons", "pairing", "merge/split 1", ...
    partition: tuple[Members, ...]
    coalition_scores: tuple[float, ...]
    member_scores: NDArray[np.float64]
    merges: int = 0
    splits: int = 0
    merge_passes: int = 0


@dataclass
class CoalitionResult:
    """Stable partition of one slot with scores, trades and the round-by-round log."""

    partition: list[Members]  # canonical: members sorted, coalitions by smallest member
    singleton_scores: NDArray[np.float64]
    member_scores: NDArray[np.float64]
    coalition_scores: list[float]
    trades: pd.DataFrame  # coalition, seller, buyer, energy_kwh, distance_km, loss_kwh
    residual: pd.DataFrame  # prosumer, direction (export/import), energy_kwh, distance_km, loss_kwh
    log: list[RoundRecord]
    rounds: int  # merge/split rounds run, including the last one that changed nothing
    converged: bool
    merges: int  # pairwise merges applied
    merge_passes: int  # pairwise merge passes over all rounds (a round repeats passes until none improves)
    splits: int
    merge_checks: int
    split_checks: int
    lp_solves: int
    greedy_solves: int
    seconds: float
    plans: dict[Members, CoalitionPlan] = field(repr=False)

    @property
    def savings_kwh(self) -> NDArray[np.float64]:
        """E_save_{S,i} = PS_{S,i} - PS_i per prosumer (kWh, >= 0 under the default trade rule)."""
        return self.member_scores - self.singleton_scores

    def log_frame(self, decimals: int = 2) -> pd.DataFrame:
        """Table 3.2 layout: iteration, partition, coalition scores, one column per prosumer."""
        rows = []
        for itr, rec in enumerate(self.log, start=1):
            row = {
                "Itr": itr,
                "step": rec.label,
                "Partition": str([list(c) for c in rec.partition]),
                "Coalition PS": str([round(s, decimals) for s in rec.coalition_scores]),
            }
            row.update({f"P{i}": round(float(v), decimals) for i, v in enumerate(rec.member_scores)})
            rows.append(row)
        return pd.DataFrame(rows)


def _canonical(partition: Iterable[Iterable[int]]) -> list[Members]:
    return sorted((tuple(sorted(c)) for c in partition), key=lambda c: c[0])


def candidate_edges(
    market: Market, config: CoalitionConfig, rule: TradeRule = "both_gain"
) -> tuple[NDArray[np.int_], NDArray[np.int_], NDArray[np.float64]]:
    """Seller->buyer pairs among each prosumer's `neighbours` nearest whose trade `rule` allows
    ("both_gain": each party's own accounted loss falls — with s = 1 and the equal division this is the
    printed proximity test of Alg. 3 line 11, d_ij < d_i and d_ij < d_j); returns (sellers, buyers,
    distances km), nearest first, ties by seller then buyer index."""
    n = market.n
    empty = np.zeros(0, dtype=int)
    if n < 2:
        return empty, empty, np.zeros(0)
    k = min(config.neighbours + 1, n)
    _, nearest = cKDTree(market.xy_km).query(market.xy_km, k=k)
    a = np.repeat(np.arange(n), k - 1)
    b = nearest[:, 1:].ravel()
    seller = np.where(market.is_seller[a], a, b)
    buyer = np.where(market.is_seller[a], b, a)
    keep = market.is_seller[seller] & (market.deficit_kwh[buyer] > 0)
    pair_ids = np.unique(seller[keep] * n + buyer[keep])
    seller, buyer = pair_ids // n, pair_ids % n
    d = np.hypot(*(market.xy_km[seller] - market.xy_km[buyer]).T)
    to_centre = market.distance_to_centre_km
    seller_gain, buyer_gain = own_gains_km(config, d, to_centre[seller], to_centre[buyer])
    ok = trade_allowed(rule, seller_gain, buyer_gain)
    seller, buyer, d = seller[ok], buyer[ok], d[ok]
    order = np.lexsort((buyer, seller, d))
    return seller[order], buyer[order], d[order]


def initial_pairing(market: Market, config: CoalitionConfig = CoalitionConfig()) -> list[Members]:
    """Alg. 3 lines 8-18 made terminating: nearest eligible seller/buyer pairs first, each prosumer at
    most once; everyone left over stays a singleton. Eligible = `config.pairing_test`."""
    printed = replace(config, intra_loss_charge=1.0, intra_loss_division="equal")
    test_config = printed if config.pairing_test == "printed" else config
    sellers, buyers, _ = candidate_edges(market, test_config)
    paired = np.zeros(market.n, dtype=bool)
    pairs: list[Members] = []
    for s, b in zip(sellers.tolist(), buyers.tolist()):
        if not paired[s] and not paired[b]:
            paired[s] = paired[b] = True
            pairs.append((s, b))
    singles = [(i,) for i in np.nonzero(~paired)[0].tolist()]
    return _canonical(pairs + singles)


def pareto_improves(new: Sequence[float], old: Sequence[float], tolerance: float) -> bool:
    """A |> B on member scores: nobody loses more than `tolerance`, somebody gains more than it."""
    diff = np.asarray(new, float) - np.asarray(old, float)
    return bool(np.all(diff >= -tolerance) and np.any(diff > tolerance))


def form_coalitions(market: Market, config: CoalitionConfig = CoalitionConfig()) -> CoalitionResult:
    """Algorithm 3 for one slot: singleton scores, pairing, per-coalition LP, merge-and-split rounds."""
    started = time.perf_counter()
    solver = CoalitionSolver(market, config)
    tol = config.tolerance_kwh
    singleton = poeg_scores(market.production_kwh, market.consumption_kwh, market.distance_to_centre_km, config.loss)
    saving = np.zeros(market.n)

    coalitions: dict[int, Members] = {}
    owner = np.empty(market.n, dtype=int)
    next_id = 0

    spare_supply: dict[int, bool] = {}
    spare_demand: dict[int, bool] = {}
    plans: dict[int, CoalitionPlan] = {}

    def add(members: Members, plan: CoalitionPlan | None = None) -> int:
        nonlocal next_id
        cid, next_id = next_id, next_id + 1
        coalitions[cid] = members
        owner[list(members)] = cid
        plan = plans[cid] = plan if plan is not None else solver.plan(members)
        for i, v in plan.saving_of().items():
            saving[i] = v
        traded = sum(x for _, _, x in plan.trades)
        spare_supply[cid] = market.surplus_kwh[list(members)].sum() - traded > tol
        spare_demand[cid] = market.deficit_kwh[list(members)].sum() - traded > tol
        return cid

    def snapshot(label: str, merges: int = 0, splits: int = 0, passes: int = 0) -> RoundRecord:
        part = tuple(_canonical(coalitions.values()))
        scores = singleton + saving
        coalition_scores = tuple(float(scores[list(c)].sum()) for c in part)
        return RoundRecord(label, part, coalition_scores, scores.copy(), merges, splits, passes)

    for i in range(market.n):
        add((i,))
    log = [snapshot("singletons")]
    coalitions.clear()
    for members in initial_pairing(market, config):
        add(members)
    log.append(snapshot("pairing"))

    edge_sellers, edge_buyers, _ = candidate_edges(market, config, config.trade_rule)
    floored = config.merge_plan == "pareto_floor"
    merge_decisions: dict[tuple, tuple[float, CoalitionPlan] | None] = {}
    split_decisions: dict[Members, tuple[Members, ...] | None] = {}
    merges_total = splits_total = merge_checks = split_checks = merge_passes = 0
    rounds, converged = 0, False

    def merge_pass() -> list[int]:
        """Evaluate merges of every pair of coalitions joined by an eligible trade edge; apply the
        Pareto-improving ones by decreasing gain, each coalition at most once in the pass."""
        nonlocal merge_checks
        ca, cb = owner[edge_sellers], owner[edge_buyers]
        cross = ca != cb
        if config.complementary_merges_only:
            # an edge can add trade only from a coalition with spare supply to one with spare demand
            cross &= np.fromiter((spare_supply[a] and spare_demand[b] for a, b in zip(ca.tolist(), cb.tolist())), bool, len(ca))
        pairs = np.unique(np.stack([np.minimum(ca[cross], cb[cross]), np.maximum(ca[cross], cb[cross])], axis=1), axis=0)
        improving = []
        for a, b in pairs.tolist():
            members = tuple(sorted(coalitions[a] + coalitions[b]))
            current = tuple(saving[i] for i in members)
            # the decision depends on the member sets and, for floored plans, on what they save now
            key = (coalitions[a], coalitions[b], current if floored else None)
            if key not in merge_decisions:
                merge_checks += 1
                merged = solver.plan(members, current if floored else None)
                gain = merged.total_saving_kwh - sum(current)
                merge_decisions[key] = (gain, merged) if pareto_improves(merged.savings_kwh, current, tol) else None
            if merge_decisions[key] is not None:
                gain, merged = merge_decisions[key]
                improving.append((-gain, members[0], a, b, merged))
        improving.sort(key=lambda item: item[:2])
        used: set[int] = set()
        created = []
        for _, _, a, b, merged in improving:
            if a not in used and b not in used:
                used.update((a, b))
                del coalitions[a], coalitions[b]
                created.append(add(merged.members, merged))
        return created

    while rounds < config.max_rounds:
        rounds += 1
        # merge step: passes until no neighbouring pair improves, so one coalition may absorb several
        # others in one round (Table 3.2, itr 3: [2,8] + [5] + [6])
        merges = passes = 0
        created: set[int] = set()
        while new := merge_pass():
            passes += 1
            merges += len(new)
            created.update(new)
        # split step on the coalitions this round created (older ones were tested when they were made)
        splits = 0
        for cid in sorted(created & coalitions.keys()):
            members = coalitions[cid]
            if members not in split_decisions:
                split_checks += 1
                split_decisions[members] = _improving_split(members, solver, saving, config)
            parts = split_decisions[members]
            if parts is not None:
                del coalitions[cid]
                for part in parts:
                    add(part)
                splits += 1
        merges_total += merges
        splits_total += splits
        merge_passes += passes
        log.append(snapshot(f"merge/split {rounds}", merges, splits, passes))
        if merges == 0 and splits == 0:
            converged = True
            break

    partition = _canonical(coalitions.values())
    member_scores = singleton + saving
    final_plans = {coalitions[cid]: plans[cid] for cid in coalitions}
    trades, residual = _trade_frames(partition, final_plans, market, config)
    return CoalitionResult(
        partition=partition,
        singleton_scores=singleton,
        member_scores=member_scores,
        coalition_scores=[float(member_scores[list(c)].sum()) for c in partition],
        trades=trades,
        residual=residual,
        log=log,
        rounds=rounds,
        converged=converged,
        merges=merges_total,
        merge_passes=merge_passes,
        splits=splits_total,
        merge_checks=merge_checks,
        split_checks=split_checks,
        lp_solves=solver.lp_solves,
        greedy_solves=solver.greedy_solves,
        seconds=time.perf_counter() - started,
        plans=final_plans,
    )


def _candidate_splits(members: Members, exhaustive_max: int) -> Iterable[tuple[Members, Members]]:
    if len(members) <= exhaustive_max:
        first, rest = members[0], members[1:]
        for size in range(len(rest)):  # parts containing `first`, the other part non-empty
            for chosen in combinations(rest, size):
                part = (first, *chosen)
                yield part, tuple(i for i in members if i not in part)
    else:
        for i in members:
            yield (i,), tuple(j for j in members if j != i)


def _improving_split(
    members: Members, solver: CoalitionSolver, saving: NDArray[np.float64], config: CoalitionConfig
) -> tuple[Members, ...] | None:
    """The Pareto-improving split of `members` (into two parts) with the largest summed gain, if any.

    With merge_plan="optimal" this cannot fire: the coalition's plan maximises the summed saving and
    could copy the parts' trades, so no split raises anyone without lowering someone. Floored plans
    (merge_plan="pareto_floor") are not total-maximal, and there a split can pay."""
    if len(members) < 2:
        return None
    current = [saving[i] for i in members]
    best: tuple[float, tuple[Members, ...]] | None = None
    for parts in _candidate_splits(members, config.split_exhaustive_max):
        new = {}
        for part in parts:
            new.update(solver.plan(part).saving_of())
        proposed = [new[i] for i in members]
        if pareto_improves(proposed, current, config.tolerance_kwh):
            gain = float(np.sum(proposed) - np.sum(current))
            if best is None or gain > best[0]:
                best = (gain, parts)
    return None if best is None else best[1]


def _trade_frames(
    partition: Sequence[Members], plans: Mapping[Members, CoalitionPlan], market: Market, config: CoalitionConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    coefficient = config.loss.coefficient_per_km
    rows = []
    sent = np.zeros(market.n)
    received = np.zeros(market.n)
    for c, members in enumerate(partition):
        for seller, buyer, kwh in plans[members].trades:
            d = float(np.hypot(*(market.xy_km[seller] - market.xy_km[buyer])))
            rows.append((c, seller, buyer, kwh, d, coefficient * d * kwh))
            sent[seller] += kwh
            received[buyer] += kwh
    trades = pd.DataFrame(rows, columns=["coalition", "seller", "buyer", "energy_kwh", "distance_km", "loss_kwh"])
    export = np.maximum(market.surplus_kwh - sent, 0.0)
    imports = np.maximum(market.deficit_kwh - received, 0.0)
    residual_rows = []
    for i in range(market.n):
        for direction, kwh in (("export", export[i]), ("import", imports[i])):
            if kwh > config.tolerance_kwh:
                d = float(market.distance_to_centre_km[i])
                residual_rows.append((i, direction, float(kwh), d, coefficient * d * float(kwh)))
    residual = pd.DataFrame(residual_rows, columns=["prosumer", "direction", "energy_kwh", "distance_km", "loss_kwh"])
    return trades, residual


def stability_violations(
    result: CoalitionResult, market: Market, config: CoalitionConfig = CoalitionConfig(), max_split_size: int = 10
) -> list[str]:
    """Exhaustive check of a partition: every pair of coalitions (not only neighbours) for a
    Pareto-improving merge, every bipartition of coalitions up to `max_split_size` members for a
    Pareto-improving split. Empty list = stable. Quadratic in the number of coalitions: tests only."""
    solver = CoalitionSolver(market, config)
    saving = result.savings_kwh
    found = []
    for a, b in combinations(result.partition, 2):
        members = tuple(sorted(a + b))
        current = [saving[i] for i in members]
        merged = solver.plan(members, current if config.merge_plan == "pareto_floor" else None)
        if pareto_improves(merged.savings_kwh, current, config.tolerance_kwh):
            found.append(f"merge {list(a)} + {list(b)}")
    for members in result.partition:
        if 2 <= len(members) <= max_split_size:
            split_config = CoalitionConfig(**{**config.__dict__, "split_exhaustive_max": max_split_size})
            parts = _improving_split(members, solver, saving, split_config)
            if parts is not None:
                found.append(f"split {list(members)} -> {[list(p) for p in parts]}")
    return found


@dataclass(frozen=True)
class MarketMetrics:
    """Market-wide energy figures of one slot (kWh) and the savings against everyone trading alone."""

    surplus_kwh: float
    deficit_kwh: float
    local_kwh: float  # traded inside coalitions
    exported_kwh: float
    imported_kwh: float
    loss_alone_kwh: float  # every prosumer trades only with the EDC
    loss_accounted_kwh: float  # eq. 3.21 summed over coalitions (each party charged s x intra loss)
    loss_physical_kwh: float  # what the lines actually lose with the coalition trades

    @property
    def saving_accounted(self) -> float:
        """Eq. 3.19 market-wide: (E_D^loss - E_S^loss) / E_D^loss — the thesis' "energy loss saved"."""
        return 1 - self.loss_accounted_kwh / self.loss_alone_kwh if self.loss_alone_kwh else 0.0

    @property
    def saving_physical(self) -> float:
        """Share of the alone-case loss the lines no longer lose; equals `saving_accounted` when s = 0.5."""
        return 1 - self.loss_physical_kwh / self.loss_alone_kwh if self.loss_alone_kwh else 0.0

    @property
    def local_share_of_surplus(self) -> float:
        """Share of the sellers' surplus consumed by peers instead of exported to the EDC."""
        return self.local_kwh / self.surplus_kwh if self.surplus_kwh else 0.0

    @property
    def local_share_of_balances(self) -> float:
        """Share of the prosumers' own trading volume (sum of |P_i - C_i|) settled with peers: each peer
        trade counts for its seller and its buyer, 2 * local / (surplus + deficit). The headline reading of
        the thesis' "47 % of the network's energy traded among prosumers" (docs/seed001.md §6)."""
        volume = self.surplus_kwh + self.deficit_kwh
        return 2 * self.local_kwh / volume if volume else 0.0

    @property
    def local_share_of_traded(self) -> float:
        """Share of all energy moved (peer trades + EDC exports + EDC imports) that moved peer-to-peer."""
        moved = self.local_kwh + self.exported_kwh + self.imported_kwh
        return self.local_kwh / moved if moved else 0.0


def market_metrics(result: CoalitionResult, market: Market, config: CoalitionConfig = CoalitionConfig()) -> MarketMetrics:
    loss = config.loss
    exported = result.residual.loc[result.residual["direction"] == "export"]
    imported = result.residual.loc[result.residual["direction"] == "import"]
    loss_alone = float(loss.loss_kwh(market.distance_to_centre_km, np.abs(market.balance_kwh)).sum())
    intra_loss = float(result.trades["loss_kwh"].sum())
    residual_loss = float(result.residual["loss_kwh"].sum())
    return MarketMetrics(
        surplus_kwh=float(market.surplus_kwh.sum()),
        deficit_kwh=float(market.deficit_kwh.sum()),
        local_kwh=float(result.trades["energy_kwh"].sum()),
        exported_kwh=float(exported["energy_kwh"].sum()),
        imported_kwh=float(imported["energy_kwh"].sum()),
        loss_alone_kwh=loss_alone,
        loss_accounted_kwh=loss_alone - float(result.savings_kwh.sum()),
        loss_physical_kwh=intra_loss + residual_loss,
    )


@dataclass(frozen=True)
class ChainView:
    """The integer form of a slot result, as a contract would check it.

    Scores are EPOS base units, each member converted on its own (offchain.units.score_to_base); a
    coalition's score is the exact sum of its members'. Energy is Wh: surplus/deficit per prosumer is
    kwh_to_wh of the forecast balance; every intra-coalition trade is floored to whole Wh and the residual
    with the EDC is the remainder, so per prosumer  sum(trades) + residual == surplus (or deficit)  exactly.
    """

    coalitions: list[list[int]]
    singleton_scores_base: list[int]
    member_scores_base: list[int]
    coalition_scores_base: list[int]
    surplus_wh: list[int]
    deficit_wh: list[int]
    trades_wh: list[tuple[int, int, int]]  # (seller, buyer, Wh), zero-Wh trades dropped
    export_wh: list[int]
    import_wh: list[int]

    @property
    def savings_base(self) -> list[int]:
        """E_save per prosumer in EPOS base units: member score minus singleton score (>= 0)."""
        return [m - s for m, s in zip(self.member_scores_base, self.singleton_scores_base)]


def chain_view(result: CoalitionResult, market: Market) -> ChainView:
    singleton_base = scores_to_base(result.singleton_scores)
    member_base = scores_to_base(result.member_scores)
    surplus_wh = [kwh_to_wh(float(v)) for v in market.surplus_kwh]
    deficit_wh = [kwh_to_wh(float(v)) for v in market.deficit_kwh]
    trades_wh = []
    export_wh, import_wh = list(surplus_wh), list(deficit_wh)
    for seller, buyer, kwh in result.trades[["seller", "buyer", "energy_kwh"]].itertuples(index=False):
        wh = int(np.floor(kwh * 1000 + 1e-6))  # forgive float noise just under a whole Wh
        if wh > 0:
            trades_wh.append((int(seller), int(buyer), wh))
            export_wh[seller] -= wh
            import_wh[buyer] -= wh
    if min(export_wh + import_wh, default=0) < 0:
        raise RuntimeError("floored trades exceed a prosumer's balance: the LP broke a capacity constraint")
    return ChainView(
        coalitions=[list(c) for c in result.partition],
        singleton_scores_base=singleton_base,
        member_scores_base=member_base,
        coalition_scores_base=[sum(member_base[i] for i in c) for c in result.partition],
        surplus_wh=surplus_wh,
        deficit_wh=deficit_wh,
        trades_wh=trades_wh,
        export_wh=export_wh,
        import_wh=import_wh,
    )
