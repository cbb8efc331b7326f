"""Role identifiers of the ParticipantRegistry (mirrors contracts/core/Roles.sol)."""

from __future__ import annotations

from eth_utils import keccak

ROLE_NAMES: tuple[str, ...] = ("ADMIN", "OPERATOR", "METER", "SCORER", "VALIDATOR", "STAKING", "MARKET", "PAR_CONTROL")


def role_id(name: str) -> bytes:
    """The bytes32 id of a registry role: ADMIN is OpenZeppelin's DEFAULT_ADMIN_ROLE (32 zero bytes), every
    other role is keccak256("<NAME>_ROLE")."""
    upper = name.upper()
    if upper not in ROLE_NAMES:
        raise ValueError(f"unknown role {name!r}: one of {', '.join(ROLE_NAMES)}")
    return b"\x00" * 32 if upper == "ADMIN" else keccak(text=f"{upper}_ROLE")


_NAME_BY_ID = {role_id(name): name for name in ROLE_NAMES}


def role_name(identifier: bytes) -> str | None:
    """The name of a role id, or None if it is not a registry role."""
    return _NAME_BY_ID.get(bytes(identifier))
