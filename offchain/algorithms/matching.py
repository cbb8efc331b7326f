"""Per-period prosumer <-> EV matching of seed 000: greedy FIFO, optimal (Hungarian) and its LP certificate.

Pure functions on integer Wh arrays, no chain I/O. Bids are indexed in arrival order, as the matching
contract stores them: prosumer i bids its signed net energy `net_wh[i]` (> 0 surplus to store, < 0
deficit to cover); EV j bids what it can release, `available_wh[j]`, and what it can absorb,
`free_capacity_wh[j]`. Every agent gets at most one match per period.

The benefit of matching prosumer i with EV j is the energy the pair can move,

    b_ij = min(|net_i|, free_capacity_j)   if net_i > 0
    b_ij = min(|net_i|, available_j)       if net_i < 0
    b_ij = 0                               if net_i = 0

and the Hungarian matcher maximises the sum of b over the matched pairs. (The paper's "cost" form,
energy left unserved per pair, minimised over a rectangular matrix, silently charges nothing for an
unmatched prosumer and so prefers small bids; maximising the benefit is the correct form: see
docs/seed000.md.)

Optimality is proved to a verifier by an LP dual certificate: integer potentials u_i, v_j >= 0 with
u_i + v_j >= b_ij for every pair and sum(u) + sum(v) equal to the assignment's benefit. By weak
duality every one-to-one assignment has benefit <= sum(u) + sum(v), so the submitted one is optimal.
`verify_certificate` checks exactly what the matching contract checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

Solver = Literal["lsa", "sorted", "auto"]


class NotOptimalError(ValueError):
    """The assignment given to `dual_certificate` is not a maximum-benefit assignment."""


@dataclass(frozen=True)
class Assignment:
    """Matched pairs of one period: `prosumers[k]` is matched with `evs[k]` (bid indices), in the
    order the matcher formed them (a matching contract numbers them in this order)."""

    prosumers: np.ndarray
    evs: np.ndarray

    @classmethod
    def from_pairs(cls, pairs: list[tuple[int, int]] | np.ndarray) -> Assignment:
        array = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        return cls(array[:, 0].copy(), array[:, 1].copy())

    def __len__(self) -> int:
        return len(self.prosumers)

    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.prosumers.tolist(), self.evs.tolist()))

    def benefit_wh(self, benefit: np.ndarray) -> int:
        """Total benefit of the pairs under `benefit`, Wh."""
        return int(benefit[self.prosumers, self.evs].sum())


#: The largest |net| a prosumer bid may carry, Wh (PeriodMatching.MAX_BID_WH: what an EV bid holds, uint40).
MAX_BID_WH = 2**40 - 1


def benefit_matrix(net_wh: np.ndarray, available_wh: np.ndarray, free_capacity_wh: np.ndarray) -> np.ndarray:
    """b[i, j] (Wh, int64, shape (prosumers, EVs)): energy prosumer i and EV j can move this period."""
    net = np.asarray(net_wh, dtype=np.int64)
    available = np.asarray(available_wh, dtype=np.int64)
    capacity = np.asarray(free_capacity_wh, dtype=np.int64)
    if available.shape != capacity.shape or available.ndim != 1 or net.ndim != 1:
        raise ValueError("net_wh, available_wh and free_capacity_wh must be 1-D; the EV arrays of equal length")
    if (available < 0).any() or (capacity < 0).any():
        raise ValueError("EV bids must be >= 0 Wh")
    if (net < -MAX_BID_WH).any() or (net > MAX_BID_WH).any():
        # PeriodMatching refuses such bids (BidOutOfRange); -2**63 would also overflow np.abs below
        raise ValueError(f"prosumer bids must lie within +-{MAX_BID_WH:,} Wh")
    resource = np.where(net[:, None] > 0, capacity[None, :], available[None, :])
    return np.minimum(np.abs(net)[:, None], resource)


def greedy_fifo(
    net_wh: np.ndarray,
    available_wh: np.ndarray,
    free_capacity_wh: np.ndarray,
    *,
    prosumer_order: np.ndarray | None = None,
    ev_order: np.ndarray | None = None,
    require_resource: bool = True,
) -> Assignment:
    """First-come first-served matching, O(prosumers + EVs), as the matching contract runs it.

    Prosumer bids are taken in arrival order (`prosumer_order`, default index order); a zero bid is
    skipped. Each is matched with the first EV in arrival order (`ev_order`) not yet matched this
    period that holds the resource it needs (free capacity for a surplus, available energy for a
    deficit); with `require_resource=False`, with the first unmatched EV whatever it holds.
    """
    net = np.asarray(net_wh, dtype=np.int64)
    available = np.asarray(available_wh, dtype=np.int64)
    capacity = np.asarray(free_capacity_wh, dtype=np.int64)
    prosumers = np.arange(len(net)) if prosumer_order is None else np.asarray(prosumer_order)
    evs = np.arange(len(available)) if ev_order is None else np.asarray(ev_order)
    if sorted(prosumers.tolist()) != list(range(len(net))) or sorted(evs.tolist()) != list(range(len(available))):
        raise ValueError("arrival orders must be permutations of the bid indices")
    if require_resource:
        queues = {1: evs[capacity[evs] > 0].tolist(), -1: evs[available[evs] > 0].tolist()}
    else:
        queues = {1: evs.tolist(), -1: evs.tolist()}
    heads = {1: 0, -1: 0}
    taken = np.zeros(len(available), dtype=bool)
    pairs = []
    for i, bid in zip(prosumers.tolist(), net[prosumers].tolist()):
        if bid == 0:
            continue
        side = 1 if bid > 0 else -1
        queue, head = queues[side], heads[side]
        while head < len(queue) and taken[queue[head]]:
            head += 1
        heads[side] = head
        if head < len(queue):
            taken[queue[head]] = True
            pairs.append((i, queue[head]))
    return Assignment.from_pairs(pairs)


def hungarian(benefit: np.ndarray) -> Assignment:
    """Maximum-benefit one-to-one assignment (scipy's linear_sum_assignment, any rectangular shape);
    pairs with zero benefit are not matches and are left out. Pairs in ascending prosumer index."""
    b = np.asarray(benefit)
    if b.size == 0:
        return Assignment.from_pairs([])
    rows, cols = linear_sum_assignment(b, maximize=True)
    keep = b[rows, cols] > 0
    return Assignment(rows[keep].astype(np.int64), cols[keep].astype(np.int64))


def paper_cost_assignment(benefit: np.ndarray, net_wh: np.ndarray) -> Assignment:
    """The paper's objective as printed (Sec. IV-B), kept to reproduce its numbers, not to trade with:
    minimise the unserved energy c_ij = |net_i| - b_ij over the rectangular matrix. An unmatched
    prosumer costs nothing there, so with fewer EVs than prosumers the smallest bids win the EVs.
    Zero-benefit pairs are left out; such assignments carry no optimality certificate."""
    b = np.asarray(benefit, dtype=np.int64)
    if b.size == 0:
        return Assignment.from_pairs([])
    cost = np.abs(np.asarray(net_wh, dtype=np.int64))[:, None] - b
    rows, cols = linear_sum_assignment(cost)
    keep = b[rows, cols] > 0
    return Assignment(rows[keep].astype(np.int64), cols[keep].astype(np.int64))


def _top_bids(net: np.ndarray, side: int, count: int) -> np.ndarray:
    """Indices of the `count` largest bids on one side (side * net > 0), largest first, ties by index."""
    candidates = np.flatnonzero(side * net > 0)
    order = np.argsort(-(side * net[candidates]), kind="stable")
    return candidates[order[:count]]


def _sorted_assignment(net: np.ndarray, available: np.ndarray, capacity: np.ndarray) -> Assignment | None:
    """Exact optimum in O(n log n) when the EV bids are comonotone (sorting the EVs by free capacity,
    descending, sorts their available energy ascending: EVs sharing one battery window), else None.

    Exchange arguments show an optimal assignment then gives the surplus prosumers the emptiest EVs
    and the deficit prosumers the fullest, each side paired largest-with-largest (min(x, y) is
    supermodular), so only the split point is left to choose.
    """
    ev_order = np.lexsort((available, -capacity))
    if (np.diff(available[ev_order]) < 0).any():
        return None
    k = len(ev_order)
    sellers = _top_bids(net, 1, k)
    buyers = _top_bids(net, -1, k)
    seller_gain = np.concatenate(([0], np.cumsum(np.minimum(net[sellers], capacity[ev_order[: len(sellers)]]))))
    buyer_evs = ev_order[::-1]
    buyer_gain = np.concatenate(([0], np.cumsum(np.minimum(-net[buyers], available[buyer_evs[: len(buyers)]]))))
    splits = np.arange(len(sellers) + 1)
    totals = seller_gain + buyer_gain[np.minimum(k - splits, len(buyers))]
    x = int(np.argmax(totals))
    y = min(k - x, len(buyers))
    prosumers = np.concatenate((sellers[:x], buyers[:y]))
    evs = np.concatenate((ev_order[:x], buyer_evs[:y]))
    gains = np.concatenate((np.minimum(net[sellers[:x]], capacity[ev_order[:x]]),
                            np.minimum(-net[buyers[:y]], available[buyer_evs[:y]])))  # fmt: skip
    keep = gains > 0
    return Assignment(prosumers[keep].astype(np.int64), evs[keep].astype(np.int64))


def optimal_assignment(
    net_wh: np.ndarray, available_wh: np.ndarray, free_capacity_wh: np.ndarray, *, solver: Solver = "lsa"
) -> Assignment:
    """Maximum-benefit assignment of one period's bids (the paper's Hungarian matcher).

    solver "lsa": scipy's linear_sum_assignment on the benefit matrix, after dropping prosumers that
    cannot be in any optimum (beyond the K largest bids of a side, K = EVs holding that side's
    resource: swapping in a larger unmatched bid never loses). "sorted": the O(n log n) exact method
    for comonotone EV bids (ValueError if they are not). "auto": "sorted" when it applies, else "lsa".
    All three give the same total benefit; tie-breaking differs.
    """
    net = np.asarray(net_wh, dtype=np.int64)
    available = np.asarray(available_wh, dtype=np.int64)
    capacity = np.asarray(free_capacity_wh, dtype=np.int64)
    if solver not in ("lsa", "sorted", "auto"):
        raise ValueError(f"unknown solver {solver!r}")
    if solver != "lsa":
        fast = _sorted_assignment(net, available, capacity)
        if fast is not None:
            return fast
        if solver == "sorted":
            raise ValueError("EV bids are not comonotone; the sorted solver does not apply")
    rows = np.sort(np.concatenate((_top_bids(net, 1, int((capacity > 0).sum())),
                                   _top_bids(net, -1, int((available > 0).sum())))))  # fmt: skip
    reduced = hungarian(benefit_matrix(net[rows], available, capacity))
    return Assignment(rows[reduced.prosumers], reduced.evs)


def dual_certificate(benefit: np.ndarray, assignment: Assignment) -> tuple[np.ndarray, np.ndarray]:
    """Integer potentials (u per prosumer, v per EV; int64, >= 0) proving `assignment` optimal:
    u_i + v_j >= b_ij for all pairs, u_i + v_j = b_ij on matched pairs, 0 on unmatched agents, hence
    sum(u) + sum(v) = the assignment's benefit. Raises NotOptimalError if no such potentials exist.

    The conditions are difference constraints (with w_j = -v_j: w_j <= u_i - b_ij for every pair,
    u_i <= w_j + b_ij on matched pairs, and a zero node pinning unmatched agents and the signs), i.e.
    shortest paths in the assignment's residual graph, which has no negative cycle exactly when the
    assignment is optimal. Bellman-Ford over alternating paths, one vectorised O(n k) round per edge
    of path length; integer data give integer potentials.
    """
    b = np.asarray(benefit, dtype=np.int64)
    n, k = b.shape
    reason = _pair_violation(b, assignment)
    if reason is not None:
        raise ValueError(reason)
    matched_p, matched_e = assignment.prosumers, assignment.evs
    unreached = np.iinfo(np.int64).max // 4
    d_prosumer = np.full(n, unreached, dtype=np.int64)
    d_prosumer[np.setdiff1d(np.arange(n), matched_p)] = 0
    d_ev = np.zeros(k, dtype=np.int64)
    pair_benefit = b[matched_p, matched_e]
    for _ in range(len(assignment) + 2):
        d_prosumer[matched_p] = np.minimum(d_prosumer[matched_p], d_ev[matched_e] + pair_benefit)
        relaxed = np.minimum(d_ev, (d_prosumer[:, None] - b).min(axis=0)) if n else d_ev
        if np.array_equal(relaxed, d_ev):
            break
        d_ev = relaxed
    else:
        raise NotOptimalError("a negative cycle in the residual graph: a better assignment exists")
    unmatched_e = np.setdiff1d(np.arange(k), matched_e)
    if (d_prosumer < 0).any() or (d_ev[unmatched_e] < 0).any():
        raise NotOptimalError("an augmenting path with positive gain exists: a better assignment exists")
    return d_prosumer, -d_ev


def _pair_violation(b: np.ndarray, assignment: Assignment) -> str | None:
    n, k = b.shape
    prosumers, evs = np.asarray(assignment.prosumers), np.asarray(assignment.evs)
    if prosumers.shape != evs.shape or prosumers.ndim != 1:
        return "PairArraysMismatch: prosumer and EV index arrays differ in shape"
    pairs = list(zip(prosumers.tolist(), evs.tolist()))
    for i, j in pairs:
        if not (0 <= i < n and 0 <= j < k):
            return f"UnknownBid: pair ({i}, {j}) names a bid outside {n} prosumer and {k} EV bids"
    for name, indices in (("Prosumer", prosumers.tolist()), ("EV", evs.tolist())):
        seen: set[int] = set()
        for index in indices:
            if index in seen:
                return f"{name}MatchedTwice: bid {index} appears in more than one pair"
            seen.add(index)
    for i, j in pairs:
        if b[i, j] <= 0:
            return f"ZeroBenefitPair: pair ({i}, {j}) moves no energy"
    return None


def verify_certificate(benefit: np.ndarray, assignment: Assignment, u: np.ndarray, v: np.ndarray) -> str | None:
    """None if (`u`, `v`) proves `assignment` a maximum-benefit one-to-one assignment of `benefit`,
    else the first broken rule, named as the matching contract's custom error ("Name: detail").

    Checked, in order: the pair arrays line up; every pair names existing bids (membership); no bid is
    in two pairs (one-to-one); every pair moves energy; one potential per bid, each a non-negative
    integer; u_i + v_j >= b_ij for every (i, j) (dual feasibility); sum(u) + sum(v) equals the pairs'
    benefit (no duality gap).
    """
    b = np.asarray(benefit, dtype=np.int64)
    reason = _pair_violation(b, assignment)
    if reason is not None:
        return reason
    n, k = b.shape
    u_arr, v_arr = np.asarray(u), np.asarray(v)
    if u_arr.shape != (n,) or v_arr.shape != (k,):
        return f"PotentialCountMismatch: need {n} prosumer and {k} EV potentials, got {u_arr.shape} and {v_arr.shape}"
    for name, values in (("u", u_arr), ("v", v_arr)):
        if values.size and (values.dtype.kind not in "iu" or (values < 0).any()):
            return f"InvalidPotential: {name} must hold integers >= 0"
    slack = u_arr.astype(np.int64)[:, None] + v_arr.astype(np.int64)[None, :] - b
    if (slack < 0).any():
        i, j = np.argwhere(slack < 0)[0]
        return f"DualInfeasible: u[{i}] + v[{j}] = {b[i, j] + slack[i, j]} < b[{i}, {j}] = {b[i, j]}"
    bound = int(u_arr.sum()) + int(v_arr.sum())
    achieved = assignment.benefit_wh(b) if len(assignment) else 0
    if bound != achieved:
        return f"DualGap: sum of potentials {bound} != assignment benefit {achieved}"
    return None


class CertificateError(RuntimeError):
    """A certified assignment failed its own check: the matching contract would reject it."""


@dataclass(frozen=True)
class CertifiedAssignment:
    """A maximum-benefit assignment with the dual certificate that proves it (potentials in Wh)."""

    assignment: Assignment
    u: np.ndarray
    v: np.ndarray


def certified_assignment(benefit: np.ndarray) -> CertifiedAssignment:
    """The maximum-benefit assignment of `benefit` (:func:`hungarian`) and its LP dual certificate
    (:func:`dual_certificate`), checked with :func:`verify_certificate` exactly as the matching contract
    checks it. Raises CertificateError if the check fails, so nothing is sent that the contract rejects."""
    assignment = hungarian(benefit)
    u, v = dual_certificate(benefit, assignment)
    reason = verify_certificate(benefit, assignment, u, v)
    if reason is not None:
        raise CertificateError(f"own certificate rejected: {reason}")
    return CertifiedAssignment(assignment, u, v)
