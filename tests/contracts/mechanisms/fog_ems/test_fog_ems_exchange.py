"""EVExchange: batteries opened by METER, matches from MARKET, the per-step exchange log of a period
(exchange.csv fields, window kept, sell rule) settled with offchain.algorithms.pricing's integer rules,
the grid residual against the OPERATOR, tariffs, and the internal UPOS balances."""

from __future__ import annotations

from dataclasses import dataclass, field

import brownie
import numpy as np
import pytest
from contract_helpers import ALREADY_ACCEPTED, INSUFFICIENT_BALANCE, UNAUTHORIZED, custom_error
from fog_ems_support import (
    BASE_SPEC,
    DEPOSIT,
    STEPS_PER_PERIOD,
    TARIFFS,
    close_bidding,
    end_period,
    fresh_bidding_period,
    register_ev,
    tariffs_tuple,
)

from offchain.algorithms.pricing import EVAccount, Tariffs
from offchain.chain.roles import role_id
from offchain.units import payment_base

pytestmark = pytest.mark.usefixtures("batteries", "deposits")

PERIOD = 27_000_000  #: a period index for matches opened directly by the MARKET stand-in


@dataclass
class Model:
    """The Python mirror of the exchange: one pricing.EVAccount and energy per EV, balances per account."""

    tariffs: Tariffs
    energy: dict[str, int]
    accounts: dict[str, EVAccount]
    balances: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, exchange, evs, tariffs: Tariffs = TARIFFS) -> Model:
        energy = {ev.address: exchange.battery(ev)[0] for ev in evs}
        accounts = {}
        for ev in evs:
            _, stock, cost, _ = exchange.battery(ev)
            accounts[ev.address] = EVAccount(stock_wh=stock, cost_base=cost)
        return cls(tariffs, energy, accounts)

    def log(self, period: int, first_id: int, matches: list[tuple], moved: list[int]) -> list[tuple]:
        """Applies `moved` (step-major) like EVExchange.logExchange; returns the expected EnergyExchanged
        events (step, energy, available, capacity, matchingId, prosumer, ev, price, payment)."""
        events = []
        count = len(matches)
        for s in range(STEPS_PER_PERIOD):
            for k, (prosumer, ev, _) in enumerate(matches):
                x = moved[s * count + k]
                if x == 0:
                    continue
                account = self.accounts[ev]
                if x > 0:
                    price = self.tariffs.prosumer_to_ev_base
                    paid = account.store(x, price)
                    self._move(ev, prosumer, paid)
                else:
                    price = self.tariffs.ev_sell_price_base(account.basis_base_per_kwh())
                    paid = account.sell(-x, price)
                    self._move(prosumer, ev, paid)
                self.energy[ev] += x
                e = self.energy[ev]
                events.append((period * STEPS_PER_PERIOD + s, x, max(e - BASE_SPEC.lower_wh, 0),
                               max(BASE_SPEC.upper_wh - e, 0), first_id + k, prosumer, ev, price, paid))  # fmt: skip
        return events

    def _move(self, payer: str, payee: str, amount: int) -> None:
        self.balances[payer] = self.balances.get(payer, 0) - amount
        self.balances[payee] = self.balances.get(payee, 0) + amount


def exchanged(tx) -> list[tuple]:
    return [
        (e["step"], e["energyWh"], e["availableWh"], e["capacityWh"], e["matchingId"], e["prosumer"], e["ev"],
         e["priceBasePerKwh"], e["paymentBase"])
        for e in tx.events["EnergyExchanged"]
    ] if "EnergyExchanged" in tx.events else []  # fmt: skip


def open_pairs(exchange, market, period, pairs) -> int:
    """Opens `pairs` [(prosumer, ev, maySell)] for `period` as the MARKET stand-in; returns the first id."""
    prosumers, evs, may_sell = zip(*pairs)
    tx = exchange.openMatches(period, list(prosumers), list(evs), list(may_sell), {"from": market})
    return tx.return_value


def period_matches(exchange, period) -> tuple:
    opened, first, matches = exchange.periodMatches(period)
    return opened, first, [tuple(m) for m in matches]


def battery_state(exchange, ev) -> tuple:
    return tuple(exchange.battery(ev))


# --- batteries ---------------------------------------------------------------------------------------


def test_open_battery_values_the_stock_at_the_initial_price(exchange, evs, batteries, meter):
    for ev, energy in batteries.items():
        expected = EVAccount.opening(energy - BASE_SPEC.lower_wh, TARIFFS)
        assert battery_state(exchange, ev) == (energy, expected.stock_wh, expected.cost_base, True)
        assert tuple(exchange.headroom(ev)) == (energy - BASE_SPEC.lower_wh, BASE_SPEC.upper_wh - energy)


def test_open_battery_emits(exchange, registry, operator, meter, funded_account):
    ev = funded_account()
    register_ev(registry, operator, ev, BASE_SPEC)
    tx = exchange.openBattery(ev, BASE_SPEC.lower_wh + 2_000, {"from": meter})
    event = tx.events["BatteryOpened"]
    cost = payment_base(2_000, TARIFFS.initial_stock_base)
    fields = (event["ev"], event["energyWh"], event["stockWh"], event["costBase"])
    assert fields == (ev, BASE_SPEC.lower_wh + 2_000, 2_000, cost)


def test_open_battery_rejects_bad_input(exchange, registry, operator, meter, prosumers, evs, funded_account):
    ev = funded_account()
    register_ev(registry, operator, ev, BASE_SPEC)
    with brownie.reverts(custom_error("NotAnActiveEV(address)", prosumers[0])):
        exchange.openBattery(prosumers[0], BASE_SPEC.lower_wh, {"from": meter})
    with brownie.reverts(custom_error("BatteryAlreadyOpen(address)", evs[0])):
        exchange.openBattery(evs[0], BASE_SPEC.lower_wh, {"from": meter})
    window = "EnergyOutsideWindow(address,uint256,uint256,uint256)"
    for energy in (BASE_SPEC.lower_wh - 1, BASE_SPEC.upper_wh + 1):
        with brownie.reverts(custom_error(window, ev, energy, BASE_SPEC.lower_wh, BASE_SPEC.upper_wh)):
            exchange.openBattery(ev, energy, {"from": meter})
    registry.setActive(ev, False, {"from": operator})
    with brownie.reverts(custom_error("NotAnActiveEV(address)", ev)):
        exchange.openBattery(ev, BASE_SPEC.lower_wh, {"from": meter})
    assert battery_state(exchange, ev) == (0, 0, 0, False)
    with brownie.reverts(custom_error("BatteryNotOpen(address)", ev)):
        exchange.headroom(ev)


def test_only_meter_opens_batteries(exchange, registry, operator, outsider, funded_account):
    ev = funded_account()
    register_ev(registry, operator, ev, BASE_SPEC)
    for caller in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("METER"))):
            exchange.openBattery(ev, BASE_SPEC.lower_wh, {"from": caller})


# --- matches -----------------------------------------------------------------------------------------


def test_open_matches_numbers_and_records(exchange, market, prosumers, evs):
    first = exchange.lastMatchingId() + 1
    tx = exchange.openMatches(PERIOD, [prosumers[0], prosumers[1]], [evs[1], evs[0]], [True, False], {"from": market})
    assert tx.return_value == first
    assert exchange.lastMatchingId() == first + 1
    expected = [(prosumers[0], evs[1], True), (prosumers[1], evs[0], False)]
    assert period_matches(exchange, PERIOD) == (True, first, expected)
    fields = ("period", "matchingId", "prosumer", "ev", "evMaySell")
    assert [tuple(e[f] for f in fields) for e in tx.events["MatchOpened"]] == [
        (PERIOD, first, prosumers[0], evs[1], True),
        (PERIOD, first + 1, prosumers[1], evs[0], False),
    ]
    assert period_matches(exchange, PERIOD + 1) == (False, 0, [])


def test_open_matches_rejects_bad_input(exchange, market, prosumers, evs, outsider):
    mismatch = "MatchArraysMismatch(uint256,uint256,uint256)"
    with brownie.reverts(custom_error(mismatch, 2, 1, 2)):
        exchange.openMatches(PERIOD, [prosumers[0], prosumers[1]], [evs[0]], [True, True], {"from": market})
    with brownie.reverts(custom_error(mismatch, 1, 1, 0)):
        exchange.openMatches(PERIOD, [prosumers[0]], [evs[0]], [], {"from": market})
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("MARKET"))):
        exchange.openMatches(PERIOD, [prosumers[0]], [evs[0]], [True], {"from": outsider})
    assert exchange.periodMatches(PERIOD)[0] is False
    exchange.openMatches(PERIOD, [prosumers[0]], [evs[0]], [True], {"from": market})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, exchange.MATCHES(), PERIOD)):
        exchange.openMatches(PERIOD, [prosumers[1]], [evs[1]], [True], {"from": market})


# --- exchange log ------------------------------------------------------------------------------------


def test_log_moves_energy_and_settles_like_the_python_model(exchange, market, meter, prosumers, evs):
    pairs = [(prosumers[0].address, evs[1].address, True), (prosumers[1].address, evs[0].address, True)]
    model = Model.of(exchange, evs)
    before = {a: exchange.balanceOf(a) for a in [prosumers[0], prosumers[1], evs[0], evs[1]]}
    first = open_pairs(exchange, market, PERIOD, pairs)
    # step-major, (match 0, match 1) per step: evs[1] stores, then resells; evs[0] (full) only sells
    moved = [1_500, -2_000, 0, -700, 2_500, 0, -3_000, -1, 0, -999, 0, 0]
    expected = model.log(PERIOD, first, pairs, moved)

    tx = exchange.logExchange(PERIOD, moved, {"from": meter})

    assert exchanged(tx) == expected
    for ev in evs:
        account = model.accounts[ev.address]
        assert battery_state(exchange, ev) == (model.energy[ev.address], account.stock_wh, account.cost_base, True)
    for account, balance in before.items():
        assert exchange.balanceOf(account) == balance + model.balances.get(account.address, 0)
    assert exchange.isAccepted(exchange.EXCHANGE(), PERIOD)
    expected_settled = []
    for k, (prosumer, ev, _) in enumerate(pairs):
        net = model.balances[prosumer]  # > 0: the EV paid the prosumer on balance
        expected_settled.append((first + k, ev, prosumer, net) if net > 0 else (first + k, prosumer, ev, -net))
    fields = ("matchingId", "payer", "payee", "amount")
    assert [tuple(e[f] for f in fields) for e in tx.events["MatchSettled"]] == expected_settled


def test_random_periods_track_the_cost_basis_exactly(exchange, market, meter, prosumers, evs):
    """Twenty periods of random stores and sales by evs[1] (within its window and stock): every step's
    price and payment and the running cost basis equal pricing.EVAccount's."""
    rng = np.random.default_rng(11)
    model = Model.of(exchange, evs)
    ev = evs[1].address
    for period in range(PERIOD, PERIOD + 20):
        first = open_pairs(exchange, market, period, [(prosumers[2].address, ev, True)])
        energy, moved = model.energy[ev], []
        for _ in range(STEPS_PER_PERIOD):
            low, high = BASE_SPEC.lower_wh - energy, BASE_SPEC.upper_wh - energy
            x = int(rng.integers(max(low, -6_000), min(high, 6_000) + 1)) if rng.random() > 0.2 else 0
            moved.append(x)
            energy += x
        expected = model.log(period, first, [(prosumers[2].address, ev, True)], moved)
        tx = exchange.logExchange(period, moved, {"from": meter})
        assert exchanged(tx) == expected
        account = model.accounts[ev]
        assert battery_state(exchange, evs[1]) == (model.energy[ev], account.stock_wh, account.cost_base, True)
        assert exchange.evSellPrice(evs[1]) == TARIFFS.ev_sell_price_base(account.basis_base_per_kwh())


def test_log_rejects_unknown_period_wrong_length_and_repeats(exchange, market, meter, prosumers, evs):
    with brownie.reverts(custom_error("PeriodNotMatched(uint256)", PERIOD)):
        exchange.logExchange(PERIOD, [0] * STEPS_PER_PERIOD, {"from": meter})
    open_pairs(exchange, market, PERIOD, [(prosumers[0], evs[1], True)])
    for length in (STEPS_PER_PERIOD - 1, STEPS_PER_PERIOD + 1, 0):
        with brownie.reverts(custom_error("ExchangeLengthMismatch(uint256,uint256)", STEPS_PER_PERIOD, length)):
            exchange.logExchange(PERIOD, [0] * length, {"from": meter})
    assert not exchange.isAccepted(exchange.EXCHANGE(), PERIOD)
    exchange.logExchange(PERIOD, [100] + [0] * (STEPS_PER_PERIOD - 1), {"from": meter})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, exchange.EXCHANGE(), PERIOD)):
        exchange.logExchange(PERIOD, [100] + [0] * (STEPS_PER_PERIOD - 1), {"from": meter})


def test_only_meter_logs(exchange, market, prosumers, evs, outsider, operator):
    open_pairs(exchange, market, PERIOD, [(prosumers[0], evs[1], True)])
    for caller in (outsider, operator):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("METER"))):
            exchange.logExchange(PERIOD, [0] * STEPS_PER_PERIOD, {"from": caller})


def test_log_beyond_the_battery_window_reverts_and_changes_nothing(exchange, market, meter, prosumers, evs, batteries):
    exceeded = "BatteryWindowExceeded(address,uint256,int256,uint256,uint256)"
    open_pairs(exchange, market, PERIOD, [(prosumers[0], evs[0], True), (prosumers[1], evs[1], True)])
    state = [battery_state(exchange, ev) for ev in evs]
    balances = [exchange.balanceOf(a) for a in [*prosumers[:2], *evs]]
    full = batteries[evs[0]]  # at its upper bound
    over = [1, 0] + [0] * (2 * STEPS_PER_PERIOD - 2)
    window = (BASE_SPEC.lower_wh, BASE_SPEC.upper_wh)
    with brownie.reverts(custom_error(exceeded, evs[0], PERIOD * STEPS_PER_PERIOD, full + 1, *window)):
        exchange.logExchange(PERIOD, over, {"from": meter})
    available = batteries[evs[1]] - BASE_SPEC.lower_wh
    # step 1 takes half, step 2 one Wh more than what is left
    under = [0, -(available // 2), 0, -(available - available // 2) - 1] + [0] * (2 * STEPS_PER_PERIOD - 4)
    second_step = PERIOD * STEPS_PER_PERIOD + 1
    with brownie.reverts(custom_error(exceeded, evs[1], second_step, BASE_SPEC.lower_wh - 1, *window)):
        exchange.logExchange(PERIOD, under, {"from": meter})
    assert [battery_state(exchange, ev) for ev in evs] == state
    assert [exchange.balanceOf(a) for a in [*prosumers[:2], *evs]] == balances
    assert not exchange.isAccepted(exchange.EXCHANGE(), PERIOD)


def test_unverified_ev_cannot_discharge(exchange, market, meter, prosumers, evs):
    first = open_pairs(exchange, market, PERIOD, [(prosumers[0], evs[1], False)])
    with brownie.reverts(custom_error("SaleNotVerified(uint256,address)", first, evs[1])):
        exchange.logExchange(PERIOD, [200, -100, 0, 0, 0, 0], {"from": meter})
    tx = exchange.logExchange(PERIOD, [200, 300, 0, 0, 0, 0], {"from": meter})  # storing is fine
    assert [e["energyWh"] for e in tx.events["EnergyExchanged"]] == [200, 300]


def test_energy_without_a_cost_basis_cannot_be_sold(
    exchange, registry, operator, market, meter, prosumers, evs, batteries
):
    """Lowering socMin after opening makes energy available that the stock (and its basis) never held."""
    ev = evs[1]
    stock = batteries[ev] - BASE_SPEC.lower_wh
    registry.update(ev, 0, 0, BASE_SPEC.capacity_wh, BASE_SPEC.lower_wh - 5_000, BASE_SPEC.upper_wh, {"from": operator})
    assert exchange.headroom(ev)[0] == stock + 5_000
    open_pairs(exchange, market, PERIOD, [(prosumers[0], ev, True)])
    with brownie.reverts(custom_error("StockExceeded(address,uint256,uint256)", ev, stock + 1, stock)):
        exchange.logExchange(PERIOD, [-(stock + 1), 0, 0, 0, 0, 0], {"from": meter})


def test_payer_without_balance_reverts(exchange, market, meter, prosumers, evs):
    exchange.withdraw(DEPOSIT, {"from": evs[1]})
    open_pairs(exchange, market, PERIOD, [(prosumers[0], evs[1], True)])
    payment = payment_base(1_000, TARIFFS.prosumer_to_ev_base)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, evs[1], 0, payment)):
        exchange.logExchange(PERIOD, [1_000, 0, 0, 0, 0, 0], {"from": meter})


def test_store_record_feeds_the_require_store_sell_rule(deploy_matching, exchange, meter, prosumers, evs, batteries):
    """SellRule(require_store=True): the EV may sell only after a period in which it stored energy."""
    strict = deploy_matching(require_store=True)
    ev = evs[1]
    capacity = BASE_SPEC.upper_wh - batteries[ev]
    period = fresh_bidding_period(strict)
    strict.bidEV(period, 0, capacity, {"from": ev})
    strict.bidProsumer(period, 800, {"from": prosumers[0]})
    close_bidding(strict, period)
    strict.matchGreedy(period, {"from": prosumers[0]})
    assert not exchange.storedBefore(ev, period + 1)
    later = period + 1
    assert not strict.maySell(ev, later)  # an earlier bid period, but no store yet
    end_period(strict, period)
    exchange.logExchange(period, [800, 0, 0, 0, 0, 0], {"from": meter})
    assert not exchange.storedBefore(ev, period)
    assert exchange.storedBefore(ev, later)
    assert strict.maySell(ev, later)


# --- grid residual -----------------------------------------------------------------------------------


def test_grid_residual_settles_against_the_operator(exchange, operator, prosumers):
    before = {a: exchange.balanceOf(a) for a in [*prosumers[:2], operator]}
    tx = exchange.settleGrid(PERIOD, [prosumers[0], prosumers[1]], [1_500, 0], [200, 3_000], {"from": operator})
    cost0, revenue0 = payment_base(1_500, TARIFFS.grid_buy_base), payment_base(200, TARIFFS.grid_sell_base)
    revenue1 = payment_base(3_000, TARIFFS.grid_sell_base)
    assert exchange.balanceOf(prosumers[0]) == before[prosumers[0]] - cost0 + revenue0
    assert exchange.balanceOf(prosumers[1]) == before[prosumers[1]] + revenue1
    assert exchange.balanceOf(operator) == before[operator] + cost0 - revenue0 - revenue1
    fields = ("period", "prosumer", "operator", "importWh", "exportWh", "importCost", "exportRevenue")
    events = [tuple(e[f] for f in fields) for e in tx.events["GridSettled"]]
    assert events == [
        (PERIOD, prosumers[0], operator, 1_500, 200, cost0, revenue0),
        (PERIOD, prosumers[1], operator, 0, 3_000, 0, revenue1),
    ]
    assert exchange.isAccepted(exchange.GRID(), PERIOD)


def test_grid_settlement_rejects_bad_input(exchange, operator, prosumers, evs, outsider, meter):
    with brownie.reverts(custom_error("GridArraysMismatch(uint256,uint256,uint256)", 2, 1, 2)):
        exchange.settleGrid(PERIOD, [prosumers[0], prosumers[1]], [1], [1, 2], {"from": operator})
    with brownie.reverts(custom_error("NotAnActiveProsumer(address)", evs[0])):
        exchange.settleGrid(PERIOD, [prosumers[0], evs[0]], [1, 1], [0, 0], {"from": operator})
    for caller in (outsider, meter):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
            exchange.settleGrid(PERIOD, [prosumers[0]], [1], [0], {"from": caller})
    assert not exchange.isAccepted(exchange.GRID(), PERIOD)
    exchange.settleGrid(PERIOD, [prosumers[0]], [1_000], [0], {"from": operator})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, exchange.GRID(), PERIOD)):
        exchange.settleGrid(PERIOD, [prosumers[0]], [1_000], [0], {"from": operator})


def test_grid_settlement_needs_funds_on_both_sides(exchange, operator, prosumers):
    operator_balance = exchange.balanceOf(operator)
    exchange.withdraw(operator_balance, {"from": operator})
    revenue = payment_base(5_000, TARIFFS.grid_sell_base)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, operator, 0, revenue)):
        exchange.settleGrid(PERIOD, [prosumers[0]], [0], [5_000], {"from": operator})
    exchange.withdraw(DEPOSIT, {"from": prosumers[1]})
    cost = payment_base(2_000, TARIFFS.grid_buy_base)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, prosumers[1], 0, cost)):
        exchange.settleGrid(PERIOD, [prosumers[1]], [2_000], [0], {"from": operator})


# --- tariffs and balances ----------------------------------------------------------------------------


def test_tariffs_default_to_the_python_model(exchange):
    assert tuple(exchange.tariffs()) == tariffs_tuple()
    assert TARIFFS.prosumer_to_ev_base == (TARIFFS.grid_buy_base + TARIFFS.grid_sell_base) // 2


def test_operator_sets_tariffs_used_by_the_next_log(exchange, market, meter, operator, prosumers, evs):
    cheaper = Tariffs(grid_buy=0.30, grid_sell=0.05, ev_markup_bps=500, initial_stock_price=0.2)
    tx = exchange.setTariffs(tariffs_tuple(cheaper), {"from": operator})
    assert tuple(exchange.tariffs()) == tariffs_tuple(cheaper)
    assert tuple(tx.events["TariffsSet"].values()) == tariffs_tuple(cheaper)
    model = Model.of(exchange, evs, cheaper)
    first = open_pairs(exchange, market, PERIOD, [(prosumers[0].address, evs[1].address, True)])
    moved = [700, -1_300, 0, 0, 0, 0]
    assert exchanged(exchange.logExchange(PERIOD, moved, {"from": meter})) == model.log(
        PERIOD, first, [(prosumers[0].address, evs[1].address, True)], moved
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"gridSellPrice": 10**17, "prosumerToEvPrice": 9 * 10**16},  # sell > split
        {"prosumerToEvPrice": 3 * 10**17},  # split > buy
        {"gridBuyPrice": 2**96, "prosumerToEvPrice": 2**96},  # buy above MAX_PRICE
        {"initialStockPrice": 2**96},
        {"evMarkupBps": 100_001},
    ],
)
def test_invalid_tariffs_revert(exchange, operator, fields):
    names = ["gridBuyPrice", "gridSellPrice", "prosumerToEvPrice", "evMarkupBps", "initialStockPrice"]
    values = dict(zip(names, tariffs_tuple()))
    values.update(fields)
    with brownie.reverts(custom_error("InvalidTariffs(uint256,uint256,uint256,uint256,uint256)", *values.values())):
        exchange.setTariffs(tuple(values.values()), {"from": operator})
    assert tuple(exchange.tariffs()) == tariffs_tuple()


def test_only_operator_sets_tariffs(exchange, admin, outsider):
    for caller in (outsider, admin):
        with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
            exchange.setTariffs(tariffs_tuple(), {"from": caller})


def test_deposit_and_withdraw(exchange, upos, admin, outsider):
    upos.mint(outsider, 500, {"from": admin})
    upos.approve(exchange, 500, {"from": outsider})
    tx = exchange.deposit(500, {"from": outsider})
    assert list(tx.events["Deposited"].values()) == [outsider, 500]
    assert (exchange.balanceOf(outsider), upos.balanceOf(outsider)) == (500, 0)
    with brownie.reverts(custom_error(INSUFFICIENT_BALANCE, outsider, 500, 501)):
        exchange.withdraw(501, {"from": outsider})
    tx = exchange.withdraw(200, {"from": outsider})
    assert list(tx.events["Withdrawn"].values()) == [outsider, 200]
    assert (exchange.balanceOf(outsider), upos.balanceOf(outsider)) == (300, 200)
    for call in (exchange.deposit, exchange.withdraw):
        with brownie.reverts(custom_error("ZeroAmount()")):
            call(0, {"from": outsider})
