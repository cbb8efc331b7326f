"""Shared brownie fixtures: the foundation suite deployed once per module, roles granted, a small
community registered (three prosumers, two EVs). Each test runs in isolation (brownie's fn_isolation)."""

import pytest

from contract_helpers import EV_CAPACITY_WH, EV_SOC_MAX_WH, EV_SOC_MIN_WH, wait_for_receipts_before_confirming
from offchain.chain.abi import ParticipantKind
from offchain.chain.roles import role_id


wait_for_receipts_before_confirming()


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def operator(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def meter(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def scorer(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def prosumers(accounts):
    return accounts[4:7]


@pytest.fixture(scope="module")
def evs(accounts):
    return accounts[7:9]


@pytest.fixture(scope="module")
def outsider(accounts):
    """An account with no role and no registration."""
    return accounts[9]


@pytest.fixture(scope="module")
def registry(ParticipantRegistry, admin, operator, meter, scorer, prosumers, evs):
    reg = ParticipantRegistry.deploy(admin, {"from": admin})
    reg.grantRole(role_id("OPERATOR"), operator, {"from": admin})
    reg.grantRole(role_id("METER"), meter, {"from": admin})
    reg.grantRole(role_id("SCORER"), scorer, {"from": admin})
    for i, p in enumerate(prosumers):
        reg.register(p, ParticipantKind.PROSUMER, 1_000 * (i + 1), -500 * i, 0, 0, 0, {"from": operator})
    for i, e in enumerate(evs):
        reg.register(e, ParticipantKind.EV, -2_000 * (i + 1), 750, EV_CAPACITY_WH, EV_SOC_MIN_WH, EV_SOC_MAX_WH,
                     {"from": operator})
    return reg


@pytest.fixture(scope="module")
def upos(UPOS, registry, admin):
    return UPOS.deploy(registry, {"from": admin})


@pytest.fixture(scope="module")
def epos(EPOS, registry, admin):
    return EPOS.deploy(registry, {"from": admin})


@pytest.fixture(scope="module")
def credit(EnergyCredit, registry, admin):
    return EnergyCredit.deploy(registry, "kwx://energy-credit/{id}", {"from": admin})


@pytest.fixture(scope="module")
def funded_account(accounts, admin):
    """Factory for actors beyond Anvil's ten accounts: each call returns a new local account with no
    role and no registration, funded with 1 ether for gas (e.g. a fresh EV, a forfeit recipient)."""

    def create():
        account = accounts.add()
        admin.transfer(account, "1 ether")
        return account

    return create


@pytest.fixture(scope="module")
def role_holder(funded_account, registry, admin):
    """Factory for a stand-in contract: each call `role_holder("MARKET")` returns a new funded account
    holding that registry role (a market or staking contract a test drives directly)."""

    def create(name: str):
        holder = funded_account()
        registry.grantRole(role_id(name), holder, {"from": admin})
        return holder

    return create
