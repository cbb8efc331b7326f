"""PeriodMatching.matchGreedy: the on-chain greedy FIFO matcher gives exactly
offchain.algorithms.matching.greedy_fifo(require_resource=True) on the bids in arrival order; it runs
once per period, by anyone, from the close of bidding plus the configured delay."""

import brownie
import numpy as np
import pytest
from contract_helpers import ALREADY_ACCEPTED, custom_error
from fog_ems_support import close_bidding, fresh_bidding_period, matched_accounts, place_bids, random_period, warp

from offchain.algorithms.matching import benefit_matrix, greedy_fifo
from offchain.mechanisms.fog_ems.terms import MatchingMethod

NOT_CLOSED = "BiddingNotClosed(uint256,uint256)"


@pytest.mark.parametrize("seed", range(8))
def test_greedy_equals_python_greedy_fifo(matching, exchange, crowd, outsider, seed):
    rng = np.random.default_rng(seed)
    bids = random_period(rng, crowd.headroom, len(crowd.prosumers))
    period = fresh_bidding_period(matching)
    place_bids(matching, period, crowd.prosumers, crowd.evs, bids)
    close_bidding(matching, period)
    tx = matching.matchGreedy(period, {"from": outsider})

    expected = greedy_fifo(
        bids.net, bids.available, bids.capacity,
        prosumer_order=bids.prosumer_order, ev_order=bids.ev_order, require_resource=True,
    )  # fmt: skip
    assert matched_accounts(exchange, period) == [
        (crowd.prosumers[i].address, crowd.evs[j].address) for i, j in expected.pairs()
    ]
    assert tx.return_value == len(expected)
    event = tx.events["PeriodMatched"]
    benefit = expected.benefit_wh(benefit_matrix(bids.net, bids.available, bids.capacity)) if len(expected) else 0
    assert (event["period"], event["method"], event["matches"], event["benefitWh"]) == (
        period, MatchingMethod.GREEDY, len(expected), benefit
    )
    assert matching.isMatched(period)


def test_greedy_skips_zero_bids_and_evs_without_the_resource(matching, exchange, crowd):
    """Arrival: a zero bid, a surplus, a deficit; EVs: one full (no room), one empty (nothing to
    release), one with both. The surplus skips the full EV, the deficit the empty one."""
    prosumers, evs = crowd.prosumers, crowd.evs
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 0, {"from": prosumers[0]})
    matching.bidProsumer(period, 2_000, {"from": prosumers[1]})
    matching.bidProsumer(period, -1_500, {"from": prosumers[2]})
    matching.bidEV(period, 500, 0, {"from": evs[0]})
    matching.bidEV(period, 0, 700, {"from": evs[1]})
    matching.bidEV(period, 0, 0, {"from": evs[2]})
    close_bidding(matching, period)
    matching.matchGreedy(period, {"from": prosumers[0]})
    assert matched_accounts(exchange, period) == [
        (prosumers[1].address, evs[1].address),
        (prosumers[2].address, evs[0].address),
    ]


def test_matches_are_numbered_across_periods(matching, exchange, crowd):
    prosumers, evs = crowd.prosumers, crowd.evs
    first_id = exchange.lastMatchingId() + 1
    periods = []
    for _ in range(2):
        period = fresh_bidding_period(matching)
        matching.bidProsumer(period, 1_000, {"from": prosumers[0]})
        matching.bidProsumer(period, 1_000, {"from": prosumers[1]})
        matching.bidEV(period, 0, 400, {"from": evs[0]})
        matching.bidEV(period, 0, 400, {"from": evs[1]})
        close_bidding(matching, period)
        tx = matching.matchGreedy(period, {"from": prosumers[0]})
        ids = [first_id + 2 * len(periods), first_id + 2 * len(periods) + 1]
        assert [e["matchingId"] for e in tx.events["MatchOpened"]] == ids
        periods.append(period)
    for index, period in enumerate(periods):
        opened, first, matches = exchange.periodMatches(period)
        assert (opened, first, len(matches)) == (True, first_id + 2 * index, 2)
        assert exchange.matchOf(first)[0] == prosumers[0]


def test_empty_period_is_matched_with_no_pairs(matching, exchange, outsider):
    period = fresh_bidding_period(matching)
    close_bidding(matching, period)
    tx = matching.matchGreedy(period, {"from": outsider})
    assert tx.return_value == 0
    opened, first, matches = exchange.periodMatches(period)
    assert (opened, first, list(matches)) == (True, exchange.lastMatchingId() + 1, [])
    assert "MatchOpened" not in tx.events


def test_greedy_before_bidding_closes_reverts(matching, exchange, crowd, outsider):
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 1_000, {"from": crowd.prosumers[0]})
    with brownie.reverts(custom_error(NOT_CLOSED, period, matching.biddingClosesAt(period))):
        matching.matchGreedy(period, {"from": outsider})
    later = period + 1
    with brownie.reverts(custom_error(NOT_CLOSED, later, matching.biddingClosesAt(later))):
        matching.matchGreedy(later, {"from": outsider})
    assert not matching.isMatched(period)
    assert exchange.periodMatches(period)[0] is False


def test_greedy_twice_reverts(matching, crowd, outsider):
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 1_000, {"from": crowd.prosumers[0]})
    matching.bidEV(period, 0, 300, {"from": crowd.evs[0]})
    close_bidding(matching, period)
    matching.matchGreedy(period, {"from": outsider})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, matching.MECHANISM(), period)):
        matching.matchGreedy(period, {"from": crowd.prosumers[0]})


def test_greedy_fallback_waits_for_its_delay(deploy_matching, exchange, crowd, outsider):
    """With a delay the certified result has the first say; anyone may match greedily afterwards."""
    fallback = deploy_matching(greedy_delay=45)
    period = fresh_bidding_period(fallback)
    fallback.bidProsumer(period, 1_000, {"from": crowd.prosumers[0]})
    fallback.bidEV(period, 0, 600, {"from": crowd.evs[0]})  # unverified here: a fresh matching contract
    close_bidding(fallback, period)
    opens_at = fallback.greedyOpensAt(period)
    assert opens_at == fallback.biddingClosesAt(period) + 45
    with brownie.reverts(custom_error("GreedyNotOpen(uint256,uint256)", period, opens_at)):
        fallback.matchGreedy(period, {"from": outsider})
    assert not fallback.isMatched(period)
    warp(opens_at)
    fallback.matchGreedy(period, {"from": outsider})
    assert matched_accounts(exchange, period) == [(crowd.prosumers[0].address, crowd.evs[0].address)]
