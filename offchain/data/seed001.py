"""Seeded synthetic prosumer instances for seed 001, chapter 3 (coalition market).

The thesis draws daily energy from the Ausgrid solar-home data: mean consumption 12.41 kWh/day, mean
generation 7.45 kWh/day, standard deviation 8.0 kWh, under normal (NDE), uniform (UDE) and log-normal
(LDE) distributions; prosumers sit in a 20 x 20 km area with the distribution centre in the middle.
One slot is one day, so an instance carries daily totals per prosumer (the coalition game only sees
P_i - C_i); intra-day shapes are not needed here.

Distribution details the thesis leaves open (docs/seed001.md): normal and uniform draws are clipped at
0 kWh (which raises their mean a little); the uniform has the stated mean and sd (half-width sd*sqrt(3));
the log-normal is parameterised to have exactly the stated mean and sd. Positions are uniform on the
square.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from eth_utils import keccak, to_checksum_address

Distribution = Literal["normal", "uniform", "lognormal"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "uniform", "lognormal")

MEAN_CONSUMPTION_KWH = 12.41
MEAN_GENERATION_KWH = 7.45
SD_KWH = 8.0
AREA_KM = 20.0
CENTRE_KM = (AREA_KM / 2, AREA_KM / 2)

_DISTRIBUTION_CODE = {name: code for code, name in enumerate(DISTRIBUTIONS)}


def daily_energy_kwh(
    rng: np.random.Generator, n: int, mean_kwh: float, sd_kwh: float, distribution: Distribution
) -> np.ndarray:
    """`n` daily energies (kWh, >= 0) with the given mean and standard deviation."""
    if distribution == "normal":
        values = rng.normal(mean_kwh, sd_kwh, n)
    elif distribution == "uniform":
        half_width = sd_kwh * np.sqrt(3.0)
        values = rng.uniform(mean_kwh - half_width, mean_kwh + half_width, n)
    elif distribution == "lognormal":
        sigma2 = np.log1p((sd_kwh / mean_kwh) ** 2)
        values = rng.lognormal(np.log(mean_kwh) - sigma2 / 2, np.sqrt(sigma2), n)
    else:
        raise ValueError(f"unknown distribution {distribution!r}; expected one of {DISTRIBUTIONS}")
    return np.maximum(values, 0.0)


def _frame(xy: np.ndarray, production: np.ndarray, consumption: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "prosumer": np.arange(len(production)),
            "x_km": xy[:, 0],
            "y_km": xy[:, 1],
            "production_kwh": production,
            "consumption_kwh": consumption,
        }
    )
    frame.attrs["centre_km"] = CENTRE_KM
    return frame


def scaling_instance(
    n: int, distribution: Distribution = "normal", seed: int = 0, area_km: float = AREA_KM
) -> pd.DataFrame:
    """`n` prosumers uniform on an `area_km` square (EDC at its centre) with daily production and
    consumption drawn from `distribution` (thesis means and sd). Same (n, distribution, seed) -> same frame."""
    rng = np.random.default_rng([seed, n, _DISTRIBUTION_CODE[distribution]])
    xy = rng.uniform(0.0, area_km, size=(n, 2))
    consumption = daily_energy_kwh(rng, n, MEAN_CONSUMPTION_KWH, SD_KWH, distribution)
    production = daily_energy_kwh(rng, n, MEAN_GENERATION_KWH, SD_KWH, distribution)
    frame = _frame(xy, production, consumption)
    frame.attrs["centre_km"] = (area_km / 2, area_km / 2)
    return frame


def ten_prosumer_instance(seed: int = 1, sellers: int = 5) -> pd.DataFrame:
    """The thesis' illustration (§3.4.1): 10 prosumers on 20 x 20 km, EDC at the centre, 5 with a
    surplus and 5 with a deficit. Normal daily profiles; draws are repeated (same generator stream) until
    exactly `sellers` prosumers have a surplus."""
    rng = np.random.default_rng([seed, 10, 1001])
    while True:
        xy = rng.uniform(0.0, AREA_KM, size=(10, 2))
        consumption = daily_energy_kwh(rng, 10, MEAN_CONSUMPTION_KWH, SD_KWH, "normal")
        production = daily_energy_kwh(rng, 10, MEAN_GENERATION_KWH, SD_KWH, "normal")
        if int(np.sum(production > consumption)) == sellers:
            return _frame(xy, production, consumption)


def prosumer_addresses(n: int, seed: int = 0) -> list[str]:
    """Deterministic stand-in account addresses (checksummed) for `n` prosumers: the last 20 bytes of
    keccak256("kwx-seed001-prosumer", seed, i). Their order differs from the index order, which is what
    address-ordered tie rules need to be exercised with."""
    return [
        to_checksum_address(keccak(f"kwx-seed001-prosumer:{seed}:{i}".encode())[-20:]) for i in range(n)
    ]
