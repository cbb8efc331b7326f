"""Speed of seed 002's recommendations: one day's recommendations (best-first search on the community's
aggregate, then the split among participants) for 103 participants (target <= 1 s) and for 10,000 participants
(target <= 30 s), on the seeded calibrated week's day 2 purchases; the day's Merkle commitment with every
participant's proof is timed beside it (not part of the target).
Median of --repeat runs, wall and CPU time, pinned to one core where the OS allows it.

    python benchmarks/bench_peak_control.py [--repeat 3] [--out benchmarks]

Prints the figures and writes peak_control.json and peak_control.md next to this file (or under --out).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.commitments import commit_day, schedule_wh
from offchain.mechanisms.peak_control.plan import PeakSettings, recommend
from offchain.progress import pin_to_one_core
from offchain.scenarios.markdown import table

TARGETS_S = {103: 1.0, 10_000: 30.0}


def _addresses(n: int) -> list[str]:
    return [f"0x{i + 1:040x}" for i in range(n)]


def time_day(participants: int, repeat: int) -> dict:
    """Wall and CPU seconds of one day's recommendations, without and with the Merkle commitment."""
    week = generate_week(participants=participants, days=3, seed=2)
    previous = np.clip(week.net[:, 1], 0.0, None)
    addresses = _addresses(participants)
    settings = PeakSettings()
    search_wall, search_cpu, commit_wall = [], [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        recommended, result = recommend(previous, settings.search)
        search_wall.append(time.perf_counter() - wall)
        search_cpu.append(time.process_time() - cpu)
        wall = time.perf_counter()
        commit_day(2, {a: schedule_wh(r) for a, r in zip(addresses, recommended)})
        commit_wall.append(time.perf_counter() - wall)
    recommend_s = statistics.median(search_wall)
    total_s = recommend_s + statistics.median(commit_wall)
    return {"participants": participants, "recommend_wall_s": recommend_s, "recommend_cpu_s": statistics.median(search_cpu),
            "commitment_wall_s": statistics.median(commit_wall), "total_wall_s": total_s,
            "expansions": result.expansions, "stopped": result.stopped, "v_start": result.v_start,
            "v_best": result.v_best, "target_s": TARGETS_S[participants], "met": recommend_s <= TARGETS_S[participants]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    pinned = pin_to_one_core()
    load = os.getloadavg()
    rows = [time_day(n, args.repeat) for n in TARGETS_S]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = ["participants", "recommend (s)", "target (s)", "met", "commitment (s)", "total (s)", "expansions",
              "V start", "V best"]
    body = [[r["participants"], round(r["recommend_wall_s"], 3), r["target_s"], "yes" if r["met"] else "no",
             round(r["commitment_wall_s"], 3), round(r["total_wall_s"], 3), r["expansions"],
             round(r["v_start"], 2), round(r["v_best"], 2)] for r in rows]
    text = "\n".join([
        "# Seed-002 recommendation benchmark", "",
        f"{stamp} · {platform.machine()} {platform.system()} · Python {platform.python_version()} · "
        f"{'pinned to one core' if pinned else 'not pinned'} · median of {args.repeat} runs · load average at start "
        f"{[round(x, 2) for x in load]}", "",
        "One day's recommendations: best-first search on the aggregate (24 values, so its cost does not grow with "
        "the community) and the split among participants (the target); the Merkle commitment with every proof "
        "beside it.", "", table(header, body), ""])
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peak_control.md").write_text(text)
    (args.out / "peak_control.json").write_text(json.dumps({"when": stamp, "load": load, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
