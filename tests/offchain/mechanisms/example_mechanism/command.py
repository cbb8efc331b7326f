"""`kwx reproduce example`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out


@one_line_errors
def reproduce_example(
    out: Path = typer.Option(Path("out/example"), help="Output folder."),
    slots: int = typer.Option(3, help="Slots to compute, 1..1000."),
    seed: int = typer.Option(0, help="Seed of the values, >= 0."),
    on_chain: bool = typer.Option(False, "--chain", help="Also run the slots through the contract."),
) -> None:
    """The example mechanism: one value per slot, off chain and (--chain) through its contract."""
    if not 1 <= slots <= 1_000 or seed < 0:
        fail(f"--slots must be 1..1000 and --seed >= 0, got {slots} and {seed}")
    from .model import run_model, write_report

    prepare_out(out)
    chain = None
    if on_chain:
        from .chain_run import run_chain

        with tempfile.TemporaryDirectory(prefix="kwx-example-") as work:
            chain = run_chain(Path(work), slots, seed)
    typer.echo(f"Wrote {write_report(out, run_model(slots, seed), chain)}")
