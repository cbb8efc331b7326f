"""`kwx reproduce seed003-pob`."""

from __future__ import annotations

from pathlib import Path

import typer

from offchain.commands import fail, one_line_errors, prepare_out
from offchain.data.seed003_pob import EV_DATA
from offchain.mechanisms.adbev.command import EV_DATA as EV_DATA_OPTION


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
    ev_data: str = EV_DATA_OPTION,
    chain: bool = typer.Option(False, "--chain", help="Instead: run --chain-rounds PEBT rounds through "
                               "BenefitConsensus/BenefitSettlement with a proposer and --validators validator workers "
                               "on an embedded chain and compare every figure with the Python run."),
    chain_rounds: int = typer.Option(6, help="--chain: rounds of the Ch5 day from midnight, 1..288."),
    chain_evs: int = typer.Option(20, help="--chain: EVs, 1..1000."),
    validators: int = typer.Option(4, help="--chain: validator workers, 4..50 (a block needs more than N_p/2 + 1)."),
) -> None:
    """Seed 003 Ch5-6: the PEBT day, the ePoB arrival sweep with the competitive-ratio check and the offline AdBEV
    baseline, latency and Sybil; or (--chain) PEBT rounds through the contracts."""
    if seed < 0 or not 1 <= ch6_seeds <= 10:
        fail(f"--seed must be >= 0 and --ch6-seeds 1..10, got {seed} and {ch6_seeds}")
    if ev_data not in EV_DATA:
        fail(f"--ev-data must be one of {', '.join(EV_DATA)}, got {ev_data!r}")
    if not 1 <= chain_rounds <= 288 or not 1 <= chain_evs <= 1_000 or not 4 <= validators <= 50:
        fail(f"--chain-rounds must be 1..288, --chain-evs 1..1000 and --validators 4..50, got {chain_rounds}, "
             f"{chain_evs} and {validators}")
    counts = _counts(ch6_evs)
    if chain:
        from .chain_run import reproduce_chain

        prepare_out(out)
        report, run = reproduce_chain(out, chain_rounds, chain_evs, validators, seed)
        checks = run.checks()
        equal = sum(ok for _, ok in checks)
        typer.echo(f"{equal} of {len(checks)} chain checks equal the Python run; wrote {report}")
        if equal < len(checks):
            fail(f"{len(checks) - equal} chain figures differ from the Python run (see {report})")
        return
    from .model import run_ch5, run_ch6, run_latency, run_sybil, write_report

    prepare_out(out)
    ch5 = run_ch5(seed)
    ch6 = run_ch6(counts, [seed + i for i in range(ch6_seeds)], ev_data)
    typer.echo(f"Wrote {write_report(out, ch5, ch6, run_latency(seed), run_sybil(seed), ev_data)}")
