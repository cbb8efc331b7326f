"""`kwx reproduce seed002`: seed 002's week in both scenarios, Tables 1-2 and Figs. 5-8 analogues, the cost under
hourly prices and the flexibility sweep. Heavy modules are imported inside the command."""

from __future__ import annotations

from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out

MAX_PARTICIPANTS = 10_000
EXCESS_RULES = ("in-order", "scaled")
LOADS = ("synthetic", "real")
#: --chain trades every participant-hour on the book through a clock moved hour by hour: at most the paper's 103
#: participants (the full week takes minutes: benchmarks/seed002_chain_week.md).
MAX_CHAIN_PARTICIPANTS = 103


@one_line_errors
def reproduce_seed002(
    out: Path = typer.Option(Path("out/seed002"), help="Output folder for the report, CSVs and plots."),
    participants: int = typer.Option(103, help="Participants, 1-10000 (the paper: 103)."),
    days: int = typer.Option(7, help="Days of the winter week, 3-7 (recommendations start on day 3)."),
    seed: int = typer.Option(2, help="Seed of the week (synthetic profiles; real: households drawn), >= 0."),
    loads: str = typer.Option("synthetic", help="synthetic (the seeded calibrated week) or real (ev2gym's Pecan "
                              "Street-derived household loads, Dutch PV and day-ahead prices, calibrated alike)."),
    threshold: float = typer.Option(0.85, help="PAR at or above which no penalties apply, in (0, 1] (paper: 0.85; "
                                    "Sec. 4's example 0.90)."),
    storage_hours: float = typer.Option(6.0, help="Each participant's battery, in hours of its mean consumption, "
                                        "0-168."),
    excess: str = typer.Option("in-order", help="REC rule when recommendations exceed the need: in-order (the "
                               "paper) or scaled."),
    sweep: bool = typer.Option(True, "--sweep/--no-sweep", help="Also run the flexibility sweep beyond the paper."),
    on_chain: bool = typer.Option(False, "--chain", help="Run the REC scenario's purchases and sales of --participants x "
                                  "--days through the hourly book and the workers on an embedded Anvil instead (at most "
                                  f"{MAX_CHAIN_PARTICIPANTS} participants), every vector and root checked against "
                                  "the plan and bought / sold / net kWh and EUR with the Python run."),
) -> None:
    """Seed 002 (Košťál et al. 2024): community peak control, NOREC vs REC over a winter week (or --chain)."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        fail(f"--participants must be between 1 and {MAX_PARTICIPANTS}, got {participants}")
    if not 3 <= days <= 7:
        fail(f"--days must be between 3 and 7 (recommendations start on day 3), got {days}")
    if seed < 0:
        fail(f"--seed must be >= 0, got {seed}")
    if not 0 < threshold <= 1:
        fail(f"--threshold must be in (0, 1], got {threshold}")
    if not 0 <= storage_hours <= 168:
        fail(f"--storage-hours must be between 0 and 168, got {storage_hours}")
    if excess not in EXCESS_RULES:
        fail(f"--excess must be one of {', '.join(EXCESS_RULES)}, got {excess!r}")
    if loads not in LOADS:
        fail(f"--loads must be one of {', '.join(LOADS)}, got {loads!r}")
    if on_chain and participants > MAX_CHAIN_PARTICIPANTS:
        fail(f"--participants must be at most {MAX_CHAIN_PARTICIPANTS} with --chain, got {participants}")
    prepare_out(out)
    from offchain.data.seed002 import REAL_WEEK_START, generate_week, real_calibrated_week
    from offchain.mechanisms.peak_control.model import reproduce_week
    from offchain.mechanisms.peak_control.plan import Flexibility, PeakSettings, RecRules

    settings = PeakSettings(threshold=threshold, flexibility=Flexibility(storage_hours=storage_hours),
                            rules=RecRules(excess=excess))  # type: ignore[arg-type]
    week = (generate_week if loads == "synthetic" else real_calibrated_week)(participants, days, seed)
    if on_chain:
        from offchain.mechanisms.peak_control.chain_run import reproduce_chain

        report, checks = reproduce_chain(out, week, settings)
        failed = [c for c in checks if not c[1]]
        if failed:
            fail(f"{len(failed)} of {len(checks)} on-chain checks differ from the plan; see {report}")
        typer.echo(f"All {len(checks)} on-chain checks equal the plan; wrote {report}")
        return
    source = {"synthetic": "seeded synthetic week (offchain/data/seed002.py)",
              "real": f"real loads: ev2gym's household loads, Dutch PV and day-ahead prices from {REAL_WEEK_START} "
                      "(offchain/data/seed002.py: real_week), calibrated to the paper's NOREC totals"}[loads]
    result = reproduce_week(out, week, settings, sweep=sweep, source=source)
    met = sum(r.met for r in result.results)
    typer.echo(f"Wrote {result.files[0]} ({met} of {len(result.results)} reproduced results met)")
