"""One supervisor for many worker processes (``kwx up``): start each, restart one that dies (with backoff), merge
their logs into one stream, keep a status file that ``kwx status`` and the dashboard read, and stop them all on
SIGTERM or Ctrl-C.

The supervisor names no worker and no mechanism: it runs command lines (:class:`Child`), ``kwx worker NAME ...``
as built by ``kwx up``. Workers log JSON lines (offchain.workers.logs); the supervisor's own lines are shaped the
same, with ``"worker": "kwx-up"``.

No process outlives the supervisor: every child runs in its own session (a terminal's Ctrl-C reaches the
supervisor only, which stops the children in order) and asks the kernel to SIGKILL it when the supervisor dies
(PR_SET_PDEATHSIG, as the embedded Anvil does), so even a SIGKILLed supervisor leaves nothing behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO

from offchain.chain.nodes import die_with_parent

from .registry import state_path
from .state import WorkerStateError

#: The supervisor's own name in the merged log and the status file.
SUPERVISOR = "kwx-up"
#: The status file in the workers' state folder.
STATUS_FILE = "up.json"
#: Restart backoff (s): the first restart waits BACKOFF_FIRST, each further failure doubles it up to BACKOFF_MAX; a
#: child that ran STABLE_AFTER seconds before it died starts from BACKOFF_FIRST again.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0
#: After SIGTERM, how long children get to stop by themselves (a worker needs at most 2 s) before SIGKILL.
STOP_GRACE = 4.0
#: How often the supervisor looks at its children (s).
TICK = 0.1


class SupervisorBusyError(WorkerStateError):
    """Another supervisor already runs on this state folder."""


@dataclass(frozen=True)
class Child:
    """One supervised process: `name` (its log and status name) and the command line that runs it. `skip`: why it
    is not started (e.g. a required option is missing); it is listed in the status all the same."""

    name: str
    argv: tuple[str, ...]
    skip: str | None = None


@dataclass
class ChildStatus:
    """What the status file says about one child (times are Unix seconds)."""

    state: str = "starting"  #: starting, running, restarting (waiting out its backoff), stopped or skipped
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0  #: how often it was started again after dying
    last_exit: int | None = None  #: exit status of its last death (negative: killed by that signal)
    last_exit_at: float | None = None
    next_start_at: float | None = None
    reason: str | None = None  #: why it is skipped


def now_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def exit_text(code: int | None) -> str:
    """``exit 1`` or ``SIGKILL`` for a Popen return code."""
    if code is None:
        return "-"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


# --- the merged log ----------------------------------------------------------------------------------------


#: Fields a terminal line shows in its fixed columns rather than as key=value.
_FIXED = ("ts", "level", "worker", "event")


def terminal_line(record: Mapping[str, Any]) -> str:
    """One log record for a person: ``12:00:01.123 surplus-score   tx_sent slot=7 tx_hash=0x…`` (the level only
    when it is not info)."""
    stamp = str(record.get("ts", ""))[11:23]
    level = str(record.get("level", "info"))
    fields = " ".join(f"{k}={v}" for k, v in record.items() if k not in _FIXED and v is not None)
    head = f"{stamp} {str(record.get('worker')):<18}"
    if level != "info":
        head += f" {level.upper()}"
    return f"{head} {record.get('event', '')} {fields}".rstrip()


def is_idle(record: Mapping[str, Any]) -> bool:
    """A worker's poll that did nothing (a ``run_done`` with no event, result or change): left out of the terminal
    stream, which would otherwise repeat it for every worker at every poll (``--json`` keeps it)."""
    counts = ("events", "results", "accepted", "superseded", "failed", "deferred")
    return record.get("event") == "run_done" and not any(record.get(k) for k in counts)


class MergedLog:
    """Writes log records of every child and of the supervisor to one stream, a line at a time (whole lines: one
    lock), as JSON (`json_lines`) or for a terminal (:func:`terminal_line`, idle polls left out)."""

    def __init__(self, stream: TextIO, *, json_lines: bool = False) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self._lock = threading.Lock()

    def write(self, record: Mapping[str, Any]) -> None:
        if not self.json_lines and is_idle(record):
            return
        line = json.dumps(record, default=str) if self.json_lines else terminal_line(record)
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # a closed terminal must not stop the supervisor
                pass

    def event(self, event: str, level: str = "info", worker: str = SUPERVISOR, **fields: Any) -> None:
        self.write({"ts": now_iso(), "level": level, "worker": worker, "event": event, **fields})

    def child_line(self, name: str, text: str, stream_name: str) -> None:
        """A line a child printed: its JSON record as it is (stamped with the child's name if it has none), any
        other text as an ``output`` record."""
        text = text.rstrip("\n")
        if not text.strip():
            return
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            self.event("output", "error" if stream_name == "stderr" else "info", name, text=text)
            return
        record.setdefault("worker", name)
        self.write(record)


# --- the supervisor ----------------------------------------------------------------------------------------


@dataclass
class _Running:
    child: Child
    status: ChildStatus
    process: subprocess.Popen[str] | None = None
    failures: int = 0  #: deaths in a row without a stable run
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Runs `children` until :meth:`stop` (or SIGTERM/SIGINT while :meth:`run` runs in the main thread).

    `env`: the children's environment; `status_dir`: where ``up.json`` is kept (the workers' state folder, locked
    for as long as the supervisor runs); `context`: extra facts for the status file (network, RPC, manifest);
    `on_tick`: called every TICK in the supervisor's loop (``kwx up`` checks its chain there) and may call
    :meth:`stop`. Backoff and grace as the module constants.
    """

    def __init__(self, children: Sequence[Child], *, log: MergedLog, status_dir: str | Path,
                 env: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None,
                 on_tick: Callable[[], None] | None = None, backoff_first: float = BACKOFF_FIRST,
                 backoff_max: float = BACKOFF_MAX, stable_after: float = STABLE_AFTER,
                 stop_grace: float = STOP_GRACE) -> None:
        names = [c.name for c in children]
        if len(set(names)) != len(names):
            raise ValueError(f"two children share a name: {names}")
        self.log = log
        self.status_dir = Path(status_dir)
        self.env = dict(os.environ if env is None else env)
        self.context = dict(context or {})
        self.on_tick = on_tick
        self.backoff_first, self.backoff_max = backoff_first, backoff_max
        self.stable_after, self.stop_grace = stable_after, stop_grace
        self.started_at = time.time()
        self._stop = threading.Event()
        self._children = [_Running(c, ChildStatus(state="skipped", reason=c.skip) if c.skip else ChildStatus())
                          for c in children]
        self.status_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.status_dir / (STATUS_FILE + ".lock"), "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise SupervisorBusyError(f"another `kwx up` runs on {self.status_dir}: stop it first (or give "
                                      "--state-dir another folder)") from None

    @property
    def status_path(self) -> Path:
        return self.status_dir / STATUS_FILE

    def stop(self) -> None:
        """Asks :meth:`run` to stop every child and return (safe from a signal handler or another thread)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def pids(self) -> dict[str, int]:
        """{name: pid} of the children running now."""
        return {r.child.name: r.process.pid for r in self._children if r.process is not None}

    def run(self) -> None:
        """Starts every child that is not skipped, restarts those that die, and returns once :meth:`stop` was
        called and every child has exited (SIGKILL after the grace period). SIGTERM and SIGINT call :meth:`stop`
        while it runs in the main thread."""
        previous = self._trap_signals()
        try:
            for running in self._children:
                if running.child.skip:
                    self.log.event("worker_skipped", "warning", running.child.name, reason=running.child.skip)
                else:
                    self._start(running)
            self._write_status()
            while not self._stop.wait(TICK):
                if self.on_tick is not None:
                    self.on_tick()
                if self._supervise():
                    self._write_status()
        finally:
            self._stop_children()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._write_status(stopped=True)
            self._lock_file.close()

    # --- inside the loop ---------------------------------------------------------------------------------

    def _trap_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum: int, _frame: object) -> None:
            if not self.stopping:
                self.log.event("stop_requested", signal=signal.Signals(signum).name)
            self.stop()

        return {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}

    def _start(self, running: _Running) -> None:
        process = subprocess.Popen(
            running.child.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1, start_new_session=True, preexec_fn=die_with_parent(),
        )  # fmt: skip
        running.process = process
        status = running.status
        status.state, status.pid, status.started_at, status.next_start_at = "running", process.pid, time.time(), None
        running.readers = [self._reader(running.child.name, stream, name)
                           for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr"))]
        self.log.event("worker_started", worker=running.child.name, pid=process.pid, restarts=status.restarts)

    def _reader(self, name: str, stream: IO[str] | None, stream_name: str) -> threading.Thread:
        def pump() -> None:
            assert stream is not None
            for line in stream:
                self.log.child_line(name, line, stream_name)
            stream.close()

        thread = threading.Thread(target=pump, name=f"{name}-{stream_name}", daemon=True)
        thread.start()
        return thread

    def _supervise(self) -> bool:
        """Notes children that died and restarts those whose backoff is over; True if anything changed."""
        changed = False
        now = time.time()
        for running in self._children:
            status = running.status
            if running.process is not None and running.process.poll() is not None:
                code = running.process.returncode
                for reader in running.readers:
                    reader.join(timeout=1.0)  # its last lines (often the reason it died) come first
                ran = now - (status.started_at or now)
                running.failures = 1 if ran >= self.stable_after else running.failures + 1
                delay = min(self.backoff_first * 2 ** (running.failures - 1), self.backoff_max)
                running.process = None
                status.state, status.pid = "restarting", None
                status.last_exit, status.last_exit_at, status.next_start_at = code, now, now + delay
                self.log.event("worker_exited", "error", running.child.name, status=exit_text(code),
                               ran_seconds=round(ran, 1), restart_in=delay)
                changed = True
            elif status.state == "restarting" and status.next_start_at is not None and now >= status.next_start_at:
                status.restarts += 1
                self._start(running)
                changed = True
        return changed

    def _stop_children(self) -> None:
        """SIGTERM to every child, SIGKILL to those still there after the grace period; waits for all."""
        alive = [r for r in self._children if r.process is not None and r.process.poll() is None]
        if alive:
            self.log.event("stopping", workers=len(alive))
        for running in alive:
            _signal_group(running.process, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for running in alive:
            try:
                running.process.wait(max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                self.log.event("worker_killed", "warning", running.child.name, after_seconds=self.stop_grace)
                _signal_group(running.process, signal.SIGKILL)
                running.process.wait()
        for running in self._children:
            for reader in running.readers:
                reader.join(timeout=1.0)
            if running.process is not None:
                running.status.last_exit, running.status.last_exit_at = running.process.returncode, time.time()
            running.process = None
            if running.status.state != "skipped":
                running.status.state, running.status.pid, running.status.next_start_at = "stopped", None, None
        self.log.event("stopped")

    def _write_status(self, *, stopped: bool = False) -> None:
        status = {
            "supervisor": {"pid": os.getpid(), "started_at": self.started_at, "updated_at": time.time(),
                           "stopped": stopped, **self.context},
            "workers": {r.child.name: asdict(r.status) for r in self._children},
        }
        partial = self.status_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(status, indent=2) + "\n")
        os.replace(partial, self.status_path)


def _signal_group(process: subprocess.Popen[str], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the child leads its own session, so its group is its pid
    except ProcessLookupError:
        pass


# --- reading the status back (kwx status, the dashboard) --------------------------------------------------------


@dataclass(frozen=True)
class WorkerHealth:
    """One worker as ``kwx status`` shows it: the supervisor's view (state, restarts, last exit) beside its state
    file's (cursor, journal). Blocks and counts; times are Unix seconds."""

    name: str
    state: str  #: from the supervisor's status file; "not supervised" without one
    pid: int | None
    restarts: int
    last_exit: str | None  #: e.g. "SIGKILL", "exit 1"
    scanned_block: int | None  #: the worker's cursor (None: no state file yet)
    lag_blocks: int | None  #: chain head minus the cursor (None without both)
    accepted: int
    superseded: int
    failed: int  #: results a mined transaction of ours reverted for (final)
    open: int  #: results pending or signed
    deferred: int  #: open results the contract refused at estimation at least once
    last_result: str | None  #: "slot 7 accepted 0xab…" of the latest final entry
    last_result_at: float | None
    reason: str | None = None  #: why the supervisor skips it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_supervisor_status(state_dir: str | Path) -> dict[str, Any] | None:
    """The status file ``kwx up`` keeps in `state_dir` (None if there is none). ``supervisor.running`` says whether
    its process is alive."""
    path = Path(state_dir) / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        raise ValueError(f"{path} is not a kwx up status file: delete it (kwx up writes a new one)") from None
    supervisor = status.setdefault("supervisor", {})
    supervisor["running"] = not supervisor.get("stopped", True) and _alive(supervisor.get("pid"))
    return status


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _journal_figures(path: Path) -> dict[str, Any]:
    """The cursor and journal figures of one worker state file, read without taking the worker's lock (SQLite
    in WAL mode lets a reader in beside the writer). Empty if the file is missing or unreadable."""
    if not path.is_file() or path.stat().st_size == 0:
        return {}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return {}
    try:
        cursor = db.execute("SELECT scanned_block FROM cursor WHERE id = 1").fetchone()
        counts = dict(db.execute("SELECT status, COUNT(*) FROM journal GROUP BY status").fetchall())
        (deferred,) = db.execute(
            "SELECT COUNT(*) FROM journal WHERE status = 'pending' AND attempts > 0").fetchone()
        last = db.execute("SELECT slot, status, tx_hash, updated_at FROM journal WHERE status IN "
                          "('accepted', 'superseded', 'failed') ORDER BY updated_at DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    figures: dict[str, Any] = {"scanned_block": cursor[0] if cursor else None, "counts": counts,
                               "deferred": deferred}
    if last is not None:
        slot, status, tx_hash, updated = last
        figures["last_result"] = f"slot {slot} {status}" + (f" {tx_hash[:10]}…" if tx_hash else "")
        figures["last_result_at"] = updated
    return figures


def worker_health(state_dir: str | Path, names: Iterable[str], head: int | None) -> list[WorkerHealth]:
    """Every worker of `names` (plus any other the status file lists), from the status file in `state_dir` and the
    workers' state files there; `head`: the chain head for the lag (None if the chain is not reachable)."""
    status = read_supervisor_status(state_dir) or {"supervisor": {"running": False}, "workers": {}}
    supervised = status.get("workers", {})
    running = status["supervisor"]["running"]
    health = []
    for name in dict.fromkeys([*names, *supervised]):
        child = supervised.get(name)
        figures = _journal_figures(state_path(name, state_dir))
        counts = figures.get("counts", {})
        scanned = figures.get("scanned_block")
        if child is None:
            state = "not supervised"
        elif running or child.get("state") == "skipped":
            state = child.get("state", "?")
        else:
            state = "stopped"
        health.append(WorkerHealth(
            name=name, state=state, pid=child.get("pid") if child and running else None,
            restarts=child.get("restarts", 0) if child else 0,
            last_exit=exit_text(child["last_exit"]) if child and child.get("last_exit") is not None else None,
            scanned_block=scanned, lag_blocks=None if head is None or scanned is None else max(head - scanned, 0),
            accepted=counts.get("accepted", 0), superseded=counts.get("superseded", 0),
            failed=counts.get("failed", 0), open=counts.get("pending", 0) + counts.get("signed", 0),
            deferred=figures.get("deferred", 0), last_result=figures.get("last_result"),
            last_result_at=figures.get("last_result_at"), reason=child.get("reason") if child else None,
        ))
    return health
