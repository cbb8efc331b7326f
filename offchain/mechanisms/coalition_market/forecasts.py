"""Where the coalition-market SCORER gets each slot's forecasts: the :class:`ForecastSource` protocol and the
seeded rehearsal feed (:class:`SeededForecasts`) the chain run and ``kwx worker coalition-...`` use."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from eth_account.signers.local import LocalAccount

from offchain.algorithms.coalitions import Market
from offchain.chain import ANVIL_TEST_MNEMONIC, FIRST_PARTICIPANT_INDEX, account_from_mnemonic
from offchain.data.seed001 import (
    MEAN_CONSUMPTION_KWH,
    MEAN_GENERATION_KWH,
    SD_KWH,
    daily_energy_kwh,
    scaling_instance,
    ten_prosumer_instance,
)

from .plan import SlotForecast



class ForecastSource(Protocol):
    """Where the worker gets each slot's forecasts (positions, production, consumption) from."""

    def slots(self) -> Iterable[int]:
        """Slots whose forecasts are complete."""

    def forecast(self, slot: int) -> SlotForecast:
        """The forecasts of a slot listed by `slots` (the same answer every time it is asked)."""


def seeded_market(n: int, seed: int, day: int) -> Market:
    """The rehearsal market of day `day` for `n` prosumers: positions and day 0 from the seed 001 instances
    (the thesis' 10-prosumer illustration for n = 10, else a normal scaling instance), later days with
    fresh normal daily profiles (thesis means and sd) at the same positions."""
    frame = ten_prosumer_instance(seed) if n == 10 else scaling_instance(n, "normal", seed)
    if day > 0:
        rng = np.random.default_rng([seed, n, day, 1001])
        frame = frame.assign(
            consumption_kwh=daily_energy_kwh(rng, n, MEAN_CONSUMPTION_KWH, SD_KWH, "normal"),
            production_kwh=daily_energy_kwh(rng, n, MEAN_GENERATION_KWH, SD_KWH, "normal"),
        )
    return Market.from_frame(frame, frame.attrs["centre_km"])


def participant_accounts(n: int, mnemonic: str = ANVIL_TEST_MNEMONIC) -> list[LocalAccount]:
    """The `n` rehearsal participants: accounts FIRST_PARTICIPANT_INDEX.. of the test mnemonic."""
    return [account_from_mnemonic(mnemonic, FIRST_PARTICIPANT_INDEX + i) for i in range(n)]


@dataclass
class SeededForecasts:
    """A rehearsal forecast feed: slot `first_slot + d` carries :func:`seeded_market` day d for `accounts`.
    Forecasts are out up to `through_slot` (None: none yet); raise it as slots open."""

    accounts: tuple[str, ...]
    seed: int = 1
    first_slot: int = 1
    through_slot: int | None = None
    _markets: dict[int, Market] = field(default_factory=dict, init=False, repr=False)

    def slots(self) -> range:
        last = self.first_slot - 1 if self.through_slot is None else self.through_slot
        return range(self.first_slot, last + 1)

    def forecast(self, slot: int) -> SlotForecast:
        if slot not in self.slots():
            raise KeyError(f"no forecast for slot {slot} (published: {self.slots()})")
        if slot not in self._markets:
            self._markets[slot] = seeded_market(len(self.accounts), self.seed, slot - self.first_slot)
        return SlotForecast(tuple(self.accounts), self._markets[slot])
