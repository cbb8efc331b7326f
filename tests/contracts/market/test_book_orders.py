"""EnergyOrderBook orders: validation, resting, matching in price-time priority at the resting price,
partial fills, iceberg tranches and cancellation."""

import brownie
import pytest
from contract_helpers import INSUFFICIENT_BALANCE, custom_error
from book_support import (
    CREDIT_WH,
    MAX_PERIODS_AHEAD,
    MAX_PRICE,
    TICK,
    UPOS_DEPOSIT,
    best_ask,
    best_bid,
    buy,
    order_view,
    placed_id,
    price,
    sell,
    trades,
)

from offchain.market import OrderStatus
from offchain.units import payment_base



def book_state(book, accounts, period):
    """Everything a rejected order must leave untouched."""
    return (
        book.nextOrderId(),
        [book.uposFree(a) for a in accounts],
        [book.energyFree(a, period) for a in accounts],
        best_bid(book, period),
        best_ask(book, period),
    )


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "is_buy,order_price,quantity,display,error,values",
    [
        (True, price(200), 0, 0, "ZeroAmount()", ()),
        (False, price(200), 2**48, 0, "QuantityTooLarge(uint256,uint256)", (2**48, 2**48 - 1)),
        (True, price(200) + 500, 1_000, 0, "PriceOffGrid(uint256)", (price(200) + 500,)),
        (False, 0, 1_000, 0, "PriceOutOfRange(uint256)", (0,)),
        (True, MAX_PRICE + TICK, 1_000, 0, "PriceOutOfRange(uint256)", (MAX_PRICE + TICK,)),
        (False, price(200), 1_000, 1_001, "DisplayExceedsTotal(uint256,uint256)", (1_001, 1_000)),
        (True, price(200), 1_000, 0, "ZeroDisplay(uint256)", (1_000,)),
        (False, price(200), 1_000, 0, "ZeroDisplay(uint256)", (1_000,)),
    ],
)
def test_rejects_bad_order(book, traders, prosumers, period, is_buy, order_price, quantity, display, error, values):
    before = book_state(book, traders, period)
    with brownie.reverts(custom_error(error, *values)):
        book.placeOrder(period, is_buy, order_price, quantity, display, {"from": prosumers[0]})
    assert book_state(book, traders, period) == before


def test_rejects_closed_period(book, traders, prosumers):
    current = book.currentPeriod()  # its gate closed gateLeadSeconds before it began
    with brownie.reverts(custom_error("PeriodClosed(uint256)", current)):
        buy(book, prosumers[0], current, 200, 1_000)


def test_rejects_period_too_far_ahead(book, traders, prosumers):
    too_far = book.currentPeriod() + MAX_PERIODS_AHEAD + 1
    for period in (too_far, 2**40):
        with brownie.reverts(custom_error("PeriodTooFarAhead(uint256)", period)):
            buy(book, prosumers[0], period, 200, 1_000)
    assert book.placeOrder(too_far - 1, True, price(200), 1_000, 1_000, {"from": prosumers[0]}).status == 1


def test_rejects_unregistered_and_inactive(book, registry, traders, operator, evs, outsider, period):
    with brownie.reverts(custom_error("ParticipantNotRegistered(address)", outsider)):
        buy(book, outsider, period, 200, 1_000)
    registry.setActive(evs[0], False, {"from": operator})
    with brownie.reverts(custom_error("ParticipantInactive(address)", evs[0])):
        buy(book, evs[0], period, 200, 1_000)


def test_rejects_uncovered_orders(book, traders, evs, period):
    needed = payment_base(CREDIT_WH * 100, price(200))
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, evs[0], UPOS_DEPOSIT, needed)):
        buy(book, evs[0], period, 200, CREDIT_WH * 100)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, evs[0], 0, 1)):
        sell(book, evs[0], period, 200, 1)  # an EV holds no credits


# --- resting -------------------------------------------------------------------------------------


def test_sell_rests_and_locks_energy(book, traders, prosumers, period):
    tx = sell(book, prosumers[0], period, 210, 4_000)

    event = tx.events["OrderPlaced"]
    assert dict(event) == {
        "orderId": 1,
        "owner": prosumers[0].address,
        "period": period,
        "isBuy": False,
        "price": price(210),
        "quantityWh": 4_000,
        "displayWh": 0,
    }
    assert "Trade" not in tx.events
    assert book.energyFree(prosumers[0], period) == CREDIT_WH - 4_000
    assert order_view(book, 1) == {
        "owner": prosumers[0].address,
        "period": period,
        "isBuy": False,
        "price": price(210),
        "remainingWh": 4_000,
        "visibleWh": 4_000,
        "peakWh": 0,
        "status": OrderStatus.OPEN,
    }
    assert best_ask(book, period) == (price(210), 4_000)
    assert best_bid(book, period) == (0, 0)
    assert book.nextOrderId() == 2


def test_buy_rests_and_locks_upos(book, traders, evs, period):
    buy(book, evs[0], period, 190, 3_000)

    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(3_000, price(190))
    assert best_bid(book, period) == (price(190), 3_000)


def test_ids_count_up_across_periods(book, traders, prosumers, evs, period):
    ids = [
        placed_id(sell(book, prosumers[0], period, 250, 100)),
        placed_id(buy(book, evs[0], period + 1, 100, 100)),
        placed_id(sell(book, prosumers[1], period + 1, 260, 100)),
    ]
    assert ids == [1, 2, 3]


def test_unknown_order_view(book):
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 1)):
        book.getOrder(1)


def test_display_equal_to_quantity_is_a_plain_order(book, traders, prosumers, period):
    tx = sell(book, prosumers[0], period, 210, 4_000, 4_000)
    assert tx.events["OrderPlaced"]["displayWh"] == 0
    assert order_view(book, placed_id(tx))["peakWh"] == 0


def test_depth_shows_levels_best_first(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 230, 1_000)
    sell(book, prosumers[1], period, 210, 2_000)
    sell(book, prosumers[2], period, 210, 500)
    sell(book, prosumers[2], period, 1_000, 700)  # another bitmap word
    buy(book, evs[0], period, 150, 800)
    buy(book, evs[1], period, 40, 900)  # another bitmap word

    prices, visible = book.depth(period, False, 5)
    assert list(prices) == [price(210), price(230), price(1_000)]
    assert list(visible) == [2_500, 1_000, 700]
    prices, visible = book.depth(period, True, 1)
    assert (list(prices), list(visible)) == ([price(150)], [800])
    prices, visible = book.depth(period, True, 5)
    assert (list(prices), list(visible)) == ([price(150), price(40)], [800, 900])
    assert [list(side) for side in book.depth(period + 1, True, 5)] == [[], []]


# --- matching ------------------------------------------------------------------------------------


def test_buy_takes_ask_at_resting_price(book, traders, prosumers, evs, period):
    maker = placed_id(sell(book, prosumers[0], period, 200, 5_000))
    seller_upos = book.uposFree(prosumers[0])

    tx = buy(book, evs[0], period, 230, 5_000)

    taker = placed_id(tx)
    assert trades(tx) == [(maker, taker, evs[0].address, prosumers[0].address, price(200), 5_000)]
    assert tx.events["Trade"]["period"] == period
    # the buyer locked 230 and got back the 30 it did not need at once
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(5_000, price(200))
    assert book.energyFree(evs[0], period) == 5_000
    assert book.uposFree(prosumers[0]) == seller_upos + payment_base(5_000, price(200))
    assert order_view(book, maker)["status"] == OrderStatus.FILLED
    assert order_view(book, taker)["status"] == OrderStatus.FILLED
    assert order_view(book, taker)["remainingWh"] == 0
    assert best_ask(book, period) == (0, 0) and best_bid(book, period) == (0, 0)


def test_sell_takes_bid_at_resting_price(book, traders, prosumers, evs, period):
    maker = placed_id(buy(book, evs[0], period, 240, 2_000))
    seller_upos = book.uposFree(prosumers[0])

    tx = sell(book, prosumers[0], period, 180, 2_000)

    assert trades(tx) == [(maker, placed_id(tx), evs[0].address, prosumers[0].address, price(240), 2_000)]
    assert book.uposFree(prosumers[0]) == seller_upos + payment_base(2_000, price(240))
    assert book.energyFree(prosumers[0], period) == CREDIT_WH - 2_000
    assert book.energyFree(evs[0], period) == 2_000
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(2_000, price(240))


def test_taker_remainder_rests(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 200, 1_000)

    tx = buy(book, evs[0], period, 210, 3_000)

    taker = placed_id(tx)
    assert [t[-1] for t in trades(tx)] == [1_000]
    assert order_view(book, taker)["remainingWh"] == 2_000
    assert best_bid(book, period) == (price(210), 2_000)
    assert best_ask(book, period) == (0, 0)
    # locked: the resting 2,000 Wh at its own limit
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(1_000, price(200)) - payment_base(2_000, price(210))


def test_maker_partially_filled_keeps_its_place(book, traders, prosumers, evs, period):
    first = placed_id(sell(book, prosumers[0], period, 200, 3_000))
    second = placed_id(sell(book, prosumers[1], period, 200, 3_000))

    buy(book, evs[0], period, 200, 1_000)
    tx = buy(book, evs[1], period, 200, 2_500)

    assert [(t[0], t[-1]) for t in trades(tx)] == [(first, 2_000), (second, 500)]
    assert order_view(book, first)["status"] == OrderStatus.FILLED
    assert order_view(book, second)["remainingWh"] == 2_500
    assert best_ask(book, period) == (price(200), 2_500)


def test_price_time_priority_across_levels(book, traders, prosumers, evs, period):
    early_dear = placed_id(sell(book, prosumers[0], period, 205, 1_000))
    early_cheap = placed_id(sell(book, prosumers[1], period, 200, 1_000))
    late_cheap = placed_id(sell(book, prosumers[2], period, 200, 1_000))
    dearest = placed_id(sell(book, prosumers[0], period, 210, 1_000))

    tx = buy(book, evs[0], period, 205, 5_000)

    assert [(t[0], t[4]) for t in trades(tx)] == [
        (early_cheap, price(200)),
        (late_cheap, price(200)),
        (early_dear, price(205)),
    ]
    assert order_view(book, dearest)["status"] == OrderStatus.OPEN
    assert best_bid(book, period) == (price(205), 2_000)
    assert best_ask(book, period) == (price(210), 1_000)
    paid = payment_base(2_000, price(200)) + payment_base(1_000, price(205))
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - paid - payment_base(2_000, price(205))


def test_crossing_across_price_words(book, traders, prosumers, evs, period):
    """Bid and ask far apart on the grid (different 128-price bitmap words) still meet."""
    high_bid = placed_id(buy(book, evs[0], period, 900, 1_000))
    tx = sell(book, prosumers[0], period, 30, 1_000)
    assert trades(tx) == [(high_bid, placed_id(tx), evs[0].address, prosumers[0].address, price(900), 1_000)]

    low_ask = placed_id(sell(book, prosumers[1], period, 30, 1_000))
    sell(book, prosumers[1], period, 500, 1_000)  # an ask in the buyer's word, above its limit
    tx = buy(book, evs[1], period, 400, 1_000)
    assert trades(tx) == [(low_ask, placed_id(tx), evs[1].address, prosumers[1].address, price(30), 1_000)]
    assert best_ask(book, period) == (price(500), 1_000)


def test_non_crossing_orders_rest(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 201, 1_000)
    tx = buy(book, evs[0], period, 200, 1_000)
    assert "Trade" not in tx.events
    assert best_bid(book, period)[0] < best_ask(book, period)[0]


def test_books_of_periods_are_separate(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 200, 1_000)
    tx = buy(book, evs[0], period + 1, 250, 1_000)
    assert "Trade" not in tx.events
    assert best_ask(book, period) == (price(200), 1_000)


def test_self_trade_is_an_ordinary_trade(book, traders, prosumers, period):
    maker = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    upos_before = book.uposFree(prosumers[0])

    tx = buy(book, prosumers[0], period, 200, 1_000)

    assert trades(tx) == [(maker, placed_id(tx), prosumers[0].address, prosumers[0].address, price(200), 1_000)]
    assert book.uposFree(prosumers[0]) == upos_before
    assert book.energyFree(prosumers[0], period) == CREDIT_WH


# --- icebergs ------------------------------------------------------------------------------------


def test_iceberg_shows_only_its_peak(book, traders, prosumers, period):
    tx = sell(book, prosumers[0], period, 200, 10_000, 4_000)

    iceberg = placed_id(tx)
    assert tx.events["OrderPlaced"]["displayWh"] == 4_000
    view = order_view(book, iceberg)
    assert (view["remainingWh"], view["visibleWh"], view["peakWh"]) == (10_000, 4_000, 4_000)
    assert best_ask(book, period) == (price(200), 4_000)
    assert book.energyFree(prosumers[0], period) == CREDIT_WH - 10_000  # the hidden part is locked too


def test_tranche_refresh_goes_to_the_back(book, traders, prosumers, evs, period):
    iceberg = placed_id(sell(book, prosumers[0], period, 200, 10_000, 4_000))
    plain = placed_id(sell(book, prosumers[1], period, 200, 3_000))

    tx = buy(book, evs[0], period, 200, 4_000)

    assert [(t[0], t[-1]) for t in trades(tx)] == [(iceberg, 4_000)]
    refresh = tx.events["TrancheRefreshed"]
    assert (refresh["orderId"], refresh["visibleWh"], refresh["remainingWh"]) == (iceberg, 4_000, 6_000)
    assert best_ask(book, period) == (price(200), 7_000)

    tx = buy(book, evs[1], period, 200, 5_000)  # the plain order now comes first

    assert [(t[0], t[-1]) for t in trades(tx)] == [(plain, 3_000), (iceberg, 2_000)]
    view = order_view(book, iceberg)
    assert (view["remainingWh"], view["visibleWh"]) == (4_000, 2_000)


def test_refreshed_tranche_trades_again_in_the_same_order(book, traders, prosumers, evs, period):
    iceberg = placed_id(sell(book, prosumers[0], period, 200, 10_000, 4_000))

    tx = buy(book, evs[0], period, 200, 10_000)

    assert [(t[0], t[-1]) for t in trades(tx)] == [(iceberg, 4_000), (iceberg, 4_000), (iceberg, 2_000)]
    refreshes = [(e["visibleWh"], e["remainingWh"]) for e in tx.events["TrancheRefreshed"]]
    assert refreshes == [(4_000, 6_000), (2_000, 2_000)]
    assert order_view(book, iceberg)["status"] == OrderStatus.FILLED
    assert order_view(book, iceberg)["peakWh"] == 4_000
    assert best_ask(book, period) == (0, 0)
    assert book.energyFree(evs[0], period) == 10_000


def test_incoming_iceberg_matches_whole_and_rests_a_peak(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 200, 3_000)
    sell(book, prosumers[1], period, 200, 3_000)

    tx = buy(book, evs[0], period, 200, 10_000, 2_000)

    assert sum(t[-1] for t in trades(tx)) == 6_000
    view = order_view(book, placed_id(tx))
    assert (view["remainingWh"], view["visibleWh"], view["peakWh"]) == (4_000, 2_000, 2_000)
    assert best_bid(book, period) == (price(200), 2_000)


def test_iceberg_fully_taken_on_arrival_keeps_its_peak(book, traders, prosumers, evs, period):
    sell(book, prosumers[0], period, 200, 3_000)
    iceberg = placed_id(buy(book, evs[0], period, 200, 3_000, 1_000))
    view = order_view(book, iceberg)
    assert (view["status"], view["remainingWh"], view["peakWh"]) == (OrderStatus.FILLED, 0, 1_000)


# --- cancel --------------------------------------------------------------------------------------


def test_owner_cancels_and_is_refunded(book, traders, evs, period):
    order = placed_id(buy(book, evs[0], period, 190, 3_000))

    tx = book.cancelOrder(order, {"from": evs[0]})

    assert dict(tx.events["OrderCancelled"]) == {"orderId": order, "owner": evs[0], "refundedWh": 3_000}
    assert book.uposFree(evs[0]) == UPOS_DEPOSIT
    assert order_view(book, order)["status"] == OrderStatus.CANCELLED
    assert order_view(book, order)["remainingWh"] == 0
    assert best_bid(book, period) == (0, 0)


def test_cancel_refunds_hidden_iceberg_part(book, traders, prosumers, evs, period):
    iceberg = placed_id(sell(book, prosumers[0], period, 200, 10_000, 4_000))
    buy(book, evs[0], period, 200, 5_000)  # one tranche and 1,000 Wh of the next

    tx = book.cancelOrder(iceberg, {"from": prosumers[0]})

    assert tx.events["OrderCancelled"]["refundedWh"] == 5_000
    assert book.energyFree(prosumers[0], period) == CREDIT_WH - 5_000
    assert best_ask(book, period) == (0, 0)


def test_cancel_in_the_middle_of_a_level(book, traders, prosumers, evs, period):
    first = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    middle = placed_id(sell(book, prosumers[1], period, 200, 1_000))
    last = placed_id(sell(book, prosumers[2], period, 200, 1_000))

    book.cancelOrder(middle, {"from": prosumers[1]})
    assert best_ask(book, period) == (price(200), 2_000)
    tx = buy(book, evs[0], period, 200, 2_000)

    assert [t[0] for t in trades(tx)] == [first, last]


def test_cancel_rules(book, traders, prosumers, evs, period):
    order = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    with brownie.reverts(custom_error("NotOrderOwner(uint256,address)", order, prosumers[1])):
        book.cancelOrder(order, {"from": prosumers[1]})
    with brownie.reverts(custom_error("UnknownOrder(uint256)", 99)):
        book.cancelOrder(99, {"from": prosumers[0]})

    book.cancelOrder(order, {"from": prosumers[0]})
    with brownie.reverts(custom_error("OrderNotOpen(uint256)", order)):
        book.cancelOrder(order, {"from": prosumers[0]})
    assert book.energyFree(prosumers[0], period) == CREDIT_WH


def test_filled_orders_cannot_be_cancelled(book, traders, prosumers, evs, period):
    maker = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    taker = placed_id(buy(book, evs[0], period, 200, 1_000))
    for order, owner in ((maker, prosumers[0]), (taker, evs[0])):
        with brownie.reverts(custom_error("OrderNotOpen(uint256)", order)):
            book.cancelOrder(order, {"from": owner})


def test_partially_filled_buy_refunds_its_remainder(book, traders, prosumers, evs, period):
    order = placed_id(buy(book, evs[0], period, 220, 3_000))
    sell(book, prosumers[0], period, 200, 1_000)  # trades at the bid: 220

    book.cancelOrder(order, {"from": evs[0]})

    assert book.uposFree(evs[0]) == UPOS_DEPOSIT - payment_base(1_000, price(220))
    assert book.energyFree(evs[0], period) == 1_000


def test_cancelled_order_never_trades(book, traders, prosumers, evs, period):
    order = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    book.cancelOrder(order, {"from": prosumers[0]})

    tx = buy(book, evs[0], period, 250, 1_000)

    assert "Trade" not in tx.events
    assert order_view(book, order)["status"] == OrderStatus.CANCELLED


def test_level_reopens_after_emptying(book, traders, prosumers, evs, period):
    gone = placed_id(sell(book, prosumers[0], period, 200, 1_000))
    buy(book, evs[0], period, 200, 1_000)
    fresh = placed_id(sell(book, prosumers[1], period, 200, 2_000))

    assert order_view(book, gone)["status"] == OrderStatus.FILLED
    assert order_view(book, fresh)["remainingWh"] == 2_000
    assert best_ask(book, period) == (price(200), 2_000)
