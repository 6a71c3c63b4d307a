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
from dataclasses import dataclass, field


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
class Check:
    """A check: what the rubric, the pipeline, the command line and the reports need to know about it."""

    name: str
    """Its rubric key, report tag and --only/--skip name."""
    title: str
    """What reports call it; ``{key}`` stands for the assignment's name of a declared callable (``{train}``)."""
    run: Callable
    """``run(context) -> list[Part]``; raises :class:`~grader.checks.base.Skip` when it cannot run."""
    settings: type = Settings
    """The dataclass of its rubric keys."""
    defaults: dict = field(default_factory=dict)
    """Its defaults for those keys, where they differ from the dataclass's (e.g. its points)."""
    grades: tuple[str, ...] = ()
    """The declared callables it grades (their keys: "backpropagation", "train", ...); () for the whole submission."""
    needs_data: bool = False
    """Needs the real CIFAR-10 data (``--data-root``): skipped without it, and by ``--skip-accuracy``."""
    own_time_limit: bool = False
    """Its settings hold ``seconds``, its own wall-time limit, outside the submission's total time."""

    def configure(self, table: dict) -> Settings:
        """Its settings from a rubric table of already converted values (defaults for what the table omits)."""
        return self.settings(**{**self.defaults, **table})

    def title_for(self, names: dict[str, str]) -> str:
        """The title with each ``{key}`` replaced by the assignment's name for that callable (the key itself when
        the assignment has none)."""
        return self.title.format_map(_KeysByDefault(names))

    def time_limit(self, settings: Settings, limits) -> float:
        """Seconds this check may take, from its settings or the rubric's per-check limit."""
        return settings.seconds if self.own_time_limit else limits.check_seconds


class _KeysByDefault(dict):
    def __missing__(self, key: str) -> str:
        return key


class UnknownCheck(LookupError):
    """A rubric or command line names a check that no module declares."""


def _declared_in(module) -> dict[str, Check]:
    return {check.name: check for check in getattr(module, "CHECKS", ())}


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
