"""The core of the contract suite `kwx deploy` deploys, as ordered steps (offchain/chain/steps.py), and how
a whole suite is put together from it and the mechanisms' groups.

In dependency order:

1. the foundation (docs/roles.md): ParticipantRegistry, UPOS, EPOS, EnergyCredit;
2. the order book (docs/order-book.md) with MARKET_PARAMS, granted MARKET;
3. each mechanism's contract group (offchain/mechanisms: its ``deploy_steps``), in the order given;
4. the role grants to the accounts acting as OPERATOR, METER, SCORER, and ADMIN last (skipped when ADMIN is
   the deployer, who holds it from the registry's constructor).

This module names no mechanism: ``offchain.mechanisms.SUITE`` is the whole suite with every mechanism's
default terms. A scenario that needs a group under other terms swaps it with ``replace_group``.
"""

from __future__ import annotations

from collections.abc import Iterable

from offchain.chain.steps import DEPLOYER, ContractRef, Deploy, Grant, RoleHolder, Step
from offchain.units import price_to_base_per_kwh

REGISTRY = ContractRef("ParticipantRegistry")

#: EnergyOrderBook.BookParams, in the struct's field order. Prices in UPOS base units per kWh on a grid of
#: 0.0001 UPOS/kWh; the grid tariffs are seed 000's 29.49 (import) and 6.4 (export) read as UPOS cents per
#: kWh; 15-minute delivery periods counted from 2026-01-01T00:00Z, gate closure 5 minutes before each
#: period starts, books open one day ahead; orders of at least 100 Wh and iceberg peaks of at least 100 Wh
#: (docs/security.md: the smallest tranche bounds what a taker pays per Wh).
MARKET_PARAMS: dict[str, int] = {
    "tickSize": price_to_base_per_kwh("0.0001"),
    "minPrice": price_to_base_per_kwh("0.0001"),
    "maxPrice": price_to_base_per_kwh("1"),
    "genesisTime": 1_767_225_600,
    "periodSeconds": 900,
    "gateLeadSeconds": 300,
    "maxPeriodsAhead": 96,
    "importPrice": price_to_base_per_kwh("0.2949"),
    "exportPrice": price_to_base_per_kwh("0.064"),
    "minOrderWh": 100,
    "minDisplayWh": 100,
}

#: The registry is deployed with the deployer as its admin so that the deployer can make the grants.
FOUNDATION_STEPS: tuple[Step, ...] = (
    Deploy("ParticipantRegistry", (DEPLOYER,)),
    Deploy("UPOS", (REGISTRY,)),
    Deploy("EPOS", (REGISTRY,)),
    Deploy("EnergyCredit", (REGISTRY, "kwx://energy-credit/{id}")),
)

MARKET_STEPS: tuple[Step, ...] = (
    Deploy("EnergyOrderBook", (REGISTRY, ContractRef("UPOS"), ContractRef("EnergyCredit"), tuple(MARKET_PARAMS.values()))),
    Grant("MARKET", ContractRef("EnergyOrderBook")),
)

ROLE_GRANTS: tuple[Step, ...] = (
    Grant("OPERATOR", RoleHolder("OPERATOR")),
    Grant("METER", RoleHolder("METER")),
    Grant("SCORER", RoleHolder("SCORER")),
    Grant("ADMIN", RoleHolder("ADMIN")),
)


def assemble_suite(groups: Iterable[Iterable[Step]]) -> tuple[Step, ...]:
    """The foundation, the order book, every group in `groups` (in that order) and the role grants.

    A step that two groups share (a contract group several mechanisms build on) is deployed once, where it
    first appears; a contract deployed by two groups with different arguments raises ValueError.
    """
    steps: dict[Step, None] = dict.fromkeys(FOUNDATION_STEPS + MARKET_STEPS)
    deployed = {step.contract: step for step in steps if isinstance(step, Deploy)}
    for group in groups:
        for step in group:
            if isinstance(step, Deploy) and deployed.setdefault(step.contract, step) != step:
                raise ValueError(f"two mechanisms deploy {step.contract} with different arguments")
            steps.setdefault(step)
    return tuple(steps) + ROLE_GRANTS
