"""Every mechanism kwx runs, and what the rest of kwx builds from them: the deploy suite, the workers and
the reproduce commands. Adding a mechanism is one package under offchain/mechanisms/ and one line in
MECHANISMS (docs/adding-a-mechanism.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from offchain.chain.steps import Step
from offchain.chain.suites import assemble_suite
from offchain.workers import SURPLUS_SCORE, UnknownWorkerError, WorkerSpec

from .adbev import MECHANISM as ADBEV
from .base import Mechanism, Panel, Reproduction
from .coalition_market import MECHANISM as COALITION_MARKET
from .fog_ems import MECHANISM as FOG_EMS
from .v2v import MECHANISM as V2V
from .peak_control import MECHANISM as PEAK_CONTROL
from .proof_of_benefit import MECHANISM as PROOF_OF_BENEFIT

#: Every mechanism, in the order their contract groups are deployed.
MECHANISMS: tuple[Mechanism, ...] = (COALITION_MARKET, FOG_EMS, V2V, PEAK_CONTROL, ADBEV, PROOF_OF_BENEFIT)

#: The workers of the core contracts, which belong to no mechanism.
CORE_WORKERS: tuple[WorkerSpec, ...] = (SURPLUS_SCORE,)


def suite(mechanisms: Iterable[Mechanism] = MECHANISMS) -> tuple[Step, ...]:
    """The whole deploy suite: the core contracts, each mechanism's group under its default terms, the role
    grants (offchain.chain.suites.assemble_suite)."""
    return assemble_suite(m.steps() for m in mechanisms)


def workers(mechanisms: Iterable[Mechanism] = MECHANISMS) -> dict[str, WorkerSpec]:
    """{name: spec} of the core workers and every mechanism's workers; a name used twice raises ValueError."""
    specs: dict[str, WorkerSpec] = {}
    for spec in [*CORE_WORKERS, *(spec for m in mechanisms for spec in m.workers)]:
        if specs.setdefault(spec.name, spec) is not spec:
            raise ValueError(f"two workers are named {spec.name!r}")
    return specs


def reproductions(mechanisms: Iterable[Mechanism] = MECHANISMS) -> dict[str, Reproduction]:
    """{name: command} of every ``kwx reproduce`` command; a name used twice raises ValueError."""
    commands: dict[str, Reproduction] = {}
    for reproduction in (r for m in mechanisms for r in m.reproductions):
        if commands.setdefault(reproduction.name, reproduction) is not reproduction:
            raise ValueError(f"two reproduce commands are named {reproduction.name!r}")
    return commands


#: The whole suite with every mechanism's default terms: what `kwx deploy` deploys.
SUITE: tuple[Step, ...] = suite()
#: Every worker `kwx worker NAME` runs, by name.
WORKERS: dict[str, WorkerSpec] = workers()


def worker_spec(name: str, specs: Mapping[str, WorkerSpec] = WORKERS) -> WorkerSpec:
    """The spec of worker `name` in `specs`; UnknownWorkerError (one line, listing the names) if there is none."""
    if name not in specs:
        raise UnknownWorkerError(f"unknown worker {name!r}: choose one of {', '.join(sorted(specs))}")
    return specs[name]


__all__ = [
    "COALITION_MARKET",
    "CORE_WORKERS",
    "FOG_EMS",
    "MECHANISMS",
    "PEAK_CONTROL",
    "SUITE",
    "WORKERS",
    "Mechanism",
    "Panel",
    "Reproduction",
    "V2V",
    "reproductions",
    "suite",
    "worker_spec",
    "workers",
]
