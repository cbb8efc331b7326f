"""Seed 003 schedulers: dispatch repair, valley shifting and the pymoo GA at small sizes."""

from functools import partial

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


def _reference_dispatch(population, counts, base_kw=None, limit_kw=250.0, force=False, sell_counts=None):
    """`dispatch` as it was written before it was tabulated for speed: every slot recomputes every EV's
    laxity from its float need and sorts all Omega keys. The optimised one must give the same bits."""
    counts = np.atleast_2d(np.asarray(counts))
    batch, omega = counts.shape[0], population.size
    order = population.order_from(s.cut_slot(population))
    along = population.connected[:, order]
    left = np.cumsum(along[:, ::-1], axis=1)[:, ::-1].astype(np.int64)
    step = population.slot_energy_kwh
    need = np.broadcast_to(population.need_kwh, (batch, omega)).copy()
    offer = np.broadcast_to(population.offer_kwh, (batch, omega)).copy()
    load = np.zeros((batch, 48))
    repaired = np.zeros((batch, 48), dtype=int)
    index = np.arange(omega, dtype=np.int64)[None, :]
    unable = np.iinfo(np.int64).max

    def lowest(key, count):
        ordered = np.sort(key, axis=1)
        threshold = np.where(count > 0, ordered[np.arange(batch), np.maximum(count - 1, 0)], np.iinfo(np.int64).min)
        return key <= threshold[:, None]

    for position, t in enumerate(order):
        able = population.connected[None, :, t] & (need > 1e-9)
        laxity = left[None, :, position] - np.ceil(need / step - 1e-9).astype(np.int64)
        key = np.where(able, (laxity + 48) * omega + index, unable)
        wanted = np.minimum(counts[:, t], able.sum(axis=1))
        if base_kw is not None:
            ordered_kw = population.charger_kw[np.sort(key, axis=1) % omega]
            fits = (np.cumsum(ordered_kw, axis=1) <= max(limit_kw - base_kw[t], 0.0) + 1e-9).sum(axis=1)
            wanted = np.minimum(wanted, fits)
        chosen = lowest(key, wanted)
        if force:
            chosen |= able & (laxity <= 0)
        energy = np.where(chosen, np.minimum(step[None, :], need), 0.0)
        need -= energy
        load[:, t] += energy.sum(axis=1) / 0.5
        repaired[:, t] = chosen.sum(axis=1)
        if sell_counts is not None:
            sellers = population.connected[None, :, t] & (offer > 1e-9)
            sell_key = np.where(sellers, -np.rint(offer * 1e3).astype(np.int64) * omega + index, unable)
            selling = lowest(sell_key, np.minimum(np.atleast_2d(sell_counts)[:, t], sellers.sum(axis=1)))
            sold = np.where(selling, np.minimum(step[None, :], offer), 0.0)
            offer -= sold
            load[:, t] -= sold.sum(axis=1) / 0.5
    return load, population.need_kwh[None, :] - need, population.offer_kwh[None, :] - offer, repaired


def _assert_same_bits(actual, expected):
    for got, want in zip(actual, expected, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes()


@pytest.mark.parametrize("preset, omega", [("ch3", 30), ("ch4", 24), ("ch4", 64)])
def test_dispatch_gives_the_plain_references_bits(preset, omega):
    population = d.ev_population(preset, omega=omega, seed=omega)
    rng = np.random.default_rng(omega)
    connected = population.connected.sum(axis=0)
    for case in range(12):
        counts = rng.integers(-1, connected + 2, (5, 48))  # out-of-range counts are clipped
        sells = rng.integers(-1, connected + 2, (5, 48)) if case % 2 else None
        kwargs = {"force": case % 3 > 0, "sell_counts": sells}
        if case % 4:  # limits from tight (the cap binds in most slots) to none binding
            kwargs |= {"base_kw": rng.uniform(0.0, 100.0, 48), "limit_kw": float(rng.uniform(10.0, 200.0))}
        _assert_same_bits(s.dispatch(population, counts, **kwargs), _reference_dispatch(population, counts, **kwargs))


@pytest.mark.parametrize("discharging", [False, True])
def test_ga_returns_what_it_returns_with_the_plain_reference_dispatch(monkeypatch, discharging):
    population = d.ev_population("ch4" if discharging else "ch3", omega=30, seed=5)
    base, _ = d.calibrate_base(d.uncontrolled_ev_load(population).clip(min=0), peak_kw=120.0, minimum_kw=20.0, pfl_target=0.5)
    run = partial(s.ga_schedule, population, base, pfl.pfl_total_variation, s.GaSettings(generations=10, population=8), discharging)
    fast_schedule, fast_history = run()
    monkeypatch.setattr(s, "_Dispatcher", lambda population: partial(_reference_dispatch, population))
    schedule, history = run()
    _assert_same_bits([fast_history], [history])
    _assert_same_bits(
        [fast_schedule.ev_load_kw, fast_schedule.charged_kwh, fast_schedule.discharged_kwh, fast_schedule.counts],
        [schedule.ev_load_kw, schedule.charged_kwh, schedule.discharged_kwh, schedule.counts],
    )


def test_ga_schedule_is_the_one_from_before_the_speed_up(area):
    """Pinned from the GA as it was before its dispatch was tabulated and its repairs cached (f7983d5)."""
    population, base = area
    schedule, history = s.ga_schedule(population, base, settings=s.GaSettings(generations=12, population=8, seed=2))
    assert schedule.counts.tolist() == [
        6, 4, 2, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 2, 0, 2, 0, 2, 1,
        2, 2, 0, 0, 0, 0, 2, 3, 4, 5, 4, 10, 12, 13, 13, 14, 4, 14, 9, 16, 14, 3, 11, 10,
    ]
    assert history[-1] == pytest.approx(0.4200493697902917, rel=1e-12)


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
