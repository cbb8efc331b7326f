"""Seed-000 data: a seeded synthetic 5-agent PV microgrid at 10-s resolution, and a uGIM CSV loader.

The paper (Mullaney et al.) uses one day of the uGIM dataset (five PV agents L1, L2, L3, R2, Z0, one
sample every 10 s). It cannot be downloaded here, so `synthetic_microgrid` generates a day calibrated
to every fact the paper gives about it (spec section 6.1):

- sum over the day's 8,640 steps of |production - consumption| per agent equals Table I column 1;
- each agent's "Isolated" benefit (the energy its own EV moves, `battery.dedicated_ev_exchange`)
  matches Table I column 3 (L2, a pure consumer, gets exactly its EV's initial available energy);
- PV is bell-shaped around midday (step 4320) with cloud transients; Z0's peak production is about
  three times R2's; L2 produces nothing and consumes the most.

Energies are in the paper's own unit (kWh per 10-s step, "kWh*": the dataset's kW samples read as
kWh, see docs/seed000.md), held exactly as whole Wh. Each agent's day comes from two knobs solved per
agent: a scale (fixes sum |net| exactly) and an activity level in [0, 1] that switches on more of a
fixed pool of appliance runs and passing clouds (more zero crossings of the net, so more cycles of
the EV). The random draws depend only on (seed, agent, day), never on the knobs, so the calibration is
a deterministic bisection. Earlier days (same knobs, other draws) feed the forecasters' warm-up.

`load_ugim` reads the real dataset into the same frames so it can replace the synthetic day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from offchain.algorithms.battery import BatterySpec, dedicated_ev_exchange
from offchain.units import WH_PER_KWH, kwh_to_wh, wh_to_kwh

AGENTS: tuple[str, ...] = ("L1", "L2", "L3", "R2", "Z0")
STEP_SECONDS = 10
STEPS_PER_PERIOD = 6
STEPS_PER_DAY = 86_400 // STEP_SECONDS
#: 60-s matching periods in the day (the contracts' periods).
PERIODS_PER_DAY = STEPS_PER_DAY // STEPS_PER_PERIOD
CONSUMPTION = "consumption_kwh"
PRODUCTION = "production_kwh"

#: Table I of the paper, kWh*: original grid exchange, isolated grid exchange, absolute benefit.
TABLE_I: dict[str, tuple[float, float, float]] = {
    "L1": (4884.36, 4825.60, 58.76),
    "L2": (8672.30, 8663.95, 8.35),
    "L3": (2967.63, 2874.31, 93.32),
    "R2": (1039.07, 944.96, 94.11),
    "Z0": (6558.82, 6358.40, 200.42),
}


class DataError(ValueError):
    """Bad data configuration or an input file that does not fit the expected layout."""


@dataclass(frozen=True)
class AgentProfile:
    """Shape of one agent's day before calibration (per-step values in kW*, i.e. kWh* per 10-s step).

    `base_load` times the load shape (`night` level plus Gaussian bumps: `morning` at 07:30, `midday`
    at 13:00, may be negative for a building that empties by day, `evening` at 20:00) is the load
    before appliance runs; `pv_peak`: clear-sky PV at solar noon (0 = no PV); `appliances_per_hour` /
    `clouds_per_hour`: size of the event pools the activity knob draws from.
    """

    base_load: float
    pv_peak: float
    night: float = 0.6
    morning: float = 0.55
    midday: float = 0.25
    evening: float = 0.95
    appliances_per_hour: float = 6.0
    clouds_per_hour: float = 8.0

    def load_shape(self, hours: np.ndarray) -> np.ndarray:
        """Relative load over the day (before appliance runs), >= 0."""
        h = hours % 24
        bumps = (
            self.morning * np.exp(-(((h - 7.5) / 1.1) ** 2))
            + self.midday * np.exp(-(((h - 13.0) / 3.0) ** 2))
            + self.evening * np.exp(-(((h - 20.0) / 1.9) ** 2))
        )
        return np.maximum(self.night + bumps, 0.05)


#: Relative shapes; calibration rescales each agent. Chosen so that after calibration Z0's production
#: peak is ~3x R2's, R2 is the second-largest producer, L1 and L3 mostly consume by day, and L2 (no
#: PV) consumes the most (tests/offchain/data/test_seed000_data.py checks all of it).
DEFAULT_PROFILES: dict[str, AgentProfile] = {
    "L1": AgentProfile(base_load=0.6, pv_peak=0.32, night=1.0, morning=0.4, midday=-0.65, evening=0.6),
    "L2": AgentProfile(base_load=1.0, pv_peak=0.0),
    "L3": AgentProfile(base_load=0.35, pv_peak=0.34, night=0.8, midday=-0.35),
    "R2": AgentProfile(base_load=0.10, pv_peak=0.75),
    "Z0": AgentProfile(base_load=0.8, pv_peak=1.5, night=1.0, morning=0.3, midday=-0.6, evening=0.5),
}


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything the synthetic microgrid depends on.

    `targets[agent]` = (sum |net| over the day, Isolated benefit), kWh*; by default Table I columns 1
    and 3. The Isolated benefit is measured with an EV of `battery` starting with `initial_available_wh`
    available and allowed to sell from step `first_sell_step` (the scenario's rules; see
    pricing.SellRule). `history_days` earlier days are generated for forecaster warm-up.
    """

    seed: int = 0
    agents: tuple[str, ...] = AGENTS
    profiles: Mapping[str, AgentProfile] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    targets: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {a: (row[0], row[2]) for a, row in TABLE_I.items()}
    )
    battery: BatterySpec = BatterySpec()
    initial_available_wh: int | None = None  # None = the whole window (EV starts at its upper bound)
    first_sell_step: int = STEPS_PER_PERIOD
    steps: int = STEPS_PER_DAY
    history_days: int = 1
    bisection_rounds: int = 24

    def __post_init__(self) -> None:
        missing = [a for a in self.agents if a not in self.profiles or a not in self.targets]
        if missing:
            raise DataError(f"no profile or target for agents {missing}")
        if self.steps % STEPS_PER_PERIOD or self.steps <= 0:
            raise DataError(f"steps must be a positive multiple of {STEPS_PER_PERIOD}, got {self.steps}")
        if self.history_days < 0 or self.bisection_rounds < 1:
            raise DataError("history_days must be >= 0 and bisection_rounds >= 1")

    @property
    def initial_energy_wh(self) -> int:
        return self.battery.energy_at(self.initial_available_wh)


@dataclass(frozen=True)
class MicrogridData:
    """A day of 10-s data per agent plus earlier days, and how well the calibration hit its targets.

    `frames[agent]`: one row per step with columns step, time_s, consumption_kwh, production_kwh
    (kWh* in that step, >= 0, whole Wh). `history[agent]`: the preceding days, same columns, ending
    right before the day. `calibration`: per agent the knobs and the reached vs targeted sums.
    """

    frames: dict[str, pd.DataFrame]
    history: dict[str, pd.DataFrame]
    calibration: pd.DataFrame

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(self.frames)


# --------------------------------------------------------------------------------------------------
# Shapes


def _hours(steps: int) -> np.ndarray:
    return np.arange(steps) * STEP_SECONDS / 3600.0


def _clear_sky(hours: np.ndarray) -> np.ndarray:
    """Relative clear-sky PV: a bell from 05:00 to 19:00 peaking at 12:00 (step 4320)."""
    phase = (hours % 24 - 12.0) / 14.0 * np.pi
    return np.where(np.abs(phase) < np.pi / 2, np.cos(phase), 0.0) ** 1.3


@dataclass(frozen=True)
class _Draws:
    """The random part of one agent's day, fixed by (seed, agent, day) and independent of the knobs."""

    appliance_start: np.ndarray
    appliance_length: np.ndarray
    appliance_power: np.ndarray
    appliance_key: np.ndarray
    cloud_start: np.ndarray
    cloud_length: np.ndarray
    cloud_depth: np.ndarray
    cloud_key: np.ndarray
    load_noise: np.ndarray
    pv_noise: np.ndarray


def _draws(seed: int, agent_index: int, day: int, profile: AgentProfile, steps: int) -> _Draws:
    rng = np.random.default_rng([seed, agent_index, day])
    hours = _hours(steps)
    n_app = rng.poisson(profile.appliances_per_hour * steps * STEP_SECONDS / 3600)
    awake = np.clip(hours % 24 - 6.0, 0.0, 1.0) * np.clip(23.5 - hours % 24, 0.0, 1.0)
    activity = 0.1 + awake  # appliances run mostly while people are up
    app_start = rng.choice(steps, size=n_app, p=activity / activity.sum())
    app_length = np.clip(rng.lognormal(np.log(18), 0.8, n_app), 2, 240).astype(np.int64)  # steps
    app_power = rng.uniform(0.5, 2.5, n_app)
    daylight = np.flatnonzero(_clear_sky(hours) > 0.05)
    n_cloud = rng.poisson(profile.clouds_per_hour * len(daylight) * STEP_SECONDS / 3600)
    cloud_start = rng.choice(daylight, size=n_cloud) if len(daylight) else np.zeros(0, dtype=np.int64)
    cloud_length = np.clip(rng.lognormal(np.log(24), 0.7, n_cloud), 3, 180).astype(np.int64)
    cloud_depth = rng.uniform(0.3, 0.95, n_cloud)
    return _Draws(
        appliance_start=app_start,
        appliance_length=app_length,
        appliance_power=app_power,
        appliance_key=rng.random(n_app),
        cloud_start=cloud_start,
        cloud_length=cloud_length,
        cloud_depth=cloud_depth,
        cloud_key=rng.random(n_cloud),
        load_noise=rng.normal(0.0, 0.06, steps),
        pv_noise=rng.normal(0.0, 0.02, steps),
    )


def _events(steps: int, start: np.ndarray, length: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Sum of rectangular events (start, length in steps, height) over the day, via a difference array."""
    delta = np.zeros(steps + 1)
    np.add.at(delta, start, value)
    np.add.at(delta, np.minimum(start + length, steps), -value)
    return np.cumsum(delta[:-1])


def _shape(profile: AgentProfile, draws: _Draws, activity: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled (consumption, production) per step for an activity level in [0, 1]."""
    hours = _hours(steps)
    on = draws.appliance_key < activity
    appliances = _events(steps, draws.appliance_start[on], draws.appliance_length[on], draws.appliance_power[on])
    load = profile.base_load * (profile.load_shape(hours) + appliances) * np.exp(draws.load_noise)
    cloudy = draws.cloud_key < activity
    attenuation = _events(steps, draws.cloud_start[cloudy], draws.cloud_length[cloudy], draws.cloud_depth[cloudy])
    pv = profile.pv_peak * _clear_sky(hours) * np.clip(1.0 - attenuation, 0.05, 1.0) * np.exp(draws.pv_noise)
    return load, pv


def _to_wh(values_kwh: np.ndarray) -> np.ndarray:
    """Model quantities (kWh*, float) rounded to whole Wh; the frames then hold exact multiples of 1 Wh."""
    return np.rint(values_kwh * WH_PER_KWH).astype(np.int64)


def _scale_for(load: np.ndarray, pv: np.ndarray, abs_net_target_kwh: float) -> float:
    """The factor that makes sum |production - consumption| over the day hit the target."""
    abs_net = np.abs(pv - load).sum()
    if abs_net <= 0:
        raise DataError("a day with no net energy at all cannot be scaled")
    return abs_net_target_kwh / abs_net


# --------------------------------------------------------------------------------------------------
# Calibration


def _isolated_benefit_wh(consumption_wh: np.ndarray, production_wh: np.ndarray, config: SyntheticConfig) -> int:
    moved = dedicated_ev_exchange(production_wh - consumption_wh, config.battery, config.initial_energy_wh,
                                  config.first_sell_step)  # fmt: skip
    return int(np.abs(moved).sum())


@dataclass(frozen=True)
class _Fit:
    activity: float
    scale: float
    consumption_wh: np.ndarray
    production_wh: np.ndarray
    benefit_wh: int


def _calibrate_agent(agent_index: int, agent: str, config: SyntheticConfig) -> _Fit:
    """Bisection on the activity knob for the Isolated benefit target, rescaling for sum |net| each time.

    The benefit is a step function of the knob (events switch on one by one) and not quite monotone,
    so the fit closest to the target seen on the way is kept.
    """
    profile = config.profiles[agent]
    abs_net_target, benefit_target = config.targets[agent]
    draws = _draws(config.seed, agent_index, 0, profile, config.steps)

    def fit(activity: float) -> _Fit:
        load, pv = _shape(profile, draws, activity, config.steps)
        scale = _scale_for(load, pv, abs_net_target)
        cons, prod = _to_wh(load * scale), _to_wh(pv * scale)
        return _Fit(activity, scale, cons, prod, _isolated_benefit_wh(cons, prod, config))

    target_wh = benefit_target * WH_PER_KWH
    low, high = 0.0, 1.0
    best = fit(0.0)
    for _ in range(config.bisection_rounds):
        candidate = fit((low + high) / 2)
        if abs(candidate.benefit_wh - target_wh) < abs(best.benefit_wh - target_wh):
            best = candidate
        if candidate.benefit_wh < target_wh:
            low = candidate.activity
        else:
            high = candidate.activity
    return best


def _frame(consumption_wh: np.ndarray, production_wh: np.ndarray, first_step: int = 0) -> pd.DataFrame:
    steps = np.arange(first_step, first_step + len(consumption_wh))
    return pd.DataFrame(
        {
            "step": steps,
            "time_s": steps * STEP_SECONDS,
            CONSUMPTION: wh_to_kwh(consumption_wh),
            PRODUCTION: wh_to_kwh(production_wh),
        }
    )


@lru_cache(maxsize=8)
def _synthetic(config: SyntheticConfig) -> MicrogridData:
    frames, history, rows = {}, {}, []
    for index, agent in enumerate(config.agents):
        fit = _calibrate_agent(index, agent, config)
        profile = config.profiles[agent]
        frames[agent] = _frame(fit.consumption_wh, fit.production_wh)
        earlier = [
            _shape(profile, _draws(config.seed, index, day, profile, config.steps), fit.activity, config.steps)
            for day in range(config.history_days, 0, -1)
        ]
        if earlier:
            history[agent] = _frame(
                _to_wh(np.concatenate([load for load, _ in earlier]) * fit.scale),
                _to_wh(np.concatenate([pv for _, pv in earlier]) * fit.scale),
                first_step=-config.history_days * config.steps,
            )
        abs_net_target, benefit_target = config.targets[agent]
        rows.append(
            {
                "agent": agent,
                "activity": fit.activity,
                "scale": fit.scale,
                "abs_net_kwh": wh_to_kwh(int(np.abs(fit.production_wh - fit.consumption_wh).sum())),
                "abs_net_target_kwh": abs_net_target,
                "isolated_benefit_kwh": wh_to_kwh(fit.benefit_wh),
                "isolated_benefit_target_kwh": benefit_target,
                "peak_production_kwh": wh_to_kwh(int(fit.production_wh.max())),
                "consumption_kwh": wh_to_kwh(int(fit.consumption_wh.sum())),
                "production_kwh": wh_to_kwh(int(fit.production_wh.sum())),
            }
        )
    return MicrogridData(frames=frames, history=history, calibration=pd.DataFrame(rows))


def synthetic_microgrid(config: SyntheticConfig | None = None, **overrides: object) -> MicrogridData:
    """The calibrated synthetic microgrid (cached per config). Keyword overrides replace config fields,
    e.g. `synthetic_microgrid(seed=3, history_days=0)`. Frames are copies, safe to modify."""
    base = config or SyntheticConfig()
    if overrides:
        base = replace(base, **overrides)
    data = _synthetic(_hashable(base))
    return MicrogridData(
        frames={a: f.copy() for a, f in data.frames.items()},
        history={a: f.copy() for a, f in data.history.items()},
        calibration=data.calibration.copy(),
    )


def _hashable(config: SyntheticConfig) -> SyntheticConfig:
    """The config with its mappings frozen into sorted tuples' dict views, so lru_cache can key it."""
    return replace(config, profiles=_FrozenMap(config.profiles), targets=_FrozenMap(config.targets))


class _FrozenMap(dict):
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


# --------------------------------------------------------------------------------------------------
# Conversions and the real dataset


def frames_to_wh(frames: Mapping[str, pd.DataFrame]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(agents, consumption_wh[agent, step], production_wh[agent, step]) as int64 Wh, via units.kwh_to_wh."""
    agents = tuple(frames)
    lengths = {len(f) for f in frames.values()}
    if len(lengths) != 1:
        raise DataError(f"agents cover different numbers of steps: {sorted(lengths)}")
    to_wh = np.vectorize(kwh_to_wh, otypes=[np.int64])
    consumption = np.stack([to_wh(frames[a][CONSUMPTION].to_numpy()) for a in agents])
    production = np.stack([to_wh(frames[a][PRODUCTION].to_numpy()) for a in agents])
    return agents, consumption, production


@dataclass(frozen=True)
class UgimLayout:
    """Where the uGIM CSVs keep their data; the defaults are this project's assumption (docs/seed000.md).

    One CSV per agent named `file_pattern.format(agent=...)`, with a timestamp column and one
    consumption and one production column, power in `power_unit` ("kW" or "W") per 10-s sample.
    `value_scale` turns a sample into the energy the simulation moves per step: 1.0 reproduces the
    paper (a kW sample read as kWh*); 1/360 gives true kWh of a 10-s step at that power.
    """

    file_pattern: str = "{agent}.csv"
    timestamp: str = "Date"
    consumption: str = "Consumption"
    production: str = "Production"
    power_unit: str = "kW"
    value_scale: float = 1.0
    separator: str = ","

    def __post_init__(self) -> None:
        if self.power_unit not in ("kW", "W"):
            raise DataError(f"power_unit must be 'kW' or 'W', got {self.power_unit!r}")


def load_ugim(
    folder: str | Path,
    day: str | pd.Timestamp,
    *,
    agents: Sequence[str] = AGENTS,
    layout: UgimLayout = UgimLayout(),
    history_days: int = 1,
) -> MicrogridData:
    """Reads the real uGIM week into the frames `synthetic_microgrid` produces.

    `day` is the date of the 24-h window (midnight to midnight); `history_days` days before it become
    the forecasters' warm-up. Samples are put on the exact 10-s grid (mean of the samples in each
    10-s bin, gaps filled from the previous sample, a leading gap from the next), negative readings
    clipped to 0, and each value rounded to whole Wh. The calibration frame reports the data's own
    sums beside Table I.
    """
    start = pd.Timestamp(day).normalize()
    window_start = start - pd.Timedelta(days=history_days)
    grid = pd.date_range(window_start, start + pd.Timedelta(days=1), freq=f"{STEP_SECONDS}s", inclusive="left")
    power_to_kw = 1.0 if layout.power_unit == "kW" else 1.0 / 1000.0
    frames, history, rows = {}, {}, []
    for agent in agents:
        path = Path(folder) / layout.file_pattern.format(agent=agent)
        if not path.exists():
            raise DataError(f"no uGIM file for agent {agent!r} at {path}")
        raw = pd.read_csv(path, sep=layout.separator)
        missing = {layout.timestamp, layout.consumption, layout.production} - set(raw.columns)
        if missing:
            raise DataError(f"{path} lacks columns {sorted(missing)}; set UgimLayout to its header")
        series = raw.set_index(pd.to_datetime(raw[layout.timestamp]))[[layout.consumption, layout.production]]
        series = series.astype(float).clip(lower=0.0).sort_index()
        binned = series.resample(f"{STEP_SECONDS}s").mean().reindex(grid).ffill().bfill()
        if binned.isna().any().any():
            raise DataError(f"{path} has no samples between {grid[0]} and {grid[-1]}")
        energy = binned.to_numpy() * power_to_kw * layout.value_scale
        cons, prod = _to_wh(energy[:, 0]), _to_wh(energy[:, 1])
        cut = history_days * STEPS_PER_DAY
        frames[agent] = _frame(cons[cut:], prod[cut:])
        if history_days:
            history[agent] = _frame(cons[:cut], prod[:cut], first_step=-cut)
        original = TABLE_I.get(agent, (float("nan"),) * 3)
        rows.append(
            {
                "agent": agent,
                "abs_net_kwh": wh_to_kwh(int(np.abs(prod[cut:] - cons[cut:]).sum())),
                "abs_net_target_kwh": original[0],
                "peak_production_kwh": wh_to_kwh(int(prod[cut:].max())),
                "consumption_kwh": wh_to_kwh(int(cons[cut:].sum())),
                "production_kwh": wh_to_kwh(int(prod[cut:].sum())),
            }
        )
    return MicrogridData(frames=frames, history=history, calibration=pd.DataFrame(rows))
