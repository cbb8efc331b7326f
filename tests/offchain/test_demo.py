"""The demo scenario: it runs end to end on its own embedded chain and nothing is created or lost."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from offchain import demo


@pytest.mark.chain
def test_demo_trades_a_period_and_conserves_upos_and_energy() -> None:
    output = io.StringIO()
    holdings = demo.run_demo(Console(file=output, width=200))

    issued = demo.UPOS_GRANT * len(demo.COMMUNITY) + demo.OPERATOR_FLOAT
    assert sum(h["UPOS"] for h in holdings.values()) == pytest.approx(issued, abs=1e-12)
    attested = sum(spec[-1] for spec in demo.COMMUNITY)
    assert sum(h["credits_kWh"] for h in holdings.values()) == pytest.approx(attested, abs=1e-12)
    for name, *_, surplus_kwh in demo.COMMUNITY:
        assert holdings[name]["EPOS"] == pytest.approx(surplus_kwh)
    # ev-2 bid 4 kWh above the import tariff and met 3 kWh of asks: the grid supplied the last kWh.
    assert holdings["ev-2"]["credits_kWh"] == pytest.approx(3.0)
    assert holdings["ev-2"]["grid_kWh"] == pytest.approx(1.0)
    assert holdings["operator"]["UPOS"] > demo.OPERATOR_FLOAT  # paid for that kWh at the import tariff
    report = output.getvalue()
    assert "nothing created or lost" in report and "Chain stopped." in report
    assert len(re.findall(r"prosumer-A\s+│\s+ev-2\s+│\s+1\.000", report)) == 3  # one trade per iceberg tranche
