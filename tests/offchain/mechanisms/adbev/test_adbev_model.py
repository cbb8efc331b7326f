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


def test_clearing_is_price_time_at_the_sell_price():
    buys = [plan.Order(True, 0, 20.0, 2.0, False, placed=1), plan.Order(True, 1, 20.0, 2.0, False, placed=0),
            plan.Order(True, 2, 12.0, 2.0, False, placed=2)]
    sells = [plan.Order(False, 3, 15.0, 3.0, False, placed=3)]
    trades, left_buy, left_sell = plan._clear(buys, sells, 7)
    assert [(t.buyer, t.quantity_kwh, t.price) for t in trades] == [(1, 2.0, 15.0), (0, 1.0, 15.0)]
    assert left_buy == {1: 0.0, 0: 1.0, 2: 2.0} and left_sell == {0: 0.0}


@pytest.fixture(scope="module")
def small():
    return seed003.ev_population("ch4", omega=24, seed=4)


def test_adbev_day_conserves_energy_and_meets_demand(small):
    day = plan.run_adbev(small)
    assert day.unmet_kwh == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(day.charged_kwh, small.need_kwh, atol=1e-9)
    assert np.all(day.discharged_kwh <= small.offer_kwh + 1e-9)
    net = day.charged_kwh.sum() - day.discharged_kwh.sum()
    assert day.ev_load_kw.sum() * 0.5 == pytest.approx(net)
    traded = sum(t.quantity_kwh for t in day.trades)
    assert traded == pytest.approx(day.discharged_kwh.sum())  # every sold kWh went to a buyer
    assert day.charged_kwh.sum() == pytest.approx(traded + day.grid_kwh.sum())
    assert set(day.modes) <= {"satisfied", "aggressive", "passive", "both", "idle"}


def test_icebergs_never_charge_above_their_peak_unless_they_must(small):
    settings = plan.AdbevSettings(peak_kw=4.0, wait_max=0)
    day = plan.run_adbev(small, settings)
    flags = plan.iceberg_flags(small)
    assert flags.sum() == small.size // 2  # normal:iceberg 1:1
    assert day.unmet_kwh == pytest.approx(0.0, abs=1e-9)


def test_carried_sells_are_killed_after_carry_max(small):
    no_carry = plan.run_adbev(small, plan.AdbevSettings(carry_max=0))
    keep = plan.run_adbev(small, plan.AdbevSettings(carry_max=48))
    assert no_carry.discharged_kwh.sum() <= keep.discharged_kwh.sum() + 1e-9


@pytest.mark.parametrize("kwargs", [{"peak_kw": 0}, {"wait_max": -1}, {"carry_max": 49}])
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
    assert "Eq. 4.4 PFL unit" in (tmp_path / "seed003-ch4.md").read_text()


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
