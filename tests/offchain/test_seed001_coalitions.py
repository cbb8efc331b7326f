"""Coalition LP, pairing and merge-and-split (seed 001, eqs 3.5-3.15, Algorithm 3)."""

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
CONFIG = CoalitionConfig(loss=LossModel(coefficient_per_km=C))


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
    equality balances; minimises the accounted coalition loss (each party charged s x trade loss)."""
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
            ok = s * dij < d[i] and s * dij < d[j] if config.trade_rule == "both_gain" else 2 * s * dij < d[i] + d[j]
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


def test_star_coalition_serves_the_best_buyer_first():
    # seller 10 km from the EDC; buyer 1 is 1 km away, buyer 2 is 2 km away
    m = market([[0, 10], [1, 10], [2, 10]], [5, -3, -4])
    plan = CoalitionSolver(m, CONFIG).plan([0, 1, 2])
    assert sorted(plan.trades) == [(0, 1, pytest.approx(3.0)), (0, 2, pytest.approx(2.0))]
    # seller: 3 kWh saves 10-1 km, 2 kWh save 10-2 km; buyers save their own distance minus the trade's
    assert plan.savings_kwh == pytest.approx([C * (3 * 9 + 2 * 8), C * 3 * 8, C * 2 * 6])


def test_lp_picks_the_cheaper_seller_and_sends_the_rest_to_the_centre():
    # sellers 8 and 10 km out, one buyer 9 km out between them, a far buyer nobody may serve
    m = market([[2, 10], [0, 10], [1, 10], [10, 18]], [3, 3, -4, -5])
    solver = CoalitionSolver(m, CONFIG)
    plan = solver.plan([0, 1, 2, 3])
    assert solver.lp_solves == 1
    assert sorted(plan.trades) == [(0, 2, pytest.approx(1.0)), (1, 2, pytest.approx(3.0))]
    assert plan.saving_of() == pytest.approx({0: C * 1 * 7, 1: C * 3 * 9, 2: C * 4 * 8, 3: 0.0})
    # formation is path dependent: pairing takes the tie (both 1 km) by the lower seller index, so
    # prosumer 0 sells its 3 kWh to 2 first; the grand LP would cut 0 back to 1 kWh, which the Pareto
    # order refuses, so 1 stays alone and exports everything
    result = form_coalitions(m, CONFIG)
    assert result.partition == [(0, 2), (1,), (3,)]
    residual = result.residual.set_index(["prosumer", "direction"])["energy_kwh"]
    assert residual.to_dict() == pytest.approx({(1, "export"): 3.0, (2, "import"): 1.0, (3, "import"): 5.0})
    # with floors at the current savings the merge keeps 0's 3 kWh and lets 1 fill the last kWh
    floored = form_coalitions(m, CoalitionConfig(loss=CONFIG.loss, merge_plan="pareto_floor"))
    assert floored.partition == [(0, 1, 2), (3,)]
    tol = CONFIG.tolerance_kwh  # the floors are loosened by half of it against float noise
    assert floored.savings_kwh == pytest.approx([C * 3 * 7, C * 1 * 9, C * 4 * 8, 0.0], abs=tol)
    assert np.all(floored.savings_kwh >= result.savings_kwh - tol)


def test_trade_rule_keeps_a_seller_from_losing_and_pareto_keeps_the_bare_lp_out():
    # seller 3 km from the EDC, buyer 8 km out, 5 km apart: the trade saves the pair 3 + 8 - 2 x 5 = 1 km
    # per kWh in total, but the seller's own loss grows (5 km > 3 km)
    m = market([[10, 13], [10, 18]], [4, -4])
    assert CoalitionSolver(m, CONFIG).plan([0, 1]).trades == ()
    bare = CoalitionConfig(loss=CONFIG.loss, trade_rule="coalition_optimum")
    plan = CoalitionSolver(m, bare).plan([0, 1])
    assert plan.trades == ((0, 1, pytest.approx(4.0)),)
    assert plan.savings_kwh == pytest.approx([C * 4 * (3 - 5), C * 4 * (8 - 5)])
    # the bare LP would hurt the seller, so the Pareto order never forms that coalition
    result = form_coalitions(m, bare)
    assert result.partition == [(0,), (1,)]
    assert np.all(result.member_scores >= result.singleton_scores)


@pytest.mark.parametrize("rule", ["both_gain", "coalition_optimum"])
@pytest.mark.parametrize("charge", [1.0, 0.5])
def test_solver_matches_the_independent_transportation_lp(rule, charge):
    config = CoalitionConfig(loss=CONFIG.loss, trade_rule=rule, intra_loss_charge=charge)
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


def test_pairing_terminates_nearest_first_and_uses_everyone_at_most_once():
    m = Market.from_frame(scaling_instance(60, "normal", 3))
    pairs = [c for c in initial_pairing(m, CONFIG) if len(c) == 2]
    sellers, buyers, dists = candidate_edges(m, CONFIG)
    assert pairs, "this instance has eligible pairs"
    members = [i for c in initial_pairing(m, CONFIG) for i in c]
    assert sorted(members) == list(range(m.n))
    nearest = (int(sellers[0]), int(buyers[0]))
    assert tuple(sorted(nearest)) in pairs
    d = m.distance_to_centre_km
    for a, b in pairs:
        seller, buyer = (a, b) if m.is_seller[a] else (b, a)
        dij = np.hypot(*(m.xy_km[seller] - m.xy_km[buyer]))
        assert m.is_seller[seller] and not m.is_seller[buyer]
        assert dij < d[seller] and dij < d[buyer]  # Alg. 3 line 11


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


def test_market_metrics_identities():
    m = Market.from_frame(scaling_instance(30, "normal", 4))
    result = form_coalitions(m, CONFIG)
    metrics = market_metrics(result, m, CONFIG)
    intra_loss = result.trades["loss_kwh"].sum()
    # eq. 3.7 charges every intra trade's loss to both parties: the accounts exceed the lines by it
    assert metrics.loss_accounted_kwh - metrics.loss_physical_kwh == pytest.approx(intra_loss)
    assert metrics.loss_alone_kwh - metrics.loss_accounted_kwh == pytest.approx(result.savings_kwh.sum())
    assert 0 < metrics.saving_accounted < metrics.saving_physical < 1
    assert metrics.local_kwh + metrics.exported_kwh == pytest.approx(metrics.surplus_kwh)
    assert metrics.local_kwh + metrics.imported_kwh == pytest.approx(metrics.deficit_kwh)
    assert metrics.local_share_of_balances == pytest.approx(
        2 * metrics.local_kwh / (metrics.surplus_kwh + metrics.deficit_kwh)
    )


def test_bad_config_and_market_are_rejected():
    with pytest.raises(ValueError):
        CoalitionConfig(intra_loss_charge=0)
    with pytest.raises(ValueError):
        CoalitionConfig(trade_rule="anything")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Market(np.zeros((2, 2)), np.ones(3), np.ones(3))
    with pytest.raises(ValueError):
        Market(np.zeros((1, 2)), np.array([-1.0]), np.array([0.0]))
