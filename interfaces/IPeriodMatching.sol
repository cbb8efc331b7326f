// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IKwxErrors} from "./IKwxErrors.sol";

/// @title IPeriodMatching
/// @notice Seed 000 (EV fog energy management): one-to-one prosumer <-> EV matching per period. In the
/// bidding window of period p (its first `biddingSeconds`), each active prosumer bids its forecast net
/// energy (signed Wh, > 0 surplus) and each active EV bids what it can release and absorb (Wh, at most
/// its battery state in the exchange contract; nothing to release before its participation is
/// verified). Bids are numbered in arrival order. Once the window closes, the period is matched once:
/// either by the on-chain greedy FIFO matcher or by an optimal (Hungarian) assignment computed off
/// chain and proved optimal by an LP dual certificate that this contract checks against benefits it
/// computes from the stored bids. The matches go to the exchange contract, which logs and settles the
/// energy they move. Periods count from genesisTime in periodSeconds (contracts/core/PeriodClock.sol).
/// Rules and reasons: docs/seed000-contracts.md.
interface IPeriodMatching is IKwxErrors {
    /// @notice How a period was matched.
    enum Method {
        Greedy,
        Certified
    }

    /// @notice Constructor parameters. Times in seconds.
    /// @param genesisTime Start of period 0 (unix seconds; may lie in the future).
    /// @param periodSeconds Length of a period (60 in the paper).
    /// @param biddingSeconds Bids for period p are accepted in [start(p), start(p) + biddingSeconds);
    /// 0 < biddingSeconds <= periodSeconds.
    /// @param greedyDelaySeconds {matchGreedy} is open to anyone from the close of bidding plus this
    /// delay (0: a greedy market; longer: greedy is the fallback if no certified result arrives).
    /// @param minBidPeriods An EV's participation counts as verified (it may sell) once it has bid in
    /// this many earlier periods.
    /// @param requireStore ... and, if set, once it has also stored energy from a prosumer before.
    struct Config {
        uint256 genesisTime;
        uint256 periodSeconds;
        uint256 biddingSeconds;
        uint256 greedyDelaySeconds;
        uint256 minBidPeriods;
        bool requireStore;
    }

    /// @notice A prosumer's bid: its forecast net energy of the period, Wh (> 0 surplus, < 0 deficit).
    struct ProsumerBid {
        address prosumer;
        int64 netWh;
    }

    /// @notice An EV's bid: energy it can release and room it can fill, Wh; `maySell` whether its
    /// participation was verified when it bid.
    struct EVBid {
        address ev;
        uint40 availableWh;
        uint40 freeCapacityWh;
        bool maySell;
    }

    // ------------------------------------------------------------------------------------ errors

    /// @notice A bid for `period` outside its bidding window [opensAt, closesAt) (both type(uint256).max
    /// for a period too far ahead to ever open).
    error OutsideBiddingWindow(uint256 period, uint256 opensAt, uint256 closesAt);
    /// @notice A prosumer bid of `netWh` lies beyond +-`maxAbsWh` (the most an EV bid holds).
    error BidOutOfRange(int256 netWh, uint256 maxAbsWh);
    /// @notice `account` already bid in `period`.
    error DuplicateBid(uint256 period, address account);
    /// @notice An EV bid more than its battery holds: at most `maxAvailableWh` to release (0 before its
    /// participation is verified) and `maxFreeCapacityWh` to absorb.
    error BidExceedsBattery(
        address ev, uint256 availableWh, uint256 maxAvailableWh, uint256 freeCapacityWh, uint256 maxFreeCapacityWh
    );
    /// @notice The bidding window of `period` closes at `closesAt`: it cannot be matched before.
    error BiddingNotClosed(uint256 period, uint256 closesAt);
    /// @notice Greedy matching of `period` opens to anyone at `opensAt` (the certified result has until then).
    error GreedyNotOpen(uint256 period, uint256 opensAt);
    /// @notice The pair arrays of an assignment differ in length.
    error PairArraysMismatch(uint256 prosumerEntries, uint256 evEntries);
    /// @notice A pair names a bid the period does not have (it has `prosumerBids` and `evBids` bids).
    error UnknownBid(uint256 prosumerBid, uint256 evBid, uint256 prosumerBids, uint256 evBids);
    /// @notice Prosumer bid `prosumerBid` appears in more than one pair.
    error ProsumerMatchedTwice(uint256 prosumerBid);
    /// @notice EV bid `evBid` appears in more than one pair.
    error EVMatchedTwice(uint256 evBid);
    /// @notice The pair moves no energy (its benefit is 0).
    error ZeroBenefitPair(uint256 prosumerBid, uint256 evBid);
    /// @notice A certificate needs one potential per bid: `prosumerBids` u's and `evBids` v's.
    error PotentialCountMismatch(uint256 prosumerBids, uint256 evBids, uint256 uCount, uint256 vCount);
    /// @notice u[prosumerBid] + v[evBid] = `potentialSum` is below the pair's benefit `benefitWh`.
    error DualInfeasible(uint256 prosumerBid, uint256 evBid, uint256 potentialSum, uint256 benefitWh);
    /// @notice sum(u) + sum(v) = `potentialSum` differs from the assignment's benefit `benefitWh`.
    error DualGap(uint256 potentialSum, uint256 benefitWh);

    // ------------------------------------------------------------------------------------ events

    /// @notice `prosumer` bid `netWh` in `period`, the `index`-th prosumer bid to arrive (from 0).
    event ProsumerBidPlaced(uint256 indexed period, uint256 index, address indexed prosumer, int256 netWh);
    /// @notice `ev` bid in `period`, the `index`-th EV bid to arrive (from 0).
    event EVBidPlaced(
        uint256 indexed period,
        uint256 index,
        address indexed ev,
        uint256 availableWh,
        uint256 freeCapacityWh,
        bool maySell
    );
    /// @notice `period` was matched by `method`: `matches` pairs moving up to `benefitWh` Wh in total,
    /// numbered from `firstMatchingId` in the exchange contract.
    event PeriodMatched(
        uint256 indexed period, Method method, uint256 firstMatchingId, uint256 matches, uint256 benefitWh
    );

    // ------------------------------------------------------------------------------------ functions

    /// @notice Bids the caller's forecast net energy for `period`, Wh (> 0 surplus to store, < 0
    /// deficit to cover, 0 nothing; |netWh| at most MAX_BID_WH, else {BidOutOfRange}). Only an active
    /// prosumer, once per period, inside the window.
    function bidProsumer(uint256 period, int64 netWh) external;

    /// @notice Bids the caller's available energy and free capacity for `period`, Wh, each at most what
    /// its battery holds (available 0 until its participation is verified). Only an active EV with an
    /// open battery, once per period, inside the window.
    function bidEV(uint256 period, uint64 availableWh, uint64 freeCapacityWh) external;

    /// @notice Matches `period` with the greedy FIFO rule: prosumer bids in arrival order, zero bids
    /// skipped, each with the first unmatched EV in arrival order that holds the resource it needs.
    /// Anyone, once per period, from {greedyOpensAt}.
    /// @return matches The number of pairs formed.
    function matchGreedy(uint256 period) external returns (uint256 matches);

    /// @notice Accepts an assignment of `period` computed off chain, with its optimality certificate.
    /// Pair k matches prosumer bid `prosumerBids[k]` with EV bid `evBids[k]` (arrival indices); `u`
    /// holds one potential per prosumer bid and `v` one per EV bid (Wh). Accepted only if the pairs
    /// are one-to-one, name existing bids, each move energy, u_i + v_j >= b_ij for every pair of bids
    /// and sum(u) + sum(v) equals the assignment's benefit, with b computed from the stored bids.
    /// Only SCORER, once per period, after bidding closed.
    function submitAssignment(
        uint256 period,
        uint256[] calldata prosumerBids,
        uint256[] calldata evBids,
        uint64[] calldata u,
        uint64[] calldata v
    ) external;

    /// @notice The period the chain's clock is in (reverts {BeforeGenesis} before period 0 starts).
    function currentPeriod() external view returns (uint256);

    /// @notice When bidding for `period` opens (its start; type(uint256).max beyond MAX_PERIOD).
    function biddingOpensAt(uint256 period) external view returns (uint256);

    /// @notice When bidding for `period` closes (type(uint256).max beyond MAX_PERIOD).
    function biddingClosesAt(uint256 period) external view returns (uint256);

    /// @notice When anyone may match `period` greedily.
    function greedyOpensAt(uint256 period) external view returns (uint256);

    /// @notice Whether `period` has been matched.
    function isMatched(uint256 period) external view returns (bool);

    /// @notice The prosumer bids of `period` in arrival order.
    function prosumerBids(uint256 period) external view returns (ProsumerBid[] memory);

    /// @notice The EV bids of `period` in arrival order.
    function evBids(uint256 period) external view returns (EVBid[] memory);

    /// @notice b[i][j]: the energy prosumer bid i and EV bid j could move in `period`, Wh:
    /// min(|net_i|, free capacity_j) for a surplus, min(|net_i|, available_j) for a deficit, 0 for 0.
    function benefitMatrix(uint256 period) external view returns (uint256[][] memory);

    /// @notice Whether `ev` would bid in `period` as verified (may sell): enough earlier bid periods
    /// and, if required, an earlier store.
    function maySell(address ev, uint256 period) external view returns (bool);

    /// @notice The number of periods `ev` has bid in.
    function bidPeriodsOf(address ev) external view returns (uint256);
}
