// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IPeriodMatching} from "../../../interfaces/IPeriodMatching.sol";

/// @title PeriodAssignment
/// @notice The matching rules of one seed-000 period on the bids in arrival order: the benefit of a
/// pair, the greedy FIFO matcher and the check of an optimality certificate. Mirrors
/// offchain/algorithms/matching.py (`benefit_matrix`, `greedy_fifo(require_resource=True)`,
/// `verify_certificate`) step for step, so both sides agree on every period.
library PeriodAssignment {
    /// @notice The energy prosumer bid `p` and EV bid `e` can move, Wh: min(|net|, free capacity) for a
    /// surplus, min(|net|, available energy) for a deficit, 0 for a zero bid.
    function benefit(IPeriodMatching.ProsumerBid memory p, IPeriodMatching.EVBid memory e)
        internal
        pure
        returns (uint256)
    {
        if (p.netWh > 0) return Math.min(uint256(int256(p.netWh)), e.freeCapacityWh);
        if (p.netWh < 0) return Math.min(SignedMath.abs(p.netWh), e.availableWh);
        return 0;
    }

    /// @notice Greedy FIFO: prosumer bids in arrival order, zero bids skipped, each matched with the
    /// first EV bid in arrival order that is still unmatched and holds the resource it needs (free
    /// capacity for a surplus, available energy for a deficit). O(prosumers + EVs): one head per side
    /// that only moves forward, since an EV skipped by a side never becomes eligible for it again.
    /// @return prosumers Prosumer bid indices, in the order the pairs were formed (first `count` valid).
    /// @return evs The EV bid matched with each.
    /// @return count The number of pairs.
    function greedyFifo(IPeriodMatching.ProsumerBid[] memory pBids, IPeriodMatching.EVBid[] memory eBids)
        internal
        pure
        returns (uint256[] memory prosumers, uint256[] memory evs, uint256 count)
    {
        uint256 evCount = eBids.length;
        prosumers = new uint256[](Math.min(pBids.length, evCount));
        evs = new uint256[](prosumers.length);
        bool[] memory taken = new bool[](evCount);
        uint256 surplusHead;
        uint256 deficitHead;
        for (uint256 i; i < pBids.length && count < evCount; ++i) {
            int256 net = pBids[i].netWh;
            if (net == 0) continue;
            bool surplus = net > 0;
            uint256 head = surplus ? surplusHead : deficitHead;
            while (
                head < evCount && (taken[head] || (surplus ? eBids[head].freeCapacityWh : eBids[head].availableWh) == 0)
            ) ++head;
            if (surplus) surplusHead = head;
            else deficitHead = head;
            if (head < evCount) {
                taken[head] = true;
                (prosumers[count], evs[count]) = (i, head);
                ++count;
            }
        }
    }

    /// @notice Checks that (`u`, `v`) proves the pairs (`prosumers[k]`, `evs[k]`) a maximum-benefit
    /// one-to-one assignment of the bids, in verify_certificate's order, reverting with the first broken
    /// rule: pair arrays of equal length; every index names a bid; no bid in two pairs; every pair
    /// moves energy; one potential per bid; u_i + v_j >= b_ij for every pair of bids (dual
    /// feasibility); sum(u) + sum(v) == the pairs' benefit (no gap). By weak duality no one-to-one
    /// assignment beats sum(u) + sum(v), so an assignment reaching it is optimal.
    /// @return benefitWh The assignment's total benefit, Wh.
    function verifyCertificate(
        IPeriodMatching.ProsumerBid[] memory pBids,
        IPeriodMatching.EVBid[] memory eBids,
        uint256[] calldata prosumers,
        uint256[] calldata evs,
        uint64[] calldata u,
        uint64[] calldata v
    ) internal pure returns (uint256 benefitWh) {
        benefitWh = _pairsBenefit(pBids, eBids, prosumers, evs);
        _requireOptimal(pBids, eBids, u, v, benefitWh);
    }

    /// @dev Steps 1-4 of verifyCertificate: the pairs line up, name bids, are one-to-one and move energy.
    function _pairsBenefit(
        IPeriodMatching.ProsumerBid[] memory pBids,
        IPeriodMatching.EVBid[] memory eBids,
        uint256[] calldata prosumers,
        uint256[] calldata evs
    ) private pure returns (uint256 benefitWh) {
        if (prosumers.length != evs.length) revert IPeriodMatching.PairArraysMismatch(prosumers.length, evs.length);
        for (uint256 k; k < prosumers.length; ++k) {
            if (prosumers[k] >= pBids.length || evs[k] >= eBids.length) {
                revert IPeriodMatching.UnknownBid(prosumers[k], evs[k], pBids.length, eBids.length);
            }
        }
        _requireDistinct(prosumers, pBids.length, true);
        _requireDistinct(evs, eBids.length, false);
        for (uint256 k; k < prosumers.length; ++k) {
            uint256 b = benefit(pBids[prosumers[k]], eBids[evs[k]]);
            if (b == 0) revert IPeriodMatching.ZeroBenefitPair(prosumers[k], evs[k]);
            benefitWh += b;
        }
    }

    /// @dev Steps 5-7 of verifyCertificate: one potential per bid, dual feasibility, no duality gap.
    function _requireOptimal(
        IPeriodMatching.ProsumerBid[] memory pBids,
        IPeriodMatching.EVBid[] memory eBids,
        uint64[] calldata u,
        uint64[] calldata v,
        uint256 benefitWh
    ) private pure {
        if (u.length != pBids.length || v.length != eBids.length) {
            revert IPeriodMatching.PotentialCountMismatch(pBids.length, eBids.length, u.length, v.length);
        }
        // The O(P x E) loop runs on plain arrays: each side's resource per EV and the EV potentials.
        uint256 m = eBids.length;
        uint256[] memory vs = new uint256[](m);
        uint256[] memory capacity = new uint256[](m);
        uint256[] memory available = new uint256[](m);
        uint256 potentialSum;
        for (uint256 j; j < m; ++j) {
            (vs[j], capacity[j], available[j]) = (v[j], eBids[j].freeCapacityWh, eBids[j].availableWh);
            potentialSum += v[j];
        }
        for (uint256 i; i < u.length; ++i) {
            uint256 ui = u[i];
            potentialSum += ui;
            int256 net = pBids[i].netWh;
            uint256 absNet = SignedMath.abs(net);
            // b_ij <= |net_i|, so a potential of at least |net_i| satisfies the whole row.
            if (ui < absNet) _requireRowFeasible(i, absNet, net > 0 ? capacity : available, ui, vs);
        }
        if (potentialSum != benefitWh) revert IPeriodMatching.DualGap(potentialSum, benefitWh);
    }

    /// @dev u_i + v_j >= b_ij = min(|net_i|, resource_j) for every EV bid j of prosumer bid i.
    function _requireRowFeasible(
        uint256 i,
        uint256 absNet,
        uint256[] memory resource,
        uint256 ui,
        uint256[] memory vs
    ) private pure {
        uint256 m = resource.length;
        for (uint256 j; j < m; ) {
            uint256 r = resource[j];
            uint256 b = r < absNet ? r : absNet;
            // Potentials are uint64, so the sum cannot overflow.
            unchecked {
                if (ui + vs[j] < b) revert IPeriodMatching.DualInfeasible(i, j, ui + vs[j], b);
                ++j;
            }
        }
    }

    function _requireDistinct(uint256[] calldata indices, uint256 size, bool prosumerSide) private pure {
        bool[] memory seen = new bool[](size);
        for (uint256 k; k < indices.length; ++k) {
            uint256 index = indices[k];
            if (seen[index]) {
                if (prosumerSide) revert IPeriodMatching.ProsumerMatchedTwice(index);
                revert IPeriodMatching.EVMatchedTwice(index);
            }
            seen[index] = true;
        }
    }
}
