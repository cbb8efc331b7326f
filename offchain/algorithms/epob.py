"""ePoB online EV scheduling (seed 003 Ch6, Eqs. 6.4-6.6, Table 6-A) and its baselines.

A day is a grid of `steps` decision steps of `step_h` h (10 min in the thesis: one block per decision). EV i is
connected in steps [arrival_i, departure_i); a charging EV needs CV_i kWh at up to U_i kW, a discharging EV may
give up to DV_j kWh at up to O_j kW. The area's load is

    L(t) = P_BL(t) + v * sum_i x_i(t) - varpi * sum_j y_j(t)                                   (kW, 6.1-6.3)

and the fluctuation of a schedule is Upsilon = sum_t (L(t) - L(t-1))^2 * step_h (kW^2 h, Eq. 6.4), the
metric `offchain.algorithms.pfl.pfl_squared_diff`.

- :class:`IntervalQP` is the convex QP (6.6) over *event-driven intervals*: every arrival/departure is a time
  label, consecutive labels bound an interval with one constant rate per EV. The thesis's labels are EV
  events only; the base load changes within them, so hourly labels are added (its shape would otherwise be
  averaged away). Built once per size with cvxpy parameters and re-solved with Clarabel (interior point).
- :func:`run_online`: at each decision instant the QP sees only the EVs that have arrived (no future), and the
  first interval's rates are applied speeded up by `c` and capped (Table 6-A: S-hat = min(c * sum x-hat_i1,
  sum U_i)); c = 1 is "online without future knowledge", c > 1 ePoB.
- :func:`run_offline`: the full-horizon optimum with every EV known in advance (Upsilon*_OFF).
- :func:`competitive_ratio`: Upsilon_ON / Upsilon*_OFF of one instance (Eq. 6.5 with eps = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from offchain.algorithms.pebt import RoundFailure
from offchain.algorithms.pfl import pfl_squared_diff


@dataclass(frozen=True)
class Fleet:
    """EV sessions on a step grid. arrival/departure (steps, connected in [arrival, departure)), rate_kw (U_i or
    O_j), energy_kwh (CV_i for a charging EV, DV_j for a discharging one), discharging flags."""

    arrival: np.ndarray
    departure: np.ndarray
    rate_kw: np.ndarray
    energy_kwh: np.ndarray
    discharging: np.ndarray


@dataclass(frozen=True)
class Schedule:
    """Per-EV rates per step (kW, shape (n, steps); a discharging EV's row is its discharge rate), the area load
    L(t) (kW, steps) and the fluctuation Upsilon (kW^2 h)."""

    rates_kw: np.ndarray
    load_kw: np.ndarray
    fluctuation: float


def _ceil16(n: int) -> int:
    return max(16, -(-n // 16) * 16)


class IntervalQP:
    """min sum_k (L_k - L_{k-1})^2 * len_k over intervals k, s.t. each charging EV's energy over its intervals
    >= its residual demand, each discharging EV's <= its residual offer, 0 <= rate <= cap (6.6). Problems are
    compiled once per (EVs, intervals) capacity (multiples of 16) with cvxpy parameters and re-solved with the
    Clarabel interior-point solver (the thesis solves 6.4 by interior point; OSQP needed thousands of
    iterations on these length-weighted intervals and often stopped inaccurate)."""

    def __init__(self, charge_efficiency: float = 0.95, discharge_efficiency: float = 0.95) -> None:
        self.v, self.varpi = charge_efficiency, discharge_efficiency
        self._cache: dict[tuple[int, int, int], tuple[cp.Problem, dict[str, cp.Parameter], cp.Variable, cp.Variable]] = {}

    def _problem(self, nc: int, nd: int, k: int) -> tuple[cp.Problem, dict[str, cp.Parameter], cp.Variable, cp.Variable]:
        if (nc, nd, k) not in self._cache:
            charge, discharge = cp.Variable((nc, k), nonneg=True), cp.Variable((nd, k), nonneg=True)
            p = {
                "charge_cap": cp.Parameter((nc, k), nonneg=True),
                "discharge_cap": cp.Parameter((nd, k), nonneg=True),
                "need": cp.Parameter(nc, nonneg=True),
                "offer": cp.Parameter(nd, nonneg=True),
                "length": cp.Parameter(k, nonneg=True),
                "root_length": cp.Parameter(k, nonneg=True),
                "weighted_base_steps": cp.Parameter(k),
            }
            ev = self.v * cp.sum(charge, axis=0) - self.varpi * cp.sum(discharge, axis=0)
            ev_steps = cp.hstack([cp.reshape(ev[0], (1,), order="C"), ev[1:] - ev[:-1]])
            constraints = [
                charge <= p["charge_cap"],
                discharge <= p["discharge_cap"],
                charge @ p["length"] >= p["need"],
                discharge @ p["length"] <= p["offer"],
            ]
            weighted = cp.multiply(p["root_length"], ev_steps) + p["weighted_base_steps"]
            problem = cp.Problem(cp.Minimize(cp.sum_squares(weighted)), constraints)
            self._cache[(nc, nd, k)] = (problem, p, charge, discharge)
        return self._cache[(nc, nd, k)]

    def solve(
        self,
        cap_kw: np.ndarray,
        discharging: np.ndarray,
        residual_kwh: np.ndarray,
        length_h: np.ndarray,
        base_kw: np.ndarray,
        previous_kw: float,
        capacity: tuple[int, int, int] = (0, 0, 0),
    ) -> np.ndarray:
        """Rates (kW, shape of `cap_kw` = (EVs, intervals)). residual_kwh: a charging EV's residual demand or a
        discharging EV's residual offer; `capacity` (charging EVs, discharging EVs, intervals): the least size of
        the compiled problem, so that a run re-solves one problem warm. Raises RoundFailure when the demands
        cannot be met or the solver fails."""
        n, k = cap_kw.shape
        short = residual_kwh - cap_kw @ length_h
        if np.any(~discharging & (short > 1e-6)):
            worst = int(np.argmax(np.where(discharging, -np.inf, short)))
            raise RoundFailure(f"infeasible: EV {worst} needs {short[worst]:.4f} kWh more than its rate allows")
        c_rows, d_rows = np.nonzero(~discharging)[0], np.nonzero(discharging)[0]
        nc, nd, kk = (_ceil16(max(size, least)) for size, least in zip((len(c_rows), len(d_rows), k), capacity, strict=True))
        problem, p, charge, discharge = self._problem(nc, nd, kk)
        p["charge_cap"].value = np.pad(cap_kw[c_rows], ((0, nc - len(c_rows)), (0, kk - k)))
        p["discharge_cap"].value = np.pad(cap_kw[d_rows], ((0, nd - len(d_rows)), (0, kk - k)))
        p["need"].value = np.pad(residual_kwh[c_rows], (0, nc - len(c_rows)))
        p["offer"].value = np.pad(residual_kwh[d_rows], (0, nd - len(d_rows)))
        p["length"].value = np.pad(length_h, (0, kk - k))
        p["root_length"].value = np.sqrt(p["length"].value)
        base = np.pad(base_kw, (0, kk - k), mode="edge")
        p["weighted_base_steps"].value = p["root_length"].value * np.diff(np.concatenate([[previous_kw], base]))
        try:
            problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError as error:
            raise RoundFailure(f"solver failed: {error}") from error
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or charge.value is None:
            raise RoundFailure(f"solver status {problem.status}")
        rates = np.zeros((n, k))
        rates[c_rows] = charge.value[: len(c_rows), :k]
        rates[d_rows] = discharge.value[: len(d_rows), :k]
        return np.clip(rates, 0.0, cap_kw)


def load_of(fleet: Fleet, rates_kw: np.ndarray, base_kw: np.ndarray, qp: IntervalQP) -> np.ndarray:
    """L(t) (kW) of per-EV step rates."""
    sign = np.where(fleet.discharging, -qp.varpi, qp.v)
    return base_kw + sign @ rates_kw


def fluctuation(load_kw: np.ndarray, base_kw: np.ndarray, step_h: float) -> float:
    """Upsilon (kW^2 h) of an area load `load_kw` (kW per step of `step_h` h), the first step's change taken
    from the base load's first value (the load before any EV acts)."""
    return float(pfl_squared_diff(np.concatenate([[base_kw[0]], load_kw]), dt_h=step_h))


def _schedule(fleet: Fleet, rates: np.ndarray, base_kw: np.ndarray, qp: IntervalQP, step_h: float) -> Schedule:
    load = load_of(fleet, rates, base_kw, qp)
    return Schedule(rates, load, fluctuation(load, base_kw, step_h))


def run_offline(fleet: Fleet, base_kw: np.ndarray, step_h: float, qp: IntervalQP | None = None) -> Schedule:
    """The offline optimum (6.4): every EV known in advance, one rate per EV and step, the day in one QP."""
    qp = qp or IntervalQP()
    steps = len(base_kw)
    t = np.arange(steps)
    present = (t[None, :] >= fleet.arrival[:, None]) & (t[None, :] < fleet.departure[:, None])
    cap = np.where(present, fleet.rate_kw[:, None], 0.0)
    rates = qp.solve(cap, fleet.discharging, fleet.energy_kwh, np.full(steps, step_h), base_kw, float(base_kw[0]))
    return _schedule(fleet, rates, base_kw, qp, step_h)


def interval_labels(now: int, departures: np.ndarray, steps: int, steps_per_label: int) -> np.ndarray:
    """The time labels of a decision at step `now`: now, now + 1 (the applied interval), every later
    departure, every `steps_per_label`-th step (the base-load labels) and the horizon end, sorted, unique."""
    regular = np.arange(0, steps + 1, steps_per_label)
    labels = np.concatenate([[now, now + 1, steps], departures, regular])
    return np.unique(labels[(labels >= now) & (labels <= steps)])


def run_online(
    fleet: Fleet,
    base_kw: np.ndarray,
    step_h: float,
    c: float,
    steps_per_label: int = 6,
    qp: IntervalQP | None = None,
) -> tuple[Schedule, dict[int, str]]:
    """The online schedule: at each step only the EVs that have arrived, the QP (6.6) over event-driven
    intervals, the first interval applied with charging rates speeded by `c` (each capped at U_i and at what
    finishes its residual demand; the total so capped never exceeds sum U_i), discharging rates as solved. An
    EV in its last step takes its whole residual. A step whose QP fails is recorded ({step: reason}) and runs
    each charging EV at the rate that spreads its residual evenly; the next step proceeds."""
    if not c >= 1:
        raise ValueError(f"the speeding factor c must be >= 1, got {c}")
    qp = qp or IntervalQP()
    steps = len(base_kw)
    capacity = (
        int(np.sum(~fleet.discharging)), int(np.sum(fleet.discharging)), 3 + len(np.unique(fleet.departure)) + steps // steps_per_label
    )
    rates = np.zeros((len(fleet.arrival), steps))
    residual = fleet.energy_kwh.astype(float).copy()
    failed: dict[int, str] = {}
    previous = float(base_kw[0])
    for now in range(steps):
        active = np.nonzero((fleet.arrival <= now) & (fleet.departure > now) & (residual > 1e-9))[0]
        if len(active):
            labels = interval_labels(now, fleet.departure[active], steps, steps_per_label)
            length = np.diff(labels) * step_h
            present = fleet.departure[active][:, None] >= labels[None, 1:]
            cap = np.where(present, fleet.rate_kw[active][:, None], 0.0)
            base = np.array([base_kw[a:b].mean() for a, b in zip(labels[:-1], labels[1:], strict=True)])
            discharging = fleet.discharging[active]
            try:
                first = qp.solve(cap, discharging, residual[active], length, base, previous, capacity)[:, 0]
                first = np.where(discharging, first, c * first)
            except RoundFailure as failure:
                failed[now] = failure.reason
                remaining_h = (fleet.departure[active] - now) * step_h
                first = np.where(discharging, 0.0, residual[active] / remaining_h)
            last = fleet.departure[active] == now + 1
            limit = np.minimum(fleet.rate_kw[active], residual[active] / step_h)
            first = np.where(last & ~discharging, limit, np.minimum(first, limit))
            rates[active, now] = first
            residual[active] -= first * step_h
        previous = float(load_of(fleet, rates[:, now : now + 1], base_kw[now : now + 1], qp)[0])
    return _schedule(fleet, rates, base_kw, qp, step_h), failed


def competitive_ratio(online: Schedule, offline: Schedule) -> float:
    """Upsilon_ON / Upsilon*_OFF of one instance."""
    return online.fluctuation / offline.fluctuation
