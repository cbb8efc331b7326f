"""Seed 002's full week through the contracts: the paper's 103 participants x 7 days of the seeded calibrated week,
REC purchases and sales traded hour by hour on the hourly order book (pipelined submission, offchain.chain
.transact_batch), both peak-control workers publishing every day from day 3, every figure compared with the Python
run (offchain.mechanisms.peak_control.chain_run.compare_with_plan). Prints and writes seed002_chain_week.md and
seed002_chain_week.json next to this file (or under --out): transaction count, gas per participant-day, wall time
and the machine's load average at start and end (the machine is shared: wall time depends on it).

    python benchmarks/bench_seed002_chain_week.py [--participants 103] [--days 7] [--out benchmarks]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.chain_run import chain_report, compare_with_plan
from offchain.mechanisms.peak_control.plan import PeakSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=103)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="kwx-seed002-week-") as work:
        comparison = compare_with_plan(generate_week(args.participants, args.days, 2), PeakSettings(), Path(work),
                                       progress=True)
    load_end = os.getloadavg()[0]
    run = comparison.run
    load = f"{load_start:.1f} / {load_end:.1f} ({os.cpu_count()} cores)"
    text = chain_report(comparison, f"Seed 002: {args.participants} x {args.days} through the contracts", load)
    text += (f"\nWritten by `python benchmarks/bench_seed002_chain_week.py` on {started:%Y-%m-%d %H:%M} UTC, "
             f"{platform.machine()}, Python {platform.python_version()}, embedded Anvil (automine); "
             f"1-min load average {load}.\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "seed002_chain_week.md").write_text(text)
    n, days, _ = run.bought_wh.shape
    figures = {"participants": n, "days": days, "transactions": int(run.transactions), "gas": int(run.gas),
               "gas_per_participant_day": int(run.gas) // (n * days), "wall_s": round(comparison.seconds, 1),
               "load_start": load_start, "load_end": load_end, "matched_wh": int(run.matched_wh),
               "checks": {name: bool(ok) for name, ok in comparison.checks},
               "python_vs_chain": {row[0]: {"python": row[1], "chain": row[2]} for row in comparison.figures},
               "started_utc": started.isoformat(timespec="seconds")}
    (args.out / "seed002_chain_week.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
