"""placeOrderWithOptions: post-only (a maker-only order is refused rather than trade), immediate-or-cancel (the
part that does not trade now is cancelled and refunded instead of resting) and a placement deadline."""

import brownie
from book_support import UPOS_DEPOSIT, order_view, placed_id, price, sell
from contract_helpers import custom_error

from offchain.market import OrderStatus
from offchain.units import payment_base

POST_ONLY, IMMEDIATE_OR_CANCEL = 1, 2


def place(book, account, period, is_buy, milli, wh, flags, deadline=0, display=None):
    """placeOrderWithOptions; a plain order (display = wh) unless `display` is given."""
    shown = wh if display is None else display
    return book.placeOrderWithOptions(period, is_buy, price(milli), wh, shown, flags, deadline, {"from": account})


def test_flag_values(book):
    assert (book.POST_ONLY(), book.IMMEDIATE_OR_CANCEL()) == (POST_ONLY, IMMEDIATE_OR_CANCEL)


def test_post_only_rests_or_is_refused(book, traders, sellers, buyers, period):
    sell(book, sellers[0], period, 200, 1_000)
    with brownie.reverts(custom_error("OrderWouldTrade(uint256,uint256)", period, price(200))):
        place(book, buyers[0], period, True, 200, 500, POST_ONLY)
    resting = placed_id(place(book, buyers[0], period, True, 199, 500, POST_ONLY))
    assert order_view(book, resting)["status"] == OrderStatus.OPEN
    assert tuple(book.bestBid(period)) == (price(199), 500)


def test_immediate_or_cancel_trades_what_crosses_and_refunds_the_rest(book, traders, sellers, buyers, period):
    sell(book, sellers[0], period, 200, 300)
    tx = place(book, buyers[0], period, True, 210, 1_000, IMMEDIATE_OR_CANCEL)
    order_id = placed_id(tx)
    assert tx.events["Trade"]["quantityWh"] == 300
    assert dict(tx.events["OrderCancelled"]) == {"orderId": order_id, "owner": buyers[0], "refundedWh": 700}
    assert order_view(book, order_id)["status"] == OrderStatus.CANCELLED
    assert tuple(book.bestBid(period)) == (0, 0)
    assert book.uposFree(buyers[0]) == UPOS_DEPOSIT - payment_base(300, price(200))


def test_deadline_and_flags_are_checked(book, traders, buyers, period):
    now = brownie.chain.time()
    with brownie.reverts():  # DeadlinePassed(deadline, block time): the block time is the chain's
        place(book, buyers[0], period, True, 190, 500, 0, deadline=now - 100)
    assert placed_id(place(book, buyers[0], period, True, 190, 500, 0, deadline=now + 3_600))
    with brownie.reverts(custom_error("InvalidOrderFlags(uint256)", 3)):
        place(book, buyers[0], period, True, 190, 500, POST_ONLY | IMMEDIATE_OR_CANCEL)
