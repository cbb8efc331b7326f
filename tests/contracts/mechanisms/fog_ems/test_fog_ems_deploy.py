"""Constructor checks of the fog EMS contracts and their wiring."""

import brownie
import pytest
from contract_helpers import INVALID_TIMING, custom_error
from fog_ems_support import (
    BIDDING_SECONDS,
    PERIOD_SECONDS,
    STEPS_PER_PERIOD,
    latest_time,
    matching_config,
    tariffs_tuple,
)

from offchain.chain.abi import ZERO_ADDRESS
from offchain.chain.roles import role_id



def test_wiring(matching, exchange, fog_models, registry, upos):
    assert matching.exchange() == exchange
    assert matching.registry() == registry
    timing = (matching.genesisTime(), matching.periodSeconds(), matching.biddingSeconds())
    assert timing == (0, PERIOD_SECONDS, BIDDING_SECONDS)
    assert (matching.greedyDelaySeconds(), matching.minBidPeriods(), matching.requireStore()) == (0, 1, False)
    assert (exchange.upos(), exchange.registry(), exchange.stepsPerPeriod()) == (upos, registry, STEPS_PER_PERIOD)
    assert fog_models.registry() == registry
    assert registry.hasRole(role_id("MARKET"), matching)


@pytest.mark.parametrize(
    "config",
    [
        (0, 0, 0, 0, 1, False),  # zero period
        (0, 60, 0, 0, 1, False),  # zero bidding window
        (0, 60, 61, 0, 1, False),  # bidding longer than the period
        (2**64, 60, 30, 0, 1, False),  # genesis beyond 2^64 - 1
        (0, 60, 30, 2**64, 1, False),  # greedy delay beyond 2^64 - 1
    ],
)
def test_matching_rejects_bad_timing(PeriodMatching, registry, exchange, admin, config):
    with brownie.reverts(custom_error(INVALID_TIMING, *config[:4])):
        PeriodMatching.deploy(registry, exchange, config, {"from": admin})


def test_matching_rejects_zero_addresses(PeriodMatching, registry, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        PeriodMatching.deploy(registry, ZERO_ADDRESS, matching_config(), {"from": admin})
    with brownie.reverts(custom_error("ZeroAddress()")):
        PeriodMatching.deploy(ZERO_ADDRESS, registry, matching_config(), {"from": admin})


def test_no_period_before_genesis(PeriodMatching, registry, exchange, admin):
    genesis = latest_time() + 3_600
    late = PeriodMatching.deploy(registry, exchange, matching_config(genesis_time=genesis), {"from": admin})
    with brownie.reverts(custom_error("BeforeGenesis(uint256)", genesis)):
        late.currentPeriod()
    assert late.biddingOpensAt(0) == genesis


def test_exchange_rejects_bad_parameters(EVExchange, registry, upos, admin):
    with brownie.reverts(custom_error("ZeroAddress()")):
        EVExchange.deploy(registry, ZERO_ADDRESS, STEPS_PER_PERIOD, tariffs_tuple(), {"from": admin})
    with brownie.reverts(custom_error("ZeroStepsPerPeriod()")):
        EVExchange.deploy(registry, upos, 0, tariffs_tuple(), {"from": admin})
    bad = list(tariffs_tuple())
    bad[1] = bad[0] + 1  # grid sell above grid buy (and above the prosumer price)
    with brownie.reverts(custom_error("InvalidTariffs(uint256,uint256,uint256,uint256,uint256)", *bad)):
        EVExchange.deploy(registry, upos, STEPS_PER_PERIOD, tuple(bad), {"from": admin})
