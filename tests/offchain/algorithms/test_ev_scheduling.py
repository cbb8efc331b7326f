"""Seed 003 schedulers: dispatch repair, valley shifting and the pymoo GA at small sizes."""

import numpy as np
import pytest

from offchain.algorithms import ev_scheduling as s
from offchain.algorithms import pfl
from offchain.data import seed003 as d


@pytest.fixture(scope="module")
def area():
    population = d.ev_population("ch3", omega=30, seed=5)
    base, _ = d.calibrate_base(d.uncontrolled_ev_load(population), peak_kw=120.0, minimum_kw=20.0, pfl_target=0.5)
    return population, base


def _per_ev_slot_energy(population, counts, **kwargs):
    """Charge each slot in turn to read which EVs a dispatch chose (for availability checks)."""
    load, charged, _, repaired = s.dispatch(population, counts, **kwargs)
    return load, charged, repaired


def test_forced_dispatch_meets_every_need_whatever_the_counts(area):
    population, base = area
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 5, (6, 48))
    load, charged, repaired = _per_ev_slot_energy(population, counts, force=True)
    np.testing.assert_allclose(charged, np.broadcast_to(population.need_kwh, charged.shape), atol=1e-9)
    np.testing.assert_allclose(load.sum(axis=1) * 0.5, population.need_kwh.sum())
    assert np.all(repaired <= population.connected.sum(axis=0))


def test_unforced_dispatch_keeps_the_counts_and_never_charges_an_absent_ev(area):
    population, _ = area
    counts = np.full((1, 48), 2)
    load, charged, repaired = _per_ev_slot_energy(population, counts)
    assert np.all(repaired <= 2)
    assert np.all(load <= 2 * 3.5 + 1e-9)
    absent = ~population.connected.any(axis=1)
    assert np.all(charged[0, absent] == 0)
    assert np.all(charged <= population.need_kwh + 1e-9)


def test_transformer_limit_caps_the_counts_unless_an_ev_must_charge(area):
    population, base = area
    counts = np.full((1, 48), 30)
    load, _, _ = _per_ev_slot_energy(population, counts, base_kw=base, limit_kw=float(base.max()) + 7.0)
    assert np.all(base + load[0] <= base.max() + 7.0 + 1e-9)


def test_valley_shifting_empties_the_peak_periods_and_may_fail_demand(area):
    population, base = area
    schedule = s.valley_shifting(population, base)
    peak = base > base.mean()
    assert np.all(schedule.ev_load_kw[peak] == 0)
    delivered = schedule.charged_kwh.sum()
    assert delivered <= population.need_kwh.sum() + 1e-9
    assert schedule.unmet_kwh == pytest.approx(population.need_kwh.sum() - delivered)


def test_uncontrolled_delivers_everything(area):
    population, _ = area
    schedule = s.uncontrolled(population)
    assert schedule.unmet_kwh == pytest.approx(0.0)
    np.testing.assert_allclose(schedule.ev_load_kw, d.uncontrolled_ev_load(population))


def test_ga_meets_demand_and_its_history_only_improves(area):
    population, base = area
    schedule, history = s.ga_schedule(population, base, settings=s.GaSettings(generations=12, population=8, seed=2))
    assert len(history) == 12 and np.all(np.diff(history) <= 1e-12)
    assert schedule.unmet_kwh == pytest.approx(0.0, abs=1e-9)
    assert pfl.pfl_log_range(base + schedule.ev_load_kw) == pytest.approx(history[-1])


def test_ga_with_discharging_sells_only_what_sellers_offer():
    population = d.ev_population("ch4", omega=24, seed=6)
    base, _ = d.calibrate_base(d.uncontrolled_ev_load(population).clip(min=0), peak_kw=400.0, minimum_kw=20.0, pfl_target=0.8)
    schedule, history = s.ga_schedule(
        population, base, objective=pfl.pfl_total_variation, settings=s.GaSettings(generations=6, population=6), discharging=True, limit_kw=1e6
    )
    assert np.all(schedule.discharged_kwh <= population.offer_kwh + 1e-9)
    assert schedule.unmet_kwh == pytest.approx(0.0, abs=1e-9)
    net = (schedule.charged_kwh.sum() - schedule.discharged_kwh.sum()) / 0.5
    assert schedule.ev_load_kw.sum() == pytest.approx(net)
    assert pfl.pfl_total_variation(base + schedule.ev_load_kw) == pytest.approx(history[-1])


@pytest.mark.parametrize("kwargs", [{"generations": 0}, {"generations": 10_001}, {"population": 3}, {"population": 1001}])
def test_ga_settings_out_of_range(kwargs):
    with pytest.raises(ValueError):
        s.GaSettings(**kwargs)
