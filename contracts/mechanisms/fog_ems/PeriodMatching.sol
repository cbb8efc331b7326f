// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ParticipantRegistry} from "../../core/ParticipantRegistry.sol";
import {PeriodClock} from "../../core/PeriodClock.sol";
import {RegistryGated} from "../../core/RegistryGated.sol";
import {ResultKeys} from "../../core/ResultKeys.sol";
import {Roles} from "../../core/Roles.sol";
import {IPeriodMatching} from "../../../interfaces/IPeriodMatching.sol";
import {IEVExchange} from "../../../interfaces/IEVExchange.sol";
import {PeriodAssignment} from "./PeriodAssignment.sol";

/// @title PeriodMatching
/// @notice Seed 000's matching contract: per-period bids of prosumers and EVs in arrival order, matched
/// once per period by the greedy FIFO rule on chain or by a certified optimal assignment from the
/// SCORER; the matches are handed to the {IEVExchange}, which needs MARKET to accept them from here.
/// See {IPeriodMatching} and docs/seed000-contracts.md.
contract PeriodMatching is IPeriodMatching, RegistryGated, ResultKeys {
    /// @notice The ResultKeys mechanism id of a period's matching.
    bytes32 public constant MECHANISM = keccak256("seed000.matching");
    /// @notice The last period that ever opens: later ones never open for bidding.
    uint256 public constant MAX_PERIOD = type(uint64).max;
    /// @notice The largest |netWh| a prosumer may bid: what an EV bid may hold (uint40). Beyond it no pair's
    /// benefit changes, and -2**63 would overflow every off-chain |netWh| in int64.
    uint256 public constant MAX_BID_WH = type(uint40).max;

    /// @notice Battery state of the EVs and the recipient of the matches.
    IEVExchange public immutable exchange;
    /// @notice Start of period 0 (unix seconds).
    uint256 public immutable genesisTime;
    /// @notice Length of a period (seconds).
    uint256 public immutable periodSeconds;
    /// @notice Length of a period's bidding window, from its start (seconds).
    uint256 public immutable biddingSeconds;
    /// @notice Delay after the bidding window before anyone may match greedily (seconds).
    uint256 public immutable greedyDelaySeconds;
    /// @notice Earlier bid periods after which an EV may sell.
    uint256 public immutable minBidPeriods;
    /// @notice Whether an EV must also have stored energy before it may sell.
    bool public immutable requireStore;

    mapping(uint256 period => ProsumerBid[]) private _prosumerBids;
    mapping(uint256 period => EVBid[]) private _evBids;
    mapping(uint256 period => mapping(address account => bool)) private _hasBid;
    mapping(address ev => uint256 periods) private _bidPeriods;

    /// @param registry_ Registry of participants and roles (SCORER submits certified assignments).
    /// @param exchange_ The exchange holding the EV batteries; grant this contract MARKET there.
    /// @param config Timing and the EV sell rule (see {Config}).
    constructor(ParticipantRegistry registry_, IEVExchange exchange_, Config memory config) RegistryGated(registry_) {
        if (address(exchange_) == address(0)) revert ZeroAddress();
        // With the clock and the delay below 2^64, no time of a period up to MAX_PERIOD overflows.
        if (
            !PeriodClock.isValid(config.genesisTime, config.periodSeconds) || config.biddingSeconds == 0
                || config.biddingSeconds > config.periodSeconds || config.greedyDelaySeconds > PeriodClock.MAX_SECONDS
        ) {
            revert InvalidTiming(
                config.genesisTime, config.periodSeconds, config.biddingSeconds, config.greedyDelaySeconds
            );
        }
        exchange = exchange_;
        genesisTime = config.genesisTime;
        periodSeconds = config.periodSeconds;
        biddingSeconds = config.biddingSeconds;
        greedyDelaySeconds = config.greedyDelaySeconds;
        minBidPeriods = config.minBidPeriods;
        requireStore = config.requireStore;
    }

    // -------------------------------------------------------------------------------------- bids

    /// @inheritdoc IPeriodMatching
    function bidProsumer(uint256 period, int64 netWh) external {
        _requireBiddingOpen(period);
        if (!registry.isActive(msg.sender, ParticipantRegistry.Kind.Prosumer)) revert NotAnActiveProsumer(msg.sender);
        if (netWh < -int256(MAX_BID_WH) || netWh > int256(MAX_BID_WH)) revert BidOutOfRange(netWh, MAX_BID_WH);
        _markBidder(period);
        ProsumerBid[] storage bids = _prosumerBids[period];
        emit ProsumerBidPlaced(period, bids.length, msg.sender, netWh);
        bids.push(ProsumerBid(msg.sender, netWh));
    }

    /// @inheritdoc IPeriodMatching
    function bidEV(uint256 period, uint64 availableWh, uint64 freeCapacityWh) external {
        _requireBiddingOpen(period);
        if (!registry.isActive(msg.sender, ParticipantRegistry.Kind.EV)) revert NotAnActiveEV(msg.sender);
        bool verified = maySell(msg.sender, period);
        _markBidder(period);
        (uint256 maxAvailableWh, uint256 maxFreeCapacityWh) = exchange.headroom(msg.sender);
        if (!verified) maxAvailableWh = 0;
        if (availableWh > maxAvailableWh || freeCapacityWh > maxFreeCapacityWh) {
            revert BidExceedsBattery(msg.sender, availableWh, maxAvailableWh, freeCapacityWh, maxFreeCapacityWh);
        }
        ++_bidPeriods[msg.sender];
        EVBid[] storage bids = _evBids[period];
        emit EVBidPlaced(period, bids.length, msg.sender, availableWh, freeCapacityWh, verified);
        bids.push(EVBid(msg.sender, SafeCast.toUint40(availableWh), SafeCast.toUint40(freeCapacityWh), verified));
    }

    // ---------------------------------------------------------------------------------- matching

    /// @inheritdoc IPeriodMatching
    function matchGreedy(uint256 period) external returns (uint256 matches) {
        _requireBiddingClosed(period);
        uint256 opensAt = greedyOpensAt(period);
        if (block.timestamp < opensAt) revert GreedyNotOpen(period, opensAt);
        _acceptOnce(MECHANISM, period);
        ProsumerBid[] memory pBids = _prosumerBids[period];
        EVBid[] memory eBids = _evBids[period];
        (uint256[] memory prosumers, uint256[] memory evs, uint256 count) = PeriodAssignment.greedyFifo(pBids, eBids);
        uint256 benefitWh;
        for (uint256 k; k < count; ++k) {
            benefitWh += PeriodAssignment.benefit(pBids[prosumers[k]], eBids[evs[k]]);
        }
        _open(period, Method.Greedy, prosumers, evs, count, benefitWh);
        return count;
    }

    /// @inheritdoc IPeriodMatching
    function submitAssignment(
        uint256 period,
        uint256[] calldata prosumerBids_,
        uint256[] calldata evBids_,
        uint64[] calldata u,
        uint64[] calldata v
    ) external onlyRegistryRole(Roles.SCORER) {
        _requireBiddingClosed(period);
        _acceptOnce(MECHANISM, period);
        uint256 benefitWh = _verify(period, prosumerBids_, evBids_, u, v);
        _open(period, Method.Certified, prosumerBids_, evBids_, prosumerBids_.length, benefitWh);
    }

    // ------------------------------------------------------------------------------------- views

    /// @inheritdoc IPeriodMatching
    function currentPeriod() external view returns (uint256) {
        return PeriodClock.periodAt(genesisTime, periodSeconds, block.timestamp);
    }

    /// @inheritdoc IPeriodMatching
    function biddingOpensAt(uint256 period) public view returns (uint256) {
        return period > MAX_PERIOD ? type(uint256).max : PeriodClock.startOf(genesisTime, periodSeconds, period);
    }

    /// @inheritdoc IPeriodMatching
    function biddingClosesAt(uint256 period) public view returns (uint256) {
        return period > MAX_PERIOD ? type(uint256).max : biddingOpensAt(period) + biddingSeconds;
    }

    /// @inheritdoc IPeriodMatching
    function greedyOpensAt(uint256 period) public view returns (uint256) {
        return period > MAX_PERIOD ? type(uint256).max : biddingClosesAt(period) + greedyDelaySeconds;
    }

    /// @inheritdoc IPeriodMatching
    function isMatched(uint256 period) external view returns (bool) {
        return isAccepted(MECHANISM, period);
    }

    /// @inheritdoc IPeriodMatching
    function prosumerBids(uint256 period) external view returns (ProsumerBid[] memory) {
        return _prosumerBids[period];
    }

    /// @inheritdoc IPeriodMatching
    function evBids(uint256 period) external view returns (EVBid[] memory) {
        return _evBids[period];
    }

    /// @inheritdoc IPeriodMatching
    function benefitMatrix(uint256 period) external view returns (uint256[][] memory b) {
        ProsumerBid[] memory pBids = _prosumerBids[period];
        EVBid[] memory eBids = _evBids[period];
        b = new uint256[][](pBids.length);
        for (uint256 i; i < pBids.length; ++i) {
            b[i] = new uint256[](eBids.length);
            for (uint256 j; j < eBids.length; ++j) {
                b[i][j] = PeriodAssignment.benefit(pBids[i], eBids[j]);
            }
        }
    }

    /// @inheritdoc IPeriodMatching
    /// @dev Meant for the current or a later period: bids are only taken in the current window, so every
    /// bid counted except this period's own lies before `period`.
    function maySell(address ev, uint256 period) public view returns (bool) {
        uint256 earlier = _bidPeriods[ev] - (_hasBid[period][ev] ? 1 : 0);
        return earlier >= minBidPeriods && (!requireStore || exchange.storedBefore(ev, period));
    }

    /// @inheritdoc IPeriodMatching
    function bidPeriodsOf(address ev) external view returns (uint256) {
        return _bidPeriods[ev];
    }

    // ---------------------------------------------------------------------------------- internals

    /// @dev The certificate check on the stored bids (its own frame: submitAssignment's calldata arrays
    /// leave no stack room for the bid arrays).
    function _verify(
        uint256 period,
        uint256[] calldata prosumers,
        uint256[] calldata evs,
        uint64[] calldata u,
        uint64[] calldata v
    ) private view returns (uint256 benefitWh) {
        return PeriodAssignment.verifyCertificate(_prosumerBids[period], _evBids[period], prosumers, evs, u, v);
    }

    /// @dev Hands the pairs (bid indices) to the exchange, which numbers them, and records the outcome.
    function _open(
        uint256 period,
        Method method,
        uint256[] memory prosumers,
        uint256[] memory evs,
        uint256 count,
        uint256 benefitWh
    ) private {
        ProsumerBid[] storage pBids = _prosumerBids[period];
        EVBid[] storage eBids = _evBids[period];
        address[] memory prosumerAccounts = new address[](count);
        address[] memory evAccounts = new address[](count);
        bool[] memory evMaySell = new bool[](count);
        for (uint256 k; k < count; ++k) {
            prosumerAccounts[k] = pBids[prosumers[k]].prosumer;
            EVBid storage e = eBids[evs[k]];
            (evAccounts[k], evMaySell[k]) = (e.ev, e.maySell);
        }
        uint256 firstMatchingId = exchange.openMatches(period, prosumerAccounts, evAccounts, evMaySell);
        emit PeriodMatched(period, method, firstMatchingId, count, benefitWh);
    }

    function _markBidder(uint256 period) private {
        if (_hasBid[period][msg.sender]) revert DuplicateBid(period, msg.sender);
        _hasBid[period][msg.sender] = true;
    }

    /// @dev Bids for `period` are taken only while the clock is in [biddingOpensAt, biddingClosesAt).
    function _requireBiddingOpen(uint256 period) private view {
        uint256 opensAt = biddingOpensAt(period);
        uint256 closesAt = biddingClosesAt(period);
        if (block.timestamp < opensAt || block.timestamp >= closesAt) {
            revert OutsideBiddingWindow(period, opensAt, closesAt);
        }
    }

    /// @dev Reverts unless the bidding window of `period` has closed.
    function _requireBiddingClosed(uint256 period) private view {
        uint256 closesAt = biddingClosesAt(period);
        if (block.timestamp < closesAt) revert BiddingNotClosed(period, closesAt);
    }
}
