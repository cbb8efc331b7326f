"""PoSocScores: one score per EV per hour, only for parked EVs; daily totals and clipped draw weights."""

import brownie
from contract_helpers import UNAUTHORIZED, custom_error
from v2v_support import ARRIVAL_HOUR

from offchain.chain.roles import role_id

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
    scores.submitScores(HOUR, [parked[0]], [7], {"from": scorer})
    with brownie.reverts(custom_error("ScoreAlreadySubmitted(address,uint256)", parked[0], HOUR)):
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
        PoSocScores.deploy(registry, "0x" + "00" * 20, {"from": admin})
