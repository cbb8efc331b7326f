"""`make lint`: Slither over every project contract, checked against the committed triage.

Brownie's own compile deletes dependency artifacts and Slither's brownie mode does not find the interfaces,
so this compiles the project the way brownie does, through solc's standard JSON (every file under
contracts/ and interfaces/ inline, the OpenZeppelin remapping, the compiler settings of
brownie-config.yaml) with the solc shim, and hands that input to Slither.

Every High or Medium finding must be named in toolchain/slither-triage.json with a verdict
("false positive" or "fixed") and the reason; a finding that is not there fails the run (exit 1) with one
line per finding. Findings are named by detector and the qualified name of what they point at
(``uninitialized-local:EPOS.mintScores(bytes32,uint256,address[],uint256[]).total``), not by line numbers,
so an edit elsewhere does not invalidate the triage. Usage: ``python toolchain/lint.py --slither PATH``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIAGE = ROOT / "toolchain" / "slither-triage.json"
SOLC = ROOT / "toolchain" / "solcx" / "solc-v0.8.28"
SOURCE_FOLDERS = ("contracts", "interfaces")
IMPACTS = ("High", "Medium")
VERDICTS = ("false positive", "fixed")


def standard_json_input() -> dict:
    """solc's standard JSON input for every project source, with brownie-config.yaml's settings."""
    sources = {
        str(path.relative_to(ROOT)): {"content": path.read_text()}
        for folder in SOURCE_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.sol"))
    }
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": ["@openzeppelin=node_modules/@openzeppelin"],
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode"], "": ["ast"]}},
        },
    }


def finding_key(detector: dict) -> str:
    """detector:qualified-name of the first element (a function's signature, a variable under its
    function or contract)."""
    first_line = detector["description"].splitlines()[0].removeprefix("Reentrancy in ")
    return f"{detector['check']}:{first_line.split(' (')[0]}"


def run_slither(slither: str) -> list[dict]:
    """The High and Medium findings on project files (dependencies filtered out)."""
    with tempfile.TemporaryDirectory(prefix="kwx-lint-") as tmp:
        target, report = Path(tmp) / "input.json", Path(tmp) / "slither.json"
        target.write_text(json.dumps(standard_json_input()))
        completed = subprocess.run(
            [slither, str(target), "--compile-force-framework", "solc-json", "--solc", str(SOLC),
             "--filter-paths", "node_modules", "--exclude-informational", "--exclude-low",
             "--exclude-optimization", "--json", str(report)],
            cwd=ROOT, capture_output=True, text=True,
        )
        if not report.is_file():
            sys.exit(f"lint: slither failed (exit {completed.returncode}): {completed.stderr.strip().splitlines()[-1:]}")
        result = json.loads(report.read_text())
    if not result.get("success"):
        sys.exit(f"lint: slither failed: {result.get('error')}")
    return [d for d in result["results"].get("detectors", []) if d["impact"] in IMPACTS]


def load_triage() -> dict[str, dict]:
    entries = json.loads(TRIAGE.read_text())
    bad = [key for key, entry in entries.items() if entry.get("verdict") not in VERDICTS or not entry.get("reason")]
    if bad:
        sys.exit(f"lint: {TRIAGE.name}: entries need a verdict ({' or '.join(VERDICTS)}) and a reason: {', '.join(bad)}")
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slither", default="slither", help="the slither executable")
    parser.add_argument("--print-keys", action="store_true", help="print every finding's key and description")
    options = parser.parse_args()
    findings = run_slither(options.slither)
    triage = load_triage()
    keys = [finding_key(d) for d in findings]
    if options.print_keys:
        for key, detector in zip(keys, findings):
            print(f"{detector['impact']:<6} {key}\n       {detector['description'].splitlines()[0]}")
    untriaged = [(k, d) for k, d in zip(keys, findings) if k not in triage]
    reappeared = [k for k in keys if triage.get(k, {}).get("verdict") == "fixed"]
    stale = sorted(k for k, e in triage.items() if e["verdict"] == "false positive" and k not in keys)
    counts = {impact: sum(d["impact"] == impact for d in findings) for impact in IMPACTS}
    print(f"slither: {counts['High']} High, {counts['Medium']} Medium on project files; "
          f"{len(findings) - len(untriaged)} triaged as false positives, {len(untriaged)} untriaged, "
          f"{sum(e['verdict'] == 'fixed' for e in triage.values())} fixed earlier")
    for key in stale:
        print(f"  note: triaged false positive no longer reported (remove it): {key}")
    for key, detector in untriaged:
        print(f"  UNTRIAGED {detector['impact']}: {key}: {detector['description'].splitlines()[0]}")
    for key in reappeared:
        print(f"  REAPPEARED (triaged as fixed): {key}")
    return 1 if untriaged or reappeared else 0


if __name__ == "__main__":
    sys.exit(main())
