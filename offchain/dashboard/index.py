"""What the dashboard knows of the chain: the events it reads, kept in memory from the deployment block on and
extended at every refresh, and the snapshot the page draws (order book, tape, balances, one panel per
mechanism, the workers' health).

The chain is the truth: a chain reset (new genesis) or a new manifest drops everything and reads again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from web3 import Web3

from offchain import units
from offchain.chain import (
    ChainClient,
    KwxChainError,
    Manifest,
    NetworkConfig,
    ParticipantKind,
    connect,
    load_manifest,
    manifest_path,
)
from offchain.workers import ChainEvent, contract_events
from offchain.workers.supervisor import read_supervisor_status, worker_health

from .book import BOOK_EVENTS, book_view, fold_orders, locked_in_book

#: Most blocks per log query.
BLOCK_CHUNK = 2000
#: Registry and token events every snapshot needs besides the book's.
CORE_EVENTS = ("ParticipantRegistry.ParticipantRegistered",)

log = logging.getLogger("kwx.dashboard")


class PanelViews:
    """Read-only calls a panel's build function may make at the head block: ``call("Staking", "poolStake", a)``."""

    def __init__(self, client: ChainClient, manifest: Manifest) -> None:
        self._client = client
        self._manifest = manifest
        self._contracts: dict[str, Any] = {}

    def call(self, contract: str, function: str, *args: Any) -> Any:
        if contract not in self._contracts:
            self._contracts[contract] = self._manifest.contract(self._client, contract)
        return self._client.call(getattr(self._contracts[contract].functions, function)(*args))


class ChainIndex:
    """The events of `reads` ("Contract.Event") of the deployment in `manifest_dir`, refreshed by :meth:`refresh`.

    `mechanisms`: the descriptors whose panels are drawn (default offchain.mechanisms.MECHANISMS); `state_dir`: the
    workers' state folder (their health). Thread-safe: one thread refreshes, any thread reads :meth:`snapshot`.
    """

    def __init__(self, config: NetworkConfig, manifest_dir: str | Path, state_dir: str | Path,
                 mechanisms: Sequence[Any] | None = None) -> None:
        from offchain.mechanisms import CORE_WORKERS, MECHANISMS

        mechanisms = MECHANISMS if mechanisms is None else mechanisms
        self.config = config
        self.manifest_dir = Path(manifest_dir)
        self.state_dir = Path(state_dir)
        self.panels = {m.name: m.panel for m in mechanisms if m.panel is not None}
        self.worker_names = [spec.name for spec in CORE_WORKERS] + [spec.name for m in mechanisms for spec in m.workers]
        reads = [*CORE_EVENTS, *BOOK_EVENTS, *(r for p in self.panels.values() for r in p.reads)]
        self.reads = tuple(dict.fromkeys(reads))
        self._lock = threading.Lock()
        self._w3: Web3 | None = None
        self._manifest: Manifest | None = None
        self._manifest_stamp: float | None = None
        self._genesis: str | None = None
        self._events: dict[str, list[ChainEvent]] = {}
        self._scanned = -1
        self._head: int | None = None
        self._snapshot: dict[str, Any] = {"version": 0, "ready": False, "error": "not read yet"}
        self._version = 0

    # --- reading the chain -------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Reads the blocks mined since the last refresh and rebuilds the snapshot if anything changed (also the
        workers' health); True if the snapshot changed. A chain or manifest that cannot be read is reported in
        the snapshot (``error``), never raised."""
        try:
            changed = self._read_chain()
            snapshot = self._build() if changed or self._snapshot.get("error") else None
            health = self._health()
        except (KwxChainError, OSError, ValueError, ConnectionError) as error:
            return self._publish_error(str(error).splitlines()[0])
        with self._lock:
            if snapshot is None:
                snapshot = dict(self._snapshot)
                if snapshot.get("workers") == health:
                    return False
            snapshot["workers"] = health
            self._version += 1
            snapshot["version"] = self._version
            self._snapshot = snapshot
        return True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self._snapshot

    def _publish_error(self, message: str) -> bool:
        with self._lock:
            if self._snapshot.get("error") == message:
                return False
            self._version += 1
            self._snapshot = {**self._snapshot, "version": self._version, "error": message}
        return True

    def _read_chain(self) -> bool:
        path = manifest_path(self.config, self.manifest_dir)
        stamp = path.stat().st_mtime if path.is_file() else None
        if self._w3 is None:
            self._w3 = connect(self.config.require_rpc_url(), expected_chain_id=self.config.chain_id, attempts=1,
                               timeout=5.0)
        genesis = Web3.to_hex(self._w3.eth.get_block(0)["hash"])
        if stamp != self._manifest_stamp or genesis != self._genesis:
            self._manifest = load_manifest(self.config, self.manifest_dir)
            self._manifest_stamp, self._genesis = stamp, genesis
            self._events = {name: [] for name in self.reads}
            self._scanned = self._manifest.deploy_block - 1
            self._client = ChainClient(self._w3, _ReadOnlyAccount())  # type: ignore[arg-type]
            self._contracts = {}
            fresh = True
        else:
            fresh = False
        head = self._w3.eth.block_number
        if head <= self._scanned and not fresh:
            return False
        manifest = self._manifest
        for lo in range(self._scanned + 1, head + 1, BLOCK_CHUNK):
            hi = min(lo + BLOCK_CHUNK - 1, head)
            for name in self.reads:
                contract, _, event = name.partition(".")
                if contract not in manifest.contracts:
                    continue  # a mechanism of another build: its panel shows what it has
                self._events[name].extend(contract_events(getattr(self._contract(contract).events, event), lo, hi))
            self._scanned = hi
        self._head = head
        return True

    def _contract(self, name: str) -> Any:
        if name not in self._contracts:
            self._contracts[name] = self._manifest.contract(self._client, name)
        return self._contracts[name]

    def _health(self) -> list[dict[str, Any]]:
        supervisor = read_supervisor_status(self.state_dir)
        health = [h.as_dict() for h in worker_health(self.state_dir, self.worker_names, self._head)]
        running = bool(supervisor and supervisor["supervisor"].get("running"))
        return [{**h, "supervised": running} for h in health]

    # --- the snapshot -----------------------------------------------------------------------------------

    def _build(self) -> dict[str, Any]:
        manifest = self._manifest
        assert manifest is not None
        events = self._events
        names = participant_names(events["ParticipantRegistry.ParticipantRegistered"], manifest.roles)
        book_events = sorted((e for name in BOOK_EVENTS for e in events[name]), key=lambda e: (e.block, e.log_index))
        block = self._w3.eth.get_block(self._head)
        current = self._client.call(self._contract("EnergyOrderBook").functions.currentPeriod())
        views = PanelViews(self._client, manifest)
        panels = {}
        for name, panel in self.panels.items():
            try:
                data = panel.load()({r: events[r] for r in panel.reads}, views)
                panels[name] = {"title": panel.title, "summary": panel.summary, "data": data}
            except Exception as error:  # one broken panel must not take the page down: it says what broke
                log.exception("panel %s failed", name)
                panels[name] = {"title": panel.title, "summary": panel.summary, "error": repr(error)}
        return {
            "ready": True,
            "error": None,
            "chain": {"network": self.config.name, "chain_id": self.config.chain_id, "head": self._head,
                      "timestamp": block["timestamp"], "deploy_block": manifest.deploy_block},
            "book": book_view(book_events, names, current),
            "balances": self._balances(book_events, names),
            "panels": panels,
        }

    def _balances(self, book_events: Sequence[ChainEvent], names: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every named account: UPOS in its wallet, free and locked in the book, EPOS, and energy credits of the
        periods it has energy in the book for (wallet, free, locked)."""
        upos, epos = self._contract("UPOS"), self._contract("EPOS")
        credit, book = self._contract("EnergyCredit"), self._contract("EnergyOrderBook")
        locked_upos, locked_wh = locked_in_book(fold_orders(book_events).values())
        periods_of: dict[str, set[int]] = {}
        for event in book_events:
            if event.name in ("EnergyDeposited", "EnergyWithdrawn"):
                periods_of.setdefault(event.args["account"], set()).add(event.args["period"])
        for account, period in locked_wh:
            periods_of.setdefault(account, set()).add(period)
        rows = []
        for account, name in names.items():
            call = self._client.call
            wallet, free = call(upos.functions.balanceOf(account)), call(book.functions.uposFree(account))
            locked = locked_upos.get(account, 0)
            energy = []
            for period in sorted(periods_of.get(account, ()))[-3:]:
                free_wh = call(book.functions.energyFree(account, period))
                wallet_wh = call(credit.functions.balanceOf(account, period))
                held = locked_wh.get((account, period), 0)
                energy.append({"period": period, "wallet_kwh": units.wh_to_kwh(wallet_wh),
                               "book_free_kwh": units.wh_to_kwh(free_wh), "book_locked_kwh": units.wh_to_kwh(held)})
            rows.append({"account": account, "name": name, "upos_wallet": units.base_to_upos(wallet),
                         "upos_book_free": units.base_to_upos(free), "upos_book_locked": units.base_to_upos(locked),
                         "epos": units.base_to_score(call(epos.functions.balanceOf(account))), "energy": energy})
        return rows


def participant_names(registered: Sequence[ChainEvent], roles: Mapping[str, str]) -> dict[str, str]:
    """{address: name}: the role accounts ("operator") and every registered participant ("prosumer 1", "EV 2", in
    registration order)."""
    names = {address: role.lower() for role, address in roles.items() if role in ("OPERATOR",)}
    counts: dict[int, int] = {}
    for event in registered:
        kind = int(event.args["kind"])
        counts[kind] = counts.get(kind, 0) + 1
        label = "EV" if kind == ParticipantKind.EV else "prosumer"
        names.setdefault(event.args["account"], f"{label} {counts[kind]}")
    return names


class _ReadOnlyAccount:
    """The dashboard only reads: its client has an address to call from and no key (none is needed, on a remote
    network either)."""

    address = "0x0000000000000000000000000000000000000000"
