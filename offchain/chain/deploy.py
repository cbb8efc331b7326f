"""Deploying the contract suite: running its steps, a manifest per network and the rule for reusing an
earlier deployment.

A suite is a tuple of steps (offchain/chain/steps.py); callers pass it. The whole suite is
``offchain.mechanisms.SUITE`` (the core of offchain/chain/suites.py plus every mechanism's contract group).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any

from web3.types import TxReceipt

from offchain.chain.accounts import account_from_mnemonic
from offchain.chain.anvil import EmbeddedAnvil
from offchain.chain.artifacts import project_root
from offchain.chain.client import ChainClient
from offchain.chain.errors import ChainIdMismatchError, KwxChainError, ManifestMissingError
from offchain.chain.networks import NetworkConfig
from offchain.chain.roles import role_id
from offchain.chain.rpc import connect
from offchain.chain.steps import DEPLOYER, Call, ContractRef, Deploy, Grant, RoleHolder, Step



def suite_roles(suite: tuple[Step, ...]) -> tuple[str, ...]:
    """The roles whose holders the suite's steps refer to (these need an address in `roles`)."""
    held = [s.holder.role for s in suite if isinstance(s, Grant) and isinstance(s.holder, RoleHolder)]
    held += [a.role for s in suite if isinstance(s, (Deploy, Call)) for a in s.args if isinstance(a, RoleHolder)]
    return tuple(dict.fromkeys(held))


@dataclass
class Manifest:
    """deployments/<network>.json: where the suite lives on one chain and who holds which role.

    `roles`: {role: account} of the accounts acting as each role. `contract_roles`: {contract: [roles]} of
    the suite contracts granted registry roles (several contracts may hold one role, e.g. MARKET).
    `bytecode_sha256` records the creation code each contract was deployed from, so a recompiled contract
    is not mistaken for the deployed one.
    """

    network: str
    chain_id: int
    deploy_block: int
    git_commit: str
    deployer: str
    contracts: dict[str, str]
    roles: dict[str, str]
    contract_roles: dict[str, list[str]] = field(default_factory=dict)
    bytecode_sha256: dict[str, str] = field(default_factory=dict)
    deployed_at: str = ""

    def address(self, name: str) -> str:
        """The address of suite contract `name`."""
        if name not in self.contracts:
            raise KwxChainError(f"contract {name} is not in the {self.network} manifest: redeploy the suite")
        return self.contracts[name]

    def write(self, path: Path) -> None:
        """Writes the manifest atomically (a reader never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(partial, path)


def manifest_path(network: str | NetworkConfig, manifest_dir: str | Path = "deployments") -> Path:
    """<manifest_dir>/<network name>.json"""
    name = network.name if isinstance(network, NetworkConfig) else network
    return Path(manifest_dir) / f"{name}.json"


def load_manifest(network: str | NetworkConfig, manifest_dir: str | Path = "deployments") -> Manifest:
    """The manifest of `network`; ManifestMissingError if there is none."""
    path = manifest_path(network, manifest_dir)
    name = path.stem
    if not path.is_file():
        raise ManifestMissingError(f"no deployment manifest {path}: run `kwx deploy --network {name}`")
    try:
        return Manifest(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        raise KwxChainError(f"{path} is not a deployment manifest: delete it and run `kwx deploy --network {name}`") from None


def bytecode_hash(client: ChainClient, contract: str) -> str:
    """sha256 (hex) of the creation bytecode in `contract`'s current artifact."""
    return sha256(bytes.fromhex(client.artifact(contract).bytecode.removeprefix("0x"))).hexdigest()


def git_commit(root: Path | None = None) -> str:
    """HEAD of the project's git checkout, with "-dirty" if tracked files changed; "unknown" without git."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root or project_root(), capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def find_reusable_manifest(
    client: ChainClient, network: NetworkConfig, manifest_dir: str | Path, suite: tuple[Step, ...]
) -> Manifest | None:
    """The existing manifest of `network` if it can be reused on the chain `client` talks to: same chain id,
    and every suite contract recorded, with code at its address, deployed from the current artifact."""
    if not manifest_path(network, manifest_dir).is_file():
        return None
    manifest = load_manifest(network, manifest_dir)
    if manifest.chain_id != client.chain_id:
        return None
    for step in suite:
        if not isinstance(step, Deploy):
            continue
        address = manifest.contracts.get(step.contract)
        if not address or not client.w3.eth.get_code(address):
            return None
        if manifest.bytecode_sha256.get(step.contract) != bytecode_hash(client, step.contract):
            return None
    return manifest


@dataclass
class _Run:
    """One pass over the suite: the addresses known so far and what each step cost."""

    client: ChainClient
    roles: dict[str, str]
    contracts: dict[str, str]
    granted: dict[str, str] = field(default_factory=dict)
    contract_roles: dict[str, list[str]] = field(default_factory=dict)
    receipts: list[tuple[str, TxReceipt]] = field(default_factory=list)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, ContractRef):
            if value.name not in self.contracts:
                raise KwxChainError(f"suite order: {value.name} is used before it is deployed")
            return self.contracts[value.name]
        if isinstance(value, RoleHolder):
            return self.roles[value.role]
        if value is DEPLOYER:
            return self.client.address
        return value

    def apply(self, step: Step) -> None:
        if isinstance(step, Deploy):
            args = [self.resolve(a) for a in step.args]
            receipt = self.client.transact(self.client.constructor(step.contract, *args))
            self.contracts[step.contract] = receipt["contractAddress"]
            self.receipts.append((step.label, receipt))
            return
        if isinstance(step, Call):
            target = self.client.contract(step.contract, self.resolve(ContractRef(step.contract)))
            call = target.get_function_by_name(step.function)(*[self.resolve(a) for a in step.args])
            self.receipts.append((step.label, self.client.transact(call)))
            return
        registry = self.client.contract(step.registry, self.resolve(ContractRef(step.registry)))
        holder = self.resolve(step.holder)
        if isinstance(step.holder, ContractRef):
            self.contract_roles.setdefault(step.holder.name, []).append(step.role)
        else:
            self.granted[step.role] = holder
        if not self.client.call(registry.functions.hasRole(role_id(step.role), holder)):
            receipt = self.client.transact(registry.functions.grantRole(role_id(step.role), holder))
            self.receipts.append((step.label, receipt))


def _role_holders(network: NetworkConfig, roles: dict[str, str] | None, suite: tuple[Step, ...]) -> dict[str, str]:
    """`roles`, completed from the network's role accounts for every role the suite needs."""
    holders = dict(roles or {})
    for role in suite_roles(suite):
        if role not in holders:
            holders[role] = network.account(role).address
    return holders


def deploy_suite(
    client: ChainClient,
    network: NetworkConfig,
    *,
    manifest_dir: str | Path = "deployments",
    roles: dict[str, str] | None = None,
    suite: tuple[Step, ...],
) -> Manifest:
    """Deploys the suite (or reuses the deployment recorded for `network`) and returns its manifest.

    Reuse rule: if <manifest_dir>/<network>.json exists for the chain id `client` talks to, has code at every
    contract address and was deployed from the current artifacts, no contract is deployed again and no
    wiring call is repeated; only role grants the chain lacks are sent (normally none, so nothing is sent). Otherwise the whole suite is
    deployed fresh and the manifest rewritten. `roles` ({ROLE: address}) overrides the network's role
    accounts.
    """
    if client.chain_id != network.chain_id:
        raise ChainIdMismatchError(f"network {network.name} is chain {network.chain_id}, the client is on {client.chain_id}")
    holders = _role_holders(network, roles, suite)
    path = manifest_path(network, manifest_dir)
    reusable = find_reusable_manifest(client, network, manifest_dir, suite)
    if reusable is not None:
        run = _Run(client, holders, dict(reusable.contracts))
        for step in suite:
            if isinstance(step, Grant):
                run.apply(step)
        if (run.granted, run.contract_roles) != (reusable.roles, reusable.contract_roles):
            reusable.roles, reusable.contract_roles = run.granted, run.contract_roles
            reusable.write(path)
        return reusable
    run = _Run(client, holders, {})
    for step in suite:
        run.apply(step)
    manifest = Manifest(
        network=network.name,
        chain_id=client.chain_id,
        deploy_block=run.receipts[0][1]["blockNumber"],
        git_commit=git_commit(),
        deployer=client.address,
        contracts=run.contracts,
        roles=run.granted,
        contract_roles=run.contract_roles,
        bytecode_sha256={s.contract: bytecode_hash(client, s.contract) for s in suite if isinstance(s, Deploy)},
        deployed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    manifest.write(path)
    return manifest


@dataclass(frozen=True)
class DeploymentPlan:
    """What deploying the suite costs at the fees of the chain `plan_deployment` was asked about.

    steps: (label, gas used) of every transaction, measured by running the suite on a throwaway Anvil.
    price_per_gas: base fee + tip now (wei): what a unit of gas costs if fees stay where they are.
    max_fee_per_gas: the cap each transaction will carry (2 * base fee + tip).
    gas_margin: the client's gas limit multiplier.
    """

    steps: list[tuple[str, int]]
    price_per_gas: int
    max_fee_per_gas: int
    gas_margin: float

    @property
    def total_gas(self) -> int:
        return sum(gas for _, gas in self.steps)

    @property
    def total_cost_wei(self) -> int:
        """Expected cost at current fees."""
        return self.total_gas * self.price_per_gas

    @property
    def max_cost_wei(self) -> int:
        """Most the deployment can cost: every gas limit paid at the fee cap."""
        return sum(math.ceil(gas * self.gas_margin) for _, gas in self.steps) * self.max_fee_per_gas


def plan_deployment(
    client: ChainClient, *, suite: tuple[Step, ...], roles: dict[str, str] | None = None
) -> DeploymentPlan:
    """The transactions deploy_suite would send from `client`'s account and their cost at current fees.

    Gas is measured, not guessed: the suite runs on an EmbeddedAnvil with the same chain id and EVM rules
    (Avalanche C-Chain charges Ethereum's gas schedule), which also proves the deployment goes through
    before anything is spent. Nothing is sent to `client`'s chain. `roles` as in deploy_suite; a role held
    by the client's own account is held by the simulated deployer, so skipped grants stay skipped.
    """
    fees = client.fees()
    if "gasPrice" in fees:
        price = cap = fees["gasPrice"]
    else:
        price = client.w3.eth.get_block("latest")["baseFeePerGas"] + fees["maxPriorityFeePerGas"]
        cap = fees["maxFeePerGas"]
    with EmbeddedAnvil(chain_id=client.chain_id) as anvil:
        simulated = ChainClient(connect(anvil.rpc_url), account_from_mnemonic(), build_dir=client.build_dir)
        # Holders only receive grants (gas does not depend on who they are); ADMIN is the deployer as usual.
        holders = {role: account_from_mnemonic(index=i).address for i, role in enumerate(suite_roles(suite), 1)}
        holders["ADMIN"] = simulated.address
        holders |= {role: simulated.address if a == client.address else a for role, a in (roles or {}).items()}
        run = _Run(simulated, holders, {})
        for step in suite:
            run.apply(step)
    steps = [(label, receipt["gasUsed"]) for label, receipt in run.receipts]
    return DeploymentPlan(steps=steps, price_per_gas=price, max_fee_per_gas=cap, gas_margin=client.gas_margin)
