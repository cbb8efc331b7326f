"""The FedAvg model store, shared by seed 000 and seed 001 ch. 4: the folder through which seed 000's fog nodes
hand their local model updates to the fedavg-aggregator worker (:mod:`offchain.mechanisms.fog_ems.fedavg`) and
pull the global models it publishes.

Layout under the store's root::

    updates/<version>/<contributor>.pt   one fog node's update for FedAvg round <version>; <contributor> is
                                         its participant address in lower case
    global/<content hash>.pt             a global model, named by its forecasting.state_hash ("0x" + 64 hex)

An update file holds exactly ``{"format", "version", "contributor", "samples", "base_hash", "state"}``: the
model parameters (``state``, parameter name -> float tensor), the number of training windows behind them
(``samples``, the FedAvg weight) and the content hash of the global model the node trained from
(``base_hash``). A global file holds the parameters alone. Nothing else is accepted, on writing or on
reading: the prosumer's consumption and production, its normalisation statistics and its optimiser state
stay in the fog node (forecasting.LocalTrainer), so they never reach the store.

Files are written under a temporary name in the same folder, flushed to disk and renamed into place, so a
reader sees a whole file or none. They are read with ``torch.load(weights_only=True)``: tensors and plain
values only, so no pickled code from a fog node runs in the aggregator. A global model is checked against
its name on reading; a fog node compares that name with the hash FogModelRegistry recorded. Seed 001 ch. 4's
federated RL stores each round's global policy here too (offchain.mechanisms.v2v.learning.store_round).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from web3 import Web3

from offchain.algorithms.forecasting import ModelUpdate, state_hash

#: Tag of the update file layout above; a reader refuses any other.
UPDATE_FORMAT = "kwx.fedavg.update/1"
#: FogModelRegistry records each sample count as a uint96.
MAX_SAMPLES = 2**96 - 1

_UPDATE_FIELDS = frozenset({"format", "version", "contributor", "samples", "base_hash", "state"})
_CONTENT_HASH = re.compile(r"0x[0-9a-f]{64}")


class ModelStoreError(ValueError):
    """A store file is missing, unreadable or not what its place in the store says, or the updates of a
    round cannot be averaged into a publishable round; the message names the file or contributor."""


@dataclass(frozen=True)
class StoredUpdate:
    """A fog node's update for round `version`, trained from the global model hashing to `base_hash`."""

    version: int
    base_hash: str
    update: ModelUpdate


class ModelStore:
    """The store folder at `root` (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # --- updates (written by fog nodes, read by the aggregator) ------------------------------------

    def update_path(self, version: int, contributor: str) -> Path:
        """Where `contributor`'s update for round `version` lives."""
        return self.root / "updates" / str(version) / f"{checksum_address(contributor).lower()}.pt"

    def has_update(self, version: int, contributor: str) -> bool:
        return self.update_path(version, contributor).is_file()

    def put_update(self, version: int, update: ModelUpdate, base_hash: str) -> Path:
        """Stores `update` (parameters and sample count, named by its contributor's address) as the node's
        update for round `version`, replacing an earlier one; `base_hash` is the content hash of the global
        model it was trained from. Returns the file's path."""
        record = {
            "format": UPDATE_FORMAT,
            "version": version,
            "contributor": checksum_address(update.contributor),
            "samples": update.n_samples,
            "base_hash": base_hash,
            "state": {name: tensor.detach().clone() for name, tensor in update.state.items()},
        }
        path = self.update_path(version, update.contributor)
        _check_update(record, version, record["contributor"], f"update of {update.contributor} for round {version}")
        _write_atomically(path, record)
        return path

    def load_update(self, version: int, contributor: str) -> StoredUpdate:
        """`contributor`'s update for round `version`, checked: the layout above, the version and contributor
        its path names, a sample count that fits a uint96, finite float parameters."""
        path = self.update_path(version, contributor)
        record = _load(path, "model update")
        _check_update(record, version, checksum_address(contributor), str(path))
        update = ModelUpdate(record["contributor"], record["samples"], record["state"])
        return StoredUpdate(version, record["base_hash"], update)

    # --- global models (written by the aggregator, read by fog nodes) ------------------------------

    def global_path(self, content_hash: str) -> Path:
        """Where the global model with `content_hash` ("0x" + 64 lower-case hex) lives."""
        if not isinstance(content_hash, str) or not _CONTENT_HASH.fullmatch(content_hash):
            raise ModelStoreError(f"{content_hash!r} is not a content hash (0x + 64 lower-case hex digits)")
        return self.root / "global" / f"{content_hash}.pt"

    def put_global(self, state: Mapping[str, torch.Tensor]) -> str:
        """Stores the parameters under their content hash and returns it (writing the same model again
        rewrites the same file)."""
        _check_state(state, "global model")
        content_hash = state_hash(state)
        _write_atomically(self.global_path(content_hash), {name: t.detach().clone() for name, t in state.items()})
        return content_hash

    def load_global(self, content_hash: str) -> dict[str, torch.Tensor]:
        """The global model with `content_hash` (e.g. from FogModelRegistry.latest()), after checking that
        its parameters hash to it."""
        path = self.global_path(content_hash)
        state = _load(path, "global model")
        _check_state(state, str(path))
        actual = state_hash(state)
        if actual != content_hash:
            raise ModelStoreError(f"{path}: the parameters hash to {actual}, not to the {content_hash} in its name")
        return state


def checksum_address(value: object) -> str:
    """`value` as a checksummed address; ModelStoreError if it is not an address."""
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ModelStoreError(f"{value!r} is not an address")
    return Web3.to_checksum_address(value)


def _load(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ModelStoreError(f"no {what} at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file; all mean the same here
        raise ModelStoreError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from exc


def _check_update(record: object, version: int, contributor: str, where: str) -> None:
    if not isinstance(record, dict):
        raise ModelStoreError(f"{where}: a model update is a dict, got {type(record).__name__}")
    if set(record) != _UPDATE_FIELDS:
        extra, missing = sorted(set(record) - _UPDATE_FIELDS), sorted(_UPDATE_FIELDS - set(record))
        raise ModelStoreError(f"{where}: a model update holds exactly {sorted(_UPDATE_FIELDS)} "
                              f"(unexpected: {extra}, missing: {missing})")
    if record["format"] != UPDATE_FORMAT:
        raise ModelStoreError(f"{where}: format {record['format']!r}, expected {UPDATE_FORMAT!r}")
    if type(record["version"]) is not int or record["version"] != version:
        raise ModelStoreError(f"{where}: holds round {record['version']!r}, not round {version}")
    if record["contributor"] != contributor:
        raise ModelStoreError(f"{where}: names contributor {record['contributor']!r}, not {contributor}")
    samples = record["samples"]
    if type(samples) is not int or not 0 <= samples <= MAX_SAMPLES:
        raise ModelStoreError(f"{where}: samples must be an integer in [0, 2^96 - 1], got {samples!r}")
    if not isinstance(record["base_hash"], str) or not _CONTENT_HASH.fullmatch(record["base_hash"]):
        raise ModelStoreError(f"{where}: base_hash {record['base_hash']!r} is not a content hash")
    _check_state(record["state"], where)


def _check_state(state: object, where: str) -> None:
    if not isinstance(state, Mapping) or not state:
        raise ModelStoreError(f"{where}: the parameters must be a non-empty mapping of name to tensor")
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise ModelStoreError(f"{where}: parameter {name!r} is not a named float tensor")
        if not torch.isfinite(tensor).all():
            raise ModelStoreError(f"{where}: parameter {name!r} has NaN or infinite values")


def _write_atomically(path: Path, obj: object) -> None:
    """torch.save to a temporary file beside `path`, fsync, rename over `path`, fsync the folder: a reader
    (or a restart after a power cut) sees the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name starts with "." and ends in ".tmp", so it never looks like an update or a model.
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
