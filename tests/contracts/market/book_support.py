"""Constants and helpers shared by the EnergyOrderBook tests (imported by this unique module name:
every test folder has a conftest.py of its own)."""

from __future__ import annotations


TICK = 10**15  #: price grid step: 0.001 UPOS per kWh, in UPOS base units per kWh
MIN_PRICE = TICK
MAX_PRICE = 1_000 * TICK  #: 1 UPOS per kWh
PERIOD_SECONDS = 3_600
GATE_LEAD_SECONDS = 900
MAX_PERIODS_AHEAD = 24
IMPORT_PRICE = 300 * TICK  #: grid import tariff, 0.30 UPOS per kWh
EXPORT_PRICE = 50 * TICK  #: grid feed-in tariff, 0.05 UPOS per kWh
MIN_ORDER_WH = 1  #: the test book takes any order (tests/contracts/market/test_book_attacks.py sets minimums)
MIN_DISPLAY_WH = 1

UPOS_DEPOSIT = 1_000 * 10**18  #: UPOS base units each trader keeps in the book
CREDIT_WH = 100_000  #: Wh attested to (and deposited by) each prosumer per credited period


def price(milli_upos_per_kwh: int) -> int:
    """A grid price given in thousandths of a UPOS per kWh (ticks), in UPOS base units per kWh."""
    return milli_upos_per_kwh * TICK


def book_params(genesis_time: int, **overrides) -> tuple:
    """The constructor's BookParams tuple, test defaults with `overrides` by field name."""
    fields = dict(
        tickSize=TICK,
        minPrice=MIN_PRICE,
        maxPrice=MAX_PRICE,
        genesisTime=genesis_time,
        periodSeconds=PERIOD_SECONDS,
        gateLeadSeconds=GATE_LEAD_SECONDS,
        maxPeriodsAhead=MAX_PERIODS_AHEAD,
        importPrice=IMPORT_PRICE,
        exportPrice=EXPORT_PRICE,
        minOrderWh=MIN_ORDER_WH,
        minDisplayWh=MIN_DISPLAY_WH,
    )
    fields.update(overrides)
    return tuple(fields.values())


def placed_id(tx) -> int:
    """The id of the order a placeOrder transaction created."""
    return tx.events["OrderPlaced"]["orderId"]


def trades(tx) -> list[tuple]:
    """(makerOrderId, takerOrderId, buyer, seller, price, quantityWh) of every Trade event, in order."""
    if "Trade" not in tx.events:
        return []
    return [
        (e["makerOrderId"], e["takerOrderId"], e["buyer"], e["seller"], e["price"], e["quantityWh"])
        for e in tx.events["Trade"]
    ]


def sell(book, seller, period: int, milli: int, wh: int, display_wh: int | None = None):
    """Places a sell order at `milli` thousandths of a UPOS per kWh (an iceberg showing `display_wh`, a plain
    order showing all `wh` if None); returns the transaction."""
    return book.placeOrder(period, False, price(milli), wh, wh if display_wh is None else display_wh, {"from": seller})


def buy(book, buyer, period: int, milli: int, wh: int, display_wh: int | None = None):
    """Places a buy order at `milli` thousandths of a UPOS per kWh (display as in {sell}); returns the
    transaction."""
    return book.placeOrder(period, True, price(milli), wh, wh if display_wh is None else display_wh, {"from": buyer})


def order_view(book, order_id: int) -> dict:
    """getOrder as a dict keyed by the return names."""
    keys = ("owner", "period", "isBuy", "price", "remainingWh", "visibleWh", "peakWh", "status")
    return dict(zip(keys, book.getOrder(order_id)))


def best_bid(book, period: int) -> tuple[int, int]:
    """(price, visible Wh) of the best bid; (0, 0) if none. A plain tuple: brownie's ReturnValue does
    not compare equal to tuples of ints."""
    return tuple(book.bestBid(period))


def best_ask(book, period: int) -> tuple[int, int]:
    """(price, visible Wh) of the best ask; (0, 0) if none."""
    return tuple(book.bestAsk(period))
