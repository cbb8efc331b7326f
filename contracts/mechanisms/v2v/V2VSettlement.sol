// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {UposAccounts} from "../../core/UposAccounts.sol";
import {UposLedger} from "../../core/UposLedger.sol";
import {IPoSocScores} from "../../../interfaces/IPoSocScores.sol";
import {IV2VSettlement} from "../../../interfaces/IV2VSettlement.sol";

/// @title V2VSettlement
/// @notice Seed 001 ch. 4's EV-to-EV trades, settled per hour in UPOS with each battery's SOC window
/// checked, and the fee-dodger profit lock. See {IV2VSettlement} and docs/v2v-contracts.md.
/// @dev A dedicated contract rather than the shared EnergyOrderBook: the thesis's agents do not bid, each
/// EV's policy picks an energy and the aggregator pairs the hour's sellers and buyers at the posted V2V
/// price; what the chain must check is the battery window of both parties and hold the seller's profit
/// until its mining fee is paid, neither of which the order book knows.
contract V2VSettlement is IV2VSettlement, RegistryGated, ResultKeys, UposAccounts {
    /// @notice ResultKeys mechanism id of an hour's trades (slot = hour).
    bytes32 public constant TRADES = keccak256("seed001.v2v.trades");
    /// @notice ResultKeys mechanism id of a day's fee assessment (slot = day).
    bytes32 public constant FEES = keccak256("seed001.v2v.fees");
    uint256 private constant HOURS_PER_DAY = 24;
    uint256 private constant WH_PER_KWH = 1000;
    uint64 private constant OPEN_END = type(uint64).max;

    /// @notice Seconds after the assessment in which a member must pay its fee.
    uint256 public immutable feeWindowSeconds;
    /// @notice Seconds a locked profit stays locked before the miner may confiscate the fee out of it.
    uint256 public immutable lockSeconds;

    /// @notice The contract whose midnight draw names each day's miner (set once by ADMIN).
    IPoSocScores public aggregatorDraw;

    mapping(address ev => Session) private _sessions;
    mapping(uint256 day => address miner) private _miners;
    mapping(uint256 day => mapping(address member => Profit)) private _profits;

    /// @param registry_ Registry of participants and roles (METER records sessions, SCORER settles).
    /// @param upos_ The UPOS token.
    /// @param feeWindowSeconds_ The fee deadline after assessment, seconds (> 0, < 2^64).
    /// @param lockSeconds_ The lock period after a missed deadline, seconds (> 0, < 2^64).
    constructor(ParticipantRegistry registry_, IERC20 upos_, uint256 feeWindowSeconds_, uint256 lockSeconds_)
        RegistryGated(registry_)
        UposLedger(upos_)
    {
        if (feeWindowSeconds_ == 0 || lockSeconds_ == 0 || feeWindowSeconds_ > OPEN_END || lockSeconds_ > OPEN_END) {
            revert InvalidWindows(feeWindowSeconds_, lockSeconds_);
        }
        feeWindowSeconds = feeWindowSeconds_;
        lockSeconds = lockSeconds_;
    }

    // ---------------------------------------------------------------------------------- admin

    /// @inheritdoc IV2VSettlement
    function setAggregatorDraw(address draw) external onlyRegistryRole(Roles.ADMIN) {
        if (draw == address(0)) revert ZeroAddress();
        if (address(aggregatorDraw) != address(0)) revert AggregatorDrawAlreadySet(address(aggregatorDraw));
        aggregatorDraw = IPoSocScores(draw);
        emit AggregatorDrawSet(draw);
    }

    // ------------------------------------------------------------------------------- sessions

    /// @inheritdoc IV2VSettlement
    function arrive(address ev, uint64 hour, uint64 energyWh) external onlyRegistryRole(Roles.METER) {
        ParticipantRegistry.Participant memory p = registry.participant(ev);
        if (p.kind != ParticipantRegistry.Kind.EV || !p.active) revert NotAnActiveEV(ev);
        if (_sessions[ev].open) revert AlreadyParked(ev);
        if (energyWh < p.socMinWh || energyWh > p.socMaxWh) {
            revert EnergyOutsideWindow(ev, energyWh, p.socMinWh, p.socMaxWh);
        }
        _sessions[ev] = Session(hour, OPEN_END, energyWh, true);
        emit EVArrived(ev, hour, energyWh);
    }

    /// @inheritdoc IV2VSettlement
    function depart(address ev, uint64 hour) external onlyRegistryRole(Roles.METER) {
        Session storage s = _sessions[ev];
        if (!s.open) revert NotParked(ev, hour);
        if (hour <= s.arrivalHour) revert DepartureBeforeArrival(ev, hour, s.arrivalHour);
        s.departureHour = hour;
        s.open = false;
        emit EVDeparted(ev, hour, s.energyWh);
    }

    // --------------------------------------------------------------------------------- trades

    /// @inheritdoc IV2VSettlement
    function settleHour(uint256 hour, Trade[] calldata trades) external onlyRegistryRole(Roles.SCORER) {
        if (trades.length == 0) revert NoTrades(hour);
        _acceptOnce(TRADES, hour);
        uint256 day = hour / HOURS_PER_DAY;
        if (_miners[day] != address(0)) revert DayAlreadyAssessed(day);
        for (uint256 k; k < trades.length; ++k) {
            Trade calldata t = trades[k];
            if (t.energyWh == 0) revert ZeroAmount();
            if (t.seller == t.buyer) revert SelfTrade(t.seller);
            uint256 payment = uint256(t.energyWh) * t.pricePerKwh / WH_PER_KWH;
            uint256 buyerBalance = _balanceOf(t.buyer);
            if (buyerBalance < payment) {
                emit V2VTradeSkipped(hour, t.seller, t.buyer, t.energyWh, payment, buyerBalance);
                continue;
            }
            _move(t.seller, hour, -int256(uint256(t.energyWh)));
            _move(t.buyer, hour, int256(uint256(t.energyWh)));
            _update(t.buyer, address(0), payment);
            Profit storage profit = _profits[day][t.seller];
            profit.held = SafeCast.toUint128(profit.held + payment);
            emit V2VTraded(hour, t.seller, t.buyer, t.energyWh, t.pricePerKwh, payment);
        }
    }

    // --------------------------------------------------------------------------- profit lock

    /// @inheritdoc IV2VSettlement
    function assessFees(uint256 day, address miner, address[] calldata members, uint256[] calldata fees)
        external
        onlyRegistryRole(Roles.SCORER)
    {
        if (members.length != fees.length) revert FeeArraysMismatch(members.length, fees.length);
        if (address(aggregatorDraw) == address(0)) revert AggregatorDrawNotSet();
        address drawn = aggregatorDraw.aggregatorOf(day);
        if (miner == address(0) || miner != drawn) revert MinerNotDrawn(day, miner, drawn);
        if (!registry.isActive(miner, ParticipantRegistry.Kind.EV)) revert NotAnActiveEV(miner);
        _acceptOnce(FEES, day);
        _miners[day] = miner;
        uint64 dueBy = SafeCast.toUint64(block.timestamp + feeWindowSeconds);
        uint256 total = 0;
        for (uint256 k; k < members.length; ++k) {
            if (k != 0 && members[k] <= members[k - 1]) revert MembersNotAscending(k);
            Profit storage profit = _profits[day][members[k]];
            profit.fee = SafeCast.toUint128(fees[k]);
            profit.dueBy = dueBy;
            profit.state = fees[k] == 0 ? ProfitState.Paid : ProfitState.FeeDue;
            total += fees[k];
            emit FeeAssessed(day, members[k], fees[k], dueBy);
        }
        emit DayAssessed(day, miner, total, dueBy);
    }

    /// @inheritdoc IV2VSettlement
    function payFee(uint256 day) external {
        Profit storage profit = _profits[day][msg.sender];
        ProfitState state = profit.state;
        if (state != ProfitState.FeeDue && state != ProfitState.Locked) revert NoFeeDue(day, msg.sender, state);
        profit.state = ProfitState.Paid;
        address miner = _miners[day];
        _update(msg.sender, miner, profit.fee);
        emit FeePaid(day, msg.sender, miner, profit.fee);
    }

    /// @inheritdoc IV2VSettlement
    function releaseProfit(uint256 day) external {
        if (_miners[day] == address(0)) revert DayNotAssessed(day);
        Profit storage profit = _profits[day][msg.sender];
        ProfitState state = profit.state;
        if (state == ProfitState.FeeDue || state == ProfitState.Locked) revert FeeUnpaid(day, msg.sender, profit.fee);
        if (state != ProfitState.Paid && state != ProfitState.None) revert NothingToRelease(day, msg.sender, state);
        uint256 amount = profit.held;
        profit.held = 0;
        profit.state = ProfitState.Released;
        _update(address(0), msg.sender, amount);
        emit ProfitReleased(day, msg.sender, amount);
    }

    /// @inheritdoc IV2VSettlement
    function lockProfit(uint256 day, address member) external {
        Profit storage profit = _profits[day][member];
        if (profit.state != ProfitState.FeeDue) revert NoFeeDue(day, member, profit.state);
        // The deadline is a wall-clock bound (minutes to days); miners' timestamp drift cannot move it usefully.
        // slither-disable-next-line timestamp
        if (block.timestamp <= profit.dueBy) revert FeeWindowOpen(day, profit.dueBy);
        uint64 lockedUntil = SafeCast.toUint64(block.timestamp + lockSeconds);
        profit.lockedUntil = lockedUntil;
        profit.state = ProfitState.Locked;
        emit ProfitLocked(day, member, profit.held, profit.fee, lockedUntil);
    }

    /// @inheritdoc IV2VSettlement
    function confiscate(uint256 day, address member) external {
        address miner = _miners[day];
        if (msg.sender != miner) revert NotTheMiner(day, msg.sender, miner);
        Profit storage profit = _profits[day][member];
        if (profit.state != ProfitState.Locked) revert NotLocked(day, member, profit.state);
        // slither-disable-next-line timestamp
        if (block.timestamp <= profit.lockedUntil) revert LockNotExpired(day, member, profit.lockedUntil);
        uint256 held = profit.held;
        uint256 toMiner = Math.min(profit.fee, held);
        profit.held = 0;
        profit.state = ProfitState.Confiscated;
        _update(address(0), miner, toMiner);
        _update(address(0), member, held - toMiner);
        emit ProfitConfiscated(day, member, miner, toMiner, held - toMiner);
    }

    // ---------------------------------------------------------------------------------- views

    /// @inheritdoc IV2VSettlement
    function sessionOf(address ev) external view returns (Session memory) {
        return _sessions[ev];
    }

    /// @inheritdoc IV2VSettlement
    function isParkedAt(address ev, uint256 hour) public view returns (bool) {
        Session memory s = _sessions[ev];
        return s.departureHour != 0 && s.arrivalHour <= hour && hour < s.departureHour;
    }

    /// @inheritdoc IV2VSettlement
    function profitOf(uint256 day, address member) external view returns (Profit memory) {
        return _profits[day][member];
    }

    /// @inheritdoc IV2VSettlement
    function minerOf(uint256 day) external view returns (address) {
        return _miners[day];
    }

    // ------------------------------------------------------------------------------ internals

    /// @dev Moves `deltaWh` into (+) or out of (-) `ev`'s battery in `hour`, inside its SOC window.
    function _move(address ev, uint256 hour, int256 deltaWh) private {
        if (!isParkedAt(ev, hour)) revert NotParked(ev, hour);
        Session storage s = _sessions[ev];
        ParticipantRegistry.Participant memory p = registry.participant(ev);
        int256 after_ = int256(uint256(s.energyWh)) + deltaWh;
        if (after_ < int256(uint256(p.socMinWh)) || after_ > int256(uint256(p.socMaxWh))) {
            revert SocWindowExceeded(ev, after_, p.socMinWh, p.socMaxWh);
        }
        s.energyWh = uint64(uint256(after_));
    }
}
