"""Speed of one seed-001 slot beyond the thesis' 50 prosumers: 1,000 (target <= 60 s on one core) and 10,000.

One slot = PoEG scores, pairing, per-coalition LPs, merge-and-split to a stable partition, the integer
chain view, the commit-reveal seed and miner draw, and the Shapley split of M_r in the drawn coalition
(offchain.mechanisms.coalition_market.plan.run_slot). The process is pinned to one CPU core where the OS allows it.
Prosumers are uniform on the thesis' 20 x 20 km area (so density grows with n), normal daily profiles.

    python benchmarks/bench_coalitions.py [--sizes 1000 10000] [--out benchmarks]

Prints the figures and writes coalitions.json and coalitions.md next to this file (or under --out).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from offchain.progress import pin_to_one_core
from offchain.algorithms.coalitions import CoalitionSolver, Market
from offchain.algorithms.shapley import savings_worth, shapley_values
from offchain.data.seed001 import prosumer_addresses, scaling_instance
from offchain.mechanisms.coalition_market.plan import SlotSettings, demo_seed, run_slot
from offchain.scenarios.markdown import table

TARGET_SECONDS_1000 = 60.0



def bench(n: int, distribution: str = "normal", seed: int = 0, settings: SlotSettings = SlotSettings()) -> dict:
    frame = scaling_instance(n, distribution, seed)
    market = Market.from_frame(frame, frame.attrs["centre_km"])
    addresses = prosumer_addresses(n, seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    slot_seed = demo_seed(addresses, f"bench-{n}")
    seed_seconds = time.perf_counter() - started
    slot = run_slot(market, addresses, slot_seed, settings)
    cpu_seconds = time.process_time() - cpu_started
    r, m = slot.coalitions, slot.metrics
    # worst case for the reward split: had the largest coalition been drawn
    largest = max(r.partition, key=len)
    started = time.perf_counter()
    worst = shapley_values(
        largest,
        savings_worth(CoalitionSolver(market, settings.coalitions)),
        exact_max=settings.shapley_exact_max,
        permutations=settings.shapley_permutations,
    )
    worst_seconds = time.perf_counter() - started
    seconds = {k: round(v, 3) for k, v in slot.seconds.items()}
    seconds["shapley_largest"] = round(worst_seconds, 3)
    seconds["commit_reveal"] = round(seed_seconds, 3)
    seconds["slot"] = round(slot.seconds["slot"] + seed_seconds, 3)
    seconds["slot_cpu"] = round(cpu_seconds, 3)
    return {
        "prosumers": n,
        "distribution": distribution,
        "seed": seed,
        "seconds": seconds,
        "rounds": r.rounds,
        "merge_passes": r.merge_passes,
        "merges": r.merges,
        "merge_checks": r.merge_checks,
        "split_checks": r.split_checks,
        "lp_solves": r.lp_solves,
        "greedy_solves": r.greedy_solves,
        "converged": r.converged,
        "coalitions": len(r.partition),
        "largest_coalition": max(len(c) for c in r.partition),
        "winner_size": len(slot.winning_members),
        "shapley": "exact" if slot.shapley is None or slot.shapley.exact else f"monte carlo ({slot.shapley.permutations})",
        "shapley_largest": "exact" if worst.exact else f"monte carlo ({worst.permutations}), max s.e. {worst.standard_errors.max():.2e} kWh",
        "saving_accounted": round(m.saving_accounted, 4),
        "local_share_balances": round(m.local_share_of_balances, 4),
        "lemma2_violations": len(slot.lemma2),
        "shares_sum_to_reward": sum(slot.rewards_base) == slot.mining_reward_base,
    }


def markdown(report: dict) -> str:
    rows = []
    for row in report["results"]:
        s = row["seconds"]
        target = "<= 60 s: " + ("met" if s["slot"] <= TARGET_SECONDS_1000 else "NOT met") if row["prosumers"] == 1000 else "report"
        rows.append([
            f"{row['prosumers']:,}", f"{s['slot']:.2f}", f"{s['slot_cpu']:.2f}", f"{s['coalitions']:.2f}",
            f"{s['shapley']:.2f}", f"{s['draw']:.3f}", row["rounds"], row["merge_passes"], row["lp_solves"],
            row["greedy_solves"], row["coalitions"], row["largest_coalition"],
            f"{row['winner_size']} ({row['shapley']})", f"{s['shapley_largest']:.2f} ({row['shapley_largest']})",
            f"{100 * row['saving_accounted']:.1f}%", f"{100 * row['local_share_balances']:.1f}%", target,
        ])
    lines = [
        "# Coalition slot benchmark (seed 001, ch. 3)",
        "",
        f"Generated {report['generated']} by benchmarks/bench_coalitions.py; {report['cpu']}; "
        f"load average at start {report['load_average']} (other work shares this machine).",
        "",
        table(["prosumers", "slot s (wall)", "slot s (CPU)", "coalitions s", "Shapley s", "draw s", "rounds",
               "merge passes", "LPs", "greedy", "coalitions", "largest", "winner (Shapley)", "Shapley of largest, s",
               "saving", "local share", "target"], rows),
        "",
        "Wall seconds include waiting for the shared core; CPU seconds are the process's own time. "
        "Uniform positions on the thesis' 20 x 20 km area, normal daily profiles (means 12.41 / 7.45 kWh, sd 8). "
        "LPs = coalition LPs solved with HiGHS; greedy = single-seller or single-buyer coalitions solved exactly "
        "without an LP. A round repeats pairwise merge passes until none improves, then tests splits. "
        "'Shapley of largest' is the reward split had the largest coalition been drawn (the worst case; "
        "exact up to 12 members, Monte Carlo above).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    pinning = pin_to_one_core()
    report = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, {pinning}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "target": f"one slot for 1,000 prosumers <= {TARGET_SECONDS_1000:g} s on one core",
        "results": [],
    }
    for n in args.sizes:
        row = bench(n)
        report["results"].append(row)
        print(f"{n:>6} prosumers: slot {row['seconds']['slot']:.2f} s wall / {row['seconds']['slot_cpu']:.2f} s CPU (coalitions {row['seconds']['coalitions']:.2f} s, "
              f"Shapley {row['seconds']['shapley']:.2f} s), {row['rounds']} rounds, {row['coalitions']} coalitions, "
              f"largest {row['largest_coalition']}, saving {100 * row['saving_accounted']:.1f}%", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "coalitions.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "coalitions.md").write_text(markdown(report))
    print(f"wrote {args.out / 'coalitions.json'} and {args.out / 'coalitions.md'}")


if __name__ == "__main__":
    main()
