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


def slots_left(population: EvPopulation, order: np.ndarray) -> np.ndarray:
    """(Omega, SLOTS) connected slots from each position of `order` to the end of the day (inclusive)."""
    along = population.connected[:, order]
    return np.cumsum(along[:, ::-1], axis=1)[:, ::-1]


def _energy_left(start_kwh: np.ndarray, step_kwh: np.ndarray) -> np.ndarray:
    """(Omega, SLOTS + 1) energy left (kWh) after n = 0..SLOTS slots of moving min(step, left) each, by the
    float operations of a slot-by-slot dispatch, so that a look-up has the same bits."""
    left = np.empty((start_kwh.size, SLOTS + 1))
    left[:, 0] = start_kwh
    for n in range(SLOTS):
        left[:, n + 1] = left[:, n] - np.minimum(step_kwh, left[:, n])
    return left


@dataclass(frozen=True)
class _Candidates:
    """One slot's EVs that may charge (or sell) at all: connected, with energy to move at the day's start.

    position: the slot's place in dispatch order; ev (k,): the EVs; columns (k + 1,): ev, then the dummy
    EV Omega, whose key is above every candidate's, so that taking all k candidates still has a threshold
    key; total_kw: the candidates' chargers together (kW)."""

    slot: int
    position: int
    ev: np.ndarray
    columns: np.ndarray
    total_kw: float


@dataclass(frozen=True)
class _Flow:
    """Charging or selling for one population. The tables are flat (Omega, SLOTS + 1): row EV, column n =
    slots the EV has moved energy in so far; an EV's state in the slot loop is its index EV * (SLOTS + 1) + n.

    start_kwh (Omega,): energy to move (kWh); left_kwh: energy left (kWh); move_kwh: the next slot's
    energy, min(step, left) (kWh); key (one more row, the dummy EV's): the part of the sort key that
    depends on n; slots: each slot's candidates in dispatch order, slots without any left out; most
    (SLOTS, 1): candidates per slot."""

    start_kwh: np.ndarray
    left_kwh: np.ndarray
    move_kwh: np.ndarray
    key: np.ndarray
    slots: list[_Candidates]
    most: np.ndarray

    @classmethod
    def build(
        cls, population: EvPopulation, order: np.ndarray, start_kwh: np.ndarray, left_kwh: np.ndarray, key: np.ndarray, dummy_key: int
    ) -> _Flow:
        """The flow moving start_kwh (kWh) in dispatch `order`, with left_kwh from `_energy_left`, the key
        table (Omega, SLOTS + 1) and the dummy EV's key part."""
        omega = population.size
        slots = []
        most = np.zeros((SLOTS, 1), np.int64)
        for position, t in enumerate(order):
            ev = np.flatnonzero(population.connected[:, t] & (start_kwh > _EPS_KWH))
            if ev.size:
                slots.append(_Candidates(int(t), position, ev, np.append(ev, omega), float(population.charger_kw[ev].sum())))
                most[t] = ev.size
        return cls(
            start_kwh=start_kwh,
            left_kwh=left_kwh.ravel(),
            move_kwh=np.minimum(population.slot_energy_kwh[:, None], left_kwh).ravel(),
            key=np.vstack([key, np.full((1, SLOTS + 1), dummy_key, np.int64)]).ravel(),
            slots=slots,
            most=most,
        )

    def start(self, batch: int) -> np.ndarray:
        """(batch, Omega + 1) every EV's state before the first slot (n = 0), the dummy EV's last."""
        return np.repeat((np.arange(self.start_kwh.size + 1) * (SLOTS + 1))[None, :], batch, axis=0)

    def move(self, slot: _Candidates, state: np.ndarray, at: np.ndarray, chosen: np.ndarray, moved_kwh: np.ndarray) -> None:
        """Advance the `chosen` (P, k + 1) candidates, at states `at`, in `state` (P, Omega + 1) and put the
        slot's energy in moved_kwh[slot] (P,) kWh: the sum over a (P, Omega) array that is zero for the
        other EVs, as a dispatch over all EVs adds them up (the same additions, so the same bits)."""
        state[:, slot.columns] = at + chosen
        energy = np.zeros((state.shape[0], self.start_kwh.size))
        energy[:, slot.ev] = np.where(chosen[:, :-1], self.move_kwh.take(at[:, :-1]), 0.0)
        moved_kwh[slot.slot] = energy.sum(axis=1)

    def moved_per_ev(self, state: np.ndarray) -> np.ndarray:
        """(P, Omega) energy moved over the day (kWh) from the final `state`."""
        return self.start_kwh[None, :] - self.left_kwh.take(state[:, :-1])


class _Dispatcher:
    """`dispatch` for one population, with everything that depends only on the EVs built once.

    The energy an EV has left after charging (or selling) in n slots is fixed by the population, so the
    laxity part of its key, its selling key and its next slot's energy are looked up by its state (see
    `_Flow`) instead of recomputed from a float need every slot. Charging keys are (laxity + SLOTS) *
    radix + EV, selling keys -round(offer in Wh) * radix + EV, with radix a power of two above Omega: the
    order of the plain keys, with the EV in the low bits. A slot sorts only its candidates."""

    def __init__(self, population: EvPopulation) -> None:
        omega = population.size
        self._radix = 1 << omega.bit_length()
        self._unable = (1 << 62) + self._radix - 1  # above every candidate's key; its low bits name no EV
        self._forced_below = (SLOTS + 1) * self._radix  # key < this <=> laxity <= 0
        step = population.slot_energy_kwh
        order = population.order_from(cut_slot(population))

        need_left = _energy_left(population.need_kwh, step)
        slots_needed = np.ceil(need_left / step[:, None] - 1e-9).astype(np.int64)
        # subtracted from the slot's base key: an EV with nothing left to charge gets a key above _unable
        needed_key = np.where(need_left > _EPS_KWH, slots_needed * self._radix, -self._unable)
        self._charging = _Flow.build(population, order, population.need_kwh, need_left, needed_key, 0)
        connected_left = slots_left(population, order).astype(np.int64)
        self._base_keys = [
            np.append((connected_left[c.ev, c.position] + SLOTS) * self._radix + c.ev, self._unable) for c in self._charging.slots
        ]
        self._kw = np.full(self._radix, np.inf)  # _unable's low bits: an EV that fits under no limit
        self._kw[:omega] = population.charger_kw

        offer_left = _energy_left(population.offer_kwh, step)
        rounded = np.rint(offer_left * 1e3).astype(np.int64)  # the most energy left sells first
        sell_key = np.where(offer_left > _EPS_KWH, -rounded * self._radix + np.arange(omega)[:, None], self._unable)
        self._selling = _Flow.build(population, order, population.offer_kwh, offer_left, sell_key, self._unable)

    def __call__(
        self,
        counts: np.ndarray,
        base_kw: np.ndarray | None = None,
        limit_kw: float = TRANSFORMER_KVA,
        force: bool = False,
        sell_counts: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """See `dispatch`."""
        # a count selects that many of the slot's candidates in key order: clip it to 0..candidates once
        take = np.clip(np.atleast_2d(np.asarray(counts)).T, 0, self._charging.most)
        batch = take.shape[1]
        rows = np.arange(batch)
        if base_kw is not None:
            headroom = np.maximum(limit_kw - np.asarray(base_kw, float), 0.0) + 1e-9
        charged_kwh = np.zeros((SLOTS, batch))
        repaired = np.zeros((SLOTS, batch), dtype=int)
        state = self._charging.start(batch)
        for slot, base_key in zip(self._charging.slots, self._base_keys, strict=True):
            t = slot.slot
            at = state.take(slot.columns, axis=1)
            key = base_key - self._charging.key.take(at)
            np.minimum(key, self._unable, out=key)
            ordered = key.copy()
            ordered.sort(axis=1)
            wanted = take[t]
            # the transformer cap, skipped where all the slot's chargers fit (the margin covers float sums);
            # an EV that cannot charge has an infinite rating, so the prefix that fits ends before it
            if base_kw is not None and slot.total_kw * (1 + 1e-6) > headroom[t]:
                ordered_kw = self._kw.take(ordered & (self._radix - 1))
                wanted = np.minimum(wanted, (np.add.accumulate(ordered_kw, axis=1) <= headroom[t]).sum(axis=1))
            # the `wanted` lowest keys are those below the next one (EVs that cannot charge all have _unable)
            threshold = ordered[rows, wanted]
            if force:  # the EVs with no laxity left have the lowest keys
                np.maximum(threshold, self._forced_below, out=threshold)
            chosen = key < threshold[:, None]
            repaired[t] = chosen.sum(axis=1)
            self._charging.move(slot, state, at, chosen, charged_kwh)
        load = (charged_kwh / SLOT_H).T
        charged = self._charging.moved_per_ev(state)

        sold_kwh = np.zeros((SLOTS, batch))
        state = self._selling.start(batch)
        if sell_counts is not None:
            sell_take = np.clip(np.atleast_2d(np.asarray(sell_counts)).T, 0, self._selling.most)
            for slot in self._selling.slots:
                at = state.take(slot.columns, axis=1)
                key = self._selling.key.take(at)
                ordered = key.copy()
                ordered.sort(axis=1)
                chosen = key < ordered[rows, sell_take[slot.slot]][:, None]
                self._selling.move(slot, state, at, chosen, sold_kwh)
            load = load - (sold_kwh / SLOT_H).T
        discharged = self._selling.moved_per_ev(state)
        return np.ascontiguousarray(load), charged, discharged, np.ascontiguousarray(repaired.T)


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
    return _Dispatcher(population)(counts, base_kw, limit_kw, force, sell_counts)


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

    dispatcher = _Dispatcher(population)

    def run(genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        genes = np.rint(genes).astype(int)
        sells = genes[:, SLOTS:] if discharging else None
        return dispatcher(genes[:, :SLOTS], base_kw, limit_kw, force=True, sell_counts=sells)

    loads: dict[bytes, np.ndarray] = {}  # repaired genes -> EV load, so evaluation does not dispatch again
    # genes -> repaired genes: a row's repair does not depend on the rest of its batch, and offspring often
    # repeat genes met before (34 % of the rows in the 1000-generation seed 003 Ch3 run, 60 % in Ch4's)
    repairs: dict[bytes, np.ndarray] = {}

    def ev_load(genes: np.ndarray) -> np.ndarray:
        genes = np.rint(genes).astype(int)
        missing = [row for row in genes if row.tobytes() not in loads]
        if missing:
            for row, load in zip(missing, run(np.array(missing))[0], strict=True):
                loads[row.tobytes()] = load
        return np.array([loads[row.tobytes()] for row in genes])

    class ScheduleRepair(Repair):
        def _do(self, problem: Problem, X: np.ndarray, **kwargs: object) -> np.ndarray:  # noqa: N803
            genes = np.rint(X).astype(int)
            keys = [row.tobytes() for row in genes]
            new = {key: row for key, row in zip(keys, genes, strict=True) if key not in repairs}
            if new:
                repaired = np.array(list(new.values()))
                load, _, _, counts = run(repaired)
                repaired[:, :SLOTS] = counts
                for key, row, row_load in zip(new, repaired, load, strict=True):
                    repairs[key] = row
                    loads[row.tobytes()] = row_load
            return np.array([repairs[key] for key in keys])

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
