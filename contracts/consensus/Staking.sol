// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {Roles} from "../core/Roles.sol";
import {EPOS} from "../tokens/EPOS.sol";
import {IStaking} from "../../interfaces/IStaking.sol";

/// @title Staking
/// @notice EPOS staking behind the seed 001 validators (thesis §3.4.5: the top prosumer is validator,
/// others delegate to it). Each validator has a pool holding its self-stake and the delegations to it,
/// accounted in shares, so a slash takes the same fraction from everyone in the pool and a reward is
/// shared pro rata to stake. Leaving takes two steps: {unstake} starts an unbonding of unbondingSeconds
/// during which the stake stays in the pool (slashable, still earning), {withdraw} then pays it out. A
/// validator's bonded self-stake (not unbonding) is checkpointed; it may be drawn for a slot if its
/// checkpoint at the slot's commit deadline, before any secret is revealed, is worth at least minSelfStake
/// ({isEligibleAt}). So whether a validator can be drawn is fixed before anyone can foresee the draw, and
/// stake bonded at that moment cannot finish unbonding before the draw (MinerSelection requires
/// unbondingSeconds to exceed the commit, reveal and draw windows together). The bound
/// MinerSelection locks a pool from its validator's draw until the block is final or the validator is
/// penalised (a lock per draw, released explicitly, so a late report still finds the stake), and slashes
/// it when the validator misses its window or mines an invalid block: slashBps of the pool's stake is
/// burned (EPOS.burn) and the rest is frozen for slashFreezeSeconds. Staking into or withdrawing from a
/// locked pool reverts StakeLocked, withdrawing from a frozen one StakeSlashed. Rewards are UPOS (claim
/// pattern). This contract must hold STAKING in the registry (EPOS moves only to and from such holders).
/// @custom:shared By several mechanisms: seed 001 ch. 3's coalition market now, ch. 4's V2V market next.
contract Staking is IStaking, RegistryGated, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    uint256 private constant BPS = 10_000;
    /// @dev Fixed-point scale of the per-share reward accumulator.
    uint256 private constant REWARD_SCALE = 1e27;

    /// @notice The staked token (EPOS, 18 decimals).
    EPOS public immutable epos;
    /// @notice The reward token (UPOS, 18 decimals).
    IERC20 public immutable upos;
    /// @notice How long (seconds) a slashed pool stays frozen.
    uint256 public immutable slashFreezeSeconds;
    /// @notice How long (seconds) unstaked EPOS stays in its pool, slashable, before it can be withdrawn.
    uint256 public immutable unbondingSeconds;
    /// @notice The bonded self-stake (EPOS base units) a validator needs to be drawn.
    uint256 public immutable minSelfStake;
    /// @notice Fraction of a pool's stake burned by a slash, in basis points (below 10,000).
    uint256 public slashBps;
    /// @notice The MinerSelection allowed to lock and slash (bound once by ADMIN).
    address public minerSelection;

    /// @notice A validator's pool. `stake` in EPOS base units; `rewardPerShare` scaled by 1e27; `locks` counts
    /// the draws holding it (MinerSelection), `frozenUntil` ends the freeze after a slash.
    struct Pool {
        uint256 stake;
        uint256 shares;
        uint256 rewardPerShare;
        uint32 locks;
        uint64 frozenUntil;
    }

    /// @dev A staker's shares in one pool (those unbonding included) and the rewards already accounted for
    /// them; `unbondingShares` may be withdrawn from `unbondingReadyAt` on.
    struct Position {
        uint256 shares;
        uint256 rewardDebt;
        uint256 unbondingShares;
        uint64 unbondingReadyAt;
    }

    mapping(address validator => Pool) private _pools;
    mapping(address validator => mapping(address staker => Position)) private _positions;
    /// @dev Each validator's bonded (not unbonding) self-stake shares, by block timestamp.
    mapping(address validator => Checkpoints.Trace208) private _bondedSelfShares;
    /// @notice UPOS base units accrued to `staker` and not yet claimed (positions settled so far).
    mapping(address staker => uint256) public rewardsAccrued;

    /// @notice A slash fraction of `bps` basis points; it must be below 10,000.
    error SlashFractionTooHigh(uint256 bps);
    /// @notice The MinerSelection was bound before, to `current`.
    error MinerSelectionAlreadySet(address current);
    /// @notice `caller` is not the bound MinerSelection.
    error CallerNotMinerSelection(address caller);
    /// @notice `validator` has no self-stake, so nobody can delegate to it.
    error NotAValidator(address validator);
    /// @notice `validator`'s pool is held by `locks` draws (its validator is drawn, mining or awaiting finality).
    error StakeLocked(address validator, uint256 locks);
    /// @notice `validator`'s pool was slashed and is frozen until `frozenUntil`.
    error StakeSlashed(address validator, uint256 frozenUntil);
    /// @notice `staker` holds `available` bonded (not unbonding) EPOS base units in `validator`'s pool and
    /// asked to unstake `requested`.
    error InsufficientStake(address validator, address staker, uint256 requested, uint256 available);
    /// @notice `staker` has nothing unbonding in `validator`'s pool.
    error NothingUnbonding(address validator, address staker);
    /// @notice `staker`'s unbonding in `validator`'s pool ends at `readyAt`.
    error StillUnbonding(address validator, address staker, uint256 readyAt);
    /// @notice `validator`'s pool holds no lock to release.
    error PoolNotLocked(address validator);
    /// @notice `validator`'s pool holds no stake to share a reward with.
    error NoStakeToReward(address validator);

    /// @notice `staker` put `amount` EPOS into `validator`'s pool (self-stake if they are equal).
    event Staked(address indexed validator, address indexed staker, uint256 amount, uint256 shares);
    /// @notice `staker` started unbonding `amount` EPOS (`shares`) of `validator`'s pool; its whole unbonding
    /// (`unbondingShares`) can be withdrawn from `readyAt`.
    event UnstakeRequested(
        address indexed validator, address indexed staker, uint256 amount, uint256 unbondingShares, uint256 readyAt
    );
    /// @notice `staker` took `amount` EPOS out of `validator`'s pool.
    event Unstaked(address indexed validator, address indexed staker, uint256 amount, uint256 shares);
    /// @notice A draw locked `validator`'s pool; `locks` draws hold it now.
    event PoolLocked(address indexed validator, uint256 locks);
    /// @notice A draw released `validator`'s pool; `locks` draws still hold it.
    event PoolReleased(address indexed validator, uint256 locks);
    /// @notice `burned` EPOS of `validator`'s pool were burned; `remaining` are frozen until `frozenUntil`.
    event Slashed(address indexed validator, uint256 burned, uint256 remaining, uint256 frozenUntil);
    /// @notice `amount` UPOS from `from` were shared among the stakers of `validator`'s pool.
    event RewardAdded(address indexed validator, address indexed from, uint256 amount);
    /// @notice `staker` claimed `amount` UPOS of rewards.
    event RewardClaimed(address indexed staker, uint256 amount);
    /// @notice The MinerSelection was bound.
    event MinerSelectionSet(address minerSelection);
    /// @notice The slash fraction changed.
    event SlashBpsSet(uint256 bps);

    /// @param registry_ The registry (ADMIN binds the MinerSelection and sets the slash fraction).
    /// @param epos_ The EPOS token.
    /// @param upos_ The UPOS token.
    /// @param slashBps_ Initial slash fraction, basis points, below 10,000 (5,000 mirrors the off-chain default).
    /// @param slashFreezeSeconds_ How long a slashed pool stays frozen.
    /// @param unbondingSeconds_ How long unstaked EPOS stays slashable in its pool; longer than a slot's
    /// commit, reveal and draw windows together (MinerSelection checks it; docs/consensus-contracts.md §6).
    /// @param minSelfStake_ Bonded self-stake (EPOS base units, > 0) a validator needs to be drawn.
    constructor(
        ParticipantRegistry registry_,
        EPOS epos_,
        IERC20 upos_,
        uint256 slashBps_,
        uint256 slashFreezeSeconds_,
        uint256 unbondingSeconds_,
        uint256 minSelfStake_
    ) RegistryGated(registry_) {
        if (address(epos_) == address(0) || address(upos_) == address(0)) revert ZeroAddress();
        if (minSelfStake_ == 0) revert ZeroAmount();
        epos = epos_;
        upos = upos_;
        slashFreezeSeconds = slashFreezeSeconds_;
        unbondingSeconds = unbondingSeconds_;
        minSelfStake = minSelfStake_;
        _setSlashBps(slashBps_);
    }

    modifier onlyMinerSelection() {
        if (msg.sender != minerSelection) revert CallerNotMinerSelection(msg.sender);
        _;
    }

    // ----------------------------------------------------------------------------------- admin

    /// @notice Binds the MinerSelection that may lock and slash, once. Only ADMIN.
    /// @param minerSelection_ The MinerSelection contract.
    function setMinerSelection(address minerSelection_) external onlyRegistryRole(Roles.ADMIN) {
        if (minerSelection != address(0)) revert MinerSelectionAlreadySet(minerSelection);
        if (minerSelection_ == address(0)) revert ZeroAddress();
        minerSelection = minerSelection_;
        emit MinerSelectionSet(minerSelection_);
    }

    /// @notice Sets the fraction of a pool burned by a slash, basis points below 10,000. Only ADMIN.
    /// @param bps The new fraction, basis points.
    function setSlashBps(uint256 bps) external onlyRegistryRole(Roles.ADMIN) {
        _setSlashBps(bps);
    }

    // ----------------------------------------------------------------------------------- stakers

    /// @notice Moves `amount` EPOS base units from the caller into `validator`'s pool: a self-stake when
    /// `validator` is the caller, a delegation otherwise (then `validator` must hold a self-stake).
    /// Reverts StakeLocked while the pool is locked: nobody joins a validator already drawn, so its
    /// reward goes to the stake that carried the risk. Needs an EPOS allowance. Any EPOS holder.
    /// @param validator The pool's validator.
    /// @param amount EPOS base units.
    function stake(address validator, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (validator != msg.sender && _positions[validator][validator].shares == 0) revert NotAValidator(validator);
        Pool storage pool = _pools[validator];
        if (pool.locks > 0) revert StakeLocked(validator, pool.locks);
        Position storage position = _positions[validator][msg.sender];
        _accrue(pool, position, msg.sender);
        uint256 shares = pool.shares == 0 ? amount : Math.mulDiv(amount, pool.shares, pool.stake);
        pool.stake += amount;
        pool.shares += shares;
        position.shares += shares;
        position.rewardDebt = _rewardOf(pool, position.shares);
        if (validator == msg.sender) _checkpointSelfStake(validator, position);
        emit Staked(validator, msg.sender, amount, shares);
        IERC20(address(epos)).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts unbonding `amount` EPOS base units of the caller's bonded stake in `validator`'s pool.
    /// The stake stays in the pool (slashed with it, earning with it) for unbondingSeconds, then {withdraw}
    /// pays it out; a further request adds to the unbonding and restarts its clock. Allowed while the pool
    /// is locked or frozen (nothing moves yet).
    /// @param validator The pool's validator.
    /// @param amount EPOS base units, at most the caller's stake not already unbonding.
    function unstake(address validator, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[validator];
        Position storage position = _positions[validator][msg.sender];
        uint256 available = _stakeOf(pool, position.shares - position.unbondingShares);
        if (amount > available) revert InsufficientStake(validator, msg.sender, amount, available);
        // Rounding up keeps the pool's stake per share from falling when the unbonding is paid out; it never
        // exceeds the bonded shares, since amount is at most their (floored) value.
        uint256 shares = Math.mulDiv(amount, pool.shares, pool.stake, Math.Rounding.Ceil);
        position.unbondingShares += shares;
        uint64 readyAt = uint64(block.timestamp + unbondingSeconds);
        position.unbondingReadyAt = readyAt;
        if (validator == msg.sender) _checkpointSelfStake(validator, position);
        emit UnstakeRequested(validator, msg.sender, amount, position.unbondingShares, readyAt);
    }

    /// @notice Pays the caller the EPOS of its finished unbonding in `validator`'s pool (its share of the
    /// pool's stake now, so after any slash). Reverts StillUnbonding before the unbonding ends,
    /// StakeSlashed while the pool is frozen after a slash, StakeLocked while a draw holds it.
    /// @param validator The pool's validator.
    /// @return amount EPOS base units paid.
    function withdraw(address validator) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _pools[validator];
        Position storage position = _positions[validator][msg.sender];
        uint256 shares = position.unbondingShares;
        if (shares == 0) revert NothingUnbonding(validator, msg.sender);
        if (block.timestamp < position.unbondingReadyAt) {
            revert StillUnbonding(validator, msg.sender, position.unbondingReadyAt);
        }
        if (block.timestamp <= pool.frozenUntil) revert StakeSlashed(validator, pool.frozenUntil);
        if (pool.locks > 0) revert StakeLocked(validator, pool.locks);
        _accrue(pool, position, msg.sender);
        amount = _stakeOf(pool, shares);
        pool.stake -= amount;
        pool.shares -= shares;
        position.shares -= shares;
        position.unbondingShares = 0;
        position.unbondingReadyAt = 0;
        position.rewardDebt = _rewardOf(pool, position.shares);
        emit Unstaked(validator, msg.sender, amount, shares);
        IERC20(address(epos)).safeTransfer(msg.sender, amount);
    }

    /// @notice Settles the caller's rewards from `validator`'s pool and pays every reward accrued to the
    /// caller (UPOS base units).
    /// @param validator The pool whose rewards are settled first.
    /// @return amount UPOS base units paid.
    function claimRewards(address validator) external nonReentrant returns (uint256 amount) {
        Pool storage pool = _pools[validator];
        Position storage position = _positions[validator][msg.sender];
        _accrue(pool, position, msg.sender);
        position.rewardDebt = _rewardOf(pool, position.shares);
        amount = rewardsAccrued[msg.sender];
        if (amount == 0) revert ZeroAmount();
        rewardsAccrued[msg.sender] = 0;
        emit RewardClaimed(msg.sender, amount);
        upos.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function addReward(address validator, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[validator];
        if (pool.shares == 0) revert NoStakeToReward(validator);
        pool.rewardPerShare += Math.mulDiv(amount, REWARD_SCALE, pool.shares);
        emit RewardAdded(validator, msg.sender, amount);
        upos.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ----------------------------------------------------------------------------------- consensus

    /// @inheritdoc IStaking
    function lock(address validator) external onlyMinerSelection {
        Pool storage pool = _pools[validator];
        ++pool.locks;
        emit PoolLocked(validator, pool.locks);
    }

    /// @inheritdoc IStaking
    function release(address validator) external onlyMinerSelection {
        Pool storage pool = _pools[validator];
        if (pool.locks == 0) revert PoolNotLocked(validator);
        --pool.locks;
        emit PoolReleased(validator, pool.locks);
    }

    /// @inheritdoc IStaking
    function slash(address validator) external onlyMinerSelection nonReentrant returns (uint256 burned) {
        Pool storage pool = _pools[validator];
        burned = pool.stake * slashBps / BPS;
        pool.stake -= burned;
        pool.frozenUntil = uint64(block.timestamp + slashFreezeSeconds);
        emit Slashed(validator, burned, pool.stake, pool.frozenUntil);
        if (burned > 0) epos.burn(burned);
    }

    // ----------------------------------------------------------------------------------- views

    /// @inheritdoc IStaking
    function poolStake(address validator) external view returns (uint256) {
        return _pools[validator].stake;
    }

    /// @inheritdoc IStaking
    function isEligibleAt(address validator, uint256 timestamp) external view returns (bool) {
        // minSelfStake > 0, so no shares are never enough.
        return _stakeOf(_pools[validator], bondedSelfSharesAt(validator, timestamp)) >= minSelfStake;
    }

    /// @notice `validator`'s bonded (not unbonding) self-stake shares at the end of second `timestamp`.
    /// @param validator The pool's validator.
    /// @param timestamp Unix seconds, not after the latest block.
    function bondedSelfSharesAt(address validator, uint256 timestamp) public view returns (uint256) {
        return _bondedSelfShares[validator].upperLookupRecent(SafeCast.toUint48(timestamp));
    }

    /// @notice `validator`'s pool: stake (EPOS base units), shares, reward accumulator, locks, freeze end.
    function poolOf(address validator) external view returns (Pool memory) {
        return _pools[validator];
    }

    /// @notice EPOS base units of `staker` in `validator`'s pool, unbonding included.
    function stakeOf(address validator, address staker) external view returns (uint256) {
        return _stakeOf(_pools[validator], _positions[validator][staker].shares);
    }

    /// @notice `staker`'s unbonding in `validator`'s pool.
    /// @param validator The pool's validator.
    /// @param staker The staker.
    /// @return amount EPOS base units at today's share value (0 if none).
    /// @return readyAt When it can be withdrawn (0 if none).
    function unbondingOf(address validator, address staker) external view returns (uint256 amount, uint256 readyAt) {
        Position storage position = _positions[validator][staker];
        return (_stakeOf(_pools[validator], position.unbondingShares), position.unbondingReadyAt);
    }

    /// @notice `staker`'s shares in `validator`'s pool.
    function sharesOf(address validator, address staker) external view returns (uint256) {
        return _positions[validator][staker].shares;
    }

    /// @notice UPOS base units `staker` can claim: accrued so far plus what `validator`'s pool owes it.
    function pendingRewards(address validator, address staker) external view returns (uint256) {
        Pool storage pool = _pools[validator];
        Position storage position = _positions[validator][staker];
        return rewardsAccrued[staker] + _rewardOf(pool, position.shares) - position.rewardDebt;
    }

    // ----------------------------------------------------------------------------------- internals

    function _setSlashBps(uint256 bps) private {
        if (bps >= BPS) revert SlashFractionTooHigh(bps);
        slashBps = bps;
        emit SlashBpsSet(bps);
    }

    function _checkpointSelfStake(address validator, Position storage own) private {
        _bondedSelfShares[validator].push(
            SafeCast.toUint48(block.timestamp), SafeCast.toUint208(own.shares - own.unbondingShares)
        );
    }

    function _accrue(Pool storage pool, Position storage position, address staker) private {
        uint256 owed = _rewardOf(pool, position.shares) - position.rewardDebt;
        if (owed > 0) rewardsAccrued[staker] += owed;
    }

    function _rewardOf(Pool storage pool, uint256 shares) private view returns (uint256) {
        return Math.mulDiv(shares, pool.rewardPerShare, REWARD_SCALE);
    }

    function _stakeOf(Pool storage pool, uint256 shares) private view returns (uint256) {
        return pool.shares == 0 ? 0 : Math.mulDiv(shares, pool.stake, pool.shares);
    }
}
