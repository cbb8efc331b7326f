"""An Anvil chain owned by this Python process: started on a free local port, stopped on every way out.

Stopping is layered so that no chain outlives its owner: `stop()` / the context manager; an atexit hook for
a normal exit or an unhandled exception (Ctrl-C raises KeyboardInterrupt, which ends there too); a SIGTERM
handler when nobody else handles SIGTERM; and on Linux PR_SET_PDEATHSIG in the child, so the kernel kills
Anvil even when this process is SIGKILLed.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from offchain.chain.accounts import ANVIL_TEST_MNEMONIC
from offchain.chain.artifacts import project_root
from offchain.chain.errors import AnvilStartError

_PR_SET_PDEATHSIG = 1
_PORT_RETRIES = 3
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # a local port, never via a proxy
_live: set["EmbeddedAnvil"] = set()
_live_lock = threading.RLock()  # re-entrant: the signal handler may run while the main thread holds it
_atexit_registered = False
_previous_handlers: dict[int, Any] = {}


def find_anvil() -> list[str]:
    """The command that runs Anvil. Prefers the native binary that the npm package @foundry-rs/anvil ships
    (so the child we signal is Anvil itself, not the node wrapper), then node_modules/.bin/anvil, then
    `anvil` on PATH."""
    modules = project_root() / "node_modules"
    native = sorted((modules / "@foundry-rs").glob("anvil-*/bin/anvil"))
    for candidate in (*native, modules / ".bin" / "anvil"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate)]
    on_path = shutil.which("anvil")
    if on_path:
        return [on_path]
    raise AnvilStartError(f"anvil not found in {modules} or on PATH: run `make setup` (npm ci installs it)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _child_setup() -> Any:
    """A preexec function for the Anvil child: on Linux it asks the kernel to SIGKILL the child when its
    parent dies, and exits at once if the parent already died between fork and prctl."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: the child only calls it
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


class EmbeddedAnvil:
    """A local Anvil node started by the constructor and stopped by `stop()`, `with`, or process exit.

    Args:
        chain_id: chain id to serve (31337 local, 43113 for a Fuji rehearsal).
        port: TCP port on 127.0.0.1; None picks a free one (retrying if it is taken meanwhile).
        accounts: number of funded accounts derived from `mnemonic` (10 000 ETH each).
        mnemonic: the development mnemonic; Anvil's public test mnemonic by default.
        block_time: seconds between blocks; None mines each transaction as it arrives.
        hardfork: EVM rules; "cancun" matches the compiler's evm_version and Avalanche C-Chain.
        startup_timeout: seconds to wait for the RPC to answer.
    """

    def __init__(
        self,
        chain_id: int = 31337,
        port: int | None = None,
        accounts: int = 10,
        *,
        mnemonic: str = ANVIL_TEST_MNEMONIC,
        block_time: float | None = None,
        hardfork: str = "cancun",
        startup_timeout: float = 30.0,
    ) -> None:
        self.chain_id = chain_id
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        options = ["--chain-id", str(chain_id), "--accounts", str(accounts), "--mnemonic", mnemonic]
        options += ["--hardfork", hardfork, "--host", "127.0.0.1"]
        if block_time is not None:
            options += ["--block-time", str(block_time)]
        _install_exit_hooks()
        for _ in range(1 if port is not None else _PORT_RETRIES):
            self.port = port if port is not None else free_port()
            if self._start(find_anvil() + options + ["--port", str(self.port)], startup_timeout):
                return
        raise AnvilStartError(f"anvil could not bind a free port after {_PORT_RETRIES} attempts")

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise AnvilStartError("anvil is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self, command: list[str], timeout: float) -> bool:
        """Starts Anvil and waits for its RPC. False if the port was taken (the caller tries another)."""
        fd, log = tempfile.mkstemp(prefix="kwx-anvil-", suffix=".log")
        self._log_path = Path(log)
        with os.fdopen(fd, "wb") as log_file:
            # A new session: a terminal's Ctrl-C reaches Python, which stops Anvil itself (in order).
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_child_setup(),
            )  # fmt: skip
        with _live_lock:
            _live.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self._log_tail()
                self.stop()
                if "in use" in tail.lower():
                    return False
                raise AnvilStartError(f"anvil exited during start-up: {tail or 'no output'}")
            # Our own stdout saying it listens proves the port is ours (not another chain's on the same port).
            served = _rpc_chain_id(self.rpc_url) if self._listening() else None
            if served is not None:
                if served != self.chain_id:
                    self.stop()
                    raise AnvilStartError(f"port {self.port} serves chain {served}, not {self.chain_id}")
                return True
            time.sleep(0.05)
        self.stop()
        raise AnvilStartError(f"anvil did not answer on {self.rpc_url} within {timeout:g} s")

    def _listening(self) -> bool:
        try:
            return f"Listening on 127.0.0.1:{self.port}" in self._log_path.read_text(errors="replace")
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            lines = [ln.strip() for ln in self._log_path.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def stop(self, timeout: float = 5.0) -> None:
        """Stops Anvil (SIGTERM to its process group, SIGKILL after `timeout` s) and waits for it to exit.
        Safe to call more than once."""
        process, self._process = self._process, None
        with _live_lock:
            _live.discard(self)
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> "EmbeddedAnvil":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self._process.pid}" if self.running else "stopped"
        return f"EmbeddedAnvil(chain_id={self.chain_id}, rpc_url={self.rpc_url}, {state})"


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the group also holds the real anvil if we started the node wrapper
    except ProcessLookupError:
        pass


def _rpc_chain_id(url: str) -> int | None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with _NO_PROXY.open(request, timeout=1) as response:
            return int(json.loads(response.read())["result"], 16)
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


def stop_all() -> None:
    """Stops every EmbeddedAnvil this process started."""
    with _live_lock:
        running = list(_live)
    for anvil in running:
        anvil.stop()


def _on_signal(signum: int, frame: Any) -> None:
    """Chains to whatever handled the signal before. A Python handler (KeyboardInterrupt for SIGINT, a
    worker's graceful shutdown) keeps control and the chains stop when the process really exits; where the
    signal would have killed the process outright, the chains are stopped first."""
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_exit_hooks() -> None:
    """atexit once; the signal handlers once, from the main thread (the only one allowed to set them; an
    Anvil started from another thread still has atexit and PDEATHSIG)."""
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        if sig not in _previous_handlers:
            _previous_handlers[sig] = signal.getsignal(sig)
            signal.signal(sig, _on_signal)
