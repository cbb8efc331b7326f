"""Seeded synthetic week for seed 002 (Košťál et al. 2024): industrial sites and shopping centres in a winter
week, hourly consumption and wind production per participant, and hourly day-ahead prices.

The paper's data set (one year of 15-min records from industrial premises and shopping centres, wind production
scaled to 35 %, winter weeks cut into one week per participant, look-alikes generated up to 103 participants)
is not published. This generator follows its preprocessing: quarter-hour consumption and wind production, wind
scaled by 0.35, quarter hours summed to hours, one Monday-to-Sunday winter week per participant, each a scaled,
noisy look-alike of one of two site types. The two overall scales (consumption, wind capacity) are then
calibrated so that the no-recommendation totals equal the paper's (bought 3,360,517.95 kWh and sold
2,006,353.32 kWh for 103 participants x 7 days, pro rata for other sizes): calibrated inputs, never reproduced
results. Day-ahead prices span the data set's 0.17-0.35 EUR/kWh, cheap at night, dear in the morning and
evening peaks. Choices: docs/peak_control.md.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize

HOURS = 24
QUARTERS = 4
PAPER_PARTICIPANTS = 103
PAPER_DAYS = 7
#: The paper's NOREC week totals (Sec. 6), kWh: calibration targets.
PAPER_BOUGHT_KWH = 3_360_517.95
PAPER_SOLD_KWH = 2_006_353.32
WIND_SCALE = 0.35  #: the paper keeps wind production only and scales it to 35 %
PRICE_RANGE_EUR_PER_KWH = (0.17, 0.35)
FLAT_PRICE_EUR_PER_KWH = 0.25  #: the paper's cost evaluation (EU average, H1 2023)

#: Hour-of-day weekday shapes (relative kWh per hour) of the two site types: near-zero nights and a sharp
#: 09:00 peak (the paper's Fig. 6: almost no night consumption, the hour-of-day peak at 09:00).
_INDUSTRIAL = np.array([0.03] * 6 + [0.3, 0.8, 1.6, 3.2, 1.8, 1.4, 1.1, 1.2, 1.1, 0.9, 0.6, 0.4, 0.25, 0.15, 0.1]
                       + [0.05] * 3)
_SHOPPING = np.array([0.03] * 7 + [0.4, 1.2, 2.8, 1.6] + [1.2] * 7 + [1.0, 0.8, 0.5, 0.1, 0.04, 0.04])
SITE_TYPES = ("industrial", "shopping")
#: Day-of-week factors (Monday first) per site type: industry idles at weekends, shops open on Saturday.
_WEEKDAY_FACTOR = {"industrial": np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.45, 0.35]),
                   "shopping": np.array([0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 0.6])}
#: Day-ahead price shape by hour of day, 0 (cheapest) to 1 (dearest).
_PRICE_SHAPE = np.array([0.05, 0.0, 0.0, 0.0, 0.05, 0.15, 0.45, 0.8, 1.0, 1.0, 0.8, 0.6, 0.55, 0.5, 0.5, 0.55,
                         0.7, 0.9, 0.95, 0.85, 0.6, 0.4, 0.25, 0.1])


@dataclass(frozen=True)
class Week:
    """One community week: `consumption` and `production` (n, days, 24) kWh per hour, `prices` (days, 24) EUR/kWh
    day-ahead, `site_types` (n,) names, `consumption_scale` and `wind_scale` the calibrated overall factors
    (1.0 when not calibrated)."""

    consumption: np.ndarray
    production: np.ndarray
    prices: np.ndarray
    site_types: tuple[str, ...]
    consumption_scale: float = 1.0
    wind_scale: float = 1.0

    @property
    def net(self) -> np.ndarray:
        """Consumption minus production (n, days, 24) kWh: a deficit where positive, a surplus where negative."""
        return self.consumption - self.production


def _wind_speed(rng: np.random.Generator, steps: int) -> np.ndarray:
    """A winter AR(1) wind speed (m/s) per quarter hour, mean 7 m/s."""
    speed = np.empty(steps)
    speed[0] = 7.0
    shocks = rng.normal(0.0, 0.35, steps)
    for t in range(1, steps):
        speed[t] = 7.0 + 0.995 * (speed[t - 1] - 7.0) + shocks[t]
    return np.clip(speed, 0.0, None)


def _power_curve(speed: np.ndarray) -> np.ndarray:
    """Share of rated power: cubic from 3 m/s cut-in to 12 m/s rated, 0 beyond 25 m/s cut-out."""
    share = np.clip((speed**3 - 27.0) / (12.0**3 - 27.0), 0.0, 1.0)
    return np.where(speed > 25.0, 0.0, share)


def _quarter_sum(quarters: np.ndarray) -> np.ndarray:
    """(..., hours * 4) quarter-hour kWh -> (..., hours) hourly kWh by SUM (the paper's preprocessing)."""
    return quarters.reshape(*quarters.shape[:-1], -1, QUARTERS).sum(axis=-1)


def raw_week(participants: int = PAPER_PARTICIPANTS, days: int = PAPER_DAYS, seed: int = 2) -> Week:
    """The uncalibrated week (scales 1.0): consumption in arbitrary kWh, wind already scaled by 0.35."""
    if participants < 1 or not 1 <= days <= PAPER_DAYS:
        raise ValueError(f"need participants >= 1 and 1 <= days <= {PAPER_DAYS}, got {participants}, {days}")
    rng = np.random.default_rng(seed)
    types = tuple(rng.choice(SITE_TYPES, size=participants, p=[0.6, 0.4]))
    size = rng.lognormal(0.0, 0.35, participants)
    quarters_per_day = HOURS * QUARTERS
    consumption = np.empty((participants, days * quarters_per_day))
    for i, kind in enumerate(types):
        shape = _INDUSTRIAL if kind == "industrial" else _SHOPPING
        daily = np.outer(_WEEKDAY_FACTOR[kind][:days], np.repeat(shape, QUARTERS) / QUARTERS)
        noise = rng.normal(1.0, 0.08, daily.shape).clip(0.5, 1.5)
        consumption[i] = size[i] * (daily * noise).ravel()
    common = _wind_speed(rng, days * quarters_per_day)
    capacity = rng.lognormal(0.0, 0.3, participants) / QUARTERS
    local = rng.normal(1.0, 0.1, (participants, days * quarters_per_day)).clip(0.6, 1.4)
    production = WIND_SCALE * capacity[:, None] * _power_curve(common[None, :] * local)
    hourly = (participants, days, HOURS)
    return Week(consumption=_quarter_sum(consumption).reshape(hourly),
                production=_quarter_sum(production).reshape(hourly), prices=day_ahead_prices(days, seed),
                site_types=types)


def day_ahead_prices(days: int = PAPER_DAYS, seed: int = 2) -> np.ndarray:
    """(days, 24) hourly day-ahead prices in EUR/kWh within 0.17-0.35: the hour-of-day shape plus a little
    day-to-day noise, clipped to the range."""
    rng = np.random.default_rng([seed, 1])
    low, high = PRICE_RANGE_EUR_PER_KWH
    noisy = _PRICE_SHAPE[None, :] + rng.normal(0.0, 0.05, (days, HOURS))
    return np.round(low + (high - low) * noisy.clip(0.0, 1.0), 4)


def _totals(consumption: np.ndarray, production: np.ndarray, ratio: float) -> tuple[float, float]:
    net = consumption - ratio * production
    return float(np.clip(net, 0, None).sum()), float(np.clip(-net, 0, None).sum())


def calibrate(raw: Week, bought_kwh: float, sold_kwh: float) -> Week:
    """`raw` with consumption and production scaled so that buying every hourly deficit and selling every hourly
    surplus (the paper's NOREC rule) buys `bought_kwh` and sells `sold_kwh` in total: the production-to-consumption
    ratio is solved for the sold/bought ratio, then both are scaled to the bought total."""
    if bought_kwh <= 0 or sold_kwh < 0:
        raise ValueError(f"need bought > 0 and sold >= 0 kWh, got {bought_kwh}, {sold_kwh}")

    def gap(log_ratio: float) -> float:
        b, s = _totals(raw.consumption, raw.production, float(np.exp(log_ratio)))
        return s - sold_kwh / bought_kwh * b  # increasing in the ratio: more production sells more, buys less

    ratio = float(np.exp(optimize.brentq(gap, -12.0, 12.0, xtol=1e-12))) if sold_kwh > 0 else 0.0
    raw_bought, _ = _totals(raw.consumption, raw.production, ratio)
    scale = bought_kwh / raw_bought
    return Week(consumption=raw.consumption * scale, production=raw.production * ratio * scale,
                prices=raw.prices, site_types=raw.site_types, consumption_scale=scale, wind_scale=ratio * scale)


def paper_totals(participants: int, days: int) -> tuple[float, float]:
    """The paper's NOREC bought and sold kWh pro rata per participant-day (its 103 x 7 totals at that size)."""
    share = participants * days / (PAPER_PARTICIPANTS * PAPER_DAYS)
    return PAPER_BOUGHT_KWH * share, PAPER_SOLD_KWH * share


def generate_week(participants: int = PAPER_PARTICIPANTS, days: int = PAPER_DAYS, seed: int = 2,
                  bought_kwh: float | None = None, sold_kwh: float | None = None) -> Week:
    """The calibrated week (:func:`calibrate`): by default to the paper's totals pro rata per participant-day
    (3,360,517.95 and 2,006,353.32 kWh at 103 x 7)."""
    raw = raw_week(participants, days, seed)
    bought, sold = paper_totals(participants, days)
    return calibrate(raw, bought if bought_kwh is None else bought_kwh, sold if sold_kwh is None else sold_kwh)


# --- the real-data week -----------------------------------------------------------------------------------------

#: The ev2gym wheel's data (make setup installs it without its dependencies): Pecan Street-derived residential
#: loads (24 households, 15-min kW, 2022), Dutch PV production (hourly, 2019) and Dutch day-ahead prices
#: (hourly, EUR/MWh, 2015-2024).
EV2GYM_VERSION = "2.0.0"
REAL_WEEK_START = "2022-01-10"  #: a winter Monday in the load data's year
HOUSEHOLDS_PER_PARTICIPANT = 10  #: as ev2gym's transformer loads: the sum of 10 households drawn per site
LOAD_YEAR_START = "2022-01-01 00:00:00"  #: the residential loads' first quarter hour (ev2gym's loader)
PV_YEAR_START = "2019-01-01 00:00:00"  #: the PV series' first hour (ev2gym's loader)


class RealDataError(ValueError):
    """The real-data week cannot be built (the ev2gym wheel is missing or the size is out of range)."""


def _ev2gym_data() -> Path:
    """The `data` folder of the installed ev2gym package, found without importing it: its loaders module imports
    pkg_resources (gone from setuptools >= 81) and pandapower (not installed), so the files are read here with
    the loaders' own steps (ev2gym/utilities/loaders.py)."""
    spec = importlib.util.find_spec("ev2gym")
    if spec is None or not spec.submodule_search_locations:
        raise RealDataError(f"the real-load week needs the ev2gym wheel: pip install --no-deps "
                            f"ev2gym=={EV2GYM_VERSION} (make setup)")
    return Path(spec.submodule_search_locations[0]) / "data"


def real_week(participants: int = PAPER_PARTICIPANTS, days: int = PAPER_DAYS, seed: int = 2,
              start: str = REAL_WEEK_START) -> Week:
    """The uncalibrated real-data week from the ev2gym wheel, `days` days from `start` (a Monday):

    - consumption: per participant the sum of 10 of the 24 households drawn with seed ``seed + i`` (ev2gym's
      ``generate_residential_inflexible_loads`` draws 10 per transformer), quarter-hour kW averaged to hourly kWh
      (the paper's preprocessing sums quarter-hour energies; ev2gym's loader takes the hour's maximum kW);
    - production: the hourly Dutch PV series (its year replaced by the same date in 2019, as ev2gym's
      ``generate_pv_generation``) times a per-participant capacity uniform in [0.9, 1.1] (ev2gym's factor);
      the paper's wind series is not published, the package ships PV;
    - prices: the Dutch day-ahead prices of the same hours (UTC, as ev2gym's ``load_electricity_prices``), EUR/MWh
      to EUR/kWh, rounded to the order book's 0.0001 tick.

    Calibrate it with :func:`calibrate` (the command does, to the paper's totals). Site types read "household"."""
    import pandas as pd

    if not 1 <= participants <= 10_000 or not 1 <= days <= PAPER_DAYS:
        raise RealDataError(f"need 1-10000 participants and 1-{PAPER_DAYS} days, got {participants}, {days}")
    data = _ev2gym_data()
    first = pd.Timestamp(start)
    loads = pd.read_csv(data / "residential_loads.csv", header=None)
    loads.index = pd.date_range(LOAD_YEAR_START, periods=len(loads), freq="15min")
    window = loads.loc[first:first + pd.Timedelta(days=days) - pd.Timedelta(minutes=15)]
    hourly = window.groupby(window.index.floor("h")).mean()  # kW averaged over the hour = kWh in the hour
    if len(hourly) != days * HOURS:
        raise RealDataError(f"the load data has {len(hourly)} hours from {start}, need {days * HOURS}")
    consumption = np.stack([hourly.sample(HOUSEHOLDS_PER_PARTICIPANT, axis=1, random_state=seed + i).sum(axis=1)
                            .to_numpy() for i in range(participants)])
    pv = pd.read_csv(data / "pv_netherlands.csv")["electricity"].to_numpy()
    pv_first = int((first.replace(year=pd.Timestamp(PV_YEAR_START).year) - pd.Timestamp(PV_YEAR_START))
                   / pd.Timedelta(hours=1))
    capacity = np.random.default_rng([seed, 2]).uniform(0.9, 1.1, participants)
    production = capacity[:, None] * pv[pv_first:pv_first + days * HOURS][None, :]
    prices = pd.read_csv(data / "Netherlands_day-ahead-2015-2024.csv", usecols=["Datetime (UTC)", "Price (EUR/MWhe)"])
    stamps = prices["Datetime (UTC)"]  # ISO stamps up to 2022, day-first ones ("31/12/2022 23:00") from then on
    utc = pd.to_datetime(stamps, format="%Y-%m-%d %H:%M:%S", errors="coerce").fillna(
        pd.to_datetime(stamps, format="%d/%m/%Y %H:%M", errors="coerce"))
    week_prices = prices.loc[((utc >= first) & (utc < first + pd.Timedelta(days=days))).to_numpy(),
                             "Price (EUR/MWhe)"]
    if len(week_prices) != days * HOURS:
        raise RealDataError(f"the price data has {len(week_prices)} hours from {start}, need {days * HOURS}")
    shape = (participants, days, HOURS)
    return Week(consumption=consumption.reshape(shape), production=production.reshape(shape),
                prices=np.round(week_prices.to_numpy() / 1000.0, 4).reshape(days, HOURS),
                site_types=("household",) * participants)


def real_calibrated_week(participants: int = PAPER_PARTICIPANTS, days: int = PAPER_DAYS, seed: int = 2) -> Week:
    """:func:`real_week` calibrated to the paper's NOREC totals pro rata (as the synthetic week)."""
    return calibrate(real_week(participants, days, seed), *paper_totals(participants, days))
