"""Fixtures of the Proof-of-Benefit contract tests (seed 003 Ch5-6) on the shared foundation: five peers
(the three prosumers and two EVs with VALIDATOR, joined), a BenefitConsensus of 300-s rounds and its
BenefitSettlement."""

from __future__ import annotations

import pytest
from pob_support import (
    COMMIT_SECONDS,
    MAX_PROPOSALS,
    MAX_TRADES,
    MAX_WINDOW,
    REVEAL_END_SECONDS,
    ROUND_SECONDS,
    RoundDriver,
    latest_time,
    warp,
)

from offchain.chain.roles import role_id


@pytest.fixture(scope="module")
def peers(prosumers, evs, registry, admin):
    members = list(prosumers) + list(evs)
    for peer in members:
        registry.grantRole(role_id("VALIDATOR"), peer, {"from": admin})
    return members


@pytest.fixture(scope="module")
def consensus(BenefitConsensus, registry, peers, admin):
    genesis = latest_time()
    deployed = BenefitConsensus.deploy(registry, genesis, ROUND_SECONDS, COMMIT_SECONDS, REVEAL_END_SECONDS,
                                       MAX_PROPOSALS, MAX_WINDOW, {"from": admin})
    for peer in peers:
        deployed.join({"from": peer})
    warp(genesis + ROUND_SECONDS)  # every peer is active from round 1
    return deployed


@pytest.fixture(scope="module")
def driver(consensus):
    return RoundDriver(consensus)


@pytest.fixture(scope="module")
def settlement(BenefitSettlement, upos, consensus, admin):
    return BenefitSettlement.deploy(upos, consensus, MAX_TRADES, {"from": admin})
