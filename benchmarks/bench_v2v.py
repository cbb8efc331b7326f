"""Speed of `kwx reproduce seed001-v2v` at its default budget (issue 18: <= 20 minutes on 2 cores, with a
progress bar): every learner of the report (the proposed method and both baselines for each seed; SAC, A2C and
PPO under uniform data for Fig. 4.10) trained and evaluated by run_model, 2 worker processes. Prints wall and
CPU time (this process and its workers) and the load average before and after, since the machine may be shared.

    python benchmarks/bench_v2v.py [--workers 2] [--out benchmarks] [--report DIR]

Writes v2v.json and v2v.md next to this file (or under --out); with --report also the reproduction report of
the same run in DIR (so the benchmark and the report are one run).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import resource
import time
from pathlib import Path

from offchain.mechanisms.v2v.model import SPEED_TARGET_S, V2VConfig, run_model, write_report
from offchain.progress import progress_bar
from offchain.scenarios.markdown import table


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="pickle the run here (to render the report again)")
    args = parser.parse_args()
    config = V2VConfig()
    load_before = os.getloadavg()
    cpu = _cpu_seconds()
    with progress_bar(True) as bar:
        task = bar.add_task("learners trained", total=None) if bar else None

        def tick(label: str, done: int, total: int) -> None:
            if bar is not None:
                bar.update(task, description=f"learners trained (last: {label})", completed=done, total=total)

        result = run_model(config, tick, workers=args.workers)
    cpu = _cpu_seconds() - cpu
    load_after = os.getloadavg()
    if args.keep is not None:
        import pickle

        args.keep.write_bytes(pickle.dumps(result))
    if args.report is not None:
        args.report.mkdir(parents=True, exist_ok=True)
        write_report(result, args.report)
    figures = {
        "episodes": config.episodes, "seeds": config.seeds, "evs": config.evs, "algorithms": config.algorithms,
        "workers": args.workers, "wall_s": round(result.seconds, 1), "cpu_s": round(cpu, 1),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "cores": os.cpu_count(), "target_s": SPEED_TARGET_S, "met": result.seconds <= SPEED_TARGET_S,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "v2v.json").write_text(json.dumps(figures, indent=2) + "\n")
    text = "\n".join([
        "# Seed 001 ch. 4 reproduction speed (benchmarks/bench_v2v.py)", "",
        f"`kwx reproduce seed001-v2v` default budget: {config.episodes} training days per EV and learner, "
        f"{config.evs} EVs, {config.seeds} seeds, SAC/A2C included; {args.workers} worker processes on a "
        f"{os.cpu_count()}-core machine shared with other jobs (load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after).", "",
        table(["run", "wall (min)", "CPU (min)", "wall <= 20 min"],
              [["default budget", f"{result.seconds / 60:.1f}", f"{cpu / 60:.1f}",
                "met" if figures["met"] else "NOT met"]]), "",
        "CPU time counts this process and its workers; on an idle 2-core machine the wall time is about the "
        "CPU time divided by the workers.", ""])
    (args.out / "v2v.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
