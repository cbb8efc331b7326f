"""A shortened seed-000 day through the contracts, driven the way the off-chain worker drives it, gives
exactly the figures of offchain.mechanisms.fog_ems.model.simulate_day: the matches, every exchange.csv row,
the EVs' batteries and cost bases, and the money (EV cash flows, prosumer gains over the grid).

Per period P: bids in the bidding window (greedy: in arrival_order; Hungarian: in agent order, so the
benefit matrix is the model's), then the match (matchGreedy, or submitAssignment of the
certified_assignment of the on-chain benefit matrix), then after the period the METER's logExchange (moves from battery.exchange_wh on
the chain's batteries) and the OPERATOR's settleGrid of every prosumer's residual."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fog_ems_support import (
    SEED000_SPEC,
    STEPS_PER_PERIOD,
    TARIFFS,
    close_bidding,
    end_period,
    fund,
    next_period,
    open_bidding,
    register_ev,
)

from offchain.algorithms.battery import exchange_wh
from offchain.algorithms.matching import certified_assignment
from offchain.chain.abi import ParticipantKind
from offchain.mechanisms.fog_ems.model import MarketRules, arrival_order, perfect_bids, simulate_day
from offchain.units import payment_base

AGENTS = ("L1", "L2", "L3", "R2", "Z0")
N_EVS = 2
PERIODS = 8
RULES = MarketRules(battery=SEED000_SPEC, tariffs=TARIFFS, seed=0)


@pytest.fixture(scope="module")
def day_agents(registry, exchange, upos, admin, operator, meter, prosumers, funded_account):
    """Five prosumers (the shared three and two more) and two EVs with the paper's battery window,
    opened full (MarketRules' default), everyone and the operator funded in the exchange."""
    extra = [funded_account() for _ in range(len(AGENTS) - len(prosumers))]
    for account in extra:
        registry.register(account, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": operator})
    evs = [funded_account() for _ in range(N_EVS)]
    for ev in evs:
        register_ev(registry, operator, ev, SEED000_SPEC)
        exchange.openBattery(ev, RULES.initial_energy_wh, {"from": meter})
    day_prosumers = [*prosumers, *extra]
    for account in [*extra, *evs]:
        fund(upos, exchange, admin, account)
    return SimpleNamespace(prosumers=day_prosumers, evs=evs)


@pytest.fixture(scope="module")
def funded_shared(deposits):
    """The shared prosumers and the operator hold DEPOSIT in the exchange (tests/contracts fixtures)."""


def day_data(noisy_bids: bool) -> tuple[np.ndarray, np.ndarray]:
    """Net energy per agent and 10-s step (Wh): surplus-leaning and deficit-leaning agents with swings
    large enough to fill and empty an 8,350 Wh window within a period; bids perfect or with errors."""
    rng = np.random.default_rng(1)
    steps = PERIODS * STEPS_PER_PERIOD
    lean = np.array([1_200, -1_800, 600, -300, 2_000])[:, None]
    net = (lean + rng.integers(-2_500, 2_501, (len(AGENTS), steps))).astype(np.int64)
    bids = perfect_bids(net)
    if noisy_bids:
        bids = bids + rng.integers(-4_000, 4_001, bids.shape)
    return net, bids


def run_period(matching, exchange, agents, scorer, meter, operator, period, m, net, bids, method) -> None:
    """One period through the contracts, as the off-chain worker runs it."""
    prosumers, evs = agents.prosumers, agents.evs
    n = len(prosumers)
    open_bidding(matching, period)
    greedy = method == "greedy"
    p_order = arrival_order(RULES.seed, period, n, 0) if greedy else np.arange(n)
    e_order = arrival_order(RULES.seed, period, len(evs), 1) if greedy else np.arange(len(evs))
    for i in p_order.tolist():
        matching.bidProsumer(period, int(bids[i, m]), {"from": prosumers[i]})
    for j in e_order.tolist():
        available, capacity = exchange.headroom(evs[j])
        matching.bidEV(period, available if matching.maySell(evs[j], period) else 0, capacity, {"from": evs[j]})
    close_bidding(matching, period)
    if greedy:
        matching.matchGreedy(period, {"from": scorer})
    else:
        c = certified_assignment(np.array(matching.benefitMatrix(period), dtype=np.int64))
        matching.submitAssignment(
            period, c.assignment.prosumers.tolist(), c.assignment.evs.tolist(), c.u.tolist(), c.v.tolist(),
            {"from": scorer},
        )
    end_period(matching, period)

    _, _, matches = exchange.periodMatches(period)
    index = {a.address: k for k, a in enumerate([*prosumers, *evs])}
    energy = {ev: exchange.battery(ev)[0] for _, ev, _ in matches}
    moved = []
    traded = np.zeros((n, STEPS_PER_PERIOD), dtype=np.int64)
    for s in range(STEPS_PER_PERIOD):
        for prosumer, ev, may_sell in matches:
            i = index[prosumer]
            x = exchange_wh(int(net[i, m * STEPS_PER_PERIOD + s]), energy[ev], SEED000_SPEC, may_sell)
            energy[ev] += x
            traded[i, s] = x
            moved.append(x)
    exchange.logExchange(period, moved, {"from": meter})

    residual = net[:, m * STEPS_PER_PERIOD : (m + 1) * STEPS_PER_PERIOD] - traded
    exports = np.where(residual > 0, residual, 0).sum(axis=1)
    imports = np.where(residual < 0, -residual, 0).sum(axis=1)
    exchange.settleGrid(period, prosumers, imports.tolist(), exports.tolist(), {"from": operator})


@pytest.mark.parametrize("noisy_bids", [False, True], ids=["perfect", "forecast-errors"])
@pytest.mark.parametrize("method", ["greedy", "hungarian"])
def test_chain_day_equals_simulate_day(
    matching, exchange, day_agents, funded_shared, scorer, meter, operator, method, noisy_bids
):
    net, bids = day_data(noisy_bids)
    first = next_period(matching)
    first_id = exchange.lastMatchingId()
    n = len(AGENTS)
    everyone = [*day_agents.prosumers, *day_agents.evs, operator]
    balances_before = {a.address: exchange.balanceOf(a) for a in everyone}
    grid_cash = np.zeros(n, dtype=object)  # what each prosumer got from (+) / paid to (-) the grid
    for m in range(PERIODS):
        period = first + m
        run_period(matching, exchange, day_agents, scorer, meter, operator, period, m, net, bids, method)
    run = simulate_day(AGENTS, net, bids, N_EVS, method, RULES, first_period=first)

    # every exchange.csv row, in order
    logs = exchange.events.get_sequence(from_block=0, event_type="EnergyExchanged")
    index = {a.address: k for k, a in enumerate([*day_agents.prosumers, *day_agents.evs])}
    chain_rows = [
        (e.args.step, e.args.energyWh, e.args.availableWh, e.args.capacityWh, e.args.matchingId - first_id,
         AGENTS[index[e.args.prosumer]], f"EV{index[e.args.ev] - n + 1}")
        for e in logs if first * STEPS_PER_PERIOD <= e.args.step < (first + PERIODS) * STEPS_PER_PERIOD
    ]  # fmt: skip
    model_rows = [
        (r.step, round(r.energy_kwh * 1000), round(r.available_kwh * 1000), round(r.capacity_kwh * 1000),
         r.matching_id, r.prosumer, r.ev)
        for r in run.exchange.itertuples()
    ]  # fmt: skip
    assert chain_rows == model_rows
    assert len(chain_rows) > 20  # the day moves energy in most periods
    assert exchange.lastMatchingId() - first_id == run.matches

    # batteries and cost bases
    for j, ev in enumerate(day_agents.evs):
        account = run.ev_accounts[j]
        assert tuple(exchange.battery(ev)) == (run.final_energy_wh[j], account.stock_wh, account.cost_base, True)
        cash = account.revenue_base - account.purchases_base
        assert exchange.balanceOf(ev) == balances_before[ev.address] + cash

    # prosumers: the grid residual and the gain over grid-only trading
    grid_events = [
        e for e in exchange.events.get_sequence(from_block=0, event_type="GridSettled")
        if first <= e.args.period < first + PERIODS
    ]  # fmt: skip
    assert len(grid_events) == PERIODS * n
    for e in grid_events:
        grid_cash[index[e.args.prosumer]] += e.args.exportRevenue - e.args.importCost
    for i, prosumer in enumerate(day_agents.prosumers):
        ev_cash = exchange.balanceOf(prosumer) - balances_before[prosumer.address] - grid_cash[i]
        rows = [r for r in model_rows if r[5] == AGENTS[i]]
        # the gain over the grid: what the EV paid beyond the grid's export price, what it charged below
        # the grid's import price (pricing.settle_exchange, step by step)
        gain = ev_cash - sum(payment_base(r[1], TARIFFS.grid_sell_base) for r in rows if r[1] > 0) + sum(
            payment_base(-r[1], TARIFFS.grid_buy_base) for r in rows if r[1] < 0
        )
        assert gain == run.prosumer_gain_base[i]
        assert sum(r[1] for r in rows if r[1] > 0) == run.sold_to_ev_wh[i]
        assert -sum(r[1] for r in rows if r[1] < 0) == run.bought_from_ev_wh[i]
    assert exchange.balanceOf(operator) == balances_before[operator.address] - sum(grid_cash)
    assert sum(exchange.balanceOf(a) for a in everyone) == sum(balances_before.values())
