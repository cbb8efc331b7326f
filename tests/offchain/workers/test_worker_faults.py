"""Faults a worker must survive on a real chain (issue 13), each reproduced through `kwx worker` on an
embedded Anvil: a chain reset under a running worker, SIGTERM while receipts are outstanding, a result the
contract refuses before anything is sent, a fee spike, and broken state files."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from offchain.chain import (
    ChainClient,
    EmbeddedAnvil,
    Manifest,
    accounts_from_mnemonic,
    connect,
    deploy_suite,
    free_port,
    get_network,
)
from offchain.mechanisms import SUITE
from offchain.workers import SURPLUS_SCORE_MECHANISM

pytestmark = pytest.mark.chain

ADMIN, OPERATOR, METER, SCORER = 0, 1, 2, 3
PROSUMERS = (4, 5, 6)
KWX_ENV = ("KWX_LOCAL_RPC_URL", "KWX_WORKER_CRASH_AT")


@dataclass
class Site:
    """A chain on a fixed port with the suite deployed and three registered prosumers; `kwx` pointed at it."""

    port: int
    anvil: EmbeddedAnvil
    manifest: Manifest
    manifests: Path
    state: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, index: int) -> ChainClient:
        return ChainClient(connect(self.url), accounts_from_mnemonic(count=index + 1)[index])

    def contract(self, name: str, index: int = ADMIN):
        client = self.client(index)
        return client, client.contract(name, self.manifest.address(name))

    def attest(self, period: int, wh: int, prosumer: int = 0) -> None:
        meter, credit = self.contract("EnergyCredit", METER)
        meter.transact(credit.functions.attestSurplus(self.client(PROSUMERS[prosumer]).address, period, wh))

    def acceptances(self, period: int) -> list[str]:
        _, epos = self.contract("EPOS")
        logs = epos.events.ResultAccepted.get_logs(from_block=0, argument_filters={
            "mechanism": SURPLUS_SCORE_MECHANISM, "slot": period})
        return [Web3.to_hex(log["transactionHash"]) for log in logs]

    def kwx(self, *args: str, crash_at: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "offchain.cli", *args], env=self.env(crash_at),
                              capture_output=True, text=True, timeout=timeout)

    def worker_args(self, *extra: str) -> list[str]:
        return ["worker", "surplus-score", "--manifest-dir", str(self.manifests), "--state-dir", str(self.state), *extra]

    def env(self, crash_at: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in KWX_ENV} | {"KWX_LOCAL_RPC_URL": self.url}
        return env | ({"KWX_WORKER_CRASH_AT": crash_at} if crash_at else {})

    def rpc(self, method: str, *params: object) -> object:
        return connect(self.url).provider.make_request(method, list(params))


def start_site(port: int, root: Path) -> Site:
    anvil = EmbeddedAnvil(chain_id=31337, port=port)
    w3 = connect(anvil.rpc_url)
    accounts = accounts_from_mnemonic(count=10)
    admin, operator = ChainClient(w3, accounts[ADMIN]), ChainClient(w3, accounts[OPERATOR])
    manifest = deploy_suite(admin, get_network("local"), manifest_dir=root / "deployments", suite=SUITE)
    registry = operator.contract("ParticipantRegistry", manifest.address("ParticipantRegistry"))
    for i, index in enumerate(PROSUMERS):
        operator.transact(registry.functions.register(accounts[index].address, 1, 100 * i, 0, 0, 0, 0))
    return Site(port, anvil, manifest, root / "deployments", root / "state")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    running = start_site(free_port(), tmp_path)
    try:
        yield running
    finally:
        running.anvil.stop()


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@contextmanager
def polling_worker(site: Site, *extra: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-m", "offchain.cli", *site.worker_args("--poll", "0.2", *extra)],
                               env=site.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def journal(site: Site) -> dict[int, str]:
    with sqlite3.connect(site.state / "surplus-score.sqlite") as db:
        return dict(db.execute("SELECT slot, status FROM journal"))


# --- fault 1: chain reset under a running worker -----------------------------------------------------------


def reset_chain(site: Site, tmp_path: Path, down_seconds: float) -> Site:
    """Kills Anvil, leaves the port dead for `down_seconds`, starts a fresh chain there and redeploys."""
    site.anvil.stop()
    time.sleep(down_seconds)
    return start_site(site.port, tmp_path)


def test_chain_reset_under_a_running_worker_stops_it_with_one_line(site, tmp_path):
    site.attest(1, 1_000)
    site.attest(2, 2_000)
    with polling_worker(site) as worker:
        wait_until(lambda: site.acceptances(1))
        new = reset_chain(site, tmp_path, down_seconds=1.5)
        try:
            assert new.manifest.contracts == site.manifest.contracts  # same addresses, new genesis
            code = worker.wait(timeout=20)
            stderr = worker.stderr.read()
        finally:
            new.anvil.stop()
    lines = stderr.strip().splitlines()
    assert code == 1
    assert lines[-1].startswith("kwx: the chain was reset") and "--fresh" in lines[-1]
    events = [line["event"] for line in log_events(stderr)]
    assert events.count("rpc_unreachable") == 1  # one line while the node was down, no traceback per poll
    assert not [line for line in log_events(stderr) if "exception" in line]


def test_chain_reset_with_on_reset_fresh_goes_on_with_the_new_chain(site, tmp_path):
    site.attest(1, 1_000)
    site.attest(2, 2_000)
    with polling_worker(site, "--on-reset", "fresh") as worker:
        wait_until(lambda: site.acceptances(1))
        new = reset_chain(site, tmp_path, down_seconds=0.5)
        try:
            new.attest(1, 3_000)
            new.attest(2, 4_000)
            wait_until(lambda: new.acceptances(1), timeout=30)
            assert worker.poll() is None
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=5) == 0
            assert len(new.acceptances(1)) == 1
        finally:
            new.anvil.stop()
    assert list(site.state.glob("surplus-score.sqlite.*.old"))
    assert journal(site) == {1: "accepted"}


def test_sigterm_stops_within_two_seconds_while_receipts_are_outstanding(site):
    site.attest(1, 1_000)
    site.attest(2, 2_000)
    site.rpc("evm_setAutomine", False)  # the worker's transaction is never mined
    with polling_worker(site) as worker:
        wait_until(lambda: journal(site).get(1) == "signed" if (site.state / "surplus-score.sqlite").exists() else False)
        time.sleep(0.5)
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(timeout=10)
        stopped_after = time.monotonic() - started
    assert code == 0 and stopped_after < 2.0
    assert journal(site) == {1: "signed"}  # left for the next run, which settles it
    site.rpc("evm_setAutomine", True)
    site.rpc("evm_mine")
    ran = site.kwx(*site.worker_args("--once"))
    assert ran.returncode == 0, ran.stderr
    assert journal(site) == {1: "accepted"} and len(site.acceptances(1)) == 1


# --- fault 2: refused before anything was sent ----------------------------------------------------------------


def test_result_refused_at_estimation_is_retried_and_lands_once_the_cause_is_gone(site):
    args = ["worker", "coalition-result", "--manifest-dir", str(site.manifests), "--state-dir", str(site.state),
            "--once", "-o", "participants=1"]
    first = site.kwx(*args)
    assert first.returncode == 1
    assert "deferred=1" in first.stdout and "failed=0" in first.stdout
    assert first.stderr.strip().splitlines()[-1].startswith("kwx: 1 result(s) not sent")
    [deferred] = [line for line in log_events(first.stderr) if line["event"] == "result_deferred"]
    assert "ParticipantNotRegistered" in deferred["error"]
    operator, registry = site.contract("ParticipantRegistry", OPERATOR)
    participant = accounts_from_mnemonic(count=11)[10].address  # the coalition stages' first participant
    operator.transact(registry.functions.register(participant, 1, 0, 0, 0, 0, 0))
    second = site.kwx(*args)
    assert second.returncode == 0, second.stderr
    assert "accepted=1" in second.stdout


# --- fault 3: fee spike -----------------------------------------------------------------------------------------


def test_fee_spike_reprices_the_stored_transaction_and_it_lands_once(site):
    site.attest(1, 1_000)
    site.attest(2, 2_000)
    assert site.kwx(*site.worker_args("--once"), crash_at="after_sign").returncode == 1
    site.rpc("anvil_setNextBlockBaseFeePerGas", hex(500 * 10**9))  # far above the stored max fee (~3 gwei)
    site.rpc("evm_mine")
    capped = site.kwx(*site.worker_args("--once", "--max-fee-gwei", "100"))
    assert capped.returncode == 0, capped.stderr
    assert [line["event"] for line in log_events(capped.stderr)].count("fee_cap_reached") == 1
    assert journal(site) == {1: "signed"} and site.acceptances(1) == []
    ran = site.kwx(*site.worker_args("--once", "--max-fee-gwei", "5000"))
    assert ran.returncode == 0, ran.stderr
    [repriced] = [line for line in log_events(ran.stderr) if line["event"] == "tx_repriced"]
    assert site.acceptances(1) == [repriced["tx_hash"]]
    with sqlite3.connect(site.state / "surplus-score.sqlite") as db:
        nonces = [n for (n,) in db.execute("SELECT nonce FROM submissions WHERE slot = 1")]
    assert len(nonces) == 2 and len(set(nonces)) == 1
    assert journal(site) == {1: "accepted"}


# --- fault 4: state file faults -----------------------------------------------------------------------------


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("kwx: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_broken_state_files_are_one_line_naming_the_file(site):
    site.attest(1, 1_000)
    site.attest(2, 2_000)
    path = site.state / "surplus-score.sqlite"
    assert site.kwx(*site.worker_args("--once")).returncode == 0
    good = path.read_bytes()

    path.write_bytes(b"this is not a database" * 10)
    assert_one_line(site.kwx(*site.worker_args("--once")), str(path), "--fresh")

    path.write_bytes(good[: len(good) // 2])
    assert_one_line(site.kwx(*site.worker_args("--once")), str(path), "--fresh")

    path.write_bytes(b"")
    assert_one_line(site.kwx(*site.worker_args("--once")), str(path), "empty", "--fresh")
    assert path.stat().st_size == 0  # refused: nothing was started over

    with open(path.with_name(path.name + ".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert_one_line(site.kwx(*site.worker_args("--once")), str(path), "in use")

    fresh = site.kwx(*site.worker_args("--once", "--fresh"))
    assert fresh.returncode == 0, fresh.stderr
    assert list(site.state.glob("surplus-score.sqlite.*.old"))
    # The new state knows none of the old transactions: the key accepted by the earlier run counts as someone else's.
    assert journal(site) == {1: "superseded"} and len(site.acceptances(1)) == 1


# --- kills inside pipelined windows, real processes ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_worker_processes_killed_inside_windows_repeatedly_accept_every_period_once(site, seed):
    """The worker process dies (os._exit at a random step and occurrence, or SIGKILL at a random moment) inside
    windows of 4, again and again; after a clean run every period is accepted exactly once, by the transaction
    its journal records, and the account's nonces have no gap (the chain mined every one)."""
    from random import Random

    from offchain.chain import transact_batch
    from offchain.workers import CRASH_POINTS

    rng = Random(seed)
    periods = 24
    meter, credit = site.contract("EnergyCredit", METER)
    prosumer = site.client(PROSUMERS[0]).address
    transact_batch([(meter, credit.functions.attestSurplus(prosumer, period, 100 + period))
                    for period in range(1, periods + 2)])
    args = site.worker_args("--once", "--window", "4")
    for _ in range(4):
        if rng.random() < 0.5:
            site.kwx(*args, crash_at=f"{rng.choice(CRASH_POINTS)}:{rng.randint(1, 12)}")
        else:
            process = subprocess.Popen([sys.executable, "-m", "offchain.cli", *args], env=site.env(),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.0, 4.0))
            process.kill()
            process.wait()
    final = site.kwx(*args)
    assert final.returncode == 0, final.stderr
    with sqlite3.connect(site.state / "surplus-score.sqlite") as db:
        landed = dict(db.execute("SELECT slot, tx_hash FROM journal WHERE status = 'accepted'"))
    assert sorted(landed) == list(range(1, periods + 1))
    for period in range(1, periods + 1):
        assert site.acceptances(period) == [landed[period]]
    scorer = site.client(SCORER)
    assert scorer.w3.eth.get_transaction_count(scorer.address, "pending") == \
        scorer.w3.eth.get_transaction_count(scorer.address, "latest")
