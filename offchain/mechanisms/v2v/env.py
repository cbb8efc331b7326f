"""The Gymnasium environment of one EV at the workplace parking hotspot (seed 001 ch. 4, §4.3.2).

An episode is one day from the EV's arrival to its departure, one step per hour. The observation is the
thesis's state (eq. 4.10) s_t = (delta_t, SOC_t, p^v2v_t, p^Gbuy_t, p^Gsell_t, Omega_t), prices in units of
10 cents per kWh (so that every feature is of order 1). The action is the requested energy as a fraction of
the charger's hourly rate in [-1, 1] (+ charge, - discharge); the battery takes it clipped to its SOC window
(eqs 4.12-4.13). The reward is eq. 4.14-4.16 in dollars (plan.step_reward). ``info`` carries the hour, the
energy actually moved (kWh), the PoSOC score of the hour (eq. 4.1) and the profit over the grid (%).

``use_delta=False`` is the "FRL without delta" baseline (Lee & Choi): delta is 1 in the reward and 0 in the
observation, while ``info["proposed_reward"]`` keeps the proposed reward, on which every learner is compared.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .plan import EVDay, V2VSetup, feasible_action, posoc_score, price_factors, profit_vs_grid, sample_day, \
    step_reward, tou_period, v2v_price, grid_buy

#: Observation prices are in this many cents per kWh.
PRICE_UNIT_CENTS = 10.0
#: The highest observable price, in PRICE_UNIT_CENTS (the Box bound; sampled prices stay far below).
MAX_OBS_PRICE = 100.0


class ParkingLotEnv(gym.Env):
    """One EV's day at the hotspot (see the module docstring).

    `days`: a fixed sequence of days to replay in order (evaluation), else a fresh Table 4.1 day per reset,
    drawn from the generator `reset(seed=...)` seeds.
    """

    metadata = {"render_modes": []}

    def __init__(self, setup: V2VSetup = V2VSetup(), *, use_delta: bool = True,
                 days: list[EVDay] | None = None) -> None:
        super().__init__()
        self.setup = setup
        self.use_delta = use_delta
        self.deltas = price_factors(setup)
        self._days = list(days) if days is not None else None
        self._next_day = 0
        high = np.array([1.0, 1.0, MAX_OBS_PRICE, MAX_OBS_PRICE, MAX_OBS_PRICE, MAX_OBS_PRICE], dtype=np.float32)
        self.observation_space = gym.spaces.Box(low=np.zeros(6, dtype=np.float32), high=high, dtype=np.float32)
        self.action_space = gym.spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=np.float32)
        self.day: EVDay | None = None
        self.hour = 0
        self.soc = 0.0
        self._return = 0.0
        #: The proposed reward of every finished episode, in order ($).
        self.returns: list[float] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Starts the next day: the EV arrives with its initial SOC."""
        super().reset(seed=seed)
        if self._days is not None:
            self.day = self._days[self._next_day % len(self._days)]
            self._next_day += 1
        else:
            self.day = sample_day(self.setup, self.np_random)
        self.hour = self.day.arrival
        self.soc = self.day.soc0
        self._return = 0.0
        return self._observation(), {"hour": self.hour}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One hour: move the feasible energy, score it, pay it at the V2V price."""
        assert self.day is not None, "call reset() first"
        setup = self.setup
        requested = float(np.clip(np.asarray(action, dtype=float).reshape(-1)[0], -1.0, 1.0)) * setup.rate_kw
        moved = feasible_action(setup, self.soc, requested)
        self.soc = float(np.clip(self.soc + moved / setup.capacity_kwh, setup.soc_min, setup.soc_max))
        hour = self.hour
        delta = float(self.deltas[tou_period(hour)])
        sell = float(self.day.grid_sell[hour])
        price = float(v2v_price(setup, sell))
        departing = hour + 1 >= self.day.departure
        proposed = step_reward(setup, delta, moved, price, departing=departing, soc_after=self.soc)
        reward = proposed if self.use_delta else step_reward(setup, 1.0, moved, price, departing=departing,
                                                             soc_after=self.soc)
        info = {
            "hour": hour,
            "energy_kwh": moved,
            "soc": self.soc,
            "proposed_reward": proposed,
            "score": posoc_score(setup, delta, moved, departing=departing, soc_after=self.soc),
            "profit_pct": profit_vs_grid(setup, moved, sell),
        }
        self.hour += 1
        self._return += proposed
        if departing:
            self.returns.append(self._return)
        return self._observation(), reward, departing, False, info

    def _observation(self) -> np.ndarray:
        assert self.day is not None
        hour = min(self.hour, self.day.departure - 1)
        sell = float(self.day.grid_sell[hour])
        delta = float(self.deltas[tou_period(hour)]) if self.use_delta else 0.0
        prices = np.array([v2v_price(self.setup, sell), grid_buy(self.setup, sell), sell, self.setup.omega])
        obs = np.concatenate([[delta, self.soc], np.minimum(prices / PRICE_UNIT_CENTS, MAX_OBS_PRICE)])
        return obs.astype(np.float32)
