"""EV battery model of seed 000 (Mullaney et al., Eq. 1) in integer Wh, as a contract would hold it.

An EV's battery of total capacity C may only be operated inside the window

    L = 0.2 * C + E_r  <=  E  <=  U = 0.8 * C

where E_r is held back for the owner's own driving (a week's driving energy: the EVs are passive and
never buy energy for themselves). Everything an EV offers the market follows from its energy content E:

    available energy  avail = max(0, E - L)   (what it may discharge to a prosumer)
    free capacity     cap   = max(0, U - E)   (what it may store from a prosumer)

Within one 10-s step a matched pair moves `exchange_wh` (signed: > 0 prosumer -> EV, < 0 EV ->
prosumer), which by construction keeps E inside [L, U]. No power limit, no losses (the paper's
assumptions). See docs/seed000.md for the choice of E_r and of the initial energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from offchain.units import kwh_to_wh

TESLA_MODEL_3_LR_CAPACITY_WH = 79_500
#: E_r default: 39.35 kWh a week (5.62 kWh a day, ~35 km/day at 16 kWh/100 km). With the EV starting
#: at its upper bound this leaves 8.35 kWh available, the energy Table I says L2 drew from its EV.
DEFAULT_WEEKLY_RESERVE_WH = 39_350
PERMILLE = 1000


class BatteryError(ValueError):
    """A battery spec or state outside the model's rules."""


def weekly_reserve_wh(daily_driving_kwh: float, days: int = 7) -> int:
    """E_r in Wh: `days` days of driving at `daily_driving_kwh` kWh a day."""
    if days < 0:
        raise BatteryError(f"days must be >= 0, got {days}")
    return kwh_to_wh(daily_driving_kwh) * days


@dataclass(frozen=True)
class BatterySpec:
    """One EV model's battery window, integer Wh (fractions in permille so a contract can mirror it).

    lower bound L = capacity * lower_permille / 1000 (floored) + reserve;
    upper bound U = capacity * upper_permille / 1000 (floored).
    """

    capacity_wh: int = TESLA_MODEL_3_LR_CAPACITY_WH
    lower_permille: int = 200
    upper_permille: int = 800
    reserve_wh: int = DEFAULT_WEEKLY_RESERVE_WH

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0:
            raise BatteryError(f"capacity must be > 0 Wh, got {self.capacity_wh}")
        if not 0 <= self.lower_permille <= self.upper_permille <= PERMILLE:
            raise BatteryError(
                f"need 0 <= lower ({self.lower_permille}) <= upper ({self.upper_permille}) <= 1000 permille"
            )
        if self.reserve_wh < 0:
            raise BatteryError(f"reserve must be >= 0 Wh, got {self.reserve_wh}")
        if self.lower_wh > self.upper_wh:
            raise BatteryError(
                f"reserve {self.reserve_wh} Wh leaves no window: lower bound {self.lower_wh} > upper bound {self.upper_wh}"
            )

    @cached_property
    def lower_wh(self) -> int:
        """L = 0.2 C + E_r."""
        return self.capacity_wh * self.lower_permille // PERMILLE + self.reserve_wh

    @cached_property
    def upper_wh(self) -> int:
        """U = 0.8 C."""
        return self.capacity_wh * self.upper_permille // PERMILLE

    @property
    def window_wh(self) -> int:
        """U - L: the most an EV can ever store or release in one go."""
        return self.upper_wh - self.lower_wh

    def energy_at(self, available_wh: int | None = None) -> int:
        """Energy content that leaves `available_wh` available (0 <= available_wh <= window); None = a
        full EV (at its upper bound)."""
        if available_wh is None:
            return self.upper_wh
        if not 0 <= available_wh <= self.window_wh:
            raise BatteryError(f"available energy {available_wh} Wh outside [0, {self.window_wh}]")
        return self.lower_wh + available_wh

    def check_in_window(self, energy_wh: np.ndarray | int) -> None:
        """Raises BatteryError unless every energy content lies in [L, U]."""
        energy = np.asarray(energy_wh)
        if energy.size and (energy.min() < self.lower_wh or energy.max() > self.upper_wh):
            raise BatteryError(
                f"energy {energy.min()}..{energy.max()} Wh outside the window [{self.lower_wh}, {self.upper_wh}]"
            )

    def available_wh(self, energy_wh: np.ndarray | int) -> np.ndarray:
        """max(0, E - L): energy the EV can discharge, Wh."""
        return np.maximum(np.asarray(energy_wh, dtype=np.int64) - self.lower_wh, 0)

    def free_capacity_wh(self, energy_wh: np.ndarray | int) -> np.ndarray:
        """max(0, U - E): energy the EV can still store, Wh."""
        return np.maximum(self.upper_wh - np.asarray(energy_wh, dtype=np.int64), 0)


def exchange_wh(net_wh: int, energy_wh: int, spec: BatterySpec, may_sell: bool = True) -> int:
    """Energy moved in one step between a prosumer with actual net `net_wh` (> 0 surplus) and its
    matched EV holding `energy_wh`, Wh, signed: > 0 prosumer -> EV, < 0 EV -> prosumer.

    A surplus goes into the EV up to its free capacity; a deficit is served up to the EV's available
    energy, and only by an EV that `may_sell` (see pricing.SellRule). energy + result stays in [L, U].
    Plain ints: this runs once per matched pair and step.
    """
    if net_wh > 0:
        return min(net_wh, max(spec.upper_wh - energy_wh, 0))
    if net_wh < 0 and may_sell:
        return -min(-net_wh, max(energy_wh - spec.lower_wh, 0))
    return 0


def dedicated_ev_exchange(
    net_wh: np.ndarray, spec: BatterySpec, initial_energy_wh: int, first_sell_step: int = 0
) -> np.ndarray:
    """Per-step exchange (Wh, signed as in `exchange_wh`) of one prosumer with its own EV over a whole
    series: the "Isolated" scenario, where the pair is connected in every step. The EV may discharge
    from step `first_sell_step` on (its participation is verified then)."""
    spec.check_in_window(initial_energy_wh)
    energy = int(initial_energy_wh)
    moved = np.zeros(len(net_wh), dtype=np.int64)
    for step, net in enumerate(np.asarray(net_wh, dtype=np.int64).tolist()):
        x = exchange_wh(net, energy, spec, step >= first_sell_step)
        energy += x
        moved[step] = x
    return moved
