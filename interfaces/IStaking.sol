// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IStaking
/// @notice EPOS staking for the seed 001 consensus: a participant stakes EPOS as a validator (into its
/// own pool) or delegates to a validator (into that validator's pool). A pool is locked from its
/// validator's draw until the block is final or the validator is penalised, slashed (a fraction of the
/// whole pool, unbonding stake included, burned) when the validator misses its window or mines an
/// invalid block, and earns UPOS rewards shared pro rata to stake.
interface IStaking {
    /// @notice Adds a lock on `validator`'s pool (one per draw of it): no stake joins or leaves it until
    /// every lock is released. Only the bound MinerSelection.
    /// @param validator The drawn validator.
    function lock(address validator) external;
    /// @notice Releases one lock on `validator`'s pool (its block is final, or it was penalised). Only
    /// the bound MinerSelection; reverts PoolNotLocked without a lock.
    /// @param validator The validator whose draw ended.
    function release(address validator) external;

    /// @notice Burns slashBps / 10,000 (floor) of `validator`'s pool stake and freezes the rest for
    /// slashFreezeSeconds. Only the bound MinerSelection.
    /// @param validator The penalised validator.
    /// @return burned EPOS base units burned.
    function slash(address validator) external returns (uint256 burned);

    /// @notice Pulls `amount` UPOS base units from the caller and shares them among the stakers of
    /// `validator`'s pool pro rata to stake. Anyone; the pool must hold stake.
    /// @param validator The pool's validator.
    /// @param amount UPOS base units (needs an allowance).
    function addReward(address validator, uint256 amount) external;
    /// @notice Whether `validator` may be drawn for a slot whose commit deadline is `timestamp`: its bonded
    /// (not unbonding) self-stake at the end of that second, at today's share value, is at least minSelfStake.
    /// @param validator The validator.
    /// @param timestamp Unix seconds (the slot's commit deadline), not after the latest block.
    function isEligibleAt(address validator, uint256 timestamp) external view returns (bool);
    /// @notice How long (seconds) unstaked EPOS stays slashable in its pool before it can be withdrawn.
    function unbondingSeconds() external view returns (uint256);

    /// @notice The EPOS base units staked in `validator`'s pool (self-stake and delegations).
    /// @param validator The pool's validator.
    function poolStake(address validator) external view returns (uint256);
}
