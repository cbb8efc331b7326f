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

        try:
            return command(*args, **kwargs)
        except (KwxChainError, ValueError, FileNotFoundError) as error:
            _fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


@app.command()
@one_line_errors
def chain(
    network: str = typer.Option("local", help="local (chain id 31337) or fuji-rehearsal (chain id 43113)."),
    port: Optional[int] = typer.Option(None, help="Port to listen on (default: the network's RPC port)."),
) -> None:
    """Run a local Anvil chain in the foreground until Ctrl-C."""
    from offchain.chain import ANVIL_TEST_MNEMONIC, EmbeddedAnvil, accounts_from_mnemonic, get_network
    from offchain.chain.networks import port_of

    config = get_network(network)
    if config.remote:
        _fail(f"network {network!r} is remote; `kwx chain` runs only local networks (local, fuji-rehearsal)")
    with EmbeddedAnvil(chain_id=config.chain_id, port=port or port_of(config.rpc_url)) as node:
        typer.echo(f"Anvil chain id {config.chain_id} listening on {node.rpc_url} (pid {node.pid}); Ctrl-C stops it.")
        typer.echo(f"Test mnemonic (public, local only): {ANVIL_TEST_MNEMONIC}")
        for index, account in enumerate(accounts_from_mnemonic(ANVIL_TEST_MNEMONIC, 4)):
            role = ["admin/deployer", "operator", "meter", "scorer"][index]
            typer.echo(f"  account {index} ({role}): {account.address}")
        node.wait()


@app.command()
@one_line_errors
def deploy(
    network: str = typer.Option(..., help="local, fuji-rehearsal or fuji."),
    manifest_dir: Path = typer.Option(Path("deployments"), help="Where deployments/<network>.json is written."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask before sending to a remote network."),
) -> None:
    """Deploy the contract suite (or reuse the manifest of an identical earlier deployment)."""
    from offchain.chain import connect, deploy_suite, get_network, load_manifest, plan_deployment
    from offchain.chain.networks import deployer_for

    config = get_network(network)
    account = deployer_for(config)
    w3 = connect(config.rpc_url, expected_chain_id=config.chain_id)
    from offchain.chain import ChainClient

    client = ChainClient(w3, account)
    if config.remote:
        existing = load_manifest(manifest_dir / f"{config.name}.json")
        if existing is None or not existing.is_live(w3):
            steps, total_wei = plan_deployment(client)
            typer.echo(f"Deploying to {config.name} (chain id {config.chain_id}) from {client.address}:")
            for name, gas in steps:
                typer.echo(f"  {name:<24} ~{gas:>10,} gas")
            typer.echo(f"Estimated cost: {total_wei / 1e18:.6f} AVAX at current fees")
            if not yes and not typer.confirm("Send these transactions?", default=False):
                _fail("deployment cancelled; nothing was sent")
    manifest = deploy_suite(client, config, manifest_dir=manifest_dir)
    verb = "Reused" if manifest.reused else "Deployed"
    typer.echo(f"{verb} suite on {config.name} (chain id {manifest.chain_id}); manifest {manifest.path}")
    for name, address in manifest.contracts.items():
        typer.echo(f"  {name:<24} {address}")


@app.command()
@one_line_errors
def demo() -> None:
    """Run the scripted community scenario on an embedded Anvil chain and print a report."""
    from offchain.demo import run_demo

    run_demo()


@app.command()
@one_line_errors
def worker(
    name: str = typer.Argument(..., help="Worker name (see `kwx worker --list`)."),
    network: str = typer.Option("local", help="Network whose manifest and RPC the worker uses."),
    manifest_dir: Path = typer.Option(Path("deployments"), help="Folder holding <network>.json."),
    state_dir: Path = typer.Option(Path("var/workers"), help="Folder of the worker's SQLite cursor and journal."),
    once: bool = typer.Option(False, "--once", help="Process everything up to the chain head, then exit."),
    poll: float = typer.Option(2.0, help="Seconds between polls when running continuously."),
) -> None:
    """Run an off-chain worker daemon (stops cleanly on SIGTERM or Ctrl-C)."""
    from offchain.chain import get_network
    from offchain.workers import WORKERS, run_worker

    if name not in WORKERS:
        _fail(f"unknown worker {name!r}; known: {', '.join(sorted(WORKERS))}")
    config = get_network(network)
    summary = run_worker(
        name,
        network=config,
        manifest_path=manifest_dir / f"{config.name}.json",
        state_dir=state_dir,
        once=once,
        poll_seconds=poll,
    )
    typer.echo(str(summary))


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="kwx")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
