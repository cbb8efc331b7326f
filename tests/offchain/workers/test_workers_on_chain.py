"""The surplus-score worker on an embedded Anvil, run through run_worker as `kwx worker` runs it.

Each test gets its own chain and suite (a worker signs as SCORER, so sharing the session chain would race
other tests' nonces), registers three prosumers and attests surplus with the METER account. Crashes are
real: the worker runs in a separate process that KWX_WORKER_CRASH_AT makes os._exit(1) at the named step;
the restart runs in a new process for the required test and in this process elsewhere (cheaper, same
state file, new client).
"""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from offchain.chain import ChainClient, EmbeddedAnvil, Manifest, accounts_from_mnemonic, connect, deploy_suite, get_network
from offchain.units import score_to_base, wh_to_kwh
from offchain.mechanisms import SUITE, WORKERS
from offchain.workers import SURPLUS_SCORE_MECHANISM, run_worker

pytestmark = pytest.mark.chain

ADMIN, OPERATOR, METER, SCORER = 0, 1, 2, 3
PROSUMERS = (4, 5, 6)
REPO = Path(__file__).resolve().parents[3]
RUN_WORKER = """
import json, sys
from offchain.mechanisms import WORKERS
from offchain.workers import run_worker
options = json.loads(sys.argv[1])
summary = run_worker(WORKERS["surplus-score"], **options)
print(json.dumps(summary.as_dict() if summary else None))
"""


@dataclass
class Community:
    """One chain with the suite deployed, three registered prosumers and the role accounts' clients."""

    anvil: EmbeddedAnvil
    manifest: Manifest
    manifest_path: Path
    state_dir: Path
    clients: dict[int, ChainClient]

    @property
    def w3(self) -> Web3:
        return self.clients[ADMIN].w3

    def contract(self, name: str, as_account: int = ADMIN):
        client = self.clients[as_account]
        return client.contract(name, self.manifest.address(name))

    def prosumer(self, i: int) -> str:
        return self.clients[PROSUMERS[i]].address

    def attest(self, prosumer: int, period: int, wh: int) -> None:
        credit = self.contract("EnergyCredit", METER)
        self.clients[METER].transact(credit.functions.attestSurplus(self.prosumer(prosumer), period, wh))

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "surplus-score.sqlite"

    def journal(self) -> dict[int, tuple[str, str | None]]:
        with sqlite3.connect(self.journal_path) as db:
            return {slot: (status, h) for slot, status, h in db.execute("SELECT slot, status, tx_hash FROM journal")}

    def run(self, *, crash_at: str | None = None, through_period: int | None = None) -> subprocess.CompletedProcess:
        """Runs the worker once in a new process; JSON logs on stderr, its summary on stdout."""
        options = {"rpc_url": self.anvil.rpc_url, "manifest_path": str(self.manifest_path),
                   "state_dir": str(self.state_dir), "once": True, "through_period": through_period}
        return subprocess.run([sys.executable, "-c", RUN_WORKER, json.dumps(options)], cwd=REPO,
                              env=worker_env(crash_at), capture_output=True, text=True, timeout=120)

    def run_here(self, *, through_period: int | None = None) -> tuple[dict, str]:
        """Runs the worker once in this process (a restart without the cost of a new interpreter);
        returns its summary and its JSON log lines."""
        logs = io.StringIO()
        summary = run_worker(WORKERS["surplus-score"], rpc_url=self.anvil.rpc_url, manifest_path=self.manifest_path,
                             state_dir=self.state_dir, once=True, through_period=through_period, log_stream=logs)
        return summary.as_dict(), logs.getvalue()

    def acceptances(self, period: int) -> list[str]:
        """Hashes of the transactions that emitted ResultAccepted for (surplus-score, period)."""
        logs = self.contract("EPOS").events.ResultAccepted.get_logs(
            from_block=0, argument_filters={"mechanism": SURPLUS_SCORE_MECHANISM, "slot": period})
        return [Web3.to_hex(log["transactionHash"]) for log in logs]

    def epos_balances(self) -> list[int]:
        epos = self.contract("EPOS")
        return [epos.functions.balanceOf(self.prosumer(i)).call() for i in range(len(PROSUMERS))]


def worker_env(crash_at: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KWX_WORKER_CRASH_AT"}
    if crash_at:
        env["KWX_WORKER_CRASH_AT"] = crash_at
    return env


def score_base(wh: int) -> int:
    """EPOS base units the surplus score gives for `wh` of attested surplus."""
    return score_to_base(wh_to_kwh(wh))


def log_lines(process: subprocess.CompletedProcess | str) -> list[dict]:
    text = process if isinstance(process, str) else process.stderr
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def events_named(process, event: str) -> list[dict]:
    return [line for line in log_lines(process) if line["event"] == event]


@pytest.fixture
def community(tmp_path) -> Community:
    with EmbeddedAnvil(chain_id=31337) as anvil:
        w3 = connect(anvil.rpc_url, expected_chain_id=31337)
        accounts = accounts_from_mnemonic(count=10)
        clients = {i: ChainClient(w3, accounts[i]) for i in (ADMIN, OPERATOR, METER, *PROSUMERS)}
        manifest = deploy_suite(clients[ADMIN], get_network("local"), manifest_dir=tmp_path / "deployments", suite=SUITE)
        result = Community(anvil, manifest, tmp_path / "deployments" / "local.json", tmp_path / "state", clients)
        registry = result.contract("ParticipantRegistry", OPERATOR)
        for i in range(len(PROSUMERS)):
            clients[OPERATOR].transact(registry.functions.register(result.prosumer(i), 1, 100 * i, 0, 0, 0, 0))
        yield result


# Period 1: prosumers 0 and 1; period 2: prosumer 2 (which makes period 1 final).
PERIOD_1 = {0: 1_250, 1: 3_000}


def attest_two_periods(community: Community) -> None:
    for prosumer, wh in PERIOD_1.items():
        community.attest(prosumer, 1, wh)
    community.attest(2, 2, 4_321)


def assert_period_1_minted_once(community: Community) -> None:
    """Exactly one ResultAccepted for (surplus-score, 1), balances equal one mint, journal agrees."""
    (landed,) = community.acceptances(1)
    assert community.epos_balances() == [score_base(PERIOD_1[0]), score_base(PERIOD_1[1]), 0]
    assert community.contract("EPOS").functions.totalSupply().call() == sum(map(score_base, PERIOD_1.values()))
    assert community.journal() == {1: ("accepted", landed)}


# --- the required test: a crash after sending, before the journal update -----------------------------


def test_crash_after_send_then_restart_leaves_the_result_on_chain_exactly_once(community):
    attest_two_periods(community)
    crashed = community.run(crash_at="after_send")
    assert crashed.returncode == 1, crashed.stderr
    (sent,) = events_named(crashed, "tx_sent")
    assert events_named(crashed, "result_accepted") == []
    # The transaction is on chain, the journal still says "signed": exactly the window a crash can hit.
    assert community.journal() == {1: ("signed", sent["tx_hash"])}
    assert community.acceptances(1) == [sent["tx_hash"]]

    restarted = community.run()
    assert restarted.returncode == 0, restarted.stderr
    assert events_named(restarted, "tx_sent") == []
    assert_period_1_minted_once(community)
    assert community.acceptances(1) == [sent["tx_hash"]]
    assert json.loads(restarted.stdout)["accepted"] == 1


@pytest.mark.parametrize("crash_at", ["after_insert", "after_sign", "after_receipt", "after_accept"])
def test_crash_at_other_steps_then_restart_mints_exactly_once(community, crash_at):
    attest_two_periods(community)
    assert community.run(crash_at=crash_at).returncode == 1
    community.run_here()
    assert_period_1_minted_once(community)
    with sqlite3.connect(community.journal_path) as db:
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 1


def test_nonce_taken_while_down_gets_the_result_signed_again(community):
    attest_two_periods(community)
    assert community.run(crash_at="after_sign").returncode == 1
    ((_, stale),) = community.journal().values()
    scorer = ChainClient(community.w3, accounts_from_mnemonic(count=SCORER + 1)[SCORER])
    scorer.send_raw(scorer.sign({"to": scorer.address, "value": 0, "gas": 21_000, "chainId": 31337,
                                 "nonce": scorer.nonces.reserve(), **scorer.fees()}))
    _, logs = community.run_here()
    assert [line["nonce"] for line in events_named(logs, "nonce_consumed")] == [0]
    assert_period_1_minted_once(community)
    (landed,) = community.acceptances(1)
    assert landed != stale


def test_result_landed_by_another_scorer_while_down_is_superseded(community):
    attest_two_periods(community)
    assert community.run(crash_at="after_sign").returncode == 1
    scorer = ChainClient(community.w3, accounts_from_mnemonic(count=SCORER + 1)[SCORER])
    epos = community.contract("EPOS", ADMIN)
    other = scorer.transact(epos.functions.mintScores(SURPLUS_SCORE_MECHANISM, 1, [community.prosumer(2)], [7]))
    _, logs = community.run_here()
    assert community.journal() == {1: ("superseded", Web3.to_hex(other["transactionHash"]))}
    assert community.epos_balances() == [0, 0, 7]
    assert events_named(logs, "tx_sent") == []


# --- cursor --------------------------------------------------------------------------------------------


def test_restart_mid_run_resumes_from_the_cursor(community):
    attestations = [(0, 1, 500), (1, 1, 700), (2, 2, 900), (0, 2, 1_100), (1, 3, 1_300)]
    for prosumer, period, wh in attestations:
        community.attest(prosumer, period, wh)
    crashed = community.run(crash_at="after_event:2")
    assert crashed.returncode == 1
    _, restarted = community.run_here()

    def positions(process):
        return [(line["block"], line["log_index"]) for line in events_named(process, "event_applied")]

    first, second = positions(crashed), positions(restarted)
    assert len(first) == 2 and len(second) == 3
    assert sorted(first + second) == first + second  # resumed right after the last applied event
    assert set(first).isdisjoint(second)
    with sqlite3.connect(community.journal_path) as db:
        stored = db.execute("SELECT prosumer, period, wh FROM attestations ORDER BY block, log_index").fetchall()
    assert stored == [(community.prosumer(p), period, wh) for p, period, wh in attestations]
    assert {slot: status for slot, (status, _) in community.journal().items()} == {1: "accepted", 2: "accepted"}
    assert community.epos_balances() == [score_base(500 + 1_100), score_base(700), score_base(900)]


def test_last_period_waits_for_a_later_attestation_or_through_period(community):
    community.attest(0, 5, 2_000)
    first, _ = community.run_here()
    assert first["results"] == 0 and community.epos_balances() == [0, 0, 0]
    forced, _ = community.run_here(through_period=5)
    assert forced["accepted"] == 1
    assert community.epos_balances() == [score_base(2_000), 0, 0]


# --- shutdown ------------------------------------------------------------------------------------------


def test_sigterm_mid_run_finishes_the_step_and_exits_zero_with_state_committed(community):
    attest_two_periods(community)
    head_at_start = community.w3.eth.block_number
    # A long poll: only the signal can end the wait after the first run, so the test cannot race a second one.
    options = {"rpc_url": community.anvil.rpc_url, "manifest_path": str(community.manifest_path),
               "state_dir": str(community.state_dir), "once": False, "poll_seconds": 60}
    process = subprocess.Popen([sys.executable, "-c", RUN_WORKER, json.dumps(options)], cwd=REPO,
                               env=worker_env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stderr() -> None:
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stderr, daemon=True).start()
    seen: list[str] = []
    while not any('"tx_sent"' in line for line in seen):
        line = lines.get(timeout=60)
        assert line is not None, "".join(seen)
        seen.append(line)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    seen.extend(iter(lambda: lines.get(timeout=60), None))
    events = [json.loads(line)["event"] for line in seen if line.startswith("{")]
    assert events[-1] == "worker_stopped" and events.count("stop_requested") == 1
    # Whatever was in flight finished; nothing new started after the signal.
    after_signal = events[events.index("stop_requested"):]
    assert not {"tx_signed", "event_applied", "result_recorded"} & set(after_signal)
    assert_period_1_minted_once(community)
    with sqlite3.connect(community.journal_path) as db:
        (scanned,) = db.execute("SELECT scanned_block FROM cursor").fetchone()
    assert scanned == head_at_start


# --- in-process entry point ----------------------------------------------------------------------------


def test_run_worker_in_process_returns_the_summary(community):
    attest_two_periods(community)
    summary, _ = community.run_here()
    assert (summary["events"], summary["results"], summary["accepted"], summary["open"]) == (3, 1, 1, 0)
    assert_period_1_minted_once(community)

