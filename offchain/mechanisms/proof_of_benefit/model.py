"""`kwx reproduce seed003-pob` off chain: Ch5 PEBT day, Ch6 ePoB arrival sweep, latency and Sybil experiments,
written as one Markdown report with the thesis's figures beside ours (tolerances fixed in TARGETS, before any
run)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offchain.algorithms.epob import Fleet, IntervalQP, fluctuation, run_offline, run_online
from offchain.algorithms.netsim import (
    epob_latency,
    pbft_latency,
    poisson_arrivals,
    pow_latency,
    sybil_experiment,
)
from offchain.algorithms.pfl import pf_slope_variance
from offchain.data.seed003 import ev_population
from offchain.data.seed003 import SLOT_H
from offchain.data.seed003_pob import CH5, EVS, ch6_sessions, residential_load_kw
from offchain.scenarios.markdown import table
from offchain.scenarios.report import CalibratedInput, OpenChoice, ReproducedResult, result_frame, three_lists

from .plan import PebtTerms, adbev_load_kw, ch5_orders, run_immediate, run_pebt

#: ePoB's speeding factor: BCPK09's qOA speed-up q = 2 - 1/alpha for the quadratic cost (alpha = 2), the
#: algorithm behind the thesis's 2.39 (the thesis never states c; chosen before any run).
SPEEDING_FACTOR = 1.5
#: Targets and tolerances, fixed before looking.
CH5_MIN_REDUCTION = 0.25  # cube root of PF at least 25 % below without PEBT (thesis -33.2 %)
RATIO_BOUND = 2.39  # empirical competitive ratio on every instance
SYBIL_ZERO_ACCURACY = 0.98  # accuracy at 0 attackers


@dataclass
class Ch5Result:
    """cbrt(PF) without / with PEBT (PF in kW^2 per round^2), per-hour cbrt(PF) pairs, failed rounds, seconds."""

    without: float
    with_pebt: float
    hourly: list[tuple[int, float, float]]
    failed: dict[int, str]
    seconds: float

    @property
    def reduction(self) -> float:
        """Relative reduction of cbrt(PF)."""
        return 1 - self.with_pebt / self.without


def run_ch5(seed: int, evs: int = EVS) -> Ch5Result:
    """The Ch5 day: 200 households, `evs` EVs (CH5), 5-min rounds, PEBT vs immediate execution."""
    terms = PebtTerms()
    population = ev_population(CH5, omega=evs, seed=seed)
    orders = ch5_orders(population, terms, seed=seed)
    base = residential_load_kw(60 // terms.round_minutes)
    started = time.perf_counter()
    run = run_pebt(orders, base, terms)
    seconds = time.perf_counter() - started
    immediate = run_immediate(orders, base, terms)
    per_hour = 60 // terms.round_minutes
    hourly = [
        (h, float(np.cbrt(pf_slope_variance(immediate[h * per_hour : (h + 1) * per_hour]))),
         float(np.cbrt(pf_slope_variance(run.net_kw[h * per_hour : (h + 1) * per_hour]))))
        for h in range(24)
    ]
    return Ch5Result(float(np.cbrt(pf_slope_variance(immediate))), float(np.cbrt(pf_slope_variance(run.net_kw))),
                     hourly, run.failed, seconds)


@dataclass
class Ch6Instance:
    """One instance: EVs per day, seed, fluctuations (kW^2 h) of offline optimum, online without future (c = 1),
    ePoB (c = SPEEDING_FACTOR) and offline AdBEV (expected arrivals), failed steps, seconds of the ePoB run."""

    evs: int
    seed: int
    offline: float
    online: float
    epob: float
    adbev: float
    failed: int
    epob_seconds: float

    @property
    def epob_gain(self) -> float:
        """How much lower ePoB's fluctuation is than offline AdBEV's (fraction; negative when higher)."""
        return 1 - self.epob / self.adbev


def run_ch6(evs_sweep: list[int], seeds: list[int], ev_data: str = "synthetic") -> list[Ch6Instance]:
    """The arrival-rate sweep: every EV count x seed, 10-min decisions from noon (ACN-Data, `ev_data` "acn": from
    the quietest slot), 200 households."""
    results = []
    for evs in evs_sweep:
        for seed in seeds:
            s = ch6_sessions(evs, seed, start_slot=None if ev_data == "acn" else 24, ev_data=ev_data)
            base = residential_load_kw(s.steps_per_slot * 2, start_hour=s.start_slot * SLOT_H)
            fleet = Fleet(s.arrival, s.departure, s.rate_kw, np.where(s.discharging, s.offer_kwh, s.demand_kwh),
                          s.discharging)
            qp = IntervalQP()
            offline = run_offline(fleet, base, s.step_h, qp)
            online, failed_online = run_online(fleet, base, s.step_h, 1.0, qp=qp)
            started = time.perf_counter()
            epob, failed_epob = run_online(fleet, base, s.step_h, SPEEDING_FACTOR, qp=qp)
            seconds = time.perf_counter() - started
            adbev = fluctuation(base + adbev_load_kw(s, qp.v, qp.varpi), base, s.step_h)
            results.append(Ch6Instance(evs, seed, offline.fluctuation, online.fluctuation, epob.fluctuation, adbev,
                                       len(failed_online) + len(failed_epob), seconds))
    return results


def run_latency(seed: int, rates: tuple[float, ...] = (5, 50, 110, 150), seconds: float = 1_800) -> list[tuple]:
    """(tx/s, PoW mean min, PBFT mean s, PBFT p95 s, ePoB mean s, ePoB p95 s) per offered rate."""
    rng = np.random.default_rng(seed)
    rows = []
    for rate in rates:
        arrivals = poisson_arrivals(rate, seconds, rng)
        pow_, pbft, epob = pow_latency(arrivals, rng), pbft_latency(arrivals, rng), epob_latency(arrivals, rng)
        rows.append((rate, np.mean(pow_) / 60, np.mean(pbft), np.percentile(pbft, 95), np.mean(epob),
                     np.percentile(epob, 95)))
    return rows


def run_sybil(seed: int, validators: int = 15, rounds: int = 500) -> list:
    """SybilPoints for 0..validators attackers."""
    rng = np.random.default_rng(seed)
    return [sybil_experiment(validators, k, rounds, rng) for k in range(validators + 1)]


def write_report(out: Path, ch5: Ch5Result, ch6: list[Ch6Instance], latency: list[tuple], sybil: list,
                 ev_data: str = "synthetic") -> Path:
    """seed003-pob.md (the three lists of offchain/scenarios/report.py, then the per-hour, per-instance,
    latency and Sybil tables) and results.csv under `out`."""
    worst = max((competitive_ratio_of(i) for i in ch6), default=float("nan"))
    offline_best = all(i.offline <= min(i.online, i.epob) * (1 + 1e-6) for i in ch6)
    gain = float(np.mean([i.epob_gain for i in ch6])) if ch6 else float("nan")
    zero = sybil[0].accuracy
    safe_until = max((p.attackers for p in sybil if p.compromised == 0), default=0)
    half = (len(sybil) - 1) // 2
    results = [
        ReproducedResult("R5.3 cbrt(PF) reduction with PEBT", "-33.2 % (48.5 -> 32.4)",
                         f"{-100 * ch5.reduction:.1f} % ({ch5.without:.2f} -> {ch5.with_pebt:.2f})",
                         f"{100 * (0.332 - ch5.reduction):+.1f} pp", f">= {100 * CH5_MIN_REDUCTION:.0f} % lower",
                         ch5.reduction >= CH5_MIN_REDUCTION),
        ReproducedResult("R6.4 offline optimum <= every online schedule", "best on Fig 6.6",
                         "yes" if offline_best else "no", "-" if offline_best else "an online schedule beat it",
                         "every instance", offline_best),
        ReproducedResult("R6.3 empirical competitive ratio (worst instance)", f"<= {RATIO_BOUND}", f"{worst:.2f}",
                         f"{worst - RATIO_BOUND:+.2f}", f"<= {RATIO_BOUND} on every instance", worst <= RATIO_BOUND),
        ReproducedResult("R6.4 ePoB below offline AdBEV (mean over instances)", "-3.5 %", f"{-100 * gain:+.1f} %",
                         f"{-100 * gain + 3.5:+.1f} pp", "ePoB lower on average", gain > 0),
        ReproducedResult("R6.2 Sybil accuracy at 0 attackers", "~100 %", f"{100 * zero:.1f} %",
                         f"{100 * zero - 100:+.1f} pp", f">= {100 * SYBIL_ZERO_ACCURACY:.0f} %",
                         zero >= SYBIL_ZERO_ACCURACY),
        ReproducedResult("R6.2/R6.6 no forged block while attackers <= half", "<= 51 % tolerated",
                         f"no forgery up to {safe_until} of {len(sybil) - 1}", f"{safe_until - half:+d} attackers",
                         f"up to {half}", safe_until >= half),
        ReproducedResult("R6.1 ePoB confirms faster than PoW", "ePoB lowest (Fig 6.4)",
                         f"{latency[0][4]:.0f} s vs {60 * latency[0][1]:.0f} s",
                         f"{latency[0][4] - 60 * latency[0][1]:+.0f} s", "lower", latency[0][4] < 60 * latency[0][1]),
    ]
    calibrated = [
        CalibratedInput("households and their load", "200 households, Austrian residential day (07-09, 18-21 "
                        "peaks)", "200 x 0.5 kW mean, synthetic shape with those peaks", "shape drawn to the peaks"),
        CalibratedInput("Ch5 EVs", "100 EVs, zap-map charger classes, charge:discharge 2:1",
                        "100 EVs, 3/7/22/43/50/120 kW at 60/12.5/12.5/5/5/5 %, 2:1", "shares chosen (not given)"),
        CalibratedInput("Ch6 EVs", "U = 50 kW, discharge 15 kW, 10-min decisions",
                        f"U = 50 kW, O = 15 kW, 10-min steps, {'ACN-Data Caltech' if ev_data == 'acn' else 'synthetic'}"
                        " stays", "the thesis's figures"),
        CalibratedInput("rounds", "ROUNDTIME 5 min, orders wait at most 2 rounds", "5 min, 2 rounds",
                        "the thesis's figures"),
    ]
    choices = [
        OpenChoice("benefit verification", "left open", "-", "lambda = 1e18 / (PF + 1 W^2) of the revealed "
                   "net-load window, recomputed on chain; validators recompute the schedule", "false claims excluded"),
        OpenChoice("'cube root of PF'", "unit unstated", "-", "cbrt of the slope variance of the 5-min net load "
                   "(kW^2/round^2)", f"{ch5.without:.2f} -> {ch5.with_pebt:.2f}"),
        OpenChoice("speeding factor c", "not given", "-", f"{SPEEDING_FACTOR} (BCPK09 qOA, q = 2 - 1/alpha, "
                   "alpha = 2)", f"worst ratio {worst:.2f}"),
        OpenChoice("competitive ratio", "2.39 for the energy cost of BCPK09/ORCHARD", "not measured",
                   "measured on the fluctuation sum (dL)^2 dt, which that bound does not cover",
                   f"worst ratio {worst:.2f}"),
        OpenChoice("offline AdBEV's 'expected arrivals'", "loose", "-", "AdBEV's market (adbev/plan.py) on the "
                   "day's stays at half-hour resolution (every slot a stay touches), known in advance",
                   f"ePoB {-100 * gain:+.1f} % vs AdBEV"),
        OpenChoice("intervals", "EV events", "-", "EV events plus hourly base-load labels", "-"),
    ]
    lines = [
        "# Seed 003 Ch5-6: Proof-of-Benefit (PEBT, ePoB)\n",
        three_lists(calibrated, results, choices),
        "\n## Ch5: cube root of PF per hour (without / with PEBT)\n",
        table(["hour", "without", "with PEBT"], ch5.hourly),
        f"\nFailed rounds: {len(ch5.failed)}; PEBT day solved in {ch5.seconds:.1f} s.\n",
        f"\n## Ch6: fluctuation sum (dL)^2 dt (kW^2 h) per instance ({ev_data} EV stays)\n",
        table(["EVs/day", "seed", "offline optimum", "online c=1", f"ePoB c={SPEEDING_FACTOR}", "offline AdBEV",
               "ePoB vs AdBEV", "ratio online", "ratio ePoB", "failed steps", "ePoB run (s)"],
              [(i.evs, i.seed, i.offline, i.online, i.epob, i.adbev, f"{-100 * i.epob_gain:+.1f} %",
                i.online / i.offline, competitive_ratio_of(i), i.failed, i.epob_seconds) for i in ch6]),
        "\n## Fig 6.4 analogue: confirmation latency\n",
        table(["offered tx/s", "PoW mean (min)", "PBFT mean (s)", "PBFT p95 (s)", "ePoB mean (s)", "ePoB p95 (s)"],
              latency),
        "\n## Fig 6.5 analogue: Sybil attackers among 15 validators\n",
        table(["attackers", "accuracy", "forged block won", "no block"],
              [(p.attackers, p.accuracy, p.compromised, p.stalled) for p in sybil]),
    ]
    result_frame(results).to_csv(out / "results.csv", index=False)
    path = out / "seed003-pob.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def competitive_ratio_of(instance: Ch6Instance) -> float:
    """The ePoB instance's Upsilon_ON / Upsilon*_OFF."""
    return instance.epob / instance.offline
