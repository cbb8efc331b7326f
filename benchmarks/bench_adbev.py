"""Speed of seed 003's GA day-ahead scheduler (issue 16): 1,000 generations x 40 individuals for 100 EVs
(target <= 20 s on one core), Ch3 (48 genes) and Ch4 with discharging (96 genes), plus one AdBEV day of the
Python model. Prints wall and CPU time and the load average, since the machine may be shared.

The process is pinned to one CPU core where the OS allows it.

    python benchmarks/bench_adbev.py [--generations 1000] [--out benchmarks]

Writes adbev.json and adbev.md next to this file (or under --out).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import time
from functools import partial
from pathlib import Path

from offchain.algorithms import ev_scheduling, pfl
from offchain.data import seed003
from offchain.mechanisms.adbev.plan import run_adbev
from offchain.scenarios.markdown import table

TARGET_S = 20.0


def _timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    settings = ev_scheduling.GaSettings(generations=args.generations)
    ch3 = seed003.ev_population("ch3")
    base, _ = seed003.calibrate_base(seed003.uncontrolled_ev_load(ch3))
    ch4 = seed003.ev_population("ch4")
    rows = []
    _, wall, cpu = _timed(lambda: ev_scheduling.ga_schedule(ch3, base, pfl.pfl_log_range, settings))
    rows.append(["GA Ch3 (48 genes)", args.generations, wall, cpu, "met" if cpu <= TARGET_S else "NOT met"])
    mva = partial(pfl.pfl_total_variation, scale=1e-3)
    _, wall, cpu = _timed(lambda: ev_scheduling.ga_schedule(ch4, base, mva, settings, discharging=True))
    rows.append(["GA Ch4 with discharging (96 genes)", args.generations, wall, cpu, "met" if cpu <= TARGET_S else "NOT met"])
    _, wall, cpu = _timed(lambda: run_adbev(ch4))
    rows.append(["AdBEV day (Python model)", "–", wall, cpu, "–"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = ["run", "generations", "wall (s)", "CPU (s)", f"CPU <= {TARGET_S:.0f} s"]
    text = "\n".join([
        "# Seed 003 GA and AdBEV speed (benchmarks/bench_adbev.py)", "",
        f"100 EVs, 40 individuals, one core; load average {load:.1f} when it ran.", "",
        table(header, rows), "",
    ])
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "adbev.md").write_text(text)
    records = [dict(zip(["run", "generations", "wall_s", "cpu_s", "target"], row)) for row in rows]
    (args.out / "adbev.json").write_text(json.dumps({"load_average": load, "runs": records}, indent=2) + "\n")


if __name__ == "__main__":
    main()
