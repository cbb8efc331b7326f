"""The fedavg-aggregator worker (seed 000) and its model store.

Three fog nodes (forecasting.LocalTrainer, a tiny LSTM, on a few midday periods of the synthetic microgrid)
drop their updates into a model store; the worker publishes each round to a FogModelRegistry on an embedded
Anvil exactly as FedAvgAggregator computes it in Python, and writes the global model to the store under the
hash recorded on chain. One chain per module (the suite and the participants); every test deploys its own
FogModelRegistry and signs with its own SCORER client, so tests do not share rounds or nonce bookkeeping.
"""

from __future__ import annotations

import dataclasses
import io
import re
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from web3 import Web3

from offchain.algorithms.forecasting import (
    CONSUMPTION,
    PRODUCTION,
    FedAvgAggregator,
    FederatedConfig,
    LocalTrainer,
    ModelUpdate,
    new_global_state,
    period_totals,
    state_hash,
)
from offchain.chain import (
    ChainClient,
    EmbeddedAnvil,
    Manifest,
    accounts_from_mnemonic,
    connect,
    deploy_suite,
    get_network,
    start_node,
)
from offchain.data.seed000 import synthetic_microgrid
from offchain.mechanisms import SUITE, WORKERS
from offchain.workers import WorkerOptionError, open_worker, parse_worker_options, run_worker
from offchain.mechanisms.fog_ems.fedavg import MECHANISM
from offchain.workers.model_store import UPDATE_FORMAT, ModelStore, ModelStoreError
from offchain.workers.runtime import FaultInjector, RunSummary, Worker
from offchain.workers.state import Status

ADMIN, OPERATOR, SCORER = 0, 1, 3
FOG_NODES = (4, 5, 6)  #: the prosumers whose fog nodes train; a node is named by its prosumer's address
OUTSIDER = 9  #: never registered
AGENTS = ("L1", "R2", "Z0")  #: the synthetic prosumers whose data the three nodes hold
FIRST_PERIOD = 600  #: 10:00, PV producing
CONFIG = FederatedConfig(hidden_size=4, num_layers=1, buffer_periods=12, batch_size=None)
ROUND_1 = (5, 6, 8)  #: periods each node observes before round 1: 2, 3 and 5 training windows
ROUND_2 = (4, 6, 5)  #: ... and before round 2 (after loading round 1's model): 4, 6 and 5 windows
ACCOUNTS = accounts_from_mnemonic(count=10)
ADDRESSES = [account.address for account in ACCOUNTS]


@pytest.fixture(scope="module")
def series() -> dict[str, np.ndarray]:
    """agent -> its period totals from FIRST_PERIOD on, [consumption, production] kWh."""
    totals = period_totals({a: f for a, f in synthetic_microgrid(history_days=0).frames.items() if a in AGENTS})
    return {agent: group.loc[group["period"] >= FIRST_PERIOD, [CONSUMPTION, PRODUCTION]].to_numpy()
            for agent, group in totals.groupby("agent")}


@dataclass
class Community:
    """The module's chain: the suite deployed, the fog nodes' prosumers registered."""

    anvil: EmbeddedAnvil
    manifest: Manifest
    admin: ChainClient
    series: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def community(tmp_path_factory, series) -> Community:
    with EmbeddedAnvil(chain_id=31337) as anvil:
        w3 = connect(anvil.rpc_url, expected_chain_id=31337)
        admin, operator = ChainClient(w3, ACCOUNTS[ADMIN]), ChainClient(w3, ACCOUNTS[OPERATOR])
        manifest = deploy_suite(admin, get_network("local"), manifest_dir=tmp_path_factory.mktemp("deployments"), suite=SUITE)
        registry = operator.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
        for i in FOG_NODES:
            operator.transact(registry.functions.register(ADDRESSES[i], 1, 100 * i, 0, 0, 0, 0))
        yield Community(anvil, manifest, admin, series)


class FogNode:
    """A prosumer–EV pair's fog node: its prosumer's period totals (they stay here) and a LocalTrainer."""

    def __init__(self, address: str, series: np.ndarray, initial: dict[str, torch.Tensor]) -> None:
        self.address = address
        self.series = series
        self.trainer = LocalTrainer(address, initial, CONFIG)
        self.base_hash = state_hash(initial)  # the global model it trains from
        self.seen = 0

    def train(self, periods: int) -> None:
        for consumption, production in self.series[self.seen : self.seen + periods]:
            self.trainer.observe(FIRST_PERIOD + self.seen, float(consumption), float(production))
            self.seen += 1

    def drop(self, store: ModelStore, version: int) -> ModelUpdate:
        update = self.trainer.update()
        store.put_update(version, update, self.base_hash)
        return update

    def pull(self, store: ModelStore, fog_models) -> None:
        """Loads the latest published global model from the store, checked against the hash on chain."""
        published, _, content_hash = fog_models.functions.latest().call()
        assert published
        self.base_hash = Web3.to_hex(content_hash)
        self.trainer.load_global(store.load_global(self.base_hash))


class Federation:
    """One test's FogModelRegistry (in `manifest` in place of the suite's), model store, worker state folder, fog
    nodes, and the Python reference."""

    def __init__(self, community: Community, tmp_path: Path) -> None:
        admin = community.admin
        registry = community.manifest.address("ParticipantRegistry")
        receipt = admin.transact(admin.constructor("FogModelRegistry", registry))
        self.deploy_block = receipt["blockNumber"]
        self.manifest = dataclasses.replace(
            community.manifest, deploy_block=self.deploy_block,
            contracts={**community.manifest.contracts, "FogModelRegistry": receipt["contractAddress"]})
        self.scorer = ChainClient(admin.w3, ACCOUNTS[SCORER])
        self.fog_models = self.scorer.contract("FogModelRegistry", receipt["contractAddress"])
        self.store = ModelStore(tmp_path / "store")
        self.state_dir = tmp_path
        initial = new_global_state(CONFIG)
        self.nodes = [FogNode(ADDRESSES[i], community.series[a], initial) for i, a in zip(FOG_NODES, AGENTS)]
        self.reference = FedAvgAggregator(initial)

    @property
    def addresses(self) -> list[str]:
        return [node.address for node in self.nodes]

    def worker(self, faults: FaultInjector | None = None, contributors: list[str] | None = None) -> Worker:
        """The fedavg-aggregator opened from its spec, as `kwx worker` and the chain run open it."""
        options = {"store_dir": self.store.root, "contributors": contributors or self.addresses}
        return open_worker(WORKERS["fedavg-aggregator"], self.scorer, self.manifest, self.state_dir, options=options,
                           faults=faults or FaultInjector())

    def run(self, **kwargs) -> RunSummary:
        with self.worker(**kwargs) as worker:
            return worker.run_once()

    def train_and_drop(self, version: int, periods: tuple[int, ...], nodes: list[FogNode] | None = None
                       ) -> list[ModelUpdate]:
        """Each node trains on its next `periods[k]` periods and drops its update for round `version`."""
        updates = []
        for node, count in zip(nodes or self.nodes, periods):
            node.train(count)
            updates.append(node.drop(self.store, version))
        return updates

    def pull_all(self) -> None:
        for node in self.nodes:
            node.pull(self.store, self.fog_models)

    def published(self) -> list[tuple[int, str, dict[str, int]]]:
        """(version, content hash, {contributor: samples}) of every ModelRoundPublished, oldest first."""
        logs = self.fog_models.events.ModelRoundPublished.get_logs(from_block=self.deploy_block)
        return [(e["args"]["version"], Web3.to_hex(e["args"]["contentHash"]),
                 dict(zip(e["args"]["contributors"], e["args"]["sampleCounts"]))) for e in logs]

    def acceptances(self, version: int) -> list[str]:
        logs = self.fog_models.events.ResultAccepted.get_logs(
            from_block=self.deploy_block, argument_filters={"mechanism": MECHANISM, "slot": version})
        return [Web3.to_hex(e["transactionHash"]) for e in logs]


@pytest.fixture
def fed(community, tmp_path) -> Federation:
    return Federation(community, tmp_path)


class WorkerKilled(Exception):
    """Stands in for the process dying at the injected crash point."""


def kill() -> None:
    raise WorkerKilled


# --- the worker on chain ---------------------------------------------------------------------------------------


@pytest.mark.chain
def test_rounds_are_published_as_fedavg_computes_them(fed):
    round_1 = fed.reference.aggregate(fed.train_and_drop(1, ROUND_1))
    summary = fed.run()
    assert (summary.results, summary.accepted) == (1, 1)
    samples = {node.address: periods - CONFIG.window_periods for node, periods in zip(fed.nodes, ROUND_1)}
    assert fed.published() == [(1, round_1.content_hash, samples)]
    content_hash, _, aggregator, contributions = fed.fog_models.functions.roundOf(1).call()
    assert (Web3.to_hex(content_hash), aggregator) == (round_1.content_hash, fed.scorer.address)
    assert [c for c, _ in contributions] == sorted(fed.addresses, key=lambda a: int(a, 16))
    # the store holds the averaged model under the recorded hash (load_global checks the parameters against it)
    stored = fed.store.load_global(round_1.content_hash)
    assert all(torch.equal(stored[name], tensor) for name, tensor in fed.reference.global_state().items())

    # Round 2 builds on round 1. A node that has not pulled round 1 is refused, with nothing sent ...
    for node in fed.nodes[1:]:
        node.pull(fed.store, fed.fog_models)
    fed.train_and_drop(2, ROUND_2)
    refused = fed.run()
    assert (refused.failed, refused.accepted) == (1, 0)  # journaled failed with the reason, retried later
    with sqlite3.connect(fed.state_dir / "fedavg-aggregator.sqlite") as db:
        (error,) = db.execute("SELECT error FROM journal WHERE slot = 2").fetchone()
    assert re.search(rf"round 2: the updates of \['{fed.nodes[0].address}'\] were not trained from round 1's global "
                     r"model", error)
    assert fed.fog_models.functions.roundCount().call() == 1
    # ... until it pulls round 1 from the store (checked against the chain), retrains and drops a new update.
    fed.nodes[0].pull(fed.store, fed.fog_models)
    fresh = fed.train_and_drop(2, ROUND_2[:1], nodes=fed.nodes[:1])
    round_2 = fed.reference.aggregate(fresh + [node.trainer.update() for node in fed.nodes[1:]])
    summary = fed.run()
    assert (summary.results, summary.accepted) == (1, 1)
    assert fed.published()[1] == (2, round_2.content_hash, dict(zip(fed.addresses, ROUND_2)))
    published, version, content_hash = fed.fog_models.functions.latest().call()
    assert (published, version, Web3.to_hex(content_hash)) == (True, 2, round_2.content_hash)
    fed.pull_all()
    assert all(state_hash(node.trainer.update().state) == round_2.content_hash for node in fed.nodes)
    assert fed.run().results == 0  # nothing for round 3 yet


@pytest.mark.chain
def test_worker_killed_after_sending_publishes_each_round_once(fed):
    fed.train_and_drop(1, ROUND_1)
    nonce = fed.scorer.w3.eth.get_transaction_count(fed.scorer.address)
    with fed.worker(FaultInjector("after_send", action=kill)) as worker:
        with pytest.raises(WorkerKilled):
            worker.run_once()
        entry = worker.state.entry(MECHANISM, 1)
        assert entry.status is Status.SIGNED
        sent = entry.tx_hash
    with fed.worker() as worker:  # the restart: same state file, no crash
        summary = worker.run_once()
        assert (summary.accepted, summary.results) == (1, 0)  # settled the open entry, computed nothing new
        entry = worker.state.entry(MECHANISM, 1)
        assert (entry.status, entry.tx_hash) == (Status.ACCEPTED, sent)
    fed.pull_all()
    fed.train_and_drop(2, ROUND_2)
    assert fed.run().accepted == 1
    assert fed.run().results == 0
    assert [version for version, _, _ in fed.published()] == [1, 2]
    assert fed.acceptances(1) == [sent] and len(fed.acceptances(2)) == 1
    assert fed.scorer.w3.eth.get_transaction_count(fed.scorer.address) == nonce + 2  # no round sent twice


@pytest.mark.chain
def test_a_round_waits_for_every_contributor(fed):
    fed.train_and_drop(1, ROUND_1[:2], nodes=fed.nodes[:2])
    summary = fed.run()
    assert (summary.results, summary.accepted) == (0, 0)
    assert not fed.fog_models.functions.isAccepted(MECHANISM, 1).call()
    fed.train_and_drop(1, ROUND_1[2:], nodes=fed.nodes[2:])
    assert fed.run().accepted == 1
    assert set(fed.published()[0][2]) == set(fed.addresses)


def damaged(fed: Federation) -> None:
    fed.store.update_path(1, fed.nodes[0].address).write_bytes(b"half a model")


def raw_data_added(fed: Federation) -> None:
    path = fed.store.update_path(1, fed.nodes[0].address)
    record = torch.load(path, weights_only=True)
    torch.save({**record, "consumption_kwh": torch.tensor(fed.nodes[0].series[:5, 0])}, path)


def someone_elses(fed: Federation) -> None:
    theirs = fed.store.update_path(1, fed.nodes[1].address).read_bytes()
    fed.store.update_path(1, fed.nodes[0].address).write_bytes(theirs)


def other_start(fed: Federation) -> None:
    fed.store.put_update(1, fed.nodes[0].trainer.update(), "0x" + "ab" * 32)


@pytest.mark.chain
@pytest.mark.parametrize("spoil, message", [
    (damaged, r"updates/1/0x[0-9a-f]{40}\.pt: not a readable model update"),
    (raw_data_added, r"a model update holds exactly .* \(unexpected: \['consumption_kwh'\], missing: \[\]\)"),
    (someone_elses, r"names contributor '0x[0-9a-fA-F]{40}', not 0x"),
    (other_start, r"round 1: the updates start from different models"),
])
def test_a_bad_store_file_stops_the_round_with_a_clear_error(fed, spoil, message):
    fed.train_and_drop(1, ROUND_1)
    spoil(fed)
    with fed.worker() as worker:
        assert worker.run_once().failed == 1
        entry = worker.state.entry(MECHANISM, 1)  # journaled failed with the reason; the next run tries again
        assert entry.tx_hash is None and re.search(message, entry.error)
    assert fed.fog_models.functions.roundCount().call() == 0
    fed.nodes[0].drop(fed.store, 1)  # the node drops its update again
    assert fed.run().accepted == 1


@pytest.mark.chain
def test_a_contributor_who_is_not_a_participant_is_named(fed, community):
    outsider = ADDRESSES[OUTSIDER]
    fed.train_and_drop(1, ROUND_1)
    stranger = FogNode(outsider, community.series["L1"], new_global_state(CONFIG))
    stranger.train(5)
    stranger.drop(fed.store, 1)
    assert fed.run(contributors=[*fed.addresses, outsider]).failed == 1
    with sqlite3.connect(fed.state_dir / "fedavg-aggregator.sqlite") as db:
        (error,) = db.execute("SELECT error FROM journal WHERE slot = 1").fetchone()
    assert re.search(rf"round 1: contributor {outsider} .* is not an active participant", error)
    assert fed.fog_models.functions.roundCount().call() == 0


@pytest.mark.chain
def test_kwx_worker_fedavg_aggregator_takes_string_options(fed, community, tmp_path):
    manifest_path = tmp_path / "deployments" / "local.json"
    fed.manifest.write(manifest_path)
    fed.store.root.mkdir(parents=True, exist_ok=True)  # store_dir must be an existing folder
    pairs = [f"store_dir={fed.store.root}", f"contributors={' , '.join(fed.addresses)}", "through_round=1",
             "weighting=uniform"]  # as `kwx worker fedavg-aggregator -o KEY=VALUE ...` passes them
    options = parse_worker_options(WORKERS["fedavg-aggregator"], pairs)

    def run() -> RunSummary:
        return run_worker(WORKERS["fedavg-aggregator"], rpc_url=community.anvil.rpc_url, manifest_path=manifest_path,
                          state_dir=tmp_path / "workers", once=True, log_stream=io.StringIO(), **options)

    updates = fed.train_and_drop(1, ROUND_1)
    assert (run().results, fed.fog_models.functions.roundCount().call()) == (1, 1)
    uniform = FedAvgAggregator(new_global_state(CONFIG), weighting="uniform").aggregate(updates)
    assert fed.published()[0][1] == uniform.content_hash
    fed.pull_all()
    fed.train_and_drop(2, ROUND_2)
    assert run().results == 0  # through_round=1
    assert fed.fog_models.functions.roundCount().call() == 1
    with pytest.raises(WorkerOptionError, match="option through_round: cannot read 'two'"):
        parse_worker_options(WORKERS["fedavg-aggregator"], ["through_round=two"])
    with pytest.raises(ValueError, match="needs the options store_dir and contributors"):
        run_worker(WORKERS["fedavg-aggregator"], rpc_url=community.anvil.rpc_url, manifest_path=manifest_path,
                   state_dir=tmp_path / "workers", once=True, store_dir=str(fed.store.root))


# --- the store alone -------------------------------------------------------------------------------------------


def test_the_store_holds_parameters_and_sample_counts_only(tmp_path, series):
    store = ModelStore(tmp_path)
    node = FogNode(ADDRESSES[FOG_NODES[0]], series["Z0"], new_global_state(CONFIG))
    node.train(8)
    node.drop(store, 1)
    path = store.update_path(1, node.address)
    record = torch.load(path, weights_only=True)
    assert set(record) == {"format", "version", "contributor", "samples", "base_hash", "state"}
    assert (record["format"], record["samples"], record["contributor"]) == (UPDATE_FORMAT, 5, node.address)
    raw = path.read_bytes()
    for value in node.series[:8].ravel():
        if value:
            assert struct.pack("<d", value) not in raw and struct.pack("<f", value) not in raw
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_a_global_model_that_does_not_match_its_hash_is_refused(tmp_path):
    store = ModelStore(tmp_path)
    state = new_global_state(CONFIG)
    content_hash = store.put_global(state)
    assert content_hash == state_hash(state) and store.global_path(content_hash).is_file()
    tampered = {name: tensor + 1 for name, tensor in state.items()}
    torch.save(tampered, store.global_path(content_hash))
    with pytest.raises(ModelStoreError, match=f"hash to {state_hash(tampered)}, not to the {content_hash}"):
        store.load_global(content_hash)
    with pytest.raises(ModelStoreError, match="no global model at"):
        store.load_global("0x" + "00" * 32)
    with pytest.raises(ModelStoreError, match="is not a content hash"):
        store.load_global(content_hash.upper())


def test_an_update_out_of_range_is_not_written(tmp_path):
    store = ModelStore(tmp_path)
    state = new_global_state(CONFIG)
    base = state_hash(state)
    with pytest.raises(ModelStoreError, match=rf"samples must be an integer in \[0, 2\^96 - 1\], got {2**96}"):
        store.put_update(1, ModelUpdate(Web3.to_checksum_address("0x" + "11" * 20), 2**96, state), base)
    with pytest.raises(ModelStoreError, match="'L1' is not an address"):
        store.put_update(1, ModelUpdate("L1", 3, state), base)
    with pytest.raises(ModelStoreError, match="parameter 'head.bias' has NaN"):
        nan = {**state, "head.bias": torch.full_like(state["head.bias"], float("nan"))}
        store.put_update(1, ModelUpdate(Web3.to_checksum_address("0x" + "11" * 20), 3, nan), base)
    assert not (tmp_path / "updates").exists()


@pytest.mark.chain
def test_a_fedavg_round_on_ganache_is_published_as_fedavg_computes_it(series, tmp_path):
    """The same round on Ganache (the shanghai build, docs/toolchain.md): published once, as FedAvg computes it."""
    with start_node("ganache", chain_id=31337) as node:
        w3 = connect(node.rpc_url, expected_chain_id=31337)
        admin, operator = ChainClient(w3, ACCOUNTS[ADMIN]), ChainClient(w3, ACCOUNTS[OPERATOR])
        manifest = deploy_suite(admin, get_network("local"), manifest_dir=tmp_path / "deployments", suite=SUITE)
        registry = operator.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
        for i in FOG_NODES:
            operator.transact(registry.functions.register(ACCOUNTS[i].address, 1, 100 * i, 0, 0, 0, 0))
        fed = Federation(Community(node, manifest, admin, series), tmp_path)
        expected = fed.reference.aggregate(fed.train_and_drop(1, ROUND_1))
        summary = fed.run()
        assert (summary.results, summary.accepted) == (1, 1)
        assert [published[:2] for published in fed.published()] == [(1, expected.content_hash)]
        fed.run()
        assert len(fed.acceptances(1)) == 1  # a second run sends nothing again
