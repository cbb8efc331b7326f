"""AdBEV (seed 003 ch. 3-4) off chain: the guide price, the best-order strategy, the reports at small sizes,
the panel and the commands' bad options."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.algorithms import ev_scheduling
from offchain.data import seed003
from offchain.mechanisms.adbev import model, panel, plan, scheduling
from offchain.workers import ChainEvent


def test_guide_price_has_zero_drift_uplift_and_clipping():
    guide = plan.GuidePrice(sigma=0.0)
    path = guide.path(np.random.default_rng(0))
    hours = np.arange(48) * 0.5
    busy = ((hours >= 6) & (hours < 8)) | ((hours >= 11) & (hours < 13)) | ((hours >= 17) & (hours < 19))
    np.testing.assert_allclose(path[~busy], 16.0)
    np.testing.assert_allclose(path[busy], 16.0 * 1.35)
    wild = plan.GuidePrice(sigma=3.0).path(np.random.default_rng(1))
    assert wild.min() >= 10.0 and wild.max() <= 30.0
    np.testing.assert_allclose(guide.expected(hours), 16.0)


@pytest.mark.parametrize("left, room, size", [
    (5_000, 1_500, 1_500), (1_550, 1_500, 1_450), (1_500, 1_500, 1_500), (90, 1_500, 0), (1_000, 50, 0),
    (150, 120, 0), (250, 1_500, 250)])
def test_order_size_never_leaves_a_rest_below_the_minimum_order(left, room, size):
    assert plan.order_size_wh(left, room, 100) == size


@pytest.fixture(scope="module")
def small():
    return seed003.ev_population("ch4", omega=24, seed=4)


class _Recording(plan.ModelBook):
    """ModelBook that records every placement and carry limit the agents send."""

    def __init__(self, evs):
        super().__init__(evs)
        self.placements, self.limits = [], []

    def place(self, ev_index, period, is_buy, price, quantity_wh, display_wh):
        self.placements.append((period, is_buy, price, ev_index, quantity_wh, display_wh))
        return super().place(ev_index, period, is_buy, price, quantity_wh, display_wh)

    def set_carry_limits(self, limits):
        self.limits += limits
        super().set_carry_limits(limits)


def _wh(kwh):
    return np.rint(np.asarray(kwh) * 1000).astype(np.int64)


def test_adbev_day_conserves_energy_and_meets_demand(small):
    day = plan.run_adbev(small)
    assert day.unmet_kwh == 0.0
    np.testing.assert_array_equal(_wh(day.charged_kwh), _wh(small.need_kwh))  # the book trades whole Wh
    assert np.all(_wh(day.discharged_kwh) <= _wh(small.offer_kwh))
    net = day.charged_kwh.sum() - day.discharged_kwh.sum()
    assert day.ev_load_kw.sum() * 0.5 == pytest.approx(net)
    traded = sum(t.quantity_kwh for t in day.trades)
    assert traded == pytest.approx(day.discharged_kwh.sum())  # every sold kWh went to a buyer, none to the grid
    assert day.charged_kwh.sum() == pytest.approx(traded + day.grid_kwh.sum())
    assert set(day.modes) <= {"satisfied", "aggressive", "passive", "both", "idle"}
    assert day.carried > 0 and day.queued > 0  # both executions happen on this day


def test_agents_order_within_their_charger_and_window_sells_first_then_best_buys(small):
    settings = plan.AdbevSettings()
    book = _Recording(small.size)
    plan.run_adbev(small, settings, book=book)
    flags = plan.iceberg_flags(small)
    step = _wh(small.slot_energy_kwh)
    order = small.order_from(ev_scheduling.cut_slot(small))
    first = min(p for p, *_ in book.placements)
    by_period = {}
    for period, is_buy, price, i, quantity, display in book.placements:
        by_period.setdefault(period, []).append((is_buy, price))
        assert small.connected[i, order[period - first]]  # only while plugged in
        assert 100 <= quantity <= step[i]
        assert display == (min(settings.peak_wh, quantity) if flags[i] else quantity)
    for arrivals in by_period.values():
        sides = [is_buy for is_buy, _ in arrivals]
        assert sides == sorted(sides)  # sells first
        buy_prices = [price for is_buy, price in arrivals if is_buy]
        assert buy_prices == sorted(buy_prices, reverse=True)  # then the best buy first
    sellers = set(np.flatnonzero(small.discharging))
    for i, order_id, last in book.limits:
        assert i in sellers or flags[i]  # only icebergs and sells wait
        assert last - first < 48 and small.connected[i, order[last - first]]  # never carried past the EV's stay


def test_one_tranche_a_period_unless_a_buy_must_hurry(small):
    settings = plan.AdbevSettings(one_tranche_per_period=True)
    book = _Recording(small.size)
    day = plan.run_adbev(small, settings, book=book)
    assert day.unmet_kwh == 0.0
    flags = plan.iceberg_flags(small)
    iceberg_orders = [(is_buy, quantity, display) for _, is_buy, _, i, quantity, display in book.placements if flags[i]]
    assert all(display == quantity for _, quantity, display in iceberg_orders)  # plain orders on the book
    assert all(quantity <= settings.peak_wh for is_buy, quantity, _ in iceberg_orders if not is_buy)
    hurried = [quantity for is_buy, quantity, _ in iceberg_orders if is_buy and quantity > settings.peak_wh]
    assert len(hurried) < len(iceberg_orders) // 2  # most iceberg buys go one tranche at a time
    book_icebergs = plan.run_adbev(small)
    assert book_icebergs.differences(day)  # the two readings give different days


def test_icebergs_are_half_and_waiting_is_optional(small):
    flags = plan.iceberg_flags(small)
    assert flags.sum() == small.size // 2  # normal:iceberg 1:1
    no_wait = plan.run_adbev(small, plan.AdbevSettings(wait_max=0))
    assert no_wait.queued == 0 and no_wait.unmet_kwh == 0.0


def test_carried_sells_are_killed_after_carry_max(small):
    no_carry = plan.run_adbev(small, plan.AdbevSettings(carry_max=0))
    keep = plan.run_adbev(small, plan.AdbevSettings(carry_max=48))
    assert no_carry.carried == 0 < keep.carried
    assert np.all(_wh(no_carry.discharged_kwh) <= _wh(small.offer_kwh))
    assert no_carry.discharged_kwh.sum() < small.offer_kwh.sum()  # killed sells: the EVs kept energy


def test_the_same_day_twice_is_the_same():
    population = seed003.ev_population("ch4", omega=16, seed=9)
    first, second = plan.run_adbev(population), plan.run_adbev(population)
    assert first.differences(second) == []
    other = plan.run_adbev(population, plan.AdbevSettings(seed=10))
    assert "guide" in first.differences(other)


@pytest.mark.parametrize("kwargs", [{"peak_kw": 0}, {"wait_max": -1}, {"carry_max": 49}, {"export_pence": 8.0},
                                    {"export_pence": 0.0}, {"spread_pence": -1.0}, {"spread_pence": 10.0}])
def test_bad_adbev_settings(kwargs):
    with pytest.raises(ValueError):
        plan.AdbevSettings(**kwargs)


def test_reports_at_small_sizes(tmp_path):
    settings = ev_scheduling.GaSettings(generations=3, population=6, seed=1)
    run, checks = scheduling.reproduce_scheduling(tmp_path, seed003.ev_population("ch3", omega=30, seed=2), settings)
    assert len(checks) == 6 and (tmp_path / "seed003-ch3-loads.png").stat().st_size > 0
    text = (tmp_path / "seed003-ch3.md").read_text()
    assert "Inputs calibrated to the paper" in text and "Reproduced results" in text
    assert "Choices where the paper is open" in text and "log10" in text  # the three lists of report.py
    assert f"**{sum(c.met for c in checks)} of 6 reproduced results met**" in text
    assert checks[1].met == (run.schedules["GA"].unmet_kwh < 1e-3)
    ch4, ch4_checks = model.reproduce_adbev(tmp_path, 2, settings, evs=17)
    assert len(ch4_checks) == 4 and (tmp_path / "seed003-ch4-prices.png").exists()
    assert ch4_checks[0].met == (ch4.pfl("none") > ch4.pfl("GA") > ch4.pfl("AdBEV"))
    text = (tmp_path / "seed003-ch4.md").read_text()
    assert "Eq. 4.4 PFL unit" in text and "iceberg timing" in text
    assert f"{model.pfl_mva(ch4.base_kw + ch4.adbev_one_tranche.ev_load_kw):.3f}" in text


def _event(name, block, **args):
    return ChainEvent(block=block, log_index=0, tx_hash="0x", name=name, args=args)


def test_panel_sums_trades_and_carries_per_period():
    events = {
        "AdbevBook.Trade": [_event("Trade", 1, period=5, quantityWh=1_500), _event("Trade", 2, period=5, quantityWh=500)],
        "AdbevBook.OrderCarried": [_event("OrderCarried", 3, orderId=1, fromPeriod=5, toPeriod=6, remainingWh=700)],
        "AdbevBook.CarrySkipped": [_event("CarrySkipped", 3, orderId=2, availableWh=0, neededWh=10)],
    }
    data = panel.build(events, None)
    assert data["periods"] == [{"period": 5, "traded_kwh": 2.0, "traded_wh": 2_000, "trades": 2, "carried": 1,
                                "carried_kwh": 0.7, "carried_wh": 700}]
    assert data["skipped"] == 1
