"""`kwx reproduce seed001-coalitions`: seed 001 ch. 3's tables and figures from the model, or slots through
the contracts (--chain). Heavy modules are imported inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from offchain.commands import fail, int_list, one_line_errors, prepare_out

#: Upper bounds: beyond them a run takes hours (coalition formation grows fast with the community; the thesis
#: stops at 50 prosumers), so a typo is refused rather than left running.
MAX_SIZE = 100
MAX_REPETITIONS = 1_000
MAX_VERDICT_RUNS = 10_000
MAX_SLOTS = 100


@one_line_errors
def reproduce_seed001_coalitions(
    out: Path = typer.Option(Path("out/seed001-coalitions"), help="Output folder for tables, plots (and with --chain "
                             "the on-chain report and its gas benchmark)."),
    repetitions: Optional[int] = typer.Option(
        None, help="Seeded repetitions per size and distribution, 1-1000 (default 20). Not with --chain."),
    sizes: Optional[str] = typer.Option(
        None, help="Comma-separated numbers of prosumers, each 2-100 (default 10,20,30,40,50). Not with --chain."),
    verdict_runs: Optional[int] = typer.Option(
        None, help="Most runs a cell gets when its 99% interval still straddles a target bound after "
        "--repetitions, at most 10000 (default 640; equal to --repetitions: no extra runs). Not with --chain."),
    on_chain: bool = typer.Option(False, "--chain", help="Run slots of 10 prosumers through the contracts on an "
                                  "embedded Anvil instead."),
    slots: Optional[int] = typer.Option(None, help="--chain only: slots to run, 2-100 (default 3; slot 2 has a missed "
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
            fail(f"{option} applies only {'with' if not on_chain else 'without'} --chain")
    if on_chain:
        from offchain.chain.artifacts import project_root
        from offchain.mechanisms.coalition_market.chain_run import reproduce_chain

        slot_count = 3 if slots is None else slots
        if slot_count < 2:
            fail(f"--slots must be at least 2 (slot 2 has the missed mining window), got {slot_count}")
        if slot_count > MAX_SLOTS:
            fail(f"--slots must be at most {MAX_SLOTS}, got {slot_count}")
        benchmarks = project_root() / "benchmarks" if update_benchmarks else None
        prepare_out(out)
        run = reproduce_chain(out, slots=slot_count, benchmark_dir=benchmarks)
        report = out / "seed001-chain.md"
        wrote = f"{report} and {out / 'consensus_gas'}.{{md,json}}"
        if benchmarks is not None:
            wrote = f"{report}, {out / 'consensus_gas'}.{{md,json}} and {benchmarks / 'consensus_gas'}.{{md,json}}"
        failed = [check for check in run.checks if not check.ok]
        if failed:
            fail(f"{len(failed)} of {len(run.checks)} on-chain checks differ from run_slot; see {report} "
                  f"(wrote {wrote})")
        typer.echo(f"All {len(run.checks)} on-chain checks equal run_slot; wrote {wrote}")
        return
    count = 20 if repetitions is None else repetitions
    if not 1 <= count <= MAX_REPETITIONS:
        fail(f"--repetitions must be between 1 and {MAX_REPETITIONS}, got {count}")
    size_list = int_list("10,20,30,40,50" if sizes is None else sizes, "--sizes")
    if min(size_list) < 2:
        fail(f"--sizes must each be at least 2 (a coalition needs a seller and a buyer), got {sizes!r}")
    if max(size_list) > MAX_SIZE:
        fail(f"--sizes must each be at most {MAX_SIZE}, got {sizes!r}")
    from offchain.mechanisms.coalition_market.model import (
        VERDICT_MAX_REPETITIONS,
        reproduce_coalitions,
    )

    most = max(VERDICT_MAX_REPETITIONS, count) if verdict_runs is None else verdict_runs
    if most < count:
        fail(f"--verdict-runs must be at least --repetitions ({count}), got {most}")
    if most > MAX_VERDICT_RUNS:
        fail(f"--verdict-runs must be at most {MAX_VERDICT_RUNS}, got {most}")
    prepare_out(out)
    result = reproduce_coalitions(out, repetitions=count, sizes=size_list, verdict_max_repetitions=most)
    met = sum(r.met for r in result.results)
    typer.echo(f"{met} of {len(result.results)} reproduced results met; wrote {out / 'seed001.md'} (with its three "
               "lists)")
