"""`kwx reproduce seed000`: seed 000's tables and figures from the model, or a window of the day through
the contracts (--chain). Heavy modules are imported inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from offchain.commands import fail, int_list, one_line_errors, prepare_out
from offchain.data.seed000 import PERIODS_PER_DAY as DAY_PERIODS

#: Most shared EVs a run takes: the paper runs 1-5; every EV is a simulated agent (and on chain an account).
MAX_EVS = 20


@one_line_errors
def reproduce_seed000(
    out: Path = typer.Option(Path("out/seed000"), help="Output folder for tables, plots and exchange.csv."),
    forecast: Optional[str] = typer.Option(
        None, help="perfect, federated or both (federated trains LSTMs with the paper's MSE loss: minutes). Default: "
        "both, which also runs the L1 variant and the persistence and seasonal-naive baselines for Table III; with "
        "--chain, perfect (federated on chain also publishes every FedAvg round through the fedavg-aggregator "
        "worker)."),
    evs: str = typer.Option("0,1,2,3,4,5", help="Comma-separated shared-EV counts, each 0-20 (0 = Isolated)."),
    on_chain: bool = typer.Option(False, "--chain", help="Run a window of the day through the contracts on an "
                                  "embedded Anvil."),
    window: Optional[str] = typer.Option(None, help="--chain only: first period,number of periods inside the day's "
                                         "1440 (default 600,60; a full day is 0,1440: ~15 min per method)."),
) -> None:
    """Seed 000: Isolated and 1-5 shared EVs x {greedy, Hungarian} x {perfect, federated}; Tables I-III, Figs 6-7."""
    if forecast not in (None, "perfect", "federated", "both"):
        fail(f"unknown --forecast {forecast!r}: use perfect, federated or both")
    ev_list = int_list(evs, "--evs")
    if max(ev_list) > MAX_EVS:
        fail(f"--evs takes counts from 0 to {MAX_EVS}, got {evs!r}")
    if window is not None and not on_chain:
        fail("--window applies only with --chain")
    if on_chain:
        from offchain.mechanisms.fog_ems.chain_run import (
            compare_with_model,
            run_day_on_chain,
            write_summary,
        )

        window_values = int_list(window or "600,60", "--window")
        if len(window_values) != 2:
            fail(f"--window takes FIRST,COUNT (two integers), got {window!r}")
        first, count = window_values
        if count < 1 or first + count > DAY_PERIODS:
            fail(f"--window must lie inside the day's {DAY_PERIODS} periods with COUNT >= 1, got {window!r}")
        modes = ("perfect", "federated") if forecast == "both" else (forecast or "perfect",)
        prepare_out(out)
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
            fail(f"{len(differing)} on-chain run(s) differ from the Python model; see {out}/seed000_chain.md")
        typer.echo(f"{len(runs)} on-chain runs equal the Python model; wrote {out}/seed000_chain.md")
        return
    from offchain.mechanisms.fog_ems.model import reproduce

    from offchain.mechanisms.fog_ems.model import FORECAST_MODES

    modes = FORECAST_MODES if forecast in (None, "both") else (forecast,)
    prepare_out(out)
    results = reproduce(out, forecast=modes, evs=ev_list)
    met = sum(r.met for r in results.results)
    typer.echo(f"{met} of {len(results.results)} reproduced results met; wrote {len(results.files)} files, the "
               f"report with its three lists is {out}/seed000.md")
