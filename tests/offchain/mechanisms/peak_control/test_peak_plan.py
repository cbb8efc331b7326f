"""Seed 002's pipeline (offchain.mechanisms.peak_control.plan) on a small seeded community: the meter agents'
rules, energy conservation per participant and day, and the week in both scenarios."""

import numpy as np
import pytest

from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.plan import (
    Flexibility,
    PeakSettings,
    RecRules,
    operate_day,
    rec_targets,
    run_week,
    week_costs,
)

WEEK = generate_week(participants=12, days=7, seed=5)
RULES = RecRules()


@pytest.fixture(scope="module")
def runs():
    return {scenario: run_week(WEEK.consumption, WEEK.production, scenario) for scenario in ("norec", "rec")}


def test_rule_1_no_recommended_hour_buys_each_deficit():
    deficit = np.array([[0.0] * 9 + [5.0] + [0.0] * 14])
    assert np.array_equal(rec_targets(np.zeros((1, 24)), deficit.sum(1), deficit, RULES), deficit)


def test_rule_2_buys_along_recommended_hours_until_the_need():
    recommended = np.full((1, 24), 2.0)
    plan = rec_targets(recommended, np.array([5.0]), np.zeros((1, 24)), RULES)
    assert plan[0, :3].tolist() == [2.0, 2.0, 1.0] and np.all(plan[0, 3:] == 0)
    scaled = rec_targets(recommended, np.array([6.0]), np.zeros((1, 24)), RecRules(excess="scaled"))
    assert np.allclose(scaled, 0.25)


def test_rule_3_spreads_shortfall_and_rule_4_falls_back_to_norec():
    recommended = np.zeros((1, 24))
    recommended[0, [1, 2]] = 10.0
    deficit = np.zeros((1, 24))
    deficit[0, 9] = 100.0
    spread = rec_targets(recommended, np.array([100.0]), deficit, RULES)
    assert spread[0, 1] == spread[0, 2] == 50.0 and spread.sum() == 100.0
    capped = rec_targets(recommended, np.array([100.0]), deficit, RecRules(cap_kwh=39.0))
    assert np.array_equal(capped, deficit)
    many_hours = rec_targets(recommended, np.array([100.0]), deficit, RecRules(cap_kwh=39.0, min_hours=2))
    assert np.array_equal(many_hours, spread)


def test_operate_day_conserves_energy_and_respects_the_battery():
    rng = np.random.default_rng(3)
    net = rng.normal(2.0, 4.0, (30, 24))
    target = rng.uniform(0.0, 6.0, (30, 24))
    capacity, power = rng.uniform(0, 20, 30), rng.uniform(0, 5, 30)
    day = operate_day(net, target, capacity, power)
    assert np.allclose(day.bought.sum(1) - day.sold.sum(1), net.sum(1))
    assert np.all(day.charge >= -1e-9) and np.all(day.charge <= capacity[:, None] + 1e-9)
    assert np.allclose(day.charge[:, 0], 0) and np.allclose(day.charge[:, -1], 0)
    assert np.all(np.abs(np.diff(day.charge[:, :-1], axis=1)) <= power[:, None] + 1e-9)
    assert np.all((day.bought == 0) | (day.sold == 0))


def test_without_flexibility_rec_cannot_move_purchases():
    rigid = PeakSettings(flexibility=Flexibility(storage_hours=0.0))
    rec = run_week(WEEK.consumption, WEEK.production, "rec", rigid)
    assert np.allclose(rec.bought, np.clip(WEEK.net, 0, None))


def test_each_participant_conserves_energy_every_day_in_both_scenarios(runs):
    for run in runs.values():
        assert np.allclose(run.bought.sum(2) - run.sold.sum(2), WEEK.net.sum(2), atol=1e-6)
        assert np.all(run.bought >= 0) and np.all(run.sold >= 0)


def test_days_before_the_first_are_identical_and_rec_flattens_afterwards(runs):
    norec, rec = runs["norec"], runs["rec"]
    assert np.array_equal(norec.bought[:, :2], rec.bought[:, :2])
    assert np.all(rec.multipliers[:2] == 1.0) and np.all(rec.recommended[:, :2] == 0)
    assert np.all(rec.recommended[:, 2:].sum(axis=(0, 2)) > 0)
    assert np.all(rec.daily_par[2:] > norec.daily_par[2:])


def test_penalties_come_from_the_previous_day_of_the_same_scenario(runs):
    from offchain.algorithms.par_search import penalty_vector

    for run in runs.values():
        for d in range(2, 7):
            assert np.array_equal(run.multipliers[d], penalty_vector(run.aggregate[d - 1]))


def test_costs_split_premium_and_hooks():
    run = run_week(WEEK.consumption[:, :3], WEEK.production[:, :3], "norec")
    prices = WEEK.prices[:3]
    costs = week_costs(run, prices)
    base = (run.bought * prices).sum(axis=(1, 2))
    assert np.allclose(costs.purchase - costs.premium, base)
    assert np.all(costs.premium >= 0) and costs.premium.sum() > 0
    hooked = week_costs(run, prices, wire_fee=0.01, overload_kwh=0.0, overload_fine=0.02)
    assert np.allclose(hooked.net - costs.net, 0.03 * run.bought.sum(axis=(1, 2)))


def test_generator_is_calibrated_pro_rata_and_seeded():
    bought, sold = np.clip(WEEK.net, 0, None).sum(), np.clip(-WEEK.net, 0, None).sum()
    share = 12 * 7 / (103 * 7)
    assert bought == pytest.approx(3_360_517.95 * share) and sold == pytest.approx(2_006_353.32 * share)
    again = generate_week(participants=12, days=7, seed=5)
    assert np.array_equal(again.consumption, WEEK.consumption)
    assert not np.array_equal(generate_week(participants=12, days=7, seed=6).consumption, WEEK.consumption)
    assert WEEK.prices.min() >= 0.17 and WEEK.prices.max() <= 0.35


def test_commitment_leaf_is_abi_encoded_and_every_proof_verifies():
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    from offchain.mechanisms.peak_control.commitments import commit_day, leaf, schedule_wh, verify

    participants = [f"0x{i + 1:040x}" for i in range(7)]
    tree = commit_day(4, {p: schedule_wh(np.full(24, 1.5 + i)) for i, p in enumerate(participants)})
    first = to_checksum_address(participants[0])
    assert tree.schedules[first] == (1_500,) * 24
    expected = keccak(keccak(encode(["uint256", "address", "uint256[]"], [4, first, [1_500] * 24])))
    assert leaf(4, first, tree.schedules[first]) == expected
    for p, schedule in tree.schedules.items():
        assert verify(tree.root, 4, p, schedule, tree.proofs[p])
    other = to_checksum_address(participants[1])
    assert not verify(tree.root, 4, other, tree.schedules[first], tree.proofs[first])


def test_carry_over_conserves_energy_up_to_the_change_of_charge():
    settings = PeakSettings(flexibility=Flexibility(storage_hours=24.0, carry_over=True))
    run = run_week(WEEK.consumption, WEEK.production, "rec", settings)
    change = np.diff(run.stored, axis=1)
    assert np.allclose(run.bought.sum(2) - run.sold.sum(2), WEEK.net.sum(2) + change, atol=1e-6)
    assert np.any(run.stored[:, 1:-1] > 0) and np.allclose(run.stored[:, [0, -1]], 0)
    assert np.allclose(run.bought.sum((1, 2)) - run.sold.sum((1, 2)), WEEK.net.sum((1, 2)), atol=1e-6)
