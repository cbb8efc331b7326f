"""What the order book asks the ParticipantRegistry, modelled: who is an active participant, who holds
OPERATOR, and (through EnergyCredit's transfer rule) who may receive energy credits."""

from __future__ import annotations

from dataclasses import dataclass, field

from offchain.chain.roles import role_id
from offchain.market.errors import (
    AccessControlUnauthorizedAccount,
    Address,
    CreditRecipientNotAllowed,
    ParticipantInactive,
    ParticipantNotRegistered,
)

OPERATOR_ROLE: bytes = role_id("OPERATOR")
"""The registry's OPERATOR role id (bytes32), as carried by AccessControlUnauthorizedAccount."""
ADMIN_ROLE: bytes = role_id("ADMIN")
"""The registry's ADMIN role id (bytes32, zero)."""


@dataclass
class AccessModel:
    """Registered participants (address -> active flag), OPERATOR holders and ADMIN holders.

    Addresses are compared exactly as given: use one spelling (e.g. checksummed) throughout.
    """

    participants: dict[Address, bool] = field(default_factory=dict)
    operators: set[Address] = field(default_factory=set)
    admins: set[Address] = field(default_factory=set)

    def register(self, account: Address) -> None:
        """Adds `account` as an active participant."""
        self.participants[account] = True

    def set_active(self, account: Address, active: bool) -> None:
        """Deactivates or reactivates a registered participant."""
        if account not in self.participants:
            raise ParticipantNotRegistered(account)
        self.participants[account] = active

    def is_operator(self, account: Address) -> bool:
        return account in self.operators

    def is_active(self, account: Address) -> bool:
        return self.participants.get(account, False)

    def require_active(self, account: Address) -> None:
        """Like registry.requireActive: raises ParticipantNotRegistered or ParticipantInactive."""
        if account not in self.participants:
            raise ParticipantNotRegistered(account)
        if not self.participants[account]:
            raise ParticipantInactive(account)

    def require_trader(self, account: Address) -> None:
        """OPERATOR may always trade; anyone else must be an active participant."""
        if not self.is_operator(account):
            self.require_active(account)

    def require_operator(self, account: Address) -> None:
        if not self.is_operator(account):
            raise AccessControlUnauthorizedAccount(account, OPERATOR_ROLE)

    def require_admin(self, account: Address) -> None:
        if account not in self.admins:
            raise AccessControlUnauthorizedAccount(account, ADMIN_ROLE)

    def require_credit_recipient(self, account: Address) -> None:
        """EnergyCredit accepts transfers only to active participants, the OPERATOR (and MARKET contracts)."""
        if not self.is_active(account) and not self.is_operator(account):
            raise CreditRecipientNotAllowed(account)
