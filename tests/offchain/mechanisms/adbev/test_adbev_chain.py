"""The AdBEV day through the contracts (offchain/mechanisms/adbev/chain_run.py) against the Python run on the
book's model: every figure and the book's storage."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.data import seed003
from offchain.mechanisms.adbev import chain_run, plan
from offchain.mechanisms.adbev.model import pfl_mva

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("one_tranche", [False, True])
def test_a_small_day_on_chain_equals_the_python_run(tmp_path, one_tranche):
    population = seed003.ev_population("ch4", omega=12, seed=3)
    run = chain_run.run_on_chain(population, plan.AdbevSettings(seed=3, one_tranche_per_period=one_tranche), tmp_path)
    assert [name for name, ok in run.checks if not ok] == []
    assert len(run.checks) == 12
    day = run.chain
    assert day.carried > 0 and day.queued > 0 and len(day.trades) > 0  # carries and trades went through the book
    assert day.unmet_kwh == 0.0
    assert run.transactions > day.placed and run.gas > 0
    report = chain_run.chain_report(run, np.full(48, 100.0), "t")
    assert f"{pfl_mva(100.0 + day.ev_load_kw):.4f}" in report and "| gas per EV-day |" in report
