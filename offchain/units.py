"""Every unit conversion between Python floats and on-chain integers lives here.

On chain: energy in Wh (unsigned integers), prices in UPOS base units per kWh (18 decimals), time in
periods/slots. In Python: energy in kWh floats, prices in UPOS per kWh floats, money in UPOS floats.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

UPOS_DECIMALS = 18
UPOS_BASE = 10**UPOS_DECIMALS  #: base units in one UPOS
EPOS_BASE = 10**18  #: base units in one score point
WH_PER_KWH = 1000


def _to_int_exact(value: float | int | Decimal, scale: int, what: str) -> int:
    scaled = Decimal(str(value)) * scale
    rounded = scaled.to_integral_value()
    if rounded < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return int(rounded)


def kwh_to_wh(kwh: float | int | Decimal) -> int:
    """kWh (float) -> Wh (int), rounded to the nearest Wh (ties to even). Raises ValueError on negative energy."""
    return _to_int_exact(kwh, WH_PER_KWH, "energy")


def wh_to_kwh(wh: int) -> float:
    """Wh (int) -> kWh (float)."""
    return wh / WH_PER_KWH


def upos_to_base(upos: float | int | Decimal) -> int:
    """UPOS (float) -> base units (int), rounded to the nearest base unit."""
    return _to_int_exact(upos, UPOS_BASE, "UPOS amount")


def base_to_upos(base: int) -> float:
    """UPOS base units (int) -> UPOS (float)."""
    return base / UPOS_BASE


def price_to_base_per_kwh(upos_per_kwh: float | int | Decimal) -> int:
    """Price in UPOS per kWh (float) -> UPOS base units per kWh (int)."""
    return upos_to_base(upos_per_kwh)


def payment_base(quantity_wh: int, price_base_per_kwh: int) -> int:
    """UPOS base units paid for `quantity_wh` Wh at `price_base_per_kwh` (floor division by 1000 Wh/kWh).

    The order book only admits prices that are multiples of 1000 base units per kWh, so the division is
    exact there; elsewhere the floor is the documented rounding rule.
    """
    return quantity_wh * price_base_per_kwh // WH_PER_KWH


def score_to_base(score: float | int | Decimal) -> int:
    """Proof score points (float, >= 0) -> EPOS base units (int)."""
    return _to_int_exact(score, EPOS_BASE, "score")


def base_to_score(base: int) -> float:
    """EPOS base units (int) -> proof score points (float)."""
    return base / EPOS_BASE


def kwh_to_wh_array(kwh: np.ndarray) -> np.ndarray:
    """kWh (float array) -> Wh (int64 array), rounded to the nearest Wh (ties to even, as `kwh_to_wh`).
    Raises ValueError on negative energy (beyond -0.5 Wh of solver noise, which rounds to 0)."""
    wh = np.rint(np.asarray(kwh, dtype=float) * WH_PER_KWH)
    if np.any(wh < 0):
        raise ValueError(f"energy must not be negative, got {float(np.min(kwh))} kWh")
    return wh.astype(np.int64)


def kw_to_w(kw: np.ndarray | float) -> list[int]:
    """Power in kW (float or array, signed) -> whole watts as Python ints (nearest, ties to even), the unit of
    a net-load window on chain."""
    return [int(v) for v in np.rint(np.atleast_1d(np.asarray(kw, dtype=float)) * 1000)]
