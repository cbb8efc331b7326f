"""EnergyOrderBook construction, parameters, time, grid tariffs and role checks."""

import brownie
import pytest
from contract_helpers import INVALID_TIMING, UNAUTHORIZED, custom_error
from book_support import (
    EXPORT_PRICE,
    GATE_LEAD_SECONDS,
    IMPORT_PRICE,
    MAX_PERIODS_AHEAD,
    MAX_PRICE,
    MIN_PRICE,
    PERIOD_SECONDS,
    TICK,
    book_params,
    price,
)
from brownie import chain

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id

INVALID_GRID = "InvalidPriceGrid(uint256,uint256,uint256)"


@pytest.fixture(scope="module")
def genesis():
    return (chain.time() // PERIOD_SECONDS - 5) * PERIOD_SECONDS


def test_parameters_and_tokens(book, registry, upos, credit):
    assert (book.registry(), book.upos(), book.credit()) == (registry.address, upos.address, credit.address)
    assert (book.tickSize(), book.minPrice(), book.maxPrice()) == (TICK, MIN_PRICE, MAX_PRICE)
    assert (book.periodSeconds(), book.gateLeadSeconds(), book.maxPeriodsAhead()) == (
        PERIOD_SECONDS,
        GATE_LEAD_SECONDS,
        MAX_PERIODS_AHEAD,
    )
    assert tuple(book.gridTariffs(0)) == tuple(book.gridTariffs(2**256 - 1)) == (IMPORT_PRICE, EXPORT_PRICE)
    assert tuple(book.orderMinimums()) == (1, 1)
    assert book.nextOrderId() == 1
    assert book.MAX_QUANTITY_WH() == 2**48 - 1


def test_constructor_announces_tariffs(book):
    event = book.tx.events["GridTariffsSet"]
    assert (event["importPrice"], event["exportPrice"], event["fromPeriod"]) == (IMPORT_PRICE, EXPORT_PRICE, 0)


def test_period_clock(book):
    genesis = book.genesisTime()
    now = chain.time()
    assert book.currentPeriod() == (chain[-1].timestamp - genesis) // PERIOD_SECONDS
    assert book.gateClosure(7) == genesis + 7 * PERIOD_SECONDS - GATE_LEAD_SECONDS
    assert genesis <= now


def test_receives_erc1155_by_interface(book):
    assert book.supportsInterface("0x4e2312e0")  # IERC1155Receiver
    assert book.supportsInterface("0x01ffc9a7")  # IERC165


@pytest.mark.parametrize(
    "tick,low,high",
    [
        (0, TICK, MAX_PRICE),  # no grid step
        (1_500, 3_000, 30_000),  # step not a multiple of 1000 Wh/kWh
        (TICK, TICK // 2, MAX_PRICE),  # lowest price below one step
        (TICK, TICK + 1_000, MAX_PRICE),  # lowest price off the grid
        (TICK, 5 * TICK, 4 * TICK),  # empty range
        (TICK, TICK, MAX_PRICE + 1_000),  # highest price off the grid
        (TICK, TICK, TICK + 16_384 * TICK),  # 16,385 grid prices: one too many
        (2**128, 2**128, 2**129),  # prices beyond 2^128
    ],
)
def test_rejects_invalid_price_grid(EnergyOrderBook, registry, upos, credit, admin, genesis, tick, low, high):
    params = book_params(genesis, tickSize=tick, minPrice=low, maxPrice=high)
    with brownie.reverts(custom_error(INVALID_GRID, tick, low, high)):
        EnergyOrderBook.deploy(registry, upos, credit, params, {"from": admin})


def test_accepts_largest_price_grid(EnergyOrderBook, registry, upos, credit, admin, genesis):
    params = book_params(genesis, maxPrice=TICK + 16_383 * TICK, importPrice=TICK, exportPrice=TICK)
    deployed = EnergyOrderBook.deploy(registry, upos, credit, params, {"from": admin})
    assert deployed.maxPrice() == 16_384 * TICK


@pytest.mark.parametrize(
    "period_s,lead_s,genesis_shift,ahead",
    [
        (0, 0, 0, 1),  # no period length
        (900, 900, 0, 1),  # gate lead of a whole period
        (PERIOD_SECONDS, GATE_LEAD_SECONDS, 10 * PERIOD_SECONDS, 1),  # genesis in the future
        (PERIOD_SECONDS, GATE_LEAD_SECONDS, 0, 2**32),  # periods would not fit 32 bits
    ],
)
def test_rejects_invalid_timing(
    EnergyOrderBook, registry, upos, credit, admin, genesis, period_s, lead_s, genesis_shift, ahead
):
    start = genesis + genesis_shift
    params = book_params(start, periodSeconds=period_s, gateLeadSeconds=lead_s, maxPeriodsAhead=ahead)
    with brownie.reverts(custom_error(INVALID_TIMING, start, period_s, lead_s, ahead)):
        EnergyOrderBook.deploy(registry, upos, credit, params, {"from": admin})


def test_rejects_genesis_before_gate_lead(EnergyOrderBook, registry, upos, credit, admin):
    params = book_params(GATE_LEAD_SECONDS - 1)
    with brownie.reverts(
        custom_error(INVALID_TIMING, GATE_LEAD_SECONDS - 1, PERIOD_SECONDS, GATE_LEAD_SECONDS, MAX_PERIODS_AHEAD)
    ):
        EnergyOrderBook.deploy(registry, upos, credit, params, {"from": admin})


def test_rejects_zero_token(EnergyOrderBook, registry, upos, admin, genesis):
    with brownie.reverts(custom_error("ZeroAddress()")):
        EnergyOrderBook.deploy(registry, upos, ZERO_ADDRESS, book_params(genesis), {"from": admin})


def test_rejects_zero_registry(EnergyOrderBook, upos, credit, admin, genesis):
    with brownie.reverts(custom_error("ZeroAddress()")):
        EnergyOrderBook.deploy(ZERO_ADDRESS, upos, credit, book_params(genesis), {"from": admin})


def test_rejects_tariff_off_grid(EnergyOrderBook, registry, upos, credit, admin, genesis):
    with brownie.reverts(custom_error("PriceOffGrid(uint256)", IMPORT_PRICE + 1_000)):
        EnergyOrderBook.deploy(
            registry, upos, credit, book_params(genesis, importPrice=IMPORT_PRICE + 1_000), {"from": admin}
        )


# --- grid tariffs --------------------------------------------------------------------------------


def test_operator_sets_tariffs_of_periods_not_open_yet(book, operator):
    first = book.currentPeriod() + MAX_PERIODS_AHEAD + 1
    tx = book.setGridTariffs(price(280), price(40), {"from": operator})

    assert tuple(book.gridTariffs(first - 1)) == (IMPORT_PRICE, EXPORT_PRICE)  # the last open period keeps its own
    assert tuple(book.gridTariffs(first)) == tuple(book.gridTariffs(first + 1_000)) == (price(280), price(40))
    event = tx.events["GridTariffsSet"]
    assert (event["importPrice"], event["exportPrice"], event["fromPeriod"]) == (price(280), price(40), first)
    book.setGridTariffs(price(270), price(30), {"from": operator})  # same first period: replaced
    assert tuple(book.gridTariffs(first)) == (price(270), price(30))


def test_tariffs_need_operator(book, prosumers, outsider):
    for caller in (prosumers[0], outsider):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
            book.setGridTariffs(price(280), price(40), {"from": caller})
    assert tuple(book.gridTariffs(2**64)) == (IMPORT_PRICE, EXPORT_PRICE)


@pytest.mark.parametrize(
    "import_price,export_price,error,bad",
    [
        (price(280) + 1_000, price(40), "PriceOffGrid(uint256)", price(280) + 1_000),
        (price(280), price(40) + 7_000, "PriceOffGrid(uint256)", price(40) + 7_000),
        (MAX_PRICE + TICK, price(40), "PriceOutOfRange(uint256)", MAX_PRICE + TICK),
        (price(280), 0, "PriceOutOfRange(uint256)", 0),
    ],
)
def test_tariffs_must_be_grid_prices(book, operator, import_price, export_price, error, bad):
    with brownie.reverts(custom_error(error, bad)):
        book.setGridTariffs(import_price, export_price, {"from": operator})
    assert tuple(book.gridTariffs(2**64)) == (IMPORT_PRICE, EXPORT_PRICE)


def test_export_tariff_may_not_exceed_import(book, operator):
    with brownie.reverts(custom_error("InvalidGridTariffs(uint256,uint256)", price(40), price(41))):
        book.setGridTariffs(price(40), price(41), {"from": operator})
    book.setGridTariffs(price(40), price(40), {"from": operator})


@pytest.mark.parametrize("minimums", [(0, 1), (1, 0), (2**48, 1), (1, 2**48)])
def test_order_minimums_must_be_positive_and_storable(EnergyOrderBook, registry, upos, credit, admin, book, genesis,
                                                       minimums):
    with brownie.reverts(custom_error("InvalidOrderMinimums(uint256,uint256)", *minimums)):
        book.setOrderMinimums(*minimums, {"from": admin})
    with brownie.reverts(custom_error("InvalidOrderMinimums(uint256,uint256)", *minimums)):
        EnergyOrderBook.deploy(registry, upos, credit, book_params(genesis, minOrderWh=minimums[0],
                                                                   minDisplayWh=minimums[1]), {"from": admin})


def test_admin_sets_order_minimums(book, admin):
    tx = book.setOrderMinimums(250, 80, {"from": admin})
    assert tuple(book.orderMinimums()) == (250, 80)
    assert dict(tx.events["OrderMinimumsSet"]) == {"minOrderWh": 250, "minDisplayWh": 80}


def test_grid_fill_needs_operator(book, prosumers, outsider):
    for caller in (prosumers[0], outsider):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
            book.gridFill([], {"from": caller})
