"""The rubric: points, examples, limits and accuracy settings, read from a TOML file an instructor can edit."""
from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (Gradescope's default image): the same parser, as a package
    import tomli as tomllib

DEFAULT_RUBRIC = Path(__file__).with_name("rubric.toml")
CHECK_NAMES = ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules", "grad_check",
               "train", "train_manual_update", "MyMLP", "load_cifar", "accuracy")


class RubricError(ValueError):
    """The rubric file is missing, malformed or names something unknown; the message says what to fix."""


@dataclass(frozen=True)
class Limits:
    check_seconds: float = 120
    import_seconds: float = 60
    total_seconds: float = 1800
    memory_mb: int = 4096
    output_kb: int = 64


@dataclass(frozen=True)
class CheckSpec:
    name: str
    points: float
    examples: int = 0


@dataclass(frozen=True)
class AccuracySpec:
    points: float = 15
    seconds: float = 1200
    epochs: int = 30
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.001
    batch_size: int = 256
    full_credit: float = 0.80
    partial_credit: float = 0.70
    manual_margin: float = 0.02
    leakage: float = 0.95


@dataclass(frozen=True)
class Rubric:
    seed: int
    limits: Limits
    checks: tuple[CheckSpec, ...]
    accuracy: AccuracySpec

    def check(self, name: str) -> CheckSpec:
        """The spec of check ``name`` (KeyError when the rubric leaves it out)."""
        return next(spec for spec in self.checks if spec.name == name)

    @property
    def total_points(self) -> float:
        return sum(spec.points for spec in self.checks)


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Read and validate a rubric; ``None`` gives the packaged default. Raises RubricError with the fix."""
    path = Path(path) if path else DEFAULT_RUBRIC
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RubricError(f"rubric file {str(path)!r} does not exist (omit --rubric for the default)") from None
    except tomllib.TOMLDecodeError as error:
        raise RubricError(f"rubric file {str(path)!r} is not valid TOML: {error}") from None
    _reject_unknown(raw, {"seed", "limits", "checks"}, "the top level")
    checks_raw = raw.get("checks", {})
    _reject_unknown(checks_raw, set(CHECK_NAMES), "[checks]")
    accuracy = _build(AccuracySpec, checks_raw.get("accuracy", {}), "[checks.accuracy]")
    checks = []
    for name in CHECK_NAMES:
        if name in checks_raw:
            if name == "accuracy":
                checks.append(CheckSpec(name, float(accuracy.points)))
                continue
            table = checks_raw[name]
            _reject_unknown(table, {"points", "examples"}, f"[checks.{name}]")
            checks.append(CheckSpec(name, _convert(table.get("points", 0), float, f"[checks.{name}] points"),
                                    _convert(table.get("examples", 0), int, f"[checks.{name}] examples")))
    return Rubric(_convert(raw.get("seed", 265), int, "seed"), _build(Limits, raw.get("limits", {}), "[limits]"), tuple(checks),
                  accuracy)


def _build(cls, table: dict, where: str):
    """``cls`` from a TOML table, each value converted to its field's declared type (refused when it cannot be)."""
    _reject_unknown(table, {f.name for f in fields(cls)}, where)
    types = get_type_hints(cls)
    return cls(**{name: _convert(value, types[name], f"{where} {name}") for name, value in table.items()})


def _convert(value, kind: type, where: str):
    """``value`` as ``kind`` (int or float): an int never silently loses a fraction, a bool is never a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RubricError(f"{where} must be a number ({kind.__name__}), got {value!r}")
    if kind is int and value != int(value):
        raise RubricError(f"{where} must be a whole number, got {value!r}")
    return kind(value)


def _reject_unknown(table, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise RubricError(f"{where} must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise RubricError(f"unknown key(s) {sorted(unknown)} in {where}; allowed: {sorted(allowed)}")
