"""Makes brownie's Ganache network entry (`kwx-ganache`) say what the Makefile asks, idempotently.

Brownie keeps networks per machine (~/.brownie/network-config.yaml), not in the project, so `make test` creates the
entry on a clean machine, and fixes it when the port asked for changed; otherwise it leaves the file alone.
Usage: python toolchain/ganache/network.py PORT
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NETWORK = "kwx-ganache"
#: Ganache the way the contract tests need it: the Anvil accounts (test mnemonic, 10,000 ETH each), chain id
#: 31337, Ganache's newest rules (shanghai: what the build in this folder is compiled for), brownie's gas limit.
SETTINGS = {
    "chain_id": 31337,
    "accounts": 10,
    "evm_version": "shanghai",
    "mnemonic": "test test test test test test test test test test test junk",
    "default_balance": 10000,
    "gas_limit": 12000000,
}


def main(port: int) -> None:
    from brownie._config import CONFIG

    wanted = {**SETTINGS, "port": port}
    current = CONFIG.networks.get(NETWORK)
    if current is not None and current.get("cmd") == "ganache" and current.get("cmd_settings") == wanted:
        return
    brownie = str(Path(sys.executable).with_name("brownie"))
    action = ["modify", NETWORK] if current is not None else ["add", "Development", NETWORK]
    fields = [f"{key}={value}" for key, value in wanted.items()]
    subprocess.run([brownie, "networks", *action, "cmd=ganache", "host=http://127.0.0.1", *fields],
                   check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main(int(sys.argv[1]))
