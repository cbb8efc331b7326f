"""Constants and helpers of the AdBEV contract tests (imported by this unique module name)."""

from __future__ import annotations

from offchain.mechanisms.adbev.terms import pence

UPOS_DEPOSIT = 1_000 * 10**18  #: UPOS base units each trader keeps in the book
CREDIT_WH = 50_000  #: Wh of the open period each prosumer holds in the book


def order(book, account, period: int, is_buy: bool, price_pence: float, wh: int, display_wh: int | None = None):
    """Places an order at `price_pence` p/kWh (plain unless `display_wh` is given); returns the transaction."""
    shown = wh if display_wh is None else display_wh
    return book.placeOrder(period, is_buy, pence(price_pence), wh, shown, {"from": account})
