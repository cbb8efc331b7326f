"""Throughput of exactly-once submission against a local Anvil: a worker with N queued results beside the
ceiling measured in the same run (issue 13).

On one embedded Anvil with the suite deployed, three registered prosumers and N + 1 attested periods:

1. ceiling: N `EPOS.mintScores` transactions of the same shape (another mechanism id, so they do not take
   the worker's keys) signed in advance, sent with a plain `eth_sendRawTransaction` loop, then the last
   receipt awaited;
2. `ChainClient.transact` loop over the first `--transact` of them (one transaction in flight at a time);
3. the surplus-score worker (`Worker.run_once`, default window) with the N periods queued: reading the
   attestations, computing, journaling, signing, sending and collecting every receipt, exactly once.

Target: the worker reaches at least 70 % of the ceiling's transactions per second.

    python benchmarks/bench_pipeline.py [--results 1000] [--transact 200] [--out benchmarks]

Prints the figures and writes pipeline.json and pipeline.md next to this file (or under --out).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from web3 import Web3

from offchain.chain import ChainClient, EmbeddedAnvil, accounts_from_mnemonic, connect, deploy_suite, get_network
from offchain.chain.batch import transact_batch, wait_batch
from offchain.mechanisms import SUITE, WORKERS
from offchain.scenarios.markdown import table
from offchain.workers import open_worker

TARGET_RATIO = 0.70
ADMIN, OPERATOR, METER, SCORER = 0, 1, 2, 3
PROSUMERS = (4, 5, 6)
CEILING_MECHANISM = bytes(Web3.keccak(text="bench.ceiling"))


def measure(results: int, transact: int, work_dir: Path) -> dict:
    with EmbeddedAnvil(chain_id=31337) as anvil:
        w3 = connect(anvil.rpc_url, expected_chain_id=31337)
        keys = accounts_from_mnemonic(count=10)
        clients = {i: ChainClient(w3, keys[i]) for i in (ADMIN, OPERATOR, METER, SCORER)}
        manifest = deploy_suite(clients[ADMIN], get_network("local"), manifest_dir=work_dir / "deployments",
                                suite=SUITE)

        def contract(name: str, role: int):
            return clients[role].contract(name, manifest.address(name))

        registry, credit = contract("ParticipantRegistry", OPERATOR), contract("EnergyCredit", METER)
        transact_batch([(clients[OPERATOR], registry.functions.register(keys[i].address, 1, 100 * n, 0, 0, 0, 0))
                        for n, i in enumerate(PROSUMERS)])
        attestations = [(clients[METER], credit.functions.attestSurplus(keys[PROSUMERS[p % 3]].address, period,
                                                                        1_000 + period))
                        for period in range(1, results + 2) for p in (period, period + 1)]
        transact_batch(attestations)

        # 1. the ceiling: pre-signed, a plain send loop, then wait
        scorer, epos = clients[SCORER], contract("EPOS", SCORER)
        prosumers = sorted(keys[i].address for i in PROSUMERS[:2])
        calls = [epos.functions.mintScores(CEILING_MECHANISM, slot, prosumers, [10**18, 2 * 10**18])
                 for slot in range(1, results + 1)]
        gas = scorer.estimate_gas(calls[0]) * 2
        signed = [scorer.sign(scorer.build(call, gas=gas)) for call in calls]
        started = time.perf_counter()
        for item in signed:
            w3.eth.send_raw_transaction(item.raw_transaction)
        wait_batch(w3, [signed[-1].hash], timeout=600)
        ceiling_s = time.perf_counter() - started
        assert all(r["status"] == 1 for r in wait_batch(w3, [s.hash for s in signed], timeout=60).values())

        # 2. ChainClient.transact, one at a time
        more = [epos.functions.mintScores(CEILING_MECHANISM, results + slot, prosumers, [1, 2])
                for slot in range(1, transact + 1)]
        started = time.perf_counter()
        for call in more:
            scorer.transact(call)
        transact_s = time.perf_counter() - started

        # 3. the worker with `results` queued periods
        spec = WORKERS["surplus-score"]
        with open_worker(spec, scorer, manifest, work_dir / "state",
                         options={"through_period": results}) as worker:
            started = time.perf_counter()
            summary = worker.run_once()
            worker_s = time.perf_counter() - started
        assert summary.accepted == results and summary.open == 0, summary

    ceiling = results / ceiling_s
    worker_rate = summary.accepted / worker_s
    return {
        "results": results, "worker_window": worker.window,
        "ceiling": {"transactions": results, "seconds": round(ceiling_s, 3), "tx_per_s": round(ceiling, 1)},
        "transact_loop": {"transactions": transact, "seconds": round(transact_s, 3),
                          "tx_per_s": round(transact / transact_s, 1)},
        "worker": {"transactions": summary.accepted, "events": summary.events, "seconds": round(worker_s, 3),
                   "tx_per_s": round(worker_rate, 1)},
        "ratio": round(worker_rate / ceiling, 3),
        "target_ratio": TARGET_RATIO,
        "met": worker_rate / ceiling >= TARGET_RATIO,
    }


def markdown(report: dict) -> str:
    rows = [
        ("pre-signed `eth_sendRawTransaction` loop, then wait (the ceiling)", report["ceiling"]["transactions"],
         report["ceiling"]["seconds"], report["ceiling"]["tx_per_s"]),
        ("`ChainClient.transact` loop (one in flight)", report["transact_loop"]["transactions"],
         report["transact_loop"]["seconds"], report["transact_loop"]["tx_per_s"]),
        (f"surplus-score worker, {report['results']:,} queued results (window {report['worker_window']}; "
         f"reads {report['worker']['events']:,} events too)", report["worker"]["transactions"],
         report["worker"]["seconds"], report["worker"]["tx_per_s"]),
    ]
    verdict = "met" if report["met"] else "NOT met"
    return "\n".join([
        "# Exactly-once submission throughput (local Anvil)",
        "",
        "Written by `python benchmarks/bench_pipeline.py`; all rows measured in one run on one embedded Anvil "
        f"(automine), {report['machine']}, {report['measured_at']}.",
        "",
        table(["path", "transactions", "seconds", "tx/s"], rows, digits=1, thousands=True),
        "",
        f"Worker / ceiling: **{report['ratio']:.0%}** (target ≥ {report['target_ratio']:.0%}: {verdict}).",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--transact", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        report = measure(args.results, args.transact, Path(work))
    report["machine"] = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    report["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pipeline.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "pipeline.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
