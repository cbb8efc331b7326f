"""A discrete-event model of the thesis's peer-to-peer network where a local EVM chain cannot show it (seed 003
Ch6, Figs. 6.4-6.5): confirmation latency of PoW, PBFT and ePoB, and the Sybil experiment on the benefit vote.

Times in seconds. Every function takes a numpy Generator, so a run is reproducible from its seed.

- PoW (Bitcoin figures): blocks arrive as a Poisson process of mean `block_s` (600 s) and hold at most
  `capacity_tps` x block_s transactions; a transaction is confirmed once `confirmations` (6) blocks contain or
  follow its block.
- PBFT (Castro-Liskov): one leader, `validators` (15) replicas, batches committed one after another; a batch
  takes 3 phases (pre-prepare, prepare, commit), each a network delay plus the time a replica spends on the
  n messages it receives (n^2 messages per phase in all); throughput capped at `capacity_tps` (120 tx/s).
- ePoB: rounds of `round_s` (60 s ideal case); a transaction joins the set of the next round (the set is fixed
  when a round opens), is confirmed when that round is finalised and the result has reached every peer (gossip:
  ceil(log2 N) hops).
- Sybil: N_p validators of which k collude; every round the honest peers confirm the block they recompute and
  the colluders confirm their forged block with a higher claimed benefit; each confirmation is lost with a small
  probability (a late message). The winner follows BenefitConsensus.finalise exactly (:func:`pob_winner`).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NetworkTerms:
    """Link delay (s, lognormal with this mean and a 0.5 log-sd), per-message processing at a replica (s)."""

    delay_s: float = 0.1
    message_s: float = 0.002

    def delay(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        """Random link delays (s)."""
        sigma = 0.5
        return rng.lognormal(math.log(self.delay_s) - sigma**2 / 2, sigma, size)


def poisson_arrivals(rate_tps: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    """Submission times (s) of a Poisson stream of `rate_tps` transactions per second over [0, duration_s)."""
    count = rng.poisson(rate_tps * duration_s)
    return np.sort(rng.uniform(0, duration_s, count))


def pow_latency(
    arrivals: np.ndarray, rng: np.random.Generator, block_s: float = 600.0, confirmations: int = 6,
    capacity_tps: float = 7.0,
) -> np.ndarray:
    """Confirmation latency (s) of each arrival under PoW: blocks are mined one after another (exponential gaps);
    each takes the oldest waiting transactions up to its capacity; confirmed with the `confirmations`-th block."""
    capacity = max(1, int(capacity_tps * block_s))
    included = np.empty(len(arrivals), dtype=int)
    blocks: list[float] = []
    head, t = 0, 0.0
    while head < len(arrivals):
        t += rng.exponential(block_s)
        end = min(int(np.searchsorted(arrivals, t, side="left")), head + capacity)
        included[head:end] = len(blocks)
        blocks.append(t)
        head = max(head, end)
    for _ in range(confirmations - 1):
        t += rng.exponential(block_s)
        blocks.append(t)
    return np.asarray(blocks)[included + confirmations - 1] - arrivals


def pbft_batch_seconds(validators: int, net: NetworkTerms, rng: np.random.Generator) -> float:
    """Time to commit one batch: 3 phases, each the slowest of n link delays plus n messages processed."""
    return float(sum(np.max(net.delay(rng, validators)) + validators * net.message_s for _ in range(3)))


def pbft_messages(validators: int) -> int:
    """Messages of one PBFT batch: n pre-prepares, n^2 prepares, n^2 commits."""
    return validators + 2 * validators**2


def pbft_latency(
    arrivals: np.ndarray, rng: np.random.Generator, validators: int = 15, capacity_tps: float = 120.0,
    net: NetworkTerms = NetworkTerms(),
) -> np.ndarray:
    """Confirmation latency (s) under PBFT: the leader takes what is queued (at most capacity_tps x the batch
    time) whenever the previous batch commits; an event queue orders batch starts."""
    latency = np.empty(len(arrivals))
    events: list[float] = [0.0]
    head = 0
    while head < len(arrivals):
        start = max(heapq.heappop(events), arrivals[head])
        duration = pbft_batch_seconds(validators, net, rng)
        limit = max(1, int(capacity_tps * duration))
        waiting = np.searchsorted(arrivals, start, side="right")
        end = min(waiting, head + limit)
        latency[head:end] = start + duration - arrivals[head:end]
        head = end
        heapq.heappush(events, start + duration)
    return latency


def epob_latency(
    arrivals: np.ndarray, rng: np.random.Generator, peers: int = 15, round_s: float = 60.0,
    net: NetworkTerms = NetworkTerms(),
) -> np.ndarray:
    """Confirmation latency (s) under ePoB: the next round's set, that round's end, then gossip to all peers."""
    next_round_start = np.floor(arrivals / round_s + 1) * round_s
    hops = math.ceil(math.log2(max(peers, 2)))
    gossip = np.sum(net.delay(rng, (len(arrivals), hops)), axis=1)
    return next_round_start + round_s + gossip - arrivals


def pob_winner(lambdas: list[int], confirmations: list[int], peers: int) -> int | None:
    """BenefitConsensus.finalise in Python: the index of the highest-benefit block with more than N_p/2 + 1
    confirmations (2 * count > N_p + 2; the first revealed wins ties), None when no block qualifies."""
    best = None
    for i, (lam, count) in enumerate(zip(lambdas, confirmations, strict=True)):
        if 2 * count > peers + 2 and (best is None or lam > lambdas[best]):
            best = i
    return best


@dataclass(frozen=True)
class SybilPoint:
    """Rounds played with `attackers` colluders: share where the honest block won (accuracy), where a forged block
    won (compromised), and where no block qualified (stalled)."""

    attackers: int
    accuracy: float
    compromised: float
    stalled: float


def sybil_experiment(
    validators: int, attackers: int, rounds: int, rng: np.random.Generator, loss: float = 0.02
) -> SybilPoint:
    """Play `rounds` rounds with `attackers` of `validators` colluding (each confirmation lost with `loss`)."""
    if not 0 <= attackers <= validators:
        raise ValueError(f"attackers must be 0..{validators}, got {attackers}")
    honest_won = forged_won = 0
    for _ in range(rounds):
        honest = int(np.sum(rng.random(validators - attackers) >= loss))
        forged = int(np.sum(rng.random(attackers) >= loss))
        lambdas, counts = ([1, 2], [honest, forged]) if attackers else ([1], [honest])
        winner = pob_winner(lambdas, counts, validators)
        honest_won += winner == 0
        forged_won += winner == 1
    return SybilPoint(attackers, honest_won / rounds, forged_won / rounds, 1 - (honest_won + forged_won) / rounds)
