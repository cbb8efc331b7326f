"""Invariant after a random sequence of hours, fees, payments, locks and confiscations: the UPOS the settlement
holds equals its members' internal balances plus every profit still held, and no battery leaves its window."""

import random

from brownie import chain
from v2v_support import ARRIVAL_HOUR, EV_SOC_MAX_WH, EV_SOC_MIN_WH, FEE_WINDOW, LOCK_SECONDS

HOURS = 8


def _held(settlement, day, evs):
    return sum(settlement.profitOf(day, ev)["held"] for ev in evs)


def test_money_and_energy_are_conserved_over_a_random_day(settlement, draw_for, upos, parked, price, scorer, outsider):
    rng = random.Random(18)
    evs = list(parked)
    day = ARRIVAL_HOUR // 24

    def check():
        held = _held(settlement, day, evs)
        assert upos.balanceOf(settlement) == sum(settlement.balanceOf(ev) for ev in evs) + held
        for ev in evs:
            assert EV_SOC_MIN_WH <= settlement.sessionOf(ev)["energyWh"] <= EV_SOC_MAX_WH

    for hour in range(ARRIVAL_HOUR, ARRIVAL_HOUR + HOURS):
        seller, buyer = rng.sample(evs, 2)
        spare = min(settlement.sessionOf(seller)["energyWh"] - EV_SOC_MIN_WH,
                    EV_SOC_MAX_WH - settlement.sessionOf(buyer)["energyWh"])
        if spare > 0:
            wh = rng.randint(1, min(spare, 7_000))
            settlement.settleHour(hour, [(seller.address, buyer.address, wh, price + rng.randint(0, 10**15))],
                                  {"from": scorer})
        check()
    members = sorted(evs, key=lambda a: int(a.address, 16))
    fees = [rng.randint(0, 10**16) for _ in members]
    draw_for(day, members[0])
    settlement.assessFees(day, members[0], members, fees, {"from": scorer})
    payer, dodger = members[0], members[1]
    if fees[0]:
        settlement.payFee(day, {"from": payer})
    settlement.releaseProfit(day, {"from": payer})
    check()
    if fees[1]:
        chain.sleep(FEE_WINDOW + 1)
        settlement.lockProfit(day, dodger, {"from": outsider})
        chain.sleep(LOCK_SECONDS + 1)
        settlement.confiscate(day, dodger, {"from": members[0]})
    check()
    assert _held(settlement, day, evs) == 0 or not fees[1]
