"""PeriodMatching bids: the bidding window, one bid per agent and period, participant kinds, EV bids
bounded by the battery and the sell rule, arrival order, and the on-chain benefit matrix against
offchain.algorithms.matching.benefit_matrix."""

import brownie
import numpy as np
import pytest
from contract_helpers import custom_error
from fog_ems_support import (
    BASE_SPEC,
    close_bidding,
    end_period,
    fresh_bidding_period,
    next_period,
    place_bids,
    random_period,
    register_ev,
)

from offchain.algorithms.matching import benefit_matrix

pytestmark = pytest.mark.usefixtures("batteries")

OUTSIDE = "OutsideBiddingWindow(uint256,uint256,uint256)"
DUPLICATE = "DuplicateBid(uint256,address)"
EXCEEDS = "BidExceedsBattery(address,uint256,uint256,uint256,uint256)"
NOT_PROSUMER = "NotAnActiveProsumer(address)"
NOT_EV = "NotAnActiveEV(address)"


def bid_lists(matching, period):
    return [tuple(b) for b in matching.prosumerBids(period)], [tuple(b) for b in matching.evBids(period)]


def test_window_views(matching):
    period = next_period(matching)
    assert matching.biddingOpensAt(period) == period * 60
    assert matching.biddingClosesAt(period) == period * 60 + 30
    assert matching.greedyOpensAt(period) == period * 60 + 30
    assert matching.currentPeriod() == period - 1
    beyond = matching.MAX_PERIOD() + 1
    assert matching.biddingOpensAt(beyond) == 2**256 - 1


def test_bids_keep_arrival_order(matching, prosumers, evs, batteries):
    period = fresh_bidding_period(matching)
    first = matching.bidProsumer(period, -1_200, {"from": prosumers[2]})
    second = matching.bidProsumer(period, 800, {"from": prosumers[0]})
    third = matching.bidProsumer(period, 0, {"from": prosumers[1]})
    free_capacity = BASE_SPEC.upper_wh - batteries[evs[1]]
    ev_bid = matching.bidEV(period, 0, free_capacity, {"from": evs[1]})

    assert bid_lists(matching, period) == (
        [(prosumers[2], -1_200), (prosumers[0], 800), (prosumers[1], 0)],
        [(evs[1], 0, free_capacity, False)],
    )
    placed = [(first, prosumers[2], -1_200), (second, prosumers[0], 800), (third, prosumers[1], 0)]
    for index, (tx, prosumer, net) in enumerate(placed):
        event = tx.events["ProsumerBidPlaced"]
        assert (event["period"], event["index"], event["prosumer"], event["netWh"]) == (period, index, prosumer, net)
    event = ev_bid.events["EVBidPlaced"]
    fields = ("period", "index", "ev", "availableWh", "freeCapacityWh", "maySell")
    assert tuple(event[f] for f in fields) == (period, 0, evs[1], 0, free_capacity, False)
    assert matching.bidPeriodsOf(evs[1]) == 1


def test_bid_before_window_opens_reverts(matching, prosumers, evs):
    period = next_period(matching)
    window = (matching.biddingOpensAt(period), matching.biddingClosesAt(period))
    with brownie.reverts(custom_error(OUTSIDE, period, *window)):
        matching.bidProsumer(period, 500, {"from": prosumers[0]})
    with brownie.reverts(custom_error(OUTSIDE, period, *window)):
        matching.bidEV(period, 0, 0, {"from": evs[0]})
    assert bid_lists(matching, period) == ([], [])


def test_bid_after_window_closes_reverts(matching, prosumers, evs):
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 500, {"from": prosumers[0]})
    close_bidding(matching, period)
    window = (matching.biddingOpensAt(period), matching.biddingClosesAt(period))
    with brownie.reverts(custom_error(OUTSIDE, period, *window)):
        matching.bidProsumer(period, -500, {"from": prosumers[1]})
    with brownie.reverts(custom_error(OUTSIDE, period, *window)):
        matching.bidEV(period, 0, 0, {"from": evs[0]})
    assert bid_lists(matching, period) == ([(prosumers[0], 500)], [])
    assert matching.bidPeriodsOf(evs[0]) == 0


def test_bid_for_another_period_reverts(matching, prosumers):
    period = fresh_bidding_period(matching)
    for other in (period - 1, period + 1):
        window = (matching.biddingOpensAt(other), matching.biddingClosesAt(other))
        with brownie.reverts(custom_error(OUTSIDE, other, *window)):
            matching.bidProsumer(other, 500, {"from": prosumers[0]})
    never = matching.MAX_PERIOD() + 1
    with brownie.reverts(custom_error(OUTSIDE, never, 2**256 - 1, 2**256 - 1)):
        matching.bidProsumer(never, 500, {"from": prosumers[0]})


def test_second_bid_in_a_period_reverts(matching, prosumers, evs):
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 500, {"from": prosumers[0]})
    matching.bidEV(period, 0, 100, {"from": evs[1]})
    with brownie.reverts(custom_error(DUPLICATE, period, prosumers[0])):
        matching.bidProsumer(period, -700, {"from": prosumers[0]})
    with brownie.reverts(custom_error(DUPLICATE, period, evs[1])):
        matching.bidEV(period, 0, 50, {"from": evs[1]})
    assert bid_lists(matching, period) == ([(prosumers[0], 500)], [(evs[1], 0, 100, False)])
    assert matching.bidPeriodsOf(evs[1]) == 1


def test_only_active_participants_of_the_right_kind_bid(matching, registry, operator, prosumers, evs, outsider):
    period = fresh_bidding_period(matching)
    with brownie.reverts(custom_error(NOT_PROSUMER, evs[0])):
        matching.bidProsumer(period, 500, {"from": evs[0]})
    with brownie.reverts(custom_error(NOT_PROSUMER, outsider)):
        matching.bidProsumer(period, 500, {"from": outsider})
    with brownie.reverts(custom_error(NOT_EV, prosumers[0])):
        matching.bidEV(period, 0, 0, {"from": prosumers[0]})
    with brownie.reverts(custom_error(NOT_EV, outsider)):
        matching.bidEV(period, 0, 0, {"from": outsider})
    registry.setActive(prosumers[1], False, {"from": operator})
    registry.setActive(evs[1], False, {"from": operator})
    with brownie.reverts(custom_error(NOT_PROSUMER, prosumers[1])):
        matching.bidProsumer(period, 500, {"from": prosumers[1]})
    with brownie.reverts(custom_error(NOT_EV, evs[1])):
        matching.bidEV(period, 0, 0, {"from": evs[1]})
    assert bid_lists(matching, period) == ([], [])


def test_ev_without_an_open_battery_cannot_bid(matching, registry, operator, funded_account):
    ev = funded_account()
    register_ev(registry, operator, ev, BASE_SPEC)
    period = fresh_bidding_period(matching)
    with brownie.reverts(custom_error("BatteryNotOpen(address)", ev)):
        matching.bidEV(period, 0, 0, {"from": ev})
    assert bid_lists(matching, period) == ([], [])


def test_unverified_ev_offers_no_energy_then_may_sell(matching, evs, batteries):
    """SellRule(min_bid_periods=1): an EV's first bid period has nothing to release; from the next on it
    may offer its available energy."""
    ev = evs[1]
    available = batteries[ev] - BASE_SPEC.lower_wh
    free_capacity = BASE_SPEC.upper_wh - batteries[ev]
    period = fresh_bidding_period(matching)
    assert not matching.maySell(ev, period)
    with brownie.reverts(custom_error(EXCEEDS, ev, 1, 0, free_capacity, free_capacity)):
        matching.bidEV(period, 1, free_capacity, {"from": ev})
    matching.bidEV(period, 0, free_capacity, {"from": ev})
    assert not matching.maySell(ev, period)
    end_period(matching, period)

    later = fresh_bidding_period(matching)
    assert matching.maySell(ev, later)
    tx = matching.bidEV(later, available, free_capacity, {"from": ev})
    assert tx.events["EVBidPlaced"]["maySell"]
    assert bid_lists(matching, later)[1] == [(ev, available, free_capacity, True)]


def test_ev_bid_beyond_its_battery_reverts(matching, evs, batteries):
    ev = evs[1]
    available = batteries[ev] - BASE_SPEC.lower_wh
    free_capacity = BASE_SPEC.upper_wh - batteries[ev]
    period = fresh_bidding_period(matching)
    matching.bidEV(period, 0, 0, {"from": ev})
    end_period(matching, period)
    later = fresh_bidding_period(matching)
    with brownie.reverts(custom_error(EXCEEDS, ev, available + 1, available, free_capacity, free_capacity)):
        matching.bidEV(later, available + 1, free_capacity, {"from": ev})
    with brownie.reverts(custom_error(EXCEEDS, ev, available, available, free_capacity + 1, free_capacity)):
        matching.bidEV(later, available, free_capacity + 1, {"from": ev})
    full = evs[0]  # at its upper bound: no room
    with brownie.reverts(custom_error(EXCEEDS, full, 0, 0, 1, 0)):
        matching.bidEV(later, 0, 1, {"from": full})
    assert bid_lists(matching, later) == ([], [])
    assert matching.bidPeriodsOf(ev) == 1
    matching.bidEV(later, available // 2, free_capacity // 3, {"from": ev})  # less than it holds is fine
    assert bid_lists(matching, later)[1] == [(ev, available // 2, free_capacity // 3, True)]


def test_sell_rule_counts_earlier_bid_periods(deploy_matching, evs):
    strict = deploy_matching(min_bid_periods=2)
    ev = evs[1]
    for expected in (False, False, True):
        period = fresh_bidding_period(strict)
        assert strict.maySell(ev, period) is expected
        tx = strict.bidEV(period, 0, 0, {"from": ev})
        assert tx.events["EVBidPlaced"]["maySell"] is expected
        end_period(strict, period)


def test_benefit_matrix_matches_python(matching, crowd):
    rng = np.random.default_rng(7)
    bids = random_period(rng, crowd.headroom, len(crowd.prosumers))
    period = fresh_bidding_period(matching)
    place_bids(matching, period, crowd.prosumers, crowd.evs, bids)

    expected = benefit_matrix(bids.arrival_net(), bids.arrival_available(), bids.arrival_capacity())
    assert np.array_equal(np.array(matching.benefitMatrix(period), dtype=np.int64), expected)
    stored_net = [b[1] for b in matching.prosumerBids(period)]
    assert stored_net == bids.arrival_net().tolist()


def test_a_bid_outside_the_benefit_range_is_refused(matching, prosumers):
    """A netWh of -2**63 overflowed the fog-matching worker's np.abs and stalled certified matching (issue 12,
    attack 6); no bid beyond what an EV bid may hold (uint40) is needed or taken."""
    period = fresh_bidding_period(matching)
    limit = 2**40 - 1
    for net in (-(2**63), -(limit + 1), limit + 1):
        with brownie.reverts(custom_error("BidOutOfRange(int256,uint256)", net, limit)):
            matching.bidProsumer(period, net, {"from": prosumers[0]})
    matching.bidProsumer(period, -limit, {"from": prosumers[0]})
    assert bid_lists(matching, period)[0] == [(prosumers[0], -limit)]
    assert matching.MAX_BID_WH() == limit
