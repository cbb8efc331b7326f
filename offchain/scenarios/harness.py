"""The harness every chain run stands on: an embedded chain with a deployed suite, its role clients, the
chain clock, one gas ledger and the workers opened from their specs.

A chain run (`offchain.mechanisms.<name>.chain_run`) opens a :class:`ScenarioChain` with
:func:`open_scenario_chain` (on Anvil, or on Ganache with ``KWX_NODE=ganache`` / ``kwx reproduce --node ganache``), deploys its suite (``replace_group(SUITE, <its group under the run's terms>)``),
registers and funds its participants, then drives its periods or slots: participants send through
:meth:`ScenarioChain.send`, the SCORER's workers come from :meth:`ScenarioChain.open_worker`, the clock moves
with :meth:`ScenarioChain.advance_to`. The :class:`GasLedger` reads every transaction back from the blocks
and attributes its receipt's gasUsed to the phase and slot the run had marked, to the function it called
and to its sender. Reports are written with offchain.scenarios.markdown.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from eth_account.signers.local import LocalAccount
from eth_utils import function_abi_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from offchain.chain import (
    ANVIL_TEST_MNEMONIC,
    ChainClient,
    EmbeddedNode,
    Manifest,
    NetworkConfig,
    ParticipantKind,
    Step,
    account_from_mnemonic,
    connect,
    deploy_suite,
    get_network,
    manifest_path,
    mine_at,
    start_node,
    transact_batch,
)
from offchain.chain.nodes import block_receipts, default_node_kind
from offchain.workers import FaultInjector, Worker, WorkerLogic, WorkerSpec, open_worker

#: The registry roles a scenario acts as, each from the local network's account for it (0-3).
ROLES = ("ADMIN", "OPERATOR", "METER", "SCORER")
#: Blocks the ledger reads per batched request (two JSON-RPC batches per chunk: blocks, then receipts).
LEDGER_CHUNK = 500


# --- the gas ledger ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TxRecord:
    """One transaction as the ledger attributes it; `gas` is its receipt's gasUsed."""

    block: int
    tx_hash: str
    phase: str  #: the phase marked when its block was mined ("deploy", "setup", "period", "slot", ...)
    slot: int | None  #: the slot (or period, round) marked with the phase; None for a phase without slots
    sender: str  #: the label of the sending account (a role, "participant", ...; "other" if unlabelled)
    account: str  #: the sending address
    function: str  #: "Contract.function", "deploy Contract", "ETH transfer" or "<to>:<selector>" if unknown
    gas: int


class GasTotal(NamedTuple):
    """Transactions and their gas (receipt gasUsed) in all."""

    transactions: int
    gas: int


class _Mined(NamedTuple):
    """A transaction as read from its block and receipt, before it is named."""

    block: int
    tx_hash: str
    phase: str
    slot: int | None
    account: str
    to: str | None
    selector: bytes  #: the first four bytes of its input (empty for a plain transfer)
    created: str | None  #: the contract a deployment created
    gas: int


class GasLedger:
    """Every transaction from the first mark on, read back from the chain and attributed to (phase, slot).

    :meth:`mark` says that the transactions of the next block on belong to (phase, slot); the ledger reads
    blocks only when asked (:meth:`records`, :meth:`slots`, :meth:`total`), in batched JSON-RPC requests
    (blocks with their transactions, then the receipts of the blocks that have any), so a day
    of 14,400 transactions costs a few dozen round trips. Each transaction is read once, so the gas of a
    phase is the sum of its blocks' gasUsed. Functions and senders are named when records are asked for,
    from :meth:`name_contracts` and :meth:`label`.
    """

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._starts: list[int] = []  #: first block of each mark, non-decreasing
        self._marks: list[tuple[str, int | None]] = []
        self._mined: list[_Mined] = []
        self._next_block: int | None = None  #: the first block not read yet
        self._contracts: dict[str, str] = {}  #: checksummed address -> contract name
        self._functions: dict[tuple[str, bytes], str] = {}  #: (address, selector) -> "Contract.function"
        self._labels: dict[str, str] = {}

    def mark(self, phase: str, slot: int | None = None) -> None:
        """Transactions from the next block on belong to (`phase`, `slot`), until the next mark."""
        start = self.w3.eth.block_number + 1
        if self._next_block is None:
            self._next_block = start
        self._starts.append(start)
        self._marks.append((phase, slot))

    def name_contracts(self, contracts: Mapping[str, str], abis: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Names calls to `contracts` ({name: address}) from their `abis` ({name: ABI}) by 4-byte selector."""
        for name, address in contracts.items():
            address = Web3.to_checksum_address(address)
            self._contracts[address] = name
            for item in abis[name]:
                if item["type"] == "function":
                    self._functions[(address, bytes(function_abi_to_4byte_selector(item)))] = f"{name}.{item['name']}"

    def label(self, address: str, sender: str) -> None:
        """Transactions from `address` are reported as sent by `sender` (e.g. "OPERATOR", "participant")."""
        self._labels[Web3.to_checksum_address(address)] = sender

    def records(self) -> list[TxRecord]:
        """Every transaction since the first mark, in chain order, with its phase, slot, function and sender."""
        self._read()
        return [TxRecord(m.block, m.tx_hash, m.phase, m.slot, self._labels.get(m.account, "other"), m.account,
                         self._function(m), m.gas) for m in self._mined]

    def slots(self, phase: str) -> dict[int | None, GasTotal]:
        """{slot: totals} of `phase`, in the order the slots were marked; a marked slot without a transaction
        has zero totals."""
        self._read()
        counts: Counter[int | None] = Counter()
        gas: Counter[int | None] = Counter()
        for m in self._mined:
            if m.phase == phase:
                counts[m.slot] += 1
                gas[m.slot] += m.gas
        marked = dict.fromkeys(slot for p, slot in self._marks if p == phase)
        return {slot: GasTotal(counts[slot], gas[slot]) for slot in marked}

    def total(self, *phases: str) -> GasTotal:
        """Totals of the transactions in `phases` (every phase if none is given)."""
        self._read()
        mined = [m for m in self._mined if not phases or m.phase in phases]
        return GasTotal(len(mined), sum(m.gas for m in mined))

    def _function(self, mined: _Mined) -> str:
        if mined.to is None:
            return f"deploy {self._contracts.get(mined.created or '', '?')}"
        if not mined.selector:
            return "ETH transfer"
        return self._functions.get((mined.to, mined.selector), f"{mined.to}:{mined.selector.hex()}")

    def _read(self) -> None:
        """Reads the blocks mined since the last read."""
        if self._next_block is None:
            return
        head = self.w3.eth.block_number
        for first in range(self._next_block, head + 1, LEDGER_CHUNK):
            numbers = range(first, min(first + LEDGER_CHUNK, head + 1))
            with self.w3.batch_requests() as batch:
                for number in numbers:
                    batch.add(self.w3.eth.get_block(number, full_transactions=True))
                blocks = [b for b in batch.execute() if b["transactions"]]
            if not blocks:
                continue
            for block, receipts in zip(blocks, block_receipts(self.w3, blocks), strict=True):
                self._add_block(block, receipts)
        self._next_block = head + 1

    def _add_block(self, block: Mapping[str, Any], receipts: Sequence[TxReceipt]) -> None:
        phase, slot = self._marks[bisect_right(self._starts, block["number"]) - 1]
        for tx, receipt in zip(block["transactions"], receipts, strict=True):
            if receipt["transactionHash"] != tx["hash"]:
                raise RuntimeError(f"block {block['number']}: receipts out of order")
            self._mined.append(_Mined(block["number"], Web3.to_hex(tx["hash"]), phase, slot, tx["from"], tx["to"],
                                      bytes(tx["input"])[:4], receipt["contractAddress"], receipt["gasUsed"]))


def gas_by(records: Iterable[TxRecord], field: str) -> dict[Any, int]:
    """{value: gas} of `records` grouped by one of their fields ("function", "sender", "account", ...)."""
    totals: Counter[Any] = Counter()
    for record in records:
        totals[getattr(record, field)] += record.gas
    return dict(totals)


# --- the chain -----------------------------------------------------------------------------------------------


class ScenarioChain:
    """An embedded node (Anvil or Ganache) seen through the role clients, with a suite deployed on it (:meth:`deploy`).

    `admin`, `operator`, `meter`, `scorer`: ChainClients of the local network's role accounts; `ledger`: the
    run's GasLedger (role clients and :meth:`participants` are labelled in it); `work_dir`: where the
    manifest (deployments/<network>.json) and the workers' state files live.
    """

    def __init__(self, node: EmbeddedNode, network: NetworkConfig, work_dir: Path) -> None:
        self.node = node
        self.network = network
        self.work_dir = work_dir
        self.w3 = connect(node.rpc_url, expected_chain_id=network.chain_id)
        self.ledger = GasLedger(self.w3)
        self.admin, self.operator, self.meter, self.scorer = (self._client(network.account(r), r) for r in ROLES)
        self._manifest: Manifest | None = None
        self._contracts: dict[tuple[str, str], Contract] = {}

    @property
    def anvil(self) -> EmbeddedNode:
        """The chain's node (its name from before Ganache could be the node); the same as :attr:`node`."""
        return self.node

    # --- deployment and participants ---------------------------------------------------------------------------

    def deploy(self, suite: tuple[Step, ...]) -> Manifest:
        """Deploys `suite` from ADMIN (ledger phase "deploy"), names its contracts in the ledger and marks phase
        "setup" for what follows. The manifest goes to `manifest_file`."""
        self.ledger.mark("deploy")
        self._manifest = deploy_suite(self.admin, self.network, manifest_dir=self.work_dir / "deployments", suite=suite)
        self.ledger.name_contracts(self._manifest.contracts,
                                   {name: self.admin.artifact(self._manifest.artifact_of(name)).abi
                                    for name in self._manifest.contracts})
        self.ledger.mark("setup")
        return self._manifest

    @property
    def manifest(self) -> Manifest:
        """The deployed suite's manifest (after :meth:`deploy`)."""
        if self._manifest is None:
            raise RuntimeError("no suite deployed on this chain yet: call deploy() first")
        return self._manifest

    @property
    def manifest_file(self) -> Path:
        """deployments/<network>.json of this chain (what ``kwx worker`` reads)."""
        return manifest_path(self.network, self.work_dir / "deployments")

    def participants(self, first: int, count: int, label: str = "participant") -> list[ChainClient]:
        """Clients of the test mnemonic's accounts `first` .. `first + count - 1`, labelled `label` in the ledger.
        The node funds only the accounts it was started with (:func:`open_scenario_chain`); see :meth:`send_eth`."""
        return [self._client(account_from_mnemonic(ANVIL_TEST_MNEMONIC, first + i), label) for i in range(count)]

    def register(self, client: ChainClient, kind: ParticipantKind, *, x_m: int = 0, y_m: int = 0,
                 capacity_wh: int = 0, soc_min_wh: int = 0, soc_max_wh: int = 0) -> TxReceipt:
        """OPERATOR registers `client`'s account in ParticipantRegistry: position in metres; an EV's battery
        capacity and allowed stored-energy range in Wh (0 for a prosumer)."""
        return self.send(self.operator, "ParticipantRegistry", "register", client.address, kind, x_m, y_m,
                         capacity_wh, soc_min_wh, soc_max_wh)

    def send_eth(self, to: str, wei: int, sender: ChainClient | None = None) -> TxReceipt:
        """A plain transfer of `wei` to `to` from `sender` (default ADMIN), through its nonce manager."""
        client = sender or self.admin
        tx = {"to": to, "value": wei, "gas": 21_000, "chainId": client.chain_id, "nonce": client.nonces.reserve(),
              **client.fees()}
        return client.wait(client.send_raw(client.sign(tx)))

    # --- contracts -----------------------------------------------------------------------------------------------

    def contract(self, name: str, client: ChainClient | None = None) -> Contract:
        """Suite contract `name` as seen by `client` (default ADMIN), built once per pair."""
        client = client or self.admin
        key = (name, client.address)
        if key not in self._contracts:
            self._contracts[key] = self.manifest.contract(client, name)
        return self._contracts[key]

    def call(self, name: str, function: str, *args: Any) -> Any:
        """The value of view `name.function(*args)`."""
        return self.admin.call(getattr(self.contract(name).functions, function)(*args))

    def send(self, client: ChainClient, name: str, function: str, *args: Any) -> TxReceipt:
        """Sends `name.function(*args)` from `client` and returns the receipt."""
        return client.transact(getattr(self.contract(name, client).functions, function)(*args))

    def send_all(self, sends: Iterable[tuple[ChainClient, str, str, tuple[Any, ...]]],
                 gas: int | None = None) -> list[TxReceipt]:
        """Sends every (client, contract, function, args) through the pipeline (offchain.chain.transact_batch:
        signed, sent and collected in JSON-RPC batches) and returns the receipts in order. Only for sends that
        do not depend on each other and whose order across accounts does not matter: each is estimated against
        the latest block (unless `gas` gives every limit), and the node may mine different accounts' transactions of
        one batch in any order."""
        calls = [(client, getattr(self.contract(name, client).functions, function)(*args))
                 for client, name, function, args in sends]
        return transact_batch(calls, gas=gas)

    def open_worker(self, spec: WorkerSpec, *, logic: WorkerLogic | None = None,
                    options: Mapping[str, Any] | None = None, faults: FaultInjector | None = None) -> Worker:
        """The worker `spec` on this deployment, submitting from the SCORER, its state file in `work_dir`
        (``<spec.name>.sqlite``: reopening it resumes). `logic` / `options` as offchain.workers.open_worker.
        `faults`: crash injection (tests); by default none, and KWX_WORKER_CRASH_AT is not read, because its
        crash (``os._exit``) would end the whole run, not a worker process. Close it when done."""
        return open_worker(spec, self.scorer, self.manifest, self.work_dir, logic=logic, options=options,
                           faults=faults or FaultInjector())

    # --- the clock ---------------------------------------------------------------------------------------------

    def now(self) -> int:
        """The latest block's timestamp (Unix seconds)."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def advance_to(self, timestamp: int) -> None:
        """Mines an empty block stamped `timestamp` (Unix seconds) unless the clock is already there: time never
        moves back, and later blocks follow the wall clock from there (offchain.chain.mine_at)."""
        if self.now() < timestamp:
            mine_at(self.w3, timestamp)

    def advance_past(self, timestamp: int) -> None:
        """Moves the clock so that the latest block (and every later one) is after `timestamp`."""
        self.advance_to(timestamp + 1)

    def _client(self, account: LocalAccount, label: str) -> ChainClient:
        client = ChainClient(self.w3, account)
        self.ledger.label(client.address, label)
        return client


@contextmanager
def open_scenario_chain(work_dir: str | Path, *, accounts: int = 10, network: str = "local",
                        node: str | None = None) -> Iterator[ScenarioChain]:
    """Starts local node `node` (anvil or ganache; default $KWX_NODE, else anvil) on a free port with the chain id of
    local network `network` and `accounts` funded test-mnemonic accounts (10,000 ETH each; the roles are 0-3);
    stops it on exit. Nothing is deployed yet."""
    config = get_network(network)
    if not config.local:
        raise ValueError(f"network {network} is remote: a scenario runs on an embedded chain")
    with start_node(node or default_node_kind(), chain_id=config.chain_id, accounts=accounts) as started:
        yield ScenarioChain(started, config, Path(work_dir))
