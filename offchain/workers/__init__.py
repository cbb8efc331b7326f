"""Off-chain workers: read contract events from a persisted cursor, compute, submit each result once.

See docs/workers.md. ``run_worker(name, ...)`` is what ``kwx worker NAME`` calls; ``WORKERS`` lists the
names it accepts.
"""

from .logs import JsonFormatter, configure_json_logging, worker_logger
from .registry import (
    DEFAULT_STATE_DIR,
    WORKERS,
    UnknownWorkerError,
    WorkerOption,
    WorkerOptionError,
    WorkerSpec,
    parse_worker_options,
    run_worker,
    state_path,
)
from .runtime import (
    ALREADY_ACCEPTED,
    CRASH_ENV,
    CRASH_POINTS,
    Acceptance,
    ChainEvent,
    FaultInjector,
    Rejected,
    ResultChain,
    RunSummary,
    TxState,
    Worker,
    WorkerLogic,
)
from .state import JournalEntry, Status, Submission, WorkerState, WorkerStateError
from .surplus_score import MECHANISM as SURPLUS_SCORE_MECHANISM
from .surplus_score import SurplusScoreLogic
from .web3_chain import Web3ResultChain, contract_events

__all__ = [
    "ALREADY_ACCEPTED",
    "CRASH_ENV",
    "CRASH_POINTS",
    "DEFAULT_STATE_DIR",
    "SURPLUS_SCORE_MECHANISM",
    "WORKERS",
    "Acceptance",
    "ChainEvent",
    "FaultInjector",
    "JournalEntry",
    "JsonFormatter",
    "Rejected",
    "ResultChain",
    "RunSummary",
    "Status",
    "Submission",
    "SurplusScoreLogic",
    "TxState",
    "UnknownWorkerError",
    "Web3ResultChain",
    "Worker",
    "WorkerLogic",
    "WorkerOption",
    "WorkerOptionError",
    "WorkerSpec",
    "WorkerState",
    "WorkerStateError",
    "configure_json_logging",
    "contract_events",
    "parse_worker_options",
    "run_worker",
    "state_path",
    "worker_logger",
]
