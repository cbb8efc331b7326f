"""Seed 000's day through the contracts on embedded Anvil chains (free ports), driven by
offchain.mechanisms.fog_ems.chain_run with the fog-matching worker as the Hungarian SCORER.

A shortened day (8 midday periods, 2 shared EVs) gives exactly simulate_day's figures for greedy and for
Hungarian; the worker killed after broadcasting an assignment and restarted leaves exactly one accepted
assignment for that period and goes on with the next one; `kwx worker fog-matching` (run_worker) matches a
closed period of a deployment."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest

from offchain.mechanisms.fog_ems.model import MarketRules
from offchain.mechanisms.fog_ems.chain_run import (
    DAY_PERIODS,
    compare_with_model,
    day_inputs,
    open_chain_day,
    run_day_on_chain,
    write_summary,
)
from offchain.mechanisms import WORKERS
from offchain.workers import run_worker
from offchain.mechanisms.fog_ems.workers import MECHANISM
from offchain.workers.runtime import FaultInjector
from offchain.workers.state import Status

pytestmark = pytest.mark.chain

#: Eight midday periods where the Hungarian matching moves clearly more energy than greedy FIFO.
WINDOW = (660, 8)
EVS = 2


@pytest.fixture(scope="module")
def chain_runs():
    return {method: run_day_on_chain(evs=EVS, method=method, window=WINDOW, progress=False)
            for method in ("greedy", "hungarian")}


@pytest.mark.parametrize("method", ["greedy", "hungarian"])
def test_chain_day_gives_the_model_figures(chain_runs, method):
    result = chain_runs[method]
    comparison = compare_with_model(result)
    assert comparison["differences"] == []
    assert comparison["exchange_rows"]["differing"] == 0
    assert comparison["matches"]["chain"] == comparison["matches"]["model"]
    assert comparison["identical"]
    assert len(result.exchange) > 40  # energy moves in most steps of the window
    assert sum(result.sold_to_ev_wh) > 0 and sum(result.bought_from_ev_wh) > 0
    # every period's transactions and gas were measured: 7 bids, the match, the log, the grid settlement
    assert [g.period for g in result.period_gas] == list(range(WINDOW[0], WINDOW[0] + WINDOW[1]))
    assert all(g.transactions == 10 and g.gas > 0 for g in result.period_gas)


def test_hungarian_on_chain_moves_more_energy_than_greedy(chain_runs):
    assert sum(chain_runs["hungarian"].traded_wh) > sum(chain_runs["greedy"].traded_wh)


def test_comparison_reports_a_differing_figure(chain_runs):
    result = chain_runs["greedy"]
    tampered = dataclasses.replace(result, sold_to_ev_wh=[result.sold_to_ev_wh[0] + 1, *result.sold_to_ev_wh[1:]])
    comparison = compare_with_model(tampered)
    assert not comparison["identical"]
    assert [d["figure"] for d in comparison["differences"]] == ["sold_to_ev_wh"]


def test_summary_extrapolates_only_a_run_shorter_than_the_day(chain_runs, tmp_path):
    short = chain_runs["greedy"]
    whole_day = dataclasses.replace(short, window=(0, DAY_PERIODS))
    write_summary([(short, None)], tmp_path / "short")
    write_summary([(whole_day, None)], tmp_path / "day")
    assert "Extrapolation to a 24-h day" in (tmp_path / "short" / "seed000_chain.md").read_text()
    day_report = (tmp_path / "day" / "seed000_chain.md").read_text()
    assert "Extrapolation" not in day_report and "load average (1, 5, 15 min)" in day_report
    day_json = json.loads((tmp_path / "day" / "seed000_chain.json").read_text())
    assert day_json["runs"][0]["extrapolated_24h"] is None
    assert len(day_json["machine"]["load_average_1_5_15_min"]) == 3


class WorkerKilled(Exception):
    """Stands in for the process dying at the injected crash point."""


def kill() -> None:
    raise WorkerKilled


def test_worker_killed_after_sending_resumes_with_one_accepted_assignment(tmp_path):
    agents, net, bids, (first, count) = day_inputs((WINDOW[0], 4))
    k = MarketRules().steps_per_period
    with open_chain_day(tmp_path, n_prosumers=len(agents), n_evs=EVS, first_period=first,
                        method="hungarian") as day:
        matching = day.chain.contract("PeriodMatching")

        def period_inputs(m):
            return bids[:, m], net[:, m * k : (m + 1) * k]

        day.play_period(first, *period_inputs(0))
        assert day.worker.state.entry(MECHANISM, first).status is Status.ACCEPTED

        # period first + 1: the worker dies right after broadcasting its assignment
        crashed = first + 1
        day.bid(crashed, bids[:, 1])
        day.close_bidding(crashed)
        day.start_worker(FaultInjector("after_send", action=kill))
        with pytest.raises(WorkerKilled):
            day.run_worker()
        entry = day.worker.state.entry(MECHANISM, crashed)
        assert entry.status is Status.SIGNED
        sent = entry.tx_hash
        day.stop_worker()

        day.start_worker()  # the restart: same state file, no crash
        summary = day.run_worker()
        assert summary.accepted == 1 and summary.results == 0  # settled the open entry, computed nothing new
        entry = day.worker.state.entry(MECHANISM, crashed)
        assert (entry.status, entry.tx_hash) == (Status.ACCEPTED, sent)
        day.log_and_settle(crashed, period_inputs(1)[1])

        # it goes on with the next periods
        for m in (2, 3):
            day.play_period(first + m, *period_inputs(m))
            assert day.worker.state.entry(MECHANISM, first + m).status is Status.ACCEPTED

        matched = matching.events.PeriodMatched.get_logs(from_block=day.chain.manifest.deploy_block)
        assert sorted(e["args"]["period"] for e in matched) == list(range(first, first + count))
        # one submitAssignment per period from the SCORER, none sent twice
        assert day.chain.w3.eth.get_transaction_count(day.chain.scorer.address) == count
        assert all(e["args"]["method"] == 1 for e in matched)  # every period certified, none by greedy


def test_kwx_worker_fog_matching_matches_a_closed_period(tmp_path):
    agents, net, bids, (first, _) = day_inputs((WINDOW[0], 1))
    with open_chain_day(tmp_path, n_prosumers=len(agents), n_evs=EVS, first_period=first,
                        method="hungarian") as day:
        day.bid(first, bids[:, 0])
        day.close_bidding(first)
        summary = run_worker(WORKERS["fog-matching"], rpc_url=day.chain.anvil.rpc_url,
                             manifest_path=tmp_path / "deployments" / "local.json",
                             state_dir=tmp_path / "workers", once=True, log_stream=io.StringIO())
        assert (summary.results, summary.accepted) == (1, 1)
        matching = day.chain.contract("PeriodMatching")
        matched = matching.events.PeriodMatched.get_logs(from_block=day.chain.manifest.deploy_block)
        assert [(e["args"]["period"], e["args"]["method"]) for e in matched] == [(first, 1)]
