"""The workers `kwx worker NAME` can run, and :func:`run_worker`, which wires one to a deployment."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eth_account.signers.local import LocalAccount

from offchain.chain import ChainClient, Manifest, connect, get_network, load_manifest

from .coalition_market import make_result_logic, make_rewards_logic, make_scores_logic
from .fog_matching import make_fog_matching_logic
from .logs import configure_json_logging
from .runtime import RunSummary, Worker, WorkerLogic
from .surplus_score import SurplusScoreLogic
from .web3_chain import Web3ResultChain

#: Where worker state files live unless told otherwise: <state_dir>/<worker>.sqlite.
DEFAULT_STATE_DIR = Path("var/workers")


@dataclass(frozen=True)
class WorkerOption:
    """One worker-specific option: how to read it from text (``kwx worker NAME --option KEY=VALUE``), what
    it means, and which values it takes: at least ``minimum`` (numbers) or one of ``choices`` (texts)."""

    parse: Callable[[str], Any]
    help: str
    minimum: int | None = None
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why `value` is out of range ("must be >= 1, got 0"), or None when the option takes it."""
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        return None


@dataclass(frozen=True)
class WorkerSpec:
    """One runnable worker: the contract that accepts its results, and how to build its logic.

    ``make_logic(client, manifest, **options)``; ``options`` declares the keyword options it takes.
    """

    summary: str
    results_contract: str
    make_logic: Callable[..., WorkerLogic]
    options: Mapping[str, WorkerOption] = field(default_factory=dict)


class WorkerOptionError(ValueError):
    """A worker option that the worker does not take or whose value does not parse."""


#: The options of the coalition-market stages: which rehearsal community they serve. A slot needs at least
#: one participant (ProofScoreRegistry rejects an empty result); slots are numbered from 1
#: (SeededForecasts.first_slot); the forecasts' random generator takes no negative seed.
COALITION_OPTIONS = {
    "participants": WorkerOption(int, "number of test-mnemonic participant accounts, >= 1 (default 10)", minimum=1),
    "seed": WorkerOption(int, "seed of the rehearsal forecasts, >= 0 (default 1)", minimum=0),
    "through_slot": WorkerOption(int, "last slot with forecasts; slots start at 1 (default 1)", minimum=1),
}


def _surplus_score(client: ChainClient, manifest: Manifest, *, through_period: int | None = None) -> WorkerLogic:
    return SurplusScoreLogic(
        client.contract("EnergyCredit", manifest.address("EnergyCredit")),
        client.contract("EPOS", manifest.address("EPOS")),
        through_period=through_period,
    )


def _fedavg_aggregator(client: ChainClient, manifest: Manifest, **options: Any) -> WorkerLogic:
    from .fedavg import make_fedavg_logic  # imported here: it loads torch (~2 s), which no other worker needs

    return make_fedavg_logic(client, manifest, **options)


WORKERS: dict[str, WorkerSpec] = {
    "surplus-score": WorkerSpec(
        summary="EPOS scores = attested surplus (kWh) per prosumer and period (foundation score; PoEG in issue 5)",
        results_contract="EPOS",
        make_logic=_surplus_score,
        options={"through_period": WorkerOption(int, "treat periods up to this one as final (>= 0)", minimum=0)},
    ),
    "coalition-scores": WorkerSpec(
        summary="seed 001 PoEG member scores as EPOS, once per slot",
        results_contract="EPOS",
        make_logic=make_scores_logic,
        options=COALITION_OPTIONS,
    ),
    "coalition-result": WorkerSpec(
        summary="seed 001 slot result: scores, canonical coalition partition, trade-list commitment",
        results_contract="ProofScoreRegistry",
        make_logic=make_result_logic,
        options=COALITION_OPTIONS,
    ),
    "coalition-rewards": WorkerSpec(
        summary="seed 001 Shapley split of the mining reward once the slot's block is final",
        results_contract="MiningRewardEscrow",
        make_logic=make_rewards_logic,
        options=COALITION_OPTIONS,
    ),
    "fog-matching": WorkerSpec(
        summary="seed 000 Hungarian matching: a certified optimal assignment per closed, unmatched period",
        results_contract="PeriodMatching",
        make_logic=make_fog_matching_logic,
    ),
    "fedavg-aggregator": WorkerSpec(
        summary="seed 000 FedAvg rounds of the fog nodes' LSTM updates in a model store, recorded in FogModelRegistry",
        results_contract="FogModelRegistry",
        make_logic=_fedavg_aggregator,
        options={
            "store_dir": WorkerOption(str, "folder of the model store (required)"),
            "contributors": WorkerOption(str, "comma-separated fog-node addresses each round waits for (required)"),
            "weighting": WorkerOption(str, "samples (FedAvg by sample count, default) or uniform",
                                      choices=("samples", "uniform")),
            "through_round": WorkerOption(int, "last round version to publish, >= 1 (default: no limit)", minimum=1),
        },
    ),
}


class UnknownWorkerError(ValueError):
    """No worker of that name is registered."""


def parse_worker_options(name: str, pairs: Iterable[str]) -> dict[str, Any]:
    """{option: value} from ``KEY=VALUE`` texts for worker `name` (dashes in KEY read as underscores).

    Raises UnknownWorkerError or WorkerOptionError (unknown option, missing "=", value that does not parse
    or is out of the option's range), each with a one-line message.
    """
    if name not in WORKERS:
        raise UnknownWorkerError(f"unknown worker {name!r}: choose one of {', '.join(sorted(WORKERS))}")
    declared = WORKERS[name].options
    takes = f"options: {', '.join(sorted(declared))}" if declared else "it takes no options"
    options: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not equals or not key:
            raise WorkerOptionError(f"worker option {pair!r} is not KEY=VALUE")
        if key not in declared:
            raise WorkerOptionError(f"worker {name} has no option {key!r} ({takes})")
        try:
            options[key] = declared[key].parse(text.strip())
        except ValueError:
            raise WorkerOptionError(f"worker {name} option {key}: cannot read {text.strip()!r}") from None
        _check_option(name, key, declared[key], options[key])
    return options


def _check_option(name: str, key: str, declared: WorkerOption, value: Any) -> None:
    problem = declared.problem(value)
    if problem is not None:
        raise WorkerOptionError(f"worker {name} option {key} {problem}")


def state_path(name: str, state_dir: str | Path = DEFAULT_STATE_DIR) -> Path:
    """The SQLite file of worker `name` under `state_dir`."""
    return Path(state_dir) / f"{name}.sqlite"


def run_worker(
    name: str,
    *,
    rpc_url: str,
    manifest_path: str | Path,
    state_dir: str | Path = DEFAULT_STATE_DIR,
    once: bool = False,
    poll_seconds: float = 5.0,
    confirmations: int = 0,
    block_chunk: int = 2000,
    receipt_timeout: float = 120.0,
    account: LocalAccount | None = None,
    build_dir: str | Path | None = None,
    log_stream: TextIO | None = None,
    log_level: int | str = logging.INFO,
    **options: Any,
) -> RunSummary | None:
    """Runs worker `name` against the deployment in `manifest_path` (deployments/<network>.json).

    ``once``: process everything up to the head, return its :class:`RunSummary`; otherwise poll every
    `poll_seconds` until SIGTERM/SIGINT (then return None). Either way SIGTERM/SIGINT end it after the
    current step with everything committed. ``account``: the submitting account (default: the network's
    SCORER: Anvil account 3 on local networks, KWX_SCORER_PRIVATE_KEY / KWX_PRIVATE_KEY or keystore on
    Fuji). JSON logs go to `log_stream` (stderr). ``KWX_WORKER_CRASH_AT`` injects a crash (tests only).
    ``options`` go to the worker; it must declare each in its ``WorkerSpec.options`` and the value must be in
    that option's range (else WorkerOptionError, before anything connects or is recorded).

    Raises UnknownWorkerError, offchain.chain errors (manifest missing, RPC unreachable, chain id
    mismatch, missing key) and WorkerStateError (state file busy or from another chain), each with a
    one-line message.
    """
    if name not in WORKERS:
        raise UnknownWorkerError(f"unknown worker {name!r}: choose one of {', '.join(sorted(WORKERS))}")
    spec = WORKERS[name]
    undeclared = sorted(set(options) - set(spec.options))
    if undeclared:
        takes = ", ".join(sorted(spec.options)) or "none"
        raise WorkerOptionError(f"worker {name} has no option {undeclared[0]!r} (options: {takes})")
    for key, value in options.items():
        if value is not None:
            _check_option(name, key, spec.options[key], value)
    path = Path(manifest_path)
    manifest = load_manifest(path.stem, path.parent)
    network = get_network(manifest.network)
    w3 = connect(rpc_url, expected_chain_id=manifest.chain_id)
    client = ChainClient(w3, account or network.account("SCORER"), build_dir=build_dir,
                         fallback_tip_wei=network.fallback_tip_wei)
    logic = spec.make_logic(client, manifest, **options)
    chain = Web3ResultChain(client, client.contract(spec.results_contract, manifest.address(spec.results_contract)),
                            block_chunk=block_chunk)
    configure_json_logging(log_stream, log_level)
    with Worker(logic, chain, state_path(name, state_dir), confirmations=confirmations,
                start_block=manifest.deploy_block, block_chunk=block_chunk,
                receipt_timeout=receipt_timeout) as worker:
        if not once:
            worker.run_forever(poll_seconds)
            return None
        with worker.stop_on_signals():
            return worker.run_once()
