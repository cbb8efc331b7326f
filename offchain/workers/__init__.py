"""Off-chain workers: read contract events from a persisted cursor, compute, submit each result once.

See docs/workers.md. ``run_worker(spec, ...)`` is what ``kwx worker NAME`` calls with the spec
``offchain.mechanisms.WORKERS[NAME]``; ``open_worker`` wires a spec to a deployment in process.
"""

from .logs import JsonFormatter, configure_json_logging, worker_logger
from .registry import (
    DEFAULT_STATE_DIR,
    UnknownWorkerError,
    WorkerOption,
    WorkerOptionError,
    WorkerSpec,
    open_worker,
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
    FeeCapReached,
    FeeTooLow,
    Rejected,
    ResultChain,
    RunSummary,
    TxState,
    Worker,
    WorkerLogic,
)
from .state import ChainResetError, JournalEntry, Status, Submission, WorkerState, WorkerStateError
from .surplus_score import MECHANISM as SURPLUS_SCORE_MECHANISM
from .surplus_score import SURPLUS_SCORE, SurplusScoreLogic
from .web3_chain import Web3ResultChain, contract_events

__all__ = [
    "ALREADY_ACCEPTED",
    "CRASH_ENV",
    "CRASH_POINTS",
    "DEFAULT_STATE_DIR",
    "SURPLUS_SCORE",
    "SURPLUS_SCORE_MECHANISM",
    "Acceptance",
    "ChainEvent",
    "ChainResetError",
    "FaultInjector",
    "FeeCapReached",
    "FeeTooLow",
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
    "open_worker",
    "parse_worker_options",
    "run_worker",
    "state_path",
    "worker_logger",
]
