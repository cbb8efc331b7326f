"""The mechanism descriptor: everything the rest of kwx needs to know about one mechanism.

A mechanism is one package under offchain/mechanisms/ (docs/adding-a-mechanism.md). Its ``MECHANISM``
descriptor names its contract group (terms and deploy steps), its workers, its reproduce commands and its
dashboard panels; ``offchain.mechanisms.MECHANISMS`` lists every descriptor, and the deploy suite, ``kwx worker``,
``kwx reproduce`` and ``kwx dashboard`` loop over that list.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
        return _load(self.command)


def _load(reference: str) -> Callable[..., Any]:
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)


@dataclass(frozen=True)
class Panel:
    """The mechanism's panel on the dashboard (``kwx dashboard``; docs/dashboard.md).

    `title` and `summary`: what the panel shows, in words for someone who never read the paper. `reads`: the
    events it is built from, as ``"Contract.Event"`` with Contract a suite contract in the deployment manifest;
    the dashboard reads them from the deployment block on (the chain is the truth) and keeps them in memory.
    `build` names a function ``"package.module:function"`` taking ``(events, views)``: `events` maps each name of
    `reads` to its ChainEvent list (chain order), `views` is an offchain.dashboard.PanelViews (``views.call(
    "Contract", "function", *args)`` for a view at the head block). It returns the panel's JSON-serialisable data,
    quantities already converted through offchain/units.py (kWh, UPOS) beside their exact on-chain integers.
    `script`: the JavaScript file that draws the data, served to the page as it is; it calls
    ``kwx.registerPanel(name, (root, data, ui) => ...)`` with the mechanism's name (the ``ui`` helpers:
    offchain/dashboard/static/app.js). `build` is named rather than imported so that the descriptor stays cheap to
    import."""

    title: str
    summary: str
    reads: tuple[str, ...]
    build: str
    script: Path

    def load(self) -> Callable[..., dict[str, Any]]:
        """The build function."""
        return _load(self.build)


@dataclass(frozen=True)
class Mechanism:
    """One mechanism.

    `name`: the package name (offchain/mechanisms/<name>, contracts/mechanisms/<name>); `summary`: one line
    naming its source; `terms`: its contract group's default constructor terms, which `deploy_steps` turns
    into the group's deploy steps (offchain/chain/steps.py) on the foundation and the order book; `workers`:
    the workers ``kwx worker NAME`` runs for it (and ``kwx up`` supervises); `reproductions`: its ``kwx reproduce``
    commands; `panel`: its panel on ``kwx dashboard`` (None: none).
    """

    name: str
    summary: str
    terms: Any
    deploy_steps: Callable[[Any], tuple[Step, ...]]
    workers: tuple[WorkerSpec, ...] = ()
    reproductions: tuple[Reproduction, ...] = ()
    panel: Panel | None = None

    def steps(self, terms: Any = None) -> tuple[Step, ...]:
        """The contract group's deploy steps under `terms` (default: the mechanism's own)."""
        return self.deploy_steps(self.terms if terms is None else terms)
