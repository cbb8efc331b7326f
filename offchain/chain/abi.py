"""Values of the core contracts' ABI that Python code passes or compares: the zero address, the largest
uint256 and ParticipantRegistry.Kind. Each mechanism declares its own contracts' enums beside their deploy steps."""

from __future__ import annotations

from enum import IntEnum

#: address(0): in a trade list it stands for the distribution centre (the grid side of a trade).
ZERO_ADDRESS = "0x" + "00" * 20
#: type(uint256).max: as an ERC-20 allowance, one that transfers never run down.
MAX_UINT256 = 2**256 - 1


class ParticipantKind(IntEnum):
    """ParticipantRegistry.Kind. NONE matches any kind in ``isActive`` and marks an unregistered account."""

    NONE = 0
    PROSUMER = 1
    EV = 2
