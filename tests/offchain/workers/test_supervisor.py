"""The supervisor with stand-in children (small Python scripts, no chain): restarts with backoff, the merged log,
the status file, a child that ignores SIGTERM, one supervisor per state folder, and the health read from a worker
state file."""

from __future__ import annotations

import io
import json
import sys
import threading
import time
from pathlib import Path

import pytest

from offchain.workers import Status, WorkerState
from offchain.workers.supervisor import (
    Child,
    MergedLog,
    Supervisor,
    SupervisorBusyError,
    read_supervisor_status,
    terminal_line,
    worker_health,
)

#: A child that logs one JSON line and exits 3 after a moment.
DIES = ("import json, time; print(json.dumps({'event': 'hello', 'level': 'info'}), flush=True); "
        "time.sleep(0.2); raise SystemExit(3)")
#: A child that runs until SIGTERM, then exits 0 after saying so.
RUNS = ("import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('bye', file=sys.stderr, flush=True), sys.exit(0)))\n"
        "while True: time.sleep(0.05)")
#: A child that ignores SIGTERM.
STUBBORN = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.05)"


def child(name: str, code: str) -> Child:
    return Child(name, (sys.executable, "-c", code))


def run_in_thread(supervisor: Supervisor) -> threading.Thread:
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    return thread


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_dying_child_is_restarted_with_growing_backoff_and_the_status_says_so(tmp_path: Path):
    stream = io.StringIO()
    supervisor = Supervisor([child("dies", DIES), child("runs", RUNS), Child("off", ("false",), skip="needs -o x")],
                            log=MergedLog(stream, json_lines=True), status_dir=tmp_path, backoff_first=0.2,
                            backoff_max=0.4, context={"network": "test"})
    thread = run_in_thread(supervisor)
    wait_until(lambda: (read_supervisor_status(tmp_path) or {}).get("workers", {}).get("dies", {}).get("restarts", 0) >= 3)
    status = read_supervisor_status(tmp_path)
    assert status["supervisor"]["running"] and status["supervisor"]["network"] == "test"
    assert status["workers"]["dies"]["last_exit"] == 3
    assert status["workers"]["runs"]["state"] == "running" and status["workers"]["runs"]["restarts"] == 0
    assert status["workers"]["off"] == {**status["workers"]["off"], "state": "skipped", "reason": "needs -o x"}
    supervisor.stop()
    thread.join(10)
    assert not thread.is_alive()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    exits = [r for r in records if r["event"] == "worker_exited"]
    # backoff 0.2, 0.4, then capped at 0.4
    assert [r["restart_in"] for r in exits[:3]] == [0.2, 0.4, 0.4]
    assert all(r["worker"] == "dies" and r["status"] == "exit 3" for r in exits)
    assert {"worker": "dies", "event": "hello"}.items() <= next(r for r in records if r["event"] == "hello").items()
    assert any(r["worker"] == "runs" and r["event"] == "output" and r["text"] == "bye" for r in records)
    final = read_supervisor_status(tmp_path)
    assert not final["supervisor"]["running"] and final["supervisor"]["stopped"]
    assert {w["state"] for w in final["workers"].values()} == {"stopped", "skipped"}


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path):
    supervisor = Supervisor([child("stubborn", STUBBORN)], log=MergedLog(io.StringIO()), status_dir=tmp_path,
                            stop_grace=0.5)
    thread = run_in_thread(supervisor)
    wait_until(lambda: "stubborn" in supervisor.pids())
    pid = supervisor.pids()["stubborn"]
    time.sleep(0.3)  # past interpreter start-up, so SIGTERM meets the handler that ignores it
    started = time.monotonic()
    supervisor.stop()
    thread.join(10)
    assert time.monotonic() - started < 3
    assert not Path(f"/proc/{pid}").exists()
    assert read_supervisor_status(tmp_path)["workers"]["stubborn"]["last_exit"] == -9


def test_one_supervisor_per_state_folder(tmp_path: Path):
    first = Supervisor([], log=MergedLog(io.StringIO()), status_dir=tmp_path)
    with pytest.raises(SupervisorBusyError, match="another `kwx up` runs on"):
        Supervisor([], log=MergedLog(io.StringIO()), status_dir=tmp_path)
    first.stop()
    first.run()  # returns at once and releases the folder
    Supervisor([], log=MergedLog(io.StringIO()), status_dir=tmp_path).stop()


def test_terminal_log_is_one_line_per_record_and_leaves_idle_polls_out():
    stream = io.StringIO()
    log = MergedLog(stream)
    log.child_line("fog-matching", json.dumps({"ts": "2026-01-01T12:00:01.123Z", "level": "info", "event": "run_done",
                                               "events": 0, "results": 0, "accepted": 0}), "stderr")
    log.child_line("fog-matching", json.dumps({"ts": "2026-01-01T12:00:02.000Z", "level": "warning",
                                               "event": "result_deferred", "slot": 7}), "stderr")
    log.child_line("fog-matching", "Traceback (most recent call last):", "stderr")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "12:00:02.000 fog-matching       WARNING result_deferred slot=7"
    assert lines[1].endswith("fog-matching       ERROR output text=Traceback (most recent call last):")
    assert len(lines) == 2
    assert terminal_line({"ts": "2026-01-01T00:00:00.000Z", "worker": "w", "event": "e", "gone": None}) == \
        "00:00:00.000 w                  e"


def test_health_reads_cursor_and_journal_of_a_state_file_beside_the_status(tmp_path: Path):
    mechanism = b"\x01" * 32
    with WorkerState(tmp_path / "fog-matching.sqlite") as state:
        with state.transaction() as db:
            from offchain.workers.state import Cursor

            state.save_cursor(db, Cursor(40, 38, 2))
        state.insert_results(mechanism, [(1, {}), (2, {}), (3, {})])
        state.finish(mechanism, 1, Status.ACCEPTED, tx_hash="0x" + "ab" * 32, block=12)
        state.finish(mechanism, 2, Status.FAILED, error="Reverted")
        state.defer(mechanism, 3, "NotYet()")
        # read while the worker holds its lock, as kwx status does beside a running worker
        (health,) = worker_health(tmp_path, ["fog-matching"], head=45)
    assert (health.state, health.scanned_block, health.lag_blocks) == ("not supervised", 40, 5)
    assert (health.accepted, health.failed, health.open, health.deferred) == (1, 1, 1, 1)
    assert health.last_result == "slot 2 failed"  # the latest final entry
    (unknown,) = worker_health(tmp_path / "none", ["other"], head=None)
    assert (unknown.scanned_block, unknown.lag_blocks, unknown.accepted) == (None, None, 0)
