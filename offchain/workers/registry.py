"""How a worker is declared (:class:`WorkerSpec`, its :class:`WorkerOption` s) and wired to a deployment
(:func:`open_worker`, :func:`run_worker`).

This module names no worker: each mechanism declares its workers in its descriptor (offchain/mechanisms),
and ``offchain.mechanisms.WORKERS`` maps every name ``kwx worker NAME`` accepts to its spec.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eth_account.signers.local import LocalAccount

from offchain.chain import ChainClient, Manifest, connect, get_network, load_manifest

from .logs import configure_json_logging, worker_logger
from .runtime import FaultInjector, RunSummary, Worker, WorkerLogic
from .state import ChainResetError
from .web3_chain import Web3ResultChain

#: Where worker state files live unless told otherwise: <state_dir>/<worker>.sqlite.
DEFAULT_STATE_DIR = Path("var/workers")


@dataclass(frozen=True)
class WorkerOption:
    """One worker-specific option: how to read it from text (``kwx worker NAME --option KEY=VALUE``), what
    it means, and which values it takes: between ``minimum`` and ``maximum`` (numbers; NaN and infinities
    never), one of ``choices`` (texts), and whatever ``check`` accepts (it returns why not, or None).
    ``required``: the worker cannot start without it (``kwx up`` leaves such a worker out until it is given)."""

    parse: Callable[[str], Any]
    help: str
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    required: bool = False

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range ("must be >= 1, got 0"), or None when the option takes it."""
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum:,}, got {value:,}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        return self.check(value) if self.check is not None else None


def integer(text: str) -> int:
    """An integer written in decimal digits ("12", "-3"); ValueError for anything else ("1e40", "10^12", "nan"),
    before any arithmetic on it."""
    stripped = text.strip()
    if not stripped.lstrip("+-").isdigit() or len(stripped) > 40:
        raise ValueError(f"not an integer: {text!r}")
    return int(stripped)


def existing_folder(value: Any) -> str | None:
    """A WorkerOption check: None if `value` names an existing folder, else why not."""
    path = Path(str(value))
    return None if path.is_dir() else f"must be an existing folder, got {str(value)!r}"


@dataclass(frozen=True)
class WorkerSpec:
    """One runnable worker: its name (``kwx worker NAME``, its state file), the contract that accepts its
    results, and how to build its logic.

    ``make_logic(client, manifest, **options)``; ``options`` declares the keyword options it takes.
    """

    name: str
    summary: str
    results_contract: str
    make_logic: Callable[..., WorkerLogic]
    options: Mapping[str, WorkerOption] = field(default_factory=dict)


class WorkerOptionError(ValueError):
    """A worker option that the worker does not take or whose value does not parse."""


class UnknownWorkerError(ValueError):
    """No worker of that name is registered."""


def parse_worker_options(spec: WorkerSpec, pairs: Iterable[str]) -> dict[str, Any]:
    """{option: value} from ``KEY=VALUE`` texts for the worker `spec` (dashes in KEY read as underscores).

    Raises WorkerOptionError (unknown option, missing "=", value that does not parse or is out of the
    option's range) with a one-line message.
    """
    name, declared = spec.name, spec.options
    takes = f"options: {', '.join(sorted(declared))}" if declared else "it takes no options"
    options: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise WorkerOptionError(f"worker option {pair!r} is not KEY=VALUE")
        if key not in declared:
            raise WorkerOptionError(f"worker {name} has no option {key!r} ({takes})")
        try:
            options[key] = declared[key].parse(text.strip())
        except ValueError:
            raise WorkerOptionError(f"worker {name} option {key}: cannot read {text.strip()!r}") from None
        _check_option(name, key, declared[key], options[key])
    return options


def _check_option(name: str, key: str, declared: WorkerOption, value: Any) -> None:
    problem = declared.problem(value)
    if problem is not None:
        raise WorkerOptionError(f"worker {name} option {key} {problem}")


def state_path(name: str, state_dir: str | Path = DEFAULT_STATE_DIR) -> Path:
    """The SQLite file of worker `name` under `state_dir`."""
    return Path(state_dir) / f"{name}.sqlite"


def open_worker(
    spec: WorkerSpec,
    client: ChainClient,
    manifest: Manifest,
    state_dir: str | Path = DEFAULT_STATE_DIR,
    *,
    logic: WorkerLogic | None = None,
    options: Mapping[str, Any] | None = None,
    confirmations: int = 0,
    block_chunk: int = 2000,
    receipt_timeout: float = 120.0,
    window: int = 64,
    fresh: bool = False,
    faults: FaultInjector | None = None,
) -> Worker:
    """The runtime :class:`Worker` of `spec` on `manifest`'s deployment, submitting from `client` to
    ``spec.results_contract``, its state in ``<state_dir>/<spec.name>.sqlite`` (a restart resumes from it).

    `logic`: the worker's logic when the caller built it (e.g. stages sharing one planner); otherwise
    ``spec.make_logic(client, manifest, **options)``. `faults`: crash injection (tests; None reads
    KWX_WORKER_CRASH_AT). `window`: results signed and sent together. `fresh`: set the state file aside and
    start a new one. Close the worker (or use it as a context manager) when done.
    """
    if logic is None:
        logic = spec.make_logic(client, manifest, **(options or {}))
    results = manifest.contract(client, spec.results_contract)
    return Worker(logic, Web3ResultChain(client, results, block_chunk=block_chunk), state_path(spec.name, state_dir),
                  confirmations=confirmations, start_block=manifest.deploy_block, block_chunk=block_chunk,
                  receipt_timeout=receipt_timeout, window=window, fresh=fresh, faults=faults)


#: What a running worker does when the chain behind its RPC was reset: stop (exit with one line) or set its state
#: aside and start a new one on the new chain.
ON_RESET = ("stop", "fresh")
#: Ranges of run_worker's own numbers (also what `kwx worker` checks before anything runs).
POLL_RANGE = (0.1, 3600.0)  #: seconds between polls
WINDOW_RANGE = (1, 1000)  #: results signed and sent together
MAX_FEE_GWEI_RANGE = (0.001, 1_000_000.0)  #: fee cap, gwei per gas


def check_range(name: str, value: float, bounds: tuple[float, float]) -> None:
    """ValueError (one line) unless `value` is a finite number within `bounds` (inclusive)."""
    low, high = bounds
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value}")


def run_worker(
    spec: WorkerSpec,
    *,
    rpc_url: str,
    manifest_path: str | Path,
    state_dir: str | Path = DEFAULT_STATE_DIR,
    once: bool = False,
    poll_seconds: float = 5.0,
    confirmations: int = 0,
    block_chunk: int = 2000,
    receipt_timeout: float = 120.0,
    window: int = 64,
    fresh: bool = False,
    on_reset: str = "stop",
    max_fee_gwei: float | None = None,
    account: LocalAccount | None = None,
    build_dir: str | Path | None = None,
    log_stream: TextIO | None = None,
    log_level: int | str = logging.INFO,
    **options: Any,
) -> RunSummary | None:
    """Runs the worker `spec` (``offchain.mechanisms.WORKERS[name]``) against the deployment in
    `manifest_path` (deployments/<network>.json).

    ``once``: process everything up to the head, return its :class:`RunSummary`; otherwise poll every
    `poll_seconds` until SIGTERM/SIGINT (then return None). Either way SIGTERM/SIGINT end it within 2 s with
    everything committed. ``window``: results signed and sent together. ``fresh``: set the state file aside
    (``<file>.<time>.old``) and start a new state. ``on_reset``: when the chain is reset under the worker
    (or was since its last run), "stop" raises ChainResetError, "fresh" sets the state aside and starts
    again on the new chain once its deployment has code. ``max_fee_gwei``: the most any transaction may
    offer per gas (re-pricing included; None: no cap). ``account``: the submitting account (default: the
    network's SCORER: Anvil account 3 on local networks, KWX_SCORER_PRIVATE_KEY / KWX_PRIVATE_KEY or
    keystore on Fuji). JSON logs go to `log_stream` (stderr). ``KWX_WORKER_CRASH_AT`` injects a crash
    (tests only). ``options`` go to the worker; it must declare each in its ``WorkerSpec.options`` and the
    value must be in that option's range (else WorkerOptionError, before anything connects or is recorded).

    Raises WorkerOptionError or ValueError (an option out of range), offchain.chain errors (manifest missing,
    RPC unreachable, chain id mismatch, missing key) and WorkerStateError (state file busy, unreadable or
    from another chain; ChainResetError), each with a one-line message.
    """
    undeclared = sorted(set(options) - set(spec.options))
    if undeclared:
        takes = ", ".join(sorted(spec.options)) or "none"
        raise WorkerOptionError(f"worker {spec.name} has no option {undeclared[0]!r} (options: {takes})")
    for key, value in options.items():
        if value is not None:
            _check_option(spec.name, key, spec.options[key], value)
    check_range("poll", poll_seconds, POLL_RANGE)
    check_range("window", window, WINDOW_RANGE)
    if max_fee_gwei is not None:
        check_range("max fee (gwei)", max_fee_gwei, MAX_FEE_GWEI_RANGE)
    if on_reset not in ON_RESET:
        raise ValueError(f"on_reset must be one of {', '.join(ON_RESET)}, got {on_reset!r}")
    path = Path(manifest_path)
    network = get_network(load_manifest(path.stem, path.parent).network)
    configure_json_logging(log_stream, log_level)
    while True:
        manifest = load_manifest(path.stem, path.parent)  # again after a reset: the redeployment rewrote it
        w3 = connect(rpc_url, expected_chain_id=manifest.chain_id)
        client = ChainClient(w3, account or network.account("SCORER"), build_dir=build_dir,
                             fallback_tip_wei=network.fallback_tip_wei,
                             max_fee_per_gas_cap=None if max_fee_gwei is None else int(max_fee_gwei * 10**9))
        logic = spec.make_logic(client, manifest, **options)
        try:
            with open_worker(spec, client, manifest, state_dir, logic=logic, confirmations=confirmations,
                             block_chunk=block_chunk, receipt_timeout=receipt_timeout, window=window,
                             fresh=fresh) as worker:
                if once:
                    with worker.stop_on_signals():
                        return worker.run_once()
                worker.run_forever(poll_seconds)
                return None
        except ChainResetError as reset:
            if on_reset != "fresh":
                raise
            worker_logger(spec.name).warning("chain_reset", error=str(reset), action="fresh state")
            fresh = True
            _await_deployment(spec.name, client, manifest.address(spec.results_contract), poll_seconds)


def _await_deployment(name: str, client: ChainClient, address: str, poll_seconds: float) -> None:
    """Returns once `address` has code on the (new) chain: a reset chain is redeployed after it restarts."""
    logged = False
    while not client.w3.eth.get_code(address):
        if not logged:
            worker_logger(name).warning("waiting_for_deployment", address=address)
            logged = True
        time.sleep(poll_seconds)
