"""Seed 000's FedAvg aggregator worker "fedavg-aggregator" (the SCORER): one FogModelRegistry record per round.

Each prosumer–EV pair's fog node trains its LSTM on data that never leave it (forecasting.LocalTrainer) and
drops only a copy of the parameters and a sample count into the model store
(:mod:`offchain.workers.model_store`) as its update for the next round. The worker reads FogModelRegistry's
``ModelRoundPublished`` (the rounds published so far, by anyone). The next round is version
latest + 1 (1 when nothing is published); it is ready once the store holds an update for it from every
expected contributor (option ``contributors``). The worker then checks the updates (each trained from the
latest published global model; the same parameter names and shapes; contributors active participants),
averages them with :func:`offchain.algorithms.forecasting.fedavg` (by sample count, or equally), writes the
global model to the store under its content hash (``state_hash``) and submits
``FogModelRegistry.publishRound(version, contentHash, contributors ascending, sampleCounts)``, keyed
(keccak256("seed000.fedavg"), version), which the contract accepts once. Fog nodes then read
``latest()``, pull that model from the store and check it against the hash.

The runtime (offchain.workers.runtime) keeps the cursor and the journal, so a worker killed anywhere and
restarted never publishes a round twice. A store whose content cannot make the round (a damaged file, an
update trained from another model, a contributor who is not an active participant) stops the run with a
:class:`~offchain.workers.model_store.ModelStoreError` before anything is journaled; once the file is
replaced, the next run publishes the round. Choices: docs/workers.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from offchain.algorithms.forecasting import fedavg
from offchain.chain import ChainClient, Manifest, ParticipantKind
from offchain.workers import ChainEvent, contract_events
from offchain.workers.model_store import ModelStore, ModelStoreError, StoredUpdate, checksum_address

#: keccak256("seed000.fedavg"): FogModelRegistry.MECHANISM, the key of a round (slot = version).
MECHANISM = bytes(Web3.keccak(text="seed000.fedavg"))
WEIGHTINGS = ("samples", "uniform")  #: forecasting.FederatedConfig.weighting

SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    version      INTEGER PRIMARY KEY,
    content_hash TEXT    NOT NULL
);
"""


class FedAvgLogic:
    """The fedavg-aggregator :class:`~offchain.workers.runtime.WorkerLogic` over a FogModelRegistry
    (``fog_models``, on which the submitting account holds SCORER) and its ParticipantRegistry.

    ``contributors``: the fog nodes (participant addresses) whose updates every round waits for.
    ``weighting``: "samples" (FedAvg's n_k) or "uniform", as forecasting.FederatedConfig.
    ``through_round``: publish no version above it (None: no limit).
    """

    name = "fedavg-aggregator"
    mechanism = MECHANISM
    schema = SCHEMA

    def __init__(self, fog_models: Contract, registry: Contract, store: ModelStore, contributors: Sequence[str], *,
                 weighting: str = "samples", through_round: int | None = None) -> None:
        addresses = [checksum_address(c) for c in contributors]
        if not addresses or len(set(addresses)) != len(addresses):
            raise ValueError(f"contributors must be distinct addresses, at least one; got {list(contributors)}")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        if through_round is not None and through_round < 1:
            raise ValueError(f"through_round must be >= 1, got {through_round}")
        self.fog_models = fog_models
        self.registry = registry
        self.store = store
        # The order FogModelRegistry requires: strictly ascending addresses.
        self.contributors = sorted(addresses, key=lambda a: int(a, 16))
        self.weighting = weighting
        self.through_round = through_round

    def identity(self) -> dict[str, str]:
        return {"fog_model_registry": self.fog_models.address}

    def fetch_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        return contract_events(self.fog_models.events.ModelRoundPublished, from_block, to_block)

    def apply(self, db: sqlite3.Connection, event: ChainEvent) -> None:
        # The contract publishes a version once, so a plain INSERT also guards against an event applied twice.
        db.execute("INSERT INTO rounds VALUES (?, ?)", (event.args["version"], Web3.to_hex(event.args["contentHash"])))

    def ready_slots(self, db: sqlite3.Connection) -> Iterable[int]:
        """The next version, once the store holds every contributor's update for it. One round at a time:
        the updates of round v + 1 are trained from round v's global model, which must be published first."""
        latest = db.execute("SELECT MAX(version) FROM rounds").fetchone()[0]
        version = 1 if latest is None else latest + 1
        if self.through_round is not None and version > self.through_round:
            return []
        if not all(self.store.has_update(version, c) for c in self.contributors):
            return []
        return [version]

    def compute(self, db: sqlite3.Connection, slot: int) -> dict[str, Any]:
        """``{"version", "content_hash", "contributors", "sample_counts"}`` of round `slot` (contributors
        ascending, with their sample counts); the averaged model is in the store under ``content_hash``."""
        stored = [self.store.load_update(slot, c) for c in self.contributors]
        row = db.execute("SELECT content_hash FROM rounds WHERE version = ?", (slot - 1,)).fetchone()
        _check_bases(slot, stored, None if row is None else row[0])
        _check_shapes(slot, stored)
        # As forecasting.FederatedForecaster: a node with no new training windows has nothing to add.
        updates = [s.update for s in stored if s.update.n_samples > 0]
        if not updates:
            raise ModelStoreError(f"round {slot}: every update has 0 samples; nothing to average")
        for update in updates:
            if not self.registry.functions.isActive(update.contributor, ParticipantKind.NONE).call():
                path = self.store.update_path(slot, update.contributor)
                raise ModelStoreError(f"round {slot}: contributor {update.contributor} ({path}) "
                                      "is not an active participant")
        weights = [u.n_samples if self.weighting == "samples" else 1 for u in updates]
        content_hash = self.store.put_global(fedavg([u.state for u in updates], weights))
        return {"version": slot, "content_hash": content_hash, "contributors": [u.contributor for u in updates],
                "sample_counts": [u.n_samples for u in updates]}

    def call_for(self, slot: int, payload: dict[str, Any]) -> Any:
        return self.fog_models.functions.publishRound(
            slot, Web3.to_bytes(hexstr=payload["content_hash"]), payload["contributors"], payload["sample_counts"])


def _check_bases(version: int, stored: Sequence[StoredUpdate], published: str | None) -> None:
    """Every update must be trained from the latest published global model (the previous version); with
    none on chain, the first round's updates must at least share their initial model."""
    if published is not None:
        stale = [s.update.contributor for s in stored if s.base_hash != published]
        if stale:
            raise ModelStoreError(f"round {version}: the updates of {stale} were not trained from round "
                                  f"{version - 1}'s global model {published}; those nodes must pull it and retrain")
    elif len({s.base_hash for s in stored}) > 1:
        bases = {s.update.contributor: s.base_hash for s in stored}
        raise ModelStoreError(f"round {version}: the updates start from different models: {bases}")


def _check_shapes(version: int, stored: Sequence[StoredUpdate]) -> None:
    """fedavg matches parameters by name; equal shapes keep torch from broadcasting mismatched ones."""
    shapes = [{name: tuple(t.shape) for name, t in s.update.state.items()} for s in stored]
    for s, shape in zip(stored[1:], shapes[1:]):
        if shape != shapes[0]:
            raise ModelStoreError(f"round {version}: the parameters of {s.update.contributor} differ in names or "
                                  f"shapes from those of {stored[0].update.contributor}")


# --- `kwx worker fedavg-aggregator` (WORKERS in registry.py) -------------------------------------------------


def make_fedavg_logic(client: ChainClient, manifest: Manifest, *, store_dir: str | Path | None = None,
                      contributors: str | Sequence[str] | None = None, weighting: str = "samples",
                      through_round: int | None = None) -> FedAvgLogic:
    """The worker over the deployment's FogModelRegistry and the registry it checks contributors in.

    Options (declared in registry.py, so ``kwx worker fedavg-aggregator -o KEY=VALUE`` reads them):
    ``store_dir`` (the model store's folder, required), ``contributors`` (addresses, a list or one
    comma-separated string, required), ``weighting`` ("samples" or "uniform"), ``through_round`` (the
    last version to publish).
    """
    if store_dir is None or contributors is None:
        raise ValueError("fedavg-aggregator needs the options store_dir and contributors")
    if isinstance(contributors, str):
        contributors = [c.strip() for c in contributors.split(",") if c.strip()]
    fog_models = client.contract("FogModelRegistry", manifest.address("FogModelRegistry"))
    registry = client.contract("ParticipantRegistry", client.call(fog_models.functions.registry()))
    return FedAvgLogic(fog_models, registry, ModelStore(store_dir), contributors, weighting=weighting,
                       through_round=through_round)
