"""Seeded synthetic prosumer instances for seed 001, chapter 3 (coalition market).

The thesis draws daily energy from the Ausgrid solar-home data: mean consumption 12.41 kWh/day, mean
generation 7.45 kWh/day, standard deviation 8.0 kWh, under normal (NDE), uniform (UDE) and log-normal
(LDE) distributions; prosumers sit in a 20 x 20 km area with the distribution centre in the middle.
One slot is one day, so an instance carries daily totals per prosumer (the coalition game only sees
P_i - C_i); intra-day shapes are not needed here.

Distribution details the thesis leaves open (docs/seed001.md §11): energy cannot be negative, so normal
and uniform draws are clipped at 0 kWh. Clipping a normal(7.45, 8) raises its mean to 8.21 kWh (+10 %)
and lowers its sd to 6.8, so by default (`moments="realised"`) the location and scale are solved so that
the clipped values have exactly the thesis' mean and sd; `moments="underlying"` clips draws made with the
stated mean and sd (the realised mean is then higher). The log-normal needs no clipping and is
parameterised to have exactly the stated mean and sd either way. Positions are uniform on the square.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from eth_utils import keccak, to_checksum_address
from scipy import optimize, stats

Distribution = Literal["normal", "uniform", "lognormal"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("normal", "uniform", "lognormal")
#: "realised": the clipped draws have the stated mean and sd; "underlying": the stated mean and sd are the
#: parameters before clipping at 0 (the realised mean is then higher).
Moments = Literal["realised", "underlying"]
SQRT3 = float(np.sqrt(3.0))

MEAN_CONSUMPTION_KWH = 12.41
MEAN_GENERATION_KWH = 7.45
SD_KWH = 8.0
AREA_KM = 20.0
CENTRE_KM = (AREA_KM / 2, AREA_KM / 2)

_DISTRIBUTION_CODE = {name: code for code, name in enumerate(DISTRIBUTIONS)}


def _clipped_moments(distribution: Distribution, location: float, scale: float) -> tuple[float, float]:
    """Mean and sd of max(X, 0) for X normal(location, scale) or uniform with that mean and sd."""
    if distribution == "normal":
        z = location / scale
        below, density = stats.norm.cdf(z), stats.norm.pdf(z)
        mean = location * below + scale * density
        second = (location**2 + scale**2) * below + location * scale * density
    else:
        low, high = location - scale * SQRT3, location + scale * SQRT3
        if low >= 0:
            mean, second = (low + high) / 2, (low**2 + low * high + high**2) / 3
        elif high <= 0:
            mean = second = 0.0
        else:
            mean, second = high**2 / (2 * (high - low)), high**3 / (3 * (high - low))
    return float(mean), float(np.sqrt(max(second - mean**2, 0.0)))


@lru_cache(maxsize=64)
def clipped_parameters(distribution: Distribution, mean_kwh: float, sd_kwh: float) -> tuple[float, float]:
    """(location, scale) of a normal or uniform whose values clipped at 0 have mean `mean_kwh` and sd
    `sd_kwh`. E.g. normal, 7.45 / 8.0 kWh -> (5.27, 10.80): 31 % of the draws are clipped to 0."""
    if distribution not in ("normal", "uniform"):
        raise ValueError(f"only normal and uniform draws are clipped, not {distribution!r}")
    if not (mean_kwh > 0 and sd_kwh > 0):
        raise ValueError("mean and sd must be > 0 kWh")

    def residual(p: np.ndarray) -> list[float]:
        mean, sd = _clipped_moments(distribution, p[0], abs(p[1]))
        return [mean / mean_kwh - 1, sd / sd_kwh - 1]

    solution = optimize.root(residual, [mean_kwh, sd_kwh], method="hybr", options={"xtol": 1e-13})
    if not solution.success or max(map(abs, residual(solution.x))) > 1e-9:
        raise RuntimeError(f"no clipped {distribution} with mean {mean_kwh} and sd {sd_kwh}: {solution.message}")
    return float(solution.x[0]), float(abs(solution.x[1]))


def daily_energy_kwh(
    rng: np.random.Generator,
    n: int,
    mean_kwh: float,
    sd_kwh: float,
    distribution: Distribution,
    moments: Moments = "realised",
) -> np.ndarray:
    """`n` daily energies (kWh, >= 0) with the given mean and standard deviation: exactly for the
    log-normal, and for the clipped normal and uniform when `moments="realised"` (default); with
    `moments="underlying"` those two are drawn with the stated mean and sd and then clipped at 0."""
    if moments not in ("realised", "underlying"):
        raise ValueError(f"unknown moments {moments!r}; expected 'realised' or 'underlying'")
    if distribution == "lognormal":
        sigma2 = np.log1p((sd_kwh / mean_kwh) ** 2)
        return rng.lognormal(np.log(mean_kwh) - sigma2 / 2, np.sqrt(sigma2), n)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; expected one of {DISTRIBUTIONS}")
    if moments == "underlying":
        location, scale = mean_kwh, sd_kwh
    else:
        location, scale = clipped_parameters(distribution, mean_kwh, sd_kwh)
    if distribution == "normal":
        values = rng.normal(location, scale, n)
    else:
        values = rng.uniform(location - scale * SQRT3, location + scale * SQRT3, n)
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
    n: int,
    distribution: Distribution = "normal",
    seed: int = 0,
    area_km: float = AREA_KM,
    moments: Moments = "realised",
) -> pd.DataFrame:
    """`n` prosumers uniform on an `area_km` square (EDC at its centre) with daily production and
    consumption drawn from `distribution` (thesis means and sd, see `daily_energy_kwh` for `moments`).
    Same arguments -> same frame."""
    rng = np.random.default_rng([seed, n, _DISTRIBUTION_CODE[distribution]])
    xy = rng.uniform(0.0, area_km, size=(n, 2))
    consumption = daily_energy_kwh(rng, n, MEAN_CONSUMPTION_KWH, SD_KWH, distribution, moments)
    production = daily_energy_kwh(rng, n, MEAN_GENERATION_KWH, SD_KWH, distribution, moments)
    frame = _frame(xy, production, consumption)
    frame.attrs["centre_km"] = (area_km / 2, area_km / 2)
    return frame


def ten_prosumer_instance(seed: int = 1, sellers: int = 5, moments: Moments = "underlying") -> pd.DataFrame:
    """The thesis' illustration (§3.4.1): 10 prosumers on 20 x 20 km, EDC at the centre, 5 with a
    surplus and 5 with a deficit. Normal daily profiles; draws are repeated (same generator stream) until
    exactly `sellers` prosumers have a surplus.

    The thesis' illustration runs on LSTM forecasts of Ausgrid data, not on its scaling-run generator, and
    conditioning on 5 sellers changes the moments anyway, so the realised-moment correction is not applied
    by default: the instance stays the one the contract tests and the chain scenario are built on."""
    rng = np.random.default_rng([seed, 10, 1001])
    while True:
        xy = rng.uniform(0.0, AREA_KM, size=(10, 2))
        consumption = daily_energy_kwh(rng, 10, MEAN_CONSUMPTION_KWH, SD_KWH, "normal", moments)
        production = daily_energy_kwh(rng, 10, MEAN_GENERATION_KWH, SD_KWH, "normal", moments)
        if int(np.sum(production > consumption)) == sellers:
            return _frame(xy, production, consumption)


def prosumer_addresses(n: int, seed: int = 0) -> list[str]:
    """Deterministic stand-in account addresses (checksummed) for `n` prosumers: the last 20 bytes of
    keccak256("kwx-seed001-prosumer", seed, i). Their order differs from the index order, which is what
    address-ordered tie rules need to be exercised with."""
    return [
        to_checksum_address(keccak(f"kwx-seed001-prosumer:{seed}:{i}".encode())[-20:]) for i in range(n)
    ]
