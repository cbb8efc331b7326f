"""The outside review's attacks on EnergyOrderBook (issue 12), each written to fail on the book it broke:

1. holes left by cancelled orders behind a live order made every later take at that price walk them;
2. 1-Wh orders and 1-Wh iceberg peaks made takers pay tens of thousands of gas per Wh;
4. one order that is no longer open made a whole gridFill / expireOrders batch revert, and an owner could
   cancel after gate closure (racing the operator's grid fallback);
5. the operator could change the grid tariffs of a period whose orders were already placed.
(3, escrowed credits burned by another MARKET holder: tests/contracts/tokens/test_energy_credit.py;
6, a poisoned matching bid: tests/contracts/mechanisms/fog_ems/test_fog_ems_bidding.py and
tests/offchain/workers/test_runtime.py.) docs/security.md lists them all."""

import brownie
import pytest
from book_support import IMPORT_PRICE, EXPORT_PRICE, buy, placed_id, price, sell
from contract_helpers import custom_error

from offchain.market import OrderStatus

HOLES = 40  #: cancelled orders left behind a live one (the review used 12,000; the cost per hole is what counts)
HOLE_ALLOWANCE_GAS = 6_000  #: most a whole run of holes may add to a take (one gap read, whatever its length)


def _take_gas_behind(book, sellers, buyer, period, holes: int, order=lambda ids: ids) -> int:
    """Gas of a buy filling a live ask, `holes` asks behind it cancelled in the sequence `order` gives, and
    one more live ask behind them; the book is empty afterwards."""
    first = placed_id(sell(book, sellers[0], period, 200, 100))
    withdrawn = [placed_id(sell(book, sellers[1], period, 200, 100)) for _ in range(holes)]
    last = placed_id(sell(book, sellers[2], period, 200, 100))
    for order_id in order(withdrawn):
        book.cancelOrder(order_id, {"from": sellers[1]})
    tx = buy(book, buyer, period, 200, 200)
    assert [e["makerOrderId"] for e in tx.events["Trade"]] == [first, last]
    assert tuple(book.bestAsk(period)) == (0, 0)
    return tx.gas_used


@pytest.mark.parametrize("order", [
    lambda ids: ids,
    lambda ids: ids[::-1],
    lambda ids: [*ids[::2], *ids[1::2][::-1]],  # every new hole joins a run on one side or the other
], ids=["front-to-back", "back-to-front", "alternating"])
def test_cancelled_orders_behind_a_live_one_do_not_raise_the_cost_of_a_take(
    book, traders, sellers, buyers, period, order
):
    baseline = _take_gas_behind(book, sellers, buyers[0], period, 0)
    with_holes = _take_gas_behind(book, sellers, buyers[0], period + 1, HOLES, order)
    assert with_holes - baseline <= HOLE_ALLOWANCE_GAS, f"{HOLES} holes added {with_holes - baseline:,} gas"


def test_dust_orders_and_dust_peaks_are_refused(book, admin, traders, sellers, period):
    book.setOrderMinimums(100, 50, {"from": admin})
    with brownie.reverts(custom_error("OrderBelowMinimum(uint256,uint256)", 99, 100)):
        sell(book, sellers[0], period, 200, 99)
    with brownie.reverts(custom_error("DisplayBelowMinimum(uint256,uint256)", 1, 50)):
        sell(book, sellers[0], period, 200, 1_000, 1)
    assert placed_id(sell(book, sellers[0], period, 200, 1_000, 50))


def test_only_admin_sets_the_minimums(book, operator, traders):
    with brownie.reverts(custom_error("AccessControlUnauthorizedAccount(address,bytes32)", operator, b"\0" * 32)):
        book.setOrderMinimums(100, 50, {"from": operator})


def test_one_order_no_longer_open_does_not_sink_a_grid_fill(book, operator, traders, sellers, buyers, period, close_gate):
    ids = [placed_id(buy(book, buyers[0], period, 320, 1_000)), placed_id(buy(book, buyers[1], period, 330, 500))]
    book.cancelOrder(ids[0], {"from": buyers[0]})
    close_gate(period)
    tx = book.gridFill(ids, {"from": operator})
    assert [e["orderId"] for e in tx.events["GridFilled"]] == [ids[1]]
    assert [(e["orderId"], e["status"]) for e in tx.events["OrderSkipped"]] == [(ids[0], OrderStatus.CANCELLED)]


def test_owner_cannot_cancel_after_gate_closure(book, traders, buyers, period):
    order_id = placed_id(buy(book, buyers[0], period, 320, 1_000))
    # from the chain's own clock (the latest block), a minute past gate closure and well before the period starts
    brownie.chain.sleep(book.gateClosure(period) - brownie.chain[-1].timestamp + 60)
    brownie.chain.mine()
    assert brownie.chain[-1].timestamp >= book.gateClosure(period)
    with brownie.reverts(custom_error("PeriodClosed(uint256)", period)):
        book.cancelOrder(order_id, {"from": buyers[0]})


def test_tariffs_of_an_open_period_cannot_change(book, operator, traders, buyers, period, close_gate):
    order_id = placed_id(buy(book, buyers[0], period, 500, 1_000))
    book.setGridTariffs(price(490), price(40), {"from": operator})
    close_gate(period)
    tx = book.gridFill([order_id], {"from": operator})
    assert tx.events["GridFilled"]["price"] == IMPORT_PRICE
    assert tuple(book.gridTariffs(period)) == (IMPORT_PRICE, EXPORT_PRICE)
