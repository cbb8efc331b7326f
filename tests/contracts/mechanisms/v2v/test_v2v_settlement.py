"""V2VSettlement: parking sessions, hourly EV-to-EV trades inside the SOC windows, and the fee-dodger profit
lock (states, events, who may release, the deadlines). Attacks first: nobody moves funds it does not own."""

import brownie
import pytest
from brownie import chain
from contract_helpers import ALREADY_ACCEPTED, INSUFFICIENT_BALANCE, UNAUTHORIZED, custom_error
from v2v_support import ARRIVAL_HOUR, DEPOSIT, EV_SOC_MAX_WH, EV_SOC_MIN_WH, FEE_WINDOW, LOCK_SECONDS, START_WH, \
    sorted_pair

from offchain.chain.roles import role_id
from offchain.mechanisms.v2v.terms import ProfitState
from offchain.units import payment_base

HOUR = ARRIVAL_HOUR + 1
ZERO = "0x" + "00" * 20
DAY = HOUR // 24
SOLD_WH = 4_000


def trade(seller, buyer, wh, price):
    return (seller.address, buyer.address, wh, price)


def sell_once(settlement, scorer, seller, buyer, price, hour=HOUR, wh=SOLD_WH):
    return settlement.settleHour(hour, [trade(seller, buyer, wh, price)], {"from": scorer})


# --------------------------------------------------------------------------------------- attacks


def test_attack_stranger_cannot_settle_assess_or_park(settlement, parked, price, outsider, prosumers):
    seller, buyer = parked
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("SCORER"))):
        sell_once(settlement, outsider, seller, buyer, price)
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("SCORER"))):
        settlement.assessFees(DAY, seller, [], [], {"from": outsider})
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("METER"))):
        settlement.arrive(prosumers[0], HOUR, START_WH, {"from": outsider})
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("METER"))):
        settlement.depart(seller, HOUR + 1, {"from": outsider})


def test_attack_dodger_cannot_release_without_paying(settlement, draw_for, parked, price, scorer):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [seller], [10**15], {"from": scorer})
    with brownie.reverts(custom_error("FeeUnpaid(uint256,address,uint256)", DAY, seller, 10**15)):
        settlement.releaseProfit(DAY, {"from": seller})
    chain.sleep(FEE_WINDOW + 1)
    settlement.lockProfit(DAY, seller, {"from": buyer})
    with brownie.reverts(custom_error("FeeUnpaid(uint256,address,uint256)", DAY, seller, 10**15)):
        settlement.releaseProfit(DAY, {"from": seller})
    assert settlement.balanceOf(seller) == DEPOSIT


def test_attack_only_the_miner_confiscates_and_only_after_the_lock(settlement, draw_for, parked, price, scorer, outsider):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [seller], [10**15], {"from": scorer})
    chain.sleep(FEE_WINDOW + 1)
    tx = settlement.lockProfit(DAY, seller, {"from": outsider})
    until = tx.events["ProfitLocked"]["lockedUntil"]
    with brownie.reverts(custom_error("NotTheMiner(uint256,address,address)", DAY, outsider, buyer)):
        settlement.confiscate(DAY, seller, {"from": outsider})
    with brownie.reverts(custom_error("LockNotExpired(uint256,address,uint256)", DAY, seller, until)):
        settlement.confiscate(DAY, seller, {"from": buyer})


def test_attack_no_trades_into_an_assessed_day(settlement, draw_for, parked, price, scorer):
    """Proceeds settled after the release would be stranded: the day is closed to trades once assessed."""
    seller, buyer = parked
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [], [], {"from": scorer})
    with brownie.reverts(custom_error("DayAlreadyAssessed(uint256)", DAY)):
        sell_once(settlement, scorer, seller, buyer, price)


def test_attack_fee_is_paid_from_own_balance_only(settlement, draw_for, parked, price, scorer):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    fee = DEPOSIT + 1
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [seller], [fee], {"from": scorer})
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, seller, DEPOSIT, fee)):
        settlement.payFee(DAY, {"from": seller})


# --------------------------------------------------------------------------------------- sessions


def test_arrive_records_the_session_and_parking_hours(settlement, parked, meter):
    ev = parked[0]
    session = settlement.sessionOf(ev)
    assert [session[0], session[1], session[2], bool(session[3])] == [ARRIVAL_HOUR, 2**64 - 1, START_WH, True]
    assert not settlement.isParkedAt(ev, ARRIVAL_HOUR - 1)
    assert settlement.isParkedAt(ev, ARRIVAL_HOUR)
    tx = settlement.depart(ev, ARRIVAL_HOUR + 3, {"from": meter})
    assert tx.events["EVDeparted"]["energyWh"] == START_WH
    assert settlement.isParkedAt(ev, ARRIVAL_HOUR + 2)
    assert not settlement.isParkedAt(ev, ARRIVAL_HOUR + 3)


def test_arrive_rejects_non_ev_second_session_and_energy_outside_window(settlement, parked, prosumers, meter,
                                                                       funded_account):
    with brownie.reverts(custom_error("NotAnActiveEV(address)", prosumers[0])):
        settlement.arrive(prosumers[0], HOUR, START_WH, {"from": meter})
    with brownie.reverts(custom_error("AlreadyParked(address)", parked[0])):
        settlement.arrive(parked[0], HOUR, START_WH, {"from": meter})
    settlement.depart(parked[0], HOUR, {"from": meter})
    with brownie.reverts(custom_error("EnergyOutsideWindow(address,uint256,uint256,uint256)", parked[0],
                                      EV_SOC_MAX_WH + 1, EV_SOC_MIN_WH, EV_SOC_MAX_WH)):
        settlement.arrive(parked[0], HOUR, EV_SOC_MAX_WH + 1, {"from": meter})


def test_depart_rejects_unparked_and_early_departure(settlement, parked, meter, outsider):
    with brownie.reverts(custom_error("NotParked(address,uint256)", outsider, HOUR)):
        settlement.depart(outsider, HOUR, {"from": meter})
    with brownie.reverts(custom_error("DepartureBeforeArrival(address,uint256,uint256)", parked[0], ARRIVAL_HOUR,
                                      ARRIVAL_HOUR)):
        settlement.depart(parked[0], ARRIVAL_HOUR, {"from": meter})


# ----------------------------------------------------------------------------------------- trades


def test_settle_hour_moves_energy_and_holds_the_sellers_proceeds(settlement, parked, price, scorer):
    seller, buyer = parked
    tx = sell_once(settlement, scorer, seller, buyer, price)
    payment = payment_base(SOLD_WH, price)
    assert tx.events["V2VTraded"]["payment"] == payment
    assert settlement.sessionOf(seller)["energyWh"] == START_WH - SOLD_WH
    assert settlement.sessionOf(buyer)["energyWh"] == START_WH + SOLD_WH
    assert settlement.balanceOf(buyer) == DEPOSIT - payment
    assert settlement.balanceOf(seller) == DEPOSIT
    assert settlement.profitOf(DAY, seller)["held"] == payment


def test_settle_hour_once(settlement, parked, price, scorer):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, settlement.TRADES(), HOUR)):
        sell_once(settlement, scorer, seller, buyer, price)


def test_trade_beyond_the_soc_window_reverts_and_changes_nothing(settlement, parked, price, scorer, meter):
    seller, buyer = parked
    too_much = START_WH - EV_SOC_MIN_WH + 1
    with brownie.reverts(custom_error("SocWindowExceeded(address,int256,uint256,uint256)", seller,
                                      EV_SOC_MIN_WH - 1, EV_SOC_MIN_WH, EV_SOC_MAX_WH)):
        sell_once(settlement, scorer, seller, buyer, price, wh=too_much)
    settlement.depart(buyer, HOUR, {"from": meter})
    settlement.arrive(buyer, HOUR, EV_SOC_MAX_WH - 100, {"from": meter})
    with brownie.reverts(custom_error("SocWindowExceeded(address,int256,uint256,uint256)", buyer,
                                      EV_SOC_MAX_WH + 1, EV_SOC_MIN_WH, EV_SOC_MAX_WH)):
        settlement.settleHour(HOUR, [trade(seller, buyer, 50, price), trade(seller, buyer, 51, price)],
                              {"from": scorer})
    assert settlement.sessionOf(seller)["energyWh"] == START_WH
    assert settlement.sessionOf(buyer)["energyWh"] == EV_SOC_MAX_WH - 100
    assert not settlement.isAccepted(settlement.TRADES(), HOUR)


def test_trade_rejects_unparked_party_self_trade_zero_energy_and_empty_hour(settlement, parked, price, scorer,
                                                                           meter):
    seller, buyer = parked
    with brownie.reverts(custom_error("NotParked(address,uint256)", seller, ARRIVAL_HOUR - 1)):
        sell_once(settlement, scorer, seller, buyer, price, hour=ARRIVAL_HOUR - 1)
    with brownie.reverts(custom_error("SelfTrade(address)", seller)):
        sell_once(settlement, scorer, seller, seller, price)
    with brownie.reverts(custom_error("ZeroAmount()")):
        sell_once(settlement, scorer, seller, buyer, price, wh=0)
    with brownie.reverts(custom_error("NoTrades(uint256)", HOUR)):
        settlement.settleHour(HOUR, [], {"from": scorer})
    settlement.depart(buyer, HOUR, {"from": meter})
    with brownie.reverts(custom_error("NotParked(address,uint256)", buyer, HOUR)):
        sell_once(settlement, scorer, seller, buyer, price)


def test_attack_buyer_who_withdrew_is_skipped_and_cannot_block_the_hour(settlement, parked, price, scorer,
                                                                        funded_account, registry, operator, meter):
    seller, buyer = parked
    broke = funded_account()
    registry.register(broke, 2, 0, 0, 79_500, EV_SOC_MIN_WH, EV_SOC_MAX_WH, {"from": operator})
    settlement.arrive(broke, ARRIVAL_HOUR, START_WH, {"from": meter})
    payment = payment_base(SOLD_WH, price)
    tx = settlement.settleHour(HOUR, [trade(seller, broke, SOLD_WH, price), trade(seller, buyer, SOLD_WH, price)],
                               {"from": scorer})
    skipped = tx.events["V2VTradeSkipped"]
    assert (skipped["seller"], skipped["buyer"], skipped["energyWh"], skipped["payment"], skipped["buyerBalance"]) \
        == (seller, broke, SOLD_WH, payment, 0)
    assert len(tx.events["V2VTraded"]) == 1 and tx.events["V2VTraded"]["buyer"] == buyer
    assert settlement.sessionOf(broke)["energyWh"] == START_WH
    assert settlement.sessionOf(seller)["energyWh"] == START_WH - SOLD_WH
    assert settlement.sessionOf(buyer)["energyWh"] == START_WH + SOLD_WH
    assert settlement.profitOf(DAY, seller)["held"] == payment
    assert settlement.isAccepted(settlement.TRADES(), HOUR)


# ------------------------------------------------------------------------------------ profit lock


def test_honest_member_pays_and_releases(settlement, draw_for, parked, price, scorer):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    held = payment_base(SOLD_WH, price)
    fee = held // 10
    draw_for(DAY, buyer)
    tx = settlement.assessFees(DAY, buyer, [seller], [fee], {"from": scorer})
    assert tx.events["DayAssessed"]["miningReward"] == fee
    assert settlement.profitOf(DAY, seller)["state"] == ProfitState.FEE_DUE
    tx = settlement.payFee(DAY, {"from": seller})
    assert tx.events["FeePaid"]["fee"] == fee
    tx = settlement.releaseProfit(DAY, {"from": seller})
    assert tx.events["ProfitReleased"]["amount"] == held
    assert settlement.profitOf(DAY, seller)["state"] == ProfitState.RELEASED
    assert settlement.balanceOf(seller) == DEPOSIT - fee + held
    assert settlement.balanceOf(buyer) == DEPOSIT - held + fee
    with brownie.reverts(custom_error("NothingToRelease(uint256,address,uint8)", DAY, seller, ProfitState.RELEASED)):
        settlement.releaseProfit(DAY, {"from": seller})
    with brownie.reverts(custom_error("NoFeeDue(uint256,address,uint8)", DAY, seller, ProfitState.RELEASED)):
        settlement.payFee(DAY, {"from": seller})


def test_unlisted_or_zero_fee_member_releases_after_assessment_only(settlement, draw_for, parked, price, scorer):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    with brownie.reverts(custom_error("DayNotAssessed(uint256)", DAY)):
        settlement.releaseProfit(DAY, {"from": seller})
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [], [], {"from": scorer})
    settlement.releaseProfit(DAY, {"from": seller})
    assert settlement.balanceOf(seller) == DEPOSIT + payment_base(SOLD_WH, price)


def test_late_payer_recovers_its_locked_profit(settlement, draw_for, parked, price, scorer, outsider):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [seller], [10**15], {"from": scorer})
    chain.sleep(FEE_WINDOW + 1)
    settlement.lockProfit(DAY, seller, {"from": outsider})
    assert settlement.profitOf(DAY, seller)["state"] == ProfitState.LOCKED
    settlement.payFee(DAY, {"from": seller})
    settlement.releaseProfit(DAY, {"from": seller})
    assert settlement.balanceOf(seller) == DEPOSIT - 10**15 + payment_base(SOLD_WH, price)
    with brownie.reverts(custom_error("NotLocked(uint256,address,uint8)", DAY, seller, ProfitState.RELEASED)):
        settlement.confiscate(DAY, seller, {"from": buyer})


def test_lock_only_after_the_deadline_and_only_when_due(settlement, draw_for, parked, price, scorer, outsider):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    draw_for(DAY, buyer)
    tx = settlement.assessFees(DAY, buyer, [seller], [10**15], {"from": scorer})
    due_by = tx.events["DayAssessed"]["dueBy"]
    with brownie.reverts(custom_error("FeeWindowOpen(uint256,uint256)", DAY, due_by)):
        settlement.lockProfit(DAY, seller, {"from": outsider})
    with brownie.reverts(custom_error("NoFeeDue(uint256,address,uint8)", DAY, buyer, ProfitState.NONE)):
        settlement.lockProfit(DAY, buyer, {"from": outsider})


def test_miner_confiscates_the_fee_and_returns_the_rest(settlement, draw_for, parked, price, scorer, outsider):
    seller, buyer = parked
    sell_once(settlement, scorer, seller, buyer, price)
    held = payment_base(SOLD_WH, price)
    fee = held // 4
    draw_for(DAY, buyer)
    settlement.assessFees(DAY, buyer, [seller], [fee], {"from": scorer})
    chain.sleep(FEE_WINDOW + 1)
    settlement.lockProfit(DAY, seller, {"from": outsider})
    chain.sleep(LOCK_SECONDS + 1)
    tx = settlement.confiscate(DAY, seller, {"from": buyer})
    assert tx.events["ProfitConfiscated"]["toMiner"] == fee
    assert tx.events["ProfitConfiscated"]["toMember"] == held - fee
    assert settlement.balanceOf(buyer) == DEPOSIT - held + fee
    assert settlement.balanceOf(seller) == DEPOSIT + held - fee
    assert settlement.profitOf(DAY, seller)["state"] == ProfitState.CONFISCATED


def test_assess_rejects_bad_lists_and_a_second_assessment(settlement, draw_for, parked, scorer, prosumers):
    a, b = sorted_pair(parked)
    draw_for(DAY, a)
    with brownie.reverts(custom_error("FeeArraysMismatch(uint256,uint256)", 2, 1)):
        settlement.assessFees(DAY, a, [a, b], [1], {"from": scorer})
    with brownie.reverts(custom_error("MembersNotAscending(uint256)", 1)):
        settlement.assessFees(DAY, a, [b, a], [1, 1], {"from": scorer})
    settlement.assessFees(DAY, a, [a, b], [0, 1], {"from": scorer})
    assert settlement.profitOf(DAY, a)["state"] == ProfitState.PAID
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, settlement.FEES(), DAY)):
        settlement.assessFees(DAY, a, [a, b], [0, 1], {"from": scorer})


def test_attack_scorer_cannot_name_a_miner_the_draw_did_not(settlement, scores, draw_for, parked, scorer,
                                                              prosumers):
    """M_r goes to the EV drawn on chain: an undrawn day, another EV or a non-EV is refused, nothing changes."""
    a, b = sorted_pair(parked)
    with brownie.reverts(custom_error("MinerNotDrawn(uint256,address,address)", DAY, a, ZERO)):
        settlement.assessFees(DAY, a, [a], [1], {"from": scorer})
    draw_for(DAY, a)
    for wrong in (b, prosumers[0], ZERO):
        with brownie.reverts(custom_error("MinerNotDrawn(uint256,address,address)", DAY, wrong, a.address)):
            settlement.assessFees(DAY, wrong, [a], [1], {"from": scorer})
    assert settlement.minerOf(DAY) == ZERO


def test_aggregator_draw_is_set_once_by_admin_only(V2VSettlement, settlement, scores, registry, upos, admin,
                                                   outsider, scorer, parked):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("ADMIN"))):
        settlement.setAggregatorDraw(outsider, {"from": outsider})
    with brownie.reverts(custom_error("AggregatorDrawAlreadySet(address)", scores.address)):
        settlement.setAggregatorDraw(outsider, {"from": admin})
    fresh = V2VSettlement.deploy(registry, upos, FEE_WINDOW, LOCK_SECONDS, {"from": admin})
    with brownie.reverts(custom_error("ZeroAddress()")):
        fresh.setAggregatorDraw(ZERO, {"from": admin})
    with brownie.reverts(custom_error("AggregatorDrawNotSet()")):
        fresh.assessFees(DAY, parked[0], [], [], {"from": scorer})
    tx = fresh.setAggregatorDraw(scores, {"from": admin})
    assert tx.events["AggregatorDrawSet"]["draw"] == scores.address


@pytest.mark.parametrize("fee_window,lock", [(0, 1), (1, 0), (2**64, 1)])
def test_constructor_rejects_bad_windows(V2VSettlement, registry, upos, admin, fee_window, lock):
    with brownie.reverts(custom_error("InvalidWindows(uint256,uint256)", fee_window, lock)):
        V2VSettlement.deploy(registry, upos, fee_window, lock, {"from": admin})
