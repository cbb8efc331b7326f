// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposAccounts} from "./IUposAccounts.sol";

/// @title IBenefitSettlement
/// @notice Pays the trades of a Proof-of-Benefit round's winning block in UPOS. Peers deposit UPOS here; once
/// BenefitConsensus has finalised a round, anyone submits the winning block's trades: the contract checks them
/// against the block's `tradesHash` and moves each payment from buyer to seller. A trade whose buyer holds too
/// little is skipped (an event says so), never reverts the batch. A round is settled once.
interface IBenefitSettlement is IUposAccounts {
    /// @notice One executed order pair of a block: `wh` Wh delivered from `seller` to `buyer` at
    /// `priceBasePerKwh` UPOS base units per kWh (payment = wh * price / 1000, floor).
    struct Trade {
        address buyer;
        address seller;
        uint64 wh;
        uint256 priceBasePerKwh;
    }

    /// @notice `round` has not been finalised in the consensus contract.
    error RoundNotFinalised(uint256 round);
    /// @notice `round` ended without a winning block: there is nothing to settle.
    error NoWinningBlock(uint256 round);
    /// @notice The trades hash to `given`; the winning block carries `expected`.
    error TradesMismatch(uint256 round, bytes32 expected, bytes32 given);
    /// @notice A batch of `count` trades; at most `max` are settled in one call.
    error TooManyTrades(uint256 count, uint256 max);

    /// @notice Trade `index` of `round` paid `amount` UPOS base units from `buyer` to `seller` for `wh` Wh.
    event TradeSettled(
        uint256 indexed round, uint256 index, address indexed buyer, address indexed seller, uint256 wh, uint256 amount
    );
    /// @notice Trade `index` of `round` was skipped: `buyer` held `available` of the `needed` base units.
    event TradeSkipped(uint256 indexed round, uint256 index, address indexed buyer, uint256 available, uint256 needed);

    /// @notice Settle the winning block of `round` (anyone, once per round).
    /// @param trades The block's trades, in the order hashed: tradesHash = keccak256(abi.encode(trades)).
    function settle(uint256 round, Trade[] calldata trades) external;
}
