"""`kwx up` as a real process on a free port: what the service and dashboard tests share."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from offchain.chain import ChainClient, accounts_from_mnemonic, connect, free_port, load_manifest

KWX = [sys.executable, "-m", "offchain.cli"]


def wait_until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, dead but not reaped yet, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class Up:
    """A running `kwx up`: its process, folders and RPC URL."""

    process: subprocess.Popen[str]
    root: Path
    port: int
    log: Path

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def deployments(self) -> Path:
        return self.root / "deployments"

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("KWX_")} | {"KWX_LOCAL_RPC_URL": self.rpc_url}

    def status(self) -> dict:
        try:
            return json.loads((self.state / "up.json").read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def workers(self) -> dict[str, dict]:
        return self.status().get("workers", {})

    def kwx(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KWX, *args], env=self.env(), capture_output=True, text=True, timeout=timeout)

    def wait_running(self, timeout: float = 90) -> None:
        """Until every worker that is not skipped runs and has read the chain once (its cursor exists)."""
        def ready() -> bool:
            assert self.process.poll() is None, self.log.read_text()
            workers = self.workers()
            running = {n for n, w in workers.items() if w["state"] == "running"}
            wanted = {n for n, w in workers.items() if w["state"] != "skipped"}
            return bool(workers) and running == wanted and all(
                (self.state / f"{n}.sqlite").is_file() for n in wanted)
        wait_until(ready, timeout, "every worker to run")

    def client(self, index: int) -> ChainClient:
        return ChainClient(connect(self.rpc_url), accounts_from_mnemonic(count=index + 1)[index])

    def manifest(self):
        return load_manifest("local", self.deployments)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> float:
        """Sends `sig` and waits for the exit; the seconds it took."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout)
        return time.monotonic() - started


def start_up(root: Path, *extra: str) -> Up:
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = root / "up.log"
    up = Up(None, root, port, log)  # type: ignore[arg-type]
    with open(log, "w") as out:
        up.process = subprocess.Popen(
            [*KWX, "up", "--manifest-dir", str(up.deployments), "--state-dir", str(up.state), "--poll", "0.5", *extra],
            env=up.env(), stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return up


def all_workers_args(store: Path) -> list[str]:
    """Options that let every registered worker start (the FedAvg aggregator needs a model store and contributors)."""
    contributor = accounts_from_mnemonic(count=5)[4].address
    return ["-o", f"fedavg-aggregator.store_dir={store}", "-o", f"fedavg-aggregator.contributors={contributor}"]
