"""Shapley split of the mining reward and the mining fees — seed 001, thesis eqs 3.3, 3.17-3.23, Lemma 2.

The savings game (the worth function the thesis leaves undefined, docs/seed001.md):
    v(T) = the summed loss saving (kWh) the members of T reach on their own, i.e. the optimum of the
           coalition LP (offchain.algorithms.coalitions) over T alone; v(empty) = 0.
v is monotone (a bigger set can copy a smaller set's trades), so every Shapley value is >= 0. The
alternative `proof_score_worth` adds the members' singleton scores (the thesis' "contributed proof
score" wording); it shifts each member's value by exactly its singleton score.

Shapley values are exact (all 2^m subsets) up to `exact_max` members (default 12) and estimated by
Monte Carlo permutation sampling above, with the standard error of each estimate.

Money crosses to the chain in integers (offchain.units):
- fee_i  = floor(saving_i[EPOS base] * price[UPOS base/kWh] * delta_bps / (10**18 * 10_000))  UPOS base
- M_r    = sum_i fee_i  (so the escrow collects exactly M_r)
- share_i: M_r split by integer weights w_i (Shapley values in EPOS base units) with the largest
  remainder rule: share_i = floor(M_r * w_i / W), then the leftover base units (fewer than the number
  of members) go one each to the largest remainders (M_r * w_i mod W), ties to the lower address.
  The shares sum to M_r exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from offchain.algorithms.coalitions import CoalitionSolver
from offchain.units import EPOS_BASE, score_to_base

Worth = Callable[[tuple[int, ...]], float]  # sorted member tuple -> worth (kWh)
BPS = 10_000  #: basis points in 1


def savings_worth(solver: CoalitionSolver) -> Worth:
    """v(T) = optimal summed loss saving (kWh) of T trading on its own (the coalition LP)."""
    return lambda members: solver.plan(members).total_saving_kwh if members else 0.0


def proof_score_worth(solver: CoalitionSolver, singleton_scores: Sequence[float]) -> Worth:
    """v(T) = sum of T's members' scores inside T: singleton scores plus the savings game."""
    return lambda members: float(sum(singleton_scores[i] for i in members)) + savings_worth(solver)(members)


@dataclass(frozen=True)
class ShapleyResult:
    players: tuple[int, ...]
    values: NDArray[np.float64]  # aligned with players
    standard_errors: NDArray[np.float64]  # zeros when exact
    exact: bool
    permutations: int  # Monte Carlo permutations (0 when exact)
    worth_evaluations: int  # distinct subsets evaluated


class _CountingWorth:
    def __init__(self, worth: Worth) -> None:
        self._worth = worth
        self._cache: dict[tuple[int, ...], float] = {}

    def __call__(self, members: tuple[int, ...]) -> float:
        key = tuple(sorted(members))
        if key not in self._cache:
            self._cache[key] = float(self._worth(key))
        return self._cache[key]

    @property
    def evaluations(self) -> int:
        return len(self._cache)


def shapley_exact(players: Sequence[int], worth: Worth) -> NDArray[np.float64]:
    """Exact Shapley values by enumerating all 2^m subsets (eq. 3.3 with |N| = m members)."""
    m = len(players)
    size = 1 << m
    masks = np.arange(size)
    value = np.array([worth(tuple(p for b, p in enumerate(players) if mask >> b & 1)) for mask in range(size)])
    popcount = np.array([bin(mask).count("1") for mask in range(size)])
    weight = np.array([math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m) for k in range(m)])
    phi = np.empty(m)
    for b in range(m):
        without = masks[(masks >> b & 1) == 0]
        phi[b] = float(np.sum(weight[popcount[without]] * (value[without | (1 << b)] - value[without])))
    return phi


def shapley_monte_carlo(
    players: Sequence[int], worth: Worth, permutations: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Permutation-sampling estimate and its standard error (sample sd / sqrt(permutations)).
    Each permutation's marginals sum to v(N) - v(empty), so the estimates are exactly efficient."""
    if permutations < 2:
        raise ValueError("need at least 2 permutations for a standard error")
    m = len(players)
    marginals = np.empty((permutations, m))
    empty_worth = worth(())
    for k in range(permutations):
        order = rng.permutation(m)
        coalition: list[int] = []
        previous = empty_worth
        for b in order:
            coalition.append(players[b])
            current = worth(tuple(coalition))
            marginals[k, b] = current - previous
            previous = current
    return marginals.mean(axis=0), marginals.std(axis=0, ddof=1) / math.sqrt(permutations)


def shapley_values(
    players: Sequence[int], worth: Worth, *, exact_max: int = 12, permutations: int = 1000, seed: int = 0
) -> ShapleyResult:
    """Exact Shapley values up to `exact_max` players, Monte Carlo (seeded) above."""
    counting = _CountingWorth(worth)
    players = tuple(players)
    if len(players) <= exact_max:
        values = shapley_exact(players, counting)
        return ShapleyResult(players, values, np.zeros(len(players)), True, 0, counting.evaluations)
    values, errors = shapley_monte_carlo(players, counting, permutations, np.random.default_rng(seed))
    return ShapleyResult(players, values, errors, False, permutations, counting.evaluations)


def mining_fees(savings_base: Sequence[int], price_base_per_kwh: int, delta_bps: int = 1_000) -> list[int]:
    """Each member's fee in UPOS base units: delta x its saving x price, floored (eq. 3.23 per member).

    savings_base: E_save per member in EPOS base units (10**18 per kWh); delta_bps: delta in basis points
    (1_000 = the thesis' 0.1)."""
    if not 0 < delta_bps <= BPS:
        raise ValueError(f"delta must be in (0, 1], got {delta_bps} bps")
    if price_base_per_kwh < 0 or min(savings_base, default=0) < 0:
        raise ValueError("savings and price must be >= 0")
    return [s * price_base_per_kwh * delta_bps // (EPOS_BASE * BPS) for s in savings_base]


def split_reward(total_base: int, weights: Sequence[int], addresses: Sequence[int]) -> list[int]:
    """Split `total_base` by integer `weights` with the largest remainder rule (ties: lower address
    first); the result sums to `total_base` exactly."""
    if len(weights) != len(addresses) or not weights:
        raise ValueError("one weight and one address per member, at least one member")
    if total_base < 0 or min(weights) < 0 or sum(weights) == 0:
        raise ValueError("total must be >= 0 and weights >= 0 with a positive sum")
    whole = sum(weights)
    shares = [total_base * w // whole for w in weights]
    remainders = [total_base * w % whole for w in weights]
    leftover = total_base - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], addresses[i]))[:leftover]:
        shares[i] += 1
    return shares


def reward_weights(
    shapley: Sequence[float], member_scores_base: Sequence[int], payable: Sequence[bool] | None = None
) -> tuple[list[int], str]:
    """Integer weights for the reward split and which rule produced them.

    Shapley values in EPOS base units; if they are all 0 (a coalition that saves nothing, e.g. a
    single seller drawn as miner) the members' scores; if those are 0 too, equal weights. `payable`
    (default: everyone) marks the members that may be paid: a member that owed a mining fee and did not
    pay it gets weight 0 under every rule (the escrow refuses it a share). If nobody may be paid, all
    weights are 0 and the rule is "unpayable": the escrow then refunds the slot's fees to their payers."""
    allowed = [True] * len(shapley) if payable is None else list(payable)
    if len(allowed) != len(shapley) or len(member_scores_base) != len(shapley):
        raise ValueError("one Shapley value, score and payable flag per member")
    candidates = (
        ([score_to_base(max(float(v), 0.0)) for v in shapley], "shapley"),
        (list(member_scores_base), "proof_score"),
        ([1] * len(shapley), "equal"),
    )
    for weights, rule in candidates:
        weights = [w if ok else 0 for w, ok in zip(weights, allowed)]
        if sum(weights) > 0:
            return weights, rule
    return [0] * len(shapley), "unpayable"


def reward_shares(total_base: int, weights: Sequence[int], rule: str, addresses: Sequence[int]) -> list[int]:
    """The members' shares of `total_base` for weights from `reward_weights`: split_reward, or all 0 when
    the reward is "unpayable" (it goes back to the fee payers instead)."""
    if rule == "unpayable":
        return [0] * len(weights)
    return split_reward(total_base, weights, addresses)


@dataclass(frozen=True)
class Lemma2Violation:
    member: int
    singleton_score_base: int
    member_score_base: int
    fee_base: int
    reward_base: int


def lemma2_violations(
    singleton_scores_base: Sequence[int],
    member_scores_base: Sequence[int],
    fees_base: Sequence[int],
    rewards_base: Sequence[int],
    price_base_per_kwh: int,
) -> list[Lemma2Violation]:
    """Members who end below their singleton score (thesis Lemma 2), checked in exact integers.

    Money is turned into score points at the slot price: a member's final position is
    member_score + (reward - fee) / price  [kWh], which must be >= singleton_score. Multiplying by the
    price keeps everything integral: (member - singleton) * price + (reward - fee) * 10**18 >= 0."""
    if price_base_per_kwh <= 0:
        raise ValueError("price must be > 0 to compare money with scores")
    found = []
    for i, (single, member, fee, reward) in enumerate(
        zip(singleton_scores_base, member_scores_base, fees_base, rewards_base, strict=True)
    ):
        if (member - single) * price_base_per_kwh + (reward - fee) * EPOS_BASE < 0:
            found.append(Lemma2Violation(i, single, member, fee, reward))
    return found
