"""BatteryWindows, the AdBEV book's order gate (seed 003 ch. 4): an EV may not bid beyond the battery window the
meter attested (periods connected, Wh its battery can take and give); other traders pass. One test per revert
path (nothing changed), the role checks, the gate's one-time setting on the book, and its gas."""

import brownie
import pytest
from adbev_support import CREDIT_WH, order
from contract_helpers import UNAUTHORIZED, custom_error

from offchain.chain.roles import role_id


@pytest.fixture
def window(windows, meter, evs, p):
    """evs[0] connected for periods p..p+3, may buy 6 kWh and sell 1 kWh."""
    windows.setWindow(evs[0], p, p + 3, 6_000, 1_000, {"from": meter})
    return windows


def _state(book, windows, ev, p):
    return (book.nextOrderId(), book.uposFree(ev), book.energyFree(ev, p), tuple(windows.windowOf(ev)))


def test_an_ev_order_inside_its_window_is_admitted_and_counted(funded, window, evs, p):
    tx = order(funded, evs[0], p, True, 20, 4_000, 1_000)
    assert dict(tx.events["OrderAdmitted"][0]) == {
        "ev": evs[0].address, "period": p, "isBuy": True, "quantityWh": 4_000, "leftWh": 2_000,
    }
    assert tuple(window.windowOf(evs[0])) == (p, p + 3, 6_000, 1_000, 4_000, 0)
    order(funded, evs[0], p, True, 20, 2_000)  # exactly what is left
    assert window.windowOf(evs[0])[4] == 6_000


def test_an_ev_buying_beyond_its_window_is_refused(funded, window, evs, p):
    order(funded, evs[0], p, True, 20, 5_000)
    before = _state(funded, window, evs[0], p)
    with brownie.reverts(custom_error("BeyondBatteryWindow(address,bool,uint256,uint256)", evs[0], True, 1_001, 1_000)):
        order(funded, evs[0], p, True, 20, 1_001)
    assert _state(funded, window, evs[0], p) == before


def test_a_cancelled_order_keeps_its_share_of_the_window(funded, window, evs, p):
    placed = order(funded, evs[0], p, True, 20, 6_000).events["OrderPlaced"]["orderId"]
    funded.cancelOrder(placed, {"from": evs[0]})
    with brownie.reverts(custom_error("BeyondBatteryWindow(address,bool,uint256,uint256)", evs[0], True, 100, 0)):
        order(funded, evs[0], p, True, 20, 100)


def test_an_ev_selling_beyond_its_window_is_refused(funded, window, prosumers, evs, p):
    order(funded, prosumers[0], p, False, 15, 3_000)
    order(funded, evs[0], p, True, 15, 3_000)  # the EV now holds 3 kWh of period p
    order(funded, evs[0], p, False, 25, 800)
    before = _state(funded, window, evs[0], p)
    with brownie.reverts(custom_error("BeyondBatteryWindow(address,bool,uint256,uint256)", evs[0], False, 300, 200)):
        order(funded, evs[0], p, False, 25, 300)
    assert _state(funded, window, evs[0], p) == before


def test_an_ev_ordering_outside_its_periods_is_refused(adbev_book, funded, windows, meter, evs, p):
    windows.setWindow(evs[0], p + 1, p + 4, 6_000, 0, {"from": meter})
    before = _state(funded, windows, evs[0], p)
    with brownie.reverts(custom_error("OutsideBatteryWindow(address,uint256,uint256,uint256)", evs[0], p, p + 1, p + 4)):
        order(funded, evs[0], p, True, 20, 1_000)
    assert _state(funded, windows, evs[0], p) == before
    with brownie.reverts(custom_error("OutsideBatteryWindow(address,uint256,uint256,uint256)", evs[1], p, 0, 0)):
        order(funded, evs[1], p, True, 20, 1_000)  # no window attested


def test_other_traders_are_not_gated(funded, windows, prosumers, operator, p):
    tx = order(funded, prosumers[0], p, False, 15, CREDIT_WH)
    assert "OrderAdmitted" not in tx.events and tx.events["OrderPlaced"]["quantityWh"] == CREDIT_WH
    assert order(funded, operator, p, True, 10, 100_000).status == 1


def test_a_new_window_replaces_the_old_and_forgets_its_orders(funded, window, meter, evs, p):
    order(funded, evs[0], p, True, 20, 6_000)
    tx = window.setWindow(evs[0], p, p, 2_000, 0, {"from": meter})
    assert dict(tx.events["BatteryWindowSet"][0]) == {
        "ev": evs[0].address, "firstPeriod": p, "lastPeriod": p, "chargeWh": 2_000, "dischargeWh": 0,
    }
    assert tuple(window.windowOf(evs[0])) == (p, p, 2_000, 0, 0, 0)


def test_only_the_meter_sets_windows(windows, evs, operator, p):
    with brownie.reverts(custom_error(UNAUTHORIZED, operator, role_id("METER"))):
        windows.setWindow(evs[0], p, p + 1, 1_000, 0, {"from": operator})


@pytest.mark.parametrize(
    "first_offset,last,charge,discharge",
    [(1, 0, 1_000, 0), (0, 2**32, 1_000, 0), (0, 1, 2**48, 0), (0, 1, 0, 2**48)],
)
def test_bad_windows_are_refused(windows, meter, evs, p, first_offset, last, charge, discharge):
    first, last = p + first_offset, (p + last if last < 2**32 else last)
    with brownie.reverts(custom_error("InvalidBatteryWindow(uint256,uint256,uint256,uint256)", first, last, charge,
                                      discharge)):
        windows.setWindow(evs[0], first, last, charge, discharge, {"from": meter})


def test_windows_are_for_active_evs_only(windows, meter, prosumers, outsider, p):
    for account in (prosumers[0], outsider):
        with brownie.reverts(custom_error("NotAnActiveEV(address)", account)):
            windows.setWindow(account, p, p + 1, 1_000, 0, {"from": meter})


def test_only_the_gated_book_admits_orders(windows, evs, p):
    with brownie.reverts(custom_error("NotTheGatedBook(address)", evs[0])):
        windows.admitOrder(evs[0], p, True, 1_000, {"from": evs[0]})


def test_the_gate_is_set_once_by_the_admin(EnergyOrderBook, BatteryWindows, adbev_book, windows, registry, admin,
                                           operator):
    assert adbev_book.orderGate() == windows and windows.book() == adbev_book
    with brownie.reverts(custom_error("OrderGateAlreadySet(address)", windows)):
        adbev_book.setOrderGate(operator, {"from": admin})
    with brownie.reverts(custom_error(UNAUTHORIZED, operator, role_id("ADMIN"))):
        adbev_book.setOrderGate(windows, {"from": operator})
    with brownie.reverts(custom_error("ZeroAddress()")):
        adbev_book.setOrderGate(brownie.ZERO_ADDRESS, {"from": admin})
    with brownie.reverts(custom_error("ZeroAddress()")):
        BatteryWindows.deploy(registry, brownie.ZERO_ADDRESS, {"from": admin})


def test_gated_placement_gas(funded, window, prosumers, evs, p):
    """Prints what the gate adds to a resting buy joining a level (figures for benchmarks/adbev_gas.md)."""
    order(funded, prosumers[1], p, True, 20, 1_000)  # opens the level and the period's bitmap words
    gated = order(funded, evs[0], p, True, 20, 1_000).gas_used  # the window's word is written whole: any order alike
    ungated = order(funded, prosumers[0], p, True, 20, 1_000).gas_used
    print(f"\nresting buy joining a level: an EV's through the gate {gated}, a prosumer's (the gate lets it pass) "
          f"{ungated} gas")
    assert gated > ungated
