// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IEnergyCreditErrors
/// @notice The errors of {EnergyCredit}, declared apart so that a contract that moves credits (the order book)
/// carries them in its own ABI and a client decodes a revert bubbling up from the token by name.
interface IEnergyCreditErrors {
    /// @notice The surplus of `prosumer` for `period` has already been attested.
    error SurplusAlreadyAttested(address prosumer, uint256 period);
    /// @notice Credits can go only to active participants, MARKET contracts and the OPERATOR.
    error CreditRecipientNotAllowed(address to);
    /// @notice The caller may not burn these credits: it is no METER (credits of a participant or the
    /// OPERATOR), or it is a MARKET contract burning credits it does not hold.
    error NotMeterOrMarket(address caller);
    /// @notice `holder` is a MARKET contract: the credits it holds are its traders' escrow, burned only by
    /// `holder` itself; `caller` is another account.
    error EscrowNotBurnable(address holder, address caller);
}
