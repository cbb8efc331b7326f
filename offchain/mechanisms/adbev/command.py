"""`kwx reproduce seed003-scheduling` (Ch3: uncontrolled, conventional and GA schedules). Heavy modules are
imported inside the command."""

from __future__ import annotations

from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out

MAX_GENERATIONS = 10_000
MAX_POPULATION = 1_000
MAX_EVS = 1_000


@one_line_errors
def reproduce_seed003_scheduling(
    out: Path = typer.Option(Path("out/seed003-scheduling"), help="Output folder for the report and the plot."),
    generations: int = typer.Option(1000, help="GA generations, 1-10000 (the thesis: 1000)."),
    population: int = typer.Option(40, help="GA individuals per generation, 4-1000 (the thesis gives none)."),
    evs: int = typer.Option(100, help="EVs (= households), 1-1000 (the thesis: 100)."),
    seed: int = typer.Option(3, help="Seed of the EV population and the GA."),
) -> None:
    """Seed 003 Ch3: one day of 100 EVs behind a 250 kVA transformer under three schedulers."""
    if not 1 <= generations <= MAX_GENERATIONS:
        fail(f"--generations must be between 1 and {MAX_GENERATIONS}, got {generations}")
    if not 4 <= population <= MAX_POPULATION:
        fail(f"--population must be between 4 and {MAX_POPULATION}, got {population}")
    if not 1 <= evs <= MAX_EVS:
        fail(f"--evs must be between 1 and {MAX_EVS}, got {evs}")
    if seed < 0:
        fail(f"--seed must be non-negative, got {seed}")
    prepare_out(out)
    from offchain.algorithms.ev_scheduling import GaSettings
    from offchain.data.seed003 import ev_population
    from offchain.mechanisms.adbev.scheduling import reproduce_scheduling

    settings = GaSettings(generations=generations, population=population, seed=seed)
    _, checks = reproduce_scheduling(out, ev_population("ch3", omega=evs, seed=seed), settings)
    met = sum(check.met for check in checks)
    for check in checks:
        typer.echo(f"{'met    ' if check.met else 'NOT met'}  {check.result}: thesis {check.thesis}, ours {check.ours}")
    typer.echo(f"{met} of {len(checks)} Ch3 targets met; wrote {out / 'seed003-ch3.md'}")
