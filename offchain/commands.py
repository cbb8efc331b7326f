"""What every `kwx` command shares: one-line failures, the project's errors turned into them, the --out
folder check and comma-separated integer options. Mechanisms' reproduce commands use these too
(offchain/mechanisms/<name>/command.py), so this module imports nothing heavy."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, NoReturn, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., object])


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"kwx: {message}", err=True)
    raise typer.Exit(code)


def one_line_errors(command: F) -> F:
    """Turns the project's own errors into `kwx: <message>` on stderr and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from offchain.chain import KwxChainError
        from offchain.workers import WorkerStateError

        try:
            return command(*args, **kwargs)
        except (KwxChainError, WorkerStateError, ValueError, OSError) as error:
            fail(one_line(error))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def one_line(error: Exception) -> str:
    """The first line of `error`'s message; an OSError as "<path>: <reason>" (no errno)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    text = str(error)
    return text.splitlines()[0] if text.strip() else type(error).__name__


def prepare_out(out: Path) -> None:
    """Creates the --out folder, or fails with one line (it is a file, lies below a file, cannot be made)
    before a reproduce command does any work."""
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"--out {out}: cannot create the folder ({error.strerror or error})")


def int_list(text: str, option: str) -> tuple[int, ...]:
    """The non-negative integers of comma-separated `text` given as `option`; ValueError (one line) otherwise."""
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{option} takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 0:
        raise ValueError(f"{option} takes comma-separated non-negative integers, got {text!r}")
    return values
