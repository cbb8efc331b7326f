"""Coalition LP, pairing and merge-and-split (seed 001, eqs 3.5-3.15, Algorithm 3)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog

from offchain.algorithms.coalitions import (
    CoalitionConfig,
    CoalitionSolver,
    Market,
    candidate_edges,
    chain_view,
    form_coalitions,
    initial_pairing,
    market_metrics,
    pareto_improves,
    stability_violations,
)
from offchain.algorithms.poeg import LossModel
from offchain.data.seed001 import scaling_instance, ten_prosumer_instance

C = 0.004  # loss per km used in the hand-checked cases
CONFIG = CoalitionConfig(loss=LossModel(coefficient_per_km=C))  # default: s = 0.5, shared by EDC distance
EQUAL = replace(CONFIG, intra_loss_division="equal")  # physical loss shared equally
LITERAL = replace(EQUAL, intra_loss_charge=1.0)  # eq. 3.7 read literally: both parties charged in full


def market(points, balances, centre=(10.0, 10.0)) -> Market:
    balances = np.asarray(balances, float)
    return Market(
        xy_km=np.asarray(points, float),
        production_kwh=np.maximum(balances, 0.0),
        consumption_kwh=np.maximum(-balances, 0.0),
        centre_km=centre,
    )


def reference_saving(m: Market, members, config: CoalitionConfig) -> float:
    """The spec §3.5 transportation LP written out independently: variables X_ij, E_id, E_dj with
    equality balances; minimises the accounted coalition loss (the parties charged 2s x trade loss)."""
    sellers = [i for i in members if m.balance_kwh[i] > 0]
    buyers = [j for j in members if m.balance_kwh[j] < 0]
    if not sellers or not buyers:
        return 0.0
    d = m.distance_to_centre_km
    s = config.intra_loss_charge
    pairs, cost = [], []
    for i in sellers:
        for j in buyers:
            dij = float(np.hypot(*(m.xy_km[i] - m.xy_km[j])))
            if config.intra_loss_division == "equal":
                seller_part, buyer_part = s * dij, s * dij
            else:
                seller_part, buyer_part = (2 * s * dij * d[k] / (d[i] + d[j]) for k in (i, j))
            both_gain = seller_part < d[i] and buyer_part < d[j]
            ok = both_gain if config.trade_rule == "both_gain" else 2 * s * dij < d[i] + d[j]
            if ok:
                pairs.append((i, j))
                cost.append(2 * s * dij)
    n_x = len(pairs)
    cost += [d[i] for i in sellers] + [d[j] for j in buyers]
    a_eq, b_eq = [], []
    for k, i in enumerate(sellers):
        row = [1.0 if p[0] == i else 0.0 for p in pairs] + [0.0] * (len(sellers) + len(buyers))
        row[n_x + k] = 1.0
        a_eq.append(row)
        b_eq.append(m.balance_kwh[i])
    for k, j in enumerate(buyers):
        row = [1.0 if p[1] == j else 0.0 for p in pairs] + [0.0] * (len(sellers) + len(buyers))
        row[n_x + len(sellers) + k] = 1.0
        a_eq.append(row)
        b_eq.append(-m.balance_kwh[j])
    res = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert res.status == 0
    alone = sum(d[i] * abs(m.balance_kwh[i]) for i in sellers + buyers)
    return config.loss.coefficient_per_km * (alone - res.fun)


@pytest.mark.parametrize("s", [0.5, 1.0])
def test_star_coalition_serves_the_best_buyer_first(s):
    # seller 10 km from the EDC; buyer 1 (9 km out) is 1 km away, buyer 2 (8 km out) is 2 km away
    m = market([[0, 10], [1, 10], [2, 10]], [5, -3, -4])
    plan = CoalitionSolver(m, replace(EQUAL, intra_loss_charge=s)).plan([0, 1, 2])
    assert sorted(plan.trades) == [(0, 1, pytest.approx(3.0)), (0, 2, pytest.approx(2.0))]
    # each party saves its own EDC distance minus its share s of the trade's distance, per kWh
    assert plan.savings_kwh == pytest.approx(
        [C * (3 * (10 - s * 1) + 2 * (10 - s * 2)), C * 3 * (9 - s * 1), C * 2 * (8 - s * 2)]
    )


def test_lp_picks_the_cheaper_seller_and_sends_the_rest_to_the_centre():
    # sellers 8 and 10 km out, one buyer 9 km out between them, a far buyer nobody may serve
    m = market([[2, 10], [0, 10], [1, 10], [10, 18]], [3, 3, -4, -5])
    solver = CoalitionSolver(m, LITERAL)  # with s = 0.5 seller 0 could also serve the far buyer
    plan = solver.plan([0, 1, 2, 3])
    assert solver.lp_solves == 1
    assert sorted(plan.trades) == [(0, 2, pytest.approx(1.0)), (1, 2, pytest.approx(3.0))]
    assert plan.saving_of() == pytest.approx({0: C * 1 * 7, 1: C * 3 * 9, 2: C * 4 * 8, 3: 0.0})
    # formation is path dependent: pairing takes the tie (both 1 km) by the lower seller index, so
    # prosumer 0 sells its 3 kWh to 2 first; the grand LP would cut 0 back to 1 kWh, which the Pareto
    # order refuses, so 1 stays alone and exports everything
    result = form_coalitions(m, LITERAL)
    assert result.partition == [(0, 2), (1,), (3,)]
    residual = result.residual.set_index(["prosumer", "direction"])["energy_kwh"]
    assert residual.to_dict() == pytest.approx({(1, "export"): 3.0, (2, "import"): 1.0, (3, "import"): 5.0})
    # with floors at the current savings the merge keeps 0's 3 kWh and lets 1 fill the last kWh
    floored = form_coalitions(m, replace(LITERAL, merge_plan="pareto_floor"))
    assert floored.partition == [(0, 1, 2), (3,)]
    tol = LITERAL.tolerance_kwh  # float noise allowed by the Pareto order
    assert floored.savings_kwh == pytest.approx([C * 3 * 7, C * 1 * 9, C * 4 * 8, 0.0], abs=tol)
    assert np.all(floored.savings_kwh >= result.savings_kwh - tol)


def test_trade_rule_keeps_a_seller_from_losing_and_pareto_keeps_the_bare_lp_out():
    # eq. 3.7 literal (s = 1): seller 3 km from the EDC, buyer 8 km out, 5 km apart: the accounts see
    # 3 + 8 - 2 x 5 = 1 km per kWh saved in total, but the seller's own loss grows (5 km > 3 km)
    m = market([[10, 13], [10, 18]], [4, -4])
    assert CoalitionSolver(m, LITERAL).plan([0, 1]).trades == ()
    bare = replace(LITERAL, trade_rule="coalition_optimum")
    plan = CoalitionSolver(m, bare).plan([0, 1])
    assert plan.trades == ((0, 1, pytest.approx(4.0)),)
    assert plan.savings_kwh == pytest.approx([C * 4 * (3 - 5), C * 4 * (8 - 5)])
    # the bare LP would hurt the seller, so the Pareto order never forms that coalition
    result = form_coalitions(m, bare)
    assert result.partition == [(0,), (1,)]
    assert np.all(result.member_scores >= result.singleton_scores)


def test_equal_split_trades_what_the_lines_save_and_accounts_match_the_lines():
    # the case above: the lines lose 5 km x 4 kWh instead of (3 + 8) km x 4 kWh. Split in half, the
    # seller's share (2.5 km) is below its 3 km to the EDC, so the trade goes through and both gain
    m = market([[10, 13], [10, 18]], [4, -4])
    plan = CoalitionSolver(m, EQUAL).plan([0, 1])
    assert plan.trades == ((0, 1, pytest.approx(4.0)),)
    assert plan.savings_kwh == pytest.approx([C * 4 * (3 - 2.5), C * 4 * (8 - 2.5)])
    result = form_coalitions(m, EQUAL)
    assert result.partition == [(0, 1)]
    metrics = market_metrics(result, m, EQUAL)
    assert metrics.loss_physical_kwh == pytest.approx(C * 5 * 4)
    assert metrics.loss_accounted_kwh == pytest.approx(metrics.loss_physical_kwh)
    assert metrics.saving_accounted == pytest.approx(1 - 5 / 11)


def test_division_by_edc_distance_lets_a_seller_next_to_the_centre_trade():
    # seller 1 km from the EDC, buyer 8 km out, sqrt(65) ~ 8.06 km apart: the lines lose 8.06 km x 4 kWh
    # instead of 9 km x 4 kWh. Shared equally the seller's part (4.03 km) exceeds its 1 km to the EDC, so
    # the trade is barred; shared by EDC distance both parties save 1 - 8.06 / 9 of their stand-alone loss
    m = market([[10, 11], [18, 10]], [4, -4])
    d_ij = np.sqrt(65)
    assert CoalitionSolver(m, EQUAL).plan([0, 1]).trades == ()
    assert form_coalitions(m, EQUAL).partition == [(0,), (1,)]
    plan = CoalitionSolver(m, CONFIG).plan([0, 1])
    assert plan.trades == ((0, 1, pytest.approx(4.0)),)
    saved = 1 - d_ij / 9
    assert plan.savings_kwh == pytest.approx([C * 4 * 1 * saved, C * 4 * 8 * saved])
    result = form_coalitions(m, CONFIG)
    assert result.partition == [(0, 1)]
    metrics = market_metrics(result, m, CONFIG)
    assert metrics.loss_accounted_kwh == pytest.approx(metrics.loss_physical_kwh)
    assert metrics.loss_physical_kwh == pytest.approx(C * d_ij * 4)


def test_division_by_edc_distance_makes_both_gain_the_coalition_optimum():
    bare = replace(CONFIG, trade_rule="coalition_optimum")
    rng = np.random.default_rng(11)
    for trial in range(25):
        n = int(rng.integers(2, 9))
        m = market(rng.uniform(0, 20, (n, 2)), rng.normal(0, 6, n))
        plan, bare_plan = CoalitionSolver(m, CONFIG).plan(range(n)), CoalitionSolver(m, bare).plan(range(n))
        assert plan.total_saving_kwh == pytest.approx(bare_plan.total_saving_kwh, abs=1e-12), trial
        assert min(plan.savings_kwh) >= 0


@pytest.mark.parametrize("rule", ["both_gain", "coalition_optimum"])
@pytest.mark.parametrize("charge", [1.0, 0.5])
@pytest.mark.parametrize("division", ["equal", "proportional"])
def test_solver_matches_the_independent_transportation_lp(rule, charge, division):
    config = replace(CONFIG, trade_rule=rule, intra_loss_charge=charge, intra_loss_division=division)
    rng = np.random.default_rng(7)
    for trial in range(25):
        n = int(rng.integers(2, 8))
        m = market(rng.uniform(0, 20, (n, 2)), rng.normal(0, 6, n))
        solver = CoalitionSolver(m, config)
        plan = solver.plan(range(n))
        assert plan.total_saving_kwh == pytest.approx(reference_saving(m, range(n), config), abs=1e-9), trial
        sent = {i: 0.0 for i in range(n)}
        got = {i: 0.0 for i in range(n)}
        for s, b, x in plan.trades:
            sent[s] += x
            got[b] += x
        assert all(sent[i] <= m.surplus_kwh[i] + 1e-9 and got[i] <= m.deficit_kwh[i] + 1e-9 for i in range(n))
        if rule == "both_gain":
            assert min(plan.savings_kwh) >= 0


def pairs_of(m: Market, config: CoalitionConfig) -> list[tuple[int, int]]:
    """(seller, buyer) of every pair the initial pairing forms."""
    return [(a, b) if m.is_seller[a] else (b, a) for a, b in (c for c in initial_pairing(m, config) if len(c) == 2)]


def test_pairing_terminates_nearest_first_and_uses_everyone_at_most_once():
    m = Market.from_frame(scaling_instance(60, "normal", 3))
    pairs = pairs_of(m, CONFIG)
    assert pairs, "this instance has eligible pairs"
    members = [i for c in initial_pairing(m, CONFIG) for i in c]
    assert sorted(members) == list(range(m.n))
    sellers, buyers, _ = candidate_edges(m, LITERAL)  # the printed test is the s = 1 trade test
    assert (int(sellers[0]), int(buyers[0])) in pairs
    d = m.distance_to_centre_km
    for seller, buyer in pairs:
        dij = np.hypot(*(m.xy_km[seller] - m.xy_km[buyer]))
        assert m.is_seller[seller] and not m.is_seller[buyer]
        assert dij < d[seller] and dij < d[buyer]  # Alg. 3 line 11 as printed, whatever the loss charge
    assert pairs_of(m, LITERAL) == pairs


def test_loss_charge_pairing_admits_pairs_the_printed_test_refuses():
    # seller 3 km from the EDC, buyer 8 km out, 5 km apart: not closer to each other than to the EDC,
    # but with half the trade's loss each (2.5 km < 3 km) both would gain
    m = market([[10, 13], [10, 18]], [4, -4])
    assert pairs_of(m, CONFIG) == []
    assert pairs_of(m, replace(CONFIG, pairing_test="loss_charge")) == [(0, 1)]
    assert pairs_of(m, replace(LITERAL, pairing_test="loss_charge")) == []


def test_pareto_order():
    assert pareto_improves([1, 2, 3], [1, 2, 2.5], 1e-9)
    assert not pareto_improves([1, 2, 3], [1, 2, 3], 1e-9)
    assert not pareto_improves([2, 2, 3], [1, 2.5, 3], 1e-9)


@pytest.mark.parametrize("merge_plan", ["optimal", "pareto_floor"])
@pytest.mark.parametrize("distribution", ["normal", "uniform", "lognormal"])
def test_merge_and_split_ends_in_a_stable_partition(distribution, merge_plan):
    # every pair is a candidate and every merge tried: stability is then exact
    config = CoalitionConfig(neighbours=40, merge_plan=merge_plan, complementary_merges_only=False)
    for seed in range(2):
        m = Market.from_frame(scaling_instance(24, distribution, seed))
        result = form_coalitions(m, config)
        assert result.converged and result.rounds <= config.max_rounds
        assert stability_violations(result, m, config) == []
        assert sorted(i for c in result.partition for i in c) == list(range(m.n))
        # every step of the log is a Pareto move from the singletons: nobody ever loses
        for before, after in zip(result.log, result.log[1:]):
            assert np.all(after.member_scores >= before.member_scores - config.tolerance_kwh)
        assert np.all(result.member_scores >= result.singleton_scores)
        assert result.coalition_scores == pytest.approx([result.member_scores[list(c)].sum() for c in result.partition])


@pytest.mark.parametrize("distribution, n, seed", [("normal", 40, 1), ("uniform", 20, 12), ("lognormal", 30, 14)])
def test_floored_plans_are_feasible_and_cannot_improve_on_themselves(distribution, n, seed):
    # instances whose floors equal some member's largest possible saving (HiGHS calls that infeasible)
    config = CoalitionConfig(merge_plan="pareto_floor", complementary_merges_only=False)
    m = Market.from_frame(scaling_instance(n, distribution, seed))
    result = form_coalitions(m, config)
    assert result.converged and np.all(result.member_scores >= result.singleton_scores)
    solver = CoalitionSolver(m, config)
    for members in result.partition:
        current = [result.savings_kwh[i] for i in members]
        again = solver.plan(members, current)  # the same set, floored at what it saves now
        assert not pareto_improves(again.savings_kwh, current, config.tolerance_kwh)
        assert again.total_saving_kwh <= sum(current) + config.tolerance_kwh
    view = chain_view(result, m)  # floored trades never exceed a balance
    assert min(view.export_wh + view.import_wh) >= 0


def test_round_bound_is_respected_and_reported():
    m = Market.from_frame(scaling_instance(50, "lognormal", 0))
    capped = form_coalitions(m, CoalitionConfig(max_rounds=1))
    assert capped.rounds == 1
    assert capped.converged == (capped.merges == 0 and capped.splits == 0)
    full = form_coalitions(m)
    assert full.converged and full.merges > 0
    assert not capped.converged  # this instance merges in round 1, so one round cannot confirm it


def test_log_has_singletons_pairing_then_rounds_like_table_3_2():
    m = Market.from_frame(ten_prosumer_instance())
    result = form_coalitions(m)
    frame = result.log_frame()
    assert list(frame["step"][:2]) == ["singletons", "pairing"]
    assert len(frame) == 2 + result.rounds
    assert [f"P{i}" for i in range(10)] == [c for c in frame.columns if c.startswith("P") and c != "Partition"]
    assert frame.iloc[0]["Partition"] == str([[i] for i in range(10)])
    # the last round changed nothing: its row repeats the one before (Table 3.2 itr 3 -> 4)
    assert frame.iloc[-1]["Partition"] == frame.iloc[-2]["Partition"]


def test_chain_view_integers_add_up_exactly():
    m = Market.from_frame(scaling_instance(40, "uniform", 2))
    result = form_coalitions(m)
    view = chain_view(result, m)
    for members, total in zip(view.coalitions, view.coalition_scores_base):
        assert total == sum(view.member_scores_base[i] for i in members)
    out = np.zeros(m.n, dtype=object)
    inc = np.zeros(m.n, dtype=object)
    for s, b, wh in view.trades_wh:
        out[s] += wh
        inc[b] += wh
    for i in range(m.n):
        assert out[i] + view.export_wh[i] == view.surplus_wh[i]
        assert inc[i] + view.import_wh[i] == view.deficit_wh[i]
        assert min(view.export_wh[i], view.import_wh[i]) >= 0
    assert min(view.savings_base) >= 0
    assert result.trades["energy_kwh"].sum() > 0


@pytest.mark.parametrize("s", [0.5, 1.0])
@pytest.mark.parametrize("division", ["equal", "proportional"])
def test_market_metrics_identities(s, division):
    config = replace(CONFIG, intra_loss_charge=s, intra_loss_division=division)
    m = Market.from_frame(scaling_instance(30, "normal", 4))
    result = form_coalitions(m, config)
    metrics = market_metrics(result, m, config)
    intra_loss = result.trades["loss_kwh"].sum()
    assert intra_loss > 0
    # the parties are charged 2s x every intra trade's loss: the accounts exceed the lines by (2s - 1) x it
    assert metrics.loss_accounted_kwh - metrics.loss_physical_kwh == pytest.approx((2 * s - 1) * intra_loss)
    assert metrics.loss_alone_kwh - metrics.loss_accounted_kwh == pytest.approx(result.savings_kwh.sum())
    assert 0 < metrics.saving_accounted < 1 and 0 < metrics.saving_physical < 1
    if s == 0.5:  # the physical split: the accounts are the lines
        assert metrics.saving_accounted == pytest.approx(metrics.saving_physical)
    else:
        assert metrics.saving_accounted < metrics.saving_physical
    assert metrics.local_kwh + metrics.exported_kwh == pytest.approx(metrics.surplus_kwh)
    assert metrics.local_kwh + metrics.imported_kwh == pytest.approx(metrics.deficit_kwh)
    assert metrics.local_share_of_balances == pytest.approx(
        2 * metrics.local_kwh / (metrics.surplus_kwh + metrics.deficit_kwh)
    )


def test_bad_config_and_market_are_rejected():
    with pytest.raises(ValueError):
        CoalitionConfig(intra_loss_charge=0)
    with pytest.raises(ValueError):
        CoalitionConfig(intra_loss_division="anything")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CoalitionConfig(trade_rule="anything")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CoalitionConfig(pairing_test="anything")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Market(np.zeros((2, 2)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError):
        Market(np.zeros((1, 2)), np.array([-1.0]), np.array([0.0]))
