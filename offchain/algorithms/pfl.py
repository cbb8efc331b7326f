"""Power-fluctuation level (PFL) metrics of seed 003 (Liu thesis), each definition under its own name.

The thesis defines "PFL" differently in every chapter (docs/adbev.md §PFL); a caller names the one it
means. All functions take a load curve `load` of shape (T,) (or (..., T): the metric is taken over the
last axis) in any power unit (kW or kVA) sampled at equal slots, and return floats in the units stated.

| function | thesis | formula |
|---|---|---|
| `pfl_log_range` | Ch3, Eq. 3.11 | ln((max - min) / mean) (dimensionless; base configurable) |
| `pfl_total_variation` | Ch4, Eq. 4.4 | sum_t |P(t) - P(t-1)| (units of `load`, times `scale`) |
| `pf_slope_variance` | Ch5, Eq. 5.7 | (1/T') sum_k (l_k - mean(l))^2 with l_k = P(k) - P(k-1) (units^2) |
| `pfl_squared_diff` | Ch6, Eq. 6.4 | sum_t (P(t) - P(t-1))^2 * dt (units^2 * h) |

plus the reporting helpers `peak`, `minimum`, `mean_load`, `load_factor` (mean / peak, the PAR's
reciprocal), `peak_to_average` and `one_minus_load_factor` (CityLearn's name for 1 - load factor).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PFL_DEFINITIONS",
    "load_factor",
    "mean_load",
    "minimum",
    "one_minus_load_factor",
    "peak",
    "peak_to_average",
    "pf_slope_variance",
    "pfl",
    "pfl_log_range",
    "pfl_squared_diff",
    "pfl_total_variation",
]


def _curve(load: np.ndarray | list[float]) -> np.ndarray:
    curve = np.asarray(load, dtype=float)
    if curve.ndim == 0 or curve.shape[-1] < 2:
        raise ValueError(f"a load curve needs at least 2 slots, got shape {curve.shape}")
    if not np.all(np.isfinite(curve)):
        raise ValueError("a load curve must be finite")
    return curve


def pfl_log_range(load: np.ndarray | list[float], base: float = np.e) -> np.ndarray | float:
    """Ch3's PFL (Eq. 3.11): log_base((max_t P - min_t P) / mean_t P), dimensionless.

    The thesis does not state the base; the natural log fits its figures (docs/adbev.md). A flat curve has
    PFL -inf; the mean must be positive."""
    curve = _curve(load)
    mean = curve.mean(axis=-1)
    if np.any(mean <= 0):
        raise ValueError("pfl_log_range needs a positive mean load")
    spread = curve.max(axis=-1) - curve.min(axis=-1)
    with np.errstate(divide="ignore"):
        value = np.log(spread / mean) / np.log(base)
    return value if np.ndim(value) else float(value)


def pfl_total_variation(load: np.ndarray | list[float], scale: float = 1.0) -> np.ndarray | float:
    """Ch4's PFL (Eq. 4.4): sum_t |P(t) - P(t-1)| * scale, in the units of `load` times `scale`.

    The thesis's values (1.15, 0.85, 0.63) are consistent with MVA; pass `scale=1e-3` for kVA -> MVA."""
    value = np.abs(np.diff(_curve(load), axis=-1)).sum(axis=-1) * scale
    return value if np.ndim(value) else float(value)


def pf_slope_variance(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Ch5's PF (Eq. 5.7): population variance of the slope l_k = P(k) - P(k-1), in units^2 per slot^2."""
    value = np.diff(_curve(load), axis=-1).var(axis=-1)
    return value if np.ndim(value) else float(value)


def pfl_squared_diff(load: np.ndarray | list[float], dt_h: float = 1.0) -> np.ndarray | float:
    """Ch6's fluctuation (Eq. 6.4): sum_t (P(t) - P(t-1))^2 * dt_h, in units^2 * h."""
    if not dt_h > 0:
        raise ValueError(f"dt_h must be > 0 h, got {dt_h}")
    value = (np.diff(_curve(load), axis=-1) ** 2).sum(axis=-1) * dt_h
    return value if np.ndim(value) else float(value)


def peak(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Largest slot load, in the units of `load`."""
    value = _curve(load).max(axis=-1)
    return value if np.ndim(value) else float(value)


def minimum(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Smallest slot load, in the units of `load`."""
    value = _curve(load).min(axis=-1)
    return value if np.ndim(value) else float(value)


def mean_load(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Mean slot load, in the units of `load`."""
    value = _curve(load).mean(axis=-1)
    return value if np.ndim(value) else float(value)


def load_factor(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Mean / peak in [0, 1] (1 = flat); needs a positive peak."""
    curve = _curve(load)
    top = curve.max(axis=-1)
    if np.any(top <= 0):
        raise ValueError("load_factor needs a positive peak")
    value = curve.mean(axis=-1) / top
    return value if np.ndim(value) else float(value)


def peak_to_average(load: np.ndarray | list[float]) -> np.ndarray | float:
    """Peak / mean (PAR, the load factor's reciprocal); needs a positive mean."""
    curve = _curve(load)
    mean = curve.mean(axis=-1)
    if np.any(mean <= 0):
        raise ValueError("peak_to_average needs a positive mean load")
    value = curve.max(axis=-1) / mean
    return value if np.ndim(value) else float(value)


def one_minus_load_factor(load: np.ndarray | list[float]) -> np.ndarray | float:
    """1 - load factor (CityLearn's KPI name), 0 for a flat curve."""
    return 1.0 - load_factor(load)


#: The thesis's PFL definitions by chapter, for callers that take the definition as an option.
PFL_DEFINITIONS = {
    "ch3-log-range": pfl_log_range,
    "ch4-total-variation": pfl_total_variation,
    "ch5-slope-variance": pf_slope_variance,
    "ch6-squared-diff": pfl_squared_diff,
}


def pfl(load: np.ndarray | list[float], definition: str) -> np.ndarray | float:
    """The PFL named `definition` (a key of PFL_DEFINITIONS) with its default parameters."""
    try:
        metric = PFL_DEFINITIONS[definition]
    except KeyError:
        raise ValueError(f"unknown PFL definition {definition!r}; one of {sorted(PFL_DEFINITIONS)}") from None
    return metric(load)
