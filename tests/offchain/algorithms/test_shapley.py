"""Shapley values of the savings game, mining fees, the exact integer reward split and Lemma 2."""

import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from offchain.algorithms.coalitions import CoalitionSolver, Market, form_coalitions
from offchain.algorithms.shapley import (
    lemma2_violations,
    mining_fees,
    proof_score_worth,
    reward_shares,
    reward_weights,
    savings_worth,
    shapley_exact,
    shapley_monte_carlo,
    shapley_values,
    split_reward,
)
from offchain.data.seed001 import scaling_instance
from offchain.units import EPOS_BASE, UPOS_BASE


def brute_force(players, worth):
    """Average marginal contribution over all m! orders (the definition, no subset weights)."""
    total = np.zeros(len(players))
    orders = list(permutations(range(len(players))))
    for order in orders:
        before: list[int] = []
        for b in order:
            total[b] += worth(tuple(sorted(before + [players[b]]))) - worth(tuple(sorted(before)))
            before.append(players[b])
    return total / len(orders)


def random_game(players, seed):
    rng = np.random.default_rng(seed)
    table = {}

    def worth(members):
        key = tuple(sorted(members))
        if key not in table:
            table[key] = 0.0 if not key else float(rng.normal(len(key), 1.0))
        return table[key]

    return worth


@pytest.fixture(scope="module")
def coalition_game():
    market = Market.from_frame(scaling_instance(50, "normal", 3))
    result = form_coalitions(market)
    members = max(result.partition, key=len)
    return market, result, members, savings_worth(CoalitionSolver(market))


@pytest.mark.parametrize("seed", range(3))
def test_exact_equals_brute_force_on_random_games(seed):
    players = (3, 7, 11, 20, 21)
    worth = random_game(players, seed)
    assert shapley_exact(players, worth) == pytest.approx(brute_force(players, worth))


def test_exact_equals_brute_force_on_the_savings_game(coalition_game):
    _, _, members, worth = coalition_game
    assert len(members) >= 4
    assert shapley_exact(members, worth) == pytest.approx(brute_force(members, worth))


def test_efficiency_symmetry_and_null_player():
    players = (0, 1, 2, 3)

    def worth(members):  # 0 and 1 are interchangeable, 3 adds nothing anywhere
        s = set(members) - {3}
        return {0: 0.0, 1: 1.0, 2: 3.0, 3: 7.0}[len(s)] + (2.0 if 2 in s else 0.0)

    phi = shapley_exact(players, worth)
    assert phi.sum() == pytest.approx(worth(players) - worth(()))
    assert phi[0] == pytest.approx(phi[1])
    assert phi[3] == pytest.approx(0.0)


def test_savings_game_values_are_non_negative_and_efficient(coalition_game):
    market, result, members, worth = coalition_game
    values = shapley_values(members, worth)
    assert values.exact and values.worth_evaluations == 2 ** len(members)
    assert np.all(values.values >= -1e-12)
    assert values.values.sum() == pytest.approx(result.savings_kwh[list(members)].sum())
    shifted = shapley_values(members, proof_score_worth(CoalitionSolver(market), result.singleton_scores))
    assert shifted.values - values.values == pytest.approx(result.singleton_scores[list(members)])


def test_monte_carlo_error_shrinks_and_covers_the_exact_value():
    players = tuple(range(8))
    worth = random_game(players, 11)
    exact = shapley_exact(players, worth)
    small_mean, small_se = shapley_monte_carlo(players, worth, 100, np.random.default_rng(1))
    large_mean, large_se = shapley_monte_carlo(players, worth, 1600, np.random.default_rng(2))
    assert np.all(large_se < small_se)
    assert np.median(large_se / small_se) == pytest.approx(0.25, abs=0.08)  # 1 / sqrt(16)
    assert np.all(np.abs(large_mean - exact) < 5 * large_se)
    for mean in (small_mean, large_mean):  # every permutation is efficient, so the average is
        assert mean.sum() == pytest.approx(worth(players) - worth(()))


def test_monte_carlo_takes_over_above_exact_max(coalition_game):
    _, _, members, worth = coalition_game
    estimate = shapley_values(members, worth, exact_max=len(members) - 1, permutations=200, seed=5)
    assert not estimate.exact and estimate.permutations == 200
    assert np.all(estimate.standard_errors > 0)
    assert estimate.values == pytest.approx(shapley_exact(members, worth), abs=float(6 * estimate.standard_errors.max()))


@given(
    total=st.integers(min_value=0, max_value=10**30),
    weights=st.lists(st.integers(min_value=0, max_value=10**24), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
)
def test_split_sums_exactly_and_stays_within_one_unit(total, weights):
    addresses = [(7919 * i) % 65_537 for i in range(len(weights))]
    shares = split_reward(total, weights, addresses)
    assert sum(shares) == total
    whole = sum(weights)
    for share, w in zip(shares, weights):
        assert total * w // whole <= share <= total * w // whole + 1


def test_split_gives_leftovers_to_largest_remainders_then_lower_address():
    assert split_reward(10, [1, 1, 1], [30, 10, 20]) == [3, 4, 3]
    assert split_reward(11, [1, 1, 1], [30, 10, 20]) == [3, 4, 4]
    assert split_reward(100, [3, 1], [2, 1]) == [75, 25]
    assert split_reward(7, [2, 5], [1, 2]) == [2, 5]
    assert split_reward(9, [5, 3, 1], [3, 2, 1]) == [5, 3, 1]
    assert split_reward(10, [5, 3, 1], [3, 2, 1]) == [6, 3, 1]  # 50/9 has the largest remainder
    with pytest.raises(ValueError):
        split_reward(10, [0, 0], [1, 2])
    with pytest.raises(ValueError):
        split_reward(10, [1], [1, 2])


def test_reward_weights_fall_back_when_the_coalition_saves_nothing():
    assert reward_weights([0.25, 0.75], [5, 6]) == ([EPOS_BASE // 4, 3 * EPOS_BASE // 4], "shapley")
    assert reward_weights([0.0], [5 * EPOS_BASE]) == ([5 * EPOS_BASE], "proof_score")
    assert reward_weights([0.0, 0.0], [0, 0]) == ([1, 1], "equal")


def test_a_member_that_did_not_pay_its_fee_gets_weight_zero_under_every_rule():
    assert reward_weights([0.25, 0.75], [5, 6], [True, False]) == ([EPOS_BASE // 4, 0], "shapley")
    assert reward_weights([0.0, 0.75], [5, 6], [True, False]) == ([5, 0], "proof_score")
    assert reward_weights([0.0, 0.75], [0, 6], [True, False]) == ([1, 0], "equal")
    assert reward_weights([0.25, 0.75], [5, 6], [False, False]) == ([0, 0], "unpayable")
    assert reward_shares(100, [0, 0], "unpayable", [1, 2]) == [0, 0]
    assert reward_shares(100, [1, 3], "shapley", [1, 2]) == [25, 75]
    with pytest.raises(ValueError):
        reward_weights([0.25], [5, 6])


def test_fees_are_delta_times_saving_times_price_floored():
    price = UPOS_BASE // 10  # 0.1 UPOS per kWh
    fees = mining_fees([EPOS_BASE, EPOS_BASE // 3, 0], price, delta_bps=1_000)
    assert fees == [UPOS_BASE // 100, (EPOS_BASE // 3) * price * 1_000 // (EPOS_BASE * 10_000), 0]
    assert fees[1] == UPOS_BASE // 300  # floor of 0.00333.. UPOS
    with pytest.raises(ValueError):
        mining_fees([1], price, delta_bps=0)
    with pytest.raises(ValueError):
        mining_fees([-1], price)


def test_lemma2_holds_for_fee_and_reward_and_reports_what_breaks_it():
    price = UPOS_BASE // 10
    singleton = [3 * EPOS_BASE, 0]
    member = [3 * EPOS_BASE + EPOS_BASE // 10, EPOS_BASE // 20]  # savings 0.1 and 0.05 kWh
    fees = mining_fees([m - s for m, s in zip(member, singleton)], price)
    assert lemma2_violations(singleton, member, fees, [0, 0], price) == []
    # a fee worth more than the whole saving (0.05 kWh = 0.005 UPOS) pushes member 1 below its singleton
    broken = lemma2_violations(singleton, member, [fees[0], UPOS_BASE // 100], [0, 0], price)
    assert [v.member for v in broken] == [1]
    # a reward can make up for it
    assert lemma2_violations(singleton, member, [fees[0], UPOS_BASE // 100], [0, UPOS_BASE // 100], price) == []
    assert math.isclose(fees[0] / UPOS_BASE, 0.1 * 0.1 * 0.1)
