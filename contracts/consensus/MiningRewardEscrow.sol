// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {ParticipantRegistry} from "../core/ParticipantRegistry.sol";
import {RegistryGated} from "../core/RegistryGated.sol";
import {ResultKeys} from "../core/ResultKeys.sol";
import {Roles} from "../core/Roles.sol";
import {UposAccounts} from "../core/UposAccounts.sol";
import {UposLedger} from "../core/UposLedger.sol";
import {IMinerSelection} from "../../interfaces/IMinerSelection.sol";
import {IProofScoreRegistry} from "../../interfaces/IProofScoreRegistry.sol";
import {IStaking} from "../../interfaces/IStaking.sol";

/// @title MiningRewardEscrow
/// @notice Money of a seed 001 slot, in UPOS (thesis eqs 3.17-3.23):
/// - mining fees: every scored participant with a saving pays fee = floor(saving x price x deltaBps /
///   (1e18 x 10,000)) UPOS base units (saving = member score - singleton score, EPOS base units; price in
///   UPOS base units per kWh), until the slot's commit deadline, i.e. before any secret is revealed and so
///   before anyone can know the miner. M_r of the slot is the sum of the fees paid;
/// - reward: once the slot's block is final, a SCORER submits the winning coalition's shares (Shapley,
///   split off chain by the largest remainder rule); they must sum exactly to M_r, and a member that owed
///   a fee and did not pay it gets nothing. The validator's share goes to its staking pool (shared with
///   its delegators pro rata to stake) when the pool holds stake; every other share is credited here;
/// - penalty: a slashed validator's coalition is excluded by MinerSelection and never paid; if every
///   coalition is excluded (or nobody revealed) the slot is void and each payer reclaims its fee, as it
///   does when no member of the winning coalition may be paid (all owed fees and none paid);
/// - trades: the slot's committed trade list (intra-coalition trades and residual trades with the
///   distribution centre, `edc`) settles after the block is final, at the slot price (wh x price / 1000,
///   floor), from balances deposited here. Each trade settles once, when its buyer's balance covers it:
///   a buyer short of funds holds up only its own trades, which anyone may settle later.
/// Balances ({UposAccounts}) are claimed with {withdraw}. A slot's price and delta are the terms set before the second in
/// which its result was accepted (a checkpoint per {setTerms}), so no later change, not even one in the
/// same block or second, reprices it.
/// @custom:shared By several mechanisms: seed 001 ch. 3's coalition market now, ch. 4's V2V market next.
contract MiningRewardEscrow is RegistryGated, ResultKeys, UposAccounts {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;
    using Checkpoints for Checkpoints.Trace208;

    /// @notice One trade of a slot: `wh` Wh from `seller` to `buyer`; address(0) stands for the
    /// distribution centre (`edc`): seller 0 = import from the grid, buyer 0 = export to it.
    struct Trade {
        address seller;
        address buyer;
        uint256 wh;
    }

    /// @notice The economics of a slot: p_t in UPOS base units per kWh and delta in basis points.
    struct Terms {
        uint128 priceBasePerKwh;
        uint16 deltaBps;
    }

    /// @notice ResultKeys mechanism id of a slot's reward distribution.
    bytes32 public constant REWARDS = keccak256("seed001.rewards");
    uint256 private constant BPS = 10_000;
    uint256 private constant EPOS_BASE = 1e18;
    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant DELTA_BITS = 16;

    /// @notice The slot results (scores, partition, trades commitment).
    IProofScoreRegistry public immutable scores;
    /// @notice The miner draw (final miner, void slots, fee deadline).
    IMinerSelection public immutable miners;
    /// @notice Staking pools that receive validators' shares.
    IStaking public immutable staking;
    /// @notice The distribution centre's account: counterparty of residual trades (address(0) in a Trade).
    address public immutable edc;

    /// @dev The terms by the time they were set: price << 16 | delta, keyed by block timestamp (the
    /// constructor's at key 0).
    Checkpoints.Trace208 private _terms;
    mapping(uint256 slot => BitMaps.BitMap) private _settledTrades;

    /// @notice M_r of `slot`: the fees paid for it (UPOS base units).
    mapping(uint256 slot => uint256) public miningReward;
    /// @notice Whether the fees of `slot` went back to their payers because nobody in the winning coalition
    /// may be paid.
    mapping(uint256 slot => bool) public rewardUnpayable;
    /// @notice The fee `account` paid for `slot` (0: none).
    mapping(uint256 slot => mapping(address account => uint256)) public feePaid;

    /// @notice delta must lie in (0, 10,000] basis points.
    error InvalidDelta(uint256 deltaBps);
    /// @notice Fees of `slot` were payable until `deadline`.
    error FeeWindowClosed(uint256 slot, uint256 deadline);
    /// @notice `account` paid its fee for `slot` already.
    error FeeAlreadyPaid(uint256 slot, address account);
    /// @notice `account` owes no fee for `slot` (no saving, or a fee that floors to 0).
    error NoFeeDue(uint256 slot, address account);
    /// @notice `member` owed a fee for `slot` and did not pay it, so its share must be 0 (it is `share`).
    error ShareForUnpaidFee(uint256 slot, address member, uint256 share);
    /// @notice No trade of the list could be closed: each is closed already or its buyer is short of funds.
    error NothingToSettle(uint256 slot);
    /// @notice Fees of `slot` are not refundable: it has a miner and its reward is payable.
    error FeesNotRefundable(uint256 slot);
    /// @notice `account` has no fee of `slot` to reclaim.
    error NoFeeToRefund(uint256 slot, address account);
    /// @notice The trade list hashes to `given`, but `committed` was accepted for `slot`.
    error TradesDoNotMatchCommitment(uint256 slot, bytes32 committed, bytes32 given);
    /// @notice `members` and `shares` differ in length.
    error ShareLengthMismatch(uint256 members, uint256 shares);
    /// @notice `given` shares were submitted for the winning coalition of `slot`, which has `size` members.
    error WinningCoalitionMismatch(uint256 slot, uint256 given, uint256 size);
    /// @notice The member at `position` is not above the one before it: members must ascend.
    error MembersNotAscending(uint256 position);
    /// @notice `account` is not a member of the winning coalition of `slot`.
    error NotInWinningCoalition(uint256 slot, address account);
    /// @notice The shares of `slot` sum to `sum`, but its mining reward M_r is `miningReward`.
    error SharesDoNotSumToReward(uint256 slot, uint256 sum, uint256 miningReward);

    /// @notice The terms of slots whose result is accepted from now on changed.
    event TermsSet(uint256 priceBasePerKwh, uint256 deltaBps);
    /// @notice `account` paid `fee` for `slot`.
    event FeePaid(uint256 indexed slot, address indexed account, uint256 fee);
    /// @notice Nobody in `coalition`, the winner of `slot`, may be paid (each member owed a fee and did not
    /// pay it): the `miningReward` fees are refundable to their payers.
    event RewardUnpayable(uint256 indexed slot, uint256 indexed coalition, uint256 miningReward);
    /// @notice `account` got its fee of `slot` back (a void slot, or one whose reward nobody may take).
    event FeeRefunded(uint256 indexed slot, address indexed account, uint256 fee);
    /// @notice Trade `index` of `slot` settled: `amount` UPOS base units from `buyer` to `seller` for `wh`.
    event TradeSettled(
        uint256 indexed slot, uint256 index, address indexed seller, address indexed buyer, uint256 wh, uint256 amount
    );
    /// @notice Trade `index` of `slot` moves no energy or has the same account on both sides: it is closed
    /// without a payment.
    event TradeVoided(uint256 indexed slot, uint256 index);
    /// @notice Trade `index` of `slot` stays unsettled: `buyer` holds `available` of the `amount` it costs.
    event TradeUnpaid(uint256 indexed slot, uint256 index, address indexed buyer, uint256 amount, uint256 available);
    /// @notice `member` received `share` of `slot`'s reward, into its staking pool if `toStakingPool`.
    event RewardShared(uint256 indexed slot, address indexed member, uint256 share, bool toStakingPool);
    /// @notice `slot`'s reward `miningReward` was paid to `coalition`, mined by `validator`.
    event RewardDistributed(uint256 indexed slot, uint256 indexed coalition, address indexed validator, uint256 miningReward);

    /// @param registry_ The participant registry (roles).
    /// @param upos_ The settlement token.
    /// @param scores_ The ProofScoreRegistry.
    /// @param miners_ The MinerSelection.
    /// @param staking_ The Staking contract.
    /// @param edc_ The distribution centre's account (the system operator).
    /// @param priceBasePerKwh Initial p_t, UPOS base units per kWh (< 2^128).
    /// @param deltaBps Initial delta, basis points in (0, 10,000] (1,000 = the thesis' 0.1).
    constructor(
        ParticipantRegistry registry_,
        IERC20 upos_,
        IProofScoreRegistry scores_,
        IMinerSelection miners_,
        IStaking staking_,
        address edc_,
        uint256 priceBasePerKwh,
        uint256 deltaBps
    ) RegistryGated(registry_) UposLedger(upos_) {
        if (
            address(scores_) == address(0) || address(miners_) == address(0) || address(staking_) == address(0)
                || edc_ == address(0)
        ) revert ZeroAddress();
        scores = scores_;
        miners = miners_;
        staking = staking_;
        edc = edc_;
        _setTerms(0, priceBasePerKwh, deltaBps);
    }

    // ----------------------------------------------------------------------------------- admin

    /// @notice Sets p_t and delta for every slot whose result is accepted in a later second. Only ADMIN.
    /// @param priceBasePerKwh p_t, UPOS base units per kWh (< 2^128).
    /// @param deltaBps delta, basis points in (0, 10,000].
    function setTerms(uint256 priceBasePerKwh, uint256 deltaBps) external onlyRegistryRole(Roles.ADMIN) {
        _setTerms(block.timestamp, priceBasePerKwh, deltaBps);
    }

    // ----------------------------------------------------------------------------------- fees

    /// @notice Pays the caller's mining fee for `slot` (feeOf; needs an allowance), once, until the slot's
    /// commit deadline (before any reveal). Only a scored participant of `slot` with a fee due.
    /// @param slot The slot.
    /// @return fee UPOS base units paid.
    function payFee(uint256 slot) external nonReentrant returns (uint256 fee) {
        uint256 deadline = miners.commitDeadline(slot);
        if (block.timestamp > deadline) revert FeeWindowClosed(slot, deadline);
        if (feePaid[slot][msg.sender] != 0) revert FeeAlreadyPaid(slot, msg.sender);
        fee = _feeOf(slot, msg.sender, termsOf(slot));
        if (fee == 0) revert NoFeeDue(slot, msg.sender);
        feePaid[slot][msg.sender] = fee;
        miningReward[slot] += fee;
        emit FeePaid(slot, msg.sender, fee);
        upos.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @notice Credits back the fee the caller paid for `slot`, a slot that ended void (no miner) or whose
    /// reward nobody in the winning coalition may take.
    /// @param slot The slot.
    function refundFee(uint256 slot) external {
        if (!rewardUnpayable[slot] && !miners.isVoid(slot)) revert FeesNotRefundable(slot);
        uint256 fee = feePaid[slot][msg.sender];
        if (fee == 0) revert NoFeeToRefund(slot, msg.sender);
        feePaid[slot][msg.sender] = 0;
        miningReward[slot] -= fee;
        _update(address(0), msg.sender, fee);
        emit FeeRefunded(slot, msg.sender, fee);
    }

    // ----------------------------------------------------------------------------------- settlement

    /// @notice Settles the trades of `slot`'s committed list that are not settled yet and whose buyer's
    /// balance here covers them, once its block is final. `trades` must be the committed list
    /// (keccak256(abi.encode(trades)) equals the ProofScoreRegistry's tradesHash). Each trade moves
    /// wh x price / 1000 UPOS base units (floor) from the buyer's balance to the seller's, in list order;
    /// one the buyer cannot pay stays unsettled (TradeUnpaid) for a later call, a malformed one (no energy,
    /// the same account on both sides) is closed unpaid (TradeVoided). Reverts NothingToSettle when no trade
    /// is closed. Anyone.
    /// @param slot The slot.
    /// @param trades The slot's committed trade list.
    /// @return settled How many trades this call closed (paid or voided).
    function settleTrades(uint256 slot, Trade[] calldata trades) external returns (uint256 settled) {
        miners.finalMiner(slot);
        bytes32 committed = scores.slotResult(slot).tradesHash;
        bytes32 given = keccak256(abi.encode(trades));
        if (given != committed) revert TradesDoNotMatchCommitment(slot, committed, given);
        uint256 price = termsOf(slot).priceBasePerKwh;
        BitMaps.BitMap storage done = _settledTrades[slot];
        for (uint256 i; i < trades.length; ++i) {
            if (done.get(i)) continue;
            address seller = trades[i].seller == address(0) ? edc : trades[i].seller;
            address buyer = trades[i].buyer == address(0) ? edc : trades[i].buyer;
            uint256 wh = trades[i].wh;
            if (wh == 0 || seller == buyer) {
                // A malformed entry of the committed list can never settle; closing it keeps it from
                // blocking the rest for good.
                done.set(i);
                ++settled;
                emit TradeVoided(slot, i);
                continue;
            }
            uint256 amount = wh * price / WH_PER_KWH;
            uint256 available = _balanceOf(buyer);
            if (available < amount) {
                emit TradeUnpaid(slot, i, buyer, amount, available);
                continue;
            }
            done.set(i);
            ++settled;
            _update(buyer, seller, amount);
            emit TradeSettled(slot, i, seller, buyer, wh, amount);
        }
        if (settled == 0) revert NothingToSettle(slot);
    }

    // ----------------------------------------------------------------------------------- reward

    /// @notice Pays `slot`'s mining reward M_r to its winning coalition, once, after its block is final.
    /// Only SCORER. `members`: every member of the winning coalition, ascending; `shares`: UPOS base units
    /// each (Shapley split, largest remainder rule), summing exactly to miningReward(slot). The
    /// validator's share goes to its staking pool if that holds stake. A member that owed a fee for the
    /// slot and did not pay it must get 0 (ShareForUnpaidFee); if that is every member, the shares are all 0
    /// and the fees become refundable to their payers (RewardUnpayable).
    /// @param slot The slot.
    /// @param members The winning coalition, ascending addresses.
    /// @param shares UPOS base units per member.
    function distributeReward(uint256 slot, address[] calldata members, uint256[] calldata shares)
        external
        onlyRegistryRole(Roles.SCORER)
        nonReentrant
    {
        (uint256 coalition, address validator) = miners.finalMiner(slot);
        if (members.length != shares.length) revert ShareLengthMismatch(members.length, shares.length);
        _requireWinningCoalition(slot, coalition, members);
        _acceptOnce(REWARDS, slot);
        (uint256 sum, uint256 toPool, bool anyPayable) = _creditShares(slot, members, shares, validator);
        uint256 reward = miningReward[slot];
        if (sum != reward) {
            if (sum > 0 || anyPayable) revert SharesDoNotSumToReward(slot, sum, reward);
            rewardUnpayable[slot] = true;
            emit RewardUnpayable(slot, coalition, reward);
            return;
        }
        emit RewardDistributed(slot, coalition, validator, reward);
        if (toPool > 0) {
            upos.forceApprove(address(staking), toPool);
            staking.addReward(validator, toPool);
        }
    }

    // ----------------------------------------------------------------------------------- views

    /// @notice The fee `account` owes for `slot` at the slot's terms (UPOS base units); reverts
    /// NotASlotParticipant for an account not scored in `slot`.
    function feeOf(uint256 slot, address account) external view returns (uint256) {
        return _feeOf(slot, account, termsOf(slot));
    }

    /// @notice `slot`'s terms: the last ones set before the second in which its result was accepted, or the
    /// current ones while it has no result.
    /// @param slot The slot.
    function termsOf(uint256 slot) public view returns (Terms memory) {
        uint256 acceptedAt = scores.slotResult(slot).acceptedAt;
        uint256 packed =
            acceptedAt == 0 ? _terms.latest() : _terms.upperLookupRecent(SafeCast.toUint48(acceptedAt - 1));
        return Terms(uint128(packed >> DELTA_BITS), uint16(packed));
    }

    /// @notice Whether trade `index` of `slot`'s committed list has settled (or was voided).
    /// @param slot The slot.
    /// @param index The trade's position in the committed list.
    function isTradeSettled(uint256 slot, uint256 index) external view returns (bool) {
        return _settledTrades[slot].get(index);
    }

    // ----------------------------------------------------------------------------------- internals

    function _setTerms(uint256 from, uint256 priceBasePerKwh, uint256 deltaBps) private {
        if (deltaBps == 0 || deltaBps > BPS) revert InvalidDelta(deltaBps);
        uint256 packed = uint256(SafeCast.toUint128(priceBasePerKwh)) << DELTA_BITS | deltaBps;
        _terms.push(SafeCast.toUint48(from), uint208(packed));
        emit TermsSet(priceBasePerKwh, deltaBps);
    }

    /// @dev Credits each member's share here, except the validator's when its pool holds stake (returned as
    /// `toPool`); a member that owed a fee and did not pay it may get nothing. Returns the shares' sum and
    /// whether any member may be paid.
    function _creditShares(uint256 slot, address[] calldata members, uint256[] calldata shares, address validator)
        private
        returns (uint256 sum, uint256 toPool, bool anyPayable)
    {
        bool validatorStakes = staking.poolStake(validator) > 0;
        Terms memory terms = termsOf(slot);
        for (uint256 i; i < members.length; ++i) {
            bool payable_ = feePaid[slot][members[i]] > 0 || _feeOf(slot, members[i], terms) == 0;
            if (shares[i] > 0 && !payable_) revert ShareForUnpaidFee(slot, members[i], shares[i]);
            anyPayable = anyPayable || payable_;
            bool pooled = members[i] == validator && validatorStakes;
            if (pooled) toPool = shares[i];
            else _update(address(0), members[i], shares[i]);
            sum += shares[i];
            emit RewardShared(slot, members[i], shares[i], pooled);
        }
    }

    /// @dev `members` must be exactly the members of `coalition` of `slot`, ascending.
    function _requireWinningCoalition(uint256 slot, uint256 coalition, address[] calldata members) private view {
        uint256 size = scores.coalitionOf(slot, coalition).size;
        if (members.length != size) revert WinningCoalitionMismatch(slot, members.length, size);
        for (uint256 i; i < members.length; ++i) {
            if (i > 0 && members[i] <= members[i - 1]) revert MembersNotAscending(i);
            if (scores.entryOf(slot, members[i]).coalitionPlusOne != coalition + 1) {
                revert NotInWinningCoalition(slot, members[i]);
            }
        }
    }

    /// @dev floor(saving x price x delta / (1e18 x 10,000)), saving in EPOS base units (offchain mining_fees).
    function _feeOf(uint256 slot, address account, Terms memory terms) private view returns (uint256) {
        IProofScoreRegistry.Entry memory entry = scores.entryOf(slot, account);
        if (entry.coalitionPlusOne == 0) revert NotASlotParticipant(slot, account);
        uint256 saving = entry.memberScore - entry.singletonScore;
        return Math.mulDiv(saving, uint256(terms.priceBasePerKwh) * terms.deltaBps, EPOS_BASE * BPS);
    }
}
