"""Seed 000's federated forecasts with their FedAvg rounds published through the chain.

The fog nodes (one `forecasting.LocalTrainer` per prosumer) train exactly as in the Python model; only the
round aggregator changes. `ChainRoundAggregator` is a `forecasting.RoundAggregator` over a `ChainDay`: per
round every fog node puts its update into the model store (its prosumer's address as contributor, the
global model it trained from as base), the fedavg-aggregator worker (offchain.mechanisms.fog_ems.fedavg, the SCORER)
runs once in process and publishes the round on FogModelRegistry, and the nodes pull the new global model
back through `latest()` -> content hash -> `ModelStore.load_global` (which checks the parameters against
the hash). The worker averages with `forecasting.fedavg` like the in-memory `FedAvgAggregator`, so both
publish the same models and the day gets the same bids.

`federated_bids` drives either aggregator over the same data: the warm-up history, then the day's
periods up to the end of a window. Choices: docs/seed000-chain.md §6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from web3 import Web3

from offchain.algorithms import forecasting
from offchain.algorithms.forecasting import (
    FederatedConfig,
    ModelRound,
    ModelUpdate,
    RoundAggregator,
    state_hash,
)
from offchain.data.seed000 import MicrogridData
from offchain.mechanisms.fog_ems.fedavg import FedAvgLogic
from offchain.mechanisms.fog_ems.model import bids_from_forecasts
from offchain.mechanisms.fog_ems.model_store import ModelStore
from offchain.workers.runtime import Worker
from offchain.workers.web3_chain import Web3ResultChain

if TYPE_CHECKING:
    from offchain.mechanisms.fog_ems.chain_run import ChainDay


@dataclass(frozen=True)
class FederatedSetup:
    """How a run's federated bids are made: the forecaster's `config` and how many of the last periods of
    the data's history warm it up (`history_periods`; None: the whole history, 0: none). The defaults are
    the Python model's (`forecast_bids`); a test shortens both to run fast."""

    config: FederatedConfig = field(default_factory=FederatedConfig)
    history_periods: int | None = None

    def __post_init__(self) -> None:
        if self.history_periods is not None and self.history_periods < 0:
            raise ValueError(f"history_periods must be >= 0 or None, got {self.history_periods}")


def federated_bids(data: MicrogridData, through_period: int, setup: FederatedSetup = FederatedSetup(), *,
                   aggregator: RoundAggregator | None = None,
                   cache_dir: Path | None = None) -> tuple[np.ndarray, tuple[ModelRound, ...]]:
    """(bids_wh[agent, period] for the day's periods 0 .. through_period - 1, the rounds published).

    The federated forecaster (with `aggregator`, default the in-memory FedAvgAggregator) observes the
    last `setup.history_periods` periods of `data.history`, then forecasts and observes the day's periods
    one by one, as `forecast_bids` does for the whole day (so the bids of those periods are the same).
    `cache_dir` caches in-memory runs only (`forecasting.forecast_day`).
    """
    k = setup.config.steps_per_period
    frames = {agent: frame.iloc[: through_period * k] for agent, frame in data.frames.items()}
    history = data.history or None
    if history is not None and setup.history_periods is not None:
        cut = setup.history_periods * k
        history = {agent: frame.iloc[max(len(frame) - cut, 0) :] for agent, frame in history.items()} if cut else None
    predictions = forecasting.forecast_day(frames, "federated", setup.config, history=history,
                                           cache_dir=cache_dir, aggregator=aggregator)
    return bids_from_forecasts(predictions, data.agents), predictions.attrs["model_rounds"]


class ChainRoundAggregator:
    """A `forecasting.RoundAggregator` whose rounds FogModelRegistry records, published by the fedavg-aggregator
    worker of `day` (SCORER client, state file and model store in `day.work_dir`).

    `addresses[agent]`: the participant address of the prosumer whose fog node trains `agent`'s model; every
    round needs an update from each of them (the worker waits for all). `initial_state` and `weighting` must
    be the forecaster's (`forecasting.new_global_state(cfg)`, `cfg.weighting`). `rounds` holds the rounds as
    the contract records them (contributors are addresses, ascending); `gas[i]` is the gas of `rounds[i + 1]`'s
    publication. Call :meth:`close` when done.
    """

    def __init__(self, day: ChainDay, addresses: Mapping[str, str], initial_state: Mapping[str, torch.Tensor],
                 weighting: str = "samples") -> None:
        self._day = day
        self._addresses = dict(addresses)
        self.store = ModelStore(day.work_dir / "model-store")
        fog_models = day.contract("FogModelRegistry", day.scorer)
        logic = FedAvgLogic(fog_models, day.contract("ParticipantRegistry", day.scorer), self.store,
                            list(self._addresses.values()), weighting=weighting)
        self._worker = Worker(logic, Web3ResultChain(day.scorer, fog_models), day.work_dir / "fedavg-aggregator.sqlite",
                              start_block=day.manifest.deploy_block)
        self._state = {name: tensor.detach().clone() for name, tensor in initial_state.items()}
        # Version 0 is the initial model, never published: the first round's updates name it as their base.
        self.rounds: list[ModelRound] = [ModelRound(0, state_hash(self._state), (), (), None)]
        self.gas: list[int] = []

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
        summary = self._worker.run_once()
        published, latest, content_hash = self._day.call("FogModelRegistry", "latest")
        if summary.accepted != 1 or not published or latest != version:
            raise RuntimeError(f"round {version} was not published (worker run: {summary})")
        content_hash = Web3.to_hex(content_hash)
        self._state = self.store.load_global(content_hash)
        _, _, _, contributions = self._day.call("FogModelRegistry", "roundOf", version)
        record = ModelRound(version, content_hash, tuple(c[0] for c in contributions),
                            tuple(c[1] for c in contributions), period)
        self.rounds.append(record)
        self.gas.append(self._day.blocks_since_last()[1])
        return record

    def close(self) -> None:
        self._worker.close()
