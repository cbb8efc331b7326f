"""The mechanism descriptor: everything the rest of kwx needs to know about one mechanism.

A mechanism is one package under offchain/mechanisms/ (docs/adding-a-mechanism.md). Its ``MECHANISM``
descriptor names its contract group (terms and deploy steps), its workers and its reproduce commands;
``offchain.mechanisms.MECHANISMS`` lists every descriptor, and the deploy suite, ``kwx worker`` and
``kwx reproduce`` loop over that list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offchain.chain.steps import Step
from offchain.workers.registry import WorkerSpec


@dataclass(frozen=True)
class Reproduction:
    """``kwx reproduce NAME``: `command` names a typer command function as ``"package.module:function"`` (its
    parameters are the options; its docstring the help), which :meth:`load` imports when ``kwx reproduce`` is
    used. The descriptor names it instead of importing it because a command runs its mechanism's chain run,
    which deploys the whole suite (offchain.mechanisms.SUITE): importing the command here would make the
    registry import itself. The command should import heavy modules inside its body."""

    name: str
    command: str

    def load(self) -> Callable[..., None]:
        """The command function."""
        module, _, function = self.command.partition(":")
        return getattr(importlib.import_module(module), function)


@dataclass(frozen=True)
class Mechanism:
    """One mechanism.

    `name`: the package name (offchain/mechanisms/<name>, contracts/mechanisms/<name>); `summary`: one line
    naming its source; `terms`: its contract group's default constructor terms, which `deploy_steps` turns
    into the group's deploy steps (offchain/chain/steps.py) on the foundation and the order book; `workers`:
    the workers ``kwx worker NAME`` runs for it; `reproductions`: its ``kwx reproduce`` commands.
    """

    name: str
    summary: str
    terms: Any
    deploy_steps: Callable[[Any], tuple[Step, ...]]
    workers: tuple[WorkerSpec, ...] = ()
    reproductions: tuple[Reproduction, ...] = ()

    def steps(self, terms: Any = None) -> tuple[Step, ...]:
        """The contract group's deploy steps under `terms` (default: the mechanism's own)."""
        return self.deploy_steps(self.terms if terms is None else terms)
