"""`kwx` end to end: help texts, the one-line failures of bad input (which change nothing), deploy reuse."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from offchain.chain import EmbeddedAnvil, connect, free_port, port_open

COMMANDS = ("chain", "deploy", "demo", "worker")
KWX_ENV = ("KWX_LOCAL_RPC_URL", "KWX_REHEARSAL_RPC_URL", "KWX_FUJI_RPC_URL", "KWX_PRIVATE_KEY", "KWX_KEYSTORE")


def kwx(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in KWX_ENV}
    return subprocess.run(
        [sys.executable, "-m", "offchain.cli", *args],
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kwx: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", ("", *COMMANDS))
def test_every_command_has_help(command: str) -> None:
    result = kwx(*filter(None, [command]), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_unknown_network_is_one_line(tmp_path: Path) -> None:
    result = kwx("deploy", "--network", "mainnet", "--manifest-dir", str(tmp_path))
    assert_one_line_failure(result, "unknown network 'mainnet'", "fuji-rehearsal")
    assert not list(tmp_path.iterdir())


def test_fuji_refuses_without_rpc_url(tmp_path: Path) -> None:
    throwaway_key = Account.create().key.hex()
    result = kwx("deploy", "--network", "fuji", "--manifest-dir", str(tmp_path), env={"KWX_PRIVATE_KEY": throwaway_key})
    assert_one_line_failure(result, "KWX_FUJI_RPC_URL")
    assert not list(tmp_path.iterdir())


def test_fuji_refuses_without_key_before_any_rpc_call(tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = kwx("deploy", "--network", "fuji", "--manifest-dir", str(tmp_path), env={"KWX_FUJI_RPC_URL": unreachable})
    assert_one_line_failure(result, "KWX_PRIVATE_KEY")
    assert not list(tmp_path.iterdir())


def test_unreachable_rpc_is_retried_then_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = kwx("deploy", "--network", "local", "--manifest-dir", str(tmp_path), env={"KWX_LOCAL_RPC_URL": url})
    assert_one_line_failure(result, url)
    assert not list(tmp_path.iterdir())


@pytest.mark.chain
def test_missing_artifacts_tell_what_to_run_and_send_nothing(tmp_path: Path) -> None:
    empty_build = tmp_path / "build"
    empty_build.mkdir()
    manifests = tmp_path / "deployments"
    with EmbeddedAnvil(chain_id=31337) as node:
        before = connect(node.rpc_url).eth.block_number
        result = kwx(
            "deploy", "--network", "local", "--manifest-dir", str(manifests),
            env={"KWX_LOCAL_RPC_URL": node.rpc_url, "KWX_BUILD_DIR": str(empty_build)},
        )
        assert_one_line_failure(result, "make compile")
        assert connect(node.rpc_url).eth.block_number == before
    assert not manifests.exists()


@pytest.mark.chain
def test_deploy_twice_to_fuji_rehearsal_reuses_the_manifest(tmp_path: Path) -> None:
    with EmbeddedAnvil(chain_id=43113) as node:
        env = {"KWX_REHEARSAL_RPC_URL": node.rpc_url}
        first = kwx("deploy", "--network", "fuji-rehearsal", "--manifest-dir", str(tmp_path), env=env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("Deployed")
        manifest = json.loads((tmp_path / "fuji-rehearsal.json").read_text())
        assert manifest["chain_id"] == 43113
        block_after_first = connect(node.rpc_url).eth.block_number

        second = kwx("deploy", "--network", "fuji-rehearsal", "--manifest-dir", str(tmp_path), env=env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith("Reused")
        assert json.loads((tmp_path / "fuji-rehearsal.json").read_text())["contracts"] == manifest["contracts"]
        assert connect(node.rpc_url).eth.block_number == block_after_first


def test_unknown_worker_is_one_line() -> None:
    result = kwx("worker", "no-such-worker")
    assert_one_line_failure(result, "unknown worker 'no-such-worker'", "surplus-score")


@pytest.mark.parametrize(
    ("option", "fragments"),
    [
        ("bogus=1", ("worker surplus-score has no option 'bogus'", "through_period")),
        ("through_period=soon", ("option through_period: cannot read 'soon'",)),
        ("through_period", ("'through_period' is not KEY=VALUE",)),
    ],
)
def test_bad_worker_option_is_one_line_before_any_connection(option: str, fragments: tuple[str, ...], tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = kwx("worker", "surplus-score", "--once", "--state-dir", str(tmp_path), "-o", option,
                 env={"KWX_LOCAL_RPC_URL": unreachable})
    assert_one_line_failure(result, *fragments)
    assert not list(tmp_path.iterdir())


def test_worker_options_are_listed() -> None:
    result = kwx("worker", "coalition-result", "--list-options")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1].split("=")[0] for line in result.stdout.splitlines()[1:]] == ["participants", "seed", "through_slot"]
    assert "(no options)" in kwx("worker", "fog-matching", "--list-options").stdout


@pytest.mark.chain
def test_worker_options_reach_the_worker(tmp_path: Path) -> None:
    manifests, state = tmp_path / "deployments", tmp_path / "state"
    with EmbeddedAnvil(chain_id=31337) as node:
        env = {"KWX_LOCAL_RPC_URL": node.rpc_url}
        deployed = kwx("deploy", "--network", "local", "--manifest-dir", str(manifests), env=env)
        assert deployed.returncode == 0, deployed.stderr
        args = ("worker", "surplus-score", "--manifest-dir", str(manifests), "--state-dir", str(state), "--once")
        ran = kwx(*args, "-o", "through-period=3", env=env)
        assert ran.returncode == 0, ran.stderr
        assert "scanned_to" in ran.stdout
        refused = kwx("worker", "coalition-scores", "--manifest-dir", str(manifests), "--state-dir", str(state),
                      "--once", "-o", "through_period=3", env=env)
        assert_one_line_failure(refused, "coalition-scores has no option 'through_period'")


@pytest.mark.chain
def test_kwx_chain_serves_until_interrupted_then_is_gone() -> None:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if k not in KWX_ENV}
    process = subprocess.Popen(
        [sys.executable, "-m", "offchain.cli", "chain", "--network", "fuji-rehearsal", "--port", str(port)],
        env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}" in banner and "chain id 43113" in banner
        assert connect(f"http://127.0.0.1:{port}").eth.chain_id == 43113
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) != 0
    finally:
        process.kill()
    assert not port_open(port)
