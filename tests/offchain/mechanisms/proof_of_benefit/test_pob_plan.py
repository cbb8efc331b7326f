"""The PEBT pipeline on a small slice of the Ch5 day: orders, rounds, baseline, trades."""

import numpy as np
import pytest

from offchain.algorithms.pebt import PebtSolver, RoundFailure
from offchain.algorithms.pfl import pf_slope_variance
from offchain.data.seed003 import ev_population
from offchain.data.seed003_pob import CH5, residential_load_kw
from offchain.mechanisms.proof_of_benefit.plan import (
    PebtTerms,
    ch5_orders,
    round_trades,
    run_immediate,
    round_blocks,
    run_pebt,
    trades_hash,
    tx_set_hash,
)

TERMS = PebtTerms()
SLOTS = 4  # 24 rounds of 5 min starting at 18:00


@pytest.fixture(scope="module")
def day():
    population = ev_population(CH5, omega=30, seed=7)
    connected = population.connected
    population = type(population)(**{**population.__dict__, "connected": np.roll(connected, -36, axis=1)})
    orders = ch5_orders(population, TERMS, seed=7, slots=SLOTS)
    base = residential_load_kw(12, start_hour=18.0)[: SLOTS * TERMS.rounds_per_slot]
    return orders, base


def test_orders_follow_the_connections_and_the_two_to_one_mix(day):
    orders, _ = day
    assert len(orders) > 20 and np.all(np.diff(orders.arrival) >= 0)
    assert np.all(orders.wh <= orders.cap_wh) and np.all(orders.wh > 0)
    assert 0.4 < orders.charge.mean() < 0.9


def test_pebt_executes_everything_by_the_deadline_and_is_smoother(day):
    orders, base = day
    run = run_pebt(orders, base, TERMS)
    assert not run.failed
    done = np.zeros(len(orders), dtype=np.int64)
    last = np.zeros(len(orders), dtype=int)
    for r, executed in enumerate(run.executed):
        for i, wh in executed.items():
            assert orders.arrival[i] <= r
            done[i] += wh
            last[i] = r
    assert np.array_equal(done, orders.wh)
    assert np.all(last <= np.minimum(orders.arrival + TERMS.max_wait, len(base) - 1))
    immediate = run_immediate(orders, base, TERMS)
    assert run.net_kw.sum() == pytest.approx(immediate.sum())
    assert pf_slope_variance(run.net_kw) < pf_slope_variance(immediate)
    assert all(lam > 0 for lam in run.lambdas) and all(len(w) == 4 for w in run.windows)


def test_a_failed_round_is_marked_and_the_next_proceeds(day):
    orders, base = day

    class FailingOnce(PebtSolver):
        calls = 0

        def solve(self, pending, base_kw, previous_kw):
            FailingOnce.calls += 1
            if FailingOnce.calls == 3:
                raise RoundFailure("solver status infeasible")
            return super().solve(pending, base_kw, previous_kw)

    run = run_pebt(orders, base, TERMS, solver=FailingOnce())
    assert run.failed == {2: "solver status infeasible"} and run.lambdas[2] == 0 and run.windows[2] == []
    assert sum(sum(e.values()) for e in run.executed) == orders.wh.sum()  # nothing lost
    assert run.lambdas[3] > 0
    blocks = round_blocks(orders, run, TERMS, [f"0x{i:040x}" for i in range(1, 4)])
    assert [b.failed for b in blocks[:4]] == [None, None, "solver status infeasible", None]
    assert [b.benefit for b in blocks] == run.lambdas and [b.net_load_w for b in blocks] == run.windows
    assert all(b.trades_hash == trades_hash(b.trades) for b in blocks)
    # the pending set of round r: what arrived by r and was not executed before it
    remaining = orders.wh.copy()
    for r, block in enumerate(blocks):
        pending = {int(i): int(remaining[i]) for i in np.nonzero((orders.arrival <= r) & (remaining > 0))[0]}
        assert block.tx_set_hash == tx_set_hash(orders, pending, r)
        for i, wh in run.executed[r].items():
            remaining[i] -= wh


def test_trades_pair_delivered_energy_with_buyers(day):
    orders, base = day
    run = run_pebt(orders, base, TERMS)
    accounts = [f"0x{i:040x}" for i in range(1, 6)]
    for executed in run.executed:
        trades = round_trades(orders, executed, TERMS, accounts)
        sold = sum(int(wh * TERMS.discharge_efficiency) for i, wh in executed.items() if not orders.charge[i])
        bought = sum(wh for i, wh in executed.items() if orders.charge[i])
        assert sum(t[2] for t in trades) == min(sold, bought)
        assert trades_hash(trades) == trades_hash(list(trades))
    assert tx_set_hash(orders, {1: 5, 0: 7}, 3) == tx_set_hash(orders, {0: 7, 1: 5}, 3)
    assert tx_set_hash(orders, {1: 5}, 3) != tx_set_hash(orders, {1: 5}, 4)
