"""`kwx reproduce seed003-pob`."""

from __future__ import annotations

from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out


def _counts(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not 5 <= v <= 1_000 for v in values):
        fail(f"--ch6-evs must be a comma list of EV counts in 5..1000, got {text!r}")
    return values


@one_line_errors
def reproduce_seed003_pob(
    out: Path = typer.Option(Path("out/seed003-pob"), help="Output folder."),
    seed: int = typer.Option(5, help="Seed of the populations and the network runs, >= 0."),
    ch6_evs: str = typer.Option("30,60", help="Ch6 arrival sweep: EVs per day, comma list, each 5..1000."),
    ch6_seeds: int = typer.Option(1, help="Ch6 instances per EV count, 1..10."),
) -> None:
    """Seed 003 Ch5-6: the PEBT day, the ePoB arrival sweep with the competitive-ratio check, latency and Sybil."""
    if seed < 0 or not 1 <= ch6_seeds <= 10:
        fail(f"--seed must be >= 0 and --ch6-seeds 1..10, got {seed} and {ch6_seeds}")
    counts = _counts(ch6_evs)
    from .model import run_ch5, run_ch6, run_latency, run_sybil, write_report

    prepare_out(out)
    ch5 = run_ch5(seed)
    ch6 = run_ch6(counts, [seed + i for i in range(ch6_seeds)])
    typer.echo(f"Wrote {write_report(out, ch5, ch6, run_latency(seed), run_sybil(seed))}")
