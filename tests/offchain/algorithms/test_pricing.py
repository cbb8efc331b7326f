"""Seed-000 static pricing: P_split, the EV's clamped resale price, weighted-average cost, sell rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.algorithms.pricing import EVAccount, PricingError, SellRule, Tariffs, settle_exchange
from offchain.units import UPOS_BASE, base_to_upos, payment_base, price_to_base_per_kwh


def test_prosumer_to_ev_price_is_the_grid_midpoint():
    tariffs = Tariffs()
    assert tariffs.grid_buy_base == price_to_base_per_kwh(0.2949)
    assert tariffs.grid_sell_base == price_to_base_per_kwh(0.064)
    assert tariffs.prosumer_to_ev_base == price_to_base_per_kwh(0.17945)  # (29.49 + 6.4) / 2 p/kWh


def test_ev_price_is_marked_up_and_clamped_to_the_grid_prices():
    tariffs = Tariffs()
    split = tariffs.prosumer_to_ev_base
    assert tariffs.ev_sell_price_base(split) == split * 11 // 10
    assert tariffs.ev_sell_price_base(0) == tariffs.grid_sell_base
    assert tariffs.ev_sell_price_base(tariffs.grid_buy_base) == tariffs.grid_buy_base
    assert Tariffs(ev_markup_bps=0).ev_sell_price_base(split) == split


def test_default_initial_stock_reproduces_l2s_fig7_gain():
    tariffs = Tariffs()
    assert tariffs.initial_stock_base == (tariffs.grid_buy_base + tariffs.prosumer_to_ev_base) // 2
    account = EVAccount.opening(8_350, tariffs)
    gain = settle_exchange(-8_350, account, tariffs)
    # L2 bought its EV's 8.35 kWh at 1.1 x 23.7175 p instead of 29.49 p: the paper's £0.28.
    assert base_to_upos(gain) == pytest.approx(8.35 * (0.2949 - 1.1 * 0.237175), abs=1e-9)
    assert round(base_to_upos(gain), 2) == 0.28


def test_weighted_average_cost_and_realised_profit():
    tariffs = Tariffs(initial_stock_price=0.10)
    account = EVAccount.opening(1_000, tariffs)
    account.store(3_000, price_to_base_per_kwh(0.20))
    expected_basis = (1 * Decimal("0.10") + 3 * Decimal("0.20")) / 4
    assert account.basis_base_per_kwh() == price_to_base_per_kwh(expected_basis)
    revenue = account.sell(2_000, price_to_base_per_kwh(0.25))
    assert account.basis_base_per_kwh() == price_to_base_per_kwh(expected_basis)  # selling keeps the basis
    assert account.realized_profit_base == revenue - payment_base(2_000, price_to_base_per_kwh(expected_basis))
    assert account.stock_wh == 2_000 and account.stored_wh == 3_000 and account.sold_wh == 2_000
    with pytest.raises(PricingError):
        account.sell(2_001, 1)
    with pytest.raises(PricingError):
        account.store(-1, 1)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(-3_000, 3_000), max_size=60), st.integers(0, 8_350))
def test_no_prosumer_ever_loses_against_the_grid(moves, stock):
    tariffs = Tariffs()
    account = EVAccount.opening(stock, tariffs)
    for moved in moves:
        moved = max(moved, -account.stock_wh)  # the battery model never releases more than it holds
        assert settle_exchange(moved, account, tariffs) >= 0
    assert account.realized_profit_base >= 0  # resale is never below the cost basis unless clamped


def test_grid_bill():
    tariffs = Tariffs()
    assert tariffs.grid_bill_base(1_000, 0) == int(0.2949 * UPOS_BASE)
    assert tariffs.grid_bill_base(0, 1_000) == -int(0.064 * UPOS_BASE)


@pytest.mark.parametrize("kwargs", [{"grid_sell": 0.3}, {"grid_buy": -1.0}, {"ev_markup_bps": -1}, {"initial_stock_price": -0.1}])
def test_inconsistent_tariffs_are_rejected(kwargs):
    with pytest.raises(PricingError):
        Tariffs(**kwargs)


def test_sell_rule_needs_a_participation_record():
    rule = SellRule()
    assert not rule.may_sell(bid_periods_before=0, stored_before_wh=0)
    assert rule.may_sell(bid_periods_before=1, stored_before_wh=0)
    strict = SellRule(min_bid_periods=3, require_store=True)
    assert not strict.may_sell(3, 0)
    assert not strict.may_sell(2, 500)
    assert strict.may_sell(3, 500)
    with pytest.raises(PricingError):
        SellRule(min_bid_periods=-1)
