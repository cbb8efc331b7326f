"""The network model: latencies of PoW, PBFT and ePoB, and the Sybil vote following BenefitConsensus."""

import numpy as np
import pytest

from offchain.algorithms.netsim import (
    epob_latency,
    pbft_latency,
    pbft_messages,
    pob_winner,
    poisson_arrivals,
    pow_latency,
    sybil_experiment,
)


def test_latencies_are_positive_and_ordered():
    rng = np.random.default_rng(0)
    arrivals = poisson_arrivals(5, 1_800, rng)
    pow_, pbft, epob = pow_latency(arrivals, rng), pbft_latency(arrivals, rng), epob_latency(arrivals, rng)
    for latency in (pow_, pbft, epob):
        assert latency.shape == arrivals.shape and np.all(latency > 0)
    assert np.mean(pbft) < np.mean(epob) < np.mean(pow_)
    assert 60 < np.mean(epob) < 130  # half a round waiting, one round, gossip
    assert np.all(pow_ >= 0)


def test_pbft_saturates_beyond_its_capacity():
    rng = np.random.default_rng(1)
    below = pbft_latency(poisson_arrivals(60, 300, rng), rng)
    above = pbft_latency(poisson_arrivals(180, 300, rng), rng)
    assert np.mean(above) > 10 * np.mean(below)
    assert pbft_messages(15) == 15 + 2 * 225


def test_pob_winner_is_the_contract_rule():
    assert pob_winner([5, 9], [4, 3], 5) == 0  # 3 is not more than 5/2 + 1
    assert pob_winner([5, 9], [4, 4], 5) == 1  # both valid: the higher benefit
    assert pob_winner([5, 5], [4, 4], 5) == 0  # tie: the first revealed
    assert pob_winner([5], [3], 5) is None


def test_sybil_accuracy_holds_until_half_the_validators():
    rng = np.random.default_rng(2)
    points = [sybil_experiment(15, k, 200, rng) for k in range(16)]
    assert points[0].accuracy == pytest.approx(1.0, abs=0.02)
    assert all(p.compromised == 0 for p in points if p.attackers <= 7)
    assert points[15].compromised == 1.0
    for p in points:
        assert p.accuracy + p.compromised + p.stalled == pytest.approx(1.0)
    with pytest.raises(ValueError):
        sybil_experiment(15, 16, 1, rng)
