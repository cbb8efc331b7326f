"""PEBT round solver (seed 003 Ch5, Eqs. 5.7-5.8) and the integer benefit every peer can recompute.

One PEBT round decides how much of every pending order executes now. The proposer looks at a window of
``window`` rounds (this round and the rounds the oldest order may still wait: an order waits at most
``max_wait`` rounds, then is forced to execute, so the window is ``max_wait + 1`` rounds) and minimises the
variance of the slope of the microgrid's net load over that window (Eq. 5.7):

    theta_k = P_k + (v * charged_k - varpi * discharged_k) / round_h          (kW, k = 0..W-1)
    l_k     = theta_k - theta_{k-1}                  (kW per round; theta_{-1} = last round's net load)
    PF      = (1/W) * sum_k (l_k - mean(l))^2                                  (kW^2 per round^2)

subject to (5.8): every order executes in full by its deadline (the thesis's forced execution: total
transacted energy is conserved), at most ``cap`` kWh of an order per round (its charger rate times the
round), nothing negative. It is a convex QP; :class:`PebtSolver` builds it once per size with cvxpy
``Parameter``s and re-solves it with OSQP warm-started, round after round.

The benefit ``lambda = 1 / PF`` (the thesis's "reciprocal of the solution") is made exact and public by
:func:`benefit`: it is computed from the window's net load rounded to whole watts, in integer arithmetic,
by the same formula the BenefitConsensus contract evaluates on chain (``BENEFIT_SCALE * W^2 /
(W * sum l^2 - (sum l)^2 + W^2)``). Any peer with the round's public orders and metered load recomputes
the schedule with this solver and compares; the chain recomputes the benefit from the revealed net load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

BENEFIT_SCALE = 10**18  #: lambda's fixed-point scale on chain: lambda = BENEFIT_SCALE / (PF + 1 W^2)


class RoundFailure(RuntimeError):
    """A round the solver could not schedule (infeasible orders or a solver failure); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def benefit(net_load_w: Sequence[int]) -> int:
    """The round's benefit as an integer: ``BENEFIT_SCALE * W^2 // (W * sum(l^2) - sum(l)^2 + W^2)``.

    `net_load_w` holds the window's net load in whole watts, the last realised value first (W + 1 values,
    W >= 1); ``l`` are its W consecutive differences. ``W * sum(l^2) - sum(l)^2`` is W^2 times the slope
    variance PF (W^2), so this is ``BENEFIT_SCALE / (PF + 1)`` with PF in W^2 per round^2 (the +1 W^2 keeps
    a perfectly flat window finite). Exact integer arithmetic: the contract computes the same number."""
    values = [int(v) for v in net_load_w]
    if len(values) < 2:
        raise ValueError(f"a benefit needs at least 2 net-load values, got {len(values)}")
    slopes = [b - a for a, b in zip(values, values[1:], strict=False)]
    w = len(slopes)
    scaled_variance = w * sum(s * s for s in slopes) - sum(slopes) ** 2
    return BENEFIT_SCALE * w * w // (scaled_variance + w * w)


def benefit_float(lam: int) -> float:
    """lambda in 1 / (kW^2 per round^2) from the on-chain integer (`benefit`): 1 / (PF_kW2 + 1e-6)."""
    return lam / BENEFIT_SCALE * 1e6


@dataclass(frozen=True)
class PendingOrders:
    """The orders a round schedules, one row each (arrays of equal length n).

    remaining_kwh: energy still to execute (kWh, > 0); cap_kwh: the most one round can execute (kWh, charger
    rate x round length); rounds_left: rounds the order may still wait (0 = must finish this round);
    coefficient: the order's effect on net load per kWh (v for a charge/buy order, -varpi for a discharge/sell)."""

    remaining_kwh: np.ndarray
    cap_kwh: np.ndarray
    rounds_left: np.ndarray
    coefficient: np.ndarray

    def __len__(self) -> int:
        return len(self.remaining_kwh)


@dataclass(frozen=True)
class RoundSchedule:
    """A solved round: executed[i, k] kWh of order i in window round k (k = 0 executes now), the window's
    net load (kW, W values; the previous round's first in `window_kw` as given), PF (kW^2 per round^2)."""

    executed_kwh: np.ndarray
    net_load_kw: np.ndarray
    pf: float


class PebtSolver:
    """The slope-variance QP (5.7)-(5.8) over a `window`-round horizon, compiled once per order capacity.

    `round_h` is the round length (h). The slope variance is flat along every straight ramp, so many schedules
    share the optimum; `tie_break` (dimensionless, default 1e-3) adds that share of the mean squared slope
    to the objective, which picks the flattest of them and makes the schedule unique (peers recompute the
    same one). PF reports the variance alone. Problems are built for capacities 16, 32, 64, ... orders and cached;
    a round with fewer orders pads with zero-size orders, so consecutive rounds re-solve the same compiled
    problem with new parameter values (OSQP warm start)."""

    def __init__(
        self, window: int = 3, round_h: float = 5 / 60, *, tie_break: float = 1e-3, eps: float = 1e-7
    ) -> None:
        if window < 1 or not round_h > 0 or tie_break < 0:
            raise ValueError(f"window must be >= 1, round_h > 0, tie_break >= 0; got {window}, {round_h}, {tie_break}")
        self.window, self.round_h, self.tie_break, self.eps = window, round_h, tie_break, eps
        self._problems: dict[int, tuple[cp.Problem, dict[str, cp.Parameter], cp.Variable, cp.Expression]] = {}

    def _problem(self, capacity: int) -> tuple[cp.Problem, dict[str, cp.Parameter], cp.Variable, cp.Expression]:
        if capacity not in self._problems:
            w = self.window
            x = cp.Variable((capacity, w), nonneg=True)
            params = {
                "remaining": cp.Parameter(capacity, nonneg=True),
                "cap": cp.Parameter((capacity, w), nonneg=True),
                "coefficient": cp.Parameter(capacity),
                "base": cp.Parameter(w),
                "previous": cp.Parameter(),
            }
            theta = params["base"] + (params["coefficient"] @ x) / self.round_h
            slopes = cp.hstack([theta[0] - params["previous"], theta[1:] - theta[:-1]]) if w > 1 else theta[
                0
            ] - params["previous"]
            variance = cp.sum_squares(slopes - cp.sum(slopes) / w) / w
            objective = variance + self.tie_break * cp.sum_squares(slopes) / w
            constraints = [cp.sum(x, axis=1) == params["remaining"], x <= params["cap"]]
            self._problems[capacity] = (cp.Problem(cp.Minimize(objective), constraints), params, x, variance)
        return self._problems[capacity]

    def solve(self, orders: PendingOrders, base_kw: np.ndarray, previous_kw: float) -> RoundSchedule:
        """Schedule `orders` over the window given the other load `base_kw` (kW, one value per window round)
        and the last round's realised net load `previous_kw` (kW). Raises :class:`RoundFailure` when the
        orders cannot all finish by their deadlines or the solver does not return an optimum."""
        base = np.asarray(base_kw, dtype=float)
        if base.shape != (self.window,):
            raise ValueError(f"base_kw needs {self.window} values, got shape {base.shape}")
        n = len(orders)
        if np.any(orders.rounds_left < 0) or np.any(orders.remaining_kwh < 0) or np.any(orders.cap_kwh <= 0):
            raise RoundFailure("an order has a negative remaining energy, a past deadline or no rate")
        allowed = np.arange(self.window)[None, :] <= np.minimum(orders.rounds_left, self.window - 1)[:, None]
        cap = np.where(allowed, orders.cap_kwh[:, None], 0.0)
        short = orders.remaining_kwh - cap.sum(axis=1)
        if np.any(short > 1e-9):
            worst = int(np.argmax(short))
            raise RoundFailure(f"infeasible: order {worst} needs {short[worst]:.6f} kWh more than its rate allows")
        capacity = max(16, 1 << max(n - 1, 0).bit_length())
        problem, params, x, variance = self._problem(capacity)
        pad = capacity - n
        params["remaining"].value = np.concatenate([orders.remaining_kwh, np.zeros(pad)])
        params["cap"].value = np.vstack([cap, np.zeros((pad, self.window))])
        params["coefficient"].value = np.concatenate([orders.coefficient, np.zeros(pad)])
        params["base"].value = base
        params["previous"].value = float(previous_kw)
        try:
            problem.solve(solver=cp.OSQP, warm_start=True, eps_abs=self.eps, eps_rel=self.eps, max_iter=200_000)
        except cp.error.SolverError as error:
            raise RoundFailure(f"solver failed: {error}") from error
        if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or x.value is None:
            raise RoundFailure(f"solver status {problem.status}")
        executed = np.clip(x.value[:n], 0.0, cap)
        net = base + (orders.coefficient @ executed) / self.round_h
        return RoundSchedule(executed, net, float(variance.value))
