"""Seed 000's federated forecasts with their FedAvg rounds published on FogModelRegistry by the
fedavg-aggregator worker (offchain.mechanisms.fog_ems.chain_rounds), on embedded Anvil chains.

A fast forecaster (a 60-period buffer, batches of 32, one hour of warm-up history) keeps the LSTMs cheap;
the rounds, the worker and the contracts are the real ones. The chain publishes one round every 30
observed periods, each from the five prosumers, with the in-memory FedAvgAggregator's content hashes, and a
short window bid with those forecasts gives simulate_day's figures and bids exactly."""

from __future__ import annotations

from contextlib import closing

import pytest
from web3 import Web3

from offchain.algorithms.forecasting import FederatedConfig, new_global_state
from offchain.data.seed000 import synthetic_microgrid
from offchain.mechanisms.fog_ems.chain_run import compare_with_model, open_chain_day, run_day_on_chain
from offchain.mechanisms.fog_ems.chain_rounds import ChainRoundAggregator
from offchain.mechanisms.fog_ems.federated import FederatedSetup, federated_bids

pytestmark = pytest.mark.chain

SETUP = FederatedSetup(FederatedConfig(buffer_periods=60, batch_size=32), history_periods=60)
WINDOW = (600, 4)  #: four morning periods: the prosumers trade with the EVs in most steps
EVS = 2


@pytest.fixture(scope="module")
def chain_run():
    return run_day_on_chain(evs=EVS, method="greedy", window=WINDOW, forecast="federated", progress=False,
                            federated=SETUP)


def test_federated_chain_day_gives_the_model_figures_and_bids(chain_run):
    comparison = compare_with_model(chain_run)
    assert comparison["differences"] == []  # bids included: on-chain and in-memory FedAvg are bit-identical
    assert comparison["identical"]
    assert len(chain_run.exchange) > 10
    # the rounds are setup: one per 30 periods of history, periods before the window and the window
    rounds = (SETUP.history_periods + WINDOW[0] + WINDOW[1]) // SETUP.config.aggregate_every
    assert len(chain_run.model_round_gas) == rounds
    assert all(200_000 < gas < 400_000 for gas in chain_run.model_round_gas)
    assert chain_run.summary()["model_rounds"] == {"published": rounds, "gas": sum(chain_run.model_round_gas)}
    assert [g.period for g in chain_run.period_gas] == list(range(WINDOW[0], WINDOW[0] + WINDOW[1]))
    assert all(g.transactions == 10 for g in chain_run.period_gas)


def test_rounds_on_chain_are_the_in_memory_rounds(tmp_path):
    data = synthetic_microgrid()
    through = 65  # with the hour of history: 125 periods, 4 rounds
    bids, rounds = federated_bids(data, through, SETUP)
    with open_chain_day(tmp_path, n_prosumers=len(data.agents), n_evs=1, first_period=through,
                        method="greedy") as day:
        addresses = {agent: client.address for agent, client in zip(data.agents, day.prosumers)}
        with closing(ChainRoundAggregator(day.chain, addresses, new_global_state(SETUP.config))) as fog:
            chain_bids, chain_rounds = federated_bids(data, through, SETUP, aggregator=fog)
        assert day.chain.call("FogModelRegistry", "roundCount") == len(rounds) - 1 == 4
        ascending = sorted(addresses.values(), key=lambda a: int(a, 16))
        for memory, chain in zip(rounds[1:], chain_rounds[1:], strict=True):
            content_hash, _, aggregator, contributions = day.chain.call("FogModelRegistry", "roundOf", memory.version)
            assert Web3.to_hex(content_hash) == chain.content_hash == memory.content_hash
            assert aggregator == day.chain.scorer.address
            assert [c[0] for c in contributions] == ascending == list(chain.contributors)
            samples = {addresses[agent]: n for agent, n in zip(memory.contributors, memory.sample_counts)}
            assert [c[1] for c in contributions] == [samples[a] for a in ascending] == list(chain.sample_counts)
            assert chain.period == memory.period
        assert fog.store.load_global(chain_rounds[-1].content_hash)  # the last global model is in the store
    assert rounds[0] == chain_rounds[0]  # the same initial model (version 0, never published)
    assert (chain_bids == bids).all()
