"""Differential test: random sequences of 300+ operations run on EnergyOrderBook and on its Python
reference model (offchain.market) must agree after every step: same outcome (or the same custom
error with the same values), same events, same balances, same book. See diff_runner.py. One shorter random
sequence runs with seed 002's purchase premium (a PenaltySchedule as the book's premium source, a random vector).

Run: brownie test tests/contracts/market_diff --network dev-h5 -s   (-s shows the operation counts)
KWX_DIFF_EXAMPLES sets the number of hypothesis examples (default 3).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from brownie import chain
from brownie.test import given
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from offchain.chain.roles import role_id
from offchain.market import OrderStatus, PremiumSource
from offchain.market import events as ev
from offchain.market.book import IMMEDIATE_OR_CANCEL

from .conftest import MarketPair
from .diff_runner import CLOCK_OFFSET_S, KINDS, Action, DiffRunner, OperationResolver

MIN_OPERATIONS = 300
EXAMPLES = int(os.environ.get("KWX_DIFF_EXAMPLES", "3"))

random_draw = st.integers(0, 2**16 - 1)
operation = st.tuples(st.sampled_from(KINDS), random_draw, random_draw, random_draw, random_draw, random_draw)


def is_varied(operations: list[tuple]) -> bool:
    """Hypothesis starts with near-constant lists (all zeros, one repeated operation); each example
    costs tens of seconds on chain, so only sequences that use most operation kinds and vary their
    draws are run."""
    kinds = {op[0] for op in operations}
    return len(kinds) >= len(set(KINDS)) - 2 and len({op[1:] for op in operations}) >= len(operations) // 2


operation_sequences = st.lists(operation, min_size=MIN_OPERATIONS, max_size=MIN_OPERATIONS + 40).filter(is_varied)


def funding_prologue(runner: DiffRunner) -> list[Action]:
    """Every trader deposits UPOS, every prosumer deposits credits for the tradable periods, and the
    operator sets tariffs, so that the random part starts with a market where most orders can rest."""
    env, model = runner.env, runner.model
    actions = [Action("deposit_upos", a, (20 * 10**18,)) for a in [*env.prosumers, *env.evs, env.operator]]
    first = model.current_period() + 1
    for prosumer in env.prosumers:
        for period in range(first, first + model.config.max_periods_ahead):
            actions.append(Action("deposit_energy", prosumer, (period, 50_000)))
    tick = model.config.tick_size
    actions.append(Action("set_grid_tariffs", env.operator, (100 * tick, 99 * tick)))
    return actions


def run_example(deploy_market, market_env, operations, min_operations: int = MIN_OPERATIONS,
                premium: Callable[[MarketPair], None] | None = None) -> DiffRunner:
    """A fresh book and model (`premium` installs a premium source on both first), the funding prologue, then
    `operations` resolved into actions, compared after every step."""
    started = time.perf_counter()
    market = deploy_market()
    if premium is not None:
        premium(market)
    runner = DiffRunner(market_env, market.book, market.model)
    runner.check_state(full_sweep=True)
    prologue = funding_prologue(runner)
    for action in prologue:
        runner.apply(action)
    resolver = OperationResolver(runner, CLOCK_OFFSET_S)
    for operation in operations:
        for action in resolver.resolve(*operation):
            runner.apply(action)
    runner.check_state(full_sweep=True)

    random_part = sum(runner.counts.values()) - len(prologue)
    assert random_part >= min_operations
    print(f"\nmarket_diff: {runner.summary()}; {runner.model.next_order_id - 1} orders, "
          f"{runner.clock_advances} clock advances, {time.perf_counter() - started:.1f} s")
    return runner


def install_premium(market: MarketPair, env, PenaltySchedule, vector: list[int]) -> None:
    """Seed 002's purchase premium on `market`'s book and model: a PenaltySchedule publishing `vector` (bps) for its
    day 0 (whose hours are the book's periods 0-23: the schedule's hour is the book's period; its day 0 starts in
    the future, so the vector can still be published) becomes the book's premium source, premiums to the
    operator."""
    model = market.model
    hour = model.config.period_seconds
    schedule = PenaltySchedule.deploy(env.registry, env.operator, chain.time() + 3 * hour, hour, hour, 600,
                                      {"from": env.admin})
    env.registry.grantRole(role_id("PAR_CONTROL"), env.admin, {"from": env.admin})
    schedule.publish(0, vector, 8_000, {"from": env.admin})
    tx = market.book.setPremiumSource(schedule, {"from": env.admin})
    outcome = model.set_premium_source(str(env.admin), PremiumSource(
        str(schedule), str(env.operator), {period: bps for period, bps in enumerate(vector) if bps != 10_000}))
    assert tx.events["PremiumSourceSet"]["source"] == schedule
    assert outcome.events == (ev.PremiumSourceSet(str(schedule)),)


def _examples(count: int):
    """Hypothesis settings for `count` examples. No shrink phase: shrinking a 300-step chain run would take
    hours, and a disagreement already reports the concrete action history up to the failing step."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=HealthCheck.all(),
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        print_blob=True,
    )


@_examples(EXAMPLES)
@given(operations=operation_sequences)
def test_contract_and_model_agree_after_every_operation(deploy_market, market_env, operations):
    run_example(deploy_market, market_env, operations)


def _one_period_ahead_round(deploy_market, market_env):
    """A funded book open one period ahead (so carries succeed) with its runner: (runner, model, tick, the next
    period, the id its first order will get)."""
    market = deploy_market(max_periods_ahead=1)
    runner = DiffRunner(market_env, market.book, market.model)
    for action in funding_prologue(runner):
        runner.apply(action)
    model = market.model
    return runner, model, model.config.tick_size, model.current_period() + 1, model.next_order_id


def test_a_carry_round_agrees(deploy_market, market_env):
    """A fixed round on a one-period-ahead book, so that successful carries are compared every run: two sells
    and a buy rest, their owners allow carrying, the gate closes, the operator carries all three (one seller
    lacks next-period credits: skipped), the next period opens and a buy takes the carried sell first."""
    runner, model, tick, p, first = _one_period_ahead_round(deploy_market, market_env)
    env = market_env
    seller, other_seller, buyer = env.prosumers[0], env.prosumers[1], env.evs[0]
    orders = [(seller, (p, False, 99 * tick, 1_000, 1_000)), (other_seller, (p, False, 99 * tick, 3_000, 500)),
              (buyer, (p, True, 95 * tick, 800, 800))]
    for owner, args in orders:
        runner.apply(Action("place_order", owner, args))
    for offset, (owner, _) in enumerate(orders):
        runner.apply(Action("set_carry_limit", owner, (first + offset, p + 2)))
    runner.apply(Action("deposit_energy", seller, (p + 1, 5_000)))
    runner.apply(Action("advance", env.operator, (model.gate_closure(p) + 1,)))
    runner.apply(Action("carry_orders", env.operator, ([first, first + 1, first + 2],)))
    runner.apply(Action("advance", env.operator, (model.period_start(p) + 1,)))
    runner.apply(Action("place_order", env.evs[1], (p + 1, True, 99 * tick, 1_500, 1_500)))
    runner.check_state(full_sweep=True)
    assert runner.event_counts["OrderCarried"] == 2 and runner.event_counts["CarrySkipped"] == 1
    assert model.order(first).status is OrderStatus.FILLED


def test_a_strategy_step_round_agrees(deploy_market, market_env):
    """AdBEV's strategy step on a one-period-ahead book (import 101, export 98 ticks): an iceberg buy allowed to
    wait and a sell allowed to be pushed on are carried, a normal buy at the import tariff is grid-filled, a sell
    with no carry left expires; the next period's buy takes the carried sell first. Compared after every step."""
    runner, model, tick, p, first = _one_period_ahead_round(deploy_market, market_env)
    env = market_env
    orders = [  # owner, placeOrder arguments, carry limit
        (env.evs[0], (p, True, 95 * tick, 3_000, 1_000), p + 1),
        (env.prosumers[0], (p, False, 103 * tick, 1_000, 1_000), p + 2),
        (env.evs[1], (p, True, 101 * tick, 600, 600), None),
        (env.prosumers[1], (p, False, 104 * tick, 800, 800), None),
    ]
    for owner, args, _ in orders:
        runner.apply(Action("place_order", owner, args))
    for offset, (owner, _, last) in enumerate(orders):
        if last is not None:
            runner.apply(Action("set_carry_limit", owner, (first + offset, last)))
    runner.apply(Action("deposit_energy", env.prosumers[0], (p + 1, 5_000)))
    runner.apply(Action("advance", env.operator, (model.gate_closure(p) + 1,)))
    runner.apply(Action("step_orders", env.operator, ([first + offset for offset in range(4)],)))
    runner.apply(Action("advance", env.operator, (model.period_start(p) + 1,)))
    runner.apply(Action("place_order", env.evs[1], (p + 1, True, 103 * tick, 500, 500)))
    runner.check_state(full_sweep=True)
    counts = runner.event_counts
    assert (counts["OrderCarried"], counts["GridFilled"], counts["OrderExpired"]) == (2, 1, 1)
    assert model.order(first + 1).remaining_wh == 500 and model.order(first).period == p + 1


def test_a_premium_round_agrees(deploy_market, market_env, PenaltySchedule):
    """A fixed round with seed 002's purchase premium (a PenaltySchedule as the book's premium source, periods 1
    and 2 penalised, premiums to the operator): a taker buy across two sells and an iceberg tranche, a resting
    iceberg buy taken by a seller, an IOC buy's refunded remainder, a cancel, and a grid fill; contract and model
    agree after every step (events, balances, locks)."""
    market = deploy_market()
    env, model = market_env, market.model
    vector = [10_000] * 24
    vector[1], vector[2] = 15_000, 12_345
    install_premium(market, env, PenaltySchedule, vector)
    runner = DiffRunner(market_env, market.book, market.model)
    for action in funding_prologue(runner):
        runner.apply(action)
    tick, p = model.config.tick_size, model.current_period() + 1
    sellers, buyers = env.prosumers, env.evs
    first = model.next_order_id
    for owner, method, args in [
        (sellers[0], "place_order", (p, False, 99 * tick, 1_000, 1_000)),
        (sellers[1], "place_order", (p, False, 100 * tick, 2_000, 500)),
        (buyers[0], "place_order", (p, True, 100 * tick, 1_800, 1_800)),
        (buyers[1], "place_order", (p + 1, True, 97 * tick, 3_000, 700)),
        (sellers[2], "place_order", (p + 1, False, 95 * tick, 2_500, 2_500)),
        (buyers[0], "place_order_with_options", (p, True, 102 * tick, 5_000, 5_000, IMMEDIATE_OR_CANCEL, 0)),
        (buyers[1], "place_order", (p, True, 101 * tick, 800, 800)),
        (buyers[0], "place_order", (p, True, 90 * tick, 600, 600)),
        (buyers[0], "cancel_order", (first + 7,)),
    ]:
        runner.apply(Action(method, owner, args))
    runner.apply(Action("advance", env.operator, (model.gate_closure(p) + 1,)))
    runner.apply(Action("grid_fill", env.operator, ([first + 6],)))
    runner.check_state(full_sweep=True)
    assert runner.event_counts["PremiumPaid"] == 4 and runner.event_counts["PremiumFixed"] == 5


#: Random sequences with a premium source: shorter than the main test's, one example (the fixed round above covers
#: every premium path; this one mixes them with everything else the resolver draws).
PREMIUM_OPERATIONS = 120
premium_sequences = st.lists(operation, min_size=PREMIUM_OPERATIONS, max_size=PREMIUM_OPERATIONS + 20).filter(is_varied)
#: A day's vector as PenaltySchedule accepts it: x1.0 or a multiplier in [1.1, 1.5], in bps.
penalty_vectors = st.lists(st.one_of(st.just(10_000), st.integers(11_000, 15_000)), min_size=24, max_size=24)


@_examples(1)
@given(operations=premium_sequences, vector=penalty_vectors)
def test_random_sequences_with_a_premium_source_agree(deploy_market, market_env, PenaltySchedule, operations, vector):
    runner = run_example(deploy_market, market_env, operations, PREMIUM_OPERATIONS,
                         premium=lambda market: install_premium(market, market_env, PenaltySchedule, vector))
    assert runner.event_counts["PremiumFixed"] > 0 or all(bps == 10_000 for bps in vector)
