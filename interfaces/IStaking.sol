// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IStaking
/// @notice EPOS staking for the seed 001 consensus: a participant stakes EPOS as a validator (into its
/// own pool) or delegates to a validator (into that validator's pool). A pool is locked while its
/// validator is drawn and mining, slashed (a fraction of the whole pool burned) when the validator
/// misses its window or mines an invalid block, and earns UPOS rewards shared pro rata to stake.
interface IStaking {
    /// @notice Locks `validator`'s pool until `until` (unix seconds; an earlier lock is only extended).
    /// Only the bound MinerSelection.
    function lock(address validator, uint64 until) external;

    /// @notice Burns slashBps / 10,000 (floor) of `validator`'s pool stake and freezes the rest for
    /// slashFreezeSeconds. Only the bound MinerSelection. Returns the EPOS base units burned.
    function slash(address validator) external returns (uint256 burned);

    /// @notice Pulls `amount` UPOS base units from the caller and shares them among the stakers of
    /// `validator`'s pool pro rata to stake. Anyone; the pool must hold stake.
    function addReward(address validator, uint256 amount) external;

    /// @notice The EPOS base units staked in `validator`'s pool (self-stake and delegations).
    function poolStake(address validator) external view returns (uint256);
}
