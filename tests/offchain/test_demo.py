"""The demo scenario: it runs end to end on its own embedded chain and nothing is created or lost."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from offchain import demo


@pytest.mark.chain
def test_demo_runs_and_conserves_upos_and_scores_surplus() -> None:
    output = io.StringIO()
    balances = demo.run_demo(Console(file=output, width=160))

    issued = demo.UPOS_GRANT * len(demo.COMMUNITY)
    assert sum(b["UPOS"] for b in balances.values()) == pytest.approx(issued)
    for name, _kind, *_geometry, surplus_kwh in demo.COMMUNITY:
        assert balances[name]["EPOS"] == pytest.approx(surplus_kwh)
        assert balances[name]["credits_kWh"] == pytest.approx(surplus_kwh)
    payment = demo.PAYMENT_KWH * demo.PAYMENT_PRICE_UPOS_PER_KWH
    assert balances["ev-1"]["UPOS"] == pytest.approx(demo.UPOS_GRANT - payment)
    assert balances["prosumer-A"]["UPOS"] == pytest.approx(demo.UPOS_GRANT + payment)
    report = output.getvalue()
    assert "conserved" in report and "Chain stopped." in report
