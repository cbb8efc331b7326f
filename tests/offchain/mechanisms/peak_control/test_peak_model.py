"""Seed 002's reproduction (offchain.mechanisms.peak_control.model) at a small size, its statistics, and the
command's bad options (one line, non-zero exit, nothing written)."""

import numpy as np
import pytest
from typer.testing import CliRunner

from offchain.cli import app
from offchain.data.seed002 import generate_week
from offchain.mechanisms.peak_control.model import WILCOXON_ALL_FIVE, daily_par_statistics, reproduce_week


def test_wilcoxon_is_the_papers_whenever_rec_wins_days_3_to_7():
    rng = np.random.default_rng(11)
    for _ in range(5):
        norec = rng.uniform(0.1, 0.3, 7)
        rec = norec + np.r_[0, 0, rng.uniform(0.01, 0.2, 5)]
        statistics = daily_par_statistics(rec, norec)
        assert repr(statistics.wilcoxon_approx) == repr(WILCOXON_ALL_FIVE)
        assert statistics.wilcoxon_exact == pytest.approx(2 / 32)
    losing_day = norec + np.r_[0, 0, -0.01, rng.uniform(0.01, 0.2, 4)]
    assert daily_par_statistics(losing_day, norec).wilcoxon_approx > WILCOXON_ALL_FIVE


def test_small_week_report(tmp_path):
    result = reproduce_week(tmp_path, generate_week(participants=15, days=7, seed=3), sweep=False)
    report = (tmp_path / "seed002.md").read_text()
    for heading in ("Inputs calibrated to the paper", "Reproduced results", "Choices where the paper is open",
                    "Table 1 analogue", "Table 2 analogue"):
        assert heading in report
    assert all(path.exists() for path in result.files)
    energy = result.energy.set_index("scenario")
    assert energy.loc["REC", "net kWh"] == pytest.approx(energy.loc["NOREC", "net kWh"])
    assert result.results[0].met == bool(np.all(result.runs["rec"].daily_par[2:] > result.runs["norec"].daily_par[2:]))
    assert "reproduced results met" in report and (tmp_path / "seed002-results.csv").exists()
    literal = next(c for c in result.choices if c.question.startswith("Eq. 12"))
    assert literal.literal_result.startswith("PAR gain") and literal.our_result.startswith("PAR gain")


def test_a_short_window_leaves_out_the_five_day_wilcoxon_figure(tmp_path):
    result = reproduce_week(tmp_path, generate_week(participants=1, days=4, seed=3), sweep=False)
    assert not any(r.name.startswith("Wilcoxon") for r in result.results) and len(result.results) == 2


@pytest.mark.parametrize("args, message", [
    (["--participants", "0"], "--participants must be between 1 and 10000"),
    (["--days", "2"], "--days must be between 3 and 7"),
    (["--threshold", "1.5"], "--threshold must be in (0, 1]"),
    (["--storage-hours", "-1"], "--storage-hours must be between 0 and 168"),
    (["--excess", "greedy"], "--excess must be one of in-order, scaled"),
    (["--seed", "-3"], "--seed must be >= 0"),
    (["--chain", "--participants", "104"], "--participants must be at most 103 with --chain"),
    (["--loads", "measured"], "--loads must be one of synthetic, real"),
])
def test_bad_options_fail_in_one_line(tmp_path, args, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["reproduce", "seed002", "--out", str(out), *args])
    assert result.exit_code != 0
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_the_real_load_week_reproduces_through_the_command(tmp_path):
    out = tmp_path / "real"
    result = CliRunner().invoke(app, ["reproduce", "seed002", "--out", str(out), "--loads", "real",
                                      "--participants", "6", "--days", "4", "--no-sweep"])
    assert result.exit_code == 0, result.output
    report = (out / "seed002.md").read_text()
    assert "real loads: ev2gym" in report and "6 participants x 4 days" in report
