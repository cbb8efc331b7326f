"""FogModelRegistry: the SCORER (aggregator worker) records each FedAvg round of
offchain.algorithms.forecasting (version, sha256 content hash, contributors and sample counts);
each version is an accept-once result key (MECHANISM, version) and versions strictly increase; bad
rounds revert and change nothing."""

import brownie
import pytest
import torch
from brownie import web3
from contract_helpers import ALREADY_ACCEPTED, UNAUTHORIZED, custom_error

from offchain.algorithms.forecasting import FedAvgAggregator, ModelUpdate, state_hash
from offchain.chain.roles import role_id

NOT_INCREASING = "VersionNotIncreasing(uint256,uint256)"
ZERO_HASH = "0x" + "00" * 32


def hex32(value) -> str:
    """A bytes32 return value as "0x" + 64 hex digits (forecasting.state_hash's form)."""
    return "0x" + bytes(value).hex()


@pytest.fixture
def rounds(prosumers):
    """Two FedAvg rounds over three fog nodes (named by their prosumer's address), as the aggregator
    makes them: version 0 (the initial model, no contributors) and version 1."""
    initial = {"lstm.weight": torch.zeros(2, 3), "head.bias": torch.ones(2)}
    aggregator = FedAvgAggregator(initial)
    updates = [
        ModelUpdate(p.address, samples, {name: t + k for name, t in initial.items()})
        for k, (p, samples) in enumerate(zip(prosumers, (30, 10, 20)))
    ]
    aggregator.aggregate(updates, period=42)
    return aggregator.rounds


def publish(fog_models, model_round, sender):
    """Publishes a forecasting.ModelRound, contributors in ascending address order as the contract wants."""
    ordered = sorted(zip(model_round.contributors, model_round.sample_counts), key=lambda c: int(c[0], 16))
    return fog_models.publishRound(
        model_round.version,
        model_round.content_hash,
        [c for c, _ in ordered],
        [s for _, s in ordered],
        {"from": sender},
    )


def test_rounds_are_recorded(fog_models, scorer, rounds):
    published, version, content_hash = fog_models.latest()
    assert (published, version, hex32(content_hash)) == (False, 0, ZERO_HASH)
    publish(fog_models, rounds[0], scorer)
    tx = publish(fog_models, rounds[1], scorer)

    published, version, content_hash = fog_models.latest()
    assert (published, version, hex32(content_hash)) == (True, 1, rounds[1].content_hash)
    assert fog_models.roundCount() == 2
    expected = sorted(zip(rounds[1].contributors, rounds[1].sample_counts), key=lambda c: int(c[0], 16))
    stored_hash, published_at, aggregator, contributions = fog_models.roundOf(1)
    assert hex32(stored_hash) == rounds[1].content_hash
    assert published_at == brownie.web3.eth.get_block(tx.block_number).timestamp
    assert aggregator == scorer
    assert [tuple(c) for c in contributions] == expected
    assert list(fog_models.roundOf(0)[3]) == []
    event = tx.events["ModelRoundPublished"]
    assert (event["version"], hex32(event["contentHash"]), event["aggregator"]) == (1, rounds[1].content_hash, scorer)
    assert list(zip(event["contributors"], event["sampleCounts"])) == expected


def test_content_hash_is_the_python_state_hash(rounds):
    """The recorded hash identifies the averaged parameters: sample-weighted mean of the updates."""
    initial = {"lstm.weight": torch.zeros(2, 3), "head.bias": torch.ones(2)}
    weights = (30, 10, 20)
    mean = {name: sum(w * (t + k) for k, w in enumerate(weights)) / sum(weights) for name, t in initial.items()}
    assert rounds[1].content_hash == state_hash(mean)


def test_each_version_is_accepted_once(fog_models, scorer, rounds):
    mechanism = fog_models.MECHANISM()
    assert hex32(mechanism) == hex32(web3.keccak(text="seed000.fedavg"))
    assert not fog_models.isAccepted(mechanism, 1)
    tx = publish(fog_models, rounds[1], scorer)
    assert fog_models.isAccepted(mechanism, 1) and not fog_models.isAccepted(mechanism, 0)
    accepted = tx.events["ResultAccepted"]
    assert (hex32(accepted["mechanism"]), accepted["slot"], accepted["submitter"]) == (hex32(mechanism), 1, scorer)
    # The same round sent again (a restarted worker) hits the accept-once key before the version rule.
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, mechanism, 1)):
        publish(fog_models, rounds[1], scorer)
    assert fog_models.roundCount() == 1


def test_versions_strictly_increase(fog_models, scorer, rounds, prosumers):
    publish(fog_models, rounds[0], scorer)
    fog_models.publishRound(2, "0x" + "11" * 32, [], [], {"from": scorer})
    with brownie.reverts(custom_error(NOT_INCREASING, 1, 2)):  # never published, but below the latest
        publish(fog_models, rounds[1], scorer)
    for version in (0, 2):  # published: refused as keys already accepted
        with brownie.reverts(custom_error(ALREADY_ACCEPTED, fog_models.MECHANISM(), version)):
            fog_models.publishRound(version, "0x" + "11" * 32, [], [], {"from": scorer})
    fog_models.publishRound(7, "0x" + "11" * 32, [], [], {"from": scorer})  # gaps are allowed
    assert fog_models.latest()[1] == 7
    with brownie.reverts(custom_error("UnknownVersion(uint256)", 3)):
        fog_models.roundOf(3)


def test_first_round_may_have_any_version(fog_models, scorer):
    fog_models.publishRound(5, "0x" + "22" * 32, [], [], {"from": scorer})
    with brownie.reverts(custom_error(NOT_INCREASING, 4, 5)):
        fog_models.publishRound(4, "0x" + "33" * 32, [], [], {"from": scorer})


def test_bad_rounds_revert_and_change_nothing(fog_models, registry, operator, scorer, prosumers, evs, outsider):
    ascending = sorted([prosumers[0], prosumers[1], evs[0]], key=lambda a: int(a.address, 16))
    digest = "0x" + "44" * 32
    with brownie.reverts(custom_error("ZeroContentHash()")):
        fog_models.publishRound(1, ZERO_HASH, [], [], {"from": scorer})
    with brownie.reverts(custom_error("ContributorCountMismatch(uint256,uint256)", 3, 2)):
        fog_models.publishRound(1, digest, ascending, [1, 2], {"from": scorer})
    with brownie.reverts(custom_error("ContributorsNotAscending(uint256)", 2)):
        fog_models.publishRound(1, digest, [ascending[0], ascending[2], ascending[1]], [1, 2, 3], {"from": scorer})
    with brownie.reverts(custom_error("ContributorsNotAscending(uint256)", 1)):
        fog_models.publishRound(1, digest, [ascending[0], ascending[0]], [1, 2], {"from": scorer})
    with brownie.reverts(custom_error("ContributorNotActive(address)", outsider)):
        fog_models.publishRound(1, digest, [outsider], [1], {"from": scorer})
    registry.setActive(ascending[1], False, {"from": operator})
    with brownie.reverts(custom_error("ContributorNotActive(address)", ascending[1])):
        fog_models.publishRound(1, digest, ascending, [1, 2, 3], {"from": scorer})
    assert fog_models.roundCount() == 0
    assert fog_models.latest()[0] is False
    assert not fog_models.isAccepted(fog_models.MECHANISM(), 1)  # a reverted round leaves its key free


def test_only_scorer_publishes(fog_models, meter, outsider):
    for caller in (outsider, meter):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("SCORER"))):
            fog_models.publishRound(0, "0x" + "55" * 32, [], [], {"from": caller})
