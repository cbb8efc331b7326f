"""EnergyOrderBook carry-over (seed 003 AdBEV passive/aggressive iceberg execution): the operator moves open
orders of a closed period into the next one, keeping their priority ahead of orders placed there, within
the limit each owner allowed. One test per revert path, the skips, the role check and the gas."""

import brownie
import pytest
from book_support import CREDIT_WH, PERIOD_SECONDS, UPOS_DEPOSIT, book_params, buy, order_view, placed_id, price, sell
from brownie import chain
from contract_helpers import UNAUTHORIZED, custom_error

from offchain.chain.roles import role_id
from offchain.market import OrderStatus


@pytest.fixture(scope="module")
def carry_book(EnergyOrderBook, registry, upos, credit, admin, meter, prosumers, evs, operator):
    """A book open one period ahead (the AdBEV terms), funded like the shared book fixture; its current
    period started a few seconds ago, so the next period's gate is most of a period away."""
    genesis = chain.time() - 100 * PERIOD_SECONDS - 5
    book = EnergyOrderBook.deploy(registry, upos, credit, book_params(genesis, maxPeriodsAhead=1), {"from": admin})
    registry.grantRole(role_id("MARKET"), book, {"from": admin})
    p = book.currentPeriod() + 1
    for account in [*prosumers, *evs, operator]:
        upos.mint(account, 2 * UPOS_DEPOSIT, {"from": admin})
        upos.approve(book, 2**256 - 1, {"from": account})
        credit.setApprovalForAll(book, True, {"from": account})
        book.depositUpos(UPOS_DEPOSIT, {"from": account})
    for prosumer in prosumers[:2]:  # prosumers[2] has no credits for the next period
        for q in (p, p + 1):
            credit.attestSurplus(prosumer, q, 2 * CREDIT_WH, {"from": meter})
            book.depositEnergy(q, CREDIT_WH, {"from": prosumer})
    credit.attestSurplus(prosumers[2], p, 2 * CREDIT_WH, {"from": meter})
    book.depositEnergy(p, CREDIT_WH, {"from": prosumers[2]})
    return book


@pytest.fixture
def p(carry_book):
    """The one period open for trading; its gate has not closed."""
    return carry_book.currentPeriod() + 1


def _close_gate(book, period):
    chain.sleep(book.gateClosure(period) - chain.time() + 1)
    chain.mine()


def _open_next(book, period):
    chain.sleep(book.gateClosure(period) + 900 - chain.time() + 1)  # the period starts: period + 1 opens
    chain.mine()


def _resting_sells(book, prosumers, p):
    first = placed_id(sell(book, prosumers[0], p, 200, 3_000))
    second = placed_id(sell(book, prosumers[1], p, 200, 5_000, 1_000))
    for order_id, owner in ((first, prosumers[0]), (second, prosumers[1])):
        book.setCarryLimit(order_id, p + 2, {"from": owner})
    return first, second


def test_carried_sells_keep_their_priority_over_orders_placed_later(carry_book, prosumers, evs, operator, p):
    first, second = _resting_sells(carry_book, prosumers, p)
    _close_gate(carry_book, p)
    free_before = [carry_book.energyFree(prosumers[0], q) for q in (p, p + 1)]
    tx = carry_book.carryOrders([first, second], {"from": operator})
    assert [e["orderId"] for e in tx.events["OrderCarried"]] == [first, second]
    assert tx.events["OrderCarried"][1]["remainingWh"] == 5_000
    # the seller's lock moved from period p's credits to period p + 1's
    assert [carry_book.energyFree(prosumers[0], q) for q in (p, p + 1)] == [free_before[0] + 3_000, free_before[1] - 3_000]
    view = order_view(carry_book, second)
    assert (view["period"], view["remainingWh"], view["visibleWh"], view["peakWh"]) == (p + 1, 5_000, 1_000, 1_000)
    _open_next(carry_book, p)
    later = placed_id(sell(carry_book, prosumers[0], p + 1, 200, 1_000))
    taker = buy(carry_book, evs[0], p + 1, 200, 4_500)
    makers = [e["makerOrderId"] for e in taker.events["Trade"]]
    # both carried orders trade before the later one; the iceberg's next tranche then queues behind it
    assert makers == [first, second, later]


def test_a_carried_iceberg_buy_keeps_its_lock_and_peak(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 6_000, 2_000))
    carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    free = carry_book.uposFree(evs[0])
    _close_gate(carry_book, p)
    carry_book.carryOrders([order_id], {"from": operator})
    assert carry_book.uposFree(evs[0]) == free
    view = order_view(carry_book, order_id)
    assert (view["period"], view["remainingWh"], view["visibleWh"], view["status"]) == (p + 1, 6_000, 2_000, OrderStatus.OPEN)
    assert tuple(carry_book.bestBid(p + 1)) == (price(150), 2_000) and tuple(carry_book.bestBid(p)) == (0, 0)


def test_carry_past_the_limit_reverts(carry_book, prosumers, operator, p):
    no_limit = placed_id(sell(carry_book, prosumers[0], p, 200, 1_000))
    _close_gate(carry_book, p)
    with brownie.reverts(custom_error("CarryPastLimit(uint256,uint256,uint256)", no_limit, p + 1, 0)):
        carry_book.carryOrders([no_limit], {"from": operator})


def test_carry_beyond_the_last_allowed_period_reverts(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    _close_gate(carry_book, p)
    carry_book.carryOrders([order_id], {"from": operator})
    _open_next(carry_book, p)
    _close_gate(carry_book, p + 1)
    with brownie.reverts(custom_error("CarryPastLimit(uint256,uint256,uint256)", order_id, p + 2, p + 1)):
        carry_book.carryOrders([order_id], {"from": operator})


def test_carry_into_an_open_period_reverts(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    _open_next(carry_book, p)
    opened = carry_book.gateClosure(p) + 900
    with brownie.reverts(custom_error("CarryWindowClosed(uint256,uint256)", p + 1, opened)):
        carry_book.carryOrders([order_id], {"from": operator})


def test_carry_out_of_placement_order_reverts(carry_book, prosumers, operator, p):
    first, second = _resting_sells(carry_book, prosumers, p)
    _close_gate(carry_book, p)
    with brownie.reverts(custom_error("CarryOutOfOrder(uint256,uint256,uint256)", p + 1, second, first)):
        carry_book.carryOrders([second, first], {"from": operator})


def test_carry_before_gate_closure_reverts(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    with brownie.reverts(custom_error("PeriodNotClosed(uint256)", p)):
        carry_book.carryOrders([order_id], {"from": operator})


def test_carry_of_an_unknown_order_reverts(carry_book, operator):
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 999)):
        carry_book.carryOrders([999], {"from": operator})


def test_only_the_operator_carries(carry_book, evs, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    _close_gate(carry_book, p)
    with brownie.reverts(custom_error(UNAUTHORIZED, evs[0], role_id("OPERATOR"))):
        carry_book.carryOrders([order_id], {"from": evs[0]})


def test_closed_orders_and_sellers_without_next_credits_are_skipped(carry_book, prosumers, evs, operator, p):
    cancelled = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    carry_book.setCarryLimit(cancelled, p + 1, {"from": evs[0]})
    carry_book.cancelOrder(cancelled, {"from": evs[0]})
    broke = placed_id(sell(carry_book, prosumers[2], p, 300, 2_000))
    carry_book.setCarryLimit(broke, p + 1, {"from": prosumers[2]})
    kept = placed_id(buy(carry_book, evs[1], p, 150, 1_000))
    carry_book.setCarryLimit(kept, p + 1, {"from": evs[1]})
    _close_gate(carry_book, p)
    tx = carry_book.carryOrders([cancelled, broke, kept], {"from": operator})
    assert tx.events["OrderSkipped"][0]["orderId"] == cancelled
    assert dict(tx.events["CarrySkipped"][0]) == {"orderId": broke, "availableWh": 0, "neededWh": 2_000}
    assert [e["orderId"] for e in tx.events["OrderCarried"]] == [kept]
    assert order_view(carry_book, broke)["period"] == p  # stays to expire or be grid-filled
    carry_book.gridFill([broke], {"from": operator})
    assert order_view(carry_book, broke)["status"] == OrderStatus.EXPIRED


def test_set_carry_limit_checks_owner_period_openness_and_limit(carry_book, evs, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    with brownie.reverts(custom_error("NotOrderOwner(uint256,address)", order_id, evs[1])):
        carry_book.setCarryLimit(order_id, p + 1, {"from": evs[1]})
    with brownie.reverts(custom_error("InvalidCarryLimit(uint256,uint256,uint256)", order_id, p, p)):
        carry_book.setCarryLimit(order_id, p, {"from": evs[0]})
    with brownie.reverts(custom_error("InvalidCarryLimit(uint256,uint256,uint256)", order_id, p, 2**32)):
        carry_book.setCarryLimit(order_id, 2**32, {"from": evs[0]})
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 999)):
        carry_book.setCarryLimit(999, p + 1, {"from": evs[0]})
    tx = carry_book.setCarryLimit(order_id, p + 3, {"from": evs[0]})
    assert tx.events["CarryLimitSet"][0]["lastPeriod"] == p + 3 and carry_book.carryLimit(order_id) == p + 3
    carry_book.cancelOrder(order_id, {"from": evs[0]})
    with brownie.reverts(custom_error("OrderNotOpen(uint256)", order_id)):
        carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    other = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    _close_gate(carry_book, p)
    with brownie.reverts(custom_error("PeriodClosed(uint256)", p)):
        carry_book.setCarryLimit(other, p + 1, {"from": evs[0]})


def test_carry_gas_per_order(carry_book, prosumers, evs, operator, p):
    """Prints the gas of a batch of carries (figures for docs/adbev-contracts.md)."""
    ids = [placed_id(buy(carry_book, evs[i % 2], p, 100 + i, 1_000, 400)) for i in range(6)]
    for i, order_id in enumerate(ids):
        carry_book.setCarryLimit(order_id, p + 1, {"from": evs[i % 2]})
    _close_gate(carry_book, p)
    one = carry_book.carryOrders(ids[:1], {"from": operator}).gas_used
    five = carry_book.carryOrders(ids[1:], {"from": operator}).gas_used
    print(f"\ncarryOrders gas: 1 order {one}, 5 orders {five} ({(five - 21_000) / 5:.0f} per order)")
    assert (five - 21_000) / 5 < one - 21_000 + 5_000  # per-order cost flat in the batch size


# --- the AdBEV strategy step (stepOrders) ----------------------------------------------------------------


def test_step_carries_what_may_wait_and_settles_the_rest(carry_book, prosumers, evs, operator, p):
    """Table 4-B on a closed period: an iceberg buy allowed to wait and a sell allowed to be pushed on are
    carried; a normal buy reaching the import tariff is grid-filled; a sell with no carry left expires."""
    waiting = placed_id(buy(carry_book, evs[0], p, 150, 4_000, 1_000))
    carry_book.setCarryLimit(waiting, p + 1, {"from": evs[0]})
    pushed = placed_id(sell(carry_book, prosumers[0], p, 350, 2_000))
    carry_book.setCarryLimit(pushed, p + 2, {"from": prosumers[0]})
    normal = placed_id(buy(carry_book, evs[1], p, 300, 1_000))  # limit = the import tariff
    killed = placed_id(sell(carry_book, prosumers[1], p, 360, 1_500))
    _close_gate(carry_book, p)
    tx = carry_book.stepOrders([waiting, pushed, normal, killed], {"from": operator})
    assert [e["orderId"] for e in tx.events["OrderCarried"]] == [waiting, pushed]
    assert [(e["orderId"], e["isBuy"], e["quantityWh"]) for e in tx.events["GridFilled"]] == [(normal, True, 1_000)]
    assert [e["orderId"] for e in tx.events["OrderExpired"]] == [killed]
    assert [order_view(carry_book, i)["period"] for i in (waiting, pushed)] == [p + 1, p + 1]
    assert carry_book.gridSuppliedWh(evs[1], p) == 1_000


def test_step_settles_a_sell_it_cannot_carry(carry_book, prosumers, operator, p):
    broke = placed_id(sell(carry_book, prosumers[2], p, 300, 2_000))  # no credits of p + 1
    carry_book.setCarryLimit(broke, p + 1, {"from": prosumers[2]})
    _close_gate(carry_book, p)
    tx = carry_book.stepOrders([broke], {"from": operator})
    assert tx.events["CarrySkipped"][0]["orderId"] == broke and tx.events["OrderExpired"][0]["orderId"] == broke
    assert order_view(carry_book, broke)["status"] == OrderStatus.EXPIRED


def test_step_refuses_an_open_gate_an_unknown_order_and_callers_without_the_role(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000))
    with brownie.reverts(custom_error("PeriodNotClosed(uint256)", p)):
        carry_book.stepOrders([order_id], {"from": operator})
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 999)):
        carry_book.stepOrders([999], {"from": operator})
    _close_gate(carry_book, p)
    with brownie.reverts(custom_error(UNAUTHORIZED, evs[0], role_id("OPERATOR"))):
        carry_book.stepOrders([order_id], {"from": evs[0]})


def test_step_after_the_next_period_opened_reverts_for_a_carry(carry_book, evs, operator, p):
    order_id = placed_id(buy(carry_book, evs[0], p, 150, 1_000, 500))
    carry_book.setCarryLimit(order_id, p + 1, {"from": evs[0]})
    _open_next(carry_book, p)
    with brownie.reverts(custom_error("CarryWindowClosed(uint256,uint256)", p + 1, carry_book.gateClosure(p) + 900)):
        carry_book.stepOrders([order_id], {"from": operator})


def test_step_gas_per_order(carry_book, prosumers, evs, operator, p):
    """Prints the gas of a strategy step over carried and grid-filled orders (figures for benchmarks/adbev_gas.md)."""
    ids = [placed_id(buy(carry_book, evs[i % 2], p, 300 - i, 1_000, 400)) for i in range(8)]
    for order_id in ids[::2]:
        carry_book.setCarryLimit(order_id, p + 1, {"from": evs[ids.index(order_id) % 2]})
    _close_gate(carry_book, p)
    tx = carry_book.stepOrders(ids, {"from": operator})
    assert len(tx.events["OrderCarried"]) == 4 and len(tx.events["OrderExpired"]) == 4  # limits below the tariff
    print(f"\nstepOrders gas: 8 orders (4 carried, 4 expired) {tx.gas_used} ({(tx.gas_used - 21_000) / 8:.0f} per order)")
