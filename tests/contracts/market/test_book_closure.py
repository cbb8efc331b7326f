"""EnergyOrderBook after gate closure: nothing matches and no owner cancels; the operator fills open orders
against the grid at the tariffs (limits bind: an order the tariff does not satisfy expires) or expires them;
from the period's start anyone expires what is left. Batches skip orders no longer open."""

import brownie
import pytest
from contract_helpers import INSUFFICIENT_BALANCE, custom_error
from book_support import (
    CREDIT_WH,
    EXPORT_PRICE,
    IMPORT_PRICE,
    UPOS_DEPOSIT,
    best_ask,
    best_bid,
    buy,
    order_view,
    placed_id,
    price,
    sell,
)

from offchain.market import OrderStatus
from offchain.units import payment_base

EXPORT_MILLI = 50  # the export tariff of book_support, in thousandths of a UPOS per kWh


@pytest.fixture
def resting(book, traders, prosumers, evs, period):
    """Open orders: in `period` bids above and below the import tariff and an ask above the export
    tariff; in `period + 1` asks at and below the export tariff (one an iceberg), which would cross
    those bids in one book; in `period + 2` an order whose gate stays open."""
    return {
        "bid_above_import": placed_id(buy(book, evs[0], period, 320, 2_000)),
        "bid_below_import": placed_id(buy(book, evs[1], period, 250, 1_000)),
        "ask_above_export": placed_id(sell(book, prosumers[2], period, 400, 700)),
        "ask_at_export": placed_id(sell(book, prosumers[0], period + 1, EXPORT_MILLI, 1_500)),
        "iceberg_below_export": placed_id(sell(book, prosumers[1], period + 1, 40, 5_000, 1_000)),
        "next_period": placed_id(buy(book, prosumers[2], period + 2, 100, 700)),
    }


@pytest.fixture
def closed(period, close_gate, resting):
    """The gates of `period` and `period + 1` have closed."""
    close_gate(period + 1)
    return resting


@pytest.fixture
def delivering(book, period, closed):
    """`period + 1` has started: expiry of both periods is open to everyone."""
    brownie.chain.sleep(book.gateClosure(period + 2) - brownie.chain.time() - 60)
    brownie.chain.mine()
    return closed


def test_nothing_trades_after_gate_closure(book, traders, prosumers, evs, period, closed):
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        buy(book, evs[0], period, 400, 100)
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        sell(book, prosumers[0], period, 50, 100)


def test_gate_closes_at_gate_closure(book, traders, evs, period):
    brownie.chain.sleep(book.gateClosure(period) - 30 - brownie.chain.time())
    assert buy(book, evs[0], period, 100, 100).status == 1
    brownie.chain.sleep(31)
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        buy(book, evs[0], period, 100, 100)


# --- expiry ------------------------------------------------------------------------------------


def test_expiry_waits_for_gate_closure(book, outsider, period, resting):
    with brownie.reverts(custom_error("PeriodNotClosed(uint256)", period)):
        book.expireOrders([resting["bid_above_import"]], {"from": outsider})


def test_anyone_expires_from_the_period_start_and_owners_are_refunded(
    book, prosumers, evs, outsider, period, delivering
):
    ids = [delivering["bid_above_import"], delivering["iceberg_below_export"]]

    tx = book.expireOrders(ids, {"from": outsider})

    assert [dict(e) for e in tx.events["OrderExpired"]] == [
        {"orderId": ids[0], "owner": evs[0], "refundedWh": 2_000},
        {"orderId": ids[1], "owner": prosumers[1], "refundedWh": 5_000},
    ]
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT
    assert book.energyFree(prosumers[1], period + 1) == CREDIT_WH
    assert [order_view(book, i)["status"] for i in ids] == [OrderStatus.EXPIRED] * 2
    assert best_bid(book, period)[1] == 1_000  # the other bid still rests until someone expires it


def test_between_gate_closure_and_delivery_only_the_operator_expires(
    book, operator, prosumers, outsider, period, closed
):
    order, starts_at = closed["ask_at_export"], book.gateClosure(period + 1) + book.gateLeadSeconds()
    for caller in (outsider, prosumers[0]):
        with brownie.reverts(custom_error("ExpiryNotOpen(uint256,uint256)", period + 1, starts_at)):
            book.expireOrders([order], {"from": caller})
    tx = book.expireOrders([order], {"from": operator})
    assert tx.events["OrderExpired"]["orderId"] == order


def test_expiry_rules(book, outsider, delivering):
    book.expireOrders([delivering["bid_above_import"]], {"from": outsider})
    tx = book.expireOrders([delivering["bid_below_import"], delivering["bid_above_import"]], {"from": outsider})
    assert [e["orderId"] for e in tx.events["OrderExpired"]] == [delivering["bid_below_import"]]
    assert dict(tx.events["OrderSkipped"]) == {"orderId": delivering["bid_above_import"], "status": OrderStatus.EXPIRED}
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 999)):
        book.expireOrders([999], {"from": outsider})
    next_period = order_view(book, delivering["next_period"])["period"]
    with brownie.reverts(custom_error("PeriodNotClosed(uint256)", next_period)):
        book.expireOrders([delivering["next_period"]], {"from": outsider})


def test_no_cancel_after_gate_closure(book, evs, period, closed):
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        book.cancelOrder(closed["bid_below_import"], {"from": evs[1]})
    assert order_view(book, closed["bid_below_import"])["status"] == OrderStatus.OPEN


# --- grid fallback -----------------------------------------------------------------------------


def test_grid_fill_waits_for_gate_closure(book, operator, period, resting):
    with brownie.reverts(custom_error("PeriodNotClosed(uint256)", period)):
        book.gridFill([resting["bid_above_import"]], {"from": operator})


def test_grid_supplies_bids_at_the_import_tariff(book, operator, evs, period, closed):
    order = closed["bid_above_import"]
    operator_before = book.uposFree(operator)

    tx = book.gridFill([order], {"from": operator})

    assert dict(tx.events["GridFilled"]) == {
        "orderId": order,
        "owner": evs[0],
        "operator": operator,
        "isBuy": True,
        "price": IMPORT_PRICE,
        "quantityWh": 2_000,
    }
    assert book.uposFree(operator) == operator_before + payment_base(2_000, IMPORT_PRICE)
    # the buyer pays the tariff, not its higher limit
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(2_000, IMPORT_PRICE)
    assert book.gridSuppliedWh(evs[0], period) == 2_000
    assert book.energyFree(evs[0], period) == 0  # grid energy is no credit
    assert order_view(book, order)["status"] == OrderStatus.GRID_FILLED


def test_operator_takes_asks_at_the_export_tariff(book, operator, prosumers, period, closed):
    ids = [closed["ask_at_export"], closed["iceberg_below_export"]]
    operator_before = book.uposFree(operator)
    sellers_before = [book.uposFree(p) for p in prosumers[:2]]

    tx = book.gridFill(ids, {"from": operator})

    assert [(e["orderId"], e["isBuy"], e["price"], e["quantityWh"]) for e in tx.events["GridFilled"]] == [
        (ids[0], False, EXPORT_PRICE, 1_500),
        (ids[1], False, EXPORT_PRICE, 5_000),  # the iceberg's hidden part too
    ]
    assert book.uposFree(operator) == operator_before - payment_base(6_500, EXPORT_PRICE)
    assert book.energyFree(operator, period + 1) == 6_500
    assert [book.uposFree(p) for p in prosumers[:2]] == [
        sellers_before[0] + payment_base(1_500, EXPORT_PRICE),
        sellers_before[1] + payment_base(5_000, EXPORT_PRICE),
    ]
    assert best_ask(book, period + 1) == (0, 0)


def test_orders_the_tariffs_do_not_satisfy_expire(book, operator, prosumers, evs, period, closed):
    ids = [closed["bid_below_import"], closed["ask_above_export"]]

    tx = book.gridFill(ids, {"from": operator})

    assert "GridFilled" not in tx.events
    assert [e["orderId"] for e in tx.events["OrderExpired"]] == ids
    assert book.uposFree(evs[1]) == UPOS_DEPOSIT
    assert book.energyFree(prosumers[2], period) == CREDIT_WH
    assert book.gridSuppliedWh(evs[1], period) == 0


def test_grid_fill_of_a_partly_traded_bid(book, traders, operator, prosumers, evs, period, close_gate):
    order = placed_id(buy(book, evs[0], period, 320, 3_000))
    sell(book, prosumers[0], period, 300, 1_000)
    close_gate(period)

    tx = book.gridFill([order], {"from": operator})

    assert tx.events["GridFilled"]["quantityWh"] == 2_000
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(1_000, price(320)) - payment_base(2_000, IMPORT_PRICE)
    assert book.gridSuppliedWh(evs[0], period) == 2_000


def test_operator_must_afford_the_asks(book, operator, closed):
    book.withdrawUpos(book.uposFree(operator), {"from": operator})
    needed = payment_base(1_500, EXPORT_PRICE)

    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, operator, 0, needed)):
        book.gridFill([closed["ask_at_export"], closed["bid_above_import"]], {"from": operator})
    assert order_view(book, closed["bid_above_import"])["status"] == OrderStatus.OPEN  # all or none


def test_grid_fill_rules(book, operator, evs, closed):
    book.expireOrders([closed["bid_above_import"]], {"from": operator})
    tx = book.gridFill([closed["bid_above_import"]], {"from": operator})
    assert dict(tx.events["OrderSkipped"]) == {"orderId": closed["bid_above_import"], "status": OrderStatus.EXPIRED}
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 999)):
        book.gridFill([999], {"from": operator})


def test_grid_filled_order_is_closed(book, operator, evs, period, delivering):
    book.gridFill([delivering["bid_above_import"]], {"from": operator})
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        book.cancelOrder(delivering["bid_above_import"], {"from": evs[0]})
    tx = book.expireOrders([delivering["bid_above_import"]], {"from": evs[0]})
    assert dict(tx.events["OrderSkipped"]) == {
        "orderId": delivering["bid_above_import"], "status": OrderStatus.GRID_FILLED}
