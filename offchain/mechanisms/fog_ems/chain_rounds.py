"""Seed 000's FedAvg rounds published through the chain: :class:`ChainRoundAggregator`.

A `forecasting.RoundAggregator` over a :class:`~offchain.scenarios.harness.ScenarioChain` with the seed 000
contracts: per round every fog node puts its update into the model store (its prosumer's address as
contributor, the global model it trained from as base), the fedavg-aggregator worker (its spec
``FEDAVG_AGGREGATOR``, opened by the harness as the SCORER) runs once in process and publishes the round on
FogModelRegistry, and the nodes pull the new global model back through `latest()` -> content hash ->
`ModelStore.load_global` (which checks the parameters against the hash). The worker averages with
`forecasting.fedavg` like the in-memory `FedAvgAggregator`, so both publish the same models and the day
gets the same bids (offchain.mechanisms.fog_ems.federated.federated_bids drives either). Choices:
docs/seed000-chain.md §6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from web3 import Web3

from offchain.algorithms import forecasting
from offchain.algorithms.forecasting import ModelRound, ModelUpdate, state_hash
from offchain.scenarios.harness import ScenarioChain
from offchain.workers.model_store import ModelStore

from .workers import FEDAVG_AGGREGATOR

#: The ledger phase of a round's publication; its slot is the round's version.
ROUND_PHASE = "fedavg round"


class ChainRoundAggregator:
    """A `forecasting.RoundAggregator` whose rounds FogModelRegistry records, published by the fedavg-aggregator
    worker on `chain` (state file and model store in `chain.work_dir`).

    `addresses[agent]`: the participant address of the prosumer whose fog node trains `agent`'s model; every
    round needs an update from each of them (the worker waits for all). `initial_state` and `weighting` must
    be the forecaster's (`forecasting.new_global_state(cfg)`, `cfg.weighting`). `rounds` holds the rounds as
    the contract records them (contributors are addresses, ascending); `gas[i]` is the gas of `rounds[i + 1]`'s
    publication. Call :meth:`close` when done.
    """

    def __init__(self, chain: ScenarioChain, addresses: Mapping[str, str],
                 initial_state: Mapping[str, torch.Tensor], weighting: str = "samples") -> None:
        self._chain = chain
        self._addresses = dict(addresses)
        self.store = ModelStore(chain.work_dir / "model-store")
        self._worker = chain.open_worker(FEDAVG_AGGREGATOR, options={
            "store_dir": self.store.root, "contributors": list(self._addresses.values()), "weighting": weighting})
        self._state = {name: tensor.detach().clone() for name, tensor in initial_state.items()}
        # Version 0 is the initial model, never published: the first round's updates name it as their base.
        self.rounds: list[ModelRound] = [ModelRound(0, state_hash(self._state), (), (), None)]

    @property
    def gas(self) -> list[int]:
        """Gas (receipt gasUsed) of each published round, oldest first."""
        return [total.gas for total in self._chain.ledger.slots(ROUND_PHASE).values()]

    def global_state(self) -> dict[str, torch.Tensor]:
        return {name: tensor.clone() for name, tensor in self._state.items()}

    def aggregate(self, updates: Sequence[ModelUpdate], period: int | None = None) -> ModelRound:
        """Stores the updates, runs the worker once (it publishes the round) and pulls the published model."""
        missing = sorted(set(self._addresses) - {u.contributor for u in updates})
        if missing:
            raise forecasting.ForecastError(
                f"the fedavg-aggregator worker waits for every fog node; no update from {missing}")
        version, base = self.rounds[-1].version + 1, self.rounds[-1].content_hash
        for update in updates:
            self.store.put_update(version, ModelUpdate(self._addresses[update.contributor], update.n_samples,
                                                       update.state), base)
        self._chain.ledger.mark(ROUND_PHASE, version)
        summary = self._worker.run_once()
        published, latest, content_hash = self._chain.call("FogModelRegistry", "latest")
        if summary.accepted != 1 or not published or latest != version:
            raise RuntimeError(f"round {version} was not published (worker run: {summary})")
        content_hash = Web3.to_hex(content_hash)
        self._state = self.store.load_global(content_hash)
        _, _, _, contributions = self._chain.call("FogModelRegistry", "roundOf", version)
        record = ModelRound(version, content_hash, tuple(c[0] for c in contributions),
                            tuple(c[1] for c in contributions), period)
        self.rounds.append(record)
        return record

    def close(self) -> None:
        self._worker.close()
