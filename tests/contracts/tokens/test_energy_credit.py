"""EnergyCredit: METER attests a prosumer's surplus once per (prosumer, period); credits move only to
active participants and MARKET holders; METER or MARKET burns delivered Wh."""

import brownie
import pytest
from contract_helpers import UNAUTHORIZED, custom_error

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id

PERIOD = 480_123  # a delivery period index, also the ERC-1155 token id
SURPLUS_WH = 2_500
NOT_ALLOWED = "CreditRecipientNotAllowed(address)"


@pytest.fixture(scope="module")
def market(role_holder):
    """Stands in for a market contract: an account holding MARKET in the registry."""
    return role_holder("MARKET")


@pytest.fixture
def attested(credit, meter, prosumers):
    """prosumers[0] holds SURPLUS_WH credits of PERIOD."""
    credit.attestSurplus(prosumers[0], PERIOD, SURPLUS_WH, {"from": meter})
    return prosumers[0]


# --- attest ------------------------------------------------------------------------------------------


def test_meter_attests_surplus(credit, meter, prosumers):
    tx = credit.attestSurplus(prosumers[1], PERIOD, SURPLUS_WH, {"from": meter})

    assert credit.balanceOf(prosumers[1], PERIOD) == SURPLUS_WH
    assert credit.attested(prosumers[1], PERIOD) == SURPLUS_WH
    assert credit.attested(prosumers[1], PERIOD + 1) == 0
    event = tx.events["SurplusAttested"]
    assert (event["prosumer"], event["period"], event["wh"], event["meter"]) == (
        prosumers[1].address,
        PERIOD,
        SURPLUS_WH,
        meter.address,
    )
    mint = tx.events["TransferSingle"]
    assert (mint["operator"], mint["from"], mint["to"], mint["id"], mint["value"]) == (
        meter.address,
        ZERO_ADDRESS,
        prosumers[1].address,
        PERIOD,
        SURPLUS_WH,
    )


def test_uri_and_registry(credit, registry):
    assert credit.uri(PERIOD) == "kwx://energy-credit/{id}"
    assert credit.registry() == registry.address


@pytest.mark.parametrize("caller_name", ["admin", "operator", "scorer", "market", "outsider"])
def test_attest_requires_meter(credit, admin, operator, scorer, market, outsider, prosumers, caller_name):
    # Requested as arguments, not via request.getfixturevalue: a module fixture first built inside a test
    # would have its role grant undone by that test's snapshot revert.
    caller = {"admin": admin, "operator": operator, "scorer": scorer, "market": market, "outsider": outsider}[
        caller_name
    ]
    with brownie.reverts(custom_error(UNAUTHORIZED, caller, role_id("METER"))):
        credit.attestSurplus(prosumers[0], PERIOD, SURPLUS_WH, {"from": caller})
    assert credit.balanceOf(prosumers[0], PERIOD) == 0
    assert credit.attested(prosumers[0], PERIOD) == 0


def test_attest_once_per_prosumer_and_period(credit, meter, attested):
    with brownie.reverts(custom_error("SurplusAlreadyAttested(address,uint256)", attested, PERIOD)):
        credit.attestSurplus(attested, PERIOD, 1, {"from": meter})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH
    assert credit.attested(attested, PERIOD) == SURPLUS_WH


def test_attest_once_even_after_credits_left(credit, meter, prosumers, attested):
    """The guard is the attestation record, not the balance: selling the credits does not reopen it."""
    credit.safeTransferFrom(attested, prosumers[1], PERIOD, SURPLUS_WH, b"", {"from": attested})
    with brownie.reverts(custom_error("SurplusAlreadyAttested(address,uint256)", attested, PERIOD)):
        credit.attestSurplus(attested, PERIOD, SURPLUS_WH, {"from": meter})
    assert credit.balanceOf(attested, PERIOD) == 0


def test_other_period_and_other_prosumer_can_be_attested(credit, meter, prosumers, attested):
    credit.attestSurplus(attested, PERIOD + 1, 700, {"from": meter})
    credit.attestSurplus(prosumers[1], PERIOD, 900, {"from": meter})
    assert credit.balanceOf(attested, PERIOD + 1) == 700
    assert credit.balanceOf(prosumers[1], PERIOD) == 900
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


def test_zero_energy_attestation_rejected(credit, meter, prosumers):
    with brownie.reverts(custom_error("ZeroAmount()")):
        credit.attestSurplus(prosumers[0], PERIOD, 0, {"from": meter})
    assert credit.attested(prosumers[0], PERIOD) == 0


@pytest.mark.parametrize("receiver_name", ["ev", "outsider", "deactivated_prosumer"])
def test_attest_for_non_prosumer_rejected(credit, registry, operator, meter, evs, prosumers, outsider, receiver_name):
    receiver = {"ev": evs[0], "outsider": outsider, "deactivated_prosumer": prosumers[2]}[receiver_name]
    if receiver_name == "deactivated_prosumer":
        registry.setActive(receiver, False, {"from": operator})
    with brownie.reverts(custom_error("NotAnActiveProsumer(address)", receiver)):
        credit.attestSurplus(receiver, PERIOD, SURPLUS_WH, {"from": meter})
    assert credit.balanceOf(receiver, PERIOD) == 0
    assert credit.attested(receiver, PERIOD) == 0


# --- transfers ---------------------------------------------------------------------------------------


def test_transfer_to_outsider_rejected(credit, attested, outsider):
    with brownie.reverts(custom_error(NOT_ALLOWED, outsider)):
        credit.safeTransferFrom(attested, outsider, PERIOD, 1_000, b"", {"from": attested})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH
    assert credit.balanceOf(outsider, PERIOD) == 0


def test_batch_transfer_to_outsider_rejected(credit, meter, attested, outsider):
    credit.attestSurplus(attested, PERIOD + 1, 400, {"from": meter})
    with brownie.reverts(custom_error(NOT_ALLOWED, outsider)):
        credit.safeBatchTransferFrom(
            attested, outsider, [PERIOD, PERIOD + 1], [100, 100], b"", {"from": attested}
        )
    assert list(credit.balanceOfBatch([attested, attested], [PERIOD, PERIOD + 1])) == [SURPLUS_WH, 400]


def test_transfer_to_deactivated_participant_rejected(credit, registry, operator, attested, prosumers):
    registry.setActive(prosumers[1], False, {"from": operator})
    with brownie.reverts(custom_error(NOT_ALLOWED, prosumers[1])):
        credit.safeTransferFrom(attested, prosumers[1], PERIOD, 1_000, b"", {"from": attested})
    assert credit.balanceOf(prosumers[1], PERIOD) == 0


def test_operator_approved_transfer_to_outsider_rejected(credit, attested, operator, outsider):
    credit.setApprovalForAll(operator, True, {"from": attested})
    with brownie.reverts(custom_error(NOT_ALLOWED, outsider)):
        credit.safeTransferFrom(attested, outsider, PERIOD, 1_000, b"", {"from": operator})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


def test_transfer_to_the_operator_allowed_and_burned_on_delivery(credit, attested, operator, meter):
    """The operator, the grid counterparty, may hold credits (the supply it buys in a grid fallback)."""
    credit.safeTransferFrom(attested, operator, PERIOD, 1_000, b"", {"from": attested})
    assert credit.balanceOf(operator, PERIOD) == 1_000
    credit.burnDelivered(operator, PERIOD, 1_000, {"from": meter})
    assert credit.balanceOf(operator, PERIOD) == 0


@pytest.mark.parametrize("receiver_name", ["prosumer", "ev"])
def test_transfer_to_participant_allowed(credit, attested, prosumers, evs, receiver_name):
    receiver = {"prosumer": prosumers[1], "ev": evs[0]}[receiver_name]
    tx = credit.safeTransferFrom(attested, receiver, PERIOD, 1_000, b"", {"from": attested})
    assert credit.balanceOf(receiver, PERIOD) == 1_000
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH - 1_000
    assert tx.events["TransferSingle"]["to"] == receiver.address


def test_deactivated_holder_can_still_send(credit, registry, operator, attested, prosumers):
    registry.setActive(attested, False, {"from": operator})
    credit.safeTransferFrom(attested, prosumers[1], PERIOD, SURPLUS_WH, b"", {"from": attested})
    assert credit.balanceOf(prosumers[1], PERIOD) == SURPLUS_WH


def test_escrow_into_market_and_back(credit, attested, market, outsider):
    """A sell order escrows credits in the market, which may return them to a participant."""
    credit.safeTransferFrom(attested, market, PERIOD, SURPLUS_WH, b"", {"from": attested})
    assert credit.balanceOf(market, PERIOD) == SURPLUS_WH

    credit.safeTransferFrom(market, attested, PERIOD, 500, b"", {"from": market})
    assert credit.balanceOf(attested, PERIOD) == 500
    with brownie.reverts(custom_error(NOT_ALLOWED, outsider)):
        credit.safeTransferFrom(market, outsider, PERIOD, 500, b"", {"from": market})
    assert credit.balanceOf(market, PERIOD) == SURPLUS_WH - 500


# --- deliver / burn ----------------------------------------------------------------------------------


def test_meter_burns_delivered(credit, meter, attested):
    tx = credit.burnDelivered(attested, PERIOD, 1_500, {"from": meter})

    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH - 1_500
    event = tx.events["CreditsDelivered"]
    assert (event["holder"], event["period"], event["wh"], event["by"]) == (
        attested.address,
        PERIOD,
        1_500,
        meter.address,
    )
    burn = tx.events["TransferSingle"]
    assert (burn["from"], burn["to"], burn["value"]) == (attested.address, ZERO_ADDRESS, 1_500)
    assert credit.attested(attested, PERIOD) == SURPLUS_WH, "delivery does not rewrite the attestation"


def test_market_burns_escrowed_delivered(credit, market, attested):
    credit.safeTransferFrom(attested, market, PERIOD, SURPLUS_WH, b"", {"from": attested})
    tx = credit.burnDelivered(market, PERIOD, SURPLUS_WH, {"from": market})
    assert credit.balanceOf(market, PERIOD) == 0
    assert tx.events["CreditsDelivered"]["by"] == market.address


@pytest.mark.parametrize("caller_name", ["admin", "operator", "scorer", "outsider"])
def test_burn_requires_meter_or_market(credit, request, caller_name, attested):
    caller = request.getfixturevalue(caller_name)
    with brownie.reverts(custom_error("NotMeterOrMarket(address)", caller)):
        credit.burnDelivered(attested, PERIOD, 1, {"from": caller})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


def test_holder_cannot_burn_own_credits(credit, attested):
    with brownie.reverts(custom_error("NotMeterOrMarket(address)", attested)):
        credit.burnDelivered(attested, PERIOD, 1, {"from": attested})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


def test_zero_energy_burn_rejected(credit, meter, attested):
    with brownie.reverts(custom_error("ZeroAmount()")):
        credit.burnDelivered(attested, PERIOD, 0, {"from": meter})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


def test_burn_more_than_held_rejected(credit, meter, attested):
    with brownie.reverts(
        custom_error(
            "ERC1155InsufficientBalance(address,uint256,uint256,uint256)", attested, SURPLUS_WH, SURPLUS_WH + 1, PERIOD
        )
    ):
        credit.burnDelivered(attested, PERIOD, SURPLUS_WH + 1, {"from": meter})
    assert credit.balanceOf(attested, PERIOD) == SURPLUS_WH


# --- escrow (issue 12, attack 3) ----------------------------------------------------------------------


def test_credits_a_market_holds_are_burned_only_by_that_market(credit, meter, market, role_holder, attested):
    """A METER, or another MARKET holder, could burn the credits a market contract holds for its traders."""
    credit.safeTransferFrom(attested, market, PERIOD, 1_000, b"", {"from": attested})
    other_market = role_holder("MARKET")
    for caller in (meter, other_market):
        with brownie.reverts(custom_error("EscrowNotBurnable(address,address)", market, caller)):
            credit.burnDelivered(market, PERIOD, 1_000, {"from": caller})
    assert credit.balanceOf(market, PERIOD) == 1_000
    tx = credit.burnDelivered(market, PERIOD, 400, {"from": market})
    assert tx.events["CreditsDelivered"]["wh"] == 400
    assert credit.balanceOf(market, PERIOD) == 600


def test_a_market_burns_no_one_elses_credits(credit, market, attested):
    with brownie.reverts(custom_error("NotMeterOrMarket(address)", market)):
        credit.burnDelivered(attested, PERIOD, 1, {"from": market})
