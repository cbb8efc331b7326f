"""The step types a deployment suite is written in (offchain/chain/suites.py) and `deploy_suite` runs.

A suite is a tuple of steps in dependency order: deploy a contract, grant a registry role, or make one
wiring call. Arguments that are only known during the run — the address of a contract deployed earlier,
the account acting as a role, the deployer — are written as ContractRef, RoleHolder and DEPLOYER.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ContractRef:
    """Constructor/call argument or role holder: the address of suite contract `name` (deployed earlier)."""

    name: str


@dataclass(frozen=True)
class RoleHolder:
    """Constructor/call argument or role holder: the account acting as `role` (deploy_suite's `roles`)."""

    role: str


@dataclass(frozen=True)
class Deployer:
    """Constructor/call argument: the deploying account."""


DEPLOYER = Deployer()


@dataclass(frozen=True)
class Deploy:
    """Deploy a contract named `contract` in the suite (its manifest key, what ContractRef names) with constructor
    `args` (ContractRef/RoleHolder/DEPLOYER resolved), from the compiled contract `artifact` (default: the one
    named `contract`). A second instance of a contract, e.g. an hourly order book beside the 15-minute one, is a
    Deploy with its own `contract` name and the shared `artifact`."""

    contract: str
    args: tuple[Any, ...] = ()
    artifact: str = ""

    @property
    def artifact_name(self) -> str:
        """The compiled contract it is deployed from."""
        return self.artifact or self.contract

    @property
    def label(self) -> str:
        return self.contract

    @property
    def touches(self) -> str:
        return self.contract


@dataclass(frozen=True)
class Grant:
    """Grant registry role `role` to `holder` (skipped if it already holds it)."""

    role: str
    holder: RoleHolder | ContractRef
    registry: str = "ParticipantRegistry"

    @property
    def label(self) -> str:
        if isinstance(self.holder, ContractRef):
            return f"grant {self.role} to {self.holder.name}"
        return f"grant {self.role}"

    @property
    def touches(self) -> str | None:
        return self.holder.name if isinstance(self.holder, ContractRef) else None


@dataclass(frozen=True)
class Call:
    """The deployer calls `contract.function(*args)` once, when the suite is deployed fresh (a reused
    deployment made the call when it was deployed). For wiring that needs both contracts to exist."""

    contract: str
    function: str
    args: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.contract}.{self.function}"

    @property
    def touches(self) -> str:
        return self.contract


Step = Deploy | Grant | Call


def replace_group(suite: Iterable[Step], group: Iterable[Step]) -> tuple[Step, ...]:
    """`suite` without the steps of the contracts `group` deploys (their deploys, the grants to them, the
    calls on them), followed by `group`: a contract group deployed with other terms than the default."""
    group = tuple(group)
    contracts = {step.contract for step in group if isinstance(step, Deploy)}
    return tuple(step for step in suite if step.touches not in contracts) + group
