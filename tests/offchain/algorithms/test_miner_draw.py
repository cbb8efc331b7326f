"""Commit-reveal seed, weighted miner draw, validator choice and penalties (seed 001, eqs 3.16, 3.24)."""

import numpy as np
import pytest
from eth_utils import keccak, to_canonical_address

from offchain.algorithms.miner_draw import (
    CommitDomain,
    NoEligibleCoalition,
    address_key,
    canonical_partition,
    combine_reveals,
    commitment,
    draw,
    draw_hash,
    resolve_miner,
    reveal_matches,
    slash,
    validator_of,
)

ALICE = "0x" + "11" * 20
BOB = "0x" + "0a" * 20
SECRET = bytes(range(32))


def test_commitment_is_keccak_of_abi_encoded_secret_address_slot_contract_and_chain():
    domain = CommitDomain(7, BOB, 43113)
    word = lambda n: n.to_bytes(32, "big")  # noqa: E731
    expected = keccak(SECRET + b"\x00" * 12 + to_canonical_address(ALICE) + word(7) + b"\x00" * 12
                      + to_canonical_address(BOB) + word(43113))
    assert commitment(SECRET, ALICE, domain) == expected
    assert reveal_matches(expected, SECRET, ALICE, domain)
    assert not reveal_matches(expected, SECRET, BOB, domain)  # a copied commitment is useless to someone else
    assert not reveal_matches(expected, bytes(32), ALICE, domain)
    for other in (CommitDomain(8, BOB, 43113), CommitDomain(7, ALICE, 43113), CommitDomain(7, BOB, 31337)):
        assert not reveal_matches(expected, SECRET, ALICE, other)  # good for one draw only
    with pytest.raises(ValueError):
        commitment(b"short", ALICE, domain)


def test_combining_reveals():
    a, b = keccak(b"a"), keccak(b"b")
    xor = combine_reveals({ALICE: a, BOB: b}, "xor")
    assert xor == (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(32, "big")
    assert combine_reveals({BOB: b, ALICE: a}, "xor") == xor
    # hashing orders by address (BOB's 0x0a.. < ALICE's 0x11..), whatever the reveal order
    assert combine_reveals({ALICE: a, BOB: b}, "hash") == keccak(b + a)
    assert combine_reveals({BOB: b, ALICE: a}, "hash") == keccak(b + a)
    with pytest.raises(ValueError):
        combine_reveals({}, "xor")


def test_draw_is_r_mod_total_walked_over_cumulative_weights():
    seed = keccak(b"slot 7")
    weights = [0, 5, 3, 0, 2]
    r = int.from_bytes(keccak(seed), "big") % 10
    expected = next(i for i, c in enumerate(np.cumsum(weights)) if r < c)
    assert draw(seed, weights) == expected
    assert draw(seed, weights) == draw(seed, list(weights))  # reproducible
    # the k-th redraw hashes once more: h_1 = keccak(h_0)
    assert draw(seed, weights, attempt=1) == draw(keccak(seed), weights)
    assert draw_hash(seed, 2) == keccak(keccak(keccak(seed)))


def test_frequencies_match_score_ratios():
    weights = [7_680, 1_070, 2_840, 0, 3_000]
    n = 20_000
    counts = np.bincount([draw(k.to_bytes(32, "big"), weights) for k in range(n)], minlength=len(weights))
    expected = np.array(weights) / sum(weights)
    assert counts[3] == 0
    # 4 standard deviations of a binomial share at n = 20,000 is at most 1.4 percentage points
    assert np.all(np.abs(counts / n - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 1e-12)


def test_excluded_coalitions_are_never_drawn():
    weights = [5, 3, 2]
    for k in range(300):
        assert draw(k.to_bytes(32, "big"), weights, excluded={0}) != 0
    with pytest.raises(NoEligibleCoalition):
        draw(SECRET, weights, excluded={0, 1, 2})
    with pytest.raises(NoEligibleCoalition):
        draw(SECRET, [0, 0])


def test_validator_is_the_best_member_ties_to_the_lower_address():
    scores = [10, 40, 40, 5]
    addresses = [1, 30, 20, 4]
    assert validator_of([0, 1, 2, 3], scores, addresses) == 2
    assert validator_of([0, 3], scores, addresses) == 0


def test_canonical_partition_orders_by_address():
    addresses = [50, 10, 40, 30]
    assert canonical_partition([(0, 1), (2, 3)], addresses) == [[1, 0], [3, 2]]
    assert address_key(BOB) < address_key(ALICE)


def test_slash_burns_a_floored_fraction():
    assert slash(1_000, 2_500) == (250, 750)
    assert slash(999, 3_333) == (332, 667)
    with pytest.raises(ValueError):
        slash(10, 10_001)


#: A small slot for the penalty tests: three coalitions, their weights, and locked stakes per member.
PARTITION = [[0, 1], [2], [3, 4]]
MEMBER_SCORES = [6, 1, 5, 2, 2]
WEIGHTS = [7, 5, 4]
KEYS = [1, 2, 3, 4, 5]
STAKES = {0: 1_000, 2: 500, 3: 800}


def test_failing_validators_are_slashed_their_coalition_excluded_and_the_draw_repeated():
    for k in range(40):
        seed = k.to_bytes(32, "big")
        honest = resolve_miner(seed, WEIGHTS, PARTITION, MEMBER_SCORES, KEYS)
        assert honest.winner == draw(seed, WEIGHTS) and honest.slashed == {} and len(honest.attempts) == 1
        first = honest.validator
        outcome = resolve_miner(seed, WEIGHTS, PARTITION, MEMBER_SCORES, KEYS, {first}, STAKES, 5_000)
        assert outcome.slashed == {first: STAKES[first] // 2}
        assert outcome.withheld == (first,)
        assert outcome.excluded == (honest.winner,)
        assert outcome.winner != honest.winner
        assert outcome.winner == draw(seed, WEIGHTS, excluded={honest.winner}, attempt=1)
    everyone = resolve_miner(SECRET, WEIGHTS, PARTITION, MEMBER_SCORES, KEYS, {0, 2, 3})
    assert everyone.winner is None and sorted(everyone.excluded) == [0, 1, 2] and len(everyone.attempts) == 3


def test_a_validator_without_a_bonded_stake_is_skipped_without_a_slash():
    for k in range(40):
        seed = k.to_bytes(32, "big")
        honest = resolve_miner(seed, WEIGHTS, PARTITION, MEMBER_SCORES, KEYS)
        leaver = honest.validator
        outcome = resolve_miner(seed, WEIGHTS, PARTITION, MEMBER_SCORES, KEYS, (), STAKES, 5_000, {leaver})
        skipped = outcome.attempts[0]
        assert skipped.skipped and not skipped.mined and skipped.validator == leaver
        assert outcome.slashed == {} and outcome.withheld == ()
        assert outcome.excluded == (honest.winner,)
        assert outcome.winner == draw(seed, WEIGHTS, excluded={honest.winner}, attempt=1)
        assert outcome.attempts[1].attempt == 1  # a skip uses up an attempt, as on chain
