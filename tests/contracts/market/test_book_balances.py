"""EnergyOrderBook internal balances: UPOS and energy credits in and out, who may deposit, and the
refusal of credits sent around depositEnergy."""

import brownie
import pytest
from contract_helpers import INSUFFICIENT_BALANCE, custom_error
from book_support import CREDIT_WH, UPOS_DEPOSIT, price

from offchain.units import payment_base



@pytest.fixture(scope="module")
def wallet_credit(traders, credit, prosumers, period):
    """Wh of `period` still in each prosumer's wallet (attested twice what the fixture deposited)."""
    return credit.balanceOf(prosumers[0], period)


def test_deposit_upos(book, upos, traders, evs):
    before_wallet, before_book = upos.balanceOf(evs[0]), upos.balanceOf(book)

    tx = book.depositUpos(5 * 10**18, {"from": evs[0]})

    assert book.uposFree(evs[0]) == UPOS_DEPOSIT + 5 * 10**18
    assert upos.balanceOf(evs[0]) == before_wallet - 5 * 10**18
    assert upos.balanceOf(book) == before_book + 5 * 10**18
    event = tx.events["Deposited"]
    assert (event["account"], event["amount"]) == (evs[0].address, 5 * 10**18)


def test_withdraw_upos(book, upos, traders, evs):
    before_wallet = upos.balanceOf(evs[0])

    tx = book.withdrawUpos(UPOS_DEPOSIT, {"from": evs[0]})

    assert book.uposFree(evs[0]) == 0
    assert upos.balanceOf(evs[0]) == before_wallet + UPOS_DEPOSIT
    event = tx.events["Withdrawn"]
    assert (event["account"], event["amount"]) == (evs[0].address, UPOS_DEPOSIT)


def test_operator_trades_without_registration(book, registry, traders, operator):
    assert registry.participant(operator)[0] == 0  # Kind.None: not a participant
    book.depositUpos(10**18, {"from": operator})
    assert book.uposFree(operator) == UPOS_DEPOSIT + 10**18


def test_unregistered_cannot_deposit(book, upos, credit, admin, traders, outsider, period):
    upos.mint(outsider, 10**18, {"from": admin})
    upos.approve(book, 10**18, {"from": outsider})
    with brownie.reverts(custom_error("ParticipantNotRegistered(address)", outsider)):
        book.depositUpos(10**18, {"from": outsider})
    with brownie.reverts(custom_error("ParticipantNotRegistered(address)", outsider)):
        book.depositEnergy(period, 1, {"from": outsider})
    assert book.uposFree(outsider) == 0


def test_inactive_cannot_deposit_but_can_withdraw(book, registry, upos, traders, operator, evs):
    registry.setActive(evs[0], False, {"from": operator})
    with brownie.reverts(custom_error("ParticipantInactive(address)", evs[0])):
        book.depositUpos(10**18, {"from": evs[0]})

    book.withdrawUpos(UPOS_DEPOSIT, {"from": evs[0]})
    assert book.uposFree(evs[0]) == 0


def test_zero_amounts_rejected(book, traders, prosumers, period):
    for call, args in (
        (book.depositUpos, (0,)),
        (book.withdrawUpos, (0,)),
        (book.depositEnergy, (period, 0)),
        (book.withdrawEnergy, (period, 0)),
    ):
        with brownie.reverts(custom_error("ZeroAmount()")):
            call(*args, {"from": prosumers[0]})


def test_withdraw_more_than_free_upos(book, traders, evs, period):
    book.placeOrder(period, True, price(200), 10_000, 10_000, {"from": evs[0]})  # locks 2 UPOS
    free = UPOS_DEPOSIT - payment_base(10_000, price(200))
    assert book.uposFree(evs[0]) == free

    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, evs[0], free, free + 1)):
        book.withdrawUpos(free + 1, {"from": evs[0]})
    assert book.uposFree(evs[0]) == free


def test_deposit_and_withdraw_energy(book, credit, traders, prosumers, period, wallet_credit):
    tx = book.depositEnergy(period, 1_500, {"from": prosumers[0]})

    assert book.energyFree(prosumers[0], period) == CREDIT_WH + 1_500
    assert credit.balanceOf(prosumers[0], period) == wallet_credit - 1_500
    event = tx.events["EnergyDeposited"]
    assert (event["account"], event["period"], event["wh"]) == (prosumers[0].address, period, 1_500)

    tx = book.withdrawEnergy(period, CREDIT_WH, {"from": prosumers[0]})

    assert book.energyFree(prosumers[0], period) == 1_500
    assert credit.balanceOf(prosumers[0], period) == wallet_credit - 1_500 + CREDIT_WH
    event = tx.events["EnergyWithdrawn"]
    assert (event["account"], event["period"], event["wh"]) == (prosumers[0].address, period, CREDIT_WH)


def test_energy_balances_are_per_period(book, traders, prosumers, period):
    book.withdrawEnergy(period, CREDIT_WH, {"from": prosumers[0]})
    assert book.energyFree(prosumers[0], period) == 0
    assert book.energyFree(prosumers[0], period + 1) == CREDIT_WH


def test_withdraw_more_than_free_energy(book, traders, prosumers, period):
    book.placeOrder(period, False, price(200), 40_000, 40_000, {"from": prosumers[0]})
    free = CREDIT_WH - 40_000
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, prosumers[0], free, free + 1)):
        book.withdrawEnergy(period, free + 1, {"from": prosumers[0]})


def test_energy_withdrawal_needs_an_allowed_recipient(book, registry, traders, operator, prosumers, period):
    registry.setActive(prosumers[0], False, {"from": operator})
    with brownie.reverts(custom_error("CreditRecipientNotAllowed(address)", prosumers[0])):
        book.withdrawEnergy(period, 1, {"from": prosumers[0]})
    assert book.energyFree(prosumers[0], period) == CREDIT_WH


def test_credits_sent_directly_are_refused(book, credit, traders, prosumers, period):
    with brownie.reverts(custom_error("UnexpectedCreditTransfer(address)", prosumers[0])):
        credit.safeTransferFrom(prosumers[0], book, period, 1, "", {"from": prosumers[0]})
    with brownie.reverts(custom_error("UnexpectedCreditTransfer(address)", prosumers[0])):
        credit.safeBatchTransferFrom(prosumers[0], book, [period], [1], "", {"from": prosumers[0]})
    assert credit.balanceOf(book, period) == len(prosumers) * CREDIT_WH
