"""Progress display and benchmark helpers shared by the scenarios and benchmark scripts."""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import ContextManager


def progress_bar(enabled: bool) -> ContextManager:
    """A rich Progress (description, bar, done/total, elapsed) or, when disabled, a context giving None."""
    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


def pin_to_one_core() -> str:
    """Pins this process to one CPU core (benchmark targets are per core); says what it did."""
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"
