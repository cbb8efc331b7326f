"""Walks every `kwx` command's options with out-of-range values: no traceback, no hang, no busy loop: each
invocation ends within seconds with one `kwx:` line and a non-zero exit, before anything runs (issue 13).

The walk reads the options from the registries, so a new mechanism's workers and reproduce commands are
walked without touching this file: every worker's declared options (offchain.mechanisms.WORKERS), every
reproduce command the mechanisms declare (offchain.mechanisms.reproductions), and the other commands' own.
Reproduce commands get `--out` pointing at a file, so a value the command takes fails right after its
checks, at the --out check, instead of starting a reproduction.
"""

from __future__ import annotations

import signal
import sys
import time

import pytest
import typer

from offchain.chain import free_port
from offchain.cli import app, main
from offchain.mechanisms import WORKERS, reproductions

#: Values that are out of range for (nearly) every number: negative, zero, NaN, infinite, huge, not integers.
HOSTILE = ("-1", "0", "nan", "inf", "-inf", "1e40", "10^12", "1000000000000", "99999", "", "x")
SECONDS = 10


def run_kwx(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """`kwx ARGS` in this process (imports paid once); (exit status, stderr). A hang fails the test."""
    monkeypatch.setattr(sys, "argv", ["kwx", *args])
    monkeypatch.setenv("KWX_LOCAL_RPC_URL", f"http://127.0.0.1:{free_port()}")

    def hung(*_: object) -> None:
        raise AssertionError(f"kwx {' '.join(args)} still running after {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(SECONDS)
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < SECONDS
    return int(exited.value.code or 0), capsys.readouterr().err


def assert_refused(args: list[str], capsys, monkeypatch, names: str | None = None) -> str:
    code, stderr = run_kwx(args, capsys, monkeypatch)
    lines = stderr.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("kwx: "), (args, stderr)
    if names is not None:
        assert names in lines[0], (args, lines[0])
    return lines[0]


def command_options(path: list[str]) -> list[tuple[str, bool]]:
    """(option, is_flag) of the click command at `path` under `kwx`."""
    command = typer.main.get_command(app)
    ctx = typer.Context(command)
    for name in path:
        command = command.get_command(ctx, name)
    return [(param.opts[0], bool(getattr(param, "is_flag", False))) for param in command.params
            if param.opts and param.opts[0].startswith("--") and param.opts[0] not in ("--help", "--out")]


@pytest.mark.parametrize("worker", sorted(WORKERS))
def test_every_worker_option_out_of_range_is_one_line_and_records_nothing(worker, tmp_path, capsys, monkeypatch):
    for key in WORKERS[worker].options:
        for value in HOSTILE:
            assert_refused(["worker", worker, "--once", "--manifest-dir", str(tmp_path / "none"),
                            "--state-dir", str(tmp_path / "state"), "-o", f"{key}={value}"], capsys, monkeypatch)
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("option", [o for o, flag in command_options(["worker"]) if not flag
                                    and o not in ("--network", "--manifest-dir", "--state-dir", "--option")])
def test_worker_command_options_out_of_range(option, tmp_path, capsys, monkeypatch):
    for value in HOSTILE:
        assert_refused(["worker", "surplus-score", "--once", "--manifest-dir", str(tmp_path / "none"),
                        "--state-dir", str(tmp_path / "state"), option, value], capsys, monkeypatch)
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("name", sorted(reproductions()))
def test_every_reproduce_option_out_of_range_is_one_line_before_any_work(name, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "taken"
    a_file.write_text("keep")
    options = command_options(["reproduce", name])
    modes = [[], ["--chain"]] if ("--chain", True) in options else [[]]
    for mode in modes:
        for option, flag in options:
            if flag:
                continue
            for value in HOSTILE:
                assert_refused(["reproduce", name, "--out", str(a_file), *mode, option, value], capsys, monkeypatch)
    assert a_file.read_text() == "keep" and [p.name for p in tmp_path.iterdir()] == ["taken"]


@pytest.mark.parametrize("command", ["chain", "deploy", "gas", "up", "status", "dashboard"])
def test_other_commands_options_out_of_range(command, tmp_path, capsys, monkeypatch):
    for option, flag in command_options([command]):
        if flag or option in ("--manifest-dir", "--state-dir", "--skip", "--option"):
            continue
        for value in HOSTILE:
            assert_refused([command, option, value, *(["--manifest-dir", str(tmp_path)] if command == "deploy" else [])],
                           capsys, monkeypatch)


@pytest.mark.parametrize(("args", "names"), [
    (["worker", "surplus-score", "--once", "-o", "through_period=1e40"], "through_period"),
    (["worker", "coalition-result", "--once", "-o", "through_slot=10^12"], "through_slot"),
    (["worker", "coalition-result", "--once", "-o", "through_slot=1000000000000"], "through_slot must be <="),
    (["worker", "coalition-scores", "--once", "-o", "participants=1000000"], "participants must be <="),
    (["worker", "surplus-score", "--poll", "-1"], "--poll"),
    (["worker", "surplus-score", "--poll", "nan"], "--poll"),
    (["chain", "--port", "70000"], "--port"),
    (["chain", "--port", "0"], "--port"),
    (["worker", "fedavg-aggregator", "--once", "-o", "store_dir=/nonexistent", "-o", "contributors=0x1"],
     "store_dir must be an existing folder"),
    (["reproduce", "seed000", "--evs", "99999"], "--evs"),
    (["reproduce", "seed001-coalitions", "--sizes", "3000"], "--sizes"),
    (["reproduce", "seed001-coalitions", "--chain", "--slots", "1e9"], "--slots"),
    (["reproduce", "seed001-coalitions", "--chain", "--slots", "1000000000"], "--slots"),
    (["gas", "--network", "bogus"], "bogus"),
])
def test_the_reviewed_cases_name_the_option(args, names, tmp_path, capsys, monkeypatch):
    assert_refused([*args, *(["--out", str(tmp_path / "out")] if args[0] == "reproduce" else [])], capsys,
                   monkeypatch, names)
    assert not (tmp_path / "out").exists()


def test_malformed_rpc_url_fails_at_once(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KWX_LOCAL_RPC_URL", "not-a-url")
    monkeypatch.setattr(sys, "argv", ["kwx", "deploy", "--network", "local", "--manifest-dir", str(tmp_path)])
    started = time.monotonic()
    with pytest.raises(SystemExit):
        main()
    assert time.monotonic() - started < 2
    assert "KWX_LOCAL_RPC_URL" in capsys.readouterr().err


def test_busy_port_is_named(capsys, monkeypatch):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_refused(["chain", "--port", str(port)], capsys, monkeypatch, f"port {port} is already in use")
