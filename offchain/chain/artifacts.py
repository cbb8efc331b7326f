"""Brownie build artifacts (build/contracts/<Name>.json, build/interfaces/<Name>.json) and the revert
decoder built from all of their ABIs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import eth_abi
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from offchain.chain.errors import ArtifactsMissingError, ContractRevertError

ARTIFACT_FOLDERS = ("contracts", "interfaces")
COMPILE_HINT = "run `make compile`"

#: Solidity's Panic(uint256) codes (docs.soliditylang.org, "Panic via assert and error conditions").
PANIC_REASONS = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function pointer",
}


def project_root() -> Path:
    """The repository root: the folder holding brownie-config.yaml above this package (editable install),
    else above the working directory, else the working directory."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "brownie-config.yaml").is_file():
                return folder
    return Path.cwd()


def default_build_dir() -> Path:
    """Brownie's build folder: $KWX_BUILD_DIR if set, else `build/` of the project root."""
    override = os.environ.get("KWX_BUILD_DIR", "").strip()
    return Path(override) if override else project_root() / "build"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI and creation bytecode ("0x"-prefixed, empty for interfaces)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load_artifact(name: str, build_dir: str | Path | None = None) -> Artifact:
    """The artifact of contract `name` from `build_dir` (default: the project's build/).

    Raises ArtifactsMissingError telling the user to run `make compile` if it does not exist.
    """
    folder = Path(build_dir) if build_dir is not None else default_build_dir()
    for sub in ARTIFACT_FOLDERS:
        path = folder / sub / f"{name}.json"
        if path.is_file():
            return _read_artifact(str(path), path.stat().st_mtime_ns)
    if not _artifact_paths(folder):
        raise ArtifactsMissingError(f"no compiled contracts in {folder}: {COMPILE_HINT}")
    raise ArtifactsMissingError(f"no artifact for contract {name} in {folder}: {COMPILE_HINT}")


@lru_cache(maxsize=128)
def _read_artifact(path: str, mtime_ns: int) -> Artifact:  # mtime_ns keys the cache: a recompile reloads
    data = json.loads(Path(path).read_text())
    bytecode = data.get("bytecode") or ""
    if bytecode and not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return Artifact(name=data.get("contractName") or Path(path).stem, abi=data["abi"], bytecode=bytecode)


def _artifact_paths(build_dir: Path) -> list[Path]:
    return sorted(p for sub in ARTIFACT_FOLDERS for p in (build_dir / sub).glob("*.json"))


@dataclass(frozen=True)
class _ErrorShape:
    name: str
    types: tuple[str, ...]
    arg_names: tuple[str, ...]


def _abi_type(param: dict[str, Any]) -> str:
    """The canonical ABI type of a parameter (tuples expanded, as in selectors)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def _normalise(abi_type: str, value: Any) -> Any:
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.endswith("]") and isinstance(value, (list, tuple)):
        inner = abi_type[: abi_type.rindex("[")]
        return [_normalise(inner, item) for item in value]
    return value


class ErrorDecoder:
    """Decodes revert data into (error name, {argument: value}) using every custom error of the given ABIs,
    plus Solidity's built-in Error(string) and Panic(uint256)."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._by_selector: dict[bytes, _ErrorShape] = {
            function_signature_to_4byte_selector("Error(string)"): _ErrorShape("Error", ("string",), ("message",)),
            function_signature_to_4byte_selector("Panic(uint256)"): _ErrorShape("Panic", ("uint256",), ("code",)),
        }
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                inputs = entry.get("inputs", [])
                types = tuple(_abi_type(p) for p in inputs)
                selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
                names = tuple(p.get("name") or f"arg{i}" for i, p in enumerate(inputs))
                self._by_selector.setdefault(selector, _ErrorShape(entry["name"], types, names))

    @classmethod
    def from_build_dir(cls, build_dir: str | Path | None = None) -> "ErrorDecoder":
        """A decoder over every artifact in `build_dir` (default: the project's build/)."""
        folder = Path(build_dir) if build_dir is not None else default_build_dir()
        paths = _artifact_paths(folder)
        if not paths:
            raise ArtifactsMissingError(f"no compiled contracts in {folder}: {COMPILE_HINT}")
        return cls(_read_artifact(str(p), p.stat().st_mtime_ns).abi for p in paths)

    def decode(self, revert_data: bytes) -> tuple[str, dict[str, Any]] | None:
        """(name, args) for revert data whose selector some ABI declares, else None (also for malformed data)."""
        data = bytes(revert_data)
        shape = self._by_selector.get(data[:4]) if len(data) >= 4 else None
        if shape is None:
            return None
        try:
            values = eth_abi.decode(list(shape.types), data[4:])
        except Exception:  # eth_abi raises several unrelated types for truncated or garbled data
            return None
        args = {n: _normalise(t, v) for n, t, v in zip(shape.arg_names, shape.types, values)}
        if shape.name == "Panic":
            args["reason"] = PANIC_REASONS.get(args["code"], "unknown panic code")
        return shape.name, args

    def to_exception(
        self, revert_data: bytes | None, *, tx_hash: bytes | None = None, node_message: str | None = None
    ) -> ContractRevertError:
        """The ContractRevertError for revert data (None when the node returned none)."""
        if not revert_data:
            return ContractRevertError("Reverted", {"message": node_message or "no revert data"}, tx_hash=tx_hash)
        decoded = self.decode(revert_data)
        if decoded is None:
            data = bytes(revert_data)
            return ContractRevertError(
                "UnknownError", {"selector": "0x" + data[:4].hex(), "data": "0x" + data.hex()}, tx_hash=tx_hash
            )
        return ContractRevertError(decoded[0], decoded[1], tx_hash=tx_hash)


def revert_data_of(exc: Exception) -> bytes | None:
    """The raw revert data carried by a web3 ContractLogicError (or None if the node sent none)."""
    return revert_data(getattr(exc, "data", None))


def revert_data(data: Any) -> bytes | None:
    """The raw revert data in a node's error ``data`` field: "0x..." (Anvil, geth), {"data": "0x..."} (nested by
    some nodes and by web3), or Ganache's {"result": "0x...", "programCounter": ...}; None if there is none."""
    if isinstance(data, dict):
        data = data.get("data", data.get("result"))
    if not isinstance(data, str):
        return None
    data = data.removeprefix("Reverted ").strip()
    try:
        return bytes.fromhex(data.removeprefix("0x")) or None
    except ValueError:
        return None

