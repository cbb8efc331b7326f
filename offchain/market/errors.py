"""The reverts of the on-chain order book as Python exceptions.

One exception class per Solidity custom error, with the same name and the same arguments in the same
order, so a test can compare a model rejection with a chain revert field by field. `ABI` lists each
argument's name and Solidity type; `encode()` gives the exact revert data the contract would return.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eth_abi import encode as abi_encode
from eth_utils import keccak

Address = str
"""An account address as a hex string (the model compares addresses case-insensitively)."""


class OrderBookError(Exception):
    """A rejected operation: the model's state is left exactly as it was before the call."""

    ABI: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, *values: Any) -> None:
        if len(values) != len(self.ABI):
            raise TypeError(f"{type(self).__name__} takes {len(self.ABI)} values, got {len(values)}")
        super().__init__(*values)
        for (field, _), value in zip(self.ABI, values):
            setattr(self, field, value)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def values(self) -> tuple[Any, ...]:
        return self.args

    @classmethod
    def signature(cls) -> str:
        """The Solidity error signature, e.g. `InsufficientBalance(address,uint256,uint256)`."""
        return f"{cls.__name__}({','.join(solidity_type for _, solidity_type in cls.ABI)})"

    def encode(self) -> bytes:
        """The ABI-encoded revert data: 4-byte selector followed by the encoded arguments."""
        selector = keccak(text=self.signature())[:4]
        return selector + abi_encode([t for _, t in self.ABI], list(self.values))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(f'{f}={v!r}' for (f, _), v in zip(self.ABI, self.values))})"


class ZeroAmount(OrderBookError):
    """An order, deposit or withdrawal of zero (IKwxErrors.ZeroAmount)."""


class QuantityTooLarge(OrderBookError):
    """`quantityWh` exceeds the largest order the book stores, `maxWh`."""

    ABI = (("quantityWh", "uint256"), ("maxWh", "uint256"))


class PriceOffGrid(OrderBookError):
    """`price` (UPOS base units per kWh) is not a multiple of the tick size."""

    ABI = (("price", "uint256"),)


class PriceOutOfRange(OrderBookError):
    """`price` lies outside [minPrice, maxPrice]."""

    ABI = (("price", "uint256"),)


class DisplayExceedsTotal(OrderBookError):
    """An iceberg's displayed peak `display` (Wh) exceeds its total `quantity` (Wh)."""

    ABI = (("displayWh", "uint256"), ("quantityWh", "uint256"))


class ZeroDisplay(OrderBookError):
    """An order of `quantityWh` shows nothing: an iceberg's display must be positive (a plain order
    displays its whole quantity)."""

    ABI = (("quantityWh", "uint256"),)


class OrderBelowMinimum(OrderBookError):
    """`quantityWh` is below the smallest order the book takes, `minOrderWh`."""

    ABI = (("quantityWh", "uint256"), ("minOrderWh", "uint256"))


class DisplayBelowMinimum(OrderBookError):
    """An iceberg's peak `displayWh` is below the smallest peak the book takes, `minDisplayWh`."""

    ABI = (("displayWh", "uint256"), ("minDisplayWh", "uint256"))


class InvalidOrderMinimums(OrderBookError):
    """Order minimums must lie in [1, MAX_QUANTITY_WH]."""

    ABI = (("minOrderWh", "uint256"), ("minDisplayWh", "uint256"))


class InvalidGridTariffs(OrderBookError):
    """The export tariff may not exceed the import tariff."""

    ABI = (("importPrice", "uint256"), ("exportPrice", "uint256"))


class OrderWouldTrade(OrderBookError):
    """A post-only order at `price` would trade in `period` on arrival."""

    ABI = (("period", "uint256"), ("price", "uint256"))


class DeadlinePassed(OrderBookError):
    """The placement deadline passed: the block's time `timestamp` is after `deadline`."""

    ABI = (("deadline", "uint256"), ("timestamp", "uint256"))


class InvalidOrderFlags(OrderBookError):
    """`flags` is not 0, POST_ONLY (1) or IMMEDIATE_OR_CANCEL (2)."""

    ABI = (("flags", "uint256"),)


class ExpiryNotOpen(OrderBookError):
    """Before `opensAt` (the start of `period`) only OPERATOR expires the period's orders."""

    ABI = (("period", "uint256"), ("opensAt", "uint256"))


class PeriodClosed(OrderBookError):
    """The gate of `period` has closed: no more trading in it."""

    ABI = (("period", "uint256"),)


class PeriodTooFarAhead(OrderBookError):
    """`period` is more than maxPeriodsAhead after the current period."""

    ABI = (("period", "uint256"),)


class PeriodNotClosed(OrderBookError):
    """Expiry or grid fill of an order whose period's gate is still open."""

    ABI = (("period", "uint256"),)


class NotOrderOwner(OrderBookError):
    """`caller` tried to cancel order `orderId` that it does not own."""

    ABI = (("orderId", "uint256"), ("caller", "address"))


class OrderNotOpen(OrderBookError):
    """Order `orderId` is filled, cancelled, expired or grid-filled."""

    ABI = (("orderId", "uint256"),)


class UnknownOrder(OrderBookError):
    """No order `orderId` was ever placed."""

    ABI = (("orderId", "uint256"),)


class InsufficientBalance(OrderBookError):
    """`account`'s free internal balance of `available` is below the `needed` amount (UPOS base units or
    Wh; IKwxErrors.InsufficientBalance)."""

    ABI = (("account", "address"), ("available", "uint256"), ("needed", "uint256"))


class InvalidCarryLimit(OrderBookError):
    """`lastPeriod` is not a period after the order's own `period` (or exceeds 2^32 - 1)."""

    ABI = (("orderId", "uint256"), ("period", "uint256"), ("lastPeriod", "uint256"))


class CarryPastLimit(OrderBookError):
    """Carrying `orderId` into `toPeriod` would pass the last period its owner allowed (0: none)."""

    ABI = (("orderId", "uint256"), ("toPeriod", "uint256"), ("lastPeriod", "uint256"))


class CarryWindowClosed(OrderBookError):
    """`toPeriod` already opened for new orders (at `openedAt`): a carried order could not keep its priority."""

    ABI = (("toPeriod", "uint256"), ("openedAt", "uint256"))


class CarryOutOfOrder(OrderBookError):
    """Orders carried into `toPeriod` must come in placement order: `orderId` after `lastCarriedId`."""

    ABI = (("toPeriod", "uint256"), ("lastCarriedId", "uint256"), ("orderId", "uint256"))


class ZeroAddress(OrderBookError):
    """A zero address where an account or contract is needed (IKwxErrors.ZeroAddress)."""


class OrderGateAlreadySet(OrderBookError):
    """The book's order gate was set already, to `gate`; it is set once."""

    ABI = (("gate", "address"),)


class PremiumSourceAlreadySet(OrderBookError):
    """The book's premium source was set already, to `source`; it is set once."""

    ABI = (("source", "address"),)


class ParticipantNotRegistered(OrderBookError):
    """Raised by the registry: `account` was never registered."""

    ABI = (("account", "address"),)


class ParticipantInactive(OrderBookError):
    """Raised by the registry: `account` is registered but deactivated."""

    ABI = (("account", "address"),)


class AccessControlUnauthorizedAccount(OrderBookError):
    """Raised by OpenZeppelin AccessControl: `account` lacks `neededRole` (bytes32)."""

    ABI = (("account", "address"), ("neededRole", "bytes32"))


class CreditRecipientNotAllowed(OrderBookError):
    """Raised by EnergyCredit: credits may only go to active participants and MARKET contracts."""

    ABI = (("to", "address"),)


ALL_ERRORS: tuple[type[OrderBookError], ...] = tuple(OrderBookError.__subclasses__())
"""Every error the model can raise, for tests that decode chain reverts by selector."""
