"""Day-ahead EV charging schedulers of seed 003 (Liu, Ch3 and Ch4's benchmark): uncontrolled,
conventional valley-shifting and a genetic algorithm (pymoo) with a repair operator.

Every scheduler returns a `Schedule`: the net EV load per slot (kW, discharge negative), the energy each
EV received or sold (kWh) and the unmet charging demand (kWh). Schedules are dispatched to individual EVs
by one routine, `dispatch`: slots are visited in the cyclic day's order starting at the slot with the
fewest connected EVs (midday), and in each slot the connected EVs that still need energy charge in
least-laxity-first order (laxity = connected slots left minus slots still needed); with `force=True`, an
EV with no laxity left charges even if the slot's count is reached, so every EV's (connectable) demand is
met whatever the counts — the GA's repair.

The GA (Ch3): 48 integer genes n(t) = EVs charging in slot t in [0, N_car(t)]; each individual is repaired
by `dispatch(force=True)` (demand and availability) and capped by the transformer headroom (250 kVA) except
where an EV must charge; fitness is the chosen PFL of base + EV load; the transformer overload is a
constraint. With discharging (Ch4's benchmark) 48 more genes d(t) = discharging EVs per slot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from offchain.algorithms import pfl
from offchain.data.seed003 import SLOT_H, SLOTS, TRANSFORMER_KVA, EvPopulation, uncontrolled_ev_load

_EPS_KWH = 1e-9


@dataclass(frozen=True)
class Schedule:
    """A day's EV schedule: ev_load_kw (SLOTS,) net EV load (kW, discharge negative); charged_kwh and
    discharged_kwh (Omega,) per EV; unmet_kwh total charging demand not delivered; counts (SLOTS,) EVs
    charging per slot."""

    ev_load_kw: np.ndarray
    charged_kwh: np.ndarray
    discharged_kwh: np.ndarray
    unmet_kwh: float
    counts: np.ndarray


@dataclass(frozen=True)
class GaSettings:
    """pymoo GA settings: generations (1..10000), population (4..1000), seed."""

    generations: int = 1000
    population: int = 40
    seed: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.generations <= 10_000:
            raise ValueError(f"generations must be 1..10000, got {self.generations}")
        if not 4 <= self.population <= 1_000:
            raise ValueError(f"population must be 4..1000, got {self.population}")


def cut_slot(population: EvPopulation) -> int:
    """The slot where the cyclic day is cut for dispatch: the one with the fewest EVs connected."""
    return int(np.argmin(population.connected.sum(axis=0)))


def _slots_left(population: EvPopulation, order: np.ndarray) -> np.ndarray:
    """(Omega, SLOTS) connected slots from each position of `order` to the end of the day (inclusive)."""
    along = population.connected[:, order]
    return np.cumsum(along[:, ::-1], axis=1)[:, ::-1]


def _lowest(key: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mask of the `count[p]` smallest entries of each row of the unique integer `key` (P, Omega)."""
    ordered = np.sort(key, axis=1)
    rows = np.arange(key.shape[0])
    threshold = np.where(count > 0, ordered[rows, np.maximum(count - 1, 0)], np.iinfo(np.int64).min)
    return key <= threshold[:, None]


def dispatch(
    population: EvPopulation,
    counts: np.ndarray,
    base_kw: np.ndarray | None = None,
    limit_kw: float = TRANSFORMER_KVA,
    force: bool = False,
    sell_counts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dispatch per-slot counts to EVs for a batch of individuals.

    counts (P, SLOTS) charging EVs per slot (clipped to the EVs able to charge); sell_counts (P, SLOTS)
    discharging EVs per slot (sellers with the most energy left go first; none if omitted). With `base_kw`
    a slot charges no more EVs (in least-laxity order) than fit under `limit_kw` (kW), except the EVs
    that must charge when `force`. Returns (ev_load_kw (P, SLOTS), charged_kwh (P, Omega),
    discharged_kwh (P, Omega), repaired counts (P, SLOTS))."""
    counts = np.atleast_2d(np.asarray(counts))
    batch = counts.shape[0]
    omega = population.size
    order = population.order_from(cut_slot(population))
    left = _slots_left(population, order).astype(np.int64)
    step = population.slot_energy_kwh
    need = np.broadcast_to(population.need_kwh, (batch, omega)).copy()
    offer = np.broadcast_to(population.offer_kwh, (batch, omega)).copy()
    load = np.zeros((batch, SLOTS))
    repaired = np.zeros((batch, SLOTS), dtype=int)
    index = np.arange(omega, dtype=np.int64)[None, :]
    unable = np.iinfo(np.int64).max
    rows = np.arange(batch)[:, None]
    for position, t in enumerate(order):
        able = population.connected[None, :, t] & (need > _EPS_KWH)
        laxity = left[None, :, position] - np.ceil(need / step - 1e-9).astype(np.int64)
        key = np.where(able, (laxity + SLOTS) * omega + index, unable)
        wanted = np.minimum(counts[:, t], able.sum(axis=1))
        if base_kw is not None:  # EVs in least-laxity order that fit under the transformer limit
            ordered_kw = population.charger_kw[np.sort(key, axis=1) % omega]
            fits = (np.cumsum(ordered_kw, axis=1) <= max(limit_kw - base_kw[t], 0.0) + 1e-9).sum(axis=1)
            wanted = np.minimum(wanted, fits)
        chosen = _lowest(key, wanted)
        if force:
            chosen |= able & (laxity <= 0)
        energy = np.where(chosen, np.minimum(step[None, :], need), 0.0)
        need -= energy
        load[:, t] += energy.sum(axis=1) / SLOT_H
        repaired[:, t] = chosen.sum(axis=1)
        if sell_counts is not None:
            sellers = population.connected[None, :, t] & (offer > _EPS_KWH)
            sell_key = np.where(sellers, -np.rint(offer * 1e3).astype(np.int64) * omega + index, unable)
            selling = _lowest(sell_key, np.minimum(np.atleast_2d(sell_counts)[rows[:, 0], t], sellers.sum(axis=1)))
            sold = np.where(selling, np.minimum(step[None, :], offer), 0.0)
            offer -= sold
            load[:, t] -= sold.sum(axis=1) / SLOT_H
    charged = population.need_kwh[None, :] - need
    discharged = population.offer_kwh[None, :] - offer
    return load, charged, discharged, repaired


def _schedule(population: EvPopulation, load: np.ndarray, charged: np.ndarray, discharged: np.ndarray, counts: np.ndarray) -> Schedule:
    return Schedule(
        ev_load_kw=load,
        charged_kwh=charged,
        discharged_kwh=discharged,
        unmet_kwh=float(max(population.need_kwh.sum() - charged.sum(), 0.0)),
        counts=counts,
    )


def uncontrolled(population: EvPopulation) -> Schedule:
    """No strategy: every EV charges (or discharges) at full rate from its arrival (Ch3 Fig. 3.2 top)."""
    load = uncontrolled_ev_load(population)
    return _schedule(population, load, population.need_kwh.copy(), population.offer_kwh.copy(), np.zeros(SLOTS, int))


def valley_shifting(population: EvPopulation, base_kw: np.ndarray) -> Schedule:
    """Conventional strategy ([AAGG14]-style, Ch3 Fig. 3.2 bottom): the uncontrolled EV energy that falls
    in the peak periods (slots whose household load is above its daily mean) is moved into the
    lowest-load slots by water-filling, planned without regard to which EVs are connected; the plan is
    then dispatched to the EVs connected in each slot, so part of the demand may go unmet."""
    base_kw = np.asarray(base_kw, float)
    plan = uncontrolled_ev_load(population).clip(min=0)
    peak = base_kw > base_kw.mean()
    shifted_kwh = plan[peak].sum() * SLOT_H
    plan[peak] = 0.0
    level = _water_level(base_kw + plan, shifted_kwh / SLOT_H, ~peak)
    plan = plan + np.where(~peak, np.clip(level - base_kw - plan, 0.0, None), 0.0)
    counts = np.rint(plan / population.charger_kw.mean()).astype(int)
    load, charged, discharged, repaired = dispatch(population, counts[None, :])
    return _schedule(population, load[0], charged[0], discharged[0], repaired[0])


def _water_level(floor_kw: np.ndarray, volume_kw: float, allowed: np.ndarray) -> float:
    """The level L with sum over allowed slots of max(L - floor, 0) = volume (kW-slots)."""
    if volume_kw <= 0:
        return float(floor_kw[allowed].min()) if allowed.any() else 0.0
    low, high = float(floor_kw[allowed].min()), float(floor_kw[allowed].max()) + volume_kw
    for _ in range(100):
        middle = (low + high) / 2
        if np.clip(middle - floor_kw[allowed], 0, None).sum() < volume_kw:
            low = middle
        else:
            high = middle
    return high


Objective = Callable[[np.ndarray], np.ndarray]


def ga_schedule(
    population: EvPopulation,
    base_kw: np.ndarray,
    objective: Objective = pfl.pfl_log_range,
    settings: GaSettings | None = None,
    discharging: bool = False,
    limit_kw: float = TRANSFORMER_KVA,
) -> tuple[Schedule, np.ndarray]:
    """Day-ahead GA (pymoo): minimise objective(base + EV load) over the integer genes n(t) (and d(t) with
    `discharging`), every individual repaired by `dispatch(force=True)`. Returns (best schedule, best
    objective value per generation)."""
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.core.problem import Problem
    from pymoo.core.repair import Repair
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.optimize import minimize

    settings = settings or GaSettings()
    base_kw = np.asarray(base_kw, float)
    connected_counts = population.connected.sum(axis=0)
    sellers_connected = population.connected[population.discharging].sum(axis=0)
    upper = np.concatenate([connected_counts, sellers_connected]) if discharging else connected_counts

    def run(genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        genes = np.rint(genes).astype(int)
        sells = genes[:, SLOTS:] if discharging else None
        return dispatch(population, genes[:, :SLOTS], base_kw, limit_kw, force=True, sell_counts=sells)

    loads: dict[bytes, np.ndarray] = {}  # repaired genes -> EV load, so evaluation does not dispatch again

    def ev_load(genes: np.ndarray) -> np.ndarray:
        genes = np.rint(genes).astype(int)
        missing = [row for row in genes if row.tobytes() not in loads]
        if missing:
            for row, load in zip(missing, run(np.array(missing))[0], strict=True):
                loads[row.tobytes()] = load
        return np.array([loads[row.tobytes()] for row in genes])

    class ScheduleRepair(Repair):
        def _do(self, problem: Problem, X: np.ndarray, **kwargs: object) -> np.ndarray:  # noqa: N803
            repaired = np.rint(X).astype(int)
            load, _, _, counts = run(repaired)
            repaired[:, :SLOTS] = counts
            loads.update((row.tobytes(), row_load) for row, row_load in zip(repaired, load, strict=True))
            return repaired

    class ScheduleProblem(Problem):
        def __init__(self) -> None:
            super().__init__(n_var=len(upper), n_obj=1, n_ieq_constr=1, xl=0, xu=np.maximum(upper, 0), vtype=int)

        def _evaluate(self, X: np.ndarray, out: dict, *args: object, **kwargs: object) -> None:  # noqa: N803
            total = base_kw[None, :] + ev_load(X)
            out["F"] = np.asarray(objective(total), float).reshape(-1, 1)
            out["G"] = (total.max(axis=1) - limit_kw).reshape(-1, 1)

    algorithm = GA(
        pop_size=settings.population,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=None),
        mutation=PM(eta=20, vtype=float),
        repair=ScheduleRepair(),
        eliminate_duplicates=True,
    )
    history: list[float] = []

    def record(algorithm_state: object) -> None:
        history.append(float(algorithm_state.opt.get("F")[0, 0]))

    result = minimize(
        ScheduleProblem(), algorithm, ("n_gen", settings.generations), seed=settings.seed, callback=record, verbose=False
    )
    best = np.atleast_2d(result.X if result.X is not None else result.pop.get("X")[0])
    load, charged, discharged, repaired = run(best)
    return _schedule(population, load[0], charged[0], discharged[0], repaired[0]), np.asarray(history)
