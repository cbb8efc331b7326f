"""Shared brownie fixtures: the foundation suite deployed once per module, roles granted, a small
community registered (three prosumers, two EVs). Each test runs in isolation (brownie's fn_isolation)."""

import eth_abi
import pytest
from brownie import web3
from brownie.exceptions import decode_typed_error

PROSUMER, EV = 1, 2
EV_CAPACITY_WH = 79_500
EV_SOC_MIN_WH = 15_900
EV_SOC_MAX_WH = 63_600


def role(name: str) -> bytes:
    """The bytes32 id of a registry role, e.g. role("OPERATOR") (ADMIN is 0x00)."""
    return b"\x00" * 32 if name == "ADMIN" else web3.keccak(text=f"{name}_ROLE")


def custom_error(signature: str, *args) -> str:
    """The revert message brownie reports for custom error `signature` raised with `args`, for
    `brownie.reverts(...)`, e.g. custom_error("ParticipantInactive(address)", account).

    Brownie 1.22 turns revert data (4-byte selector + ABI-encoded arguments) into a string with
    `brownie.exceptions.decode_typed_error`: "Name: arg, ..." when it has seen an ABI declaring the error
    (addresses lower-case, bytes32 as a Python bytes literal), "Unknown typed error: 0x..." otherwise.
    Encoding the expected error from its signature and rendering it the same way makes the comparison
    exact on the selector and every argument, whichever form brownie picks."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    values = [getattr(a, "address", a) for a in args]  # brownie accounts and contracts -> address
    data = bytes(web3.keccak(text=signature)[:4]) + eth_abi.encode(types, values)
    return decode_typed_error("0x" + data.hex())


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
    reg.grantRole(role("OPERATOR"), operator, {"from": admin})
    reg.grantRole(role("METER"), meter, {"from": admin})
    reg.grantRole(role("SCORER"), scorer, {"from": admin})
    for i, p in enumerate(prosumers):
        reg.register(p, PROSUMER, 1_000 * (i + 1), -500 * i, 0, 0, 0, {"from": operator})
    for i, e in enumerate(evs):
        reg.register(e, EV, -2_000 * (i + 1), 750, EV_CAPACITY_WH, EV_SOC_MIN_WH, EV_SOC_MAX_WH, {"from": operator})
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
    role and no registration, funded with 1 ether for gas (e.g. a stand-in STAKING or MARKET holder)."""

    def create():
        account = accounts.add()
        admin.transfer(account, "1 ether")
        return account

    return create
