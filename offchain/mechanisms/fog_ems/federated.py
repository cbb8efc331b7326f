"""Seed 000's federated forecasts as bids: how a run's forecaster is set up (`FederatedSetup`) and the bids it
makes (`federated_bids`).

The fog nodes (one `forecasting.LocalTrainer` per prosumer) train exactly as in the Python model; only the
round aggregator differs between runs: the in-memory `forecasting.FedAvgAggregator`, or
offchain.mechanisms.fog_ems.chain_rounds.ChainRoundAggregator, whose rounds the fedavg-aggregator worker
publishes on FogModelRegistry. `federated_bids` drives either over the same data: the warm-up history, then
the day's periods up to the end of a window. Choices: docs/seed000-chain.md §6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from offchain.algorithms import forecasting
from offchain.algorithms.forecasting import FederatedConfig, ModelRound, RoundAggregator
from offchain.data.seed000 import MicrogridData
from offchain.mechanisms.fog_ems.model import FEDERATED_LOSSES, bids_from_forecasts


@dataclass(frozen=True)
class FederatedSetup:
    """How a run's federated bids are made: the forecaster's `config` and how many of the last periods of
    the data's history warm it up (`history_periods`; None: the whole history, 0: none). The defaults are
    the Python model's "federated" mode (`forecast_bids`: the paper's MSE loss); a test shortens both to run
    fast."""

    config: FederatedConfig = field(default_factory=lambda: FederatedConfig(loss=FEDERATED_LOSSES["federated"]))
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
