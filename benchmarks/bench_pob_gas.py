"""Gas of Proof-of-Benefit rounds on chain (seed 003 Ch5): per round (every peer's transactions: commit, reveal,
confirmations, finalise, settlement) and per peer per round, from `run_chain` on an embedded Anvil
(offchain/mechanisms/proof_of_benefit/chain_run.py), receipts' gasUsed read back by the harness's gas ledger.

    python benchmarks/bench_pob_gas.py [--rounds 6] [--evs 20] [--validators 4] [--out benchmarks]

Prints the figures and writes pob_gas.json and pob_gas.md next to this file (or under --out).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from offchain.mechanisms.proof_of_benefit.chain_run import run_chain
from offchain.scenarios.markdown import table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--evs", type=int, default=20)
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kwx-pob-gas-") as work:
        run = run_chain(Path(work), args.rounds, args.evs, args.validators)
    seconds = time.perf_counter() - started
    with_block = [g for g, r in zip(run.gas_per_round, run.rounds, strict=True) if r.winner is not None]
    trades = [len(b.trades) for b, r in zip(run.reference, run.rounds, strict=True) if r.winner is not None]
    validators = [g for name, gas in run.validator_gas.items() if name != "proposer" for g in gas]
    figures = {
        "rounds": args.rounds, "evs": args.evs, "validators": args.validators,
        "rounds_with_block": len(with_block), "checks_equal": all(ok for _, ok in run.checks()),
        "gas_per_round_mean": float(np.mean(with_block)) if with_block else None,
        "gas_per_round_max": max(with_block, default=None),
        "trades_per_round_mean": float(np.mean(trades)) if trades else None,
        "gas_per_validator_per_round_mean": float(np.mean(validators)),
        "gas_proposer_per_round_mean": float(np.mean(run.validator_gas["proposer"])),
        "functions": {name: {"calls": calls, "gas_mean": gas / calls} for name, (calls, gas) in
                      sorted(run.function_gas.items())},
        "seconds": seconds,
    }
    rows = [("rounds with a winning block", f"{len(with_block)} of {args.rounds}"),
            ("gas per round (all peers), mean", f"{figures['gas_per_round_mean']:,.0f}"),
            ("gas per round (all peers), max", f"{figures['gas_per_round_max']:,}"),
            ("trades settled per round, mean", f"{figures['trades_per_round_mean']:.1f}"),
            ("gas per validator per round (one confirm), mean", f"{figures['gas_per_validator_per_round_mean']:,.0f}"),
            ("gas of the proposer per round (commit, reveal, finalise, settle), mean",
             f"{figures['gas_proposer_per_round_mean']:,.0f}"),
            ("every chain figure equals the Python run", "yes" if figures["checks_equal"] else "NO")]
    text = "\n".join([
        "# Proof-of-Benefit gas on chain", "",
        f"`python benchmarks/bench_pob_gas.py --rounds {args.rounds} --evs {args.evs} --validators {args.validators}`: "
        f"the first {args.rounds} 5-min PEBT rounds of the Ch5 day, one proposer and {args.validators} validators "
        f"(receipts' gasUsed; {seconds:.0f} s wall time).", "",
        table(["figure", "value"], rows), "",
        table(["function", "calls", "mean gas"],
              [(name, f["calls"], f"{f['gas_mean']:,.0f}") for name, f in figures["functions"].items()]), ""])
    print(text)
    (args.out / "pob_gas.json").write_text(json.dumps(figures, indent=2) + "\n")
    (args.out / "pob_gas.md").write_text(text)


if __name__ == "__main__":
    main()
