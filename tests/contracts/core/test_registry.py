"""ParticipantRegistry: role gating, and the participant lifecycle (register, update, deactivate,
reactivate) with every rejected input leaving the registry as it was."""

import brownie
import pytest
from contract_helpers import EV_CAPACITY_WH, EV_SOC_MAX_WH, EV_SOC_MIN_WH, UNAUTHORIZED, custom_error

from offchain.chain.abi import ZERO_ADDRESS, ParticipantKind
from offchain.chain.roles import role_id

INVALID_BATTERY = "InvalidBattery(uint64,uint64,uint64)"
NOT_REGISTERED = "ParticipantNotRegistered(address)"
COMMUNITY_SIZE = 5  # conftest registers three prosumers and two EVs


def record(registry, account) -> tuple:
    """(kind, active, x, y, capacityWh, socMinWh, socMaxWh) of `account`."""
    return tuple(registry.participant(account))


# --- role gating -------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller_name", ["admin", "meter", "outsider"])
def test_register_requires_operator(registry, request, caller_name, accounts):
    caller = request.getfixturevalue(caller_name)
    newcomer = accounts.add()
    with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("OPERATOR"))):
        registry.register(newcomer, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": caller})
    assert record(registry, newcomer)[0] == ParticipantKind.NONE
    assert registry.activeCount() == COMMUNITY_SIZE


def test_update_requires_operator(registry, prosumers, outsider):
    before = record(registry, prosumers[0])
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("OPERATOR"))):
        registry.update(prosumers[0], 1, 2, 0, 0, 0, {"from": outsider})
    assert record(registry, prosumers[0]) == before


def test_set_active_requires_operator(registry, prosumers, admin):
    with brownie.reverts(custom_error(UNAUTHORIZED, admin, role_id("OPERATOR"))):
        registry.setActive(prosumers[0], False, {"from": admin})
    assert registry.isActive(prosumers[0], ParticipantKind.NONE)
    assert registry.activeCount() == COMMUNITY_SIZE


@pytest.mark.parametrize("role_name", ["OPERATOR", "METER", "SCORER", "VALIDATOR", "STAKING", "MARKET", "ADMIN"])
def test_grant_role_requires_admin(registry, operator, outsider, role_name):
    with brownie.reverts(custom_error(UNAUTHORIZED, operator, role_id("ADMIN"))):
        registry.grantRole(role_id(role_name), outsider, {"from": operator})
    assert not registry.hasRole(role_id(role_name), outsider)


def test_revoke_role_requires_admin(registry, operator, meter):
    with brownie.reverts(custom_error(UNAUTHORIZED, operator, role_id("ADMIN"))):
        registry.revokeRole(role_id("METER"), meter, {"from": operator})
    assert registry.hasRole(role_id("METER"), meter)


def test_admin_administers_every_role(registry):
    for name in ["OPERATOR", "METER", "SCORER", "VALIDATOR", "STAKING", "MARKET", "ADMIN"]:
        assert bytes(registry.getRoleAdmin(role_id(name))) == role_id("ADMIN")


def test_granted_operator_can_register_and_revoked_cannot(registry, admin, outsider, accounts):
    registry.grantRole(role_id("OPERATOR"), outsider, {"from": admin})
    first, second = accounts.add(), accounts.add()
    registry.register(first, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": outsider})
    assert registry.isActive(first, ParticipantKind.PROSUMER)

    registry.revokeRole(role_id("OPERATOR"), outsider, {"from": admin})
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("OPERATOR"))):
        registry.register(second, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": outsider})
    assert record(registry, second)[0] == ParticipantKind.NONE


# --- register ----------------------------------------------------------------------------------------


def test_register_prosumer(registry, operator, accounts):
    newcomer = accounts.add()
    tx = registry.register(newcomer, ParticipantKind.PROSUMER, -1_250, 3_400, 0, 0, 0, {"from": operator})

    event = tx.events["ParticipantRegistered"]
    assert event["account"] == newcomer.address
    assert (event["kind"], event["x"], event["y"]) == (ParticipantKind.PROSUMER, -1_250, 3_400)
    assert (event["batteryCapacityWh"], event["socMinWh"], event["socMaxWh"]) == (0, 0, 0)
    assert record(registry, newcomer) == (ParticipantKind.PROSUMER, True, -1_250, 3_400, 0, 0, 0)
    assert registry.activeCount() == COMMUNITY_SIZE + 1
    assert registry.isActive(newcomer, ParticipantKind.NONE)
    assert registry.isActive(newcomer, ParticipantKind.PROSUMER)
    assert not registry.isActive(newcomer, ParticipantKind.EV)
    assert registry.requireActive(newcomer) == ParticipantKind.PROSUMER


def test_register_ev(registry, operator, accounts):
    newcomer = accounts.add()
    tx = registry.register(newcomer, ParticipantKind.EV, 10, -20, 60_000, 6_000, 54_000, {"from": operator})

    event = tx.events["ParticipantRegistered"]
    assert (event["kind"], event["batteryCapacityWh"], event["socMinWh"], event["socMaxWh"]) == (
        ParticipantKind.EV,
        60_000,
        6_000,
        54_000,
    )
    assert record(registry, newcomer) == (ParticipantKind.EV, True, 10, -20, 60_000, 6_000, 54_000)
    assert registry.isActive(newcomer, ParticipantKind.EV)
    assert not registry.isActive(newcomer, ParticipantKind.PROSUMER)
    assert registry.requireActive(newcomer) == ParticipantKind.EV


def test_fixture_community_is_registered(registry, prosumers, evs):
    for p in prosumers:
        assert registry.isActive(p, ParticipantKind.PROSUMER)
    for e in evs:
        assert record(registry, e)[4:] == (EV_CAPACITY_WH, EV_SOC_MIN_WH, EV_SOC_MAX_WH)
    assert registry.activeCount() == COMMUNITY_SIZE


@pytest.mark.parametrize("kind", [ParticipantKind.PROSUMER, ParticipantKind.EV])
def test_register_twice_rejected(registry, operator, prosumers, kind):
    before = record(registry, prosumers[0])
    with brownie.reverts(custom_error("ParticipantAlreadyRegistered(address)", prosumers[0])):
        registry.register(prosumers[0], kind, 5, 5, 1_000, 0, 1_000, {"from": operator})
    assert record(registry, prosumers[0]) == before
    assert registry.activeCount() == COMMUNITY_SIZE


def test_register_deactivated_participant_again_rejected(registry, operator, prosumers):
    registry.setActive(prosumers[0], False, {"from": operator})
    with brownie.reverts(custom_error("ParticipantAlreadyRegistered(address)", prosumers[0])):
        registry.register(prosumers[0], ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": operator})
    assert not registry.isActive(prosumers[0], ParticipantKind.NONE)


def test_register_zero_address_rejected(registry, operator):
    with brownie.reverts(custom_error("ZeroAddress()")):
        registry.register(ZERO_ADDRESS, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": operator})
    assert record(registry, ZERO_ADDRESS)[0] == ParticipantKind.NONE
    assert registry.activeCount() == COMMUNITY_SIZE


def test_register_kind_none_rejected(registry, operator, outsider):
    with brownie.reverts(custom_error("InvalidKind()")):
        registry.register(outsider, ParticipantKind.NONE, 0, 0, 0, 0, 0, {"from": operator})
    assert record(registry, outsider)[0] == ParticipantKind.NONE
    assert registry.activeCount() == COMMUNITY_SIZE


@pytest.mark.parametrize(
    "capacity, soc_min, soc_max",
    [
        (0, 0, 0),  # no battery
        (50_000, 20_000, 20_000),  # empty SoC window
        (50_000, 30_000, 20_000),  # inverted window
        (50_000, 10_000, 50_001),  # window above capacity
    ],
)
def test_register_ev_with_invalid_battery_rejected(registry, operator, outsider, capacity, soc_min, soc_max):
    with brownie.reverts(custom_error(INVALID_BATTERY, capacity, soc_min, soc_max)):
        registry.register(outsider, ParticipantKind.EV, 0, 0, capacity, soc_min, soc_max, {"from": operator})
    assert record(registry, outsider)[0] == ParticipantKind.NONE
    assert registry.activeCount() == COMMUNITY_SIZE


@pytest.mark.parametrize("capacity, soc_min, soc_max", [(1, 0, 0), (0, 1, 0), (0, 0, 1), (50_000, 0, 40_000)])
def test_register_prosumer_with_battery_rejected(registry, operator, outsider, capacity, soc_min, soc_max):
    with brownie.reverts(custom_error(INVALID_BATTERY, capacity, soc_min, soc_max)):
        registry.register(outsider, ParticipantKind.PROSUMER, 0, 0, capacity, soc_min, soc_max, {"from": operator})
    assert record(registry, outsider)[0] == ParticipantKind.NONE


def test_ev_battery_bounds_inclusive(registry, operator, accounts):
    """socMin = 0 and socMax = capacity are the widest valid window."""
    newcomer = accounts.add()
    registry.register(newcomer, ParticipantKind.EV, 0, 0, 40_000, 0, 40_000, {"from": operator})
    assert record(registry, newcomer)[4:] == (40_000, 0, 40_000)


# --- update ------------------------------------------------------------------------------------------


def test_update_ev(registry, operator, evs):
    tx = registry.update(evs[0], 7, -8, 100_000, 10_000, 90_000, {"from": operator})

    event = tx.events["ParticipantUpdated"]
    assert event["account"] == evs[0].address
    assert (event["x"], event["y"], event["batteryCapacityWh"], event["socMinWh"], event["socMaxWh"]) == (
        7,
        -8,
        100_000,
        10_000,
        90_000,
    )
    assert record(registry, evs[0]) == (ParticipantKind.EV, True, 7, -8, 100_000, 10_000, 90_000)
    assert registry.activeCount() == COMMUNITY_SIZE


def test_update_prosumer_location(registry, operator, prosumers):
    registry.update(prosumers[1], -3, 4, 0, 0, 0, {"from": operator})
    assert record(registry, prosumers[1]) == (ParticipantKind.PROSUMER, True, -3, 4, 0, 0, 0)


def test_update_unregistered_rejected(registry, operator, outsider):
    with brownie.reverts(custom_error(NOT_REGISTERED, outsider)):
        registry.update(outsider, 1, 1, 0, 0, 0, {"from": operator})
    assert record(registry, outsider)[0] == ParticipantKind.NONE


def test_update_with_invalid_battery_rejected(registry, operator, evs, prosumers):
    ev_before, prosumer_before = record(registry, evs[0]), record(registry, prosumers[0])
    with brownie.reverts(custom_error(INVALID_BATTERY, 10_000, 0, 10_001)):
        registry.update(evs[0], 1, 1, 10_000, 0, 10_001, {"from": operator})
    with brownie.reverts(custom_error(INVALID_BATTERY, 10_000, 0, 10_000)):
        registry.update(prosumers[0], 1, 1, 10_000, 0, 10_000, {"from": operator})
    assert record(registry, evs[0]) == ev_before
    assert record(registry, prosumers[0]) == prosumer_before


# --- deactivate / reactivate ------------------------------------------------------------------------


def test_deactivate_and_reactivate(registry, operator, prosumers):
    p = prosumers[2]
    tx = registry.setActive(p, False, {"from": operator})
    assert tx.events["ParticipantActiveSet"]["account"] == p.address
    assert tx.events["ParticipantActiveSet"]["active"] is False
    assert record(registry, p)[:2] == (ParticipantKind.PROSUMER, False)
    assert not registry.isActive(p, ParticipantKind.NONE)
    assert not registry.isActive(p, ParticipantKind.PROSUMER)
    assert registry.activeCount() == COMMUNITY_SIZE - 1
    with brownie.reverts(custom_error("ParticipantInactive(address)", p)):
        registry.requireActive(p)

    tx = registry.setActive(p, True, {"from": operator})
    assert tx.events["ParticipantActiveSet"]["active"] is True
    assert registry.isActive(p, ParticipantKind.PROSUMER)
    assert registry.activeCount() == COMMUNITY_SIZE
    assert registry.requireActive(p) == ParticipantKind.PROSUMER


@pytest.mark.parametrize("active", [True, False])
def test_set_active_to_current_state_changes_nothing(registry, operator, evs, active):
    if not active:
        registry.setActive(evs[0], False, {"from": operator})
    count = registry.activeCount()
    tx = registry.setActive(evs[0], active, {"from": operator})
    assert "ParticipantActiveSet" not in tx.events
    assert registry.activeCount() == count
    assert registry.isActive(evs[0], ParticipantKind.EV) is active


def test_set_active_unregistered_rejected(registry, operator, outsider):
    with brownie.reverts(custom_error(NOT_REGISTERED, outsider)):
        registry.setActive(outsider, True, {"from": operator})
    assert not registry.isActive(outsider, ParticipantKind.NONE)
    assert registry.activeCount() == COMMUNITY_SIZE


def test_deactivated_participant_can_be_updated(registry, operator, evs):
    registry.setActive(evs[1], False, {"from": operator})
    registry.update(evs[1], 0, 0, 70_000, 7_000, 63_000, {"from": operator})
    assert record(registry, evs[1]) == (ParticipantKind.EV, False, 0, 0, 70_000, 7_000, 63_000)


def test_require_active_unregistered(registry, outsider):
    with brownie.reverts(custom_error(NOT_REGISTERED, outsider)):
        registry.requireActive(outsider)
    assert not registry.isActive(outsider, ParticipantKind.NONE)


def test_active_count_tracks_all_changes(registry, operator, prosumers, evs, accounts):
    registry.setActive(prosumers[0], False, {"from": operator})
    registry.setActive(evs[0], False, {"from": operator})
    registry.register(accounts.add(), ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": operator})
    assert registry.activeCount() == COMMUNITY_SIZE - 2 + 1
    registry.setActive(prosumers[0], True, {"from": operator})
    assert registry.activeCount() == COMMUNITY_SIZE
