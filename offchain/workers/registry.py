"""How a worker is declared (:class:`WorkerSpec`, its :class:`WorkerOption` s) and wired to a deployment
(:func:`open_worker`, :func:`run_worker`).

This module names no worker: each mechanism declares its workers in its descriptor (offchain/mechanisms),
and ``offchain.mechanisms.WORKERS`` maps every name ``kwx worker NAME`` accepts to its spec.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eth_account.signers.local import LocalAccount

from offchain.chain import ChainClient, Manifest, connect, get_network, load_manifest

from .logs import configure_json_logging
from .runtime import FaultInjector, RunSummary, Worker, WorkerLogic
from .web3_chain import Web3ResultChain

#: Where worker state files live unless told otherwise: <state_dir>/<worker>.sqlite.
DEFAULT_STATE_DIR = Path("var/workers")


@dataclass(frozen=True)
class WorkerOption:
    """One worker-specific option: how to read it from text (``kwx worker NAME --option KEY=VALUE``), what
    it means, and which values it takes: at least ``minimum`` (numbers) or one of ``choices`` (texts)."""

    parse: Callable[[str], Any]
    help: str
    minimum: int | None = None
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range ("must be >= 1, got 0"), or None when the option takes it."""
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        return None


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
    faults: FaultInjector | None = None,
) -> Worker:
    """The runtime :class:`Worker` of `spec` on `manifest`'s deployment, submitting from `client` to
    ``spec.results_contract``, its state in ``<state_dir>/<spec.name>.sqlite`` (a restart resumes from it).

    `logic`: the worker's logic when the caller built it (e.g. stages sharing one planner); otherwise
    ``spec.make_logic(client, manifest, **options)``. `faults`: crash injection (tests; None reads
    KWX_WORKER_CRASH_AT). Close the worker (or use it as a context manager) when done.
    """
    if logic is None:
        logic = spec.make_logic(client, manifest, **(options or {}))
    results = client.contract(spec.results_contract, manifest.address(spec.results_contract))
    return Worker(logic, Web3ResultChain(client, results, block_chunk=block_chunk), state_path(spec.name, state_dir),
                  confirmations=confirmations, start_block=manifest.deploy_block, block_chunk=block_chunk,
                  receipt_timeout=receipt_timeout, faults=faults)


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
    account: LocalAccount | None = None,
    build_dir: str | Path | None = None,
    log_stream: TextIO | None = None,
    log_level: int | str = logging.INFO,
    **options: Any,
) -> RunSummary | None:
    """Runs the worker `spec` (``offchain.mechanisms.WORKERS[name]``) against the deployment in
    `manifest_path` (deployments/<network>.json).

    ``once``: process everything up to the head, return its :class:`RunSummary`; otherwise poll every
    `poll_seconds` until SIGTERM/SIGINT (then return None). Either way SIGTERM/SIGINT end it after the
    current step with everything committed. ``account``: the submitting account (default: the network's
    SCORER: Anvil account 3 on local networks, KWX_SCORER_PRIVATE_KEY / KWX_PRIVATE_KEY or keystore on
    Fuji). JSON logs go to `log_stream` (stderr). ``KWX_WORKER_CRASH_AT`` injects a crash (tests only).
    ``options`` go to the worker; it must declare each in its ``WorkerSpec.options`` and the value must be in
    that option's range (else WorkerOptionError, before anything connects or is recorded).

    Raises WorkerOptionError, offchain.chain errors (manifest missing, RPC unreachable, chain id mismatch,
    missing key) and WorkerStateError (state file busy or from another chain), each with a one-line message.
    """
    undeclared = sorted(set(options) - set(spec.options))
    if undeclared:
        takes = ", ".join(sorted(spec.options)) or "none"
        raise WorkerOptionError(f"worker {spec.name} has no option {undeclared[0]!r} (options: {takes})")
    for key, value in options.items():
        if value is not None:
            _check_option(spec.name, key, spec.options[key], value)
    path = Path(manifest_path)
    manifest = load_manifest(path.stem, path.parent)
    network = get_network(manifest.network)
    w3 = connect(rpc_url, expected_chain_id=manifest.chain_id)
    client = ChainClient(w3, account or network.account("SCORER"), build_dir=build_dir,
                         fallback_tip_wei=network.fallback_tip_wei)
    logic = spec.make_logic(client, manifest, **options)
    configure_json_logging(log_stream, log_level)
    with open_worker(spec, client, manifest, state_dir, logic=logic, confirmations=confirmations,
                     block_chunk=block_chunk, receipt_timeout=receipt_timeout) as worker:
        if not once:
            worker.run_forever(poll_seconds)
            return None
        with worker.stop_on_signals():
            return worker.run_once()
