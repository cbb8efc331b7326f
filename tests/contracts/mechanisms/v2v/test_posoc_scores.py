"""PoSocScores: one score submission per hour, only for parked EVs; daily totals and clipped draw weights; the
midnight draw of the next aggregator (closing, seed block, weighted choice equal to the plan's, re-arming)."""

import brownie
from brownie import chain
from contract_helpers import ALREADY_ACCEPTED, UNAUTHORIZED, custom_error
from v2v_support import ARRIVAL_HOUR, MAX_EVS

from offchain.chain.roles import role_id
from offchain.mechanisms.v2v.plan import draw_index, draw_seed

HOUR = ARRIVAL_HOUR + 2
DAY = HOUR // 24


def test_scores_add_up_per_day_and_clip_for_the_draw(scores, parked, scorer):
    a, b = parked
    tx = scores.submitScores(HOUR, [a, b], [5 * 10**17, -3 * 10**17], {"from": scorer})
    assert [e["dailyTotal"] for e in tx.events["ScoreSubmitted"]] == [5 * 10**17, -3 * 10**17]
    scores.submitScores(HOUR + 1, [a], [-10**17], {"from": scorer})
    assert [bool(scores.scoreOf(HOUR, b)[0]), scores.scoreOf(HOUR, b)[1]] == [True, -3 * 10**17]
    assert not scores.scoreOf(HOUR + 2, b)[0]
    assert scores.dailyScore(DAY, a) == 4 * 10**17
    assert scores.drawWeight(DAY, a) == 4 * 10**17
    assert scores.drawWeight(DAY, b) == 0


def test_only_scorer_submits(scores, parked, outsider):
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("SCORER"))):
        scores.submitScores(HOUR, [parked[0]], [1], {"from": outsider})


def test_score_for_an_ev_not_parked_reverts(scores, parked, scorer, meter, prosumers):
    with brownie.reverts(custom_error("EvNotParked(address,uint256)", parked[0], ARRIVAL_HOUR - 1)):
        scores.submitScores(ARRIVAL_HOUR - 1, [parked[0]], [1], {"from": scorer})
    with brownie.reverts(custom_error("EvNotParked(address,uint256)", prosumers[0], HOUR)):
        scores.submitScores(HOUR, [prosumers[0]], [1], {"from": scorer})
    scores.submitScores(HOUR, [parked[1]], [1], {"from": scorer})
    assert scores.dailyScore(DAY, parked[1]) == 1


def test_second_score_for_an_hour_reverts_and_changes_nothing(scores, parked, scorer):
    with brownie.reverts(custom_error("ScoreAlreadySubmitted(address,uint256)", parked[0], HOUR)):
        scores.submitScores(HOUR, [parked[0], parked[0]], [1, 9], {"from": scorer})
    scores.submitScores(HOUR, [parked[0]], [7], {"from": scorer})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, scores.SCORES(), HOUR)):
        scores.submitScores(HOUR, [parked[1], parked[0]], [1, 9], {"from": scorer})
    assert scores.dailyScore(DAY, parked[0]) == 7
    assert not scores.scoreOf(HOUR, parked[1])[0]


def test_bad_lists_and_out_of_range_scores_revert(scores, parked, scorer):
    with brownie.reverts(custom_error("ScoreArraysMismatch(uint256,uint256)", 1, 2)):
        scores.submitScores(HOUR, [parked[0]], [1, 2], {"from": scorer})
    with brownie.reverts(custom_error("EmptyScores(uint256)", HOUR)):
        scores.submitScores(HOUR, [], [], {"from": scorer})
    with brownie.reverts(custom_error("ScoreOutOfRange(int256)", 2**95)):
        scores.submitScores(HOUR, [parked[0]], [2**95], {"from": scorer})


def test_constructor_rejects_zero_settlement(PoSocScores, registry, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        PoSocScores.deploy(registry, "0x" + "00" * 20, MAX_EVS, {"from": admin})


# ------------------------------------------------------------------------------ the midnight draw

DRAW_DAY = 1


def _score_day(scores, scorer, day, evs, points):
    scores.submitScores(day * 24 + 12, list(evs), list(points), {"from": scorer})


def test_draw_is_the_weighted_choice_python_computes_from_the_block_hash(scores, parked, scorer, outsider):
    """Six days with different weights: each drawn EV is plan.draw_index of the seed the chain derives from the
    hash of the block after the closing one; anyone may draw."""
    a, b = parked
    for day, points in zip(range(DRAW_DAY, DRAW_DAY + 6), ([3, 1], [1, 3], [1, 1], [5, -2], [1, 1], [2, 2])):
        _score_day(scores, scorer, day, (a, b), [p * 10**18 for p in points])
        close = scores.closeDay(day, {"from": scorer})
        draw_block = close.events["DayClosedForDraw"]["drawBlock"]
        assert draw_block == close.block_number + 1
        chain.mine()
        tx = scores.drawAggregator(day, {"from": outsider})
        event = tx.events["AggregatorDrawn"]
        seed = draw_seed(bytes(chain[draw_block].hash), day, scores.address, chain.id)
        assert bytes(event["seed"]) == seed
        weights = [max(p, 0) * 10**18 for p in points]
        assert event["aggregator"] == (a, b)[draw_index(seed, weights)].address
        assert event["totalWeight"] == sum(weights)
        assert scores.aggregatorOf(day) == event["aggregator"]
    assert scores.aggregatorOf(DRAW_DAY + 3) == a.address  # b's weight is 0 (clipped)


def test_day_without_positive_score_draws_with_equal_weights(scores, parked, scorer):
    a, b = parked
    _score_day(scores, scorer, DRAW_DAY, (a, b), [-10**18, -2 * 10**18])
    scores.closeDay(DRAW_DAY, {"from": scorer})
    chain.mine()
    event = scores.drawAggregator(DRAW_DAY, {"from": scorer}).events["AggregatorDrawn"]
    assert (event["weight"], event["totalWeight"]) == (1, 2)
    assert event["aggregator"] in (a.address, b.address)


def test_closed_day_takes_no_score_and_closes_once(scores, parked, scorer, outsider):
    a, b = parked
    with brownie.reverts(custom_error("NoScoresForDay(uint256)", DRAW_DAY)):
        scores.closeDay(DRAW_DAY, {"from": scorer})
    _score_day(scores, scorer, DRAW_DAY, (a,), [10**18])
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("SCORER"))):
        scores.closeDay(DRAW_DAY, {"from": outsider})
    scores.closeDay(DRAW_DAY, {"from": scorer})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, scores.CLOSES(), DRAW_DAY)):
        scores.closeDay(DRAW_DAY, {"from": scorer})
    with brownie.reverts(custom_error("DayClosed(uint256)", DRAW_DAY)):
        scores.submitScores(DRAW_DAY * 24 + 13, [b], [10**18], {"from": scorer})
    assert scores.evsOf(DRAW_DAY) == [a.address]


def test_draw_only_after_the_seed_block_and_once(scores, parked, scorer):
    a, _ = parked
    with brownie.reverts(custom_error("DayNotClosed(uint256)", DRAW_DAY)):
        scores.drawAggregator(DRAW_DAY, {"from": scorer})
    _score_day(scores, scorer, DRAW_DAY, (a,), [10**18])
    close = scores.closeDay(DRAW_DAY, {"from": scorer})
    seed_block = close.block_number + 1
    # the next transaction is mined in the seed block itself, whose hash nobody knows yet
    with brownie.reverts(custom_error("DrawTooEarly(uint256,uint256,uint256)", DRAW_DAY, seed_block, seed_block)):
        scores.drawAggregator(DRAW_DAY, {"from": scorer})
    chain.mine()
    scores.drawAggregator(DRAW_DAY, {"from": scorer})
    with brownie.reverts(custom_error("AlreadyDrawn(uint256,address)", DRAW_DAY, a)):
        scores.drawAggregator(DRAW_DAY, {"from": scorer})
    assert list(scores.drawOf(DRAW_DAY)) == [True, seed_block, a.address]


def test_stale_seed_block_rearms_the_draw(scores, parked, scorer):
    a, _ = parked
    _score_day(scores, scorer, DRAW_DAY, (a,), [10**18])
    scores.closeDay(DRAW_DAY, {"from": scorer})
    chain.mine(258)
    tx = scores.drawAggregator(DRAW_DAY, {"from": scorer})
    assert tx.events["DrawRearmed"]["drawBlock"] == tx.block_number + 1
    assert "AggregatorDrawn" not in tx.events
    assert scores.aggregatorOf(DRAW_DAY) == "0x" + "00" * 20
    chain.mine()
    assert scores.drawAggregator(DRAW_DAY, {"from": scorer}).events["AggregatorDrawn"]["aggregator"] == a.address


def test_day_holds_at_most_max_evs(PoSocScores, registry, settlement, parked, admin, scorer):
    a, b = parked
    small = PoSocScores.deploy(registry, settlement, 1, {"from": admin})
    small.submitScores(DRAW_DAY * 24, [a], [1], {"from": scorer})
    with brownie.reverts(custom_error("TooManyEvs(uint256,uint256)", DRAW_DAY, 1)):
        small.submitScores(DRAW_DAY * 24 + 1, [a, b], [1, 1], {"from": scorer})
    with brownie.reverts(custom_error("TooManyEvs(uint256,uint256)", 0, 0)):
        PoSocScores.deploy(registry, settlement, 0, {"from": admin})
