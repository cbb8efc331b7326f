"""`kwx up` and `kwx status` for real: every worker under one supervisor on a chain `kwx up` started, a worker
SIGKILLed and restarted, SIGTERM / Ctrl-C / a SIGKILLed supervisor leaving no process behind, and the refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from offchain.chain import free_port, port_open
from offchain.cli import main
from offchain.mechanisms import WORKERS

from kwx_up import KWX, Up, alive, start_up, wait_until

pytestmark = pytest.mark.chain


def test_every_worker_runs_and_a_sigkilled_one_is_restarted_and_shown_so(market: Up):
    workers = market.workers()
    assert set(workers) == set(WORKERS)
    assert {w["state"] for w in workers.values()} == {"running"}
    old = workers["fog-matching"]["pid"]
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: market.workers()["fog-matching"]["restarts"] == 1
               and market.workers()["fog-matching"]["state"] == "running", 30, "the restart")
    restarted = market.workers()["fog-matching"]
    assert restarted["pid"] != old and alive(restarted["pid"]) and not alive(old)
    assert restarted["last_exit"] == -signal.SIGKILL
    assert all(w["restarts"] == 0 for n, w in market.workers().items() if n not in ("fog-matching", "surplus-score"))

    text = market.kwx("status", "--state-dir", str(market.state))
    assert text.returncode == 0, text.stderr
    (row,) = [line for line in text.stdout.splitlines() if line.startswith("fog-matching ")]
    assert row.split()[1:4] == ["running", "1", "SIGKILL"]
    assert "kwx up running" in text.stdout and "head block" in text.stdout
    report = json.loads(market.kwx("status", "--state-dir", str(market.state), "--json").stdout)
    fog = next(w for w in report["workers"] if w["name"] == "fog-matching")
    assert report["head"] >= 1 and fog["lag_blocks"] is not None and 0 <= fog["lag_blocks"] <= report["head"]
    log = market.log.read_text()
    assert "fog-matching       ERROR worker_exited status=SIGKILL" in log
    assert "fog-matching       worker_started" in log


def test_a_second_kwx_up_on_the_same_state_folder_is_refused(market: Up):
    result = market.kwx("up", "--manifest-dir", str(market.deployments), "--state-dir", str(market.state))
    assert result.returncode == 1 and result.stderr.startswith("kwx: another `kwx up` runs on")
    assert len(result.stderr.strip().splitlines()) == 1


def test_sigterm_stops_every_process_within_seconds(market: Up):
    """Runs last in this module: it stops the package's `kwx up`."""
    status = market.status()
    pids = [w["pid"] for w in status["workers"].values()] + [status["supervisor"]["chain_pid"]]
    assert all(alive(pid) for pid in pids)
    took = market.stop(signal.SIGTERM)
    assert market.process.returncode == 0, market.log.read_text()[-2000:]
    assert took < 10, took
    assert not [pid for pid in pids if alive(pid)]
    assert not port_open(market.port)
    final = json.loads((market.state / "up.json").read_text())
    assert final["supervisor"]["stopped"] and {w["state"] for w in final["workers"].values()} == {"stopped"}
    assert market.log.read_text().rstrip().endswith("anvil_stopped")


def only_surplus_score() -> list[str]:
    return [arg for name in WORKERS if name != "surplus-score" for arg in ("--skip", name)]


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_ctrl_c_or_a_killed_supervisor_leaves_nothing_behind(tmp_path: Path, how: str):
    up = start_up(tmp_path, *only_surplus_score())
    try:
        up.wait_running()
        status = up.status()
        pids = [status["workers"]["surplus-score"]["pid"], status["supervisor"]["chain_pid"]]
        if how == "ctrl-c":  # a terminal's Ctrl-C goes to the foreground process group
            os.killpg(up.process.pid, signal.SIGINT)
            up.process.wait(15)
            assert up.process.returncode == 0
        else:  # no handler runs: the kernel kills the children (PR_SET_PDEATHSIG)
            up.stop(signal.SIGKILL)
        # (a SIGKILLed multi-threaded Anvil shows as a zombie a moment before its socket is closed)
        wait_until(lambda: not any(alive(pid) for pid in pids) and not port_open(up.port), 10, "the children to die")
    finally:
        if up.process.poll() is None:
            up.process.kill()
            up.process.wait()
    if how == "ctrl-c":
        # The next `kwx up` starts a new chain: the worker sets its old state aside instead of refusing to start.
        again = start_up(tmp_path, *only_surplus_score())
        try:
            # (generous waits: the second `kwx up` deploys the whole suite again, slow on a loaded machine)
            wait_until(lambda: list(again.state.glob("surplus-score.sqlite.*.old")), 240, "the old state set aside")
            wait_until(lambda: "worker_started poll_seconds" in again.log.read_text(), 120, "the worker to run")
            assert again.workers()["surplus-score"]["restarts"] == 0
        finally:
            again.stop()


def test_remote_network_without_keys_is_refused_before_anything(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KWX_")}
    env["KWX_FUJI_RPC_URL"] = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([*KWX, "up", "--network", "fuji", "--state-dir", str(tmp_path / "state"),
                             "--manifest-dir", str(tmp_path / "deployments")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("kwx: ") and "KWX_PRIVATE_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists() and not (tmp_path / "deployments").exists()


@pytest.mark.parametrize(("args", "names"), [
    (["-o", "fog-matching"], "WORKER.KEY=VALUE"),
    (["-o", "nobody.x=1"], "unknown worker 'nobody'"),
    (["-o", "surplus-score.through_period=-1"], "through_period must be >= 0"),
    (["--skip", "nobody"], "--skip 'nobody'"),
    (["--poll", "0"], "--poll"),
])
def test_bad_options_are_one_line_and_start_nothing(tmp_path: Path, args: list[str], names: str, capsys, monkeypatch):
    monkeypatch.setenv("KWX_LOCAL_RPC_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(sys, "argv", ["kwx", "up", "--state-dir", str(tmp_path / "state"), *args])
    with pytest.raises(SystemExit) as exited:
        main()
    stderr = capsys.readouterr().err
    assert exited.value.code != 0 and names in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "state").exists()
