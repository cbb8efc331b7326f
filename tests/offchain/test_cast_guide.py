"""docs/cast.md, run: every `bash` block of the guide, in order, against a freshly deployed suite on an embedded
Anvil, with Foundry's cast from npm and nothing of this project but the deployment manifest (issue 12: an outside
integrator registers, mints, attests, deposits, places, takes, cancels, moves the clock, withdraws and decodes a
revert by name offline)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from offchain.chain import accounts_from_mnemonic
from offchain.mechanisms import SUITE
from offchain.scenarios.harness import open_scenario_chain
from offchain.units import payment_base, price_to_base_per_kwh

pytestmark = pytest.mark.chain

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "cast.md"
CAST = REPO / "node_modules" / ".bin" / "cast"


def guide_script() -> str:
    """The guide's bash blocks as one script that stops at the first failing command."""
    blocks = re.findall(r"^```bash\n(.*?)^```", GUIDE.read_text(), flags=re.S | re.M)
    assert len(blocks) >= 6, "the guide lost its command blocks"
    return "set -euo pipefail\n" + "\n".join(blocks)


@pytest.mark.skipif(not CAST.exists(), reason="cast is installed by `make setup` (npm ci)")
def test_the_cast_guide_runs_against_a_fresh_deployment(tmp_path):
    with open_scenario_chain(tmp_path) as chain:
        chain.deploy(SUITE)
        env = {**os.environ, "RPC": chain.anvil.rpc_url, "MANIFEST": str(chain.manifest_file),
               "PATH": f"{CAST.parent}{os.pathsep}{os.environ['PATH']}", "FOUNDRY_DISABLE_NIGHTLY_WARNING": "1"}
        run = subprocess.run(["bash", "-c", guide_script()], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, f"the guide failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        assert "reverted with PeriodClosed(uint256)" in run.stdout

        seller, buyer = (account.address for account in accounts_from_mnemonic(count=6)[4:6])
        credit, upos, book = (chain.contract(name) for name in ("EnergyCredit", "UPOS", "EnergyOrderBook"))
        period = int(re.search(r"trading in period (\d+)", run.stdout).group(1))
        assert credit.functions.balanceOf(buyer, period).call() == 1_000
        assert upos.functions.balanceOf(seller).call() == payment_base(1_000, price_to_base_per_kwh("0.20"))
        assert credit.functions.balanceOf(book.address, period).call() == 1_000  # the cancelled rest, free in the book
        assert book.functions.openOrdersOf(seller, 1, 100).call() == []
