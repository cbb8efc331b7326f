"""Seed 003 area and EV populations: the stay-online fit, the presets and the calibration."""

import numpy as np
import pytest

from offchain.data import seed003 as d


def test_base_shape_has_unit_mean_and_the_trough_at_five():
    shape = d.base_profile_shape()
    assert shape.shape == (48,) and shape.mean() == pytest.approx(1.0)
    assert int(shape.argmin()) == 10  # 05:00
    assert 17 * 2 <= int(shape.argmax()) <= 19 * 2  # evening peak


@pytest.mark.parametrize("order", [1, 2, 3])
def test_sum_of_sines_fit_follows_the_target_on_both_segments(order):
    day, night = d.fit_stay_online(order)
    assert set(day.slots) | set(night.slots) == set(range(48)) and not set(day.slots) & set(night.slots)
    target = d.stay_online_target()
    for fit in (day, night):
        assert len(fit.coefficients) == order
        fitted = fit(np.arange(len(fit.slots)))
        assert np.sqrt(np.mean((fitted - target[list(fit.slots)]) ** 2)) == pytest.approx(fit.rmse)
        assert fit.rmse < (0.15 if order == 1 else 0.05)


def test_sines_order_out_of_range_is_refused():
    with pytest.raises(d.DataError, match="order"):
        d.fit_stay_online(5)


def test_population_is_seeded_and_follows_the_connected_counts():
    one, two = d.ev_population("ch3", seed=7), d.ev_population("ch3", seed=7)
    np.testing.assert_array_equal(one.connected, two.connected)
    np.testing.assert_array_equal(one.soc_ini, two.soc_ini)
    assert not np.array_equal(one.soc_ini, d.ev_population("ch3", seed=8).soc_ini)
    np.testing.assert_array_equal(one.connected.sum(axis=0), d.connected_counts())
    home = one.connected.any(axis=1)
    assert all(one.connected[i, one.arrival[i]] for i in np.flatnonzero(home))
    assert np.all(one.need_kwh[~home] == 0)


def test_ch3_preset():
    pop = d.ev_population(d.CH3, omega=100, seed=1)
    assert set(pop.battery_kwh) == {36.0} and set(pop.charger_kw) == {3.5}
    assert pop.soc_ini.min() >= 0.2 and pop.soc_ini.max() <= 0.8 and not pop.discharging.any()
    np.testing.assert_allclose(pop.demand_uncapped_kwh, (0.8 - pop.soc_ini) * 36.0)
    can_take = pop.connected.sum(axis=1) * 3.5 * 0.5
    np.testing.assert_allclose(pop.need_kwh, np.minimum(pop.demand_uncapped_kwh, can_take))


def test_ch4_preset_mixes_batteries_chargers_and_sellers():
    pop = d.ev_population("ch4", omega=400, seed=2)
    assert set(pop.battery_kwh) == {8.8, 60.0} and set(pop.charger_kw) == {3.0, 43.0}
    assert 0.7 < np.mean(pop.charger_kw == 3.0) < 0.9
    assert 0.25 < pop.discharging.mean() < 0.42
    assert np.all(pop.need_kwh[pop.discharging] == 0) and np.all(pop.offer_kwh[~pop.discharging] == 0)
    sellers = pop.discharging
    assert np.all(pop.offer_kwh[sellers] <= (pop.soc_ini[sellers] - 0.5) * pop.battery_kwh[sellers] + 1e-9)


def test_uncontrolled_charging_delivers_every_need_from_arrival():
    pop = d.ev_population("ch3", omega=30, seed=4)
    load = d.uncontrolled_ev_load(pop)
    assert load.sum() * 0.5 == pytest.approx(pop.need_kwh.sum())
    assert load.max() <= pop.charger_kw.sum() + 1e-9
    ch4 = d.ev_population("ch4", omega=30, seed=4)
    assert d.uncontrolled_ev_load(ch4).sum() * 0.5 == pytest.approx(ch4.need_kwh.sum() - ch4.offer_kwh.sum())


def test_calibration_hits_the_thesis_peak_and_minimum():
    pop = d.ev_population("ch3", seed=3)
    ev = d.uncontrolled_ev_load(pop)
    base, calibration = d.calibrate_base(ev)
    assert (base + ev).max() == pytest.approx(329.5) and base.min() == pytest.approx(58.5)
    assert int(base.argmin()) == 10
    np.testing.assert_allclose(base, calibration.scale * d.base_profile_shape() + calibration.offset)
    with pytest.raises(d.DataError, match="no base fits"):
        d.calibrate_base(np.full(48, 400.0))


def test_bad_population_size_is_refused():
    with pytest.raises(d.DataError, match="omega"):
        d.ev_population("ch3", omega=0)
