"""The rubric: which checks run, in which order, with which points and settings, and the submission's limits.

Read from a TOML file an instructor can edit (by default the assignment's own, e.g.
``grader/assignment/packaged/default/rubric.toml``). Each ``[checks.NAME]``
table is validated against that check's declared settings (see :mod:`grader.checks.registry`); values are
converted to the declared types, and anything unknown or unconvertible is refused with what to fix.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from ..assignment.declaration import DEFAULT_NAME, PACKAGED
from ..report.leaderboard import LeaderboardEntry
from ..sandbox.limits import Limits
from .registry import Check, Settings, UnknownCheck, find_check

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's default image): the same parser, as a package
    import tomli as tomllib

_Built = TypeVar("_Built")
DEFAULT_RUBRIC = PACKAGED / DEFAULT_NAME / "rubric.toml"
"""The default assignment's rubric (each assignment declares its own: Assignment.rubric_path)."""
DEFAULT_SEED = 265
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
"""Gradescope's values for when students see a test, the score or the output."""
LEADERBOARD_VALUES = ("accuracy:train", "accuracy:train_manual_update", "seconds:train",
                      "seconds:train_manual_update", "score")
"""What a leaderboard column can show: a test accuracy or training seconds of the accuracy stage (by the graded
function's key), or the total score."""
PLUGIN_KEY = "module"
"""A ``[checks.NAME]`` key naming the module that declares a check the grader does not ship."""


class RubricError(ValueError):
    """The rubric file is missing, malformed or names something unknown; the message says what to fix."""


@dataclass(frozen=True)
class CheckSpec:
    """A check as this rubric runs it: the declaration and its settings."""

    check: Check
    settings: Settings

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def title(self) -> str:
        return self.check.title_for({})

    def title_for(self, names: dict[str, str]) -> str:
        """The title as the assignment names its functions (see Check.title_for)."""
        return self.check.title_for(names)

    @property
    def points(self) -> float:
        return self.settings.points


@dataclass(frozen=True)
class Rubric:
    seed: int
    limits: Limits
    checks: tuple[CheckSpec, ...]
    visibility: str = "visible"
    """When students see each test (a check's own ``visibility`` overrides it) and the total score."""
    stdout_visibility: str = "hidden"
    """When students see what the autograder printed."""
    leaderboard: tuple[LeaderboardEntry, ...] = ()
    """Opt-in: the columns of Gradescope's leaderboard (none by default)."""

    def spec(self, name: str) -> CheckSpec:
        """The spec of check ``name`` (KeyError when this rubric leaves it out)."""
        for spec in self.checks:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def only(self, *names: str) -> Rubric:
        """This rubric restricted to ``names`` (rubric order kept); RubricError for a name it does not hold."""
        self._known(names)
        return dataclasses.replace(self, checks=tuple(s for s in self.checks if s.name in names))

    def without(self, *names: str) -> Rubric:
        self._known(names)
        return dataclasses.replace(self, checks=tuple(s for s in self.checks if s.name not in names))

    def configure(self, name: str, **changes: Any) -> Rubric:
        """This rubric with some settings of check ``name`` changed."""
        spec = self.spec(name)
        changed = CheckSpec(spec.check, dataclasses.replace(spec.settings, **changes))
        return dataclasses.replace(self, checks=tuple(changed if s is spec else s for s in self.checks))

    def _known(self, names: tuple[str, ...]) -> None:
        unknown = sorted(set(names) - {s.name for s in self.checks})
        if unknown:
            raise RubricError(f"no check named {', '.join(map(repr, unknown))} in the rubric; its checks are: "
                              f"{', '.join(s.name for s in self.checks)}")


def read_rubric(path: str | Path | None = None) -> dict[str, Any]:
    """The rubric file's TOML, unvalidated (the one place a rubric file is read; ``None``: the default's).
    Raises RubricError when it is missing or not TOML."""
    path = Path(path) if path else DEFAULT_RUBRIC
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RubricError(f"rubric file {str(path)!r} does not exist (omit --rubric for the default)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RubricError(f"rubric file {str(path)!r} is not valid TOML: {error}") from None
    return raw


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Read and validate a rubric; ``None`` gives the packaged default. Raises RubricError with the fix."""
    raw = read_rubric(path)
    _reject_unknown(raw, {"seed", "limits", "checks", "visibility", "stdout_visibility", "leaderboard"},
                    "the top level")
    checks = raw.get("checks", {})
    _reject_unknown(checks, set(checks), "[checks]")
    return Rubric(int(_convert(raw.get("seed", DEFAULT_SEED), int, "seed")),
                  _build(Limits, raw.get("limits", {}), "[limits]"),
                  tuple(_check_spec(name, table) for name, table in checks.items()),
                  _visibility(raw.get("visibility", "visible"), "visibility"),
                  _visibility(raw.get("stdout_visibility", "hidden"), "stdout_visibility"),
                  _leaderboard(raw.get("leaderboard", [])))


def _visibility(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in VISIBILITIES:
        raise RubricError(f"{where} must be one of {', '.join(VISIBILITIES)} (Gradescope's values), got {value!r}")
    return value


def _leaderboard(entries: object) -> tuple[LeaderboardEntry, ...]:
    if not isinstance(entries, list):
        raise RubricError("leaderboard must be an array of tables: [[leaderboard]] name = ..., value = ...")
    built = []
    for index, entry in enumerate(entries, start=1):
        where = f"[[leaderboard]] #{index}"
        _reject_unknown(entry, {"name", "value", "order"}, where)
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise RubricError(f"{where} needs a name (the column's title)")
        if entry.get("value") not in LEADERBOARD_VALUES:
            raise RubricError(f"{where} value must be one of {', '.join(LEADERBOARD_VALUES)}, "
                              f"got {entry.get('value')!r}")
        if entry.get("order", "desc") not in ("asc", "desc"):
            raise RubricError(f"{where} order must be \"asc\" or \"desc\"")
        built.append(LeaderboardEntry(entry["name"], entry["value"], entry.get("order", "desc")))
    return tuple(built)


def _check_spec(name: str, table: object) -> CheckSpec:
    where = f"[checks.{name}]"
    table = _reject_unknown(table, set(table) if isinstance(table, dict) else set(), where)
    module = table.get(PLUGIN_KEY)
    if module is not None and not isinstance(module, str):
        raise RubricError(f"{where} {PLUGIN_KEY} must be a module name such as \"my_course.checks\"")
    try:
        check = find_check(name, module)
    except UnknownCheck as error:
        raise RubricError(f"unknown check in {where}: {error}") from None
    except ImportError as error:
        if module is None:
            raise  # the grader's own checks do not import: a broken installation, not a bad rubric
        raise RubricError(f"{where} {PLUGIN_KEY} = {module!r} cannot be imported: {error}") from None
    settings = {key: value for key, value in table.items() if key != PLUGIN_KEY}
    return CheckSpec(check, check.configure(_converted(check.settings, settings, where)))


def _build(cls: type[_Built], table: object, where: str) -> _Built:
    """``cls`` from a TOML table (see :func:`_converted`)."""
    return cls(**_converted(cls, table, where))


def _converted(cls: type, table: object, where: str) -> dict[str, Any]:
    """The table's values converted to the declared types of ``cls``'s fields; unknown or unconvertible refused."""
    checked = _reject_unknown(table, {f.name for f in fields(cls)}, where)
    types = get_type_hints(cls)
    converted = {name: _visibility(value, f"{where} {name}") if name == "visibility" else
                 _convert(value, types[name], f"{where} {name}") for name, value in checked.items()}
    for name, value in converted.items():
        if name.endswith("_share") and isinstance(value, float) and not 0 <= value <= 1:
            raise RubricError(f"{where} {name} is a share of the points: between 0 and 1, got {value!r}")
    return converted


def _convert(value: object, kind: type, where: str) -> float | int:
    """``value`` as ``kind`` (int or float): an int never silently loses a fraction, a bool is never a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RubricError(f"{where} must be a number ({kind.__name__}), got {value!r}")
    if kind is int and value != int(value):
        raise RubricError(f"{where} must be a whole number, got {value!r}")
    return int(value) if kind is int else float(value)


def _reject_unknown(table: object, allowed: set[str], where: str) -> dict[str, Any]:
    """``table`` itself when it is a table of allowed keys; RubricError naming the others."""
    if not isinstance(table, dict):
        raise RubricError(f"{where} must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise RubricError(f"unknown key(s) {sorted(unknown)} in {where}; allowed: {sorted(allowed)}")
    return table


def outline(path: str | Path | None = None) -> list[tuple[str, str, float]]:
    """(name, title, points) of each check a rubric file names, read without the registry (so without torch):
    what a fail-closed report lists when the grader cannot even load. Empty when the file cannot be read."""
    try:
        checks = read_rubric(path).get("checks", {})
        return [(name, name, float(table.get("points", 0))) for name, table in checks.items()]
    except (RubricError, ValueError, TypeError, AttributeError):
        return []


def rubric_budget(path: str | Path | None = None, margin: float = 300.0, floor: float = 3600.0) -> float:
    """A generous bound on the wall time of one submission's grading under this rubric, read without the
    registry (no torch): the total and import limits, each check's own ``seconds``, a margin; at least ``floor``."""
    try:
        raw = read_rubric(path)
        limits = _build(Limits, raw.get("limits", {}), "[limits]")
        own = sum(float(table.get("seconds", 0)) for table in raw.get("checks", {}).values())
    except (ValueError, TypeError, AttributeError, RubricError):
        return floor
    return max(float(limits.total_seconds + limits.import_seconds + own + margin), floor)
