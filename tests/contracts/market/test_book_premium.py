"""Seed 002's purchase premium in EnergyOrderBook, written as attacks: a buyer in a penalised hour cannot buy
without paying the multiplier (book order as taker or maker, IOC, grid fallback), the premium goes only to the
recipient, refunds (cancel, IOC remainder, expiry) are exact, and a vector published after an order cannot change
what that order pays (the multiplier is fixed at placement). The premium source is the real PenaltySchedule."""

import brownie
import pytest
from book_support import CREDIT_WH, PERIOD_SECONDS, UPOS_DEPOSIT, book_params, buy, placed_id, price, sell
from brownie import ZERO_ADDRESS, chain, web3
from contract_helpers import UNAUTHORIZED, custom_error

from offchain.chain.roles import role_id

HOURS = 24
P = HOURS + 1  #: day 1, hour 1: penalised x1.5 once the vector is published
VECTOR = [10_000] * HOURS
VECTOR[1] = 15_000


@pytest.fixture(scope="module")
def setup(EnergyOrderBook, PenaltySchedule, registry, upos, credit, admin, meter, scorer, prosumers, evs,
          operator, outsider):
    """A book of hourly periods in period 20 of day 0 (orders open 24 periods ahead), a PenaltySchedule on
    the same calendar paying `outsider`, set as the book's premium source; traders funded."""
    genesis = chain.time() - 20 * PERIOD_SECONDS - 5
    book = EnergyOrderBook.deploy(registry, upos, credit, book_params(genesis), {"from": admin})
    registry.grantRole(role_id("MARKET"), book, {"from": admin})
    registry.grantRole(role_id("PAR_CONTROL"), scorer, {"from": admin})
    schedule = PenaltySchedule.deploy(registry, operator, genesis, PERIOD_SECONDS, PERIOD_SECONDS, 600,
                                      {"from": admin})
    schedule.setPremiumRecipient(outsider, {"from": admin})
    book.setPremiumSource(schedule, {"from": admin})
    for account in [*prosumers, *evs, operator]:
        upos.mint(account, UPOS_DEPOSIT, {"from": admin})
        upos.approve(book, 2**256 - 1, {"from": account})
        credit.setApprovalForAll(book, True, {"from": account})
        book.depositUpos(UPOS_DEPOSIT, {"from": account})
    for prosumer in prosumers:
        credit.attestSurplus(prosumer, P, CREDIT_WH, {"from": meter})
        book.depositEnergy(P, CREDIT_WH, {"from": prosumer})
    return book, schedule


@pytest.fixture
def book(setup):
    return setup[0]


@pytest.fixture
def penalised(setup, scorer):
    """Publishes day 1's vector (hour 1 at x1.5); returns the schedule."""
    schedule = setup[1]
    schedule.publish(1, VECTOR, 8_000, {"from": scorer})
    return schedule


def premium(wh: int, milli: int, bps: int = 15_000) -> int:
    """The premium of `wh` Wh at `milli` thousandths of a UPOS per kWh: the premium price rounded down to
    whole base units per Wh, times the quantity."""
    premium_price = price(milli) * (bps - 10_000) // 10_000 // 1_000 * 1_000
    return wh * premium_price // 1_000


def pay(wh: int, milli: int) -> int:
    """The payment for `wh` Wh at `milli` thousandths of a UPOS per kWh."""
    return wh * price(milli) // 1_000


def assert_holdings(book, upos, accounts):
    """The book holds exactly what its accounts have free plus what their open orders lock."""
    end = book.nextOrderId()
    held = sum(book.uposFree(a) + sum(book.lockedOf(a, p, 1, end)[0] for p in (P, P + 1)) for a in accounts)
    assert upos.balanceOf(book) == held


def test_penalised_buy_locks_premium_at_placement(book, penalised, evs):
    before = book.uposFree(evs[0])
    tx = buy(book, evs[0], P, 200, 1_000)
    order_id = placed_id(tx)
    assert tx.events["PremiumFixed"]["multiplierBps"] == 15_000
    assert book.premiumBpsOf(order_id) == 15_000
    assert before - book.uposFree(evs[0]) == pay(1_000, 200) + premium(1_000, 200)
    assert book.lockedOf(evs[0], P, 1, book.nextOrderId())[0] == pay(1_000, 200) + premium(1_000, 200)


def test_unpenalised_hour_pays_no_premium(book, penalised, evs, outsider):
    tx = buy(book, evs[0], P + 1, 200, 1_000)  # hour 2 of day 1 is x1.0 in the published vector
    assert "PremiumFixed" not in tx.events
    assert book.premiumBpsOf(placed_id(tx)) == 10_000
    assert book.uposFree(outsider) == 0


def test_taker_buy_pays_premium_on_trade_price_to_recipient_only(book, penalised, evs, prosumers, operator,
                                                                  outsider, upos):
    seller, buyer = prosumers[0], evs[0]
    sell(book, seller, P, 150, 1_000)
    seller_before, buyer_before, operator_before = (book.uposFree(a) for a in (seller, buyer, operator))
    tx = buy(book, buyer, P, 200, 1_000)
    assert tx.events["PremiumPaid"]["recipient"] == outsider
    assert tx.events["PremiumPaid"]["amount"] == premium(1_000, 150)
    assert book.uposFree(outsider) == premium(1_000, 150)
    assert book.uposFree(seller) - seller_before == pay(1_000, 150)  # the maker gets the price, no premium
    assert buyer_before - book.uposFree(buyer) == pay(1_000, 150) + premium(1_000, 150)
    assert book.uposFree(operator) == operator_before
    assert book.energyFree(buyer, P) == 1_000
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_resting_buy_pays_premium_when_a_seller_takes_it(book, penalised, evs, prosumers, operator, outsider,
                                                         upos):
    seller, buyer = prosumers[0], evs[0]
    buyer_before = book.uposFree(buyer)
    buy(book, buyer, P, 200, 2_000, 500)  # an iceberg: every tranche pays
    seller_before = book.uposFree(seller)
    tx = sell(book, seller, P, 100, 1_700)
    assert tx.events["PremiumPaid"]["amount"] == premium(1_700, 200)
    assert book.uposFree(seller) - seller_before == pay(1_700, 200)
    assert book.uposFree(outsider) == premium(1_700, 200)
    assert buyer_before - book.uposFree(buyer) == pay(2_000, 200) + premium(2_000, 200)  # 300 Wh still locked
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_cancel_refunds_the_remainder_with_its_premium_exactly(book, penalised, evs, prosumers, operator, outsider,
                                                               upos):
    seller, buyer = prosumers[0], evs[0]
    buyer_before = book.uposFree(buyer)
    order_id = placed_id(buy(book, buyer, P, 203, 1_001))
    sell(book, seller, P, 203, 333)
    tx = book.cancelOrder(order_id, {"from": buyer})
    assert tx.events["OrderCancelled"]["refundedWh"] == 668
    assert buyer_before - book.uposFree(buyer) == pay(333, 203) + premium(333, 203)
    assert book.uposFree(outsider) == premium(333, 203)
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_immediate_or_cancel_refunds_its_remainder_with_its_premium(book, penalised, evs, prosumers, operator,
                                                                     outsider, upos):
    seller, buyer = prosumers[0], evs[0]
    sell(book, seller, P, 150, 400)
    buyer_before = book.uposFree(buyer)
    book.placeOrderWithOptions(P, True, price(200), 1_000, 1_000, book.IMMEDIATE_OR_CANCEL(), 0, {"from": buyer})
    assert buyer_before - book.uposFree(buyer) == pay(400, 150) + premium(400, 150)
    assert book.uposFree(outsider) == premium(400, 150)
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_expiry_refunds_the_whole_premium(book, penalised, evs, prosumers, operator, outsider, upos):
    buyer = evs[0]
    buyer_before = book.uposFree(buyer)
    order_id = placed_id(buy(book, buyer, P, 200, 1_000))
    chain.sleep(book.gateClosure(P) + PERIOD_SECONDS - chain.time() + 1)
    chain.mine()
    book.expireOrders([order_id], {"from": prosumers[1]})
    assert book.uposFree(buyer) == buyer_before
    assert book.uposFree(outsider) == 0
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_grid_fallback_pays_the_premium_on_the_tariff(book, penalised, evs, prosumers, operator, outsider, upos):
    buyer = evs[0]
    import_price, _ = book.gridTariffs(P)
    import_milli = import_price // price(1)
    buyer_before, operator_before = book.uposFree(buyer), book.uposFree(operator)
    order_id = placed_id(buy(book, buyer, P, 400, 1_000))
    chain.sleep(book.gateClosure(P) - chain.time() + 1)
    chain.mine()
    tx = book.gridFill([order_id], {"from": operator})
    assert tx.events["PremiumPaid"]["amount"] == premium(1_000, import_milli)
    assert book.uposFree(operator) - operator_before == pay(1_000, import_milli)
    assert book.uposFree(outsider) == premium(1_000, import_milli)
    assert buyer_before - book.uposFree(buyer) == pay(1_000, import_milli) + premium(1_000, import_milli)
    assert book.gridSuppliedWh(buyer, P) == 1_000
    assert_holdings(book, upos, [*prosumers, *evs, operator, outsider])


def test_vector_published_after_an_order_does_not_change_what_it_pays(book, setup, scorer, evs, prosumers,
                                                                      outsider):
    early = placed_id(buy(book, evs[0], P, 200, 1_000))  # day 1 has no vector yet: x1.0, fixed
    setup[1].publish(1, VECTOR, 8_000, {"from": scorer})
    late = placed_id(buy(book, evs[1], P, 200, 1_000))
    assert (book.premiumBpsOf(early), book.premiumBpsOf(late)) == (10_000, 15_000)
    tx = sell(book, prosumers[0], P, 200, 2_000)
    assert [e["amount"] for e in tx.events["PremiumPaid"]] == [premium(1_000, 200)]  # only the late order's
    assert book.uposFree(outsider) == premium(1_000, 200)


def test_recipient_change_redirects_later_premiums_only(book, penalised, admin, evs, prosumers, operator,
                                                         outsider):
    buy(book, evs[0], P, 200, 2_000)
    sell(book, prosumers[0], P, 200, 1_000)
    penalised.setPremiumRecipient(operator, {"from": admin})
    operator_before = book.uposFree(operator)
    sell(book, prosumers[1], P, 200, 1_000)
    assert book.uposFree(outsider) == premium(1_000, 200)
    assert book.uposFree(operator) - operator_before == premium(1_000, 200)


def test_recipient_withdraws_premiums(book, penalised, evs, prosumers, outsider, upos):
    buy(book, evs[0], P, 200, 1_000)
    sell(book, prosumers[0], P, 200, 1_000)
    book.withdrawUpos(premium(1_000, 200), {"from": outsider})
    assert upos.balanceOf(outsider) == premium(1_000, 200)


def test_premium_source_is_set_once_by_admin(book, setup, admin, outsider):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider.address, role_id("ADMIN"))):
        book.setPremiumSource(outsider, {"from": outsider})
    with brownie.reverts(custom_error("ZeroAddress()")):
        book.setPremiumSource(ZERO_ADDRESS, {"from": admin})
    with brownie.reverts(custom_error("PremiumSourceAlreadySet(address)", setup[1].address)):
        book.setPremiumSource(outsider, {"from": admin})
    assert book.premiumSource() == setup[1]


def test_source_set_by_admin_on_a_plain_book(EnergyOrderBook, registry, upos, credit, admin, setup):
    genesis = web3.eth.get_block("latest").timestamp - PERIOD_SECONDS
    plain = EnergyOrderBook.deploy(registry, upos, credit, book_params(genesis), {"from": admin})
    assert plain.premiumSource() == ZERO_ADDRESS
    tx = plain.setPremiumSource(setup[1], {"from": admin})
    assert tx.events["PremiumSourceSet"]["source"] == setup[1]
    assert plain.premiumSource() == setup[1]
