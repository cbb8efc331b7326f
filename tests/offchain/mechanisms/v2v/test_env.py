"""The parking-lot Gymnasium environment: gymnasium's checker, episode bounds, SOC window, rewards."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from offchain.mechanisms.v2v.env import PRICE_UNIT_CENTS, ParkingLotEnv
from offchain.mechanisms.v2v.plan import V2VSetup, price_factors, tou_period


def test_passes_gymnasium_checker():
    check_env(ParkingLotEnv(), skip_render_check=True)


def test_episode_runs_from_arrival_to_departure_inside_the_window():
    env = ParkingLotEnv()
    obs, info = env.reset(seed=5)
    day = env.day
    assert info["hour"] == day.arrival and obs[1] == pytest.approx(day.soc0)
    hours, done = [], False
    while not done:
        obs, reward, done, truncated, info = env.step(np.array([-1.0]))
        hours.append(info["hour"])
        assert env.setup.soc_min - 1e-9 <= info["soc"] <= env.setup.soc_max + 1e-9
        assert not truncated
    assert hours == list(range(day.arrival, day.departure))
    assert len(env.returns) == 1


def test_observation_is_the_thesis_state():
    env = ParkingLotEnv()
    obs, _ = env.reset(seed=2)
    hour = env.day.arrival
    sell = env.day.grid_sell[hour]
    assert obs[0] == pytest.approx(price_factors(env.setup)[tou_period(hour)])
    assert obs[4] == pytest.approx(sell / PRICE_UNIT_CENTS)
    assert obs[3] < obs[2] < obs[4] and obs[5] == 0.0


def test_without_delta_the_reward_ignores_delta_but_info_keeps_the_proposed_one():
    env = ParkingLotEnv(V2VSetup(), use_delta=False)
    obs, _ = env.reset(seed=9)
    assert obs[0] == 0.0
    price = float(obs[2]) * PRICE_UNIT_CENTS
    _, reward, done, _, info = env.step(np.array([-0.5]))
    assert not done
    delta = price_factors(env.setup)[tou_period(info["hour"])]
    assert reward == pytest.approx(-info["energy_kwh"] * price / 100, rel=1e-5)
    assert info["proposed_reward"] == pytest.approx(delta * reward, rel=1e-5)


def test_replayed_days_repeat_in_order():
    env = ParkingLotEnv()
    env.reset(seed=1)
    first = env.day
    replay = ParkingLotEnv(days=[first])
    replay.reset()
    assert replay.day is first
    replay.reset()
    assert replay.day is first
