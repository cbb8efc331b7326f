"""Seeded inputs of seed 003 chapters 5-6 (Liu: PEBT / Proof-of-Benefit and ePoB), on top of the chapter 3-4
generator in offchain/data/seed003.py (its EV population and stay-online model are reused, never copied).

- `residential_load_kw`: a 200-household Austrian-residential-like day (ENTSO-E AT 2015 is not shipped: a
  synthetic hourly shape with the thesis's morning 07-09 and evening 18-21 peaks, unit mean), scaled to
  `mean_kw_per_household` and interpolated to any step length.
- `CH5`: the Ch5 EV preset: zap-map charger classes 3 / 7 / 22 / 43 / 50 / 120 kW with shares the thesis does
  not give (60 / 12.5 / 12.5 / 5 / 5 / 5 %), charge:discharge 2:1.
- `CH6`: the Ch6 preset: U_i = 50 kW charging, discharging EVs (a third) at O_j = 15 kW (`DISCHARGE_KW`).
- `ch6_sessions`: EV sessions for the ePoB day (arrival, departure, demand), from the Ch3-4 population's
  main connected run (synthetic, or real ACN-Data stays through `acn_population`), on a day that starts at
  noon so overnight home sessions fit in one horizon (ACN-Data: at the slot with the fewest EVs connected).

Power in kW, energy in kWh, time in steps of the caller's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .seed003 import EV_DATA, SLOT_H, SLOTS, DataError, EvPopulation, EvPreset, population_from

HOUSEHOLDS = 200
EVS = 100
MEAN_KW_PER_HOUSEHOLD = 0.5
DISCHARGE_KW = 15.0
CHARGE_KW = 50.0

CH5 = EvPreset(
    "ch5", (36.0,), (1.0,), (3.0, 7.0, 22.0, 43.0, 50.0, 120.0), (0.6, 0.125, 0.125, 0.05, 0.05, 0.05),
    discharge_share=1 / 3,
)
CH6 = EvPreset("ch6", (60.0,), (1.0,), (CHARGE_KW,), (1.0,), discharge_share=1 / 3)


def austrian_hourly_shape() -> np.ndarray:
    """24 hourly values (hour h = h:00-h+1:00), unit mean: night trough at 03-04, a morning peak 07-09 and
    the evening peak 18-21 of the thesis's Fig. 5.3, a midday shoulder. Synthetic."""
    hours = np.arange(24) + 0.5

    def bump(centre: float, width: float, height: float) -> np.ndarray:
        return height * np.exp(-0.5 * (((hours - centre + 12) % 24 - 12) / width) ** 2)

    shape = 0.45 + bump(8.0, 1.0, 0.45) + bump(12.5, 2.0, 0.2) + bump(19.5, 1.4, 0.8)
    return shape / shape.mean()


def residential_load_kw(
    steps_per_hour: int, households: int = HOUSEHOLDS, mean_kw_per_household: float = MEAN_KW_PER_HOUSEHOLD,
    start_hour: float = 0.0,
) -> np.ndarray:
    """The area's household load (kW) for one day in steps of 1/`steps_per_hour` h from `start_hour`,
    linearly interpolated (cyclically) between the hourly values at mid-hour."""
    if steps_per_hour < 1 or households < 1 or not mean_kw_per_household > 0:
        raise DataError(
            f"steps_per_hour and households must be >= 1 and the mean load > 0, got {steps_per_hour}, "
            f"{households}, {mean_kw_per_household}"
        )
    shape = austrian_hourly_shape()
    t = (start_hour + (np.arange(24 * steps_per_hour) + 0.5) / steps_per_hour) % 24
    hours = np.concatenate([[-0.5], np.arange(24) + 0.5, [24.5]])
    values = np.concatenate([[shape[-1]], shape, [shape[0]]])
    return np.interp(t, hours, values) * households * mean_kw_per_household


@dataclass(frozen=True)
class Sessions:
    """EV sessions of one horizon of `steps` steps of `step_h` h from half-hour slot `start_slot` of the day.
    Per EV: arrival and departure step (connected in [arrival, departure)), demand_kwh (CV_i, charging EVs)
    or offer_kwh (DV_j, discharging), rate_kw (U_i or O_j), discharging flag; `population`: the population
    they were drawn from."""

    arrival: np.ndarray
    departure: np.ndarray
    demand_kwh: np.ndarray
    offer_kwh: np.ndarray
    rate_kw: np.ndarray
    discharging: np.ndarray
    steps: int
    step_h: float
    start_slot: int = 24
    population: EvPopulation | None = field(default=None, repr=False)

    @property
    def steps_per_slot(self) -> int:
        """Decision steps per half-hour slot."""
        return round(SLOT_H / self.step_h)

    @property
    def size(self) -> int:
        """Number of sessions."""
        return len(self.arrival)


def ch6_sessions(
    evs: int, seed: int, steps_per_slot: int = 3, start_slot: int | None = 24, ev_data: str = "synthetic"
) -> Sessions:
    """`evs` EV sessions for an ePoB day starting at slot `start_slot` (default noon; None: the slot with the
    fewest EVs connected), in steps of SLOT_H / `steps_per_slot` (default 10 min). Each EV's main connected
    run of the Ch3-4 population (preset CH6, `seed`; `ev_data` "acn": real ACN-Data Caltech stays through
    `acn_population`) gives its arrival and departure; the arrival moves to a random step of its slot; a run
    that wraps past the horizon end is cut there. Demands are capped at what the rate can deliver in the stay."""
    if evs < 1 or steps_per_slot < 1 or ev_data not in EV_DATA:
        raise DataError(f"evs and steps_per_slot must be >= 1 and ev_data one of {', '.join(EV_DATA)}, got {evs}, "
                        f"{steps_per_slot} and {ev_data!r}")
    population = population_from(ev_data, CH6, omega=evs, seed=seed)
    if start_slot is None:
        start_slot = int(np.argmin(population.connected.sum(axis=0)))
    rng = np.random.default_rng(seed + 1)
    steps = SLOTS * steps_per_slot
    step_h = SLOT_H / steps_per_slot
    arrival = np.zeros(evs, dtype=int)
    departure = np.zeros(evs, dtype=int)
    for i in range(evs):
        start = (int(population.arrival[i]) - start_slot) % SLOTS
        length = 0
        row = np.roll(population.connected[i], -start_slot)
        while start + length < SLOTS and row[start + length]:
            length += 1
        arrival[i] = start * steps_per_slot + int(rng.integers(steps_per_slot))
        departure[i] = max(arrival[i] + 1, (start + length) * steps_per_slot)
    rate = np.where(population.discharging, DISCHARGE_KW, CHARGE_KW)
    stay_kwh = (departure - arrival) * step_h * rate
    demand = np.where(population.discharging, 0.0, np.minimum(population.demand_uncapped_kwh, 0.9 * stay_kwh))
    offer = np.where(population.discharging, np.minimum(population.offer_kwh, stay_kwh), 0.0)
    return Sessions(arrival, departure, demand, offer, rate, population.discharging.copy(), steps, step_h, start_slot,
                    population)
