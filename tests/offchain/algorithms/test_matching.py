"""Seed-000 matching: benefit matrix, greedy FIFO, Hungarian optimality and the LP dual certificate."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.algorithms.matching import (
    Assignment,
    NotOptimalError,
    benefit_matrix,
    dual_certificate,
    greedy_fifo,
    hungarian,
    optimal_assignment,
    paper_cost_assignment,
    verify_certificate,
)

WINDOW_WH = 8_350


def brute_force_best(benefit: np.ndarray) -> int:
    """Largest total benefit over every one-to-one partial assignment."""
    n, k = benefit.shape
    best = 0
    for size in range(min(n, k) + 1):
        for rows in itertools.combinations(range(n), size):
            for cols in itertools.permutations(range(k), size):
                best = max(best, sum(int(benefit[r, c]) for r, c in zip(rows, cols)))
    return best


@st.composite
def bids(draw, max_prosumers: int = 4, max_evs: int = 4, shared_window: bool | None = None):
    """(net_wh, available_wh, free_capacity_wh): small random bids, EVs either sharing one battery
    window (available + capacity = window) or arbitrary."""
    n = draw(st.integers(0, max_prosumers))
    k = draw(st.integers(0, max_evs))
    net = np.array(draw(st.lists(st.integers(-12_000, 12_000), min_size=n, max_size=n)), dtype=np.int64)
    same_window = draw(st.booleans()) if shared_window is None else shared_window
    if same_window:
        available = np.array(draw(st.lists(st.integers(0, WINDOW_WH), min_size=k, max_size=k)), dtype=np.int64)
        capacity = WINDOW_WH - available
    else:
        available = np.array(draw(st.lists(st.integers(0, 9_000), min_size=k, max_size=k)), dtype=np.int64)
        capacity = np.array(draw(st.lists(st.integers(0, 9_000), min_size=k, max_size=k)), dtype=np.int64)
    return net, available, capacity


def test_benefit_uses_capacity_for_surplus_and_available_energy_for_deficit():
    net = np.array([5_000, -3_000, 0, -9_000])
    available = np.array([1_000, 8_000, 0])
    capacity = np.array([7_350, 350, 2_000])
    b = benefit_matrix(net, available, capacity)
    assert b.shape == (4, 3)
    assert b[0].tolist() == [5_000, 350, 2_000]  # surplus: min(5000, free capacity)
    assert b[1].tolist() == [1_000, 3_000, 0]  # deficit: min(3000, available energy)
    assert b[2].tolist() == [0, 0, 0]  # nothing to trade
    assert b[3].tolist() == [1_000, 8_000, 0]


def test_benefit_rejects_negative_ev_bids():
    with pytest.raises(ValueError):
        benefit_matrix(np.array([1]), np.array([-1]), np.array([0]))


@settings(max_examples=100, deadline=None)
@given(bids())
def test_hungarian_is_optimal_certified_and_never_below_greedy(case):
    net, available, capacity = case
    b = benefit_matrix(net, available, capacity)
    best = brute_force_best(b)
    assignment = hungarian(b)
    assert assignment.benefit_wh(b) == best
    assert all(b[i, j] > 0 for i, j in assignment.pairs())
    u, v = dual_certificate(b, assignment)
    assert verify_certificate(b, assignment, u, v) is None
    assert u.dtype.kind == v.dtype.kind == "i"
    assert greedy_fifo(net, available, capacity).benefit_wh(b) <= best


@settings(max_examples=100, deadline=None)
@given(bids())
def test_every_solver_reaches_the_optimum(case):
    net, available, capacity = case
    b = benefit_matrix(net, available, capacity)
    best = brute_force_best(b)
    for solver in ("lsa", "auto"):
        assignment = optimal_assignment(net, available, capacity, solver=solver)
        assert assignment.benefit_wh(b) == best, solver
        assert verify_certificate(b, assignment, *dual_certificate(b, assignment)) is None


@settings(max_examples=60, deadline=None)
@given(bids(max_prosumers=6, max_evs=5, shared_window=True))
def test_sorted_solver_is_exact_for_evs_sharing_one_window(case):
    net, available, capacity = case
    b = benefit_matrix(net, available, capacity)
    assert optimal_assignment(net, available, capacity, solver="sorted").benefit_wh(b) == hungarian(b).benefit_wh(b)


def test_sorted_solver_refuses_evs_that_are_not_comonotone():
    # EV 0 has both more capacity and more energy than EV 1: no single order sorts both ways.
    with pytest.raises(ValueError, match="comonotone"):
        optimal_assignment(np.array([100, -100]), np.array([500, 100]), np.array([500, 100]), solver="sorted")


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (0, 3), (3, 0), (2, 7), (7, 2)])
def test_rectangular_shapes(shape):
    rng = np.random.default_rng(sum(shape))
    n, k = shape
    net = rng.integers(-9_000, 9_000, n)
    available = rng.integers(0, WINDOW_WH, k)
    capacity = WINDOW_WH - available
    b = benefit_matrix(net, available, capacity)
    assignment = hungarian(b)
    assert len(assignment) <= min(n, k)
    assert assignment.benefit_wh(b) == brute_force_best(b)
    u, v = dual_certificate(b, assignment)
    assert (len(u), len(v)) == (n, k)
    assert verify_certificate(b, assignment, u, v) is None


def test_zero_benefit_pairs_are_not_matches():
    # Two surplus prosumers, one EV that is full: nothing can move, so nothing is matched.
    b = benefit_matrix(np.array([4_000, 2_000]), np.array([WINDOW_WH]), np.array([0]))
    assert len(hungarian(b)) == 0
    u, v = dual_certificate(b, hungarian(b))
    assert u.sum() + v.sum() == 0


def test_greedy_takes_bids_in_arrival_order_and_skips_evs_without_the_resource():
    net = np.array([3_000, -2_000, 0, 5_000])
    available = np.array([0, 6_000, 1_000])
    capacity = np.array([8_000, 2_350, 0])
    # Arrival: prosumer 3, 2 (zero bid, skipped), 1, 0; EVs 2, 0, 1.
    order = greedy_fifo(net, available, capacity, prosumer_order=np.array([3, 2, 1, 0]), ev_order=np.array([2, 0, 1]))
    # 3 (surplus) skips EV 2 (no capacity) and takes EV 0; 1 (deficit) takes EV 2 (first with energy);
    # 0 (surplus) takes EV 1, the only one left.
    assert order.pairs() == [(3, 0), (1, 2), (0, 1)]
    blind = greedy_fifo(
        net, available, capacity, prosumer_order=np.array([3, 2, 1, 0]), ev_order=np.array([2, 0, 1]),
        require_resource=False,
    )  # fmt: skip
    assert blind.pairs() == [(3, 2), (1, 0), (0, 1)]


def test_greedy_matches_each_agent_at_most_once():
    rng = np.random.default_rng(7)
    net = rng.integers(-5_000, 5_000, 40)
    available = rng.integers(0, WINDOW_WH, 15)
    assignment = greedy_fifo(net, available, WINDOW_WH - available)
    assert len(set(assignment.prosumers.tolist())) == len(assignment)
    assert len(set(assignment.evs.tolist())) == len(assignment) == 15


def test_greedy_rejects_an_order_that_is_not_a_permutation():
    with pytest.raises(ValueError, match="permutation"):
        greedy_fifo(np.array([1, 2]), np.array([1]), np.array([1]), prosumer_order=np.array([0, 0]))


def greedy_trap():
    """Greedy gives the one EV to the small first bid; the optimum serves the large one."""
    net = np.array([-1_000, -8_000])
    available = np.array([WINDOW_WH])
    capacity = np.array([0])
    return net, available, capacity, benefit_matrix(net, available, capacity)


def test_certificate_cannot_be_built_for_a_suboptimal_assignment():
    net, available, capacity, b = greedy_trap()
    greedy = greedy_fifo(net, available, capacity)
    assert greedy.pairs() == [(0, 0)]
    with pytest.raises(NotOptimalError):
        dual_certificate(b, greedy)


def test_suboptimal_assignment_with_the_optimums_certificate_is_rejected():
    net, available, capacity, b = greedy_trap()
    u, v = dual_certificate(b, hungarian(b))
    assert verify_certificate(b, hungarian(b), u, v) is None
    reason = verify_certificate(b, Assignment.from_pairs([(0, 0)]), u, v)
    assert reason is not None and reason.startswith("DualGap")


@pytest.fixture
def certified():
    rng = np.random.default_rng(11)
    net = rng.integers(-9_000, 9_000, 6)
    net[5] = 0  # a prosumer with nothing to trade: a row of zero benefit
    available = rng.integers(0, WINDOW_WH, 4)
    b = benefit_matrix(net, available, WINDOW_WH - available)
    assignment = hungarian(b)
    u, v = dual_certificate(b, assignment)
    assert len(assignment) >= 2 and u.sum() > 0
    return b, assignment, u, v


@pytest.mark.parametrize(
    "tamper, error",
    [
        (lambda u, v: (u - (u > 0) * 1, v), ("DualInfeasible", "DualGap")),
        (lambda u, v: (u + 1, v), ("DualGap",)),
        (lambda u, v: (u, v + np.eye(len(v), dtype=np.int64)[0]), ("DualGap",)),
        (lambda u, v: (u[:-1], v), ("PotentialCountMismatch",)),
        (lambda u, v: (u, np.append(v, 0)), ("PotentialCountMismatch",)),
        (lambda u, v: (u - 10**9, v + 10**9), ("InvalidPotential",)),
        (lambda u, v: (u.astype(float), v), ("InvalidPotential",)),
    ],
)
def test_tampered_certificate_is_rejected(certified, tamper, error):
    b, assignment, u, v = certified
    bad_u, bad_v = tamper(u.copy(), v.copy())
    reason = verify_certificate(b, assignment, bad_u, bad_v)
    assert reason is not None and reason.split(":")[0] in error


def test_shifting_potentials_between_sides_keeps_a_certificate_valid_only_when_feasible(certified):
    b, assignment, u, v = certified
    i, j = assignment.pairs()[0]
    shifted_u, shifted_v = u.copy(), v.copy()
    shifted_u[i] += 1
    shifted_v[j] -= 1
    reason = verify_certificate(b, assignment, shifted_u, shifted_v)
    # Same sum; valid exactly when no pair constraint on EV j breaks and v_j stays >= 0.
    feasible = (shifted_v >= 0).all() and (shifted_u[:, None] + shifted_v[None, :] >= b).all()
    assert (reason is None) == bool(feasible)


@pytest.mark.parametrize(
    "pairs, error",
    [
        ("duplicate_prosumer", "ProsumerMatchedTwice"),
        ("duplicate_ev", "EVMatchedTwice"),
        ("unknown_prosumer", "UnknownBid"),
        ("unknown_ev", "UnknownBid"),
        ("zero_pair", "ZeroBenefitPair"),
    ],
)
def test_tampered_assignment_is_rejected(certified, pairs, error):
    b, assignment, u, v = certified
    (i0, j0), (i1, j1) = assignment.pairs()[:2]
    n, k = b.shape
    zero = np.argwhere(b == 0)  # includes the fixture's zero row
    tampered = {
        "duplicate_prosumer": [(i0, j0), (i0, j1)],
        "duplicate_ev": [(i0, j0), (i1, j0)],
        "unknown_prosumer": [(n, j0)],
        "unknown_ev": [(i0, k)],
        "zero_pair": [tuple(zero[0])],
    }[pairs]
    reason = verify_certificate(b, Assignment.from_pairs(tampered), u, v)
    assert reason is not None and reason.startswith(error)


def test_paper_cost_form_prefers_small_bids():
    # One EV with room for 8,350 Wh, two surplus prosumers: the printed cost (unserved energy) is 0 for
    # the small bid and 650 for the large one, so it picks the small one; the benefit form the large.
    net = np.array([9_000, 1_000])
    b = benefit_matrix(net, np.array([0]), np.array([WINDOW_WH]))
    assert paper_cost_assignment(b, net).pairs() == [(1, 0)]
    assert hungarian(b).pairs() == [(0, 0)]
