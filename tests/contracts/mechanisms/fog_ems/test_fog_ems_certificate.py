"""PeriodMatching.submitAssignment: an optimal assignment with an LP dual certificate from
offchain.algorithms.matching (hungarian / optimal_assignment + dual_certificate) is accepted; every
tampered certificate is rejected with the custom error that verify_certificate names, and changes
nothing; only SCORER submits, once per period, after bidding closed."""

from __future__ import annotations

import brownie
import numpy as np
import pytest
from contract_helpers import ALREADY_ACCEPTED, UNAUTHORIZED, custom_error
from fog_ems_support import close_bidding, fresh_bidding_period, matched_accounts, place_bids, random_period

from offchain.algorithms.matching import (
    Assignment,
    benefit_matrix,
    certified_assignment,
    dual_certificate,
    greedy_fifo,
    hungarian,
    optimal_assignment,
    verify_certificate,
)
from offchain.chain.roles import role_id
from offchain.mechanisms.fog_ems.terms import MatchingMethod


def as_ints(values) -> list[int]:
    return [int(x) for x in values]


def submit(matching, period, pairs_p, pairs_e, u, v, sender):
    args = (as_ints(pairs_p), as_ints(pairs_e), as_ints(u), as_ints(v))
    return matching.submitAssignment(period, *args, {"from": sender})


def expected_revert(b: np.ndarray, p: list[int], e: list[int], u: list[int], v: list[int]) -> str:
    """The revert the contract must raise for this submission: the rule verify_certificate names,
    with the values the contract reports."""
    pairs = Assignment(np.asarray(p, dtype=np.int64), np.asarray(e, dtype=np.int64))
    reason = verify_certificate(b, pairs, np.asarray(u), np.asarray(v))
    assert reason is not None, "the tampered certificate must be invalid in Python too"
    name = reason.split(":")[0]
    n, m = b.shape
    if name == "PairArraysMismatch":
        return custom_error("PairArraysMismatch(uint256,uint256)", len(p), len(e))
    if name == "UnknownBid":
        k = next(k for k in range(len(p)) if p[k] >= n or e[k] >= m)
        return custom_error("UnknownBid(uint256,uint256,uint256,uint256)", p[k], e[k], n, m)
    if name in ("ProsumerMatchedTwice", "EVMatchedTwice"):
        indices = p if name == "ProsumerMatchedTwice" else e
        repeated = next(x for k, x in enumerate(indices) if x in indices[:k])
        return custom_error(f"{name}(uint256)", repeated)
    if name == "ZeroBenefitPair":
        k = next(k for k in range(len(p)) if b[p[k], e[k]] == 0)
        return custom_error("ZeroBenefitPair(uint256,uint256)", p[k], e[k])
    if name == "PotentialCountMismatch":
        return custom_error("PotentialCountMismatch(uint256,uint256,uint256,uint256)", n, m, len(u), len(v))
    if name == "DualInfeasible":
        slack = np.asarray(u)[:, None] + np.asarray(v)[None, :] - b
        i, j = (int(x) for x in np.argwhere(slack < 0)[0])
        return custom_error("DualInfeasible(uint256,uint256,uint256,uint256)", i, j, u[i] + v[j], int(b[i, j]))
    assert name == "DualGap", reason
    return custom_error("DualGap(uint256,uint256)", sum(u) + sum(v), int(b[p, e].sum()))


@pytest.fixture
def bid_period(matching, crowd):
    """A closed period of random crowd bids, its on-chain benefit matrix, the optimum and its certificate."""
    bids = random_period(np.random.default_rng(2), crowd.headroom, len(crowd.prosumers))
    period = fresh_bidding_period(matching)
    place_bids(matching, period, crowd.prosumers, crowd.evs, bids)
    close_bidding(matching, period)
    b = benefit_matrix(bids.arrival_net(), bids.arrival_available(), bids.arrival_capacity())
    certified = certified_assignment(b)
    return period, bids, b, certified.assignment, as_ints(certified.u), as_ints(certified.v)


def arrival_accounts(bids, crowd, assignment: Assignment) -> list[tuple[str, str]]:
    """The accounts of bid-index pairs (bid index = arrival position)."""
    return [
        (crowd.prosumers[bids.prosumer_order[i]].address, crowd.evs[bids.ev_order[j]].address)
        for i, j in assignment.pairs()
    ]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("solver", ["hungarian", "auto"])
def test_python_certificate_verifies_on_chain(matching, exchange, crowd, scorer, seed, solver):
    rng = np.random.default_rng(100 + seed)
    bidders = len(crowd.prosumers) if seed % 2 == 0 else 3  # tall and wide matrices
    bids = random_period(rng, crowd.headroom, bidders)
    period = fresh_bidding_period(matching)
    place_bids(matching, period, crowd.prosumers[:bidders], crowd.evs, bids)
    close_bidding(matching, period)

    net, available, capacity = bids.arrival_net(), bids.arrival_available(), bids.arrival_capacity()
    b = benefit_matrix(net, available, capacity)
    assignment = hungarian(b) if solver == "hungarian" else optimal_assignment(net, available, capacity, solver="auto")
    u, v = dual_certificate(b, assignment)
    tx = submit(matching, period, assignment.prosumers, assignment.evs, u, v, scorer)

    assert matched_accounts(exchange, period) == arrival_accounts(bids, crowd, assignment)
    event = tx.events["PeriodMatched"]
    expected = (MatchingMethod.CERTIFIED, len(assignment), assignment.benefit_wh(b))
    assert (event["method"], event["matches"], event["benefitWh"]) == expected
    assert matching.isMatched(period)


def test_optimum_beats_greedy_on_the_same_bids(matching, crowd, bid_period):
    """The fixture's period is one where greedy FIFO leaves energy unmatched that the optimum moves."""
    period, bids, b, optimum, _, _ = bid_period
    greedy = greedy_fifo(bids.arrival_net(), bids.arrival_available(), bids.arrival_capacity())
    assert optimum.benefit_wh(b) > greedy.benefit_wh(b)


def _tight_potentials(b: np.ndarray, assignment: Assignment) -> tuple[list[int], list[int]]:
    """u_i = b_ij on the assignment's pairs, everything else 0: sums to its benefit, feasible only if
    nothing better exists."""
    u = [0] * b.shape[0]
    for i, j in assignment.pairs():
        u[i] = int(b[i, j])
    return u, [0] * b.shape[1]


def tamper(case: str, b: np.ndarray, optimum: Assignment, u: list[int], v: list[int], greedy: Assignment):
    """One broken rule: (prosumer indices, EV indices, u, v)."""
    p, e = as_ints(optimum.prosumers), as_ints(optimum.evs)
    n, m = b.shape
    unmatched = [i for i in range(n) if i not in p]
    if case == "pair arrays differ":
        return p, e[:-1], u, v
    if case == "unknown prosumer bid":
        return [n] + p[1:], e, u, v
    if case == "unknown EV bid":
        return p, e[:-1] + [m + 3], u, v
    if case == "prosumer matched twice":
        return p + [p[0]], e + [e[0]], u, v
    if case == "EV matched twice":
        return p + [unmatched[0]], e + [e[-1]], u, v
    if case == "zero-benefit pair":
        zero = next(i for i in unmatched if not b[i].any())
        return [zero] + p[1:], e, u, v
    if case == "u too short":
        return p, e, u[:-1], v
    if case == "v too long":
        return p, e, u, v + [0]
    if case == "u lowered":
        i = next(i for i in range(n) if u[i] > 0)
        return p, e, u[:i] + [u[i] - 1] + u[i + 1 :], v
    if case == "v lowered":
        j = next(j for j in range(m) if v[j] > 0)
        return p, e, u, v[:j] + [v[j] - 1] + v[j + 1 :]
    if case == "u raised (gap)":
        return p, e, [u[0] + 1] + u[1:], v
    if case == "pair dropped":
        return p[1:], e[1:], u, v
    if case == "greedy pairs, optimum's certificate":
        return as_ints(greedy.prosumers), as_ints(greedy.evs), u, v
    assert case == "greedy pairs, its own tight potentials"
    return (as_ints(greedy.prosumers), as_ints(greedy.evs), *_tight_potentials(b, greedy))


TAMPER_CASES = [
    ("pair arrays differ", "PairArraysMismatch"),
    ("unknown prosumer bid", "UnknownBid"),
    ("unknown EV bid", "UnknownBid"),
    ("prosumer matched twice", "ProsumerMatchedTwice"),
    ("EV matched twice", "EVMatchedTwice"),
    ("zero-benefit pair", "ZeroBenefitPair"),
    ("u too short", "PotentialCountMismatch"),
    ("v too long", "PotentialCountMismatch"),
    ("u lowered", "DualInfeasible"),
    ("v lowered", "DualInfeasible"),
    ("u raised (gap)", "DualGap"),
    ("pair dropped", "DualGap"),
    ("greedy pairs, optimum's certificate", "DualGap"),
    ("greedy pairs, its own tight potentials", "DualInfeasible"),
]


@pytest.mark.parametrize("case,rule", TAMPER_CASES, ids=[c for c, _ in TAMPER_CASES])
def test_tampered_certificate_reverts_and_changes_nothing(matching, exchange, scorer, bid_period, case, rule):
    period, bids, b, optimum, u, v = bid_period
    greedy = greedy_fifo(bids.arrival_net(), bids.arrival_available(), bids.arrival_capacity())
    p_bad, e_bad, u_bad, v_bad = tamper(case, b, optimum, u, v, greedy)
    expected = expected_revert(b, p_bad, e_bad, u_bad, v_bad)
    assert expected.startswith(rule)
    with brownie.reverts(expected):
        submit(matching, period, p_bad, e_bad, u_bad, v_bad, scorer)
    assert not matching.isMatched(period)
    assert exchange.periodMatches(period)[0] is False


def test_honest_certificate_accepted_after_rejected_ones(matching, exchange, crowd, scorer, bid_period):
    period, bids, b, optimum, u, v = bid_period
    with brownie.reverts(expected_revert(b, as_ints(optimum.prosumers), as_ints(optimum.evs), [u[0] + 1] + u[1:], v)):
        submit(matching, period, optimum.prosumers, optimum.evs, [u[0] + 1] + u[1:], v, scorer)
    submit(matching, period, optimum.prosumers, optimum.evs, u, v, scorer)
    assert matched_accounts(exchange, period) == arrival_accounts(bids, crowd, optimum)


def test_only_scorer_submits(matching, meter, outsider, bid_period):
    period, _, _, optimum, u, v = bid_period
    for caller in (outsider, meter):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("SCORER"))):
            submit(matching, period, optimum.prosumers, optimum.evs, u, v, caller)
    assert not matching.isMatched(period)


def test_result_accepted_once(matching, scorer, outsider, bid_period):
    period, _, _, optimum, u, v = bid_period
    submit(matching, period, optimum.prosumers, optimum.evs, u, v, scorer)
    already = custom_error(ALREADY_ACCEPTED, matching.MECHANISM(), period)
    with brownie.reverts(already):
        submit(matching, period, optimum.prosumers, optimum.evs, u, v, scorer)
    with brownie.reverts(already):
        matching.matchGreedy(period, {"from": outsider})


def test_certified_after_greedy_reverts(matching, scorer, outsider, bid_period):
    period, _, _, optimum, u, v = bid_period
    matching.matchGreedy(period, {"from": outsider})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, matching.MECHANISM(), period)):
        submit(matching, period, optimum.prosumers, optimum.evs, u, v, scorer)


def test_assignment_before_bidding_closes_reverts(matching, crowd, scorer):
    period = fresh_bidding_period(matching)
    matching.bidProsumer(period, 1_000, {"from": crowd.prosumers[0]})
    matching.bidEV(period, 0, 500, {"from": crowd.evs[0]})
    with brownie.reverts(custom_error("BiddingNotClosed(uint256,uint256)", period, matching.biddingClosesAt(period))):
        submit(matching, period, [0], [0], [500], [0], scorer)
    assert not matching.isMatched(period)


def test_certified_result_needs_no_greedy_delay(deploy_matching, exchange, crowd, scorer):
    """With a greedy fallback delay, the SCORER may submit as soon as bidding closes."""
    fallback = deploy_matching(greedy_delay=3_600)
    period = fresh_bidding_period(fallback)
    fallback.bidProsumer(period, 1_000, {"from": crowd.prosumers[0]})
    fallback.bidProsumer(period, 2_000, {"from": crowd.prosumers[1]})
    fallback.bidEV(period, 0, 1_500, {"from": crowd.evs[0]})
    close_bidding(fallback, period)
    certified = certified_assignment(np.array(fallback.benefitMatrix(period), dtype=np.int64))
    submit(fallback, period, certified.assignment.prosumers, certified.assignment.evs, certified.u, certified.v, scorer)
    assert matched_accounts(exchange, period) == [(crowd.prosumers[1].address, crowd.evs[0].address)]


def test_no_bids_no_pairs(matching, exchange, scorer):
    period = fresh_bidding_period(matching)
    close_bidding(matching, period)
    tx = submit(matching, period, [], [], [], [], scorer)
    assert tx.events["PeriodMatched"]["matches"] == 0
    assert exchange.periodMatches(period)[0] is True
