"""BenefitSettlement: the winning block's trades are paid once, checked against its trades hash; a short
buyer is skipped; every revert path."""

import brownie
import pytest
from contract_helpers import ALREADY_ACCEPTED, custom_error
from pob_support import MAX_TRADES, Proposal, trades_hash

from offchain.units import payment_base

FLAT = [100_000, 100_500, 101_000, 101_500]
PRICE = 200 * 10**15  # 0.2 UPOS per kWh
DEPOSIT = 10**18


@pytest.fixture
def funded(settlement, upos, admin, prosumers, evs):
    for account in (*prosumers, *evs):
        upos.mint(account, DEPOSIT, {"from": admin})
        upos.approve(settlement, DEPOSIT, {"from": account})
    settlement.deposit(DEPOSIT, {"from": evs[0]})
    settlement.deposit(payment_base(1_000, PRICE) // 2, {"from": evs[1]})  # not enough for 1 kWh


def won_round(consensus, driver, peers, trades):
    round_ = driver.fresh_round()
    p = Proposal(round_, peers[0], bytes(consensus.head()), FLAT, trades=trades_hash(trades))
    driver.play([p], {p.block_hash(): peers[:4]})
    return round_


def test_winning_trades_settle_once(consensus, settlement, driver, peers, funded, evs, prosumers):
    trades = [(evs[0], prosumers[0], 2_500, PRICE), (evs[1], prosumers[1], 1_000, PRICE)]
    round_ = won_round(consensus, driver, peers, trades)
    before = settlement.balanceOf(evs[1])
    tx = settlement.settle(round_, trades, {"from": prosumers[2]})
    paid = payment_base(2_500, PRICE)
    assert tx.events["TradeSettled"]["amount"] == paid
    assert settlement.balanceOf(evs[0]) == DEPOSIT - paid and settlement.balanceOf(prosumers[0]) == paid
    skipped = tx.events["TradeSkipped"]
    assert skipped["index"] == 1 and skipped["available"] == before and skipped["needed"] == payment_base(1_000, PRICE)
    assert settlement.balanceOf(evs[1]) == before and settlement.balanceOf(prosumers[1]) == 0
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, settlement.MECHANISM(), round_)):
        settlement.settle(round_, trades, {"from": prosumers[2]})


def test_settle_reverts(consensus, settlement, driver, peers, funded, evs, prosumers):
    trades = [(evs[0], prosumers[0], 2_500, PRICE)]
    open_round = driver.fresh_round()
    with brownie.reverts(custom_error("RoundNotFinalised(uint256)", open_round)):
        settlement.settle(open_round, trades, {"from": evs[0]})
    driver.to_end(open_round)
    consensus.finalise(open_round, {"from": evs[0]})
    with brownie.reverts(custom_error("NoWinningBlock(uint256)", open_round)):
        settlement.settle(open_round, trades, {"from": evs[0]})
    round_ = won_round(consensus, driver, peers, trades)
    forged = [(evs[0], prosumers[1], 25_000, PRICE)]
    expected = consensus.blockOf(round_, consensus.outcomeOf(round_)[1])[4]
    with brownie.reverts(custom_error("TradesMismatch(uint256,bytes32,bytes32)", round_, expected,
                                      trades_hash(forged))):
        settlement.settle(round_, forged, {"from": evs[0]})
    with brownie.reverts(custom_error("TooManyTrades(uint256,uint256)", MAX_TRADES + 1, MAX_TRADES)):
        settlement.settle(round_, trades * (MAX_TRADES + 1), {"from": evs[0]})


def test_constructor_rejects_bad_terms(BenefitSettlement, upos, consensus, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        BenefitSettlement.deploy(upos, brownie.ZERO_ADDRESS, 3, {"from": admin})
    with brownie.reverts(custom_error("ZeroAddress()")):
        BenefitSettlement.deploy(brownie.ZERO_ADDRESS, consensus, 3, {"from": admin})
    with brownie.reverts(custom_error("ZeroAmount()")):
        BenefitSettlement.deploy(upos, consensus, 0, {"from": admin})
