"""Per-period energy forecasts for seed 000: a federated LSTM per prosumer and a perfect oracle.

Each prosumer's EV fog node owns a `LocalTrainer`: it sees that prosumer's stream of 60-s period
totals (consumption and production, kWh), keeps only a bounded sliding buffer of it, trains a small
LSTM online (a few Adam steps per period) and forecasts the next period. A `FedAvgAggregator` only
ever receives `ModelUpdate`s (a copy of the model parameters and a sample count), averages them every
`aggregate_every` periods and publishes the global model, which every trainer then loads. Each round
yields a `ModelRound` (version, sha256 content hash, contributors): what a model-registry contract
records. The aggregator is a `RoundAggregator`; offchain.mechanisms.fog_ems.chain_rounds supplies one whose
rounds go through the fedavg-aggregator worker and FogModelRegistry. `PerfectForecaster` returns the truth. Both
implement `Forecaster`.

Energy is in kWh floats throughout (the seed's own unit, see docs/forecasting.md); periods are
integer indices within the day (0 .. periods_per_day - 1). No chain I/O here.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

CONSUMPTION = "consumption_kwh"
PRODUCTION = "production_kwh"
NET = "net_kwh"
INPUT_FEATURES = 3  # (time of day, consumption, production) per period
OUTPUT_FEATURES = 2  # (consumption, production) of the next period

Mode = Literal["perfect", "federated"]
_LOSSES = {"mse": nn.functional.mse_loss, "l1": nn.functional.l1_loss, "huber": nn.functional.huber_loss}


class ForecastError(ValueError):
    """Bad input to a forecaster: unknown agent, out-of-order period, malformed frame or config."""


# --------------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class FederatedConfig:
    """Every knob of the federated forecaster; defaults are the choices in docs/forecasting.md.

    Model (from the paper): `window_periods` input periods, `num_layers` x `hidden_size` LSTM.
    Training: `loss` minimised by Adam (L1 by default here; the seed 000 reproduction passes the paper's MSE
    for its headline and L1 for its variant, fog_ems.model.FEDERATED_LOSSES); the rest is not in the paper:
    `train_steps_per_period` steps at `learning_rate` after each observed period, full batch over
    the windows in the last `buffer_periods` periods, gradient norm clipped at `grad_clip`; the
    model predicts the change from the last period (`residual`) in per-prosumer normalised units
    (per-channel running mean and std, std floored at `std_floor_ratio` of the larger one).
    Federation (paper silent): FedAvg every `aggregate_every` periods, weighted by the number of new
    training windows each client saw since it last loaded the global model (`weighting="samples"`)
    or equally (`"uniform"`).
    Runtime: `seed` fixes the initial global model; `num_threads` (None = leave torch's setting) and
    `deterministic` (torch.use_deterministic_algorithms) are applied for the duration of a run.
    """

    window_periods: int = 3
    hidden_size: int = 32
    num_layers: int = 2
    residual: bool = True
    learning_rate: float = 3e-3
    train_steps_per_period: int = 1
    buffer_periods: int = 720
    batch_size: int | None = 256
    grad_clip: float = 1.0
    loss: Literal["mse", "l1", "huber"] = "l1"
    aggregate_every: int = 30
    weighting: Literal["samples", "uniform"] = "samples"
    std_floor_ratio: float = 0.05
    periods_per_day: int = 1440
    steps_per_period: int = 6
    seed: int = 0
    num_threads: int | None = 1
    deterministic: bool = True

    def __post_init__(self) -> None:
        positive = (
            "window_periods", "hidden_size", "num_layers", "train_steps_per_period",
            "aggregate_every", "periods_per_day", "steps_per_period",
        )  # fmt: skip
        for name in positive:
            if getattr(self, name) < 1:
                raise ForecastError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.buffer_periods <= self.window_periods:
            raise ForecastError(
                f"buffer_periods ({self.buffer_periods}) must exceed window_periods ({self.window_periods})"
            )
        if self.learning_rate <= 0 or self.grad_clip <= 0 or self.std_floor_ratio <= 0:
            raise ForecastError("learning_rate, grad_clip and std_floor_ratio must be > 0")
        if self.loss not in _LOSSES:
            raise ForecastError(f"loss must be one of {sorted(_LOSSES)}, got {self.loss!r}")
        if self.weighting not in ("samples", "uniform"):
            raise ForecastError(f"weighting must be 'samples' or 'uniform', got {self.weighting!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ForecastError(f"batch_size must be >= 1 or None, got {self.batch_size}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ForecastError(f"num_threads must be >= 1 or None, got {self.num_threads}")

    @classmethod
    def from_mapping(cls, cfg: FederatedConfig | Mapping[str, object] | None) -> FederatedConfig:
        """A config from None (defaults), an instance, or a mapping of field overrides (unknown keys rejected)."""
        if cfg is None:
            return cls()
        if isinstance(cfg, FederatedConfig):
            return cfg
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise ForecastError(f"unknown forecasting config keys: {unknown}")
        return cls(**cfg)  # type: ignore[arg-type]


@contextlib.contextmanager
def torch_runtime(cfg: FederatedConfig) -> Iterator[None]:
    """Applies the config's thread count and determinism flag to torch, and restores both afterwards."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if cfg.num_threads is not None:
            torch.set_num_threads(cfg.num_threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


# --------------------------------------------------------------------------------------------------
# Data: 10-s frames -> 60-s period totals


def period_totals(frames: Mapping[str, pd.DataFrame], steps_per_period: int = 6) -> pd.DataFrame:
    """Per-agent 10-s frames -> long frame of period totals.

    `frames[agent]` holds one row per 10-s step of the day, in time order, with columns
    `consumption_kwh` and `production_kwh` (kWh in that step, >= 0); other columns are ignored.
    Period m is the sum of rows m*steps_per_period .. (m+1)*steps_per_period - 1.
    Returns columns agent, period, consumption_kwh, production_kwh, net_kwh (= production - consumption),
    agents in the mapping's order.
    """
    parts = []
    for agent, frame in frames.items():
        missing = {CONSUMPTION, PRODUCTION} - set(frame.columns)
        if missing:
            raise ForecastError(f"frame of agent {agent!r} lacks columns {sorted(missing)}")
        if len(frame) % steps_per_period:
            raise ForecastError(
                f"frame of agent {agent!r} has {len(frame)} steps, not a multiple of {steps_per_period}"
            )
        steps = frame[[CONSUMPTION, PRODUCTION]].to_numpy(dtype=np.float64)
        if np.isnan(steps).any() or (steps < 0).any():
            raise ForecastError(f"frame of agent {agent!r} has NaN or negative energy")
        per_period = steps.reshape(-1, steps_per_period, 2).sum(axis=1)
        parts.append(
            pd.DataFrame(
                {
                    "agent": agent,
                    "period": np.arange(len(per_period)),
                    CONSUMPTION: per_period[:, 0],
                    PRODUCTION: per_period[:, 1],
                    NET: per_period[:, 1] - per_period[:, 0],
                }
            )
        )
    if not parts:
        raise ForecastError("no agents given")
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------------------------------
# The common interface


class Forecaster(Protocol):
    """Forecasts each agent's next 60-s period; call predict(agent, m) before observe(agent, m, ...)."""

    def observe(self, agent: str, period: int, consumption_kwh: float, production_kwh: float) -> None:
        """Reports the actual totals (kWh) of `agent` in `period`, the period after the last one observed."""

    def predict(self, agent: str, period: int) -> tuple[float, float]:
        """(consumption, production) forecast in kWh for `agent` in `period`, from periods before it."""


class PerfectForecaster:
    """Returns the true period totals: the paper's perfect-prediction mode."""

    def __init__(self, truth: Mapping[str, pd.DataFrame], steps_per_period: int = 6) -> None:
        totals = period_totals(truth, steps_per_period)
        self._truth = {
            agent: group[[CONSUMPTION, PRODUCTION]].to_numpy() for agent, group in totals.groupby("agent", sort=False)
        }

    def observe(self, agent: str, period: int, consumption_kwh: float, production_kwh: float) -> None:
        """Nothing to learn; checks only that the agent exists."""
        self._series(agent)

    def predict(self, agent: str, period: int) -> tuple[float, float]:
        series = self._series(agent)
        if not 0 <= period < len(series):
            raise ForecastError(f"period {period} outside the {len(series)} periods known for {agent!r}")
        consumption, production = series[period]
        return float(consumption), float(production)

    def _series(self, agent: str) -> np.ndarray:
        try:
            return self._truth[agent]
        except KeyError:
            raise ForecastError(f"unknown agent {agent!r}") from None


# --------------------------------------------------------------------------------------------------
# The model


class PeriodLSTM(nn.Module):
    """LSTM over the last `window` periods of (time, consumption, production) -> next (consumption, production).

    Works in normalised units. With `residual`, the head predicts the change from the last input
    period, so an untrained model starts as the persistence forecast.
    """

    def __init__(self, hidden_size: int = 32, num_layers: int = 2, residual: bool = True) -> None:
        super().__init__()
        self.residual = residual
        self.lstm = nn.LSTM(INPUT_FEATURES, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, OUTPUT_FEATURES)
        if residual:
            # Start as the persistence forecast, a strong baseline for 60-s totals, and learn corrections.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """windows: (batch, window, 3) -> (batch, 2)."""
        hidden, _ = self.lstm(windows)
        out = self.head(hidden[:, -1, :])
        if self.residual:
            out = out + windows[:, -1, 1:]
        return out


def new_global_state(cfg: FederatedConfig) -> dict[str, torch.Tensor]:
    """The version-0 global model: parameters initialised from `cfg.seed` alone (global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = PeriodLSTM(cfg.hidden_size, cfg.num_layers, cfg.residual)
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


# --------------------------------------------------------------------------------------------------
# Federated averaging and the round records


@dataclass(frozen=True)
class ModelUpdate:
    """What a fog node sends to the aggregator: a copy of its parameters and how many samples shaped them."""

    contributor: str
    n_samples: int
    state: Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class ModelRound:
    """One published global model, as a model-registry contract records it.

    `content_hash` is `state_hash(state)` ("0x" + 64 hex digits). `contributors` and `sample_counts`
    are aligned, sorted by contributor. `period` is the last period of data in the model (None for
    the initial model).
    """

    version: int
    content_hash: str
    contributors: tuple[str, ...]
    sample_counts: tuple[int, ...]
    period: int | None


def state_hash(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 of the parameters in canonical form, as "0x" + hex.

    Canonical form, entries in ascending order of name: uint32 BE name length, UTF-8 name, uint32 BE
    number of dimensions, uint64 BE per dimension, then the values as little-endian float32 in
    row-major order.
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        values = state[name].detach().to(torch.float32).contiguous().numpy().astype("<f4", copy=False)
        encoded = name.encode()
        digest.update(struct.pack(">I", len(encoded)) + encoded)
        digest.update(struct.pack(">I", values.ndim) + b"".join(struct.pack(">Q", d) for d in values.shape))
        digest.update(values.tobytes(order="C"))
    return "0x" + digest.hexdigest()


def fedavg(states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Weighted parameter average sum_k w_k * state_k / sum_k w_k, computed in float64, returned as float32."""
    if not states or len(states) != len(weights):
        raise ForecastError("fedavg needs one weight per state and at least one state")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ForecastError(f"fedavg weights must be >= 0 with a positive sum, got {list(weights)}")
    names = set(states[0])
    if any(set(state) != names for state in states):
        raise ForecastError("fedavg states have different parameter names")
    total = float(sum(weights))
    return {
        name: (sum(float(w) * state[name].to(torch.float64) for w, state in zip(weights, states)) / total).to(
            torch.float32
        )
        for name in sorted(names)
    }


class RoundAggregator(Protocol):
    """Runs a `FederatedForecaster`'s FedAvg rounds: holds the current global model and records each round."""

    rounds: list[ModelRound]  #: every published round, version 0 (the initial model, no contributors) first

    def global_state(self) -> dict[str, torch.Tensor]:
        """A copy of the current global parameters."""

    def aggregate(self, updates: Sequence[ModelUpdate], period: int | None = None) -> ModelRound:
        """Averages `updates` (trained from the current global model) into the next version and records it;
        `period` is the last period of data in them."""


class FedAvgAggregator:
    """Holds the global model; each `aggregate` call averages updates into a new version and records it."""

    def __init__(self, initial_state: Mapping[str, torch.Tensor], weighting: Literal["samples", "uniform"] = "samples"):
        self._weighting = weighting
        self._state = {name: tensor.detach().clone() for name, tensor in initial_state.items()}
        self.rounds: list[ModelRound] = [ModelRound(0, state_hash(self._state), (), (), None)]

    @property
    def version(self) -> int:
        return self.rounds[-1].version

    def global_state(self) -> dict[str, torch.Tensor]:
        """A copy of the current global parameters (what a joining or syncing fog node pulls)."""
        return {name: tensor.clone() for name, tensor in self._state.items()}

    def aggregate(self, updates: Sequence[ModelUpdate], period: int | None = None) -> ModelRound:
        """Averages the updates (by sample count or equally) into the next global version and records it."""
        updates = sorted(updates, key=lambda u: u.contributor)
        contributors = [u.contributor for u in updates]
        if len(set(contributors)) != len(contributors):
            raise ForecastError(f"duplicate contributors in one round: {contributors}")
        weights = [u.n_samples if self._weighting == "samples" else 1 for u in updates]
        self._state = fedavg([u.state for u in updates], weights)
        record = ModelRound(
            version=self.version + 1,
            content_hash=state_hash(self._state),
            contributors=tuple(contributors),
            sample_counts=tuple(u.n_samples for u in updates),
            period=period,
        )
        self.rounds.append(record)
        return record


# --------------------------------------------------------------------------------------------------
# The fog node's local trainer


class _RunningStats:
    """Per-channel mean and standard deviation of everything seen (Welford), with a relative floor."""

    def __init__(self, channels: int, floor_ratio: float) -> None:
        self._count = 0
        self._mean = np.zeros(channels)
        self._m2 = np.zeros(channels)
        self._floor_ratio = floor_ratio

    def add(self, values: np.ndarray) -> None:
        self._count += 1
        delta = values - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (values - self._mean)

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        std = np.sqrt(self._m2 / max(self._count, 1))
        # A channel that never moved (L2's production) must not divide by zero, nor blow up the
        # other channel's tiny fluctuations; flooring at a fraction of the livelier channel keeps
        # both on a comparable scale.
        floor = max(self._floor_ratio * std.max(), 1e-12)
        return self._mean.copy(), np.maximum(std, floor)


def _agent_seed(seed: int, agent: str) -> int:
    """A per-agent sampling seed that does not depend on Python's randomised str hash."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{agent}".encode()).digest()[:8], "big")


class LocalTrainer:
    """One prosumer's EV fog node: a private sliding buffer of period totals and an online-trained LSTM.

    The buffer and the normalisation statistics never leave this object; `update()` exposes only a
    copy of the model parameters and a sample count.
    """

    def __init__(self, agent: str, global_state: Mapping[str, torch.Tensor], cfg: FederatedConfig) -> None:
        self.agent = agent
        self._cfg = cfg
        self._model = PeriodLSTM(cfg.hidden_size, cfg.num_layers, cfg.residual)
        self._model.load_state_dict(global_state)
        self._optimizer = torch.optim.Adam(self._model.parameters(), lr=cfg.learning_rate, foreach=True)
        self._buffer: deque[tuple[float, float, float]] = deque(maxlen=cfg.buffer_periods)
        self._stats = _RunningStats(OUTPUT_FEATURES, cfg.std_floor_ratio)
        self._sampler = torch.Generator().manual_seed(_agent_seed(cfg.seed, agent))
        self._samples_since_sync = 0
        self.last_period: int | None = None
        self.observed = 0

    def expected_period(self) -> int | None:
        """The period the next observation (and forecast) must be for; None before any observation."""
        return None if self.last_period is None else (self.last_period + 1) % self._cfg.periods_per_day

    def observe(self, period: int, consumption_kwh: float, production_kwh: float) -> None:
        """Adds the period's actual totals (kWh) and runs the configured Adam steps on the buffer."""
        expected = self.expected_period()
        if expected is not None and period != expected:
            raise ForecastError(f"{self.agent!r}: observed period {period}, expected {expected}")
        if not (consumption_kwh >= 0 and production_kwh >= 0):
            raise ForecastError(f"{self.agent!r}: energies must be finite and >= 0, got {consumption_kwh}, {production_kwh}")
        self._buffer.append((self._time_feature(period), float(consumption_kwh), float(production_kwh)))
        self._stats.add(np.array([consumption_kwh, production_kwh]))
        self.last_period = period
        self.observed += 1
        if len(self._buffer) > self._cfg.window_periods:
            self._samples_since_sync += 1
            self._train()

    def predict(self, period: int) -> tuple[float, float]:
        """(consumption, production) forecast in kWh for `period`, which must follow the last observation."""
        expected = self.expected_period()
        if expected is None:
            return 0.0, 0.0
        if period != expected:
            raise ForecastError(f"{self.agent!r}: forecast asked for period {period}, next is {expected}")
        rows = list(self._buffer)[-self._cfg.window_periods :]
        rows = [rows[0]] * (self._cfg.window_periods - len(rows)) + rows
        mean, std = self._stats.mean_std()
        with torch.no_grad():
            out = self._model(self._normalise(np.array(rows), mean, std)[None]).numpy()[0]
        consumption, production = np.maximum(out * std + mean, 0.0)
        return float(consumption), float(production)

    def update(self) -> ModelUpdate:
        """A copy of the local parameters and the number of training windows seen since the last sync."""
        state = {name: tensor.detach().clone() for name, tensor in self._model.state_dict().items()}
        return ModelUpdate(self.agent, self._samples_since_sync, state)

    def load_global(self, state: Mapping[str, torch.Tensor]) -> None:
        """Replaces the local parameters by the global model (Adam moments stay local)."""
        self._model.load_state_dict(state)
        self._samples_since_sync = 0

    def _time_feature(self, period: int) -> float:
        return 2.0 * (period % self._cfg.periods_per_day) / self._cfg.periods_per_day - 1.0

    @staticmethod
    def _normalise(rows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
        scaled = rows.copy()
        scaled[..., 1:] = (rows[..., 1:] - mean) / std
        return torch.from_numpy(scaled).to(torch.float32)

    def _train(self) -> None:
        mean, std = self._stats.mean_std()
        series = self._normalise(np.array(self._buffer), mean, std)
        window = self._cfg.window_periods
        inputs = series.unfold(0, window, 1)[:-1].transpose(1, 2).contiguous()  # (n, window, 3)
        targets = series[window:, 1:]
        batch = self._cfg.batch_size
        self._model.train()
        for _ in range(self._cfg.train_steps_per_period):
            chosen = slice(None) if batch is None or batch >= len(targets) else torch.randperm(len(targets), generator=self._sampler)[:batch]
            self._optimizer.zero_grad()
            loss = _LOSSES[self._cfg.loss](self._model(inputs[chosen]), targets[chosen])
            loss.backward()
            nn.utils.clip_grad_norm_(self._model.parameters(), self._cfg.grad_clip)
            self._optimizer.step()
        self._model.eval()


# --------------------------------------------------------------------------------------------------
# The federated forecaster


class FederatedForecaster:
    """One `LocalTrainer` per agent plus a `RoundAggregator` that syncs them every `aggregate_every` periods.

    A round runs as soon as every agent has observed the round's last period; the trainers' updates
    go to the aggregator and the new global model is loaded back into every trainer. The trainers start
    from the aggregator's global model; default aggregator: an in-memory `FedAvgAggregator` from
    `new_global_state(cfg)` weighting by `cfg.weighting` (another one must start from the same model and
    weigh alike for the same forecasts).
    """

    def __init__(self, agents: Sequence[str], cfg: FederatedConfig | Mapping[str, object] | None = None,
                 aggregator: RoundAggregator | None = None) -> None:
        self.cfg = FederatedConfig.from_mapping(cfg)
        if not agents or len(set(agents)) != len(agents):
            raise ForecastError(f"agents must be non-empty and distinct, got {list(agents)}")
        self.aggregator: RoundAggregator = (
            aggregator if aggregator is not None else FedAvgAggregator(new_global_state(self.cfg), self.cfg.weighting)
        )
        state = self.aggregator.global_state()
        self._trainers = {agent: LocalTrainer(agent, state, self.cfg) for agent in agents}
        self._boundaries_passed = 0

    @property
    def rounds(self) -> list[ModelRound]:
        """Every published global model, version 0 (the initial model) first."""
        return self.aggregator.rounds

    def observe(self, agent: str, period: int, consumption_kwh: float, production_kwh: float) -> None:
        self._trainer(agent).observe(period, consumption_kwh, production_kwh)
        next_boundary = (self._boundaries_passed + 1) * self.cfg.aggregate_every
        if min(t.observed for t in self._trainers.values()) >= next_boundary:
            self._boundaries_passed += 1
            self._run_round(period)

    def predict(self, agent: str, period: int) -> tuple[float, float]:
        return self._trainer(agent).predict(period)

    def _run_round(self, period: int) -> None:
        updates = [u for u in (t.update() for t in self._trainers.values()) if u.n_samples > 0]
        if updates:
            self.aggregator.aggregate(updates, period)
            state = self.aggregator.global_state()
            for trainer in self._trainers.values():
                trainer.load_global(state)

    def _trainer(self, agent: str) -> LocalTrainer:
        try:
            return self._trainers[agent]
        except KeyError:
            raise ForecastError(f"unknown agent {agent!r}") from None


# --------------------------------------------------------------------------------------------------
# Running whole days


def make_forecaster(
    mode: Mode, agents: Sequence[str], truth: Mapping[str, pd.DataFrame] | None = None, **cfg: object
) -> PerfectForecaster | FederatedForecaster:
    """A forecaster for `agents`: "perfect" needs `truth` (the agents' 10-s frames, see `period_totals`);
    "federated" takes `FederatedConfig` fields as keyword overrides (unknown keys are rejected)."""
    config = FederatedConfig.from_mapping(cfg)
    if mode == "perfect":
        if truth is None:
            raise ForecastError("perfect forecasts need the true frames (truth=...)")
        missing = sorted(set(agents) - set(truth))
        if missing:
            raise ForecastError(f"truth lacks agents {missing}")
        return PerfectForecaster({agent: truth[agent] for agent in agents}, config.steps_per_period)
    if mode == "federated":
        return FederatedForecaster(agents, config)
    raise ForecastError(f"unknown forecast mode {mode!r}; use 'perfect' or 'federated'")


def run_forecaster(forecaster: Forecaster, actual: pd.DataFrame) -> pd.DataFrame:
    """Drives a forecaster through `actual` (a `period_totals` frame) period by period.

    In each period every agent is first forecast, then observed, so no forecast sees its own period.
    Returns the forecasts in the same layout (agent, period, consumption_kwh, production_kwh, net_kwh).
    """
    agents = list(dict.fromkeys(actual["agent"]))
    by_agent = {agent: group.sort_values("period") for agent, group in actual.groupby("agent", sort=False)}
    periods = by_agent[agents[0]]["period"].to_numpy()
    if any(not np.array_equal(by_agent[a]["period"].to_numpy(), periods) for a in agents):
        raise ForecastError("all agents must cover the same periods")
    values = {a: by_agent[a][[CONSUMPTION, PRODUCTION]].to_numpy() for a in agents}
    forecasts = np.empty((len(agents), len(periods), 2))
    for i, period in enumerate(periods):
        for k, agent in enumerate(agents):
            forecasts[k, i] = forecaster.predict(agent, int(period))
        for agent in agents:
            consumption, production = values[agent][i]
            forecaster.observe(agent, int(period), float(consumption), float(production))
    return pd.DataFrame(
        {
            "agent": np.repeat(agents, len(periods)),
            "period": np.tile(periods, len(agents)),
            CONSUMPTION: forecasts[:, :, 0].ravel(),
            PRODUCTION: forecasts[:, :, 1].ravel(),
            NET: (forecasts[:, :, 1] - forecasts[:, :, 0]).ravel(),
        }
    )


def _warm_up(forecaster: FederatedForecaster, history: pd.DataFrame) -> None:
    """Observes the history so that it ends in the period just before the forecast day starts."""
    per_day = forecaster.cfg.periods_per_day
    lengths = history.groupby("agent")["period"].count()
    if lengths.nunique() != 1:
        raise ForecastError(f"all agents' histories must have the same length, got {lengths.to_dict()}")
    length = int(lengths.iloc[0])
    renumbered = history.assign(period=(history["period"] - length) % per_day)
    order = np.argsort(history["period"].to_numpy(), kind="stable")
    for row in renumbered.iloc[order].itertuples(index=False):
        forecaster.observe(row.agent, int(row.period), getattr(row, CONSUMPTION), getattr(row, PRODUCTION))


def _cache_key(mode: str, cfg: FederatedConfig, actual: pd.DataFrame, history: pd.DataFrame | None) -> str:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(f"{torch.__version__}|{mode}|{sorted(asdict(cfg).items())}".encode())
    for frame in (actual, history):
        if frame is not None:
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def forecast_day(
    frames: Mapping[str, pd.DataFrame],
    mode: Mode = "federated",
    cfg: FederatedConfig | Mapping[str, object] | None = None,
    *,
    history: Mapping[str, pd.DataFrame] | None = None,
    cache_dir: str | Path | None = None,
    aggregator: RoundAggregator | None = None,
) -> pd.DataFrame:
    """Forecasts of every agent's every period of the day, computed once and reusable across scenarios.

    `frames`: per-agent 10-s frames of the day (see `period_totals`). `history`: optional earlier
    10-s frames of the same agents (e.g. the previous day), streamed through the federated
    trainers before the day as a warm-up; they must end right before the day starts. Ignored in
    "perfect" mode. With `cache_dir`, the result is stored under a key of the data, mode, config,
    torch version and this module's source, and read back on the next identical call. `aggregator`
    ("federated" only, never cached: its rounds may act elsewhere, e.g. on chain) replaces the in-memory
    `FedAvgAggregator`, see `FederatedForecaster`.

    Returns columns agent, period, consumption_kwh, production_kwh, net_kwh (kWh forecast for each
    60-s period). In "federated" mode `attrs["model_rounds"]` holds the `ModelRound`s published.
    """
    config = FederatedConfig.from_mapping(cfg)
    if aggregator is not None and (mode != "federated" or cache_dir is not None):
        raise ForecastError("an aggregator needs mode 'federated' and no cache_dir")
    actual = period_totals(frames, config.steps_per_period)
    past = period_totals(history, config.steps_per_period) if history is not None and mode == "federated" else None
    if past is not None and set(past["agent"]) != set(actual["agent"]):
        raise ForecastError("history must cover exactly the day's agents")
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir) / f"forecast-{mode}-{_cache_key(mode, config, actual, past)[:24]}.pkl"
        if cache_path.exists():
            return pd.read_pickle(cache_path)
    with torch_runtime(config):
        forecaster = (
            make_forecaster(mode, list(frames), truth=frames, **asdict(config)) if aggregator is None
            else FederatedForecaster(list(frames), config, aggregator)
        )
        if isinstance(forecaster, FederatedForecaster) and past is not None:
            _warm_up(forecaster, past)
        predictions = run_forecaster(forecaster, actual)
    predictions.attrs["model_rounds"] = (
        tuple(forecaster.rounds) if isinstance(forecaster, FederatedForecaster) else ()
    )
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        predictions.to_pickle(cache_path)
    return predictions


def forecast_errors(predictions: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Per-agent forecast errors, kWh: mean absolute error per period of consumption, production and
    net, and the relative error (%) of the day's totals of consumption, production and sum |net|.

    Both inputs are in the `period_totals` layout and must cover the same (agent, period) pairs.
    """
    merged = actual.merge(predictions, on=["agent", "period"], suffixes=("", "_forecast"), validate="1:1")
    if len(merged) != len(actual) or len(merged) != len(predictions):
        raise ForecastError("predictions and actual cover different (agent, period) pairs")
    rows = []
    for agent, g in merged.groupby("agent", sort=False):
        row: dict[str, object] = {"agent": agent}
        for column in (CONSUMPTION, PRODUCTION, NET):
            row[f"mae_{column}"] = float((g[f"{column}_forecast"] - g[column]).abs().mean())
        for label, truth, forecast in (
            ("consumption", g[CONSUMPTION].sum(), g[f"{CONSUMPTION}_forecast"].sum()),
            ("production", g[PRODUCTION].sum(), g[f"{PRODUCTION}_forecast"].sum()),
            ("abs_net", g[NET].abs().sum(), g[f"{NET}_forecast"].abs().sum()),
        ):
            row[f"total_{label}_kwh"] = float(truth)
            row[f"total_{label}_error_pct"] = float(100 * (forecast - truth) / truth) if truth else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
