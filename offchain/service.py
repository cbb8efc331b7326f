"""``kwx up`` and ``kwx status``: the market as a service.

``kwx up`` starts (or connects to) the chain of a network, deploys the suite or reuses it, and runs every
registered worker (``offchain.mechanisms.WORKERS``) as a ``kwx worker NAME`` child of one
:class:`~offchain.workers.supervisor.Supervisor`. ``kwx status`` reads the supervisor's status file and the
workers' state files beside the chain head. docs/service.md.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from offchain.chain import (
    EmbeddedNode,
    KwxChainError,
    NetworkConfig,
    connect,
    deploy_suite,
    find_reusable_manifest,
    get_network,
    manifest_path,
    port_open,
)
from offchain.workers import WorkerSpec, parse_worker_options
from offchain.workers.supervisor import (
    SUPERVISOR,
    Child,
    MergedLog,
    Supervisor,
    read_supervisor_status,
    worker_health,
)

#: What `kwx worker` children of `kwx up` run as: this interpreter and the package, whatever is on PATH.
KWX = (sys.executable, "-m", "offchain.cli")


def split_worker_options(pairs: Sequence[str], specs: Mapping[str, WorkerSpec]) -> dict[str, list[str]]:
    """``WORKER.KEY=VALUE`` texts (``kwx up -o``) as {worker: ["KEY=VALUE", ...]}, each checked against the worker's
    declared options (offchain.workers.parse_worker_options); ValueError (one line) for anything else."""
    options: dict[str, list[str]] = {}
    for pair in pairs:
        worker, dot, rest = pair.partition(".")
        if not dot or "=" not in rest:
            raise ValueError(f"-o {pair!r}: kwx up takes worker options as WORKER.KEY=VALUE")
        if worker not in specs:
            raise ValueError(f"-o {pair!r}: unknown worker {worker!r}; choose one of {', '.join(sorted(specs))}")
        options.setdefault(worker, []).append(rest)
    for worker, given in options.items():
        parse_worker_options(specs[worker], given)
    return options


def worker_children(specs: Mapping[str, WorkerSpec], *, network: str, manifest_dir: Path, state_dir: Path,
                    poll: float, options: Mapping[str, Sequence[str]], skip: Sequence[str] = (),
                    on_reset: str = "fresh") -> list[Child]:
    """One child per worker: ``kwx worker NAME --network .. --manifest-dir .. --state-dir .. --poll .. --on-reset ..
    -o ..``. A worker in `skip`, or one whose required options (WorkerOption.required) are not given, is listed as
    skipped."""
    children = []
    for name, spec in specs.items():
        given = list(options.get(name, ()))
        keys = {pair.partition("=")[0].strip().replace("-", "_") for pair in given}
        missing = sorted(k for k, option in spec.options.items() if option.required and k not in keys)
        reason = ("--skip" if name in skip else
                  f"needs {', '.join(f'-o {name}.{k}=...' for k in missing)}" if missing else None)
        argv = (*KWX, "worker", name, "--network", network, "--manifest-dir", str(manifest_dir),
                "--state-dir", str(state_dir), "--poll", f"{poll:g}", "--on-reset", on_reset,
                *(a for pair in given for a in ("-o", pair)))
        children.append(Child(name, argv, reason))
    return children


@dataclass
class _Chain:
    """The chain `kwx up` runs on: its Web3 and, when `kwx up` started it, the Anvil to stop at the end."""

    w3: Any
    anvil: EmbeddedNode | None


def _open_chain(config: NetworkConfig, log: MergedLog) -> _Chain:
    """Connects to the network's RPC; on a local network where nothing listens there, starts Anvil on its port."""
    rpc_url = config.require_rpc_url()
    port = urlparse(rpc_url).port
    if config.local and port is not None and not port_open(port):
        anvil = config.start_node()
        log.event("chain_started", rpc_url=anvil.rpc_url, chain_id=config.chain_id, pid=anvil.pid)
        try:
            return _Chain(connect(anvil.rpc_url, expected_chain_id=config.chain_id), anvil)
        except BaseException:
            anvil.stop()
            raise
    w3 = connect(rpc_url, expected_chain_id=config.chain_id)
    log.event("chain_connected", rpc_url=rpc_url, chain_id=config.chain_id, head=w3.eth.block_number)
    return _Chain(w3, None)


def run_up(network: str, *, manifest_dir: Path, state_dir: Path, poll: float, option_pairs: Sequence[str] = (),
           skip: Sequence[str] = (), on_reset: str = "fresh", json_lines: bool = False,
           stream: TextIO | None = None) -> None:
    """``kwx up``: until SIGTERM or Ctrl-C (then every child is stopped, and the chain if it started it).

    `on_reset` goes to every worker (``kwx worker --on-reset``): "fresh" (the default) sets a worker's state aside
    when the chain behind it is not the one its state was made on, which is what a chain `kwx up` has just started
    always is; "stop" would only restart the worker into the same refusal, again and again.

    Everything a bad input can fail is checked before any process starts: the network, the keys of a remote
    network (before it is contacted), the worker names and options, another `kwx up` on the same state folder.
    On a remote network the suite must have been deployed (``kwx deploy``, which asks before it spends).
    Raises offchain.chain errors, ValueError and SupervisorBusyError with one-line messages; KwxChainError when
    the chain it started stops by itself.
    """
    from offchain.mechanisms import SUITE, WORKERS

    config = get_network(network)
    unknown = sorted(set(skip) - set(WORKERS))
    if unknown:
        raise ValueError(f"--skip {unknown[0]!r}: unknown worker; choose from {', '.join(sorted(WORKERS))}")
    options = split_worker_options(option_pairs, WORKERS)
    if not config.local:
        config.require_rpc_url()
        config.account("SCORER")  # the workers' key: refused here, before the network is contacted
    log = MergedLog(stream or sys.stdout, json_lines=json_lines)
    children = worker_children(WORKERS, network=config.name, manifest_dir=manifest_dir, state_dir=state_dir,
                               poll=poll, options=options, skip=skip, on_reset=on_reset)
    manifest_file = manifest_path(config, manifest_dir)
    supervisor = Supervisor(children, log=log, status_dir=state_dir,
                            context={"network": config.name, "rpc_url": config.rpc_url,
                                     "manifest": str(manifest_file.resolve())})
    chain: _Chain | None = None
    try:
        chain = _open_chain(config, log)
        if chain.anvil is not None:
            supervisor.context["chain_pid"] = chain.anvil.pid
        if config.local:
            manifest = deploy_suite(config.client("ADMIN", w3=chain.w3), config, manifest_dir=manifest_dir,
                                    suite=SUITE)
        else:
            manifest = find_reusable_manifest(config.client("SCORER", w3=chain.w3), config, manifest_dir, SUITE)
            if manifest is None:
                raise KwxChainError(f"no live deployment of this build on {config.name} in {manifest_file}: run "
                                    f"`kwx deploy --network {config.name}` first")
        log.event("suite_ready", manifest=str(manifest_file), contracts=len(manifest.contracts),
                  deploy_block=manifest.deploy_block)
        anvil = chain.anvil
        died: list[bool] = []

        def watch_chain() -> None:
            if anvil is not None and not anvil.running and not died:
                died.append(True)
                log.event("chain_stopped", "error", rpc_url=anvil.rpc_url)
                supervisor.stop()

        supervisor.on_tick = watch_chain
        supervisor.run()
        if died:
            raise KwxChainError("the chain kwx up started stopped by itself; every worker was stopped")
    finally:
        if chain is not None and chain.anvil is not None:
            chain.anvil.stop()
            log.event("anvil_stopped", worker=SUPERVISOR)


# --- kwx status --------------------------------------------------------------------------------------------


def chain_head(config: NetworkConfig) -> int | None:
    """The network's head block, or None if its RPC does not answer within about a second."""
    try:
        return connect(config.require_rpc_url(), expected_chain_id=config.chain_id, attempts=1,
                       timeout=1.0).eth.block_number
    except KwxChainError:
        return None


def status_lines(report: Mapping[str, Any]) -> list[str]:
    """``kwx status`` as text (from :func:`status_report`): one line about the supervisor and the chain, then a
    row per worker."""
    supervisor, head = report["supervisor"], report["head"]
    if supervisor is None:
        state = "kwx up has not run with this state folder"
    elif supervisor.get("running"):
        state = f"kwx up running (pid {supervisor.get('pid')}) since {time.ctime(supervisor.get('started_at', 0))}"
    else:
        state = f"kwx up not running (last status {time.ctime(supervisor.get('updated_at', 0))})"
    chain = f"head block {head}" if head is not None else "chain not reachable"
    lines = [f"{state}; {report['network']}: {chain}"]
    header = ("worker", "state", "restarts", "last exit", "cursor", "lag", "accepted", "failed", "deferred", "open",
              "last result")
    rows = [header] + [
        (h["name"], h["state"], str(h["restarts"]), h["last_exit"] or "-", _or_dash(h["scanned_block"]),
         _or_dash(h["lag_blocks"]), str(h["accepted"] + h["superseded"]), str(h["failed"]), str(h["deferred"]),
         str(h["open"]), (h["last_result"] or "-") + (f" ({h['reason']})" if h["reason"] else ""))
        for h in report["workers"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return lines


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


def status_report(network: str, state_dir: Path) -> dict[str, Any]:
    """What ``kwx status --json`` prints and the dashboard shows: the supervisor, the head and every worker."""
    from offchain.mechanisms import WORKERS

    config = get_network(network)
    head = chain_head(config)
    supervisor = read_supervisor_status(state_dir)
    health = worker_health(state_dir, WORKERS, head)
    return {"network": config.name, "head": head, "supervisor": None if supervisor is None else supervisor["supervisor"],
            "workers": [h.as_dict() for h in health]}


__all__ = ["KWX", "chain_head", "run_up", "split_worker_options", "status_lines", "status_report",
           "worker_children"]
