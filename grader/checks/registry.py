"""The one registry of checks. A check module declares its checks as ``CHECKS = (Check(...), ...)``; every module
in this package is discovered, and a rubric entry may load a check from another module (``module = "..."``).

The rubric validates against the registry, the pipeline asks it what each check needs, and the command line
and every report use its names and titles: a check's name is written once, in its declaration.
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..report.results import Part


@dataclass(frozen=True)
class Settings:
    """The rubric keys every check has. A check with more keys declares a subclass (its defaults included)."""

    points: float = 0.0
    visibility: str = ""
    """Gradescope's visibility of this check's test (visible, hidden, after_due_date, after_published); empty:
    the rubric's top-level ``visibility``."""


@dataclass(frozen=True)
class GeneratedCases(Settings):
    """A check whose cases hypothesis draws: how many (a failing case is then shrunk)."""

    examples: int = 0


@dataclass(frozen=True)
class TimedSettings(Settings):
    """A check with its own wall-time limit, outside the submission's total time (e.g. the accuracy stage)."""

    seconds: float = 600.0


RunCheck = Callable[[Any], "list[Part]"]
"""What a check does: ``run(context) -> parts``, the context a :class:`grader.checks.base.Context`; raises
:class:`~grader.checks.base.Skip` when it cannot run. (The registry sits below the rubric, and the context above
both, so the registry names the context's type only in words.)"""


@dataclass(frozen=True)
class Check:
    """A check: what the rubric, the pipeline, the command line and the reports need to know about it."""

    name: str
    """Its rubric key, report tag and --only/--skip name."""
    title: str
    """What reports call it; ``{key}`` stands for the assignment's name of a declared callable (``{train}``)."""
    run: RunCheck
    settings: type[Settings] = Settings
    """The dataclass of its rubric keys, with their defaults: the one place a default is written (the packaged
    rubrics agree with it: tests/checks/test_rubric.py)."""
    grades: tuple[str, ...] = ()
    """The declared callables it grades (their keys: "backpropagation", "train", ...); () for the whole submission."""
    needs_data: bool = False
    """Needs the real CIFAR-10 data (``--data-root``): skipped without it, and by ``--skip-accuracy``."""

    @property
    def own_time_limit(self) -> bool:
        """Its settings hold ``seconds``, its own wall-time limit, outside the submission's total time."""
        return issubclass(self.settings, TimedSettings)

    def configure(self, table: dict[str, Any]) -> Settings:
        """Its settings from a rubric table of already converted values (defaults for what the table omits)."""
        return self.settings(**table)

    def title_for(self, names: dict[str, str]) -> str:
        """The title with each ``{key}`` replaced by the assignment's name for that callable (the key itself when
        the assignment has none)."""
        return self.title.format_map(_KeysByDefault(names))

    def time_limit(self, settings: Settings, check_seconds: float) -> float:
        """Seconds this check may take: its settings' own ``seconds``, else the rubric's per-check limit."""
        return settings.seconds if isinstance(settings, TimedSettings) else check_seconds


class _KeysByDefault(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


class UnknownCheck(LookupError):
    """A rubric or command line names a check that no module declares."""


def _declared_in(module: ModuleType) -> dict[str, Check]:
    declared: tuple[Check, ...] = getattr(module, "CHECKS", ())
    return {check.name: check for check in declared}


@functools.cache
def builtin_checks() -> dict[str, Check]:
    """Every check declared by a module of this package, by name."""
    found: dict[str, Check] = {}
    for info in pkgutil.iter_modules(importlib.import_module(__package__).__path__):
        found.update(_declared_in(importlib.import_module(f"{__package__}.{info.name}")))
    return found


def find_check(name: str, module: str | None = None) -> Check:
    """The check ``name``: built in, or declared by ``module`` (imported on demand)."""
    declared = _declared_in(importlib.import_module(module)) if module else builtin_checks()
    if name not in declared:
        where = f"module {module!r}" if module else "the grader"
        known = ", ".join(sorted(declared)) or "none"
        raise UnknownCheck(f"{where} declares no check named {name!r} (known: {known})")
    return declared[name]
