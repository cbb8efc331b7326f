"""`kwx`: the Kilowatt Exchange command line.

Every command fails with one line on stderr and a non-zero exit when its input is bad (unknown
network, missing key for a remote network, unreachable RPC, missing build artifacts) and changes
nothing in that case. Heavy modules are imported inside the commands so `kwx --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Callable, Optional, TypeVar

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Kilowatt Exchange: peer-to-peer energy trading contracts and their off-chain workers.",
)
reproduce_app = typer.Typer(no_args_is_help=True, help="Reproduce a seed paper's tables and figures.")
app.add_typer(reproduce_app, name="reproduce")

F = TypeVar("F", bound=Callable[..., object])


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"kwx: {message}", err=True)
    raise typer.Exit(code)


def one_line_errors(command: F) -> F:
    """Turns the project's own errors into `kwx: <message>` on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from offchain.chain import KwxChainError
        from offchain.workers import WorkerStateError

        try:
            return command(*args, **kwargs)
        except (KwxChainError, WorkerStateError, ValueError, OSError) as error:
            _fail(_one_line(error))
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def _one_line(error: Exception) -> str:
    """The first line of `error`'s message; an OSError as "<path>: <reason>" (no errno)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    text = str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__


def _prepare_out(out: Path) -> None:
    """Creates the --out folder, or fails with one line (it is a file, lies below a file, cannot be made)
    before a reproduce command does any work."""
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _fail(f"--out {out}: cannot create the folder ({error.strerror or error})")


class _WorkerCommand(typer.core.TyperCommand):
    """`kwx worker`: its NAME help lists the registered workers, read only when the help is shown (importing
    the registry takes over a second, which every other command would pay)."""

    def format_help(self, ctx, formatter) -> None:  # type: ignore[no-untyped-def]
        from offchain.workers import WORKERS

        for param in self.params:
            if param.name == "name":
                param.help = f"Worker name: {', '.join(sorted(WORKERS))}."
        super().format_help(ctx, formatter)


@app.command()
@one_line_errors
def chain(
    network: str = typer.Option("local", help="local (chain id 31337, port 8545) or fuji-rehearsal (43113, "
                                "port 8546)."),
    port: Optional[int] = typer.Option(None, help="Port to listen on instead of the network's RPC port."),
) -> None:
    """Run a local Anvil chain in the foreground until Ctrl-C."""
    import time

    from offchain.chain import ANVIL_TEST_MNEMONIC, EmbeddedAnvil, get_network

    config = get_network(network)
    node = EmbeddedAnvil(chain_id=config.chain_id, port=port) if port else config.embedded_anvil()
    with node:
        typer.echo(f"Anvil, chain id {config.chain_id}, listening on {node.rpc_url} (pid {node.pid}); Ctrl-C stops it.")
        typer.echo(f"Test mnemonic (public, local networks only): {ANVIL_TEST_MNEMONIC}")
        for role, address in config.role_addresses().items():
            typer.echo(f"  {role:<9} {address}")
        while node.running:
            time.sleep(0.5)
    _fail("the chain stopped by itself")


@app.command()
@one_line_errors
def deploy(
    network: str = typer.Option(..., help="local, fuji-rehearsal or fuji."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before sending to a remote network."),
) -> None:
    """Deploy the contract suite, or reuse the manifest of a live deployment from the same artifacts."""
    from offchain.chain import deploy_suite, find_reusable_manifest, get_network, manifest_path, plan_deployment
    from offchain.chain.artifacts import project_root

    config = get_network(network)
    folder = manifest_dir or project_root() / "deployments"
    client = config.client("ADMIN")
    reusable = find_reusable_manifest(client, config, folder)
    if reusable is None and not config.local:
        plan = plan_deployment(client)
        typer.echo(f"Deploying to {config.name} (chain id {config.chain_id}) from {client.address}:")
        for label, gas in plan.steps:
            typer.echo(f"  {label:<40} {gas:>10,} gas")
        typer.echo(
            f"Estimated cost: {plan.total_cost_wei / 1e18:.6f} AVAX at current fees "
            f"(at most {plan.max_cost_wei / 1e18:.6f} AVAX)"
        )
        if not yes and not typer.confirm("Send these transactions?", default=False):
            _fail("deployment cancelled; nothing was sent")
    manifest = deploy_suite(client, config, manifest_dir=folder)
    verb = "Reused" if reusable is not None else "Deployed"
    typer.echo(f"{verb} the suite on {config.name} (chain id {manifest.chain_id}): {manifest_path(config, folder)}")
    for name, address in manifest.contracts.items():
        typer.echo(f"  {name:<24} {address}")


@app.command()
@one_line_errors
def demo() -> None:
    """Run the scripted community scenario on an embedded Anvil chain and print a report."""
    from offchain.demo import run_demo

    run_demo()


@app.command(cls=_WorkerCommand)
@one_line_errors
def worker(
    name: str = typer.Argument(..., help="Worker name (see `kwx worker --help`)."),
    network: str = typer.Option("local", help="Network whose manifest and RPC the worker uses: local, fuji-rehearsal "
                                "or fuji."),
    manifest_dir: Optional[Path] = typer.Option(None, help="Folder of <network>.json (default: deployments/ in the "
                                                "project)."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the worker's SQLite cursor and journal."),
    once: bool = typer.Option(False, "--once", help="Process everything up to the chain head, print a summary, then "
                              "exit: status 0, or 1 if any result failed (the contract rejected it) in this run."),
    poll: float = typer.Option(5.0, help="Seconds between polls when running continuously."),
    option: list[str] = typer.Option(
        [], "--option", "-o", metavar="KEY=VALUE",
        help="A worker option, repeatable (e.g. -o through_period=5); `kwx worker NAME --list-options` lists them.",
    ),
    list_options: bool = typer.Option(False, "--list-options", help="Print the worker's options and exit."),
) -> None:
    """Run an off-chain worker (JSON logs on stderr; SIGTERM or Ctrl-C stop it after the current step).

    With --once the exit status is 1 when any result failed in that run (`failed` in the summary; the
    worker does not retry it: docs/workers.md).
    """
    from offchain.chain import get_network, manifest_path
    from offchain.chain.artifacts import project_root
    from offchain.workers import WORKERS, parse_worker_options, run_worker

    if name not in WORKERS:
        _fail(f"unknown worker {name!r}; known: {', '.join(sorted(WORKERS))}")
    if list_options:
        declared = WORKERS[name].options
        typer.echo(f"{name}: {WORKERS[name].summary}")
        for key, spec in sorted(declared.items()):
            typer.echo(f"  -o {key}=...  {spec.help}")
        if not declared:
            typer.echo("  (no options)")
        return
    options = parse_worker_options(name, option)
    config = get_network(network)
    summary = run_worker(
        name,
        rpc_url=config.require_rpc_url(),
        manifest_path=manifest_path(config, manifest_dir or project_root() / "deployments"),
        state_dir=state_dir,
        once=once,
        poll_seconds=poll,
        account=config.account("SCORER"),
        **options,
    )
    if summary is not None:
        typer.echo(str(summary))
        if summary.failed:
            _fail(f"{summary.failed} result(s) failed in this run (the contract rejected them; see the "
                  "result_failed log lines and docs/workers.md on retrying)")


@app.command()
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
        _fail("brownie is not installed: run `make setup`")
    env = os.environ | {"SOLCX_BINARY_PATH": str(root / "toolchain" / "solcx")}
    env["PATH"] = os.pathsep.join([str(root / "node_modules" / ".bin"), env.get("PATH", "")])
    result = subprocess.run([brownie, "run", "scripts/gas_benchmark.py", "--network", network], cwd=root, env=env)
    if result.returncode != 0:
        _fail(f"the gas benchmark failed (exit {result.returncode})", result.returncode)
    typer.echo(f"Wrote {root / 'benchmarks' / 'gas.md'} and gas.json")


@reproduce_app.command("seed000")
@one_line_errors
def reproduce_seed000(
    out: Path = typer.Option(Path("out/seed000"), help="Output folder for tables, plots and exchange.csv."),
    forecast: Optional[str] = typer.Option(
        None, help="perfect, federated or both (federated trains LSTMs: minutes). Default: both; with --chain, "
        "perfect (federated on chain also publishes every FedAvg round through the fedavg-aggregator worker)."),
    evs: str = typer.Option("0,1,2,3,4,5", help="Comma-separated shared-EV counts (0 = Isolated)."),
    on_chain: bool = typer.Option(False, "--chain", help="Run a window of the day through the contracts on an "
                                  "embedded Anvil."),
    window: str = typer.Option("600,60", help="--chain: first period,number of periods (a full day is 0,1440: "
                               "~18 min)."),
) -> None:
    """Seed 000: Isolated and 1-5 shared EVs x {greedy, Hungarian} x {perfect, federated}; Tables I-III, Figs 6-7."""
    if forecast not in (None, "perfect", "federated", "both"):
        _fail(f"unknown --forecast {forecast!r}: use perfect, federated or both")
    ev_list = _int_list(evs, "--evs")
    if on_chain:
        from offchain.scenarios.seed000_chain import compare_with_model, run_day_on_chain, write_summary

        window_values = _int_list(window, "--window")
        if len(window_values) != 2:
            _fail(f"--window takes FIRST,COUNT (two integers), got {window!r}")
        first, count = window_values
        modes = ("perfect", "federated") if forecast == "both" else (forecast or "perfect",)
        _prepare_out(out)
        runs = []
        ev_counts = [n for n in ev_list if n > 0]  # Isolated has no shared EV to match on chain
        for mode in modes:
            for ev_count in ev_counts:
                for method in ("greedy", "hungarian"):
                    result = run_day_on_chain(evs=ev_count, method=method, window=(first, count), forecast=mode,
                                              progress=True)
                    runs.append((result, compare_with_model(result, cache_dir=out / "cache")))
        write_summary(runs, out)
        differing = [r for r, comparison in runs if not comparison["identical"]]
        if differing:
            _fail(f"{len(differing)} on-chain run(s) differ from the Python model; see {out}/seed000_chain.md")
        typer.echo(f"{len(runs)} on-chain runs equal the Python model; wrote {out}/seed000_chain.md")
        return
    from offchain.scenarios.seed000 import reproduce

    modes = ("perfect", "federated") if forecast in (None, "both") else (forecast,)
    _prepare_out(out)
    results = reproduce(out, forecast=modes, evs=ev_list)
    typer.echo(f"Wrote {len(results.files)} files; the tables beside the paper's are in {out}/seed000.md")


@reproduce_app.command("seed001-coalitions")
@one_line_errors
def reproduce_seed001_coalitions(
    out: Path = typer.Option(Path("out/seed001-coalitions"), help="Output folder for tables, plots (and with --chain "
                             "the on-chain report and its gas benchmark)."),
    repetitions: Optional[int] = typer.Option(
        None, help="Seeded repetitions per size and distribution, >= 1 (default 20). Not with --chain."),
    sizes: Optional[str] = typer.Option(
        None, help="Comma-separated numbers of prosumers, each >= 2 (default 10,20,30,40,50). Not with --chain."),
    verdict_runs: Optional[int] = typer.Option(
        None, help="Most runs a cell gets when its 99% interval still straddles a target bound after "
        "--repetitions (default 640; equal to --repetitions: no extra runs). Not with --chain."),
    on_chain: bool = typer.Option(False, "--chain", help="Run slots of 10 prosumers through the contracts on an "
                                  "embedded Anvil instead."),
    slots: Optional[int] = typer.Option(None, help="--chain only: slots to run, >= 2 (default 3; slot 2 has a missed "
                                        "mining window, slot 3 an unpaid mining fee)."),
    update_benchmarks: bool = typer.Option(
        False, "--update-benchmarks", help="--chain only: also write the gas benchmark to the project's "
        "benchmarks/consensus_gas.{md,json} (by default it goes to --out only)."),
) -> None:
    """Seed 001 ch. 3: the 10-prosumer merge/split log, scaling runs, miner-draw frequencies (or --chain).

    Without --chain: --repetitions, --sizes and --verdict-runs apply. With --chain: --slots and
    --update-benchmarks apply.
    """
    mode_options = {"--repetitions": repetitions is not None, "--sizes": sizes is not None,
                    "--verdict-runs": verdict_runs is not None}
    chain_options = {"--slots": slots is not None, "--update-benchmarks": update_benchmarks}
    for option, given in (chain_options if not on_chain else mode_options).items():
        if given:
            _fail(f"{option} applies only {'with' if not on_chain else 'without'} --chain")
    if on_chain:
        from offchain.chain.artifacts import project_root
        from offchain.scenarios.seed001_chain import reproduce_chain

        slot_count = 3 if slots is None else slots
        if slot_count < 2:
            _fail(f"--slots must be at least 2 (slot 2 has the missed mining window), got {slot_count}")
        benchmarks = project_root() / "benchmarks" if update_benchmarks else None
        _prepare_out(out)
        run = reproduce_chain(out, slots=slot_count, benchmark_dir=benchmarks)
        report = out / "seed001-chain.md"
        wrote = f"{report} and {out / 'consensus_gas'}.{{md,json}}"
        if benchmarks is not None:
            wrote = f"{report}, {out / 'consensus_gas'}.{{md,json}} and {benchmarks / 'consensus_gas'}.{{md,json}}"
        failed = [check for check in run.checks if not check.ok]
        if failed:
            _fail(f"{len(failed)} of {len(run.checks)} on-chain checks differ from run_slot; see {report} "
                  f"(wrote {wrote})")
        typer.echo(f"All {len(run.checks)} on-chain checks equal run_slot; wrote {wrote}")
        return
    count = 20 if repetitions is None else repetitions
    if count < 1:
        _fail(f"--repetitions must be at least 1, got {count}")
    size_list = _int_list("10,20,30,40,50" if sizes is None else sizes, "--sizes")
    if min(size_list) < 2:
        _fail(f"--sizes must each be at least 2 (a coalition needs a seller and a buyer), got {sizes!r}")
    from offchain.scenarios.seed001 import VERDICT_MAX_REPETITIONS, reproduce_coalitions

    most = max(VERDICT_MAX_REPETITIONS, count) if verdict_runs is None else verdict_runs
    if most < count:
        _fail(f"--verdict-runs must be at least --repetitions ({count}), got {most}")
    _prepare_out(out)
    reproduce_coalitions(out, repetitions=count, sizes=size_list, verdict_max_repetitions=most)
    typer.echo(f"Wrote {out / 'seed001.md'}")


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option} takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise ValueError(f"{option} takes comma-separated non-negative integers, got {text!r}")
    return values


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="kwx")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
