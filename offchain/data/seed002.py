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

from dataclasses import dataclass

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


def generate_week(participants: int = PAPER_PARTICIPANTS, days: int = PAPER_DAYS, seed: int = 2,
                  bought_kwh: float | None = None, sold_kwh: float | None = None) -> Week:
    """The calibrated week: consumption and wind scaled so that buying every hourly deficit and selling every
    hourly surplus (the paper's NOREC rule) buys `bought_kwh` and sells `sold_kwh` in total. By default the
    paper's totals pro rata per participant-day (3,360,517.95 and 2,006,353.32 kWh at 103 x 7)."""
    raw = raw_week(participants, days, seed)
    share = participants * days / (PAPER_PARTICIPANTS * PAPER_DAYS)
    bought = PAPER_BOUGHT_KWH * share if bought_kwh is None else bought_kwh
    sold = PAPER_SOLD_KWH * share if sold_kwh is None else sold_kwh
    if bought <= 0 or sold < 0:
        raise ValueError(f"need bought > 0 and sold >= 0 kWh, got {bought}, {sold}")

    def gap(log_ratio: float) -> float:
        b, s = _totals(raw.consumption, raw.production, float(np.exp(log_ratio)))
        return s - sold / bought * b  # increasing in the ratio: more wind sells more and buys less

    ratio = float(np.exp(optimize.brentq(gap, -12.0, 12.0, xtol=1e-12))) if sold > 0 else 0.0
    raw_bought, _ = _totals(raw.consumption, raw.production, ratio)
    scale = bought / raw_bought
    return Week(consumption=raw.consumption * scale, production=raw.production * ratio * scale,
                prices=raw.prices, site_types=raw.site_types, consumption_scale=scale, wind_scale=ratio * scale)
