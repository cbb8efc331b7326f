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
from types import SimpleNamespace
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from offchain.chain.accounts import account_from_mnemonic
from offchain.chain.nodes import EmbeddedAnvil
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
    is not mistaken for the deployed one. `abis`: {contract: ABI} of every suite contract, beside its address,
    so a client without this project (cast, web3, an indexer) can call it and decode its events and reverts by
    name (docs/cast.md). `artifacts`: {contract: compiled contract} of the contracts deployed from an artifact
    of another name (a second instance, steps.Deploy.artifact).
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
    abis: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)

    def address(self, name: str) -> str:
        """The address of suite contract `name`."""
        if name not in self.contracts:
            raise KwxChainError(f"contract {name} is not in the {self.network} manifest: redeploy the suite")
        return self.contracts[name]

    def artifact_of(self, name: str) -> str:
        """The compiled contract suite contract `name` was deployed from."""
        return self.artifacts.get(name, name)

    def contract(self, client: ChainClient, name: str) -> Contract:
        """Suite contract `name` as `client` sees it (its address, its artifact's ABI)."""
        return client.contract(self.artifact_of(name), self.address(name))

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


def contract_abis(client: ChainClient, contracts: dict[str, str], artifacts: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """{name: ABI} of the deployed contracts, from the artifacts they were deployed from (`artifacts`: the names
    that differ; the reuse rule checks their bytecode), for the manifest."""
    return {name: client.artifact(artifacts.get(name, name)).abi for name in contracts}


def suite_artifacts(suite: tuple[Step, ...]) -> dict[str, str]:
    """{contract: compiled contract} of the suite's contracts deployed from an artifact of another name."""
    return {s.contract: s.artifact for s in suite if isinstance(s, Deploy) and s.artifact}


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
        if manifest.bytecode_sha256.get(step.contract) != bytecode_hash(client, step.artifact_name):
            return None
    return manifest


def progress_path(network: str | NetworkConfig, manifest_dir: str | Path = "deployments") -> Path:
    """<manifest_dir>/<network name>.progress.json: the confirmed steps of a deployment under way."""
    return manifest_path(network, manifest_dir).with_suffix(".progress.json")


@dataclass
class DeployProgress:
    """What a deployment under way has confirmed, written after every step (and before every send), so a
    deployment killed midway resumes instead of paying for every contract again.

    `done`: labels of confirmed steps; `contracts`: addresses deployed so far; `pending`: the step whose signed
    transaction may have been sent ({label, tx_hash, nonce, raw_tx}), resolved on resume by its receipt.
    `chain_id`, `genesis`, `deployer` and `bytecode_sha256` tie it to one chain, account and build.
    """

    chain_id: int
    genesis: str
    deployer: str
    bytecode_sha256: dict[str, str]
    done: list[str] = field(default_factory=list)
    contracts: dict[str, str] = field(default_factory=dict)
    deploy_block: int | None = None
    pending: dict[str, Any] | None = None

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with open(partial, "w") as handle:
            handle.write(json.dumps(asdict(self), indent=2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)

    @classmethod
    def read(cls, path: Path) -> DeployProgress | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


@dataclass
class _Run:
    """One pass over the suite: the addresses known so far and what each step cost. With `progress` (at
    `progress_file`) every step is recorded as it happens and steps recorded as done are skipped."""

    client: ChainClient
    roles: dict[str, str]
    contracts: dict[str, str]
    granted: dict[str, str] = field(default_factory=dict)
    contract_roles: dict[str, list[str]] = field(default_factory=dict)
    receipts: list[tuple[str, TxReceipt]] = field(default_factory=list)
    progress: DeployProgress | None = None
    progress_file: Path | None = None
    artifacts: dict[str, str] = field(default_factory=dict)  #: suite_artifacts of the suite it runs

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
        done = self.progress is not None and step.label in self.progress.done
        if isinstance(step, Deploy):
            if not done:
                args = [self.resolve(a) for a in step.args]
                receipt = self._transact(step.label, self.client.constructor(step.artifact_name, *args), step.contract)
                self.contracts[step.contract] = receipt["contractAddress"]
                self._confirmed(step.label)
            return
        if isinstance(step, Call):
            if not done:
                target = self.client.contract(self.artifacts.get(step.contract, step.contract),
                                              self.resolve(ContractRef(step.contract)))
                self._transact(step.label, target.get_function_by_name(step.function)(*[self.resolve(a) for a in step.args]))
                self._confirmed(step.label)
            return
        registry = self.client.contract(step.registry, self.resolve(ContractRef(step.registry)))
        holder = self.resolve(step.holder)
        if isinstance(step.holder, ContractRef):
            self.contract_roles.setdefault(step.holder.name, []).append(step.role)
        else:
            self.granted[step.role] = holder
        if not self.client.call(registry.functions.hasRole(role_id(step.role), holder)):
            self._transact(step.label, registry.functions.grantRole(role_id(step.role), holder))
            self._confirmed(step.label)

    def _transact(self, label: str, fn_call: Any, contract: str | None = None) -> TxReceipt:
        """build + sign + send + wait; with progress the signed transaction is recorded before it is sent."""
        if self.progress is None:
            receipt = self.client.transact(fn_call)
        else:
            tx = self.client.build(fn_call)
            signed = self.client.sign(tx)
            self.progress.pending = {"label": label, "contract": contract, "nonce": tx["nonce"],
                                     "tx_hash": HexBytes(signed.hash).to_0x_hex(),
                                     "raw_tx": HexBytes(signed.raw_transaction).to_0x_hex()}
            self._save()
            self.client.send_raw(signed)
            receipt = self.client.wait(signed.hash, timeout=600)
        self._landed(label, receipt)
        return receipt

    def _landed(self, label: str, receipt: TxReceipt) -> None:
        self.receipts.append((label, receipt))
        if self.progress is not None and self.progress.deploy_block is None:
            self.progress.deploy_block = receipt["blockNumber"]

    def _confirmed(self, label: str) -> None:
        if self.progress is not None:
            self.progress.done.append(label)
            self.progress.contracts = dict(self.contracts)
            self.progress.pending = None
            self._save()

    def _save(self) -> None:
        assert self.progress is not None and self.progress_file is not None
        self.progress.write(self.progress_file)

    def resume_pending(self) -> None:
        """Settles the step whose transaction a killed deployment may have sent: its receipt confirms it (a
        deployed contract's address is read from it); a transaction the node does not know whose nonce is
        still free is sent again (same bytes); if another transaction took the nonce, the step runs again."""
        pending = self.progress.pending if self.progress is not None else None
        if pending is None:
            return
        w3, tx_hash = self.client.w3, pending["tx_hash"]
        if not _known(w3, tx_hash):
            if w3.eth.get_transaction_count(self.client.address, "latest") > pending["nonce"]:
                self.progress.pending = None
                self._save()
                return
            raw = HexBytes(pending["raw_tx"])
            self.client.send_raw(SimpleNamespace(raw_transaction=raw, hash=Web3.keccak(raw)))
        receipt = self.client.wait(tx_hash, timeout=600)
        self._landed(pending["label"], receipt)
        if pending.get("contract"):
            self.contracts[pending["contract"]] = receipt["contractAddress"]
        self._confirmed(pending["label"])


def _known(w3: Web3, tx_hash: str) -> bool:
    try:
        w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return False
    return True


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
    deployed fresh and the manifest rewritten. Every confirmed step of a fresh deployment is recorded in
    <manifest_dir>/<network>.progress.json as it happens (and each transaction before it is sent): a
    deployment killed midway resumes from there on the next call, after checking that the chain, account
    and build are the same and that every recorded address has code. `roles` ({ROLE: address}) overrides
    the network's role accounts.
    """
    if client.chain_id != network.chain_id:
        raise ChainIdMismatchError(f"network {network.name} is chain {network.chain_id}, the client is on {client.chain_id}")
    holders = _role_holders(network, roles, suite)
    path = manifest_path(network, manifest_dir)
    reusable = find_reusable_manifest(client, network, manifest_dir, suite)
    if reusable is not None:
        run = _Run(client, holders, dict(reusable.contracts), artifacts=suite_artifacts(suite))
        for step in suite:
            if isinstance(step, Grant):
                run.apply(step)
        abis = contract_abis(client, reusable.contracts, reusable.artifacts)
        if (run.granted, run.contract_roles, abis) != (reusable.roles, reusable.contract_roles, reusable.abis):
            reusable.roles, reusable.contract_roles, reusable.abis = run.granted, run.contract_roles, abis
            reusable.write(path)
        return reusable
    run = _resumable_run(client, holders, suite, progress_path(network, manifest_dir))
    run.resume_pending()
    for step in suite:
        run.apply(step)
    assert run.progress is not None
    manifest = Manifest(
        network=network.name,
        chain_id=client.chain_id,
        deploy_block=run.progress.deploy_block if run.progress.deploy_block is not None else client.w3.eth.block_number,
        git_commit=git_commit(),
        deployer=client.address,
        contracts=run.contracts,
        roles=run.granted,
        contract_roles=run.contract_roles,
        bytecode_sha256=run.progress.bytecode_sha256,
        deployed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        abis=contract_abis(client, run.contracts, run.artifacts),
        artifacts=run.artifacts,
    )
    manifest.write(path)
    progress_path(network, manifest_dir).unlink(missing_ok=True)
    return manifest


def _resumable_run(client: ChainClient, holders: dict[str, str], suite: tuple[Step, ...], path: Path) -> _Run:
    """A run that records its progress at `path`, resuming the one recorded there if it belongs to this chain
    (genesis), account and build (bytecode hashes) and every contract it records still has code; otherwise a
    new one (the stale record is replaced)."""
    genesis = Web3.to_hex(client.w3.eth.get_block(0)["hash"])
    hashes = {s.contract: bytecode_hash(client, s.artifact_name) for s in suite if isinstance(s, Deploy)}
    fresh = DeployProgress(client.chain_id, genesis, client.address, hashes)
    recorded = DeployProgress.read(path) if path.is_file() else None
    usable = (recorded is not None
              and (recorded.chain_id, recorded.genesis, recorded.deployer, recorded.bytecode_sha256)
              == (fresh.chain_id, fresh.genesis, fresh.deployer, fresh.bytecode_sha256)
              and all(client.w3.eth.get_code(address) for address in recorded.contracts.values()))
    progress = recorded if usable else fresh
    return _Run(client, holders, dict(progress.contracts), progress=progress, progress_file=path,
                artifacts=suite_artifacts(suite))


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
    client: ChainClient, *, suite: tuple[Step, ...], roles: dict[str, str] | None = None,
    base_fee_wei: int | None = None,
) -> DeploymentPlan:
    """The transactions deploy_suite would send from `client`'s account and their cost at current fees, or at
    base fee `base_fee_wei` (plus the node's tip) if given.

    Gas is measured, not guessed: the suite runs on an EmbeddedAnvil with the same chain id and EVM rules
    (Avalanche C-Chain charges Ethereum's gas schedule), which also proves the deployment goes through
    before anything is spent. Nothing is sent to `client`'s chain. `roles` as in deploy_suite; a role held
    by the client's own account is held by the simulated deployer, so skipped grants stay skipped.
    """
    fees = client.fees(base_fee=base_fee_wei)
    if "gasPrice" in fees:
        price = cap = fees["gasPrice"]
    else:
        base = base_fee_wei if base_fee_wei is not None else client.w3.eth.get_block("latest")["baseFeePerGas"]
        price = base + fees["maxPriorityFeePerGas"]
        cap = fees["maxFeePerGas"]
    with EmbeddedAnvil(chain_id=client.chain_id) as anvil:
        simulated = ChainClient(connect(anvil.rpc_url), account_from_mnemonic(), build_dir=client.build_dir)
        # Holders only receive grants (gas does not depend on who they are); ADMIN is the deployer as usual.
        holders = {role: account_from_mnemonic(index=i).address for i, role in enumerate(suite_roles(suite), 1)}
        holders["ADMIN"] = simulated.address
        holders |= {role: simulated.address if a == client.address else a for role, a in (roles or {}).items()}
        run = _Run(simulated, holders, {}, artifacts=suite_artifacts(suite))
        for step in suite:
            run.apply(step)
    steps = [(label, receipt["gasUsed"]) for label, receipt in run.receipts]
    return DeploymentPlan(steps=steps, price_per_gas=price, max_fee_per_gas=cap, gas_margin=client.gas_margin)
