"""`kwx` end to end: help texts, the one-line failures of bad input (which change nothing), deploy reuse."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_account import Account

from offchain.chain import EmbeddedAnvil, connect, free_port, port_open

COMMANDS = ("chain", "deploy", "demo", "worker")
KWX_ENV = ("KWX_LOCAL_RPC_URL", "KWX_REHEARSAL_RPC_URL", "KWX_FUJI_RPC_URL", "KWX_PRIVATE_KEY", "KWX_KEYSTORE",
           "KWX_AVALANCHE_REHEARSAL_RPC_URL", "KWX_AVALANCHE_RPC_URL", "KWX_NODE")


def clean_env() -> dict[str, str]:
    """This process's environment without the KWX_* network, key and node variables."""
    return {k: v for k, v in os.environ.items() if k not in KWX_ENV}


def kwx(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`kwx ARGS` in a new process, in clean_env() plus `env`; `input` is its stdin (none: an empty stdin, as in
    CI)."""
    return subprocess.run(
        [sys.executable, "-m", "offchain.cli", *args],
        env=clean_env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input or "",
    )


def start_kwx(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`kwx ARGS` left running in a new process (clean_env() plus `env`, an empty stdin, stdout and stderr piped).
    Its faulthandler is on, so SIGABRT makes it print every thread's Python traceback (see interrupt)."""
    return subprocess.Popen(
        [sys.executable, "-m", "offchain.cli", *args],
        env=clean_env() | {"PYTHONFAULTHANDLER": "1"} | (env or {}),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def interrupt(process: subprocess.Popen[str], timeout: float = 60.0) -> int:
    """Ctrl-C to a process from start_kwx: SIGINT, then its exit status. Still running after `timeout` s fails
    the test with what the process was doing (its tracebacks, from SIGABRT) and the end of its stderr."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        try:
            _, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        pytest.fail(f"kwx still ran {timeout:g} s after SIGINT; its stderr ends:\n{stderr[-4000:]}")


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


@pytest.mark.parametrize(
    ("worker", "option", "fragment"),
    [
        ("coalition-result", "participants=0", "option participants must be >= 1, got 0"),
        ("coalition-result", "participants=-1", "option participants must be >= 1, got -1"),
        ("coalition-scores", "participants=0", "option participants must be >= 1, got 0"),
        ("coalition-result", "through_slot=0", "option through_slot must be >= 1, got 0"),
        ("coalition-rewards", "through-slot=-3", "option through_slot must be >= 1, got -3"),
        ("coalition-result", "seed=-1", "option seed must be >= 0, got -1"),
        ("fedavg-aggregator", "through_round=0", "option through_round must be >= 1, got 0"),
        ("fedavg-aggregator", "weighting=median", "option weighting must be one of samples, uniform"),
    ],
)
def test_out_of_range_worker_option_is_one_line_and_records_nothing(worker: str, option: str, fragment: str,
                                                                    tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = kwx("worker", worker, "--once", "--state-dir", str(tmp_path), "-o", option,
                 env={"KWX_LOCAL_RPC_URL": unreachable})
    assert result.returncode == 1
    assert_one_line_failure(result, f"worker {worker} {fragment}")
    assert not list(tmp_path.iterdir())


def test_run_worker_checks_option_ranges_before_connecting(tmp_path: Path) -> None:
    from offchain.mechanisms import WORKERS
    from offchain.workers import WorkerOptionError, parse_worker_options, run_worker

    assert parse_worker_options(WORKERS["coalition-result"], ["participants=1", "through_slot=1", "seed=0"]) == {
        "participants": 1, "through_slot": 1, "seed": 0}
    with pytest.raises(WorkerOptionError, match="option participants must be >= 1, got 0"):
        run_worker(WORKERS["coalition-result"], rpc_url=f"http://127.0.0.1:{free_port()}",
                   manifest_path=tmp_path / "local.json", state_dir=tmp_path / "state", once=True, participants=0)
    assert not list(tmp_path.iterdir())


def test_worker_help_lists_the_registered_workers_and_networks() -> None:
    from offchain.mechanisms import WORKERS

    result = kwx("worker", "--help", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    for name in WORKERS:
        assert name in result.stdout
    assert "local, fuji-rehearsal, fuji, avalanche-rehearsal or avalanche" in result.stdout
    assert "1 if any result failed" in result.stdout


@contextmanager
def deployed_local(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, str]]]:
    """An embedded Anvil with the suite deployed by `kwx deploy`: (manifest folder, worker state folder, the
    environment pointing `local` at it)."""
    manifests, state = tmp_path / "deployments", tmp_path / "state"
    with EmbeddedAnvil(chain_id=31337) as node:
        env = {"KWX_LOCAL_RPC_URL": node.rpc_url}
        deployed = kwx("deploy", "--network", "local", "--manifest-dir", str(manifests), env=env)
        assert deployed.returncode == 0, deployed.stderr
        yield manifests, state, env


@pytest.mark.chain
def test_worker_once_exits_1_while_a_result_is_refused_and_retries_it(tmp_path: Path) -> None:
    with deployed_local(tmp_path) as (manifests, state, env):
        # No participant is registered on this deployment, so ProofScoreRegistry refuses the slot's result at gas
        # estimation: nothing is sent, and every run asks again (workers/test_worker_faults.py has it land afterwards).
        args = ("worker", "coalition-result", "--manifest-dir", str(manifests), "--state-dir", str(state), "--once",
                "-o", "participants=1")
        for _ in range(2):
            ran = kwx(*args, env=env)
            assert ran.returncode == 1, ran.stderr
            assert "deferred=1" in ran.stdout and "failed=0" in ran.stdout
            assert ran.stderr.strip().splitlines()[-1].startswith("kwx: 1 result(s) not sent")


def test_worker_options_are_listed() -> None:
    result = kwx("worker", "coalition-result", "--list-options")
    assert result.returncode == 0, result.stderr
    assert [line.split()[1].split("=")[0] for line in result.stdout.splitlines()[1:]] == ["participants", "seed", "through_slot"]
    assert "(no options)" in kwx("worker", "fog-matching", "--list-options").stdout


@pytest.mark.chain
def test_worker_options_reach_the_worker(tmp_path: Path) -> None:
    with deployed_local(tmp_path) as (manifests, state, env):
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
    process = start_kwx("chain", "--network", "fuji-rehearsal", "--port", str(port))
    try:
        banner = process.stdout.readline()
        assert f"127.0.0.1:{port}" in banner and "chain id 43113" in banner
        assert connect(f"http://127.0.0.1:{port}").eth.chain_id == 43113
        assert interrupt(process) != 0
    finally:
        process.kill()
        process.wait()
    assert not port_open(port)


# --- kwx reproduce: bad input is one line, before anything is made -------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--sizes", "0"), "--sizes must each be at least 2"),
        (("--sizes", "1"), "--sizes must each be at least 2"),
        (("--sizes", "10,1"), "--sizes must each be at least 2"),
        (("--sizes", "-5"), "--sizes takes comma-separated non-negative integers"),
        (("--repetitions", "0"), "--repetitions must be between 1 and 1000"),
        (("--chain", "--sizes", "10"), "--sizes applies only without --chain"),
        (("--chain", "--repetitions", "5"), "--repetitions applies only without --chain"),
        (("--slots", "3"), "--slots applies only with --chain"),
        (("--update-benchmarks",), "--update-benchmarks applies only with --chain"),
        (("--chain", "--slots", "1"), "--slots must be at least 2"),
        (("--repetitions", "30", "--verdict-runs", "20"), "--verdict-runs must be at least --repetitions (30)"),
        (("--chain", "--verdict-runs", "100"), "--verdict-runs applies only without --chain"),
    ],
)
def test_bad_seed001_arguments_are_one_line_and_make_nothing(args: tuple[str, ...], fragment: str,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = kwx("reproduce", "seed001-coalitions", "--out", str(out), *args)
    assert_one_line_failure(result, fragment)
    assert not out.exists()


@pytest.mark.parametrize("command", (("seed000",), ("seed000", "--chain"), ("seed001-coalitions",),
                                     ("seed001-coalitions", "--chain"), ("seed001-v2v",)))
@pytest.mark.parametrize("below", (False, True))
def test_out_on_a_file_is_one_line_before_any_work(command: tuple[str, ...], below: bool, tmp_path: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    out = a_file / "sub" if below else a_file
    result = kwx("reproduce", command[0], "--out", str(out), *command[1:], timeout=30)
    assert_one_line_failure(result, f"--out {out}")
    assert a_file.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_bad_seed000_arguments_are_one_line_and_make_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_one_line_failure(kwx("reproduce", "seed000", "--out", str(out), "--forecast", "psychic"),
                            "unknown --forecast 'psychic'")
    assert_one_line_failure(kwx("reproduce", "seed000", "--chain", "--out", str(out), "--window", "600"),
                            "--window takes FIRST,COUNT")
    assert_one_line_failure(kwx("reproduce", "seed000", "--out", str(out), "--window", "600,60"),
                            "--window applies only with --chain")  # it was silently ignored
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "args", "fragment"),
    [
        ("seed003-scheduling", ("--generations", "0"), "--generations must be between 1 and 10000"),
        ("seed003-scheduling", ("--population", "3"), "--population must be between 4 and 1000"),
        ("seed003-adbev", ("--evs", "0"), "--evs must be between 1 and 1000"),
        ("seed003-adbev", ("--seed", "-1"), "--seed must be non-negative"),
        ("seed003-adbev", ("--ev-data", "pecan"), "--ev-data must be one of synthetic, acn"),
        ("seed003-adbev", ("--chain", "--evs", "201"), "--evs must be at most 200 with --chain"),
        ("seed003-adbev", ("--chain", "--seed", "-1"), "--seed must be non-negative"),
    ],
)
def test_bad_seed003_arguments_are_one_line_and_make_nothing(command: str, args: tuple[str, ...], fragment: str,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_one_line_failure(kwx("reproduce", command, "--out", str(out), *args), fragment)
    assert not out.exists()


def test_os_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from offchain.cli import one_line_errors

    @one_line_errors
    def clash() -> None:
        (tmp_path / "f").write_text("")
        (tmp_path / "f").mkdir()

    with pytest.raises(typer.Exit) as exit_info:
        clash()
    assert exit_info.value.exit_code == 1
    assert capsys.readouterr().err == f"kwx: {tmp_path / 'f'}: File exists\n"


class _Run:
    checks: list = []


@pytest.mark.parametrize("update", (False, True))
def test_chain_gas_benchmark_goes_to_out_and_to_benchmarks_only_when_asked(update: bool, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import offchain.mechanisms.coalition_market.chain_run as seed001_chain
    from offchain.chain.artifacts import project_root
    from offchain.cli import app

    calls = []
    monkeypatch.setattr(seed001_chain, "reproduce_chain",
                        lambda out, **kwargs: calls.append((out, kwargs)) or _Run())
    out = tmp_path / "chain"
    args = ["reproduce", "seed001-coalitions", "--chain", "--out", str(out)]
    result = CliRunner().invoke(app, args + (["--update-benchmarks"] if update else []))
    assert result.exit_code == 0, result.output
    benchmarks = project_root() / "benchmarks"
    assert calls == [(out, {"slots": 3, "benchmark_dir": benchmarks if update else None})]
    assert out.is_dir()
    assert f"{out / 'consensus_gas'}.{{md,json}}" in result.output
    assert (str(benchmarks / "consensus_gas") in result.output) == update
