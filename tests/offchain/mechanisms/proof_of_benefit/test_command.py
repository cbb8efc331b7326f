"""`kwx reproduce seed003-pob`: bad options fail on one line before any work, and a tiny run writes the report."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from offchain.cli import app
from offchain.mechanisms.proof_of_benefit import model

runner = CliRunner()


@pytest.mark.parametrize("args", [["--ch6-evs", "abc"], ["--ch6-evs", "3"], ["--seed", "-1"], ["--ch6-seeds", "0"],
                                  ["--ev-data", "mars"], ["--chain", "--validators", "3"],
                                  ["--chain", "--chain-rounds", "0"], ["--chain", "--chain-evs", "0"]])
def test_bad_options_fail_on_one_line(tmp_path, args):
    result = runner.invoke(app, ["reproduce", "seed003-pob", "--out", str(tmp_path / "out"), *args])
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_report_lists_targets_with_verdicts(tmp_path, monkeypatch):
    ch5 = model.Ch5Result(48.5, 32.4, [(0, 1.0, 0.5)], {}, 1.0)
    ch6 = [model.Ch6Instance(60, 1, 2.0, 3.0, 2.5, 2.6, 0, 1.0), model.Ch6Instance(30, 2, 1.0, 1.0, 3.0, 2.0, 1, 1.0)]
    path = model.write_report(tmp_path, ch5, ch6, model.run_latency(1, rates=(5,), seconds=600),
                              model.run_sybil(1, rounds=50))
    text = path.read_text()
    assert "-33.2 % (48.5 -> 32.4)" in text and "| 1.25 |" in text
    # worst ratio 3.0 > 2.39 and ePoB vs AdBEV (-3.8 % and +50 %: +23.1 % on average) miss; the rest is met
    assert "**5 of 7 reproduced results met**" in text and "| 3.00 |" in text and "+23.1 %" in text
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 7 and results["met"].sum() == 5
