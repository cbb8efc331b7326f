"""Seed 002 (Košťál et al. 2024) peak control: the daily PAR (Eq. 11), the balance heuristic V (Eq. 12), the
sellers' penalty vector (Sec. 4) and the best-first (A*) search for a balanced 24-hour purchase schedule.

Pure functions on numpy arrays, energies in kWh. "PAR" is the paper's avg/max of the 24 hourly aggregate
purchases of one day (higher is better; CityLearn's daily ``1 - load factor`` is ``1 - PAR``). Every choice where
the paper is wrong or silent is documented in docs/peak_control.md.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

HOURS = 24
#: The least rise in V (percentage points) that counts as better: below it is rounding noise (the literal Eq. 12
#: is 0 up to about 1e-14).
IMPROVEMENT = 1e-9
#: Eq. 12 as printed ("literal", identically 0) or 100 minus the mean absolute percentage deviation from the
#: mean ("corrected", 100 = perfectly flat).
BalanceForm = Literal["corrected", "literal"]


def par(purchases: np.ndarray) -> np.ndarray | float:
    """Eq. 11: avg / max over the last axis (24 hourly kWh of one day). A day without purchases is perfectly
    flat: PAR 1.0 (the paper leaves 0/0 open)."""
    values = np.asarray(purchases, dtype=float)
    peak = values.max(axis=-1)
    mean = values.mean(axis=-1)
    result = np.where(peak > 0, mean / np.where(peak > 0, peak, 1.0), 1.0)
    return float(result) if result.ndim == 0 else result


def one_minus_load_factor(purchases: np.ndarray) -> np.ndarray | float:
    """CityLearn's daily KPI ``1 - load factor`` (lower is better): ``1 - par(purchases)``."""
    return 1.0 - par(purchases)


def balance(aggregate: np.ndarray, form: BalanceForm = "corrected") -> float:
    """Eq. 12 on one day's 24 hourly kWh (percent).

    "corrected": ``100 - mean_h |100 - 100 s_h / mean(s)|``, 100 for a flat day, lower the more uneven.
    "literal": ``mean_h (100 - 100 s_h / mean(s))`` as printed, which is 0 for every day with purchases because
    ``sum_h s_h / mean(s) = 24``. An empty day is flat (100 corrected, 0 literal)."""
    return float(balance_rows(np.asarray(aggregate, dtype=float)[None, :], form)[0])


def balance_rows(days: np.ndarray, form: BalanceForm = "corrected") -> np.ndarray:
    """:func:`balance` of every row of `days` (k, 24) at once (k,)."""
    mean = days.mean(axis=1, keepdims=True)
    relative = 100.0 * days / np.where(mean > 0, mean, 1.0)
    if form == "literal":
        return np.where(mean[:, 0] > 0, np.mean(100.0 - relative, axis=1), 0.0)
    return np.where(mean[:, 0] > 0, 100.0 - np.mean(np.abs(100.0 - relative), axis=1), 100.0)


def penalty_vector(previous_day: np.ndarray, threshold: float = 0.85, low: float = 1.1,
                   high: float = 1.5) -> np.ndarray:
    """The sellers' 24 price multipliers for a day, from the previous day's 24 hourly aggregate kWh.

    No penalties (all 1.0) when PAR >= `threshold`. Otherwise the hours above the day's mean are penalised,
    linearly in their excess over the mean: the least excess among them gets `low`, the largest `high`
    (min and max taken over the penalised hours). One penalised hour, or several with equal excess, get `high`
    (the paper's normalisation divides by zero there). Other hours 1.0."""
    values = np.asarray(previous_day, dtype=float)
    if values.shape != (HOURS,):
        raise ValueError(f"previous_day must hold {HOURS} hourly values, got shape {values.shape}")
    if not 1.0 <= low <= high:
        raise ValueError(f"need 1.0 <= low <= high, got low={low}, high={high}")
    multipliers = np.ones(HOURS)
    if par(values) >= threshold:
        return multipliers
    excess = values - values.mean()
    above = excess > 0
    spread = excess[above].max() - excess[above].min()
    if spread <= 0:
        multipliers[above] = high
    else:
        multipliers[above] = low + (high - low) * (excess[above] - excess[above].min()) / spread
    return multipliers


@dataclass(frozen=True)
class SearchSettings:
    """The A* (greedy best-first) search of Sec. 4, parameters the paper leaves open.

    `v_target`: stop when the corrected V reaches it (percent); `max_expansions` and `time_budget_s`: the other
    stops (the expansion cap makes runs reproducible; the time budget is off by default, None, because a
    time-dependent result could differ between the model and the chain run); `alpha`: the share of half the gap
    between a high and a low hour moved at V = 0 — the move shrinks as ``alpha (1 - V/100)`` as V improves,
    like a falling annealing temperature; `k`: how many of the most and least loaded hours pair up as moves;
    `form`: the heuristic's form (the literal one is 0 everywhere, so the search then has no guidance and stops
    at the expansion cap with the first state it found)."""

    v_target: float = 97.0
    max_expansions: int = 400
    time_budget_s: float | None = None
    alpha: float = 1.0
    k: int = 3
    form: BalanceForm = "corrected"


@dataclass(frozen=True)
class SearchResult:
    """The best state found (24 kWh, same total as the start), its V, the start's V, expansions made and why
    the search stopped ("target", "expansions", "time" or "exhausted")."""

    best: np.ndarray
    v_best: float
    v_start: float
    expansions: int
    stopped: str


def _successors(state: np.ndarray, v: float, settings: SearchSettings) -> np.ndarray:
    """(m, 24) children of `state`: each moves ``alpha (1 - V/100) / 2`` of the gap from one of the `k` most to
    one of the `k` least loaded hours (pairs with no gap left out)."""
    order = np.argsort(state, kind="stable")
    lows, highs = order[: settings.k], order[::-1][: settings.k]
    hi, lo = np.repeat(highs, lows.size), np.tile(lows, highs.size)
    delta = settings.alpha * (1.0 - max(v, 0.0) / 100.0) / 2.0 * (state[hi] - state[lo])
    keep = delta > 0
    children = np.repeat(state[None, :], int(keep.sum()), axis=0)
    rows = np.arange(children.shape[0])
    children[rows, hi[keep]] -= delta[keep]
    children[rows, lo[keep]] += delta[keep]
    return children


def best_first_schedule(start: np.ndarray, settings: SearchSettings = SearchSettings()) -> SearchResult:
    """Search for the most balanced 24-hour schedule reachable from `start` (24 kWh) by moving energy from the
    `k` most to the `k` least loaded hours (total conserved). The open list is ordered by V (best first, g = 0:
    greedy best-first, which is A* with a zero path cost, the reading of the paper's "modified A*").

    Stops at ``V >= v_target``, after `max_expansions` expansions, when `time_budget_s` runs out, or when no
    move is left. Deterministic without a time budget (ties broken by insertion order)."""
    origin = np.asarray(start, dtype=float)
    if origin.shape != (HOURS,) or np.any(origin < 0):
        raise ValueError(f"start must be {HOURS} non-negative hourly values, got shape {origin.shape}")
    deadline = None if settings.time_budget_s is None else time.perf_counter() + settings.time_budget_s
    v_start = balance(origin, settings.form)
    counter = itertools.count()
    open_list: list[tuple[float, int, np.ndarray]] = [(-v_start, next(counter), origin)]
    seen = {origin.round(6).tobytes()}
    best, v_best, expansions = origin, v_start, 0
    stopped = "exhausted"
    while open_list:
        if v_best >= settings.v_target:
            stopped = "target"
            break
        if expansions >= settings.max_expansions:
            stopped = "expansions"
            break
        if deadline is not None and time.perf_counter() >= deadline:
            stopped = "time"
            break
        negative_v, _, state = heapq.heappop(open_list)
        expansions += 1
        children = _successors(state, -negative_v, settings)
        for child, rounded, v_child in zip(children, children.round(6), balance_rows(children, settings.form)):
            key = rounded.tobytes()
            if key in seen:
                continue
            seen.add(key)
            v_child = float(v_child)
            heapq.heappush(open_list, (-v_child, next(counter), child))
            if v_child > v_best + IMPROVEMENT:
                best, v_best = child, v_child
    return SearchResult(best=best, v_best=v_best, v_start=v_start, expansions=expansions, stopped=stopped)


def split_schedule(aggregate: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split a 24-hour aggregate schedule among participants in proportion to `weights` (n, >= 0; e.g. each
    one's share of the previous day's purchases): an (n, 24) array whose rows sum to ``weights / sum(weights)``
    of the aggregate. All-zero weights give zero rows (nobody bought, nobody is recommended anything)."""
    shares = np.asarray(weights, dtype=float)
    if np.any(shares < 0):
        raise ValueError("weights must not be negative")
    total = shares.sum()
    if total <= 0:
        return np.zeros((shares.size, HOURS))
    return np.outer(shares / total, np.asarray(aggregate, dtype=float))
