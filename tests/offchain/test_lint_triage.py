"""toolchain/lint.py (`make lint`) decides CI's verdict from Slither's JSON report and the committed triage:
an untriaged High or Medium finding fails, a triaged false positive passes, a finding triaged as fixed that comes
back fails. Slither itself is replaced by a stub that writes a given report (the real run is `make lint`)."""

from __future__ import annotations

import importlib.util
import json
import stat
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_lint():
    spec = importlib.util.spec_from_file_location("kwx_lint", REPO / "toolchain" / "lint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finding(check: str, impact: str, first_line: str) -> dict:
    return {"check": check, "impact": impact, "description": first_line + "\n\tmore\n"}


FINDING = finding("uninitialized-local", "Medium",
                  "EPOS.mintScores(bytes32,uint256,address[],uint256[]).total (contracts/tokens/EPOS.sol#41) is a local")
KEY = "uninitialized-local:EPOS.mintScores(bytes32,uint256,address[],uint256[]).total"


def run_lint(tmp_path, monkeypatch, capsys, detectors: list[dict], triage: dict) -> tuple[int, str]:
    report = {"success": True, "error": None, "results": {"detectors": detectors}}
    stub = tmp_path / "slither"
    stub.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                    f"json.dump({report!r}, open(sys.argv[sys.argv.index('--json') + 1], 'w'))\n")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    triage_file = tmp_path / "triage.json"
    triage_file.write_text(json.dumps(triage))
    lint = load_lint()
    monkeypatch.setattr(lint, "TRIAGE", triage_file)
    monkeypatch.setattr(sys, "argv", ["lint.py", "--slither", str(stub)])
    code = lint.main()
    return code, capsys.readouterr().out


def test_an_untriaged_medium_finding_fails(tmp_path, monkeypatch, capsys):
    code, out = run_lint(tmp_path, monkeypatch, capsys, [FINDING], {})
    assert code == 1 and f"UNTRIAGED Medium: {KEY}" in out


def test_a_triaged_false_positive_passes_and_low_findings_are_ignored(tmp_path, monkeypatch, capsys):
    low = finding("naming-convention", "Informational", "x")
    code, out = run_lint(tmp_path, monkeypatch, capsys, [FINDING, low],
                         {KEY: {"verdict": "false positive", "reason": "zero-started accumulator"}})
    assert code == 0 and "1 triaged as false positives, 0 untriaged" in out


def test_a_finding_triaged_as_fixed_that_comes_back_fails(tmp_path, monkeypatch, capsys):
    code, out = run_lint(tmp_path, monkeypatch, capsys, [FINDING], {KEY: {"verdict": "fixed", "reason": "initialised"}})
    assert code == 1 and f"REAPPEARED (triaged as fixed): {KEY}" in out


def test_a_triage_entry_without_a_reason_is_refused(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit, match="need a verdict"):
        run_lint(tmp_path, monkeypatch, capsys, [FINDING], {KEY: {"verdict": "false positive", "reason": ""}})


def test_the_committed_triage_gives_every_entry_a_verdict_and_its_own_reason():
    entries = load_lint().load_triage()
    reasons = [entry["reason"] for entry in entries.values()]
    assert entries and len(set(reasons)) == len(reasons), "no blanket reasons"
