"""Fixtures of the fog EMS contract tests (seed 000), on the shared foundation (tests/contracts/conftest.py):
an EVExchange with the paper's tariffs, a PeriodMatching holding MARKET (greedy open right after
bidding), a FogModelRegistry; the shared EVs' batteries opened and everyone's UPOS deposited; and a
larger crowd of agents for the matching comparisons."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fog_ems_support import (
    BASE_SPEC,
    SEED000_SPEC,
    STEPS_PER_PERIOD,
    end_period,
    fresh_bidding_period,
    fund,
    matching_config,
    register_ev,
    tariffs_tuple,
)

from offchain.chain.abi import ParticipantKind
from offchain.chain.roles import role_id

#: Opening energy of the shared fixture's EVs: evs[0] full, evs[1] 10 kWh above its lower bound.
BASE_ENERGY_WH = (BASE_SPEC.upper_wh, BASE_SPEC.lower_wh + 10_000)
CROWD_PROSUMERS = 8
CROWD_EVS = 5


@pytest.fixture(scope="module")
def exchange(EVExchange, registry, upos, admin):
    return EVExchange.deploy(registry, upos, STEPS_PER_PERIOD, tariffs_tuple(), {"from": admin})


@pytest.fixture(scope="module")
def deploy_matching(PeriodMatching, registry, exchange, admin):
    """Deploys a PeriodMatching on the shared exchange with `matching_config(**overrides)`, holding MARKET."""

    def deploy(**overrides):
        deployed = PeriodMatching.deploy(registry, exchange, matching_config(**overrides), {"from": admin})
        registry.grantRole(role_id("MARKET"), deployed, {"from": admin})
        return deployed

    return deploy


@pytest.fixture(scope="module")
def matching(deploy_matching):
    return deploy_matching()


@pytest.fixture(scope="module")
def fog_models(FogModelRegistry, registry, admin):
    return FogModelRegistry.deploy(registry, {"from": admin})


@pytest.fixture(scope="module")
def market(role_holder):
    """Stands in for a matching contract: an account holding MARKET, to open matches directly."""
    return role_holder("MARKET")


@pytest.fixture(scope="module")
def batteries(exchange, meter, evs):
    """The shared EVs' batteries opened at BASE_ENERGY_WH."""
    for ev, energy in zip(evs, BASE_ENERGY_WH):
        exchange.openBattery(ev, energy, {"from": meter})
    return dict(zip(evs, BASE_ENERGY_WH))


@pytest.fixture(scope="module")
def deposits(exchange, upos, admin, operator, prosumers, evs):
    """DEPOSIT UPOS in the exchange for every shared prosumer and EV and the operator."""
    for account in [*prosumers, *evs, operator]:
        fund(upos, exchange, admin, account)


@pytest.fixture(scope="module")
def crowd(registry, exchange, matching, operator, meter, funded_account):
    """CROWD_PROSUMERS prosumers and CROWD_EVS EVs (the paper's battery window) with batteries opened at
    seeded random energies; every EV bid once in a warm-up period, so from the next period on every EV
    is verified and may sell. `headroom[j]` = (available, free capacity) of EV j, Wh."""
    rng = np.random.default_rng(20231201)
    prosumers = [funded_account() for _ in range(CROWD_PROSUMERS)]
    evs = [funded_account() for _ in range(CROWD_EVS)]
    for account in prosumers:
        registry.register(account, ParticipantKind.PROSUMER, 0, 0, 0, 0, 0, {"from": operator})
    for account in evs:
        register_ev(registry, operator, account, SEED000_SPEC)
        energy = int(rng.integers(SEED000_SPEC.lower_wh, SEED000_SPEC.upper_wh + 1))
        exchange.openBattery(account, energy, {"from": meter})
    warm_up = fresh_bidding_period(matching)
    for account in evs:
        matching.bidEV(warm_up, 0, 0, {"from": account})
    end_period(matching, warm_up)
    headroom = [tuple(exchange.headroom(account)) for account in evs]
    return SimpleNamespace(prosumers=prosumers, evs=evs, headroom=headroom)
