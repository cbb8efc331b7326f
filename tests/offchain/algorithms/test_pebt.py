"""The PEBT round solver (seed 003 Ch5) and its integer benefit."""

import numpy as np
import pytest

from offchain.algorithms.pebt import BENEFIT_SCALE, PebtSolver, PendingOrders, RoundFailure, benefit
from offchain.algorithms.pfl import pf_slope_variance


def orders(rng, n, rounds_left=None):
    return PendingOrders(
        remaining_kwh=rng.uniform(0.1, 1.0, n),
        cap_kwh=np.ones(n),
        rounds_left=rng.integers(0, 3, n) if rounds_left is None else np.asarray(rounds_left),
        coefficient=np.where(rng.random(n) < 2 / 3, 0.95, -0.95),
    )


def test_benefit_is_the_reciprocal_of_the_slope_variance():
    window = [100_000, 103_000, 101_000, 106_000]
    pf = pf_slope_variance(np.array(window, float))
    assert benefit(window) == pytest.approx(BENEFIT_SCALE / (pf + 1), rel=1e-12)
    assert benefit([5, 5, 5]) == BENEFIT_SCALE
    assert benefit([v + 777 for v in window]) == benefit(window)  # only slopes count
    assert benefit([0, 10, 20, 30]) == BENEFIT_SCALE  # a straight ramp has no slope variance
    with pytest.raises(ValueError):
        benefit([1])


def test_solver_executes_every_order_by_its_deadline_within_its_rate():
    rng = np.random.default_rng(1)
    pending = orders(rng, 20)
    schedule = PebtSolver().solve(pending, np.full(3, 100.0), 98.0)
    x = schedule.executed_kwh
    assert np.allclose(x.sum(axis=1), pending.remaining_kwh, atol=1e-5)
    assert np.all(x <= pending.cap_kwh[:, None] + 1e-7) and np.all(x >= 0)
    late = np.arange(3)[None, :] > pending.rounds_left[:, None]
    assert np.all(x[late] < 1e-6)


def test_solver_beats_immediate_execution_and_warm_resolves_the_same():
    rng = np.random.default_rng(2)
    pending = orders(rng, 30, rounds_left=np.full(30, 2))
    solver = PebtSolver()
    base = np.array([100.0, 100.0, 100.0])
    schedule = solver.solve(pending, base, 100.0)
    immediate = base + np.array([pending.coefficient @ pending.remaining_kwh / solver.round_h, 0, 0])
    assert schedule.pf <= pf_slope_variance(np.concatenate([[100.0], immediate])) + 1e-9
    assert schedule.pf == pytest.approx(pf_slope_variance(np.concatenate([[100.0], schedule.net_load_kw])), abs=1e-4)
    again = solver.solve(pending, base, 100.0)
    assert np.allclose(again.net_load_kw, schedule.net_load_kw, atol=1e-4)


def test_infeasible_rounds_and_bad_inputs_fail_with_a_reason():
    solver = PebtSolver()
    too_big = PendingOrders(np.array([2.5]), np.array([1.0]), np.array([1]), np.array([0.95]))
    with pytest.raises(RoundFailure, match="infeasible: order 0 needs 0.500000 kWh more"):
        solver.solve(too_big, np.full(3, 100.0), 100.0)
    past = PendingOrders(np.array([0.5]), np.array([1.0]), np.array([-1]), np.array([0.95]))
    with pytest.raises(RoundFailure, match="past deadline"):
        solver.solve(past, np.full(3, 100.0), 100.0)
    with pytest.raises(ValueError, match="base_kw needs 3 values"):
        solver.solve(too_big, np.full(2, 100.0), 100.0)
    with pytest.raises(ValueError):
        PebtSolver(window=0)


def test_an_empty_round_keeps_the_forecast():
    empty = PendingOrders(np.zeros(0), np.ones(0), np.zeros(0, int), np.zeros(0))
    schedule = PebtSolver().solve(empty, np.array([120.0, 120.0, 120.0]), 110.0)
    assert np.allclose(schedule.net_load_kw, 120.0) and schedule.executed_kwh.shape == (0, 3)
