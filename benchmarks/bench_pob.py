"""Speed of the Proof-of-Benefit solvers (seed 003 Ch5-6).

1. One warm PEBT round QP with 100 pending orders (target <= 50 ms): the median of --repeat re-solves of one
   compiled problem with new parameter values (OSQP warm start).
2. One warm ePoB interval QP for 100 EVs at 20:00 of the Ch6 day (Clarabel), median of --repeat.
3. A 24-hour ePoB run (144 decisions) for --evs EVs (target <= 60 s).

    python benchmarks/bench_pob.py [--repeat 5] [--evs 100] [--out benchmarks]

Prints the figures and writes pob.json and pob.md next to this file (or under --out).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from offchain.algorithms.epob import Fleet, IntervalQP, interval_labels, run_online
from offchain.algorithms.pebt import PebtSolver, PendingOrders
from offchain.data.seed003_pob import ch6_sessions, residential_load_kw
from offchain.scenarios.markdown import table


def _median_seconds(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--evs", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    load_before = os.getloadavg()
    rng = np.random.default_rng(0)

    solver = PebtSolver()
    orders = PendingOrders(rng.uniform(0.1, 1, 100), np.ones(100), rng.integers(0, 3, 100),
                           np.where(rng.random(100) < 2 / 3, 0.95, -0.95))
    solver.solve(orders, np.full(3, 100.0), 100.0)  # compile
    pebt = _median_seconds(lambda: solver.solve(orders, np.full(3, 100.0 + rng.uniform()), 99.0), args.repeat)

    s = ch6_sessions(args.evs, seed=1)
    fleet = Fleet(s.arrival, s.departure, s.rate_kw, np.where(s.discharging, s.offer_kwh, s.demand_kwh), s.discharging)
    base = residential_load_kw(6, start_hour=12.0)
    now = 48
    active = np.nonzero((s.arrival <= now) & (s.departure > now))[0]
    labels = interval_labels(now, s.departure[active], s.steps, 6)
    length = np.diff(labels) * s.step_h
    cap = np.where(s.departure[active][:, None] >= labels[None, 1:], s.rate_kw[active][:, None], 0.0)
    interval_base = np.array([base[a:b].mean() for a, b in zip(labels[:-1], labels[1:], strict=True)])
    qp = IntervalQP()

    def one() -> None:
        qp.solve(cap, s.discharging[active], fleet.energy_kwh[active], length, interval_base, 100.0)

    one()
    epob_qp = _median_seconds(one, args.repeat)
    started = time.perf_counter()
    run_online(fleet, base, s.step_h, 1.5)
    day = time.perf_counter() - started

    figures = {"pebt_warm_qp_100_orders_ms": 1e3 * pebt, "epob_warm_qp_ms": 1e3 * epob_qp,
               "epob_qp_evs": int(len(active)), "epob_24h_run_s": day, "epob_24h_evs": args.evs,
               "load_average_1_5_15_min": {"before": load_before, "after": os.getloadavg()},
               "cores": os.cpu_count(), "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    rows = [("PEBT warm round QP, 100 orders", f"{1e3 * pebt:.1f} ms", "<= 50 ms", "met" if pebt <= 0.05 else "NOT met"),
            (f"ePoB warm interval QP, {len(active)} EVs present", f"{1e3 * epob_qp:.1f} ms", "<= 50 ms",
             "met" if epob_qp <= 0.05 else "NOT met"),
            (f"ePoB 24-h run, {args.evs} EVs", f"{day:.1f} s", "<= 60 s", "met" if day <= 60 else "NOT met")]
    load = figures["load_average_1_5_15_min"]
    text = ("# Proof-of-Benefit solver speed\n\n" + table(["figure", "measured", "target", "verdict"], rows) + "\n\n"
            f"{figures['date_utc']}, {figures['cores']} cores, 1-min load average {load['before'][0]:.1f} before and "
            f"{load['after'][0]:.1f} after (the machine may be shared: the figures depend on it).\n")
    print(text)
    (args.out / "pob.json").write_text(json.dumps(figures, indent=2) + "\n")
    (args.out / "pob.md").write_text(text)


if __name__ == "__main__":
    main()
