"""The embedded Anvil: a free port, the chain id asked for, and gone after every way its owner ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from offchain.chain import AnvilStartError, EmbeddedAnvil, connect, port_open, project_root

pytestmark = pytest.mark.chain

OWNER_SCRIPT = textwrap.dedent(
    """
    import sys
    from offchain.chain import EmbeddedAnvil
    anvil = EmbeddedAnvil(chain_id=43113)
    print(anvil.pid, anvil.port, flush=True)
    sys.stdin.readline()  # until the test says "exit" (or signals us)
    sys.exit(0)  # a normal exit without stop(): atexit has to do it
    """
)


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for a parent that never reaps it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_until_gone(pid: int, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process_alive(pid) or port_open(port)):
        time.sleep(0.05)
    assert not process_alive(pid), f"anvil pid {pid} still running"
    assert not port_open(port), f"port {port} still open"


def test_context_manager_serves_the_chain_id_then_stops():
    with EmbeddedAnvil(chain_id=43113, accounts=3) as anvil:
        assert process_alive(anvil.pid) and port_open(anvil.port)
        w3 = connect(anvil.rpc_url, expected_chain_id=43113)
        assert len(w3.eth.accounts) == 3
        pid, port = anvil.pid, anvil.port
    wait_until_gone(pid, port, timeout=1.0)
    anvil.stop()  # stopping twice is harmless
    assert not anvil.running


def test_two_chains_get_different_free_ports():
    with EmbeddedAnvil() as first, EmbeddedAnvil() as second:
        assert first.port != second.port
        assert connect(first.rpc_url).eth.chain_id == connect(second.rpc_url).eth.chain_id == 31337


def test_taken_fixed_port_is_a_one_line_error():
    with EmbeddedAnvil() as running:
        with pytest.raises(AnvilStartError) as caught:
            EmbeddedAnvil(port=running.port)
        assert "\n" not in str(caught.value)
        assert port_open(running.port)  # the chain already there is untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux")
@pytest.mark.parametrize(
    "ending, expected_returncode",
    [("exit", 0), ("SIGTERM", -signal.SIGTERM), ("SIGINT", -signal.SIGINT), ("SIGKILL", -signal.SIGKILL)],
)
def test_chain_is_gone_after_its_owner_process_ends(ending, expected_returncode):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT],
        cwd=project_root(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        pid, port = map(int, owner.stdout.readline().split())
        assert process_alive(pid) and port_open(port)
        if ending == "exit":
            owner.stdin.write("exit\n")
            owner.stdin.flush()
        else:
            os.kill(owner.pid, getattr(signal, ending))
        assert owner.wait(timeout=30) == expected_returncode, owner.stderr.read()
        wait_until_gone(pid, port)
    finally:
        owner.kill()
        owner.wait()


def _persisted_state_files() -> set[Path]:
    tmp = Path.home() / ".foundry" / "anvil" / "tmp"
    return set(tmp.glob("*/*")) if tmp.exists() else set()


def test_history_beyond_memory_is_not_written_to_disk():
    """Anvil keeps 500 blocks' states in memory and by default writes older ones to ~/.foundry/anvil/tmp, where
    they stayed (16-26 GB per long benchmark run filled the disk); the embedded node persists none."""
    before = _persisted_state_files()
    with EmbeddedAnvil(accounts=1) as anvil:
        w3 = connect(anvil.rpc_url)
        for _ in range(700):
            w3.provider.make_request("evm_mine", [])
        assert w3.eth.block_number == 700
        assert _persisted_state_files() - before == set()
