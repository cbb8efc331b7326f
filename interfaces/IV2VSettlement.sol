// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUposAccounts} from "./IUposAccounts.sol";

/// @title IV2VSettlement
/// @notice Seed 001 ch. 4: EV-to-EV energy trades at a parking hotspot, settled in UPOS per hour, and the
/// fee-dodger profit lock (thesis Fig. 4.5). The meter (METER) records each EV's parking session (arrival
/// hour and energy, departure hour); the aggregator (SCORER) settles each hour's trades once: the buyer
/// pays from its internal balance, the seller's proceeds are HELD for the day. After the day the aggregator
/// assesses each member's share of the mining reward (M_r = sum beta * R_i, eq. 4.20) and names the miner
/// (the drawn mLAG). A member that pays its fee releases its profit; one that does not by the deadline can
/// be locked by anyone, and once the lock period is over the miner takes the fee out of the held profit and
/// the rest goes back to the member. Energies in Wh, prices in UPOS base units per kWh, payments
/// `wh * price / 1000` (floored). Hours count from the deployment's hour 0; day = hour / 24.
/// Profit states per (day, member): None (no fee assessed: releasable once the day is assessed) -> FeeDue
/// -> Paid -> Released, or FeeDue -> Locked -> Paid -> Released, or Locked -> Confiscated.
interface IV2VSettlement is IUposAccounts {
    /// @notice Where a member's profit of a day stands.
    enum ProfitState {
        None,
        FeeDue,
        Paid,
        Locked,
        Released,
        Confiscated
    }

    /// @notice One EV-to-EV trade of an hour: `seller` discharges `energyWh` into `buyer` at `pricePerKwh`.
    struct Trade {
        address seller;
        address buyer;
        uint64 energyWh;
        uint96 pricePerKwh;
    }

    /// @notice One EV's latest parking session: parked in hours [arrivalHour, departureHour).
    struct Session {
        uint64 arrivalHour;
        uint64 departureHour;
        uint64 energyWh;
        bool open;
    }

    /// @notice One member's profit of a day.
    struct Profit {
        uint128 held;
        uint128 fee;
        uint64 dueBy;
        uint64 lockedUntil;
        ProfitState state;
    }

    // ------------------------------------------------------------------------------------ errors

    /// @notice Constructor: fee window and lock period must be positive and below 2^64 seconds.
    error InvalidWindows(uint256 feeWindowSeconds, uint256 lockSeconds);
    /// @notice `ev` already has an open parking session.
    error AlreadyParked(address ev);
    /// @notice `ev` is not parked in `hour`.
    error NotParked(address ev, uint256 hour);
    /// @notice A departure must come after the arrival hour.
    error DepartureBeforeArrival(address ev, uint256 hour, uint256 arrivalHour);
    /// @notice The energy on arrival lies outside the EV's window [socMinWh, socMaxWh].
    error EnergyOutsideWindow(address ev, uint256 energyWh, uint256 socMinWh, uint256 socMaxWh);
    /// @notice The trade would take `ev`'s energy to `energyAfterWh`, outside [socMinWh, socMaxWh].
    error SocWindowExceeded(address ev, int256 energyAfterWh, uint256 socMinWh, uint256 socMaxWh);
    /// @notice A trade whose seller is its buyer.
    error SelfTrade(address ev);
    /// @notice An hour with no trades.
    error NoTrades(uint256 hour);
    /// @notice `members` and `fees` differ in length.
    error FeeArraysMismatch(uint256 members, uint256 fees);
    /// @notice Members must be listed in strictly ascending address order.
    error MembersNotAscending(uint256 position);
    /// @notice The day's fees were assessed: no more trades settle into it.
    error DayAlreadyAssessed(uint256 day);
    /// @notice The day's fees have not been assessed yet.
    error DayNotAssessed(uint256 day);
    /// @notice `member` has no unpaid fee for `day` (state `state`).
    error NoFeeDue(uint256 day, address member, ProfitState state);
    /// @notice `member` has not paid its fee `fee` for `day`: its profit stays held.
    error FeeUnpaid(uint256 day, address member, uint256 fee);
    /// @notice `member`'s profit of `day` is not releasable in state `state`.
    error NothingToRelease(uint256 day, address member, ProfitState state);
    /// @notice The fee window of `day` is open until `dueBy`.
    error FeeWindowOpen(uint256 day, uint256 dueBy);
    /// @notice `member`'s profit of `day` is locked until `lockedUntil`.
    error LockNotExpired(uint256 day, address member, uint256 lockedUntil);
    /// @notice Only the day's miner may confiscate.
    error NotTheMiner(uint256 day, address caller, address miner);
    /// @notice `member`'s profit of `day` is not locked (state `state`).
    error NotLocked(uint256 day, address member, ProfitState state);
    /// @notice The aggregator draw (PoSocScores) was set already, to `draw`.
    error AggregatorDrawAlreadySet(address draw);
    /// @notice No aggregator draw is set: no day can be assessed.
    error AggregatorDrawNotSet();
    /// @notice `miner` is not `day`'s drawn aggregator `drawn` (address(0): not drawn yet).
    error MinerNotDrawn(uint256 day, address miner, address drawn);

    // ------------------------------------------------------------------------------------ events

    /// @notice `ev` parked in `hour` holding `energyWh`.
    event EVArrived(address indexed ev, uint256 hour, uint256 energyWh);
    /// @notice `ev` left at the start of `hour` holding `energyWh`.
    event EVDeparted(address indexed ev, uint256 hour, uint256 energyWh);
    /// @notice One trade of `hour` settled: `payment` UPOS base units from `buyer`, held for `seller`.
    event V2VTraded(
        uint256 indexed hour,
        address indexed seller,
        address indexed buyer,
        uint256 energyWh,
        uint256 pricePerKwh,
        uint256 payment
    );
    /// @notice A trade of `hour` was skipped, not settled: `buyer`'s free balance held less than the `payment`
    /// it owed (it withdrew after the trades were computed); the hour's other trades settle.
    event V2VTradeSkipped(
        uint256 indexed hour,
        address indexed seller,
        address indexed buyer,
        uint256 energyWh,
        uint256 payment,
        uint256 buyerBalance
    );
    /// @notice The contract whose midnight draw names each day's miner was set to `draw`.
    event AggregatorDrawSet(address indexed draw);
    /// @notice The day's miner (mLAG) and fee window were fixed.
    event DayAssessed(uint256 indexed day, address indexed miner, uint256 miningReward, uint256 dueBy);
    /// @notice `member` owes `fee` for `day` by `dueBy`.
    event FeeAssessed(uint256 indexed day, address indexed member, uint256 fee, uint256 dueBy);
    /// @notice `member` paid `fee` to the miner.
    event FeePaid(uint256 indexed day, address indexed member, address indexed miner, uint256 fee);
    /// @notice `member`'s held profit went to its balance.
    event ProfitReleased(uint256 indexed day, address indexed member, uint256 amount);
    /// @notice `member` missed the fee deadline: `held` stays locked until `lockedUntil` (or until it pays).
    event ProfitLocked(uint256 indexed day, address indexed member, uint256 held, uint256 fee, uint256 lockedUntil);
    /// @notice The miner took `toMiner` of `member`'s locked profit; `toMember` went back to the member.
    event ProfitConfiscated(
        uint256 indexed day, address indexed member, address indexed miner, uint256 toMiner, uint256 toMember
    );

    // ------------------------------------------------------------------------------------ functions

    /// @notice Opens `ev`'s parking session in `hour` with `energyWh` stored. Only METER. Reverts
    /// {NotAnActiveEV}, {AlreadyParked}, {EnergyOutsideWindow}.
    function arrive(address ev, uint64 hour, uint64 energyWh) external;

    /// @notice Closes `ev`'s session: it is parked up to, not including, `hour`. Only METER. Reverts
    /// {NotParked}, {DepartureBeforeArrival}.
    function depart(address ev, uint64 hour) external;

    /// @notice Settles `hour`'s trades, once per hour (ResultAlreadyAccepted). Only SCORER. Every party must be
    /// parked in `hour` ({NotParked}); each battery stays inside its window ({SocWindowExceeded}); the buyer
    /// pays from its free balance, and a trade whose buyer cannot pay is skipped ({V2VTradeSkipped}) so that one
    /// buyer withdrawing cannot block the hour; the seller's proceeds are held for the day, which must not be
    /// assessed yet ({DayAlreadyAssessed}).
    function settleHour(uint256 hour, Trade[] calldata trades) external;

    /// @notice Sets, once, the contract whose draw names each day's miner (PoSocScores; it is deployed after
    /// this one, which it reads the sessions of). Only ADMIN. Reverts {AggregatorDrawAlreadySet}, ZeroAddress.
    function setAggregatorDraw(address draw) external;

    /// @notice Fixes `day`'s miner and each listed member's fee (beta * R_i), once per day. Only SCORER.
    /// `miner` must be the aggregator drawn on chain for `day` ({MinerNotDrawn}, {AggregatorDrawNotSet}): the
    /// mining reward M_r = sum of the fees goes to it. Members strictly ascending; a fee of 0 makes the profit
    /// releasable at once.
    function assessFees(uint256 day, address miner, address[] calldata members, uint256[] calldata fees) external;

    /// @notice Pays the caller's fee of `day` from its balance to the day's miner (also while locked).
    function payFee(uint256 day) external;

    /// @notice Moves the caller's held profit of `day` to its balance. Reverts {FeeUnpaid} while a fee is due
    /// or locked, {DayNotAssessed} before the day's fees are fixed.
    function releaseProfit(uint256 day) external;

    /// @notice Locks `member`'s profit of `day` after the fee deadline passed unpaid. Anyone.
    function lockProfit(uint256 day, address member) external;

    /// @notice After the lock period: the day's miner takes the fee out of `member`'s locked profit (at most
    /// all of it), the rest goes to the member's balance. Only the day's miner.
    function confiscate(uint256 day, address member) external;

    /// @notice `ev`'s latest parking session.
    function sessionOf(address ev) external view returns (Session memory);

    /// @notice Whether `ev` is parked in `hour` (inside its latest session).
    function isParkedAt(address ev, uint256 hour) external view returns (bool);

    /// @notice `member`'s profit record of `day`.
    function profitOf(uint256 day, address member) external view returns (Profit memory);

    /// @notice The miner of `day` (address(0) before the day is assessed).
    function minerOf(uint256 day) external view returns (address);
}
