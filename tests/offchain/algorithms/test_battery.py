"""Seed-000 EV battery model: the window of Eq. 1, available energy and free capacity, exchange steps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.algorithms.battery import (
    BatteryError,
    BatterySpec,
    dedicated_ev_exchange,
    exchange_wh,
    weekly_reserve_wh,
)


def test_default_window_is_eq1_for_a_tesla_model_3_long_range():
    spec = BatterySpec()
    assert spec.capacity_wh == 79_500
    assert spec.lower_wh == 79_500 * 2 // 10 + spec.reserve_wh  # 0.2 C + E_r
    assert spec.upper_wh == 63_600  # 0.8 C
    # The default E_r leaves a full EV exactly the 8.35 kWh Table I credits to L2's EV.
    assert spec.window_wh == 8_350


def test_reserve_is_a_configurable_week_of_driving():
    assert weekly_reserve_wh(5.0) == 35_000
    spec = BatterySpec(reserve_wh=weekly_reserve_wh(5.0))
    assert spec.lower_wh == 15_900 + 35_000 and spec.window_wh == 12_700


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reserve_wh": 47_701},  # lower bound above 0.8 C: no window
        {"capacity_wh": 0},
        {"lower_permille": 900},
        {"upper_permille": 1_200},
        {"reserve_wh": -1},
    ],
)
def test_specs_without_a_window_are_rejected(kwargs):
    with pytest.raises(BatteryError):
        BatterySpec(**kwargs)


def test_available_energy_and_free_capacity():
    spec = BatterySpec()
    energy = np.array([spec.lower_wh, spec.lower_wh + 1_000, spec.upper_wh])
    assert spec.available_wh(energy).tolist() == [0, 1_000, spec.window_wh]
    assert spec.free_capacity_wh(energy).tolist() == [spec.window_wh, spec.window_wh - 1_000, 0]
    assert spec.energy_at(1_000) == spec.lower_wh + 1_000
    with pytest.raises(BatteryError):
        spec.energy_at(spec.window_wh + 1)
    with pytest.raises(BatteryError):
        spec.check_in_window(spec.upper_wh + 1)


def test_exchange_is_limited_by_the_ev_and_by_the_sell_rule():
    spec = BatterySpec()
    half = spec.lower_wh + 4_000
    assert exchange_wh(10_000, half, spec) == spec.upper_wh - half  # stores only up to U
    assert exchange_wh(300, half, spec) == 300
    assert exchange_wh(-10_000, half, spec) == -4_000  # releases only down to L
    assert exchange_wh(-10_000, half, spec, may_sell=False) == 0  # unverified EVs do not sell
    assert exchange_wh(3_000, half, spec, may_sell=False) == 3_000  # but may store
    assert exchange_wh(0, half, spec) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-6_000, 6_000), min_size=1, max_size=300),
    st.integers(0, 8_350),
    st.integers(0, 20),
)
def test_a_dedicated_ev_stays_in_its_window(nets, start_available, first_sell_step):
    spec = BatterySpec()
    start = spec.energy_at(start_available)
    moved = dedicated_ev_exchange(np.array(nets), spec, start, first_sell_step)
    trajectory = start + np.cumsum(moved)
    assert trajectory.min() >= spec.lower_wh and trajectory.max() <= spec.upper_wh
    net = np.array(nets)
    assert (np.sign(moved) * np.sign(net) >= 0).all()  # energy follows the prosumer's net
    assert (np.abs(moved) <= np.abs(net)).all()
    assert (moved[:first_sell_step] >= 0).all()  # no sale before participation is verified


def test_dedicated_ev_serves_a_pure_consumer_its_initial_stock_once():
    spec = BatterySpec()
    moved = dedicated_ev_exchange(np.full(100, -500), spec, spec.upper_wh, first_sell_step=6)
    assert -moved.sum() == spec.window_wh
    assert moved[:6].tolist() == [0] * 6


def test_dedicated_ev_rejects_a_start_outside_the_window():
    spec = BatterySpec()
    with pytest.raises(BatteryError):
        dedicated_ev_exchange(np.array([1]), spec, spec.lower_wh - 1)
