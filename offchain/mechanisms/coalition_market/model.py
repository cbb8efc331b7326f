"""Reproduction of seed 001, chapter 3 (Moniruzzaman): PoEG scores, loss-minimising coalitions,
weighted miner draw and the Shapley split of the mining reward, beside the thesis' figures.

`run_slot` is one slot end to end, off chain and in the integers a contract checks: coalitions and
their scores, the commit-reveal seed, the draw (with penalties and redraws), the mining fees, M_r and
its exact integer split, and the Lemma 2 check. `reproduce_coalitions` runs the thesis' experiments:
the 10-prosumer Table 3.2 log, the n = 10..50 scaling runs under three distributions, and miner-draw
frequencies; it writes Markdown/CSV tables and PNG plots. Choices: docs/seed001.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from offchain.algorithms.coalitions import (
    CoalitionConfig,
    Market,
)
from offchain.algorithms.miner_draw import (
    draw,
    keccak256,
)
from offchain.data.seed001 import (
    DISTRIBUTIONS,
    prosumer_addresses,
    scaling_instance,
    ten_prosumer_instance,
)
from offchain.progress import progress_bar
from offchain.scenarios.markdown import frame_table
from offchain.scenarios.report import CalibratedInput, OpenChoice, ReproducedResult, result_frame, three_lists
from offchain.units import EPOS_BASE, base_to_upos

from .plan import SlotOutcome, SlotSettings, demo_seed, run_slot

#: Table 3.2 as printed (itr, partition, coalition PS, P0..P9); the printed rows are inconsistent
#: (spec §6.2 item 3), they are shown as they are.
THESIS_TABLE_3_2 = [
    (1, "[[0], [1], [2], [3], [4], [5], [6], [7], [8], [9]]", "[0, 3.22, 0, 4.12, 0, 0.88, 0, 2.67, 0, 0]",
     (0, 0, 3.22, 0, 0, 4.12, 0, 0.88, 0, 2.67)),
    (2, "[[0, 7], [2, 8], [1], [5], [3, 9], [4], [6]]", "[1.02, 3.35, 0, 4.12, 2.81, 0, 0]",
     (0.01, 0, 3.27, 0.07, 0, 4.12, 0, 0.89, 0.08, 2.74)),
    (3, "[[0, 7, 1], [2, 8, 5, 6], [3, 9], [4]]", "[1.04, 7.79, 2.81, 0]",
     (0.08, 0.07, 3.28, 0.07, 0, 4.22, 0.18, 0.89, 0.11, 2.74)),
    (4, "[[0, 7, 1], [2, 8, 5, 6], [3, 9], [4]]", "[1.07, 7.68, 2.84, 0]",
     (0.08, 0.07, 3.28, 0.07, 0, 4.22, 0.18, 0.89, 0.11, 2.74)),
]
#: Fig. 3.9 (b): loss saving vs acting alone; Fig. 3.9 (a): share traded among prosumers.
THESIS_SAVING = {10: 0.225, 50: 0.38}
THESIS_LOCAL_SHARE = 0.47
TARGET_SAVING_RANGE = (0.15, 0.45)
TARGET_LOCAL_SHARE_RANGE = (0.35, 0.60)
TARGET_MAX_ROUNDS = 5
TARGET_DRAW_DEVIATION = 0.01
#: The range targets, by the column of a run they bound.
RANGE_TARGETS = {"saving_accounted": TARGET_SAVING_RANGE, "local_share_balances": TARGET_LOCAL_SHARE_RANGE}
#: Sequential verdicts on the range targets (docs/seed001.md §12): a cell whose 99 % interval still straddles a
#: bound is run again with the next seeds, doubling its runs, up to this many.
VERDICT_MAX_REPETITIONS = 640
VERDICT_Z = 2.576  #: two-sided 99 % at each look
#: The first variant is checked against the targets; the others are reported beside it.
EQUAL_DIVISION_VARIANT = "physical loss shared equally (s=0.5)"
LITERAL_VARIANT = "eq. 3.7 literal (s=1)"
DEFAULT_VARIANTS: dict[str, CoalitionConfig] = {
    "physical loss by EDC distance (s=0.5)": CoalitionConfig(),
    EQUAL_DIVISION_VARIANT: CoalitionConfig(intra_loss_division="equal"),
    LITERAL_VARIANT: CoalitionConfig(intra_loss_charge=1.0, intra_loss_division="equal"),
}


@dataclass
class CoalitionReproduction:
    table_3_2: pd.DataFrame
    slot10: SlotOutcome
    penalty10: SlotOutcome
    runs: pd.DataFrame
    summary: pd.DataFrame
    draws: pd.DataFrame
    targets: pd.DataFrame
    files: list[Path]
    verdicts: pd.DataFrame  #: decide_range_targets: one row per cell and range target
    verdict_runs: pd.DataFrame  #: the extra runs it made (main variant, repetitions beyond `runs`)
    results: list[ReproducedResult]  #: the reproduced results (`targets` as a frame); only these are counted


def draw_frequencies(weights: Sequence[int], draws: int, label: str = "") -> pd.DataFrame:
    """Observed frequency of each coalition over `draws` draws with seeds keccak256(label, k)."""
    counts = np.zeros(len(weights), dtype=int)
    for k in range(draws):
        counts[draw(keccak256(f"{label}:{k}".encode()), weights)] += 1
    total = sum(weights)
    expected = np.array([w / total for w in weights])
    observed = counts / draws
    return pd.DataFrame(
        {
            "coalition": range(len(weights)),
            "score": [w / EPOS_BASE for w in weights],
            "expected": expected,
            "observed": observed,
            "deviation_pp": 100 * (observed - expected),
        }
    )


def _run_row(variant: str, distribution: str, n: int, rep: int, slot: SlotOutcome) -> dict:
    r, m = slot.coalitions, slot.metrics
    return {
        "variant": variant,
        "distribution": distribution,
        "n": n,
        "rep": rep,
        "sellers": int(slot.market.is_seller.sum()),
        "coalitions": len(r.partition),
        "largest_coalition": max(len(c) for c in r.partition),
        "rounds": r.rounds,
        "merge_passes": r.merge_passes,
        "merges": r.merges,
        "splits": r.splits,
        "converged": r.converged,
        "saving_accounted": m.saving_accounted,
        "saving_physical": m.saving_physical,
        "local_share_balances": m.local_share_of_balances,
        "local_share_surplus": m.local_share_of_surplus,
        "local_share_traded": m.local_share_of_traded,
        "loss_alone_kwh": m.loss_alone_kwh,
        "members_below_singleton": int(np.sum(r.member_scores < r.singleton_scores)),
        "lemma2_violations": len(slot.lemma2),
        "winner_size": len(slot.winning_members),
        "shapley_exact": bool(slot.shapley.exact) if slot.shapley else True,
        "mining_reward_upos": base_to_upos(slot.mining_reward_base),
        "seconds_coalitions": slot.seconds["coalitions"],
        "seconds_slot": slot.seconds["slot"],
    }


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean (and sd) per variant x distribution x n over the repetitions."""
    grouped = runs.groupby(["variant", "distribution", "n"], sort=False)
    summary = grouped.agg(
        runs=("rep", "count"),
        saving_accounted=("saving_accounted", "mean"),
        saving_accounted_sd=("saving_accounted", "std"),
        saving_physical=("saving_physical", "mean"),
        local_share_balances=("local_share_balances", "mean"),
        local_share_balances_sd=("local_share_balances", "std"),
        local_share_surplus=("local_share_surplus", "mean"),
        local_share_traded=("local_share_traded", "mean"),
        coalitions=("coalitions", "mean"),
        largest_coalition=("largest_coalition", "max"),
        rounds_max=("rounds", "max"),
        merge_passes_max=("merge_passes", "max"),
        all_converged=("converged", "all"),
        lemma2_violations=("lemma2_violations", "sum"),
        seconds_coalitions=("seconds_coalitions", "mean"),
    )
    return summary.reset_index()


def saving_trend(runs: pd.DataFrame, column: str = "saving_accounted") -> tuple[float, float]:
    """Least-squares slope of `column` against n over every run, and its standard error (both per
    prosumer). Each cell mean carries a standard error of ~3 pp with 20 repetitions, close to the step
    between neighbouring sizes, so the slope over all runs is what says whether saving rises with n."""
    x, y = runs["n"].to_numpy(float), runs[column].to_numpy(float)
    if len(np.unique(x)) < 2:
        return 0.0, float("inf")
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    dof = max(len(x) - 2, 1)
    return float(slope), float(np.sqrt(residual @ residual / dof / np.sum((x - x.mean()) ** 2)))


@dataclass(frozen=True)
class RangeVerdict:
    """Where a cell's mean lies against a target range, judged by its confidence interval."""

    mean: float
    se: float  #: standard error of the mean (sd / sqrt(runs))
    runs: int
    verdict: str  #: "inside", "outside" or "undecided" (the interval straddles a bound)


def range_verdict(values: Sequence[float], low: float, high: float, z: float = VERDICT_Z) -> RangeVerdict:
    """The verdict on `values` (one per run) against [low, high]: "inside" when mean ± z s.e. lies within the
    range, "outside" when it lies wholly beyond a bound, "undecided" otherwise."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise ValueError("a verdict needs at least one run")
    mean = float(x.mean())
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("inf")
    lo, hi = mean - z * se, mean + z * se
    verdict = "inside" if low <= lo and hi <= high else "outside" if hi < low or lo > high else "undecided"
    return RangeVerdict(mean, se, len(x), verdict)


def decide_range_targets(
    runs: pd.DataFrame,
    variant: str,
    settings: SlotSettings,
    max_repetitions: int = VERDICT_MAX_REPETITIONS,
    advance: Callable[[], None] = lambda: None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sequential verdicts on RANGE_TARGETS for every (distribution, n) cell of `variant`: while a target's
    99 % interval straddles a bound, the cell is run again with the next seeds (repetitions k, k+1, ... as in
    the scaling runs), doubling its runs up to `max_repetitions`. The same rule decides every cell, in either
    direction. Returns (the extra runs, one verdict row per cell and target); `advance` ticks per extra run."""
    extra, verdicts = [], []
    for (dist, n), cell in runs[runs["variant"] == variant].groupby(["distribution", "n"], sort=False):
        rows = cell.sort_values("rep").to_dict("records")
        while True:
            decided = {column: range_verdict([r[column] for r in rows], *bounds) for column, bounds in RANGE_TARGETS.items()}
            if len(rows) >= max_repetitions or all(v.verdict != "undecided" for v in decided.values()):
                break
            for rep in range(len(rows), min(2 * len(rows), max_repetitions)):
                row = scaling_run(variant, settings, dist, n, rep)
                rows.append(row)
                extra.append(row)
                advance()
        verdicts += [{"distribution": dist, "n": n, "target": column, "low": RANGE_TARGETS[column][0],
                      "high": RANGE_TARGETS[column][1], "runs": v.runs, "mean": v.mean, "se": v.se,
                      "verdict": v.verdict} for column, v in decided.items()]
    return pd.DataFrame(extra, columns=runs.columns), pd.DataFrame(verdicts)


def scaling_run(variant: str, settings: SlotSettings, dist: str, n: int, rep: int) -> dict:
    """One scaling run: repetition `rep` of `n` prosumers under `dist`, with `settings` (its coalition config
    is the variant's)."""
    frame = scaling_instance(n, dist, rep)
    market = Market.from_frame(frame, frame.attrs["centre_km"])
    addresses = prosumer_addresses(n, rep)
    seed = demo_seed(addresses, f"seed001-{dist}-{n}-{rep}", settings.combine)
    return _run_row(variant, dist, n, rep, run_slot(market, addresses, seed, settings))


def _verdict_text(cells: pd.DataFrame, repetitions: int) -> str:
    """What the sequential verdicts of one target and distribution say: how many cells lie inside, and every
    cell that needed more runs than the first `repetitions`."""
    counts = cells["verdict"].value_counts()
    parts = [f"99% verdict: {counts.get('inside', 0)}/{len(cells)} cells inside"]
    parts += [f"{counts[v]} {v}" for v in ("outside", "undecided") if counts.get(v, 0)]
    longer = cells[cells["runs"] > repetitions]
    if len(longer):
        parts.append("decided after more runs: " + ", ".join(
            f"n={r.n} {100 * r.mean:.1f}% ± {100 * r.se:.1f} ({r.runs} runs, {r.verdict})" for r in longer.itertuples()))
    return "; ".join(parts)


def _cell_range(cells: pd.DataFrame, column: str) -> str:
    """The lowest and the highest cell mean of `column` (a fraction), each with its n and the standard error
    of the mean (sd / sqrt(runs)), so a cell just outside a target range can be told from one far outside."""
    def cell(row: pd.Series) -> str:
        se = row[f"{column}_sd"] / np.sqrt(row["runs"])
        return f"{100 * row[column]:.1f}% (n={row['n']}, s.e. {100 * se:.1f} pp)"

    return f"{cell(cells.loc[cells[column].idxmin()])} .. {cell(cells.loc[cells[column].idxmax()])}"


def check_targets(summary: pd.DataFrame, runs: pd.DataFrame, draws: pd.DataFrame, variant: str,
                  verdicts: pd.DataFrame) -> list[ReproducedResult]:
    """Issue 5's targets against the main variant, as reproduced results (one per target and distribution;
    the tolerances are issue 5's, fixed before any run).

    "Saving rises with n" is met when the slope over all runs is positive with 95 % confidence
    (slope > 1.96 standard errors); whether the cell means also rise strictly is an open choice
    (`open_choices`). A range target is met when every cell's sequential verdict (`decide_range_targets`) is
    "inside"; the cells of the scaling runs themselves are printed beside it."""
    main = summary[summary["variant"] == variant]
    main_runs = runs[runs["variant"] == variant]
    results = [
        ReproducedResult(
            "stable partition within 5 merge/split rounds, every run", "3 operations (10 prosumers)",
            f"max {main_runs['rounds'].max()} rounds (max {main_runs['merge_passes'].max()} pairwise merge passes), "
            f"{int(main_runs['converged'].sum())}/{len(main_runs)} converged", "–", f"<= {TARGET_MAX_ROUNDS} rounds",
            bool(main_runs["converged"].all() and main_runs["rounds"].max() <= TARGET_MAX_ROUNDS)),
        ReproducedResult(
            "no member below its singleton score (after fees and rewards)", "Lemma 2: none",
            f"{int(main_runs['lemma2_violations'].sum())} violations, "
            f"{int(main_runs['members_below_singleton'].sum())} members below singleton before fees", "–", "0",
            bool(main_runs["lemma2_violations"].sum() == 0 and main_runs["members_below_singleton"].sum() == 0)),
    ]
    for dist, part in main.groupby("distribution", sort=False):
        savings = part.sort_values("n")["saving_accounted"].to_numpy()
        repetitions = int(part["runs"].min())

        def judged(column: str) -> tuple[str, bool]:
            cells = verdicts[(verdicts["distribution"] == dist) & (verdicts["target"] == column)]
            text = f"{repetitions} runs per cell: {_cell_range(part, column)}; {_verdict_text(cells, repetitions)}"
            return text, bool(len(cells) and (cells["verdict"] == "inside").all())

        slope, slope_se = saving_trend(main_runs[main_runs["distribution"] == dist])
        by_n = part.set_index("n")["saving_accounted"]
        saving_gap = ", ".join(f"n={n} {100 * (by_n[n] - v):+.1f} pp" for n, v in THESIS_SAVING.items() if n in by_n)
        share_gap = f"cell mean {100 * (part['local_share_balances'].mean() - THESIS_LOCAL_SHARE):+.1f} pp"
        results += [
            ReproducedResult(f"loss saving rises with n ({dist})", "22.5% (n=10) -> 38% (n=50), all profiles",
                             " -> ".join(f"{100 * v:.1f}%" for v in savings)
                             + f"; slope {1000 * slope:+.1f} ± {1960 * slope_se:.1f} pp per 10 prosumers (95% CI)",
                             "–", "slope > 0 at 95%", bool(slope > 1.96 * slope_se)),
            ReproducedResult(f"loss saving within 15-45% ({dist})", "22.5% (n=10) .. 38% (n=50), all profiles",
                             judged("saving_accounted")[0], saving_gap or "–", "15-45%, every cell (99% verdict)",
                             judged("saving_accounted")[1]),
            ReproducedResult(f"local-trade share within 35-60% ({dist})", "~47%, all profiles",
                             judged("local_share_balances")[0], share_gap, "35-60%, every cell (99% verdict)",
                             judged("local_share_balances")[1]),
        ]
    worst = draws["deviation_pp"].abs().max()
    results.append(ReproducedResult("miner-draw frequencies within 1 pp of score ratios", "WRS (eq. 3.16): 0 pp",
                                    f"max deviation {worst:.2f} pp over {len(draws)} coalitions",
                                    f"{worst:+.2f} pp", f"±{100 * TARGET_DRAW_DEVIATION:g} pp",
                                    bool(worst <= 100 * TARGET_DRAW_DEVIATION)))
    return results


def calibrated_inputs(slot10: SlotOutcome) -> list[CalibratedInput]:
    """What the data are fitted to (docs/seed001.md §11): never counted as met."""
    return [
        CalibratedInput("profile moments (§3.4.4): generation / consumption mean, sd", "7.45 / 12.41 kWh, sd 8.0",
                        "exact after clipping (normal, uniform); exact (log-normal)",
                        "location and scale solved so the clipped draws have them (data.seed001.clipped_parameters)"),
        CalibratedInput("10-prosumer illustration: sellers", "5 (thesis text)", str(int(slot10.market.is_seller.sum())),
                        "instance redrawn until it has 5 sellers"),
    ]


def _variant_text(summary: pd.DataFrame, variant: str, column: str, dist: str) -> str:
    """One variant's cell means of `column` for `dist` as "a -> b -> ... %" (n ascending)."""
    part = summary[(summary["variant"] == variant) & (summary["distribution"] == dist)].sort_values("n")
    return " -> ".join(f"{100 * v:.1f}" for v in part[column]) + " %" if len(part) else "–"


def _cells_inside(summary: pd.DataFrame, variant: str, column: str) -> str:
    """How many of a variant's cell means lie inside the target range of `column` (point estimates)."""
    part = summary[summary["variant"] == variant]
    low, high = RANGE_TARGETS[column]
    return f"{int(part[column].between(low, high).sum())}/{len(part)} cell means in {100 * low:g}-{100 * high:g}%"


def open_choices(summary: pd.DataFrame, runs: pd.DataFrame, verdicts: pd.DataFrame, variants: Sequence[str],
                 ) -> list[OpenChoice]:
    """The readings chosen where the thesis is open (docs/seed001.md §2, §6, §12), each with the result under
    the thesis' literal reading beside ours (main variant; first distribution where one is shown)."""
    main, dist = variants[0], str(summary["distribution"].iloc[0])
    choices = []
    for literal, question in ((LITERAL_VARIANT, "intra-coalition loss charge (eq. 3.7: in full to both parties)"),
                              (EQUAL_DIVISION_VARIANT, "division of a trade's loss between seller and buyer")):
        if literal in variants:
            choices.append(OpenChoice(
                f"{question}: loss saving ({dist}); saving target by cell means", literal,
                f"{_variant_text(summary, literal, 'saving_accounted', dist)}; "
                f"{_cells_inside(summary, literal, 'saving_accounted')}", main,
                f"{_variant_text(summary, main, 'saving_accounted', dist)}; {_cells_inside(summary, main, 'saving_accounted')}"))
            choices.append(OpenChoice(
                f"{question}: local share (b) ({dist}); share target by cell means", literal,
                f"{_variant_text(summary, literal, 'local_share_balances', dist)}; "
                f"{_cells_inside(summary, literal, 'local_share_balances')}", main,
                f"{_variant_text(summary, main, 'local_share_balances', dist)}; "
                f"{_cells_inside(summary, main, 'local_share_balances')}"))
    ours = summary[summary["variant"] == main]
    choices.append(OpenChoice(
        "share of energy traded locally (\"ratio of energy traded within coalitions and EDC\", §6): mean of all cells",
        "(a) local / all kWh traded", f"{100 * ours['local_share_traded'].mean():.1f}% (thesis ~47%)",
        "(b) 2 x local / (surplus + deficit)", f"{100 * ours['local_share_balances'].mean():.1f}% (thesis ~47%)"))
    strictly = {dist: bool(np.all(np.diff(part.sort_values("n")["saving_accounted"].to_numpy()) > 0))
                for dist, part in ours.groupby("distribution", sort=False)}
    slopes = {dist: saving_trend(runs[(runs["variant"] == main) & (runs["distribution"] == dist)])
              for dist in strictly}
    choices.append(OpenChoice(
        "\"saving rises with n\": met for how many distributions", "cell means rise strictly",
        f"{sum(strictly.values())}/{len(strictly)}", "slope over all runs > 0 at 95%",
        f"{sum(slope > 1.96 * se for slope, se in slopes.values())}/{len(slopes)}"))
    inside_by_mean = sum(
        int(ours[column].between(*bounds).sum()) for column, bounds in RANGE_TARGETS.items())
    choices.append(OpenChoice(
        "range targets: how a cell is judged (cells inside)", "the repetitions' cell mean inside the range",
        f"{inside_by_mean}/{len(ours) * len(RANGE_TARGETS)}", "99% interval inside, more seeded runs while undecided",
        f"{int((verdicts['verdict'] == 'inside').sum())}/{len(verdicts)}"))
    return choices


def thesis_table_3_2() -> pd.DataFrame:
    rows = []
    for itr, partition, scores, members in THESIS_TABLE_3_2:
        row = {"Itr": itr, "Partition": partition, "Coalition PS": scores}
        row.update({f"P{i}": v for i, v in enumerate(members)})
        rows.append(row)
    return pd.DataFrame(rows)


def _slot_report(slot: SlotOutcome, title: str, details: bool = True) -> list[str]:
    """Markdown for one slot: partition, trades (if `details`), the draws, M_r and its split."""
    def names(members: Sequence[int]) -> str:
        return ", ".join(f"P{i}" for i in sorted(members))

    lines = [f"### {title}", ""]
    if details:
        rows = [
            {
                "coalition": c,
                "members": names(members),
                "score": float(sum(slot.coalitions.member_scores[i] for i in members)),
                "draw probability": slot.draw_weights[c] / sum(slot.draw_weights),
            }
            for c, members in enumerate(slot.draw_order)
        ]
        lines += ["Stable partition in draw order (members by address, coalitions by lowest member address):", "",
                  frame_table(pd.DataFrame(rows), digits=3), ""]
        partition = slot.coalitions.partition
        trades = slot.coalitions.trades.assign(
            coalition=lambda f: [names(partition[c]) for c in f["coalition"]],
            seller=lambda f: [f"P{i}" for i in f["seller"]],
            buyer=lambda f: [f"P{i}" for i in f["buyer"]],
        )
        residual = slot.coalitions.residual.assign(prosumer=lambda f: [f"P{i}" for i in f["prosumer"]])
        lines += ["Intra-coalition trades (Tx_Coalition):", "", frame_table(trades, digits=3), ""]
        lines += ["Residual trades with the distribution centre (Tx_DC):", "", frame_table(residual, digits=3), ""]
    for a in slot.miner.attempts:
        if a.mined:
            verdict = "mined"
        elif a.skipped:
            verdict = "skipped: below the minimum self-stake at the commit deadline; coalition excluded, no slash"
        else:
            verdict = (f"did not mine: {slot.miner.slashed[a.validator] / EPOS_BASE:.4f} EPOS of its stake burned, "
                       "reward withheld, coalition excluded")
        lines.append(f"- draw {a.attempt}: coalition {{{names(slot.draw_order[a.coalition])}}}, validator P{a.validator} — {verdict}")
    lines.append("")
    m = slot.metrics
    savings = m.loss_alone_kwh - m.loss_accounted_kwh
    lines.append(
        f"Market-wide savings {savings:.4f} kWh (eq. 3.19: {100 * m.saving_accounted:.1f}% of the {m.loss_alone_kwh:.4f} kWh "
        f"lost trading alone; physically {100 * m.saving_physical:.1f}%). M_r = sum of the fees (delta x own saving x price) = "
        f"{base_to_upos(slot.mining_reward_base):.6f} UPOS, i.e. {slot.mining_reward_base / slot.price_base_per_kwh:.4f} kWh at the slot "
        f"price (delta = {slot.delta_bps / 10_000:g})."
    )
    lines.append("")
    if slot.shapley is not None:
        rows = [
            {
                "member": f"P{i}",
                "score": slot.coalitions.member_scores[i],
                "saving kWh": slot.coalitions.savings_kwh[i],
                "Shapley kWh": phi,
                "s.e.": se,
                "share of M_r": slot.rewards_base[i] / slot.mining_reward_base if slot.mining_reward_base else 0.0,
                "reward (base units)": slot.rewards_base[i],
                "fee (base units)": slot.fees_base[i],
            }
            for i, phi, se in zip(slot.shapley.players, slot.shapley.values, slot.shapley.standard_errors)
        ]
        method = "exact" if slot.shapley.exact else f"Monte Carlo, {slot.shapley.permutations} permutations"
        lines += [f"Reward split (weights: {slot.weight_rule}; Shapley {method}):", "",
                  frame_table(pd.DataFrame(rows), digits=4), ""]
        lines.append(f"Shares sum to M_r exactly: {sum(slot.rewards_base) == slot.mining_reward_base}.")
    else:
        lines.append("Every coalition was excluded: M_r stays in the escrow.")
    lines.append(f"Lemma 2 violations: {len(slot.lemma2)}.")
    lines.append("")
    return lines


def _plot(summary: pd.DataFrame, variant: str, column: str, ylabel: str, thesis: Mapping[int, float] | float | None,
          path: Path, verdicts: pd.DataFrame | None = None) -> None:
    """Cell means of `column` against n for each distribution of `variant`, with error bars of the standard
    error of the mean (sd / sqrt(runs), as the report prints), the distributions side by side at each n. For a
    range target: its range shaded, and the mean of every cell the verdict ran longer as a hollow marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {  # the Fig. 3.9 analogues, by the summary column plotted
        "local_share_balances": "Fig. 3.9a analogue: energy traded among prosumers",
        "saving_accounted": "Fig. 3.9b analogue: loss saving",
        "seconds_coalitions": "Fig. 3.9c analogue: coalition formation time",
    }
    fig, ax = plt.subplots(figsize=(8, 4.6))
    main = summary[summary["variant"] == variant]
    groups = list(main.groupby("distribution", sort=False))
    sizes = sorted(main["n"].unique())
    gap = float(np.min(np.diff(sizes))) if len(sizes) > 1 else 10.0
    step = 0.06 * gap  # keeps the bars of neighbouring distributions apart without leaving the cell's n
    scale = 1 if column == "seconds_coalitions" else 100
    has_sd = f"{column}_sd" in main
    for k, (dist, part) in enumerate(groups):
        x = part["n"].to_numpy(float) + (k - (len(groups) - 1) / 2) * step
        se = None
        if has_sd:
            se = (scale * part[f"{column}_sd"] / np.sqrt(part["runs"])).fillna(0).to_numpy()
        line = ax.errorbar(x, scale * part[column], yerr=se, marker="o", capsize=3, label=f"ours, {dist}")
        if column in RANGE_TARGETS and verdicts is not None:
            cells = verdicts[(verdicts["distribution"] == dist) & (verdicts["target"] == column)].set_index("n")
            longer = [(xi, cells.loc[n]) for xi, n in zip(x, part["n"]) if n in cells.index
                      and cells.loc[n, "runs"] > part.loc[part["n"] == n, "runs"].iloc[0]]
            if longer:
                ax.plot([xi for xi, _ in longer], [scale * c["mean"] for _, c in longer], "o", mfc="white",
                        color=line[0].get_color(), markersize=7, label=f"{dist}, verdict's longer run")
    if column in RANGE_TARGETS:
        low, high = RANGE_TARGETS[column]
        ax.axhspan(100 * low, 100 * high, color="0.85", alpha=0.35, zorder=0, label="target range")
    ticks = set(sizes)
    if isinstance(thesis, Mapping):
        ax.plot(list(thesis), [100 * v for v in thesis.values()], "k*", markersize=12,
                label="thesis (all profiles)")
        ticks |= set(thesis)
    elif thesis is not None:
        ax.axhline(100 * thesis, color="k", linestyle="--", label="thesis (all profiles)")
    ax.set_xticks(sorted(ticks))
    ax.set_xlabel("prosumers (n)")
    ax.set_ylabel(ylabel + ("\n(mean ± standard error)" if has_sd else "\n(mean of the runs)"))
    ax.set_title(f"{titles.get(column, column)}\nmain variant: {variant}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    runs = sorted(main["runs"].unique())
    caption = f"Markers: mean over {', '.join(str(r) for r in runs)} seeded runs per cell"
    if column in RANGE_TARGETS and verdicts is not None:
        caption += " (hollow: the mean over the verdict's longer run of that cell, docs/seed001.md §12)\n"
    caption += ("; " if caption[-1] != "\n" else "") + (
        "error bars: standard error of the mean (sd / √runs). Distributions offset slightly in n."
        if has_sd else "distributions offset slightly in n.")
    fig.text(0.01, 0.01, caption, fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_draws(draws: pd.DataFrame, path: Path) -> None:
    """Per case: the drawn share of each coalition beside its score ratio, and below it the deviation
    (observed - expected, percentage points) against the ±1 pp target band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    band = 100 * TARGET_DRAW_DEVIATION
    cases = list(dict.fromkeys(draws["case"]))
    fig, axes = plt.subplots(2, len(cases), figsize=(5.5 * len(cases), 6.4), squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": (3, 2)})
    for top, bottom, case in zip(axes[0], axes[1], cases):
        part = draws[draws["case"] == case]
        x = part["coalition"].to_numpy()
        top.bar(x - 0.2, 100 * part["expected"], width=0.4, label="score ratio (expected)")
        top.bar(x + 0.2, 100 * part["observed"], width=0.4, label="drawn (observed)")
        top.set_title(f"{case}: miner draw (eq. 3.16)", fontsize=9)
        top.set_ylabel("share of draws (%)")
        top.legend(fontsize=8, loc="best")
        top.grid(axis="y", alpha=0.3)
        deviation = part["deviation_pp"].to_numpy()
        bottom.axhspan(-band, band, color="tab:green", alpha=0.15, label=f"target ±{band:g} pp")
        bottom.axhline(0, color="k", linewidth=0.8)
        bottom.bar(x, deviation, width=0.5, color="tab:red", label="observed − expected")
        limit = max(1.5 * band, 1.2 * float(np.abs(deviation).max()) if len(deviation) else 0)
        bottom.set_ylim(-limit, limit)
        bottom.set_ylabel("observed − expected (pp)")
        bottom.set_xlabel("coalition (draw order)")
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        bottom.legend(fontsize=8, loc="best", ncols=2)
        bottom.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def reproduce_coalitions(
    out_dir: str | Path,
    *,
    repetitions: int = 20,
    sizes: Sequence[int] = (10, 20, 30, 40, 50),
    progress: bool = True,
    settings: SlotSettings = SlotSettings(),
    variants: Mapping[str, CoalitionConfig] | None = None,
    distributions: Sequence[str] = DISTRIBUTIONS,
    draws: int = 100_000,
    ten_prosumer_seed: int = 1,
    verdict_max_repetitions: int = VERDICT_MAX_REPETITIONS,
) -> CoalitionReproduction:
    """Runs the seed-001 ch. 3 experiments and writes under `out_dir`: seed001.md (every table beside
    the thesis' numbers, under the three lists: reproduced results, calibrated inputs, open choices),
    table_3_2.csv, runs.csv, summary.csv, draws.csv, verdicts.csv, verdict_runs.csv, results.csv, calibrated.csv,
    choices.csv, fig3_9a_local_share.png, fig3_9b_saving.png, fig3_9c_runtime.png, draws.png, and with the
    eq. 3.7-literal variant its fig3_9a/b beside the main ones (`*_eq3_7_literal.png`).

    variants: coalition configs to compare (default: the physical loss shared by the parties' distances to
    the EDC; shared equally; eq. 3.7 read literally, s=1); the first is the one checked against the
    targets. `settings` supplies everything else. The range targets are decided by `decide_range_targets`
    on the main variant, extending undecided cells up to `verdict_max_repetitions` runs (the tables and
    plots keep the `repetitions` runs).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    variants = dict(variants or DEFAULT_VARIANTS)
    main_variant = next(iter(variants))

    frame10 = ten_prosumer_instance(ten_prosumer_seed)
    market10 = Market.from_frame(frame10, frame10.attrs["centre_km"])
    addresses10 = prosumer_addresses(10)
    main_settings = replace(settings, coalitions=variants[main_variant])
    slot10 = run_slot(market10, addresses10, demo_seed(addresses10, "seed001-slot10", settings.combine), main_settings)
    penalty10 = run_slot(market10, addresses10, slot10.seed, main_settings, failing_validators={slot10.miner.validator})
    table = slot10.coalitions.log_frame()

    plan = [(v, d, n, rep) for v in variants for d in distributions for n in sizes for rep in range(repetitions)]
    rows = []
    with progress_bar(progress) as bars:
        task = bars.add_task("seed001 scaling runs", total=len(plan)) if bars else None
        for variant, dist, n, rep in plan:
            rows.append(scaling_run(variant, replace(settings, coalitions=variants[variant]), dist, n, rep))
            if bars:
                bars.advance(task)
        runs = pd.DataFrame(rows)
        extra_task = bars.add_task("seed001 target verdicts (extra runs of undecided cells)", total=None) if bars else None
        verdict_runs, verdicts = decide_range_targets(
            runs, main_variant, main_settings, verdict_max_repetitions,
            (lambda: bars.advance(extra_task)) if bars else (lambda: None))
    summary = summarise(runs)

    frame50 = scaling_instance(max(sizes), distributions[0], 0)
    market50 = Market.from_frame(frame50, frame50.attrs["centre_km"])
    addresses50 = prosumer_addresses(max(sizes), 0)
    slot50 = run_slot(market50, addresses50, demo_seed(addresses50, "seed001-draws", settings.combine), main_settings)
    cases = [(slot10.draw_weights, "draws-10", "10 prosumers (Table 3.2 instance)"),
             (slot50.draw_weights, "draws-50", f"{max(sizes)} prosumers ({distributions[0]}, rep 0)")]
    # A case whose coalitions all score 0 (e.g. 2 prosumers and no seller) has nothing to draw: it is left out.
    draw_table = pd.concat([draw_frequencies(weights, draws, label).assign(case=case)
                            for weights, label, case in cases if sum(weights) > 0], ignore_index=True)
    results = check_targets(summary, runs, draw_table, main_variant, verdicts)
    calibrated = calibrated_inputs(slot10)
    choices = open_choices(summary, runs, verdicts, list(variants))
    targets = result_frame(results)

    tables = {"table_3_2.csv": table, "runs.csv": runs, "summary.csv": summary, "draws.csv": draw_table,
              "verdicts.csv": verdicts, "verdict_runs.csv": verdict_runs, "results.csv": targets,
              "calibrated.csv": result_frame(calibrated), "choices.csv": result_frame(choices)}
    files = [out / name for name in tables]
    for (name, frame) in tables.items():
        frame.to_csv(out / name, index=False)
    figures = {
        "fig3_9a_local_share.png": ("local_share_balances", "energy traded among prosumers (%)", THESIS_LOCAL_SHARE),
        "fig3_9b_saving.png": ("saving_accounted", "loss saving vs trading alone (%)", THESIS_SAVING),
        "fig3_9c_runtime.png": ("seconds_coalitions", "coalition formation (s)", None),
    }
    for name, (column, label, thesis) in figures.items():
        _plot(summary, main_variant, column, label, thesis, out / name, verdicts)
        files.append(out / name)
        if LITERAL_VARIANT in variants and LITERAL_VARIANT != main_variant and column in RANGE_TARGETS:
            literal = out / name.replace(".png", "_eq3_7_literal.png")
            _plot(summary, LITERAL_VARIANT, column, label, thesis, literal)
            files.append(literal)
    _plot_draws(draw_table, out / "draws.png")
    files.append(out / "draws.png")
    report = out / "seed001.md"
    report.write_text(_report(table, slot10, penalty10, summary, draw_table, three_lists(calibrated, results, choices),
                              draws, repetitions, main_variant, verdicts, verdict_max_repetitions))
    files.append(report)
    return CoalitionReproduction(table, slot10, penalty10, runs, summary, draw_table, targets, files, verdicts,
                                 verdict_runs, results)


def _report(
    table: pd.DataFrame,
    slot10: SlotOutcome,
    penalty10: SlotOutcome,
    summary: pd.DataFrame,
    draws: pd.DataFrame,
    lists: str,
    n_draws: int,
    repetitions: int,
    main_variant: str,
    verdicts: pd.DataFrame,
    verdict_max_repetitions: int,
) -> str:
    main = summary[summary["variant"] == main_variant]
    largest_se = max((100 * (main[f"{c}_sd"] / np.sqrt(main["runs"])).max() for c in RANGE_TARGETS), default=np.nan)
    reached = int(verdicts["runs"].max()) if len(verdicts) else repetitions
    lines = [
        "# Seed 001, chapter 3 — coalition market reproduction",
        "",
        "Generated by `offchain.mechanisms.coalition_market.model.reproduce_coalitions`; choices in docs/seed001.md.",
        "",
        lists,
        "",
        "### How the range targets are judged",
        "",
        f"A cell mean of {repetitions} runs here carries a standard error of up to {largest_se:.1f} pp (this run's "
        "largest), so whether it lies inside a "
        "target range is decided by its 99% interval (mean ± 2.576 s.e.): a cell whose interval straddles a bound "
        "is run again with the next seeds (repetitions "
        f"{repetitions}, {repetitions + 1}, ...), doubling its runs, until the interval lies inside or outside the "
        f"range or the cell reaches the cap of {verdict_max_repetitions} runs (docs/seed001.md §12); the most any "
        f"cell needed in this run was {reached}. The tables and plots below keep the "
        f"{repetitions} runs; verdict_runs.csv holds the extra ones. Main variant: {main_variant}.",
        "",
        frame_table(verdicts.assign(mean=100 * verdicts["mean"], se=100 * verdicts["se"])
                    .rename(columns={"mean": "mean %", "se": "s.e. pp"}), digits=2),
        "",
        "## Table 3.2 — proof scores per merge/split iteration (10 prosumers)",
        "",
        "Ours (seeded synthetic instance; the thesis' forecasts and positions are not published):",
        "",
        frame_table(table.drop(columns=["step"]).assign(Itr=table["Itr"].astype(str) + " " + table["step"]), digits=2),
        "",
        "Thesis (as printed; its rows are internally inconsistent, spec §6.2.3):",
        "",
        frame_table(thesis_table_3_2(), digits=2),
        "",
        f"Thesis: 4 stable coalitions after 3 merge/split operations; ours: {len(slot10.coalitions.partition)} coalitions, "
        f"{slot10.coalitions.rounds} merge/split rounds ({slot10.coalitions.merges} merges). Thesis winner PS 7.68 "
        f"(66% of the total); thesis M_r 0.568 (δ = 0.1 of 5.68 'kW' savings); P5 52% and P8 15% of M_r.",
        "",
        *_slot_report(slot10, "The 10-prosumer slot"),
        *_slot_report(penalty10, "Same slot, the drawn validator fails to mine (eq. 3.24)", details=False),
        f"## Scaling runs (Fig. 3.9), {repetitions} seeded repetitions per cell",
        "",
        "saving_accounted = eq. 3.19 market-wide (seller and buyer together charged 2s x an intra-coalition "
        "trade's loss; with s = 0.5 the accounts equal the lines); saving_physical = what the lines actually save. "
        f"Standard error of a cell mean = sd / sqrt({repetitions}). local_share_balances = 2 x peer-traded kWh / "
        "(surplus + deficit), the share of the prosumers' own trading volume settled with peers (the headline "
        "reading of the thesis' '47% of the network's energy'); local_share_surplus = peer-traded / surplus; "
        "local_share_traded = peer-traded / all kWh moved.",
        "",
        frame_table(summary, digits=3),
        "",
        f"Thesis: saving 22.5% (n = 10) -> 38% (n = 50), local share ≈ 47%, runtime linear in n. Main variant: {main_variant}.",
        "",
        f"## Miner draw frequencies over {n_draws:,} draws",
        "",
        frame_table(draws[["case", "coalition", "score", "expected", "observed", "deviation_pp"]], digits=4),
        "",
        f"Figures ({main_variant}): cell means per distribution, side by side at each n, with error bars of the "
        "standard error of the mean (sd / sqrt(runs)); the thesis' points carry no split by distribution. "
        "draws.png: each coalition's drawn share beside its score ratio, and below it the deviation "
        "(observed - expected, pp) against the ±1 pp target band.",
        "",
        "![local share](fig3_9a_local_share.png) ![saving](fig3_9b_saving.png) ![runtime](fig3_9c_runtime.png) ![draws](draws.png)",
        "",
        f"The same figures for {LITERAL_VARIANT} (the thesis' eq. 3.7 read literally), beside the main ones:",
        "",
        "![local share, literal](fig3_9a_local_share_eq3_7_literal.png) ![saving, literal](fig3_9b_saving_eq3_7_literal.png)",
        "",
    ]
    return "\n".join(lines)
