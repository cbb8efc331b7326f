"""The local nodes kwx starts (Anvil, Ganache 7) and every difference between the nodes it talks to, in one place.

**Starting a node.** `start_node(kind, ...)` starts an `EmbeddedAnvil` or an `EmbeddedGanache`: a chain owned by
this Python process, on a free local port, stopped on every way out. Stopping is layered so that no chain outlives
its owner: `stop()` / the context manager; an atexit hook for a normal exit or an unhandled exception (Ctrl-C
raises KeyboardInterrupt, which ends there too); a SIGTERM handler when nobody else handles SIGTERM; and on Linux
PR_SET_PDEATHSIG in the child, so the kernel kills the node even when this process is SIGKILLed. Both serve the
public test mnemonic's accounts (10,000 ETH each), the chain id asked for, and mine each transaction as it arrives.

**What differs** (`node_rules(w3)` tells which node a connection talks to, from ``web3_clientVersion``; the client,
the batch sender and the scenario harness ask it, nothing else knows node names; docs/chain-client.md, "Nodes"):

| | Anvil 1.7 | Ganache 7.9.2 |
|---|---|---|
| EVM rules | cancun (the project's build/) | shanghai at most: the shanghai build in toolchain/ganache/build |
| a signed transaction whose nonce is used | refused ("nonce too low") | mined again (a replay executes twice): kwx checks the nonce first |
| revert data of an estimate | ``error.data`` = "0x..." | ``error.data.result`` = "0x..." |
| fee below the base fee | "max fee per gas less than block base fee" | "... is less than the block's baseFeePerGas ..." |
| time travel | evm_setNextBlockTimestamp + evm_mine | evm_mine with {"timestamp"} |
| receipts of a block | eth_getBlockReceipts | eth_getTransactionReceipt per transaction |
| a nonce gap | queued | the request waits until the gap is filled (kwx never sends one) |
| forking | --fork-url, --fork-block-number | not used: a fork holds cancun bytecode Ganache cannot run |

EIP-1559 fields (baseFeePerGas, eth_maxPriorityFeePerGas: 1 gwei), JSON-RPC batches, snapshots and gas estimates
(within the client's 20 % margin) behave alike. Any other node (Avalanche's coreth, geth) gets Anvil's rules without
time travel.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import rlp
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.types import TxReceipt

from offchain.chain.accounts import ANVIL_TEST_MNEMONIC
from offchain.chain.artifacts import project_root
from offchain.chain.errors import AnvilStartError, KwxChainError
from offchain.chain.rpc import rpc_batch

#: The local nodes `kwx chain --node`, `kwx demo --node` and the chain runs can start.
NODE_KINDS = ("anvil", "ganache")
#: Environment variable naming the node the scenario harness starts (`kwx reproduce --node` sets it).
NODE_ENV = "KWX_NODE"
#: Ether each development account holds on a node kwx starts (Anvil's default; Ganache is told the same).
DEV_BALANCE_ETH = 10_000
#: Why a fork never runs on Ganache.
FORKS_ON_ANVIL = "forks run on Anvil: a forked chain's contracts are cancun bytecode, which Ganache 7 cannot run"

_PR_SET_PDEATHSIG = 1
_PORT_RETRIES = 3
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local port, never via a proxy
_live: set["EmbeddedNode"] = set()
_live_lock = threading.RLock()  # re-entrant: the signal handler may run while the main thread holds it
_atexit_registered = False
_previous_handlers: dict[int, Any] = {}


def find_anvil() -> list[str]:
    """The command that runs Anvil. Prefers the native binary that the npm package @foundry-rs/anvil ships
    (so the child we signal is Anvil itself, not the node wrapper), then node_modules/.bin/anvil, then
    `anvil` on PATH."""
    modules = project_root() / "node_modules"
    native = sorted((modules / "@foundry-rs").glob("anvil-*/bin/anvil"))
    return _first_executable([*native, modules / ".bin" / "anvil"], "anvil", modules)


def find_ganache() -> list[str]:
    """The command that runs Ganache: node_modules/.bin/ganache (npm package ganache, a node script whose process
    is Ganache itself), else `ganache` on PATH."""
    modules = project_root() / "node_modules"
    return _first_executable([modules / ".bin" / "ganache"], "ganache", modules)


def _first_executable(candidates: Sequence[Path], name: str, modules: Path) -> list[str]:
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    on_path = shutil.which(name)
    if on_path:
        return [on_path]
    raise AnvilStartError(f"{name} not found in {modules} or on PATH: run `make setup` (npm ci installs it)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def die_with_parent() -> Any:
    """A preexec function for a child process (a node, a supervised worker): on Linux it asks the kernel to
    SIGKILL the child when its parent dies, and exits at once if the parent already died between fork and prctl.
    None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return in_child


class EmbeddedNode:
    """A local node started by the constructor and stopped by `stop()`, `with`, or process exit. Subclasses say
    how to run it (`_command`); the constructor waits until its RPC answers with the chain id asked for.

    Args:
        chain_id: chain id to serve (31337 local, 43113 / 43114 for a Fuji / C-Chain rehearsal).
        port: TCP port on 127.0.0.1; None picks a free one (retrying if it is taken meanwhile).
        accounts: number of funded accounts derived from `mnemonic` (DEV_BALANCE_ETH each).
        mnemonic: the development mnemonic; the public test mnemonic by default.
        block_time: seconds between blocks; None mines each transaction as it arrives.
        startup_timeout: seconds to wait for the RPC to answer.
    """

    #: The node's name in NODE_KINDS and its display name.
    kind: ClassVar[str] = ""
    display: ClassVar[str] = ""

    def __init__(
        self,
        chain_id: int = 31337,
        port: int | None = None,
        accounts: int = 10,
        *,
        mnemonic: str = ANVIL_TEST_MNEMONIC,
        block_time: float | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.chain_id = chain_id
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        _install_exit_hooks()
        for _ in range(1 if port is not None else _PORT_RETRIES):
            self.port = port if port is not None else free_port()
            command = self._command(self.port, accounts=accounts, mnemonic=mnemonic, block_time=block_time)
            if self._start(command, startup_timeout):
                return
        raise AnvilStartError(f"{self.kind} could not bind a free port after {_PORT_RETRIES} attempts")

    def _command(self, port: int, *, accounts: int, mnemonic: str, block_time: float | None) -> list[str]:
        raise NotImplementedError

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise AnvilStartError(f"{self.kind} is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self, command: list[str], timeout: float) -> bool:
        """Starts the node and waits for its RPC. False if the port was taken (the caller tries another)."""
        fd, log = tempfile.mkstemp(prefix=f"kwx-{self.kind}-", suffix=".log")
        self._log_path = Path(log)
        with os.fdopen(fd, "wb") as log_file:
            # A new session: a terminal's Ctrl-C reaches Python, which stops the node itself (in order).
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent(),
            )  # fmt: skip
        with _live_lock:
            _live.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self._log_tail()
                in_use = "in use" in self._log_text().lower()  # Ganache's last line is a stack frame
                self.stop()
                if in_use:
                    return False
                raise AnvilStartError(f"{self.kind} exited during start-up: {tail or 'no output'}")
            # Our own stdout saying it listens proves the port is ours (not another chain's on the same port);
            # Anvil says "Listening on 127.0.0.1:<port>", Ganache "RPC Listening on 127.0.0.1:<port>".
            served = _rpc_chain_id(self.rpc_url) if self._listening() else None
            if served is not None:
                if served != self.chain_id:
                    self.stop()
                    raise AnvilStartError(f"port {self.port} serves chain {served}, not {self.chain_id}")
                return True
            time.sleep(0.05)
        self.stop()
        raise AnvilStartError(f"{self.kind} did not answer on {self.rpc_url} within {timeout:g} s")

    def _log_text(self) -> str:
        try:
            return self._log_path.read_text(errors="replace") if self._log_path is not None else ""
        except OSError:
            return ""

    def _listening(self) -> bool:
        return f"Listening on 127.0.0.1:{self.port}" in self._log_text()

    def _log_tail(self) -> str:
        lines = [ln.strip() for ln in self._log_text().splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the node (SIGTERM to its process group, SIGKILL after `timeout` s) and waits for it to exit.
        Safe to call more than once."""
        process, self._process = self._process, None
        with _live_lock:
            _live.discard(self)
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> "EmbeddedNode":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self.running else "stopped"
        return f"{type(self).__name__}(chain_id={self.chain_id}, rpc_url={self.rpc_url}, {state})"


class EmbeddedAnvil(EmbeddedNode):
    """A local Anvil node (see EmbeddedNode for the arguments).

    Args:
        hardfork: EVM rules; "cancun" matches the compiler's evm_version and Avalanche C-Chain.
        fork_url: an upstream RPC to fork: the node serves the upstream state at `fork_block` (latest if None)
            plus its own blocks, and funds the development accounts on it. Give the upstream's chain id.
        fork_block: the upstream block to fork at (requires `fork_url`).
    """

    kind = "anvil"
    display = "Anvil"

    def __init__(self, chain_id: int = 31337, port: int | None = None, accounts: int = 10, *,
                 hardfork: str = "cancun", fork_url: str | None = None, fork_block: int | None = None,
                 **options: Any) -> None:
        if fork_block is not None and fork_url is None:
            raise ValueError("fork_block needs fork_url")
        self.hardfork = hardfork
        self.fork_url = fork_url
        self.fork_block = fork_block
        super().__init__(chain_id, port, accounts, **options)

    def _command(self, port: int, *, accounts: int, mnemonic: str, block_time: float | None) -> list[str]:
        # No historical state on disk: Anvil otherwise writes every block's state beyond its in-memory 500 to
        # ~/.foundry/anvil/tmp and leaves it there (16-26 GB per long benchmark run filled the disk, 2026-12-05).
        options = ["--chain-id", str(self.chain_id), "--accounts", str(accounts), "--mnemonic", mnemonic,
                   "--hardfork", self.hardfork, "--host", "127.0.0.1", "--port", str(port),
                   "--max-persisted-states", "0"]
        if block_time is not None:
            options += ["--block-time", str(block_time)]
        if self.fork_url is not None:
            options += ["--fork-url", self.fork_url]
            if self.fork_block is not None:
                options += ["--fork-block-number", str(self.fork_block)]
        return find_anvil() + options


class EmbeddedGanache(EmbeddedNode):
    """A local Ganache 7 node (see EmbeddedNode for the arguments): shanghai rules (the newest Ganache 7 knows),
    instamine (each transaction mined before its hash is returned), the accounts funded like Anvil's."""

    kind = "ganache"
    display = "Ganache"

    def _command(self, port: int, *, accounts: int, mnemonic: str, block_time: float | None) -> list[str]:
        options = ["--chain.chainId", str(self.chain_id), "--chain.networkId", str(self.chain_id),
                   "--chain.hardfork", GANACHE.evm_version, "--wallet.mnemonic", mnemonic,
                   "--wallet.totalAccounts", str(accounts), "--wallet.defaultBalance", str(DEV_BALANCE_ETH),
                   "--server.host", "127.0.0.1", "--server.port", str(port)]
        if block_time is not None:
            options += ["--miner.blockTime", str(block_time)]
        return find_ganache() + options


def start_node(kind: str = "anvil", chain_id: int = 31337, port: int | None = None, accounts: int = 10,
               **options: Any) -> EmbeddedNode:
    """Starts local node `kind` ("anvil" or "ganache", NODE_KINDS); `options` as the node's class takes them
    (forks: Anvil only)."""
    check_node_kind(kind)
    if kind == "ganache":
        if options.pop("fork_url", None) is not None:
            raise KwxChainError(FORKS_ON_ANVIL)
        options.pop("fork_block", None)
        return EmbeddedGanache(chain_id, port, accounts, **options)
    return EmbeddedAnvil(chain_id, port, accounts, **options)


def check_node_kind(kind: str) -> str:
    """`kind` if it is one of NODE_KINDS; ValueError (one line) otherwise."""
    if kind not in NODE_KINDS:
        raise ValueError(f"unknown node {kind!r}: choose one of {', '.join(NODE_KINDS)}")
    return kind


def default_node_kind() -> str:
    """The node the scenario harness starts: $KWX_NODE if set (anvil or ganache), else anvil."""
    return check_node_kind(os.environ.get(NODE_ENV, "").strip() or "anvil")


# --- what differs between nodes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeRules:
    """How kwx treats one kind of node (the module docstring lists the differences).

    Attributes:
        name: "anvil", "ganache" or "other" (any other node: coreth, geth).
        evm_version: the EVM rules of the bytecode it runs.
        build_dir: the artifacts compiled for those rules; None: the project's build/ ($KWX_BUILD_DIR).
        rejects_stale_nonces: whether it refuses a transaction whose nonce is used; if not, kwx checks first.
        block_receipts: whether it answers eth_getBlockReceipts.
        time_travel: the RPC that mines a block with a given timestamp ("anvil", "ganache"; None: none).
    """

    name: str
    evm_version: str
    build_dir: Path | None
    rejects_stale_nonces: bool
    block_receipts: bool
    time_travel: str | None


ANVIL = NodeRules("anvil", "cancun", None, rejects_stale_nonces=True, block_receipts=True, time_travel="anvil")
GANACHE = NodeRules("ganache", "shanghai", project_root() / "toolchain" / "ganache" / "build",
                    rejects_stale_nonces=False, block_receipts=False, time_travel="ganache")
OTHER = NodeRules("other", "cancun", None, rejects_stale_nonces=True, block_receipts=True, time_travel=None)

#: Node messages meaning "a transaction with this nonce already exists" (geth/coreth, Anvil, Ganache).
NONCE_CONFLICTS = ("nonce too low", "replacement transaction underpriced", "nonce has already been used",
                   "doesn't have the correct nonce")
#: Node messages meaning "this very transaction is already in the pool".
ALREADY_SENT = ("already known", "already imported")
#: Node messages meaning "the fee is below what the node takes now" (checked after the nonce conflicts, whose
#: "replacement transaction underpriced" is about the nonce, not the price).
FEE_TOO_LOW = ("less than block base fee", "transaction underpriced", "fee cap less than",
               "less than the block's basefeepergas")

_rules_of: "weakref.WeakKeyDictionary[Any, NodeRules]" = weakref.WeakKeyDictionary()


def node_rules(w3: Web3) -> NodeRules:
    """The rules of the node `w3` talks to, from its ``web3_clientVersion`` ("anvil/v1.7.1",
    "Ganache/v7.9.2/EthereumJS TestRPC/..."), asked once per provider; OTHER when it does not say."""
    provider = w3.provider
    rules = _rules_of.get(provider)
    if rules is None:
        try:
            version = str(w3.client_version).lower()
        except Exception:  # noqa: BLE001 - a node that cannot say what it is gets the common rules
            version = ""
        rules = ANVIL if version.startswith("anvil") else GANACHE if version.startswith("ganache") else OTHER
        _rules_of[provider] = rules
    return rules


def raw_nonce(raw_tx: bytes) -> int:
    """The nonce of a signed transaction: field 1 of a typed (EIP-2718) one, field 0 of a legacy one."""
    raw = bytes(raw_tx)
    typed = raw[0] < 0x7F
    fields = rlp.decode(raw[1:] if typed else raw)
    return int.from_bytes(fields[1 if typed else 0], "big")


def stale_nonces(w3: Web3, sent: Sequence[tuple[str, bytes]]) -> list[bool]:
    """Per (sender, signed raw transaction): whether its nonce is below the sender's mined transaction count, on a
    node that does not refuse such a transaction itself (Ganache mines it again); all False on other nodes. One
    batch of eth_getTransactionCount for the distinct senders."""
    if node_rules(w3).rejects_stale_nonces or not sent:
        return [False] * len(sent)
    senders = list(dict.fromkeys(sender for sender, _ in sent))
    answers = rpc_batch(w3, [("eth_getTransactionCount", [sender, "latest"]) for sender in senders])
    mined = {sender: int(answer["result"], 16) for sender, answer in zip(senders, answers)}
    return [raw_nonce(raw) < mined[sender] for sender, raw in sent]


def mine_at(w3: Web3, timestamp: int) -> None:
    """Mines an empty block stamped `timestamp` (Unix seconds); later blocks follow the wall clock from there.
    KwxChainError on a node without time travel (a remote chain)."""
    rules = node_rules(w3)
    if rules.time_travel == "anvil":
        _checked(w3, "evm_setNextBlockTimestamp", [timestamp])
        _checked(w3, "evm_mine", [])
    elif rules.time_travel == "ganache":
        _checked(w3, "evm_mine", [{"timestamp": timestamp}])
    else:
        raise KwxChainError("time travel needs a local node (Anvil or Ganache)")


def _checked(w3: Web3, method: str, params: list[Any]) -> Any:
    answer = w3.provider.make_request(method, params)
    if "error" in answer:
        raise KwxChainError(f"{method} failed: {answer['error'].get('message', answer['error'])}")
    return answer.get("result")


def block_receipts(w3: Web3, blocks: Sequence[Any]) -> list[list[TxReceipt]]:
    """The receipts of each of `blocks` (blocks read with their transactions), in transaction order: one batch of
    eth_getBlockReceipts, or on a node without it one batch of eth_getTransactionReceipt."""
    if node_rules(w3).block_receipts:
        answers = rpc_batch(w3, [("eth_getBlockReceipts", [hex(block["number"])]) for block in blocks])
        return [[receipt_formatter(raw) for raw in _result(answer)] for answer in answers]
    hashes = [Web3.to_hex(tx["hash"]) for block in blocks for tx in block["transactions"]]
    answers = iter(rpc_batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes]))
    return [[receipt_formatter(_result(next(answers))) for _ in block["transactions"]] for block in blocks]


def _result(answer: dict[str, Any]) -> Any:
    if "error" in answer:
        raise KwxChainError(f"receipts: {answer['error'].get('message', answer['error'])}")
    return answer["result"]


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group also holds the real anvil if we started the node wrapper
    except ProcessLookupError:
        pass


def _rpc_chain_id(url: str) -> int | None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with _NO_PROXY.open(request, timeout=1) as response:
            return int(json.loads(response.read())["result"], 16)
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


def stop_all() -> None:
    """Stops every EmbeddedAnvil this process started."""
    with _live_lock:
        running = list(_live)
    for anvil in running:
        anvil.stop()


def _on_signal(signum: int, frame: Any) -> None:
    """Chains to whatever handled the signal before. A Python handler (KeyboardInterrupt for SIGINT, a
    worker's graceful shutdown) keeps control and the chains stop when the process really exits; where the
    signal would have killed the process outright, the chains are stopped first."""
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    """atexit once; the signal handlers once, from the main thread (the only one allowed to set them; an
    Anvil started from another thread still has atexit and PDEATHSIG)."""
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        if sig not in _previous_handlers:
            _previous_handlers[sig] = signal.getsignal(sig)
            signal.signal(sig, _on_signal)
