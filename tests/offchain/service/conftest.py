"""Fixtures of the service and dashboard tests: a `kwx up` with every worker, shared by the package."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwx_up import Up, all_workers_args, start_up


@pytest.fixture(scope="session")
def fog_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fog-models")


@pytest.fixture(scope="package")
def market(tmp_path_factory: pytest.TempPathFactory, fog_store: Path) -> Iterator[Up]:
    """`kwx up` with every worker, on a chain it started; stopped (SIGKILL if it must) at the end."""
    up = start_up(tmp_path_factory.mktemp("market"), *all_workers_args(fog_store))
    try:
        up.wait_running()
        yield up
    finally:
        try:
            up.stop()
        except subprocess.TimeoutExpired:
            os.killpg(up.process.pid, signal.SIGKILL)
            up.process.wait()
