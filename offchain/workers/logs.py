"""Structured worker logs: one JSON object per line with ts, level, worker, event and the event's fields.

    log = worker_logger("surplus-score")
    log.info("tx_sent", mechanism="0x…", slot=7, tx_hash="0x…")
    {"ts": "2025-01-01T12:00:00.123Z", "level": "info", "worker": "surplus-score", "event": "tx_sent", ...}
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "kwx.workers"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line; fields passed through :class:`WorkerLog` become keys."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "worker": getattr(record, "worker", None),
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class WorkerLog(logging.LoggerAdapter):
    """Logger adapter stamping every line with its worker name; keyword arguments become JSON fields.

    (LoggerAdapter's debug/info/warning/error/exception all route through :meth:`log`.)
    """

    def __init__(self, logger: logging.Logger, worker: str) -> None:
        super().__init__(logger, {"worker": worker})

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:  # type: ignore[override]
        if self.isEnabledFor(level):
            self.logger.log(level, msg, *args, exc_info=exc_info,
                            extra={"worker": self.extra["worker"], "fields": fields})


def worker_logger(worker: str) -> WorkerLog:
    """The structured logger of worker `worker` (see :func:`configure_json_logging` for the output)."""
    return WorkerLog(logging.getLogger(f"{LOGGER_NAME}.{worker}"), worker)


def configure_json_logging(stream: TextIO | None = None, level: int | str = logging.INFO) -> None:
    """Sends worker logs as JSON lines to `stream` (default stderr). Calling it again replaces the handler."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if getattr(h, "kwx_json", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.kwx_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
