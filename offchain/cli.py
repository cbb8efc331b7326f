"""`kwx`: the Kilowatt Exchange command line.

Every command fails with one line on stderr and a non-zero exit when its input is bad (unknown
network, missing key for a remote network, unreachable RPC, missing build artifacts) and changes
nothing in that case. Heavy modules are imported inside the commands so `kwx --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from typer.core import TyperGroup

from offchain.commands import fail, one_line_errors

if TYPE_CHECKING:
    from offchain.chain import ChainClient, DeploymentPlan, NetworkConfig
    from offchain.mechanisms import Mechanism


class _ReproduceGroup(TyperGroup):
    """`kwx reproduce`: one subcommand per reproduction the mechanisms declare (offchain.mechanisms), listed
    only when this group is used (importing the mechanisms takes about a second, which `kwx --help` and
    the other commands would pay)."""

    mechanisms: tuple[Mechanism, ...] | None = None

    def _load(self) -> None:
        if self.commands:
            return
        from offchain.mechanisms import MECHANISMS, reproductions

        for name, reproduction in sorted(reproductions(self.mechanisms or MECHANISMS).items()):
            single = typer.Typer()
            single.command(name)(reproduction.load())
            self.add_command(typer.main.get_command(single), name)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: typer.Context, name: str) -> Any:
        self._load()
        return super().get_command(ctx, name)


def build_app(mechanisms: Iterable[Mechanism] | None = None) -> typer.Typer:
    """The `kwx` application; `mechanisms` (default: offchain.mechanisms.MECHANISMS) give `kwx reproduce` its
    subcommands. Commands other than reproduce are the same for every list."""
    kwx = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help="Kilowatt Exchange: peer-to-peer energy trading contracts and their off-chain workers.",
    )
    group = type("ReproduceGroup", (_ReproduceGroup,), {"mechanisms": None if mechanisms is None else tuple(mechanisms)})
    kwx.add_typer(typer.Typer(cls=group, no_args_is_help=True, help="Reproduce a seed paper's tables and figures.",
                              callback=_reproduce_node), name="reproduce")
    for command in (chain, deploy, demo, worker, up, status, dashboard, gas):
        kwx.command(cls=_WorkerCommand if command is worker else None)(command)
    return kwx


def _reproduce_node(
    node: Optional[str] = typer.Option(None, help="Node of the --chain runs: anvil or ganache (default: $KWX_NODE, "
                                       "else anvil). Goes before the reproduction's name."),
) -> None:
    """Reproduce a seed paper's tables and figures."""
    import os

    from offchain.chain.nodes import NODE_ENV, check_node_kind

    if node is not None:
        try:
            os.environ[NODE_ENV] = check_node_kind(node)  # the scenario harness starts this node
        except ValueError as bad:
            fail(f"--node: {bad}")


class _WorkerCommand(typer.core.TyperCommand):
    """`kwx worker`: its NAME help lists the registered workers, read only when the help is shown (importing
    the registry takes over a second, which every other command would pay)."""

    def format_help(self, ctx, formatter) -> None:  # type: ignore[no-untyped-def]
        from offchain.mechanisms import WORKERS

        for param in self.params:
            if param.name == "name":
                param.help = f"Worker name: {', '.join(sorted(WORKERS))}."
        super().format_help(ctx, formatter)


@one_line_errors
def chain(
    network: Optional[str] = typer.Option(
        None, help="local (chain id 31337, port 8545), fuji-rehearsal (43113, port 8546) or avalanche-rehearsal "
        "(43114, port 8547). Default: local; with --fork-url, the one with the upstream's chain id."),
    port: Optional[int] = typer.Option(None, help="Port to listen on instead of the network's RPC port, 1-65535."),
    node: str = typer.Option("anvil", help="anvil or ganache (Ganache 7 runs the shanghai build; no forks)."),
    fork_url: Optional[str] = typer.Option(
        None, help="Fork this http(s) RPC (C-Chain, Fuji, or a local chain): its state, its chain id, the test "
        "accounts funded; nothing is ever sent upstream. Anvil only."),
    fork_block: Optional[int] = typer.Option(None, help="Upstream block to fork at, 1 to the upstream's head "
                                             "(default: its latest). Needs --fork-url."),
) -> None:
    """Run a local chain (Anvil or Ganache, empty or a fork of a live network) in the foreground until Ctrl-C."""
    import time
    from urllib.parse import urlparse

    from offchain.chain import ANVIL_TEST_MNEMONIC, check_rpc_url, connect, get_network, port_open
    from offchain.chain.networks import local_network_for
    from offchain.chain.nodes import FORKS_ON_ANVIL, check_node_kind

    check_node_kind(node)
    if port is not None and not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, got {port}")
    if fork_block is not None and fork_url is None:
        fail("--fork-block needs --fork-url")
    upstream_chain = head = None
    if fork_url is not None:
        try:
            check_rpc_url(fork_url)
        except ValueError:
            fail("--fork-url must be an http(s)://host[:port] URL")
        if node != "anvil":
            fail(FORKS_ON_ANVIL)
        upstream = connect(fork_url, attempts=3)
        upstream_chain, head = upstream.eth.chain_id, upstream.eth.block_number
        if fork_block is not None and not 1 <= fork_block <= head:
            fail(f"--fork-block must be between 1 and the upstream's head {head}, got {fork_block}")
    config = get_network(network) if network is not None else (
        local_network_for(upstream_chain) if upstream_chain is not None else get_network("local"))
    if not config.local:
        fail(f"network {config.name} is remote: there is no chain to start")
    if upstream_chain is not None and upstream_chain != config.chain_id:
        fail(f"network {config.name} is chain {config.chain_id}, the upstream chain {upstream_chain}: a fork keeps "
             "the upstream's chain id")
    chosen = port or urlparse(config.require_rpc_url()).port
    if chosen is not None and port_open(chosen):
        fail(f"port {chosen} is already in use: stop what listens there or choose another with --port")
    forking = {} if fork_url is None else {"fork_url": fork_url, "fork_block": fork_block, "startup_timeout": 120.0}
    with config.start_node(node, port=port, **forking) as started:
        typer.echo(f"{started.display}, chain id {config.chain_id} (network {config.name}), listening on "
                   f"{started.rpc_url} (pid {started.pid}); Ctrl-C stops it.")
        if fork_url is not None:
            upstream_host = urlparse(fork_url).hostname  # the URL may carry an API key: the host only
            at = f"block {fork_block}" if fork_block is not None else f"its latest block ({head})"
            typer.echo(f"Fork of {upstream_host} at {at}: reads go upstream, transactions stay here.")
        if started.rpc_url != config.rpc_url:
            typer.echo(f"Set {config.rpc_env}={started.rpc_url} for kwx deploy / kwx worker --network {config.name}.")
        typer.echo(f"Test mnemonic (public, local networks only): {ANVIL_TEST_MNEMONIC}")
        for role, address in config.role_addresses().items():
            typer.echo(f"  {role:<9} {address}")
        while started.running:
            time.sleep(0.5)
    fail("the chain stopped by itself")


@one_line_errors
def deploy(
    network: str = typer.Option(..., help="local, fuji-rehearsal, fuji, avalanche-rehearsal or avalanche."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before sending to a remote network (on mainnet the "
                             "typed confirmation is still needed)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print every transaction with its measured gas and cost, "
                                 "send nothing."),
    base_fee_gwei: Optional[float] = typer.Option(None, help="Price the plan at this base fee, gwei (nAVAX) per gas, "
                                                  "0.001-1000000, instead of the chain's current one."),
    max_fee_gwei: Optional[float] = typer.Option(None, help="Most any transaction may offer per gas, gwei (nAVAX), "
                                                 "0.001-1000000; required on avalanche. Default: no cap."),
    confirm_mainnet: Optional[str] = typer.Option(None, help="The mainnet network's name, typed ahead (scripts): "
                                                  "otherwise kwx asks for it before sending on avalanche."),
) -> None:
    """Deploy the contract suite, or reuse the manifest of a live deployment from the same artifacts."""
    from offchain.chain import (
        DeployProgress,
        deploy_suite,
        find_reusable_manifest,
        get_network,
        manifest_path,
        plan_deployment,
        progress_path,
    )
    from offchain.chain.artifacts import project_root
    from offchain.mechanisms import SUITE

    config = get_network(network)
    cap_wei = _fee_cap(config, max_fee_gwei, confirm_mainnet, required=not dry_run)
    if base_fee_gwei is not None:
        _check_gwei("--base-fee-gwei", base_fee_gwei)
    folder = manifest_dir or project_root() / "deployments"
    config.account("ADMIN")  # a remote network refuses without a key before any connection
    client = config.client("ADMIN", max_fee_per_gas_cap=cap_wei)
    reusable = find_reusable_manifest(client, config, folder, SUITE)
    if dry_run and reusable is not None:
        typer.echo(f"Nothing to deploy: {manifest_path(config, folder)} is live on {config.name} (chain id "
                   f"{config.chain_id}) and built from the current artifacts. Nothing was sent.")
        return
    progress = DeployProgress.read(progress_path(config, folder)) if reusable is None else None
    if progress is not None:
        typer.echo(f"Resuming the deployment in {progress_path(config, folder)}: {len(progress.done)} step(s) "
                   "confirmed (checked against the chain before anything is sent)")
    if reusable is None and (dry_run or not config.local):
        base_fee_wei = None if base_fee_gwei is None else round(base_fee_gwei * 10**9)
        _print_plan(config, client, plan_deployment(client, suite=SUITE, base_fee_wei=base_fee_wei), base_fee_gwei)
        if dry_run:
            typer.echo("Dry run: nothing was sent.")
            return
        if not yes and not typer.confirm("Send these transactions?", default=False):
            fail("deployment cancelled; nothing was sent")
    if config.mainnet:
        _typed_confirmation(config, confirm_mainnet)
    manifest = deploy_suite(client, config, manifest_dir=folder, suite=SUITE)
    verb = "Reused" if reusable is not None else "Deployed"
    typer.echo(f"{verb} the suite on {config.name} (chain id {manifest.chain_id}): {manifest_path(config, folder)}")
    for name, address in manifest.contracts.items():
        typer.echo(f"  {name:<24} {address}")


def _print_plan(config: NetworkConfig, client: ChainClient, plan: DeploymentPlan, base_fee_gwei: float | None) -> None:
    """Every transaction of `plan` with its measured gas and its cost at the plan's price, the totals, and whether
    the deployer's balance covers the most it can cost."""
    price = plan.price_per_gas
    fee = f"base fee {base_fee_gwei:g} gwei (given)" if base_fee_gwei is not None else "the current base fee"
    typer.echo(f"Deploying to {config.name} (chain id {config.chain_id}) from {client.address}, priced at {fee} + tip "
               f"= {price / 1e9:g} gwei per gas:")
    for label, gas in plan.steps:
        typer.echo(f"  {label:<40} {gas:>10,} gas  {gas * price / 1e18:.6f} AVAX")
    typer.echo(f"  {'total (' + str(len(plan.steps)) + ' transactions)':<40} {plan.total_gas:>10,} gas  "
               f"{plan.total_cost_wei / 1e18:.6f} AVAX")
    balance = client.w3.eth.get_balance(client.address)
    covers = "covers" if balance >= plan.max_cost_wei else "does NOT cover"
    typer.echo(f"Estimated cost: {plan.total_cost_wei / 1e18:.6f} AVAX (at most {plan.max_cost_wei / 1e18:.6f} AVAX: "
               f"every gas limit at the fee cap of {plan.max_fee_per_gas / 1e9:g} gwei); the deployer's balance, "
               f"{balance / 1e18:.6f} AVAX, {covers} it.")


def _check_gwei(option: str, value: float) -> None:
    from offchain.workers.registry import MAX_FEE_GWEI_RANGE, check_range

    check_range(option, value, MAX_FEE_GWEI_RANGE)


def _fee_cap(config: NetworkConfig, max_fee_gwei: float | None, confirm_mainnet: str | None, *,
             required: bool) -> int | None:
    """The fee cap in wei from --max-fee-gwei (checked), after the mainnet rules that need no connection: a cap is
    required on mainnet when something may be sent; --confirm-mainnet only on mainnet, naming it."""
    if max_fee_gwei is not None:
        _check_gwei("--max-fee-gwei", max_fee_gwei)
    if confirm_mainnet is not None and not config.mainnet:
        fail(f"--confirm-mainnet is for mainnet networks only; {config.name} is not one")
    if config.mainnet and confirm_mainnet is not None and confirm_mainnet != config.name:
        fail(f"--confirm-mainnet must name the network ({config.name}), got {confirm_mainnet!r}; nothing was sent")
    if config.mainnet and required and max_fee_gwei is None:
        fail(f"network {config.name} needs --max-fee-gwei: a cap on what any transaction may pay per gas "
             "(C-Chain's base fee moves every block)")
    return None if max_fee_gwei is None else round(max_fee_gwei * 10**9)


def _typed_confirmation(config: NetworkConfig, confirm_mainnet: str | None) -> None:
    """Before anything is sent on a mainnet: the network's name typed at the prompt (or given ahead with
    --confirm-mainnet, already checked); anything else, or no terminal to ask, sends nothing."""
    if confirm_mainnet == config.name:
        return
    try:
        typed = typer.prompt(f"This sends real transactions on {config.title} (chain id {config.chain_id}). "
                             f"Type {config.name} to go on")
    except typer.Abort:
        typed = ""
    if typed.strip() != config.name:
        fail(f"not confirmed: nothing was sent on {config.name} (type {config.name}, or pass --confirm-mainnet "
             f"{config.name})")


@one_line_errors
def demo(
    node: Optional[str] = typer.Option(None, help="anvil or ganache (default: $KWX_NODE, else anvil)."),
) -> None:
    """Run the scripted community scenario on an embedded chain and print a report."""
    from offchain.chain.nodes import check_node_kind
    from offchain.demo import run_demo

    run_demo(node=None if node is None else check_node_kind(node))


@one_line_errors
def worker(
    name: str = typer.Argument(..., help="Worker name (see `kwx worker --help`)."),
    network: str = typer.Option("local", help="Network whose manifest and RPC the worker uses: local, fuji-rehearsal, "
                                "fuji, avalanche-rehearsal or avalanche."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the worker's SQLite cursor and journal."),
    once: bool = typer.Option(False, "--once", help="Process everything up to the chain head, print a summary, then "
                              "exit: status 0, or 1 if any result failed (the contract rejected it) in this run."),
    poll: float = typer.Option(5.0, help="Seconds between polls when running continuously, 0.1-3600."),
    window: int = typer.Option(64, help="Results signed and sent together (one JSON-RPC batch), 1-1000."),
    fresh: bool = typer.Option(False, "--fresh", help="Set the state file aside (<file>.<time>.old) and start a "
                               "new state: after a chain reset, or when the file is empty or unreadable."),
    on_reset: str = typer.Option("stop", help="When the chain is reset under the worker: stop (exit 1 with one "
                                 "line) or fresh (set the state aside and go on with the new chain)."),
    max_fee_gwei: Optional[float] = typer.Option(
        None, help="Most any transaction may offer per gas, in gwei (nAVAX), 0.001-1000000; re-pricing after a "
        "fee spike stops there. Required on avalanche. Default: no cap."),
    confirm_mainnet: Optional[str] = typer.Option(None, help="The mainnet network's name, typed ahead (services): "
                                                  "otherwise kwx asks for it before the worker starts on avalanche."),
    option: list[str] = typer.Option(
        [], "--option", "-o", metavar="KEY=VALUE",
        help="A worker option, repeatable (e.g. -o through_period=5); `kwx worker NAME --list-options` lists them.",
    ),
    list_options: bool = typer.Option(False, "--list-options", help="Print the worker's options and exit."),
) -> None:
    """Run an off-chain worker (JSON logs on stderr; SIGTERM or Ctrl-C stop it after the current step).

    With --once the exit status is 1 when any result failed in that run (a mined transaction reverted: final)
    or was deferred (the contract refused it before anything was sent; the next run retries it).
    """
    from offchain.chain import get_network, manifest_path
    from offchain.chain.artifacts import project_root
    from offchain.mechanisms import worker_spec
    from offchain.workers import parse_worker_options, run_worker
    from offchain.workers.registry import MAX_FEE_GWEI_RANGE, ON_RESET, POLL_RANGE, WINDOW_RANGE, check_range

    spec = worker_spec(name)
    check_range("--poll", poll, POLL_RANGE)
    check_range("--window", window, WINDOW_RANGE)
    if max_fee_gwei is not None:
        check_range("--max-fee-gwei", max_fee_gwei, MAX_FEE_GWEI_RANGE)
    if on_reset not in ON_RESET:
        fail(f"--on-reset must be one of {', '.join(ON_RESET)}, got {on_reset!r}")
    if state_dir.exists() and not state_dir.is_dir():
        fail(f"--state-dir {state_dir} is a file, not a folder")
    if list_options:
        declared = spec.options
        typer.echo(f"{name}: {spec.summary}")
        for key, spec in sorted(declared.items()):
            typer.echo(f"  -o {key}=...  {spec.help}")
        if not declared:
            typer.echo("  (no options)")
        return
    options = parse_worker_options(spec, option)
    config = get_network(network)
    _fee_cap(config, max_fee_gwei, confirm_mainnet, required=True)
    account = config.account("SCORER")  # a remote network refuses without a key before any connection
    if config.mainnet:
        _typed_confirmation(config, confirm_mainnet)
    summary = run_worker(
        spec,
        rpc_url=config.require_rpc_url(),
        manifest_path=manifest_path(config, manifest_dir or project_root() / "deployments"),
        state_dir=state_dir,
        once=once,
        poll_seconds=poll,
        window=window,
        fresh=fresh,
        on_reset=on_reset,
        max_fee_gwei=max_fee_gwei,
        account=account,
        **options,
    )
    if summary is not None:
        typer.echo(str(summary))
        problems = []
        if summary.failed:
            problems.append(f"{summary.failed} result(s) failed (a mined transaction reverted; see result_failed)")
        if summary.deferred:
            problems.append(f"{summary.deferred} result(s) not sent: the contract refuses them for now (see "
                            "result_deferred); the next run retries them")
        if problems:
            fail("; ".join(problems))


@one_line_errors
def up(
    network: str = typer.Option("local", help="local, fuji-rehearsal (an Anvil chain: started on the network's RPC "
                                "port unless one answers there) or fuji (needs its RPC and keys)."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the workers' state files and of up.json, "
                                   "the status `kwx status` reads."),
    poll: float = typer.Option(2.0, help="Seconds between each worker's polls, 0.1-3600."),
    skip: list[str] = typer.Option([], "--skip", metavar="WORKER", help="A worker not to run, repeatable."),
    option: list[str] = typer.Option(
        [], "--option", "-o", metavar="WORKER.KEY=VALUE",
        help="A worker option, repeatable (e.g. -o fedavg-aggregator.store_dir=/srv/models); a worker whose "
        "required options are missing is not started (`kwx status` says which it needs)."),
    on_reset: str = typer.Option("fresh", help="What a worker does when the chain behind it is not the one its state "
                                 "was made on (a chain kwx up just started never is): fresh (set the state aside and "
                                 "go on) or stop (exit; kwx up restarts it into the same refusal)."),
    json_lines: bool = typer.Option(False, "--json", help="The merged log as JSON lines (every line; the terminal "
                                    "form leaves out polls that did nothing)."),
) -> None:
    """Run the market: start (or connect to) the chain, deploy or reuse the suite, run every worker under one
    supervisor (restarted with backoff when it dies) with one merged log on stdout, until SIGTERM or Ctrl-C."""
    from offchain.chain.artifacts import project_root
    from offchain.service import run_up
    from offchain.workers.registry import ON_RESET, POLL_RANGE, check_range

    check_range("--poll", poll, POLL_RANGE)
    if on_reset not in ON_RESET:
        fail(f"--on-reset must be one of {', '.join(ON_RESET)}, got {on_reset!r}")
    if state_dir.exists() and not state_dir.is_dir():
        fail(f"--state-dir {state_dir} is a file, not a folder")
    run_up(network, manifest_dir=manifest_dir or project_root() / "deployments", state_dir=state_dir, poll=poll,
           option_pairs=option, skip=skip, on_reset=on_reset, json_lines=json_lines)


@one_line_errors
def status(
    network: str = typer.Option("local", help="Network whose chain head the lag is measured against."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the workers' state files and up.json."),
    json_out: bool = typer.Option(False, "--json", help="Print the status as one JSON object."),
) -> None:
    """Each worker's state under `kwx up` (restarts, last exit), cursor, lag behind the chain head, results and
    failures."""
    import json

    from offchain.service import status_lines, status_report

    if state_dir.exists() and not state_dir.is_dir():
        fail(f"--state-dir {state_dir} is a file, not a folder")
    report = status_report(network, state_dir)
    typer.echo(json.dumps(report, indent=2) if json_out else "\n".join(status_lines(report)))


@one_line_errors
def dashboard(
    network: str = typer.Option("local", help="Network whose deployment the dashboard shows."),
    port: int = typer.Option(8050, help="HTTP port on 127.0.0.1, 1-65535."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the workers' state files and up.json (the "
                                   "workers' health)."),
    poll: float = typer.Option(1.0, help="Seconds between reads of the chain, 0.1-3600."),
) -> None:
    """Serve the live market dashboard on http://127.0.0.1:PORT until Ctrl-C: the order book, the trade tape,
    balances, one panel per mechanism and the workers' health, built from the chain's events."""
    from offchain.chain import get_network, port_open
    from offchain.chain.artifacts import project_root
    from offchain.dashboard.server import serve
    from offchain.workers.registry import POLL_RANGE, check_range

    if not 1 <= port <= 65535:
        fail(f"--port must be between 1 and 65535, got {port}")
    check_range("--poll", poll, POLL_RANGE)
    config = get_network(network)
    config.require_rpc_url()
    if port_open(port):
        fail(f"port {port} is already in use: stop what listens there or choose another with --port")
    serve(config, manifest_dir=manifest_dir or project_root() / "deployments", state_dir=state_dir, port=port,
          poll=poll)


@one_line_errors
def gas(
    network: str = typer.Option("development", help="Brownie network to measure on (development starts Anvil on "
                                "8545)."),
) -> None:
    """Order-book gas benchmark: writes benchmarks/gas.json and benchmarks/gas.md (runs scripts/gas_benchmark.py)."""
    import os
    import shutil
    import subprocess

    from offchain.chain.artifacts import project_root

    root = project_root()
    brownie = shutil.which("brownie", path=str(Path(sys.executable).parent)) or shutil.which("brownie")
    if brownie is None:
        fail("brownie is not installed: run `make setup`")
    from brownie._config import CONFIG

    if network not in CONFIG.networks:
        fail(f"unknown brownie network {network!r}: `brownie networks list` shows them (development starts Anvil)")
    env = os.environ | {"SOLCX_BINARY_PATH": str(root / "toolchain" / "solcx")}
    env["PATH"] = os.pathsep.join([str(root / "node_modules" / ".bin"), env.get("PATH", "")])
    result = subprocess.run([brownie, "run", "scripts/gas_benchmark.py", "--network", network], cwd=root, env=env)
    if result.returncode != 0:
        fail(f"the gas benchmark failed (exit {result.returncode})", result.returncode)
    typer.echo(f"Wrote {root / 'benchmarks' / 'gas.md'} and gas.json")


app = build_app()


def main() -> None:
    """The console entry point: like `app`, but a usage error (an option that does not parse, a missing
    argument) is one line on stderr, as every other failure is."""
    from typer._click.exceptions import UsageError  # typer ships its own click

    command = typer.main.get_command(app)
    try:
        result = command.main(prog_name="kwx", standalone_mode=False)
    except typer.Abort:
        typer.echo("kwx: interrupted", err=True)
        raise SystemExit(130) from None
    except UsageError as error:
        where = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
        typer.echo(f"kwx: {error.format_message()}{where}".replace("\n", " "), err=True)
        raise SystemExit(error.exit_code) from None
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    raise SystemExit(result if isinstance(result, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
