// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IBenefitConsensus} from "../../../interfaces/IBenefitConsensus.sol";
import {IBenefitSettlement} from "../../../interfaces/IBenefitSettlement.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {UposAccounts} from "../../core/UposAccounts.sol";
import {UposLedger} from "../../core/UposLedger.sol";

/// @title BenefitSettlement
/// @notice Settles the winning Proof-of-Benefit block of each round in UPOS internal balances.
/// @dev One job: trades in, payments out. Gas is bounded by maxTrades per call; the (mechanism, round) key is
/// accepted once (ResultKeys), so the same block is never paid twice.
contract BenefitSettlement is IBenefitSettlement, UposAccounts, ResultKeys {
    /// @notice The key settled rounds are accepted under.
    bytes32 public constant MECHANISM = keccak256("proof_of_benefit.settlement");

    /// @notice The consensus contract whose finalised rounds are settled.
    IBenefitConsensus public immutable consensus;
    /// @notice The most trades one round settles.
    uint256 public immutable maxTrades;

    /// @param upos_ Settlement token; @param consensus_ BenefitConsensus; @param maxTrades_ > 0 trades per round.
    constructor(IERC20 upos_, IBenefitConsensus consensus_, uint256 maxTrades_) UposLedger(upos_) {
        if (address(consensus_) == address(0)) revert ZeroAddress();
        if (maxTrades_ == 0) revert ZeroAmount();
        consensus = consensus_;
        maxTrades = maxTrades_;
    }

    /// @inheritdoc IBenefitSettlement
    function settle(uint256 round, Trade[] calldata trades) external nonReentrant {
        if (trades.length > maxTrades) revert TooManyTrades(trades.length, maxTrades);
        IBenefitConsensus.Outcome memory outcome = consensus.outcomeOf(round);
        if (!outcome.finalised) revert RoundNotFinalised(round);
        if (outcome.winner == bytes32(0)) revert NoWinningBlock(round);
        bytes32 expected = consensus.blockOf(round, outcome.winner).tradesHash;
        bytes32 given = keccak256(abi.encode(trades));
        if (given != expected) revert TradesMismatch(round, expected, given);
        _acceptOnce(MECHANISM, round);
        for (uint256 i = 0; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            uint256 amount = (uint256(t.wh) * t.priceBasePerKwh) / 1000;
            uint256 available = _balanceOf(t.buyer);
            if (available < amount || t.buyer == address(0) || t.seller == address(0)) {
                emit TradeSkipped(round, i, t.buyer, available, amount);
                continue;
            }
            _update(t.buyer, t.seller, amount);
            emit TradeSettled(round, i, t.buyer, t.seller, t.wh, amount);
        }
    }
}
