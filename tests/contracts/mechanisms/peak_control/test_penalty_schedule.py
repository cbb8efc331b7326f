"""PenaltySchedule: PAR_CONTROL publishes one 24-hour multiplier vector per day before the day's gate opens;
every bad input reverts with its own error and changes nothing; premiums follow the published multipliers."""

import brownie
import numpy as np
import pytest
from conftest import DAY, OPEN_LEAD, sleep_until
from contract_helpers import ALREADY_ACCEPTED, INVALID_TIMING, UNAUTHORIZED, custom_error

from offchain.algorithms.par_search import penalty_vector
from offchain.chain.roles import role_id

NONE = [10_000] * 24


def vector_bps(multipliers) -> list[int]:
    return [int(round(m * 10_000)) for m in multipliers]


@pytest.fixture
def paper_vector():
    """The model's vector for a peaked day (offchain.algorithms.par_search), in bps."""
    day = np.array([0.0] * 6 + [10, 40, 90, 200, 120, 80, 60, 60, 50, 40, 30, 20, 10, 5, 2, 1, 0, 0])
    return vector_bps(penalty_vector(day))


def test_publish_records_the_vector_and_the_premium(schedule, par_control, operator, paper_vector):
    assert list(schedule.penalties(3)) == NONE and schedule.multiplierBps(3 * 24 + 9) == 10_000
    tx = schedule.publish(3, paper_vector, 2_171, {"from": par_control})
    assert list(schedule.penalties(3)) == paper_vector
    assert [schedule.multiplierBps(3 * 24 + h) for h in range(24)] == paper_vector
    assert schedule.multiplierBps(4 * 24 + 9) == 10_000
    assert schedule.premiumOf(3 * 24 + 9, 1_000_000) == 500_000  # the peak hour: x1.5
    assert schedule.premiumOf(3 * 24 + 0, 1_000_000) == 0
    event = tx.events["PenaltiesPublished"]
    assert (event["day"], list(event["multipliersBps"]), event["referenceParBps"]) == (3, paper_vector, 2_171)
    assert schedule.isAccepted(schedule.PENALTIES(), 3)
    assert schedule.premiumRecipient() == operator


@pytest.mark.parametrize("length", [0, 23, 25])
def test_wrong_length_reverts(schedule, par_control, length):
    with brownie.reverts(custom_error("PenaltyVectorLength(uint256,uint256)", length, 24)):
        schedule.publish(3, [11_000] * length, 0, {"from": par_control})
    assert not schedule.isAccepted(schedule.PENALTIES(), 3)


@pytest.mark.parametrize("hour, bps", [(0, 9_999), (9, 15_001), (23, 0)])
def test_multiplier_out_of_range_reverts(schedule, par_control, hour, bps):
    vector = list(NONE)
    vector[hour] = bps
    with brownie.reverts(custom_error("MultiplierOutOfRange(uint256,uint256,uint256,uint256)", hour, bps, 10_000,
                                      15_000)):
        schedule.publish(3, vector, 0, {"from": par_control})
    assert list(schedule.penalties(3)) == NONE


def test_reference_par_above_one_reverts(schedule, par_control):
    with brownie.reverts(custom_error("ParOutOfRange(uint256)", 10_001)):
        schedule.publish(3, NONE, 10_001, {"from": par_control})


@pytest.mark.parametrize("who", ["outsider", "operator", "scorer_without_role"])
def test_publish_needs_par_control(schedule, registry, admin, par_control, outsider, operator, who):
    sender = {"outsider": outsider, "operator": operator, "scorer_without_role": par_control}[who]
    if who == "scorer_without_role":
        registry.revokeRole(role_id("PAR_CONTROL"), par_control, {"from": admin})
    with brownie.reverts(custom_error(UNAUTHORIZED, sender, role_id("PAR_CONTROL"))):
        schedule.publish(3, NONE, 0, {"from": sender})
    assert not schedule.isAccepted(schedule.PENALTIES(), 3)


def test_publish_after_the_gate_opened_reverts(schedule, par_control, chain, genesis):
    opens = genesis + 3 * DAY - OPEN_LEAD
    assert schedule.gateOpens(3) == opens
    sleep_until(chain, opens - 30)
    schedule.publish(3, NONE, 0, {"from": par_control})
    sleep_until(chain, opens)
    schedule.publish(4, NONE, 0, {"from": par_control})  # the next day's gate is still closed
    with brownie.reverts(custom_error("GateAlreadyOpen(uint256,uint256)", 2, genesis + 2 * DAY - OPEN_LEAD)):
        schedule.publish(2, NONE, 0, {"from": par_control})
    assert not schedule.isAccepted(schedule.PENALTIES(), 2)


def test_a_second_vector_for_the_same_day_reverts(schedule, par_control, paper_vector):
    schedule.publish(3, NONE, 9_000, {"from": par_control})
    with brownie.reverts(custom_error(ALREADY_ACCEPTED, schedule.PENALTIES(), 3)):
        schedule.publish(3, paper_vector, 2_000, {"from": par_control})
    assert list(schedule.penalties(3)) == NONE


def test_premium_recipient_is_admin_only(schedule, admin, outsider, accounts):
    tx = schedule.setPremiumRecipient(accounts[5], {"from": admin})
    assert schedule.premiumRecipient() == accounts[5] and tx.events["PremiumRecipientSet"]["recipient"] == accounts[5]
    with brownie.reverts(custom_error(UNAUTHORIZED, outsider, role_id("ADMIN"))):
        schedule.setPremiumRecipient(outsider, {"from": outsider})
    with brownie.reverts(custom_error("ZeroAddress()")):
        schedule.setPremiumRecipient(brownie.ZERO_ADDRESS, {"from": admin})
    assert schedule.premiumRecipient() == accounts[5]


@pytest.mark.parametrize("timing", [(10**6, 0, 3_600, 600), (10**6, 3_600, 3_600 * 24, 600),
                                    (10**6, 3_600, 3_600, 0), (4_000, 3_600, 3_600, 600)])
def test_constructor_rejects_bad_timing(PenaltySchedule, registry, operator, admin, timing):
    with brownie.reverts(custom_error(INVALID_TIMING, *timing)):
        PenaltySchedule.deploy(registry, operator, *timing, {"from": admin})
